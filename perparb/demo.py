"""`make demo`: the main job end to end, offline.

Starts the simulator on the shipped synthetic demo scenario, points both funding adapters at it, starts (or
reuses) the embedded PostgreSQL in `$PERPARB_DATA_DIR/demo` (kept apart from real data), applies the
migrations, backfills a few days of settled history (for the persistence columns), runs one collection cycle
through the real SDKs and prints the ranked opportunity table. Then, when ../shared/funding-history is present,
the backtest of the shipped strategy config (configs/backtest.example.yaml) on its out-of-sample half-year, and
the research command that chose its parameters.

Run: `python -m perparb.demo [--days N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from rich.console import Console

from funding_rate_service.backfill import backfill
from funding_rate_service.collector import run_cycle
from funding_rate_service.service import build_query, get_opportunities, get_rates
from perparb.cli import _print_cycle, print_opportunities
from perparb.cli import console as wide_console
from perparb.runtime import configure_logging, open_adapters, open_engine
from perparb.settings import Settings
from simulator.server import SimulatorHandle, start_simulator
from strategies.paper import PaperError, simulated_venue_urls

PROJECT = Path(__file__).resolve().parents[1]
DEMO_SCENARIO = PROJECT / "simulator" / "scenarios" / "demo"
FUNDING_HISTORY = PROJECT.parent / "shared" / "funding-history"
SHIPPED_CONFIG = PROJECT / "configs" / "backtest.example.yaml"
OUT_OF_SAMPLE_FROM = "2026-02-21"
RESEARCH_COMMAND = (
    "perparb sweep configs/backtest.example.yaml --grid configs/research.grid.yaml --history "
    "../shared/funding-history --train-from 2025-08-21 --train-to 2026-02-21 --test-from 2026-02-21 "
    "--test-to 2026-08-22 --jobs 2"
)
console = Console()


def served_venue_urls(sim: SimulatorHandle, venues: list[str]) -> dict[str, tuple[str, str]]:
    """{venue: (REST URL, WebSocket URL)} of the `venues` the simulator serves; the others (installed venues
    without a simulator protocol) are left out: the demo never reaches a real venue."""
    urls: dict[str, tuple[str, str]] = {}
    for venue in venues:
        try:
            rest, ws, _root = simulated_venue_urls(sim, venue)
        except PaperError:
            continue
        urls[venue] = (rest, ws)
    return urls


def show_backtest() -> None:
    """The shipped config replayed on the real history's out-of-sample half-year (skipped without the data)."""
    from datetime import datetime, timezone

    from backtest.engine import BacktestOptions, run_backtest
    from backtest.loader import load_history
    from backtest.report import build_report, print_report
    from strategies.config import FundingArbitrageConfig, load_config

    command = f"perparb backtest configs/backtest.example.yaml --history ../shared/funding-history --from {OUT_OF_SAMPLE_FROM}"
    if not FUNDING_HISTORY.is_dir():
        console.print(f"[dim]{FUNDING_HISTORY} is absent: backtest skipped (with the data: {command})[/]")
        return
    config = load_config(SHIPPED_CONFIG)
    assert isinstance(config, FundingArbitrageConfig)
    wide_console.print(f"\nbacktest of the shipped config, out of sample: {command}", soft_wrap=True)
    history = load_history(FUNDING_HISTORY, venues=config.venues)
    start = datetime.fromisoformat(OUT_OF_SAMPLE_FROM).replace(tzinfo=timezone.utc)
    print_report(build_report(run_backtest(config, history, BacktestOptions(start=start))), wide_console)
    wide_console.print(
        f"research (walk-forward, docs/strategies.md section 10): {RESEARCH_COMMAND}", soft_wrap=True
    )


async def run_demo(days: float) -> int:
    base = Settings()
    configure_logging(base, quiet=True)
    t0 = time.perf_counter()
    async with await start_simulator(DEMO_SCENARIO) as sim:
        urls = served_venue_urls(sim, base.venue_list)
        skipped = [v for v in base.venue_list if v not in urls]
        served = " ".join(f"{v}={rest}" for v, (rest, _ws) in urls.items())
        console.print(f"simulator ready: {served}  [dim](synthetic demo scenario, no network)[/]")
        if skipped:
            console.print(f"[dim]not simulated, left out of the demo: {', '.join(skipped)}[/]")
        settings = base.with_venue_urls(
            urls, data_dir=base.data_dir / "demo", database_url=None, venues=",".join(urls)
        )
        async with open_engine(settings) as engine, open_adapters(settings) as adapters:
            console.print(
                f"database: embedded PostgreSQL in {settings.data_dir / 'pgdata'} (migrated to head)"
            )
            for adapter in adapters:
                summary = await backfill(engine, adapter, days=days)
                console.print(
                    f"backfill {adapter.venue}: {summary.markets} markets, {summary.fetched} settled "
                    f"rows fetched, {summary.stored} new"
                )
            cycle = await run_cycle(engine, adapters, venue_timeout_seconds=settings.venue_timeout_seconds)
            _print_cycle(cycle.to_json_dict())
            async with engine.connect() as conn:
                rates = await get_rates(conn, max_age_seconds=settings.max_data_age_seconds)
                query = build_query(
                    settings.ranking_config(),
                    min_apr=None,
                    horizon_hours=None,
                    venues=None,
                    exclude=None,
                    require=None,
                    symbols=None,
                    min_volume_usd=None,
                    min_oi_usd=None,
                    maker=False,
                    slippage_bps=None,
                    limit=15,
                )
                result = await get_opportunities(conn, query)
            console.print(f"{len(rates)} markets with a current funding rate")
            print_opportunities(
                result,
                title=f"demo: funding-arbitrage opportunities, horizon {query.horizon_hours:g} h, taker fees",
            )
    show_backtest()
    console.print(
        f"[dim]demo finished in {time.perf_counter() - t0:.1f} s. Query it again with "
        f"PERPARB_DATA_DIR={base.data_dir / 'demo'} .venv/bin/perparb opportunities[/]"
    )
    return 0 if all(v.status == "ok" for v in cycle.venues) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=3.0, help="days of history to backfill (default 3)")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run_demo(args.days)))


if __name__ == "__main__":
    main()
