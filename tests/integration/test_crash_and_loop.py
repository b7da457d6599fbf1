"""A process killed (SIGKILL) in the middle of writing a cycle leaves nothing behind, and the collect loop
runs cycles on its interval until stopped."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from funding_rate_service.collector import CycleSummary, run_forever
from perparb.runtime import open_adapters
from perparb.settings import Settings
from simulator.server import DEMO_SCENARIO, start_simulator
from strategies.paper import simulated_venue_urls

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]

CRASHER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from datetime import datetime, timezone
    from decimal import Decimal
    from sqlalchemy.ext.asyncio import create_async_engine
    from perparb_core.models import FundingKind, FundingRateSample, MarketInfo
    from funding_rate_service import repository

    async def main():
        engine = create_async_engine(sys.argv[1])
        now = datetime.now(timezone.utc)
        markets = [MarketInfo(venue="lighter", venue_symbol=f"M{i}", symbol=f"M{i}", venue_market_id=str(i),
                              funding_period_hours=Decimal(1)) for i in range(50)]
        samples = [FundingRateSample(venue="lighter", venue_symbol=m.venue_symbol, symbol=m.symbol,
                                     kind=FundingKind.PREDICTED, ts=now, raw_rate=Decimal("0.0001"),
                                     raw_period_hours=Decimal(8), rate_hourly=Decimal("0.0000125"), source="t")
                   for m in markets]
        async with engine.begin() as conn:
            await repository.store_cycle(conn, markets=markets, samples=samples, reference_rates=[], runs=[],
                                         now=now)
            print("written, not committed", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)  # the crash: before COMMIT

    asyncio.run(main())
    """
)


async def test_sigkill_before_commit_leaves_nothing(clean_engine: AsyncEngine, db_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHER, db_url, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    assert b"written, not committed" in out  # both statements ran inside the transaction
    async with clean_engine.connect() as conn:
        for table in ("venues", "markets", "funding_rate_samples", "market_states"):
            assert (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 0, table


async def test_collect_loop_runs_until_stopped(clean_engine: AsyncEngine) -> None:
    async with await start_simulator(DEMO_SCENARIO) as sim:
        settings = Settings(
            _env_file=None
        ).with_venue_urls(  # type: ignore[call-arg]
            {v: simulated_venue_urls(sim, v)[:2] for v in ("lighter", "paradex")}, venues="lighter,paradex"
        )
        stop = asyncio.Event()
        seen: list[CycleSummary] = []

        def on_cycle(summary: CycleSummary) -> None:
            seen.append(summary)
            if len(seen) == 3:
                stop.set()

        async with open_adapters(settings) as adapters:
            await asyncio.wait_for(
                run_forever(
                    clean_engine,
                    adapters,
                    interval_seconds=0.2,
                    venue_timeout_seconds=10,
                    on_cycle=on_cycle,
                    stop=stop,
                ),
                timeout=60,
            )
    assert len(seen) == 3
    assert all(not s.to_json_dict()["failed_venues"] for s in seen)
    # cycles are spaced by the interval (start to start)
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(seen)]
    assert all(g >= 0.18 for g in gaps), gaps
    async with clean_engine.connect() as conn:
        runs = (
            await conn.execute(text("SELECT count(*) FROM collection_runs WHERE status = 'ok'"))
        ).scalar_one()
    assert runs == 6
