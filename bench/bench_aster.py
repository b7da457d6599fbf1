"""Benchmark: Aster (issue #17). Two figures:

1. placement round trip through perparb's Aster client (`place_limit_order`: rounding, client order id, signing,
   the venue call, the acknowledgement) against the simulated Aster running in its own process (`perparb sim
   --venue aster`, which verifies every signature), one order at a time: post-only GTX placements with the V3 API
   wallet (EIP-712, signed in a worker thread) and with a V1 API key (HMAC), then bounded market orders (IOC at the
   book bound, filled) with V3;
2. depth-update throughput: seeded `depthUpdate` frames in the combined-stream form (10 changed levels each,
   chained `U`/`u`/`pu`) through the stream's frame handler (`AsterMarketDataStream.on_frame` -> `DepthSync` ->
   `OrderBook`), the path every push takes, with the book checked against the last frame.

Run: .venv/bin/python bench/bench_aster.py [--orders 200] [--frames 50000]
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from eth_account import Account  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from exchange_clients.aster.client.client import AsterClient  # noqa: E402
from exchange_clients.aster.config import AsterConfig  # noqa: E402
from exchange_clients.aster.credentials import AsterCredentials  # noqa: E402
from exchange_clients.aster.websocket.manager import AsterMarketDataStream  # noqa: E402
from exchange_clients.base.trading import Side  # noqa: E402
from perparb_core.settings import RateLimitConfig  # noqa: E402
from simulator.server import DEMO_SCENARIO  # noqa: E402


def report(name: str, lat: list[float], total: float) -> None:
    lat.sort()
    print(
        f"{name:22s} {len(lat)} in {total:6.2f} s = {len(lat) / total:7.1f} orders/s   "
        f"p50 {statistics.median(lat) * 1000:6.2f} ms   p99 {lat[int(0.99 * (len(lat) - 1))] * 1000:6.2f} ms"
    )


async def placements(url: str, n: int) -> None:
    config = AsterConfig(rest_url=url, rate_limit=RateLimitConfig(rate_per_second=0, burst=1))
    user, signer = Account.create(), Account.create()
    key, secret = "K" + Account.create().key.hex()[2:40], "S" + Account.create().key.hex()[2:40]
    async with aiohttp.ClientSession() as http:
        await http.post(f"{url}/_sim/aster/agents", json={"user": user.address, "signer": signer.address})
        await http.post(f"{url}/_sim/accounts", json={"user": user.address, "collateral": "100000000"})
        answer = await (
            await http.post(f"{url}/_sim/aster/apikeys", json={"api_key": key, "api_secret": secret})
        ).json()
        await http.post(f"{url}/_sim/accounts", json={"user": answer["user"], "collateral": "100000000"})
        await http.post(f"{url}/_sim/markets/ETH/mark", json={"price": "3600"})
    v3 = AsterCredentials(user_address=user.address, signer_private_key=SecretStr(signer.key.hex()))
    v1 = AsterCredentials(api_key=SecretStr(key), api_secret=SecretStr(secret))
    print(f"simulated Aster in its own process (signatures verified); {n} placements per run, one at a time")
    for name, creds in (("GTX post-only, V3", v3), ("GTX post-only, V1", v1)):
        client = AsterClient(creds, config, markets=["ETH"], account_stream=False)
        await client.connect()
        lat = []
        t0 = time.perf_counter()
        for i in range(n):
            a = time.perf_counter()
            await client.place_limit_order(
                "ETH",
                Side.BUY,
                Decimal("0.01"),
                Decimal(1000 + i),
                post_only=True,
                client_order_id=str(7_000_000 + i),
            )
            lat.append(time.perf_counter() - a)
        report(name, lat, time.perf_counter() - t0)
        await client.cancel_all_orders("ETH")
        if creds is v3:
            lat = []
            t0 = time.perf_counter()
            for i in range(n // 2):
                side = Side.BUY if i % 2 == 0 else Side.SELL
                a = time.perf_counter()
                await client.place_market_order(
                    "ETH",
                    side,
                    Decimal("0.01"),
                    max_slippage_bps=Decimal(50),
                    client_order_id=str(8_000_000 + i),
                )
                lat.append(time.perf_counter() - a)
            report("market IOC fill, V3", lat, time.perf_counter() - t0)
        await client.disconnect()


def frames(n: int, seed: int = 17) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A 200-level snapshot and `n` chained diff frames (10 changed levels each, some removed)."""
    rnd = random.Random(seed)
    mid = 84_000
    snapshot = {
        "lastUpdateId": 1000,
        "bids": [[f"{mid - 0.1 * (i + 1):.1f}", f"{rnd.uniform(0.001, 5):.3f}"] for i in range(200)],
        "asks": [[f"{mid + 0.1 * (i + 1):.1f}", f"{rnd.uniform(0.001, 5):.3f}"] for i in range(200)],
    }
    out = []
    u = 1000
    for _ in range(n):
        bids = [
            [
                f"{mid - 0.1 * rnd.randint(1, 220):.1f}",
                "0" if rnd.random() < 0.2 else f"{rnd.uniform(0.001, 5):.3f}",
            ]
            for _ in range(5)
        ]
        asks = [
            [
                f"{mid + 0.1 * rnd.randint(1, 220):.1f}",
                "0" if rnd.random() < 0.2 else f"{rnd.uniform(0.001, 5):.3f}",
            ]
            for _ in range(5)
        ]
        step = rnd.randint(1, 5)
        out.append(
            {
                "stream": "btcusdt@depth@100ms",
                "data": {
                    "e": "depthUpdate",
                    "E": 0,
                    "T": 0,
                    "s": "BTCUSDT",
                    "U": u + 1,
                    "u": u + step,
                    "pu": u,
                    "b": bids,
                    "a": asks,
                },
            }
        )
        u += step
    return snapshot, out


def depth_throughput(n: int) -> None:
    async def fetch(_: str) -> Any:
        raise AssertionError("no snapshot needed")

    stream = AsterMarketDataStream("ws://127.0.0.1:9", fetch, ["BTCUSDT"])
    snapshot, pushes = frames(n)
    sync = stream.sync_of("BTCUSDT")
    sync.on_snapshot(snapshot)
    t0 = time.perf_counter()
    for frame in pushes:
        stream.on_frame(frame)
    took = time.perf_counter() - t0
    book = stream.book("BTCUSDT")
    assert book.is_synced and book.sequence == pushes[-1]["data"]["u"] and book.gaps == 0
    last = pushes[-1]["data"]
    for price, size in last["b"]:
        level = dict(book.depth(10_000)[0]).get(Decimal(price))
        assert (level is None) if size == "0" else level == Decimal(size)
    print(
        f"depth updates: {n} frames (10 levels each) in {took:.3f} s = {n / took:,.0f} frames/s "
        f"({10 * n / took:,.0f} level updates/s), book in sync, 0 gaps"
    )


def main(orders: int, n_frames: int) -> None:
    depth_throughput(n_frames)
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
            "aster",
            "--port",
            "aster=0",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        urls = dict(item.split("=", 1) for item in proc.stdout.readline().split()[1:])
        asyncio.run(placements(urls["aster"], orders))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orders", type=int, default=200)
    ap.add_argument("--frames", type=int, default=50_000)
    args = ap.parse_args()
    main(args.orders, args.frames)
