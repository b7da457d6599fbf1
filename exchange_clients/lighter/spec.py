"""Lighter's `VenueSpec`: the one place that registers the venue (discovered by `exchange_clients.registry`).

Fees: Lighter's standard account pays 0 maker / 0 taker; premium tiers pay up to 0.2 bps maker and 2.8 bps taker
(PROTOCOL_NOTES §1.6, apidocs.lighter.xyz account-types). Markets carry their own fees in `orderBookDetails`,
which win over these defaults. Settlement: every hour on the hour (PROTOCOL_NOTES §1.4); stored settled rows come
from `GET /api/v1/fundings` and the `market_stats` stream, one per hour.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import VenueScope
from exchange_clients.base.spec import FeeSchedule, PaperHooks, SettlementRule, VenueSpec
from exchange_clients.lighter.common import VENUE
from exchange_clients.lighter.config import LighterConfig
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.lighter.funding_adapter.fetchers import SOURCE_FUNDINGS, SOURCE_MARKET_STATS
from perparb_core.settings import VenueConfig

if TYPE_CHECKING:
    from exchange_clients.base.auth import VerifyResult
    from exchange_clients.base.spec import SimulatorAdmin

# The SDK (lighter-sdk, with its Go signer) is imported only when the venue is used: these wrappers import lazily.


def _funding_adapter(config: VenueConfig, scope: VenueScope) -> BaseFundingAdapter:
    from exchange_clients.lighter.funding_adapter.adapter import LighterFundingAdapter

    if not isinstance(config, LighterConfig):
        raise TypeError(f"lighter funding adapter needs a LighterConfig, got {type(config).__name__}")
    return LighterFundingAdapter(config, scope)


def _client(
    credentials: BaseCredentials, config: VenueConfig, scope: VenueScope | None = None, **options: Any
) -> BaseExchangeClient:
    from exchange_clients.lighter.client import create_lighter_client

    return create_lighter_client(credentials, config, scope, **options)


async def _verify(credentials: BaseCredentials, config: VenueConfig) -> VerifyResult:
    from exchange_clients.lighter.auth import verify_lighter_credentials

    return await verify_lighter_credentials(credentials, config)


async def _paper(
    credentials: BaseCredentials, config: VenueConfig, admin: SimulatorAdmin, collateral: Decimal
) -> dict[str, Any]:
    from exchange_clients.lighter.paper import prepare_paper_account

    return await prepare_paper_account(credentials, config, admin, collateral)


def _new_credentials() -> BaseCredentials:
    """A fresh API key (lighter-sdk `create_api_key`) in slot 3 of a random account index: for the simulator."""
    import secrets

    from lighter.signer_client import create_api_key

    private_key, _public_key, error = create_api_key()
    if error is not None:
        raise RuntimeError(f"lighter-sdk could not create an API key: {error}")
    return LighterCredentials(
        account_index=100_000 + secrets.randbelow(900_000), api_key_index=3, api_private_key=private_key
    )


SPEC = VenueSpec(
    name=VENUE,
    title="Lighter",
    config_type=LighterConfig,
    credentials_type=LighterCredentials,
    create_funding_adapter=_funding_adapter,
    create_client=_client,
    verify_credentials=_verify,
    fees=FeeSchedule(taker=Decimal(0), maker=Decimal(0)),
    settlement=SettlementRule(
        interval_hours=Decimal(1),
        continuous=False,
        settled_sources=frozenset({SOURCE_FUNDINGS, SOURCE_MARKET_STATS}),
    ),
    paper=PaperHooks(prepare_account=_paper, new_credentials=_new_credentials),
    simulator_protocol="simulator.lighter",
    sdk_modules=("lighter",),
)
