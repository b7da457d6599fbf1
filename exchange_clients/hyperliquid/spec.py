"""Hyperliquid's `VenueSpec`s: the one place that registers the venue (discovered by `exchange_clients.registry`).

`SPEC` is the first perp dex, "hyperliquid". Builder-deployed perp dexes (HIP-3, e.g. "xyz" with its equity
perps) are sub-venues "hyperliquid:<dex>" built by `dex_spec(dex)`: each is its own venue (markets, rates,
accounts, configs), never merged with the main dex; the application enables the ones listed in
`PERPARB_HYPERLIQUID_DEXES` (comma-separated, e.g. "xyz,flx"). `SPECS` lists the specs this module always
registers (the main dex).

Fees: standard (tier 0) perps fees 0.045 % taker ("cross") / 0.015 % maker ("add") (docs info-endpoint.md
`userFees` example `feeSchedule`; the recorded 2024 account paid 0.035 % / 0.01 %,
venue-data/hyperliquid/rest_info_userFees_2024-07.json: volume tiers and staking lower them, set
`PERPARB_FEE_OVERRIDES`). HIP-3 dexes: deployers set their own fee share; the same defaults are assumed
(unverified: override per venue id).

Settlement: every hour on the hour (docs trading/funding.md), the stored settled rows coming from
`fundingHistory` (source "hyperliquid:fundingHistory"); rows from before 2023-06-08T01:00Z were 8-hourly
(source "hyperliquid:fundingHistory:8h", 8 hours each).

Simulator and paper mode: the venue's protocol is `simulator.hyperliquid` (it serves the first perp dex and the
scenario's HIP-3 dexes on one server, so a sub-venue "hyperliquid:<dex>" is reached through its parent's endpoint);
paper hooks: `paper.py` (the agent approved and the account funded on its dex through the admin API).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.funding_adapter import BaseFundingAdapter
from exchange_clients.base.scope import VenueScope
from exchange_clients.base.spec import (
    FeeSchedule,
    PaperHooks,
    SettlementRule,
    SimulatorAdmin,
    SubVenues,
    VenueSpec,
)
from exchange_clients.hyperliquid.common import VENUE, venue_id
from exchange_clients.hyperliquid.config import config_type_for, dex_of_config
from exchange_clients.hyperliquid.credentials import credentials_type_for
from exchange_clients.hyperliquid.funding_adapter.fetchers import (
    LEGACY_PERIOD_HOURS,
    SOURCE_FUNDING_HISTORY,
    SOURCE_FUNDING_HISTORY_8H,
)
from perparb_core.settings import VenueConfig

if TYPE_CHECKING:
    from exchange_clients.base.auth import VerifyResult

# hyperliquid-python-sdk (eth-account, msgpack) is imported only when the venue is used: these wrappers import
# lazily.


def _funding_adapter(config: VenueConfig, scope: VenueScope) -> BaseFundingAdapter:
    from exchange_clients.hyperliquid.config import HyperliquidConfig
    from exchange_clients.hyperliquid.funding_adapter.adapter import adapter_type_for

    if not isinstance(config, HyperliquidConfig):
        raise TypeError(f"hyperliquid funding adapter needs a HyperliquidConfig, got {type(config).__name__}")
    return adapter_type_for(dex_of_config(config))(config, scope)


def _client(
    credentials: BaseCredentials, config: VenueConfig, scope: VenueScope | None = None, **options: Any
) -> BaseExchangeClient:
    from exchange_clients.hyperliquid.client import create_hyperliquid_client

    return create_hyperliquid_client(credentials, config, scope, **options)


async def _verify(credentials: BaseCredentials, config: VenueConfig) -> VerifyResult:
    from exchange_clients.hyperliquid.auth import verify_hyperliquid_credentials

    return await verify_hyperliquid_credentials(credentials, config)


async def _paper(
    credentials: BaseCredentials, config: VenueConfig, admin: SimulatorAdmin, collateral: Decimal
) -> dict[str, Any]:
    from exchange_clients.hyperliquid.paper import prepare_paper_account

    return await prepare_paper_account(credentials, config, admin, collateral)


def paper_hooks(dex: str) -> PaperHooks:
    """The paper hooks of perp dex `dex` ("" = the first): `paper.prepare_paper_account`, and fresh test credentials
    for the simulator (`perparb accounts add-account --simulator`): a random account address and a random agent key
    (eth-account), never a real account's, of the dex's credentials type; the paper hook approves the agent."""

    def new_credentials() -> BaseCredentials:
        from eth_account import Account

        owner, agent = Account.create(), Account.create()
        return credentials_type_for(dex)(account_address=owner.address, agent_private_key=agent.key.hex())

    return PaperHooks(prepare_account=_paper, new_credentials=new_credentials)


SIMULATOR_PROTOCOL = "simulator.hyperliquid"
FEES = FeeSchedule(taker=Decimal("0.00045"), maker=Decimal("0.00015"))
SETTLEMENT = SettlementRule(
    interval_hours=Decimal(1),
    continuous=False,
    settled_sources=frozenset({SOURCE_FUNDING_HISTORY}),
    source_intervals={SOURCE_FUNDING_HISTORY_8H: LEGACY_PERIOD_HOURS},
)


def dex_spec(dex: str) -> VenueSpec:
    """The spec of HIP-3 perp dex `dex` ("xyz" -> venue "hyperliquid:xyz"): the main dex's factories, fees and
    settlement, with the dex's own config and credentials types.

    Raises:
        ValueError: a dex name that is not 1-16 lower-case letters or digits.
    """
    name = venue_id(dex)
    return VenueSpec(
        name=name,
        title=f"Hyperliquid {dex} (HIP-3)",
        config_type=config_type_for(dex),
        credentials_type=credentials_type_for(dex),
        create_funding_adapter=_funding_adapter,
        create_client=_client,
        verify_credentials=_verify,
        fees=FEES,
        settlement=SETTLEMENT,
        paper=paper_hooks(dex),
        simulator_protocol=SIMULATOR_PROTOCOL,
        sdk_modules=("hyperliquid",),
        parent=VENUE,
    )


def _sub_spec(dex: str) -> VenueSpec:
    if not dex:
        raise ValueError("the first perp dex is 'hyperliquid' itself, not a sub-venue")
    return dex_spec(dex)


SPEC = VenueSpec(
    name=VENUE,
    title="Hyperliquid",
    config_type=config_type_for(""),
    credentials_type=credentials_type_for(""),
    create_funding_adapter=_funding_adapter,
    create_client=_client,
    verify_credentials=_verify,
    fees=FEES,
    settlement=SETTLEMENT,
    paper=paper_hooks(""),
    simulator_protocol=SIMULATOR_PROTOCOL,
    sdk_modules=("hyperliquid",),
    sub_venues=SubVenues(
        setting="DEXES",
        build=_sub_spec,
        description="builder-deployed (HIP-3) perp dexes to collect and trade as venues 'hyperliquid:<dex>', "
        "comma-separated (e.g. xyz,flx)",
    ),
)
SPECS = [SPEC]
