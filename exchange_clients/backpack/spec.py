"""Backpack's `VenueSpec`: the one place that registers the venue (discovered by `exchange_clients.registry`).

Fees: Backpack's standard (tier 0) futures fees, 0.02 % maker / 0.05 % taker (Backpack fee schedule; not in the
recorded material: volume tiers lower them, set `PERPARB_FEE_OVERRIDES`).

Settlement: every hour on the hour since 2025-08-20 08:00 UTC (`payment = funding rate x position quantity x mark
price` at the end of the interval; a position closed before the end neither pays nor receives: futures specs via
../shared/reference/backpack_funding_units.md); before that every 8 h. Stored settled rows come from
`fundingRates` (source "backpack:fundingRates", 1 h each; "backpack:fundingRates:8h" for the 8-hour era, 8 h each).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from exchange_clients.backpack.common import VENUE
from exchange_clients.backpack.config import BackpackConfig
from exchange_clients.backpack.credentials import BackpackCredentials
from exchange_clients.backpack.funding_adapter.fetchers import (
    LEGACY_PERIOD_HOURS,
    SOURCE_FUNDING_RATES,
    SOURCE_FUNDING_RATES_8H,
)
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import VenueScope
from exchange_clients.base.spec import FeeSchedule, PaperHooks, SettlementRule, SimulatorAdmin, VenueSpec
from perparb_core.settings import VenueConfig

if TYPE_CHECKING:
    from exchange_clients.base.auth import VerifyResult

# bpx-py is imported only when the venue is used: these wrappers import lazily.


def _funding_adapter(config: VenueConfig, scope: VenueScope) -> BaseFundingAdapter:
    from exchange_clients.backpack.funding_adapter.adapter import BackpackFundingAdapter

    if not isinstance(config, BackpackConfig):
        raise TypeError(f"backpack funding adapter needs a BackpackConfig, got {type(config).__name__}")
    return BackpackFundingAdapter(config, scope)


def _client(
    credentials: BaseCredentials, config: VenueConfig, scope: VenueScope | None = None, **options: Any
) -> BaseExchangeClient:
    from exchange_clients.backpack.client import create_backpack_client

    return create_backpack_client(credentials, config, scope, **options)


async def _verify(credentials: BaseCredentials, config: VenueConfig) -> VerifyResult:
    from exchange_clients.backpack.auth import verify_backpack_credentials

    return await verify_backpack_credentials(credentials, config)


async def _prepare_paper(
    creds: BaseCredentials, config: VenueConfig, admin: SimulatorAdmin, collateral: Decimal
) -> dict[str, Any]:
    from exchange_clients.backpack.paper import prepare_paper_account

    return await prepare_paper_account(creds, config, admin, collateral)


def _new_credentials() -> BaseCredentials:
    """A fresh API key pair (a random ED25519 key): for the simulator (`accounts add-account --simulator`)."""
    from pydantic import SecretStr

    from exchange_clients.backpack.credentials import new_key_pair

    api_key, api_secret = new_key_pair()
    return BackpackCredentials(api_key=api_key, api_secret=SecretStr(api_secret))


SPEC = VenueSpec(
    name=VENUE,
    title="Backpack",
    config_type=BackpackConfig,
    credentials_type=BackpackCredentials,
    create_funding_adapter=_funding_adapter,
    create_client=_client,
    verify_credentials=_verify,
    fees=FeeSchedule(taker=Decimal("0.0005"), maker=Decimal("0.0002")),
    settlement=SettlementRule(
        interval_hours=Decimal(1),
        continuous=False,
        settled_sources=frozenset({SOURCE_FUNDING_RATES}),
        source_intervals={SOURCE_FUNDING_RATES_8H: LEGACY_PERIOD_HOURS},
    ),
    paper=PaperHooks(prepare_account=_prepare_paper, new_credentials=_new_credentials),
    simulator_protocol="simulator.backpack",
    sdk_modules=("bpx",),
)
