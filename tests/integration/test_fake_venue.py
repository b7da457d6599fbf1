"""A new venue is one `VenueSpec`: a fake third venue registered from this test (and from nowhere else) is seen by
the registry, the settings, `perparb collect`, `perparb rates` and `perparb opportunities`, with no other file
touched. The CLI runs in process (Typer's runner, in a worker thread) so the registration is visible to it."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

import pytest
import pytest_asyncio
from typer.testing import CliRunner

from exchange_clients import registry
from exchange_clients.base.auth import VerifyResult
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import VenueScope
from exchange_clients.base.spec import FeeSchedule, SettlementRule, VenueSpec
from perparb.cli import app
from perparb.settings import Settings
from perparb_core.models import (
    FundingKind,
    FundingRateSample,
    FundingRatesResult,
    MarketDataResult,
    MarketInfo,
    MarketStats,
    utcnow,
)
from perparb_core.settings import VenueConfig
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from strategies.paper import simulated_venue_urls

pytestmark = pytest.mark.integration
D = Decimal
FAKE = "fakex"
# fraction per hour: ETH pays longs hard on the fake venue, so shorting it there against a real venue earns
RATES = {"ETH": D("0.0004"), "BTC": D("-0.00002")}


class FakeConfig(VenueConfig):
    venue: Literal["fakex"] = "fakex"
    rest_url: str = "http://fakex.invalid"


class FakeCredentials(BaseCredentials):
    venue: Literal["fakex"] = "fakex"
    env_fields: ClassVar[dict[str, str]] = {}


class FakeAdapter(BaseFundingAdapter):
    """Two markets with fixed rates and prices; no network."""

    venue: ClassVar[str] = FAKE

    async def fetch_market_data(self) -> MarketDataResult:
        now = utcnow()
        return MarketDataResult(
            markets=[
                MarketInfo(
                    venue=FAKE,
                    venue_symbol=f"{s}-FAKE",
                    symbol=s,
                    venue_market_id=s,
                    tick_size=D("0.01"),
                    size_step=D("0.001"),
                    taker_fee=D("0.0002"),
                    maker_fee=D(0),
                    stats=MarketStats(
                        mark_price=D(3000) if s == "ETH" else D(90000),
                        open_interest_usd=D(50_000_000),
                        volume_24h_usd=D(100_000_000),
                        ts=now,
                    ),
                )
                for s in RATES
            ]
        )

    async def fetch_funding_rates(self, markets: list[MarketInfo]) -> FundingRatesResult:
        now = utcnow()
        return FundingRatesResult(
            samples=[
                FundingRateSample(
                    venue=FAKE,
                    venue_symbol=m.venue_symbol,
                    symbol=m.symbol,
                    kind=FundingKind.PREDICTED,
                    ts=now,
                    raw_rate=RATES[m.symbol],
                    raw_period_hours=D(1),
                    rate_hourly=RATES[m.symbol],
                    mark_price=m.stats.mark_price,
                    open_interest_usd=m.stats.open_interest_usd,
                    volume_24h_usd=m.stats.volume_24h_usd,
                    source="fakex:rates",
                )
                for m in markets
            ]
        )

    async def fetch_funding_history(
        self, market: MarketInfo, start: datetime, end: datetime
    ) -> FundingRatesResult:
        return FundingRatesResult()

    def normalize_symbol(self, venue_symbol: str) -> str:
        return venue_symbol.split("-", 1)[0]

    async def close(self) -> None:
        return None


def _adapter(config: VenueConfig, scope: VenueScope) -> BaseFundingAdapter:
    return FakeAdapter()


def _client(
    credentials: BaseCredentials, config: VenueConfig, scope: VenueScope | None = None, **kw: Any
) -> BaseExchangeClient:
    raise NotImplementedError("the fake venue has no trading client")


async def _verify(credentials: BaseCredentials, config: VenueConfig) -> VerifyResult:
    return VerifyResult(FAKE, True, "fake venue accepts anything")


SPEC = VenueSpec(
    name=FAKE,
    title="Fake",
    config_type=FakeConfig,
    credentials_type=FakeCredentials,
    create_funding_adapter=_adapter,
    create_client=_client,
    verify_credentials=_verify,
    fees=FeeSchedule(taker=D("0.0002"), maker=D(0)),
    settlement=SettlementRule(interval_hours=D(1), settled_sources=frozenset({"fakex:rates"})),
)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO) as handle:
        yield handle


@pytest.fixture
def fake_venue() -> Iterator[None]:
    registry.register(SPEC)
    try:
        yield
    finally:
        registry.unregister(FAKE)


def cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run `perparb ARGS` in process with `env` added to the environment."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return result.exit_code, result.stdout


async def test_a_registered_venue_is_collected_listed_and_ranked(
    fake_venue: None, db_url: str, sim: SimulatorHandle
) -> None:
    assert FAKE in registry.venue_names()
    rest, _ws, _root = simulated_venue_urls(sim, "lighter")
    env = {
        "DATABASE_URL": db_url,
        "PERPARB_VENUES": f"{FAKE},lighter",
        "PERPARB_LIGHTER_URL": rest,
        "PERPARB_MAX_DATA_AGE_SECONDS": "100000000",
    }
    saved = os.environ.get("PERPARB_VENUES")
    os.environ["PERPARB_VENUES"] = f"{FAKE},lighter"
    try:
        assert Settings(_env_file=None).venue_config(FAKE).rest_url == "http://fakex.invalid"  # type: ignore[call-arg]
    finally:
        if saved is None:
            os.environ.pop("PERPARB_VENUES")
        else:
            os.environ["PERPARB_VENUES"] = saved

    code, out = await asyncio.to_thread(cli, env, "collect", "--once", "--json")
    assert code == 0, out
    collected = json.loads(out)["venues"]
    assert collected[FAKE]["status"] == "ok" and collected[FAKE]["stored"] == 2

    code, out = await asyncio.to_thread(cli, env, "rates", "--json")
    assert code == 0, out
    fake_rows = {r["symbol"]: r for r in json.loads(out) if r["venue"] == FAKE}
    assert set(fake_rows) == {"ETH", "BTC"}
    assert D(str(fake_rows["ETH"]["rate_hourly"])) == RATES["ETH"]

    code, out = await asyncio.to_thread(cli, env, "opportunities", "--json", "--venues", f"{FAKE},lighter")
    assert code == 0, out
    eth = [o for o in json.loads(out) if o["symbol"] == "ETH"]
    assert eth and eth[0]["short_venue"] == FAKE and eth[0]["long_venue"] == "lighter"
