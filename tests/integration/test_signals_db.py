"""The same signal from the database (live and paper path: `history.load_legs` -> `signals.estimate_now`) and
from the same rows replayed by the backtester (`backtest.engine.signals_at`, the numbers `run_backtest` reads),
both from files (`load_rows`) and from the database (`load_history_db`): every field identical, for every
estimator. Rows stored after the decision time change nothing (no look-ahead on either path)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backtest.engine import signals_at
from backtest.loader import load_history_db, load_rows
from funding_rate_service import repository
from perparb_core.models import FundingKind, FundingRateSample, MarketInfo
from strategies.config import FundingArbitrageConfig, parse_config
from strategies.funding_arbitrage import history
from strategies.funding_arbitrage.decision import signal_params
from strategies.funding_arbitrage.signals import estimates_now

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
HOURS = 400
WHEN = T0 + timedelta(hours=360)  # decision time; rows after it exist in the database too

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

BASE: dict[str, Any] = {
    "strategy": "funding_arbitrage",
    "name": "same-signal",
    "venues": ["lighter", "paradex"],
    "entry": {"min_signal_apr": "0.1"},
    "sizing": {"target_notional_usd": "1000"},
}
SIGNALS = {
    "instantaneous": {"estimator": "instantaneous"},
    "mean": {"estimator": "mean", "window_hours": 72},
    "ewma": {"estimator": "ewma", "half_life_hours": "48"},
}


def lighter_pct(i: int) -> D:
    """Lighter's settled rate in percent per hour (signed), varied and with few digits."""
    return D((i * 37) % 23 - 9) / D(10_000)


def paradex_8h(i: int) -> D:
    """Paradex's hourly bucket: a rate per 8 h."""
    return D((i * 53) % 31 - 8) / D(100_000)


def samples(after: bool) -> list[FundingRateSample]:
    out = []
    for i in range(1, HOURS + 1):
        ts = T0 + timedelta(hours=i)
        wild = D(after and ts > WHEN) * D(50)  # rows after the decision time: wildly different
        raw_l = lighter_pct(i) + wild / 1000
        raw_p = paradex_8h(i) + wild / 100_000
        out.append(
            FundingRateSample(
                venue="lighter",
                venue_symbol="ETH",
                symbol="ETH",
                kind=FundingKind.SETTLED,
                ts=ts,
                raw_rate=raw_l,
                raw_period_hours=D(1),
                rate_hourly=raw_l / 100,
                source="lighter:fundings",
            )
        )
        out.append(
            FundingRateSample(
                venue="paradex",
                venue_symbol="ETH-USD-PERP",
                symbol="ETH",
                kind=FundingKind.SETTLED,
                ts=ts,
                raw_rate=raw_p,
                raw_period_hours=D(8),
                rate_hourly=raw_p / 8,
                source="paradex:funding/data",
            )
        )
    return out


def file_rows() -> list[dict[str, Any]]:
    """The same settlements as `../shared/funding-history` rows (fraction per 1-hour interval)."""
    rows = []
    for s in samples(after=False):
        if s.ts > WHEN:
            continue
        rows.append(
            {
                "venue": s.venue,
                "venue_symbol": s.venue_symbol,
                "canonical_symbol": "ETH-USD-PERP",
                "settlement_ts": s.ts,
                "rate_raw": s.rate_hourly,
                "interval_hours": "1",
            }
        )
    return rows


def config(estimator: str) -> FundingArbitrageConfig:
    data = copy.deepcopy(BASE)
    data["signal"] = SIGNALS[estimator]
    cfg: FundingArbitrageConfig = parse_config(data)
    return cfg


async def test_database_and_replayed_rows_give_the_same_signal(clean_engine: AsyncEngine) -> None:
    async with clean_engine.begin() as conn:
        await repository.store_cycle(
            conn, markets=MARKETS, samples=samples(after=True), reference_rates=[], runs=[], now=T0
        )
    async with clean_engine.connect() as conn:
        db_history = await load_history_db(conn)
        replay_db = {}
        live = {}
        for estimator in SIGNALS:
            cfg = config(estimator)
            params = signal_params(cfg)
            legs = await history.load_legs(conn, venues=cfg.venues, symbols=["ETH"], now=WHEN, params=params)
            directions = [("ETH", "lighter", "paradex"), ("ETH", "paradex", "lighter")]
            live[estimator] = estimates_now(legs, directions, WHEN, params)
            replay_db[estimator] = signals_at(cfg, db_history, WHEN)
    replay_files = {e: signals_at(config(e), load_rows(file_rows()), WHEN) for e in SIGNALS}
    for estimator in SIGNALS:
        for key, est in live[estimator].items():
            assert est == replay_files[estimator][key] == replay_db[estimator][key], (estimator, key)
            assert est.spread_hourly is not None and est.end_hour == WHEN - timedelta(hours=1)
            assert est.stale_hours == 0.0
        fwd = live[estimator][("ETH", "lighter", "paradex")]
        assert fwd.spread_hourly == -live[estimator][("ETH", "paradex", "lighter")].spread_hourly  # type: ignore[operator]
    # the instantaneous estimate is the last hour known on both legs: paradex 8 h rate / 8 - lighter % / 100
    # (the hour before WHEN is settled at WHEN: row 360 of each venue)
    inst = live["instantaneous"][("ETH", "lighter", "paradex")]
    assert inst.spread_hourly == float(paradex_8h(360) / 8) - float(lighter_pct(360) / 100)
