"""The write path on a real PostgreSQL: one transaction per cycle, idempotent inserts, latest state that never
goes backwards, reference rates kept apart, and nothing half-written when a statement fails."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from funding_rate_service import repository
from perparb_core.models import FundingKind, FundingRateSample, MarketInfo, ReferenceRate

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def market(venue: str, vs: str, sym: str) -> MarketInfo:
    return MarketInfo(
        venue=venue,
        venue_symbol=vs,
        symbol=sym,
        venue_market_id=vs,
        tick_size=Decimal("0.01"),
        size_step=Decimal("0.001"),
        funding_period_hours=Decimal(8 if venue == "paradex" else 1),
        taker_fee=Decimal("0.0002"),
    )


def sample(
    venue: str,
    vs: str,
    sym: str,
    ts: datetime,
    rate: str,
    kind: FundingKind = FundingKind.PREDICTED,
    period: str = "1",
) -> FundingRateSample:
    raw = Decimal(rate) * Decimal(period)
    return FundingRateSample(
        venue=venue,
        venue_symbol=vs,
        symbol=sym,
        kind=kind,
        ts=ts,
        raw_rate=raw,
        raw_period_hours=Decimal(period),
        rate_hourly=Decimal(rate),
        mark_price=Decimal("3000.5"),
        open_interest_usd=Decimal("1000000"),
        volume_24h_usd=Decimal("5e6"),
        source="test",
    )


def run(venue: str) -> repository.RunRecord:
    return repository.RunRecord(
        venue=venue, kind="collect", started_at=T0, finished_at=T0, status="ok", markets=1, rejected=0
    )


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


async def test_store_is_idempotent_and_exact(clean_engine: AsyncEngine) -> None:
    markets = [market("lighter", "ETH", "ETH"), market("paradex", "ETH-USD-PERP", "ETH")]
    samples = [
        sample("lighter", "ETH", "ETH", T0, "0.000012"),
        sample("paradex", "ETH-USD-PERP", "ETH", T0, "-0.00000125", period="8"),
        sample("lighter", "ETH", "ETH", T0 - timedelta(hours=1), "0.00001", kind=FundingKind.SETTLED),
    ]
    refs = [
        ReferenceRate("lighter", "binance", "ETH", T0, Decimal("0.0001"), Decimal(8), Decimal("0.0000125"))
    ]
    for attempt in range(2):
        async with clean_engine.begin() as conn:
            res = await repository.store_cycle(
                conn,
                markets=markets,
                samples=samples,
                reference_rates=refs,
                runs=[run("lighter"), run("paradex")],
                now=T0,
            )
        if attempt == 0:
            assert res.stored_by_venue == {"lighter": 2, "paradex": 1}
            assert res.reference_stored == 1
        else:  # a second identical cycle adds no sample rows
            assert res.stored_by_venue == {}  # only venues with new rows are listed
            assert res.reference_stored == 0
    assert await count(clean_engine, "funding_rate_samples") == 3
    assert await count(clean_engine, "markets") == 2
    assert await count(clean_engine, "collection_runs") == 4
    async with clean_engine.connect() as conn:
        rows = await repository.latest_rates(conn, symbol="eth")
    by_venue = {r.venue: r for r in rows}
    assert by_venue["lighter"].rate_hourly == Decimal("0.000012")
    assert by_venue["paradex"].rate_hourly == Decimal("-0.00000125")
    assert by_venue["paradex"].raw_rate == Decimal("-0.00001000")
    assert by_venue["paradex"].raw_period_hours == Decimal(8)
    assert by_venue["lighter"].apr == Decimal("0.105120")
    # reference rates never appear among tradeable rates
    assert {r.venue for r in rows} == {"lighter", "paradex"}
    async with clean_engine.connect() as conn:
        ref = await repository.reference_rates_latest(conn)
    assert [(r["venue"], r["rate_hourly"]) for r in ref] == [("binance", Decimal("0.0000125"))]


async def test_latest_state_never_goes_backwards(clean_engine: AsyncEngine) -> None:
    m = [market("lighter", "BTC", "BTC")]
    async with clean_engine.begin() as conn:
        await repository.store_cycle(
            conn,
            markets=m,
            samples=[sample("lighter", "BTC", "BTC", T0, "0.00002")],
            reference_rates=[],
            runs=[],
            now=T0,
        )
    async with clean_engine.begin() as conn:  # an older observation arrives late
        await repository.store_cycle(
            conn,
            markets=m,
            samples=[sample("lighter", "BTC", "BTC", T0 - timedelta(minutes=5), "0.00009")],
            reference_rates=[],
            runs=[],
            now=T0,
        )
    async with clean_engine.connect() as conn:
        (row,) = await repository.latest_rates(conn, symbol="BTC")
    assert row.rate_hourly == Decimal("0.00002") and row.ts == T0
    assert await count(clean_engine, "funding_rate_samples") == 2


async def test_failed_write_leaves_nothing(clean_engine: AsyncEngine) -> None:
    """A statement failing mid-cycle (here a CHECK violation in the second statement, after the markets were
    upserted by the first) rolls the whole cycle back: no market, no sample, no run row."""
    bad = FundingRateSample(
        venue="lighter",
        venue_symbol="SOL",
        symbol="SOL",
        kind=FundingKind.PREDICTED,
        ts=T0,
        raw_rate=Decimal("0.0001"),
        raw_period_hours=Decimal(0),
        rate_hourly=Decimal("0.0001"),
        source="test",
    )
    with pytest.raises(DBAPIError):
        async with clean_engine.begin() as conn:
            await repository.store_cycle(
                conn,
                markets=[market("lighter", "SOL", "SOL"), market("lighter", "ETH", "ETH")],
                samples=[sample("lighter", "ETH", "ETH", T0, "0.00001"), bad],
                reference_rates=[],
                runs=[run("lighter")],
                now=T0,
            )
    for table in ("markets", "venues", "funding_rate_samples", "market_states", "collection_runs"):
        assert await count(clean_engine, table) == 0, table


async def test_hourly_history_prefers_settled(clean_engine: AsyncEngine) -> None:
    m = [market("lighter", "ETH", "ETH")]
    h = T0.replace(minute=0)
    samples = [
        sample("lighter", "ETH", "ETH", h + timedelta(minutes=10), "0.00001"),
        sample("lighter", "ETH", "ETH", h + timedelta(minutes=40), "0.00003"),
        sample("lighter", "ETH", "ETH", h + timedelta(hours=1), "0.00005", kind=FundingKind.SETTLED),
        sample("lighter", "ETH", "ETH", h + timedelta(hours=1, minutes=30), "0.00099"),
    ]
    async with clean_engine.begin() as conn:
        await repository.store_cycle(conn, markets=m, samples=samples, reference_rates=[], runs=[], now=T0)
    async with clean_engine.connect() as conn:
        hist = await repository.hourly_history(conn, symbols=["ETH"], since=h - timedelta(hours=1))
    assert hist == {
        ("lighter", "ETH"): [(h, Decimal("0.00002")), (h + timedelta(hours=1), Decimal("0.00005"))]
    }


async def test_hourly_history_spreads_a_settlement_over_its_interval(clean_engine: AsyncEngine) -> None:
    """An Aster 8-hour symbol's settled row (source "aster:fundingRate") stands for its hour and the seven before
    it; a 4-hour one ("aster:fundingRate:4h") for four; predicted samples fill only hours without a settled one."""
    m = [market("aster", "ETHUSDT", "ETH"), market("aster", "SOLUSDT", "SOL")]
    h = T0.replace(minute=0)
    eth = replace(
        sample("aster", "ETHUSDT", "ETH", h, "0.0001", kind=FundingKind.SETTLED, period="8"),
        source="aster:fundingRate",
    )
    sol = replace(
        sample("aster", "SOLUSDT", "SOL", h, "0.0002", kind=FundingKind.SETTLED, period="4"),
        source="aster:fundingRate:4h",
    )
    late = sample("aster", "ETHUSDT", "ETH", h + timedelta(hours=1, minutes=5), "0.0003")
    async with clean_engine.begin() as conn:
        await repository.store_cycle(
            conn, markets=m, samples=[eth, sol, late], reference_rates=[], runs=[], now=T0
        )
    async with clean_engine.connect() as conn:
        hist = await repository.hourly_history(conn, symbols=["ETH", "SOL"], since=h - timedelta(hours=12))
    assert hist[("aster", "ETH")] == [
        (h - timedelta(hours=k), Decimal("0.0001")) for k in range(7, -1, -1)
    ] + [(h + timedelta(hours=1), Decimal("0.0003"))]
    assert hist[("aster", "SOL")] == [(h - timedelta(hours=k), Decimal("0.0002")) for k in range(3, -1, -1)]


async def test_sample_of_unknown_market_refuses_the_cycle(clean_engine: AsyncEngine) -> None:
    with pytest.raises(repository.UnjoinedSamplesError, match="1 of 2 samples"):
        async with clean_engine.begin() as conn:
            await repository.store_cycle(
                conn,
                markets=[market("lighter", "ETH", "ETH")],
                samples=[
                    sample("lighter", "ETH", "ETH", T0, "0.00001"),
                    sample("lighter", "GHOST", "GHOST", T0, "0"),
                ],
                reference_rates=[],
                runs=[run("lighter")],
                now=T0,
            )
    assert await count(clean_engine, "markets") == 0


async def test_concurrent_cycles_on_a_new_venue_lose_nothing(clean_engine: AsyncEngine) -> None:
    """Many transactions create the same new venue at once (as backfill does); every sample must land."""
    import asyncio

    async def one(i: int) -> int:
        async with clean_engine.begin() as conn:
            res = await repository.store_cycle(
                conn,
                markets=[market("paradex", f"M{i}-USD-PERP", f"M{i}")],
                samples=[sample("paradex", f"M{i}-USD-PERP", f"M{i}", T0, "0.00001", period="8")],
                reference_rates=[],
                runs=[],
                now=T0,
            )
        return res.stored_by_venue.get("paradex", 0)

    stored = await asyncio.gather(*(one(i) for i in range(5)))
    assert stored == [1] * 5
    assert await count(clean_engine, "venues") == 1
    assert await count(clean_engine, "funding_rate_samples") == 5
