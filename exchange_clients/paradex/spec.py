"""Paradex's `VenueSpec`: the one place that registers the venue (discovered by `exchange_clients.registry`).

Fees: API standard tier 0.02 % taker / 0.003 % maker when a market's metadata carries none (markets carry their
own `fee_config.api_fee`, which wins; PROTOCOL_NOTES §2.6, docs.paradex.trade/trading/trading-fee). Settlement: funding accrues continuously through a
funding index and is realised when the position changes (PROTOCOL_NOTES §2.4); stored settled rows are hourly
buckets of `GET /funding/data` (and of its WebSocket channel).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import VenueScope
from exchange_clients.base.spec import FeeSchedule, PaperHooks, SettlementRule, VenueSpec
from exchange_clients.paradex.common import VENUE
from exchange_clients.paradex.config import ParadexConfig
from exchange_clients.paradex.credentials import ParadexCredentials
from exchange_clients.paradex.funding_adapter.fetchers import SOURCE_FUNDING_DATA, SOURCE_WS_FUNDING_DATA
from perparb_core.settings import VenueConfig

if TYPE_CHECKING:
    from exchange_clients.base.auth import VerifyResult
    from exchange_clients.base.spec import SimulatorAdmin

# paradex-py (and its Starknet signing) is imported only when the venue is used: these wrappers import lazily.


def _funding_adapter(config: VenueConfig, scope: VenueScope) -> BaseFundingAdapter:
    from exchange_clients.paradex.funding_adapter.adapter import ParadexFundingAdapter

    return ParadexFundingAdapter(config, scope)


def _client(
    credentials: BaseCredentials, config: VenueConfig, scope: VenueScope | None = None, **options: Any
) -> BaseExchangeClient:
    from exchange_clients.paradex.client import create_paradex_client

    return create_paradex_client(credentials, config, scope, **options)


async def _verify(credentials: BaseCredentials, config: VenueConfig) -> VerifyResult:
    from exchange_clients.paradex.auth import verify_paradex_credentials

    return await verify_paradex_credentials(credentials, config)


async def _paper(
    credentials: BaseCredentials, config: VenueConfig, admin: SimulatorAdmin, collateral: Decimal
) -> dict[str, Any]:
    from exchange_clients.paradex.paper import prepare_paper_account

    return await prepare_paper_account(credentials, config, admin, collateral)


def _new_credentials() -> BaseCredentials:
    """A fresh L1-key account (a random Ethereum key, eth-account): for the simulator."""
    from eth_account import Account

    account = Account.create()
    return ParadexCredentials(l1_address=account.address, l1_private_key=account.key.hex())


SPEC = VenueSpec(
    name=VENUE,
    title="Paradex",
    config_type=ParadexConfig,
    credentials_type=ParadexCredentials,
    create_funding_adapter=_funding_adapter,
    create_client=_client,
    verify_credentials=_verify,
    fees=FeeSchedule(taker=Decimal("0.0002"), maker=Decimal("0.00003")),
    settlement=SettlementRule(
        interval_hours=Decimal(1),
        continuous=True,
        settled_sources=frozenset({SOURCE_FUNDING_DATA, SOURCE_WS_FUNDING_DATA}),
    ),
    paper=PaperHooks(prepare_account=_paper, new_credentials=_new_credentials),
    simulator_protocol="simulator.paradex",
    sdk_modules=("paradex_py", "starknet_py", "starkware"),
    # paradex-py logs its SystemConfig at INFO and warns "HttpClient: Invalid JSON in response" for every answer
    # without a body; perparb reads statuses through its own httpx hooks, so only its errors are worth showing
    sdk_log_levels={"paradex_py": logging.ERROR},
    verify_side_effect=(
        "an L1-key account that Paradex does not know yet is onboarded (POST /onboarding), as paradex-py does on "
        "its first authentication"
    ),
)
