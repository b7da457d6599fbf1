"""Benchmark: decision latency of the funding-arbitrage strategy and the gap between its two legs, for every pair
of simulated venues the fault matrix covers (Lighter / Paradex, Aster and Backpack and Hyperliquid each as the long
and as the short leg: seven pairs).

The runner trades the in-process simulator (real SDKs over HTTP); the bench alternates the funding rates so the
strategy enters (spread 0.001 / h), then exits (spread 0), again and again; entry cycles do no exit work. For
each pair and each entry it reports:

* decision latency: market data in hand (the scan's fetch done) -> both entry orders handed to the clients,
  including the live checks (books, balances, leverage) and the database writes before the venue calls;
* the gap between the two legs' placement calls (client side), and between their ARRIVALS at the venues (the
  simulator's request hook, same process and clock): the target is "sent concurrently, gap under 5 ms";
* decision -> second leg at the venue.

`--concurrent`: every cycle enters TWO assets (ETH and BTC) of the pair at once (issue #16: entries of a cycle run
concurrently, margin reserved per venue); it reports, per cycle, how long after the first entry the second one
started (its checks began) and how far apart the two entries' orders were handed to the clients. The venue
arrival figures are left out there (two entries' orders reach the same venue; the hook cannot tell them apart).

Run: .venv/bin/python bench/bench_execution.py [--entries 50] [--pair hyperliquid,paradex ...] [--concurrent]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from database import migrate  # noqa: E402
from database.session import create_engine, embedded_server_url, stop_embedded  # noqa: E402
from simulator.server import DEMO_SCENARIO, start_simulator  # noqa: E402
from strategies import state  # noqa: E402
from strategies.config import parse_config  # noqa: E402
from strategies.runner import RunOptions, run_strategy  # noqa: E402
from tests.integration.strategy_support import (  # noqa: E402
    admin,
    set_market,
    sim_account,
    sim_settings,
    test_vault,
)

MARKET = {
    "lighter": "ETH",
    "paradex": "ETH-USD-PERP",
    "hyperliquid": "ETH",
    "aster": "ETHUSDT",
    "backpack": "ETH_USDC_PERP",
}
BTC = {
    "lighter": "BTC",
    "paradex": "BTC-USD-PERP",
    "hyperliquid": "BTC",
    "aster": "BTCUSDT",
    "backpack": "BTC_USDC_PERP",
}
PLACEMENT = {
    "lighter": "/api/v1/sendTx",
    "paradex": "/v1/orders",
    "hyperliquid": "/exchange",
    "aster": "/fapi/v3/order",
    "backpack": "/api/v1/order",
}
PAIRS = [
    ("lighter", "paradex"),
    ("aster", "paradex"),
    ("lighter", "aster"),
    ("backpack", "paradex"),
    ("lighter", "backpack"),
    ("hyperliquid", "paradex"),
    ("lighter", "hyperliquid"),
]
CONFIG = {
    "strategy": "funding_arbitrage",
    "name": "bench-arb",
    "venues": ["lighter", "paradex"],
    "symbols": ["ETH"],
    "entry": {"min_net_apr": 0.5, "horizon_hours": 24},
    "exit": {"exit_signal_apr": 0.1, "min_hold_hours": 0, "exit_on_flip": True},
    "sizing": {
        "target_notional_usd": 1000,
        "leverage": 2,
        "max_slippage_bps": 20,
        "max_price_divergence_bps": 100,
    },
    "execution": {"mode": "ioc"},
    "loop_interval_seconds": 0.05,
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def line(name: str, values: list[float]) -> str:
    return f"{name:34s} p50 {statistics.median(values):8.3f} ms   p99 {pct(values, 0.99):8.3f} ms   max {max(values):8.3f} ms"


async def wait_for_events(engine: Any, n: int, task: asyncio.Task, account: str) -> list[dict]:
    while True:
        assert not task.done(), task
        async with engine.connect() as conn:
            details = (
                (
                    await conn.execute(
                        select(state.EVENTS.c.detail)
                        .join(state.RUNS, state.RUNS.c.id == state.EVENTS.c.run_id)
                        .where(state.EVENTS.c.kind == "entry_latency", state.RUNS.c.account_name == account)
                    )
                )
                .scalars()
                .all()
            )
        if len(details) >= n:
            return list(details)
        await asyncio.sleep(0.05)


async def wait_flat(engine: Any, task: asyncio.Task, account: str) -> None:
    while True:
        assert not task.done(), task
        async with engine.connect() as conn:
            if not await state.live_positions(conn, account, "live"):
                return
        await asyncio.sleep(0.05)


async def run_pair(
    engine: Any, sim: Any, vault: Any, pair: tuple[str, str], entries: int, concurrent: bool
) -> list[dict]:
    """`entries` entries (each cycle followed by an exit) of the pair, long the first venue; their latency details.
    `concurrent`: each cycle enters ETH and BTC together (two entries per cycle)."""
    long, short = pair
    account = f"bench-{long}-{short}{'-c' if concurrent else ''}"
    markets = [MARKET, BTC] if concurrent else [MARKET]
    await sim_account(engine, vault, sim, account, venues=pair, collateral="10000000")
    config = parse_config(
        {
            **CONFIG,
            "name": account,
            "venues": list(pair),
            "symbols": ["ETH", "BTC"] if concurrent else ["ETH"],
            "sizing": {**CONFIG["sizing"], "max_positions": len(markets)},
        }
    )
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_strategy(
            config,
            account,
            engine=engine,
            vault=vault,
            settings=sim_settings(sim),
            options=RunOptions(interval_seconds=0.05),
            stop=stop,
        )
    )
    details: list[dict] = []
    while len(details) < entries:
        for m in markets:
            await set_market(sim, long, m[long], rate_hourly="-0.0005")
            await set_market(sim, short, m[short], rate_hourly="0.0005")
        details = await wait_for_events(engine, len(details) + len(markets), task, account)
        for m in markets:
            await set_market(sim, long, m[long], rate_hourly="0")
            await set_market(sim, short, m[short], rate_hourly="0")
        await wait_flat(engine, task, account)
    stop.set()
    await task
    return details


def report(
    pair: tuple[str, str], details: list[dict], arrivals: dict[str, list[float]], concurrent: bool
) -> None:
    decision = [d["decision_ms"] for d in details]
    client_gap = [d["leg_gap_ms"] for d in details]
    wire_gap, to_wire = [], []
    for d in details if not concurrent else []:
        first_start = min(d["perf_leg_starts"])
        seen = [min((t for t in arrivals[v] if t >= first_start), default=None) for v in pair]
        if None in seen:
            continue
        wire_gap.append(abs(seen[0] - seen[1]) * 1000)
        to_wire.append((max(seen) - d["perf_scan_done"]) * 1000)
    kind = "two entries per cycle (ETH + BTC)" if concurrent else "one entry per cycle"
    print(
        f"{pair[0]} long / {pair[1]} short: {len(details)} entries, {kind}, each cycle followed by an exit, "
        "through the runner against the in-process simulator"
    )
    print(line("decision -> both orders to clients", decision))
    # where the decision time goes: the scan's ranking and bookkeeping, then the entry itself
    if not concurrent:
        ranking = [(d["perf_entry_start"] - d["perf_scan_done"]) * 1000 for d in details]
        entry = [(max(d["perf_leg_starts"]) - d["perf_entry_start"]) * 1000 for d in details]
        print(line("  of which scan -> entry start", ranking))
        print(line("  of which entry start -> orders", entry))
    if to_wire:
        print(line("decision -> second leg at venue", to_wire))
    print(line("gap between legs (client calls)", client_gap))
    if wire_gap:
        print(line("gap between legs (venue arrival)", wire_gap))
    if concurrent:
        cycles: dict[float, list[dict]] = {}
        for d in details:
            cycles.setdefault(d["perf_scan_done"], []).append(d)
        starts, sends = [], []
        for group in cycles.values():
            if len(group) == 2:
                a, b = sorted(group, key=lambda d: d["perf_entry_start"])
                starts.append((b["perf_entry_start"] - a["perf_entry_start"]) * 1000)
                sends.append(abs(max(b["perf_leg_starts"]) - max(a["perf_leg_starts"])) * 1000)
        if starts:
            print(f"{'cycles with two entries':34s} {len(starts)}")
            print(line("second entry start after first", starts))
            print(line("second entry's orders after first's", sends))


async def main(entries: int, pairs: list[tuple[str, str]], concurrent: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pbx", dir="/tmp"))
    url = embedded_server_url(tmp / "pg")
    migrate.upgrade(url)
    engine = create_engine(url)
    arrivals: dict[str, list[float]] = {venue: [] for venue in MARKET}
    venues = sorted({v for pair in pairs for v in pair})
    results: list[tuple[tuple[str, str], list[dict]]] = []
    try:
        async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1, venues=venues) as sim:
            for venue in venues:
                for market, mark in ((MARKET[venue], "3600"), (BTC[venue], "60000")):
                    await set_market(sim, venue, market, mark=str(int(mark) * 101 // 100))
                    await set_market(sim, venue, market, mark=mark)
                    await set_market(sim, venue, market, rate_hourly="0")
                # a slow walk from 3600 keeps every book changing (a book pinned still would push nothing new
                # and go stale on the clients: Paradex's snapshot channel pushes on change only)
                walk = {"random_walk": {"vol_bps": "0.5", "step_ms": 1000, "seed": 3}}
                for walked in (MARKET[venue], BTC[venue]):
                    await admin(sim, venue, f"/_sim/markets/{walked}/mark", walk)
                faults = sim.faults(venue)
                original = faults.take

                def hook(
                    method: str = "GET",
                    path: str = "/",
                    _o: Any = original,
                    _v: str = venue,
                    _p: str = PLACEMENT[venue],
                ) -> Any:
                    if method == "POST" and path == _p:
                        arrivals[_v].append(time.perf_counter())
                    return _o(method, path)

                faults.take = hook  # type: ignore[method-assign]
            vault = test_vault()
            for pair in pairs:
                results.append((pair, await run_pair(engine, sim, vault, pair, entries, concurrent)))
    finally:
        await engine.dispose()
        stop_embedded(tmp / "pg")  # get_server(cleanup_mode=None).cleanup() would leave it running
        shutil.rmtree(tmp, ignore_errors=True)
    for pair, details in results:
        report(pair, details, arrivals, concurrent)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument(
        "--concurrent",
        action="store_true",
        help="enter ETH and BTC together each cycle (two entries per cycle)",
    )
    parser.add_argument(
        "--pair", action="append", default=None, help="LONG,SHORT (repeatable); default every pair of venues"
    )
    args = parser.parse_args()
    chosen = [tuple(p.split(",", 1)) for p in args.pair] if args.pair else PAIRS
    asyncio.run(main(args.entries, chosen, args.concurrent))  # type: ignore[arg-type]
