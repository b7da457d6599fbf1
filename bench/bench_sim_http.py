"""Benchmark: order placement end to end through HTTP with the official SDKs against the simulator.

The simulator runs in its own process (`perparb sim`, as a user runs it); this process places post-only limit
orders far from the touch (so they rest and the book grows) through lighter-sdk `SignerClient.create_order`
(Go signer, form POST /api/v1/sendTx), paradex-py `submit_order` (Stark signature, POST /v1/orders) and
hyperliquid-python-sdk `Exchange.order` (EIP-712 signature, POST /exchange; the simulator recovers the signer and
checks the nonce), one at a time, and reports round trips per second and p50 / p99 latency per placement (signing
included).

Run: .venv/bin/python bench/bench_sim_http.py [--orders 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import lighter  # noqa: E402
from eth_account import Account  # noqa: E402
from hyperliquid.exchange import Exchange  # noqa: E402
from paradex_py import Paradex  # noqa: E402
from paradex_py.common.order import Order, OrderSide, OrderType  # noqa: E402

from simulator.server import DEMO_SCENARIO  # noqa: E402


def report(name: str, lat: list[float], total: float) -> None:
    lat.sort()
    print(
        f"{name:11s} {len(lat)} placements in {total:.2f} s = {len(lat) / total:7.1f} orders/s   "
        f"p50 {statistics.median(lat) * 1000:6.2f} ms   p99 {lat[int(0.99 * (len(lat) - 1))] * 1000:6.2f} ms"
    )


async def bench_lighter(url: str, n: int) -> None:
    private, public, _ = lighter.signer_client.create_api_key()
    async with aiohttp.ClientSession() as http:
        await http.post(
            f"{url}/_sim/lighter/apikeys",
            json={"account_index": 9001, "api_key_index": 3, "public_key": public},
        )
        await http.post(f"{url}/_sim/accounts", json={"account_index": 9001, "collateral": "10000000"})
    signer = lighter.SignerClient(url=url, account_index=9001, api_private_keys={3: private})
    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        a = time.perf_counter()
        # ETH (market 0): 0.01 at 1000.00..1029.99, far below the touch: rests (post-only)
        _, resp, err = await signer.create_order(
            0,
            i + 1,
            100,
            100000 + i * 10,
            False,
            signer.ORDER_TYPE_LIMIT,
            signer.ORDER_TIME_IN_FORCE_POST_ONLY,
        )
        lat.append(time.perf_counter() - a)
        assert err is None and resp is not None and resp.code == 200, (resp, err)
    report("lighter", lat, time.perf_counter() - t0)
    await signer.close()


def bench_paradex(url: str, ws_url: str, n: int) -> None:
    eth = Account.create()
    client = Paradex(
        env="prod",
        l1_address=eth.address,
        l1_private_key=eth.key.hex(),
        api_base_url=url,
        ws_url_override=ws_url,
        retry_strategy=None,
    )
    import httpx

    root = url.rsplit("/v1", 1)[0]
    httpx.post(
        f"{root}/_sim/accounts", json={"address": hex(client.account.l2_address), "collateral": "10000000"}
    )
    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        order = Order(
            "ETH-USD-PERP",
            OrderType.Limit,
            OrderSide.Buy,
            Decimal("0.1"),
            Decimal(1000 + i),
            client_id=f"b{i}",
            instruction="POST_ONLY",
        )
        a = time.perf_counter()
        client.api_client.submit_order(order)
        lat.append(time.perf_counter() - a)
    report("paradex", lat, time.perf_counter() - t0)


def bench_hyperliquid(url: str, n: int) -> None:
    wallet = Account.create()
    import httpx

    httpx.post(f"{url}/_sim/accounts", json={"address": wallet.address, "collateral": "10000000"}, timeout=5)
    exchange = Exchange(wallet, url)
    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        a = time.perf_counter()
        # ETH: 0.01 at 1000..1299 (integers: always on the price grid), far below the touch: rests (Alo)
        answer = exchange.order("ETH", True, 0.01, 1000.0 + i, {"limit": {"tif": "Alo"}})
        lat.append(time.perf_counter() - a)
        assert "resting" in answer["response"]["data"]["statuses"][0], answer
    report("hyperliquid", lat, time.perf_counter() - t0)


def main(n: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "perparb", "sim", "--scenario", str(DEMO_SCENARIO)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        head, *pairs = proc.stdout.readline().split()
        assert head == "ready", head
        urls = dict(pair.split("=", 1) for pair in pairs)
        lighter_url, paradex_url = urls["lighter"], urls["paradex"]
        paradex_ws = paradex_url.replace("http://", "ws://")
        print(f"simulator in its own process; {n} post-only placements per venue, one at a time")
        asyncio.run(bench_lighter(lighter_url, n))
        bench_paradex(paradex_url, paradex_ws, n)
        bench_hyperliquid(urls["hyperliquid"], n)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orders", type=int, default=300)
    main(ap.parse_args().orders)
