"""Aster's `VenueSpec`: the one place that registers the venue (discovered by `exchange_clients.registry`).

Fees: standard tier 0.035 % taker / 0.01 % maker (recorded `GET /fapi/v1/commissionRate?symbol=BTCUSDT`:
`takerCommissionRate` "0.000350", `makerCommissionRate` "0.000100", venue-data/aster/rest_commissionRate_BTCUSDT.json;
ccxt 4.5.90 aster `fees.trading` the same). Volume tiers and promotions change them: `PERPARB_FEE_OVERRIDES`.

Settlement: every symbol's own `fundingIntervalHours` (8 by default, 4 and 1 exist; `fundingInfo`), peer to peer
at the interval's end. Stored settled rows carry their interval in their source (`fetchers.settled_source`):
"aster:fundingRate" rows are 8 hours each, "aster:fundingRate:<N>h" rows N hours (`SettlementRule.source_intervals`),
so the backtester replays each row over the hours it paid.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from exchange_clients.aster.common import VENUE
from exchange_clients.aster.config import AsterConfig
from exchange_clients.aster.credentials import AsterCredentials
from exchange_clients.aster.funding_adapter.fetchers import (
    DEFAULT_INTERVAL_HOURS,
    INTERVALS,
    SOURCE_FUNDING_RATE,
    settled_source,
)
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import VenueScope
from exchange_clients.base.spec import FeeSchedule, PaperHooks, SettlementRule, SimulatorAdmin, VenueSpec
from perparb_core.settings import VenueConfig

if TYPE_CHECKING:
    from exchange_clients.base.auth import VerifyResult


def _funding_adapter(config: VenueConfig, scope: VenueScope) -> BaseFundingAdapter:
    from exchange_clients.aster.funding_adapter.adapter import AsterFundingAdapter

    if not isinstance(config, AsterConfig):
        raise TypeError(f"aster funding adapter needs an AsterConfig, got {type(config).__name__}")
    return AsterFundingAdapter(config, scope)


def _client(
    credentials: BaseCredentials, config: VenueConfig, scope: VenueScope | None = None, **options: Any
) -> BaseExchangeClient:
    from exchange_clients.aster.client import create_aster_client

    return create_aster_client(credentials, config, scope, **options)


async def _verify(credentials: BaseCredentials, config: VenueConfig) -> VerifyResult:
    from exchange_clients.aster.auth import verify_aster_credentials

    return await verify_aster_credentials(credentials, config)


async def _prepare_paper(
    credentials: BaseCredentials, config: VenueConfig, admin: SimulatorAdmin, collateral: Decimal
) -> dict[str, Any]:
    from exchange_clients.aster.paper import prepare_paper_account

    return await prepare_paper_account(credentials, config, admin, collateral)


def _new_credentials() -> BaseCredentials:
    """A fresh V3 API wallet (random user and API-wallet keys, eth-account): for the simulator. The user's own key
    is thrown away: the simulator needs only its address (the API wallet signs)."""
    from eth_account import Account

    user, signer = Account.create(), Account.create()
    return AsterCredentials(user_address=user.address, signer_private_key=SecretStr(signer.key.hex()))


FEES = FeeSchedule(taker=Decimal("0.00035"), maker=Decimal("0.0001"))
SETTLEMENT = SettlementRule(
    interval_hours=Decimal(DEFAULT_INTERVAL_HOURS),
    continuous=False,
    settled_sources=frozenset({SOURCE_FUNDING_RATE}),
    source_intervals={settled_source(h): Decimal(h) for h in INTERVALS if h != DEFAULT_INTERVAL_HOURS},
)

SPEC = VenueSpec(
    name=VENUE,
    title="Aster",
    config_type=AsterConfig,
    credentials_type=AsterCredentials,
    create_funding_adapter=_funding_adapter,
    create_client=_client,
    verify_credentials=_verify,
    fees=FEES,
    settlement=SETTLEMENT,
    paper=PaperHooks(prepare_account=_prepare_paper, new_credentials=_new_credentials),
    simulator_protocol="simulator.aster",
    sdk_modules=(),
    docs={
        "api": "https://github.com/asterdex/api-docs",
        "funding": "https://docs.asterdex.com/trading/perpetuals/fees-and-specs/funding-rate",
    },
)
