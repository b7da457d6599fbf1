"""The funding-rate pipeline end to end: simulator (real HTTP) -> real SDKs -> adapters -> collector ->
PostgreSQL -> opportunity finder, and the failure rules of issue #2 (one venue failing or timing out never
blocks the others; bad rows rejected with a logged reason while the rest is stored; backfill idempotent)."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from funding_rate_service import repository
from funding_rate_service.backfill import backfill
from funding_rate_service.collector import run_cycle
from funding_rate_service.service import build_query, get_opportunities
from perparb.runtime import open_adapters
from perparb.settings import Settings
from perparb_core.models import utcnow
from simulator.faults import FaultSpec
from simulator.scenario_from_recordings import build_scenario_from_recordings
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from strategies.paper import simulated_venue_urls
from tests.shared_data import SHARED, shared_path

pytestmark = pytest.mark.integration


def sim_settings(sim: SimulatorHandle, **kw: object) -> Settings:
    """App settings whose venues point at the simulator (the collector's adapters come from them)."""
    base = {
        "http_timeout_seconds": 2.0,
        "http_retries": 1,
        "http_backoff_seconds": 0.01,
        "venue_timeout_seconds": 10.0,
    }
    base.update(kw)
    settings = Settings(_env_file=None, **base)  # type: ignore[arg-type]
    simulated = ("lighter", "paradex")  # collect only what the simulator serves (no real venue is reachable)
    return settings.with_venue_urls(
        {v: simulated_venue_urls(sim, v)[:2] for v in simulated}, venues=",".join(simulated)
    )


@pytest_asyncio.fixture
async def demo_sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO) as sim:
        yield sim


async def scalar(engine: AsyncEngine, sql: str, **params: object) -> object:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def test_full_cycle_on_recorded_payloads(clean_engine: AsyncEngine, tmp_path: Path) -> None:
    """A scenario assembled from ../shared/venue-data, served over HTTP, collected through lighter-sdk and
    paradex-py: the stored numbers are exactly the normalised recorded values."""
    shared_path("venue-data")
    scenario = build_scenario_from_recordings(SHARED, tmp_path / "rec")
    async with await start_simulator(scenario) as sim:
        settings = sim_settings(sim)
        async with open_adapters(settings) as adapters:
            summary = await run_cycle(clean_engine, adapters, venue_timeout_seconds=10)
    data = summary.to_json_dict()
    assert data["failed_venues"] == [], data
    assert data["venues"]["lighter"]["stored"] == 1
    assert data["venues"]["paradex"]["stored"] == 1
    async with clean_engine.connect() as conn:
        rows = {r.venue: r for r in await repository.latest_rates(conn)}
    eth = rows["lighter"]
    assert (eth.symbol, eth.venue_symbol) == ("ETH", "ETH")
    assert eth.rate_hourly == Decimal("0.000012")
    assert eth.apr == Decimal("0.105120")
    assert eth.raw_rate == Decimal("0.000096") and eth.raw_period_hours == 8
    assert eth.open_interest_usd == Decimal("39559.3278") * Decimal("3550.69")
    btc = rows["paradex"]
    assert (btc.symbol, btc.venue_symbol) == ("BTC", "BTC-USD-PERP")
    assert btc.raw_rate == Decimal("0.00749938923192") and btc.raw_period_hours == 8
    assert btc.rate_hourly == Decimal("0.00749938923192") / 8
    assert btc.open_interest_usd == Decimal("152.777") * Decimal("67307.7225876")
    assert btc.taker_fee == Decimal("0.000125") and btc.maker_fee == Decimal("0.000075")


async def test_demo_cycle_and_ranking(clean_engine: AsyncEngine, demo_sim: SimulatorHandle) -> None:
    settings = sim_settings(demo_sim)
    async with open_adapters(settings) as adapters:
        summary = await run_cycle(clean_engine, adapters, venue_timeout_seconds=10)
    data = summary.to_json_dict()
    assert data["failed_venues"] == []
    assert data["venues"]["lighter"]["stored"] >= 8 and data["venues"]["paradex"]["stored"] >= 8
    assert data["venues"]["lighter"]["reference_stored"] > 0
    assert await scalar(clean_engine, "SELECT count(*) FROM collection_runs WHERE status = 'ok'") == 2
    query = build_query(
        settings.ranking_config(),
        min_apr=None,
        horizon_hours=168,
        venues=None,
        exclude=None,
        require=None,
        symbols=None,
        min_volume_usd=None,
        min_oi_usd=None,
        maker=False,
        slippage_bps=None,
        limit=None,
    )
    async with clean_engine.connect() as conn:
        result = await get_opportunities(conn, query)
        rates = {(r.venue, r.symbol): r for r in await repository.latest_rates(conn)}
    assert result.opportunities and not result.stale
    best = result.opportunities[0]
    # recompute the best row by hand from the stored rates and fees (DESIGN.md maths)
    a, b = rates[(best.long_venue, best.symbol)], rates[(best.short_venue, best.symbol)]
    spread = b.rate_hourly - a.rate_hourly
    cost = 2 * (a.taker_fee + b.taker_fee)
    assert best.spread_hourly == spread
    assert best.round_trip_cost == cost
    # same formula, possibly another order of Decimal operations: equal to 20 significant digits
    assert abs(best.net_apr - (spread * 168 - cost) / 168 * 8760) < Decimal("1e-20")
    assert abs(best.break_even_hours - cost / spread) < Decimal("1e-18")
    nets = [o.net_apr for o in result.opportunities]
    assert nets == sorted(nets, reverse=True)

    # a query without `now` ranks at the current time (it once computed None - timedelta: mypy found it)
    async with clean_engine.connect() as conn:
        undated = await get_opportunities(conn, query.model_copy(update={"now": None}))
    assert [(o.symbol, o.long_venue, o.short_venue) for o in undated.opportunities] == [
        (o.symbol, o.long_venue, o.short_venue) for o in result.opportunities
    ]


@pytest.mark.parametrize(
    "fault", [FaultSpec(http_status=500), FaultSpec(latency_seconds=5)], ids=["http-500", "timeout"]
)
async def test_one_venue_failing_never_blocks_the_other(
    clean_engine: AsyncEngine, demo_sim: SimulatorHandle, fault: FaultSpec, caplog: pytest.LogCaptureFixture
) -> None:
    demo_sim.faults("paradex").configure(fault)
    settings = sim_settings(demo_sim, http_timeout_seconds=0.5, venue_timeout_seconds=3)
    with caplog.at_level(logging.ERROR, logger="perparb.collector"):
        async with open_adapters(settings) as adapters:
            summary = await run_cycle(clean_engine, adapters, venue_timeout_seconds=3)
    data = summary.to_json_dict()
    assert data["failed_venues"] == ["paradex"]
    assert data["venues"]["lighter"]["status"] == "ok" and data["venues"]["lighter"]["stored"] > 0
    assert data["venues"]["paradex"]["stored"] == 0
    err = data["venues"]["paradex"]["error"]
    assert err.startswith("paradex") and ("500" in err or "timed out" in err), err
    assert "collection failed for paradex" in caplog.text
    run = await scalar(
        clean_engine, "SELECT error FROM collection_runs WHERE venue = 'paradex' AND status = 'failed'"
    )
    assert run == err
    assert (
        await scalar(
            clean_engine,
            "SELECT count(*) FROM markets m JOIN venues v ON v.id = m.venue_id WHERE v.name = 'paradex'",
        )
        == 0
    )
    # the venue recovers: the next cycle stores it
    demo_sim.faults("paradex").clear()
    async with open_adapters(sim_settings(demo_sim)) as adapters:
        summary = await run_cycle(clean_engine, adapters, venue_timeout_seconds=10)
    assert summary.to_json_dict()["failed_venues"] == []


async def test_bad_rows_rejected_rest_stored(
    clean_engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows with a missing field, "", NaN, a negative open interest or an unknown market are rejected with a
    logged reason naming the field; every other row of the cycle is stored."""
    scenario = tmp_path / "bad"
    shutil.copytree(DEMO_SCENARIO, scenario)
    fr_path = scenario / "lighter" / "funding-rates.json"
    fr = json.loads(fr_path.read_text())
    lighter_rows = [r for r in fr["funding_rates"] if r["exchange"] == "lighter"]
    n_lighter = len(lighter_rows)
    lighter_rows[0]["rate"] = ""
    lighter_rows[1]["rate"] = "NaN"
    del lighter_rows[2]["rate"]
    fr["funding_rates"].append({"market_id": 9999, "exchange": "lighter", "symbol": "NOPE", "rate": 0.0001})
    fr_path.write_text(json.dumps(fr))
    ps_path = scenario / "paradex" / "markets_summary.json"
    ps = json.loads(ps_path.read_text())
    ps["results"][0]["open_interest"] = "-5"
    ps["results"][1]["funding_rate"] = ""
    n_paradex = len([r for r in ps["results"] if r["symbol"].endswith("-PERP")])
    ps_path.write_text(json.dumps(ps))
    async with await start_simulator(scenario) as sim:
        with caplog.at_level(logging.WARNING):
            async with open_adapters(sim_settings(sim)) as adapters:
                summary = await run_cycle(clean_engine, adapters, venue_timeout_seconds=10)
    data = summary.to_json_dict()
    assert data["failed_venues"] == []
    assert data["venues"]["lighter"]["stored"] == n_lighter - 3
    assert data["venues"]["lighter"]["rejected"] >= 4
    assert data["venues"]["paradex"]["stored"] == n_paradex - 2
    assert data["venues"]["paradex"]["rejected"] >= 2
    log = caplog.text
    for needle in ("rate=''", "rate='NaN'", "unknown market", "open_interest='-5'", "funding_rate=''"):
        assert needle in log, needle
    rejections = " ".join(data["venues"]["lighter"]["rejections"] + data["venues"]["paradex"]["rejections"])
    assert "missing" in rejections
    # nothing stored as a made-up zero
    assert (
        await scalar(clean_engine, "SELECT count(*) FROM funding_rate_samples WHERE open_interest_usd < 0")
        == 0
    )


async def test_backfill_is_idempotent(clean_engine: AsyncEngine, demo_sim: SimulatorHandle) -> None:
    settings = sim_settings(demo_sim)
    end = utcnow()
    async with open_adapters(settings) as adapters:
        first = {a.venue: await backfill(clean_engine, a, days=2, end=end) for a in adapters}
        second = {a.venue: await backfill(clean_engine, a, days=2, end=end) for a in adapters}
    for venue in ("lighter", "paradex"):
        assert first[venue].markets > 0 and first[venue].markets_failed == {}
        assert first[venue].stored > first[venue].markets, first[venue]  # many hours per market
        assert first[venue].stored == first[venue].fetched  # markets stored concurrently: no row lost
        assert second[venue].fetched == first[venue].fetched
        assert second[venue].stored == 0
    n = await scalar(clean_engine, "SELECT count(*) FROM funding_rate_samples WHERE kind = 'settled'")
    assert n == first["lighter"].stored + first["paradex"].stored
    oldest = await scalar(clean_engine, "SELECT min(ts) FROM funding_rate_samples")
    assert oldest >= end - timedelta(days=2)  # type: ignore[operator]
