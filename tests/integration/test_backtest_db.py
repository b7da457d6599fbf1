"""Backtest history from the project's database (`--history db`): settled samples as the collector and the
backfill store them (Lighter: signed percent per hour; Paradex: hourly buckets of a rate per 8 h), read back,
converted per source, and replayed, in process and through `perparb backtest --history db`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backtest.engine import run_backtest
from backtest.loader import load_history_db
from backtest.report import build_report
from funding_rate_service import repository
from perparb_core.models import FundingKind, FundingRateSample, MarketInfo
from strategies.config import parse_config

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)

MARKETS = [
    MarketInfo(
        venue="lighter", venue_symbol="ETH", symbol="ETH", venue_market_id="0", funding_period_hours=D(1)
    ),
    MarketInfo(
        venue="paradex",
        venue_symbol="ETH-USD-PERP",
        symbol="ETH",
        venue_market_id="ETH-USD-PERP",
        funding_period_hours=D(8),
    ),
]

CONFIG = {
    "strategy": "funding_arbitrage",
    "name": "db-replay",
    "venues": ["lighter", "paradex"],
    "entry": {"min_net_apr": "0.15", "horizon_hours": "168"},
    "exit": {"exit_signal_apr": "0.03"},
    "sizing": {"target_notional_usd": "5000"},
    "costs": {"fee_overrides": {"lighter": {"taker": "0"}, "paradex": {"taker": "0.0002"}}},
}


def settled(
    venue: str, vs: str, ts: datetime, raw: str, period: str, hourly: str, source: str
) -> FundingRateSample:
    return FundingRateSample(
        venue=venue,
        venue_symbol=vs,
        symbol="ETH",
        kind=FundingKind.SETTLED,
        ts=ts,
        raw_rate=D(raw),
        raw_period_hours=D(period),
        rate_hourly=D(hourly),
        source=source,
    )


async def store(engine: AsyncEngine) -> None:
    hours = [T0 + timedelta(hours=i) for i in range(25)]
    samples = [settled("lighter", "ETH", t, "0.0012", "1", "0.000012", "lighter:fundings") for t in hours]
    samples += [
        settled("paradex", "ETH-USD-PERP", t, "0.0008", "8", "0.0001", "paradex:funding/data") for t in hours
    ]
    # not replayed: a predicted sample, and a settled one from a source with no known settlement schedule
    samples.append(
        FundingRateSample(
            venue="lighter",
            venue_symbol="ETH",
            symbol="ETH",
            kind=FundingKind.PREDICTED,
            ts=T0 + timedelta(minutes=30),
            raw_rate=D("0.5"),
            raw_period_hours=D(1),
            rate_hourly=D("0.005"),
            source="lighter:ws:market_stats",
        )
    )
    samples.append(
        settled("paradex", "ETH-USD-PERP", T0 + timedelta(minutes=1), "0.1", "8", "0.0125", "test")
    )
    async with engine.begin() as conn:
        await repository.store_cycle(
            conn, markets=MARKETS, samples=samples, reference_rates=[], runs=[], now=T0
        )


async def test_db_history_converted_per_source_and_replayed(
    clean_engine: AsyncEngine, tmp_path: Path
) -> None:
    await store(clean_engine)
    async with clean_engine.connect() as conn:
        history = await load_history_db(conn)
    assert history.sources == ["db"]
    lighter = history.markets[("lighter", "ETH")]
    paradex = history.markets[("paradex", "ETH-USD-PERP")]
    assert lighter.canonical_symbol == "ETH-USD-PERP" and lighter.symbol == "ETH"
    assert lighter.rate_raw == [D("0.000012")] * 25  # 0.0012 % per hour
    assert paradex.rate_raw == [D("0.0001")] * 25  # 0.0008 per 8 h accrued over one hour
    assert lighter.interval_hours == paradex.interval_hours == [D(1)] * 25
    assert [(r.source, r.field, r.reason) for r in history.rejections] == [
        ("db:test", "source", "settled rows of this source have no known settlement schedule")
    ]
    assert history.rows_read == 51

    # long lighter (0.000012/h), short paradex (0.0001/h) from T0 to T0 + 24 h: 24 hourly settlements each.
    # short receives 24 x 5000 x 0.0001 = 12, long pays 24 x 5000 x 0.000012 = 1.44, fees 4 fills: 2 x 5000 x
    # (0 + 0.0002) = 2. Net 8.56.
    result = run_backtest(parse_config(CONFIG), history)
    report = build_report(result)
    assert [(p.long_venue, p.short_venue, p.opened_at, p.closed_at) for p in result.positions] == [
        ("lighter", "paradex", T0, T0 + timedelta(hours=24))
    ]
    assert (report.funding_received_usd, report.funding_paid_usd, report.fees_usd) == (D(12), D("1.44"), D(2))
    assert report.net_pnl_usd == D("8.56")

    # the same through the command line
    config_path = tmp_path / "db-replay.yaml"
    config_path.write_text(json.dumps(CONFIG))  # JSON is YAML
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env.update(
        {
            "DATABASE_URL": clean_engine.url.render_as_string(hide_password=False),
            "PERPARB_DATA_DIR": str(tmp_path),
            "PYTHONPATH": str(PROJECT),
        }
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "perparb",
        "backtest",
        str(config_path),
        "--history",
        "db",
        "--json",
        cwd=PROJECT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()
    data = json.loads(out)
    assert data["net_pnl_usd"] == 8.56 and data["entries"] == 1
    assert data["history"]["sources"] == ["db"]
