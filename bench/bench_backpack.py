"""Benchmark: Backpack through perparb's client.

1. Placement round trip: `place_limit_order` (rounding, clientId, bpx-py request building and ED25519 signing, the
   venue's HTTP stack, the simulator's signature VERIFICATION and matching, the answer parsed) against a simulator
   running in its own process (`perparb sim --venue backpack`), one post-only order at a time, and the same for
   bounded market orders (IOC at the book bound: book read, bound, sign, send).
2. Depth-update throughput: `depth` deltas (seeded, shaped like venue-data/backpack/ws_depth_200ms_*.json: a few
   levels a side, absolute sizes, some deletions) through the stream's frame handler
   (`BackpackMarketDataStream._on_message` -> `DepthSync.on_delta` -> `OrderBook.apply_update`, with the U/u
   sequence check), the path every push takes; the book is then checked against a replay.

Run: .venv/bin/python bench/bench_backpack.py [--orders 200] [--deltas 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from exchange_clients.backpack.credentials import BackpackCredentials, new_key_pair  # noqa: E402
from exchange_clients.backpack.funding_adapter.funding_client import BackpackFundingClient  # noqa: E402
from exchange_clients.backpack.websocket.manager import BackpackMarketDataStream  # noqa: E402
from exchange_clients.base.trading import Side  # noqa: E402
from exchange_clients.registry import create_client, default_config  # noqa: E402
from perparb_core.settings import RateLimitConfig  # noqa: E402
from simulator.server import DEMO_SCENARIO  # noqa: E402


def report(name: str, lat: list[float], total: float) -> None:
    lat.sort()
    print(
        f"{name:22s} {len(lat)} in {total:.2f} s = {len(lat) / total:7.1f} orders/s   "
        f"p50 {statistics.median(lat) * 1000:6.2f} ms   p99 {lat[int(0.99 * (len(lat) - 1))] * 1000:6.2f} ms"
    )


async def placements(url: str, n: int) -> None:
    config = default_config("backpack", rest_url=url, rate_limit=RateLimitConfig(rate_per_second=0, burst=1))
    key, secret = new_key_pair()
    async with aiohttp.ClientSession() as http:
        await http.post(f"{url}/_sim/accounts", json={"api_key": key, "collateral": "10000000"})
    client = create_client(
        BackpackCredentials(api_key=key, api_secret=SecretStr(secret)), config, markets=["ETH"]
    )
    await client.connect()
    try:
        print(f"simulator in its own process; {n} placements of each kind through the client, one at a time")
        lat: list[float] = []
        t0 = time.perf_counter()
        for i in range(n):
            a = time.perf_counter()
            await client.place_limit_order(
                "ETH",
                Side.BUY,
                Decimal("0.1"),
                Decimal(1000 + i),
                post_only=True,
                client_order_id=str(500_000 + i),
            )
            lat.append(time.perf_counter() - a)
        report("post-only limit", lat, time.perf_counter() - t0)
        await client.cancel_all_orders("ETH")
        lat = []
        t0 = time.perf_counter()
        for i in range(n):
            a = time.perf_counter()
            await client.place_market_order(
                "ETH",
                Side.BUY if i % 2 == 0 else Side.SELL,
                Decimal("0.01"),
                max_slippage_bps=Decimal(50),
                client_order_id=str(600_000 + i),
            )
            lat.append(time.perf_counter() - a)
        report("bounded market (IOC)", lat, time.perf_counter() - t0)
    finally:
        await client.disconnect()


def deltas(n: int, seed: int = 17) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    u = 1000
    for _ in range(n):
        first = u + 1
        u += rnd.randint(1, 5)
        mid = 2760 + rnd.randint(-20, 20) / 10
        bids = [
            [
                f"{mid - rnd.randint(1, 300) / 100:.2f}",
                "0" if rnd.random() < 0.2 else f"{rnd.uniform(0.01, 50):.4f}",
            ]
            for _ in range(3)
        ]
        asks = [
            [
                f"{mid + rnd.randint(1, 300) / 100:.2f}",
                "0" if rnd.random() < 0.2 else f"{rnd.uniform(0.01, 50):.4f}",
            ]
            for _ in range(3)
        ]
        out.append(
            {
                "stream": "depth.200ms.ETH_USDC_PERP",
                "data": {
                    "E": 0,
                    "T": 0,
                    "U": first,
                    "u": u,
                    "a": asks,
                    "b": bids,
                    "e": "depth",
                    "s": "ETH_USDC_PERP",
                },
            }
        )
    return out


def depth_throughput(n: int) -> None:
    stream = BackpackMarketDataStream("ws://127.0.0.1:1/ws", BackpackFundingClient(None), [])  # type: ignore[arg-type]
    sync = stream.sync("ETH_USDC_PERP")
    sync.on_snapshot(1000, [(Decimal(2750), Decimal(1))], [(Decimal(2770), Decimal(1))])
    frames = deltas(n)
    t0 = time.perf_counter()
    for frame in frames:
        stream._on_message(frame)
    took = time.perf_counter() - t0
    assert sync.book.is_synced and sync.book.gaps == 0 and sync.book.sequence == frames[-1]["data"]["u"]
    print(f"depth deltas (3+3 levels, U/u checked) {n} in {took:.2f} s = {n / took:,.0f} updates/s")


def main(orders: int, n_deltas: int) -> None:
    depth_throughput(n_deltas)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "perparb",
            "sim",
            "--scenario",
            str(DEMO_SCENARIO),
            "--venue",
            "backpack",
            "--port",
            "backpack=0",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        urls = dict(pair.split("=", 1) for pair in proc.stdout.readline().split()[1:])
        asyncio.run(placements(urls["backpack"], orders))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orders", type=int, default=200)
    ap.add_argument("--deltas", type=int, default=100_000)
    args = ap.parse_args()
    main(args.orders, args.deltas)
