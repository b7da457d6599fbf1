"""Benchmark: placement round trip through perparb's own clients (`place_limit_order`, rounding, client order id,
signing, venue call, acknowledgement) against a simulator running in its own process (`perparb sim`), for every
simulated venue (Lighter, Paradex, Hyperliquid).

Run: .venv/bin/python bench/bench_client_placement.py [--orders 200]
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

from exchange_clients.base.trading import Side  # noqa: E402
from exchange_clients.hyperliquid.credentials import HyperliquidCredentials  # noqa: E402
from exchange_clients.lighter.credentials import LighterCredentials  # noqa: E402
from exchange_clients.paradex.credentials import ParadexCredentials  # noqa: E402
from exchange_clients.registry import create_client, default_config  # noqa: E402
from perparb_core.settings import RateLimitConfig  # noqa: E402
from simulator.server import DEMO_SCENARIO  # noqa: E402


def report(name: str, lat: list[float], total: float) -> None:
    lat.sort()
    print(
        f"{name:11s} {len(lat)} placements in {total:.2f} s = {len(lat) / total:7.1f} orders/s   "
        f"p50 {statistics.median(lat) * 1000:6.2f} ms   p99 {lat[int(0.99 * (len(lat) - 1))] * 1000:6.2f} ms"
    )


async def run(urls: dict[str, str], n: int) -> None:
    lighter_url, paradex_url, hyperliquid_url = urls["lighter"], urls["paradex"], urls["hyperliquid"]
    hyperliquid_config = default_config(
        "hyperliquid", rest_url=hyperliquid_url, rate_limit=RateLimitConfig(rate_per_second=1000.0, burst=100)
    )
    owner, agent = Account.create(), Account.create()
    lighter_config = default_config(
        "lighter", rest_url=lighter_url, rate_limit=RateLimitConfig(rate_per_second=1000.0, burst=1)
    )
    paradex_config = default_config(
        "paradex", rest_url=paradex_url, rate_limit=RateLimitConfig(rate_per_second=1000.0, burst=100)
    )
    private, public, _ = lighter.signer_client.create_api_key()
    eth = Account.create()
    async with aiohttp.ClientSession() as http:
        await http.post(
            f"{lighter_url}/_sim/lighter/apikeys",
            json={"account_index": 9101, "api_key_index": 3, "public_key": public},
        )
        await http.post(
            f"{lighter_url}/_sim/accounts", json={"account_index": 9101, "collateral": "10000000"}
        )
        await http.post(
            f"{hyperliquid_url}/_sim/accounts", json={"address": owner.address, "collateral": "10000000"}
        )
        await http.post(
            f"{hyperliquid_url}/_sim/hyperliquid/agents", json={"user": owner.address, "agent": agent.address}
        )
        clients = {
            "lighter": create_client(
                LighterCredentials(account_index=9101, api_key_index=3, api_private_key=private),
                lighter_config,
                markets=["ETH"],
            ),
            "paradex": create_client(
                ParadexCredentials(l1_address=eth.address, l1_private_key=eth.key.hex()),
                paradex_config,
                markets=["ETH"],
            ),
            "hyperliquid": create_client(
                HyperliquidCredentials(account_address=owner.address, agent_private_key=agent.key.hex()),
                hyperliquid_config,
                markets=["ETH"],
            ),
        }
        for c in clients.values():
            await c.connect()
        await http.post(
            paradex_url.rsplit("/v1", 1)[0] + "/_sim/accounts",
            json={"address": clients["paradex"].session.account_address, "collateral": "10000000"},  # type: ignore[attr-defined]
        )
    print(
        f"simulator in its own process; {n} post-only placements per venue through the clients, one at a time "
        "(Hyperliquid: signed by an approved agent, the signature verified by the simulator)"
    )
    for venue, client in clients.items():
        lat = []
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
        report(venue, lat, time.perf_counter() - t0)
        await client.cancel_all_orders("ETH")
        await client.disconnect()


def main(n: int) -> None:
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
            "lighter",
            "--venue",
            "paradex",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        head, *pairs = proc.stdout.readline().split()
        assert head == "ready", head
        asyncio.run(run(dict(pair.split("=", 1) for pair in pairs), n))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orders", type=int, default=200)
    main(ap.parse_args().orders)
