"""`VenueSpec`: everything perparb knows about one venue, registered once by the venue's own package.

A venue package `exchange_clients/<venue>/` defines `spec.py` with a module-level `SPEC = VenueSpec(...)`; the
registry (`exchange_clients.registry`) discovers it. Nothing outside the venue's packages
(`exchange_clients/<venue>/`, `simulator/<venue>/`) names the venue: the collector, the ranking, the strategies,
the account scripts and paper mode all go through the spec.

What a spec carries:

* identity: `name` (the venue id stored in the database and used in configs), `title` (for humans);
* `config_type`: the venue's frozen `VenueConfig` subclass (default URLs, rate limits, WebSocket derivation);
* `credentials_type`: the venue's `BaseCredentials` subclass, and `verify_credentials`;
* factories: `create_funding_adapter(config, scope)` and `create_client(credentials, config, scope, **options)`;
  both receive the venue's `VenueScope` so a scan and trading share one HTTP session and one rate limiter;
* `fees` (default maker/taker fractions when a market does not say) and `settlement` (how funding is paid);
* `paper`: how to make an account's keys valid and funded on the simulator (`PaperHooks`);
* `simulator_protocol`: the dotted module of the venue's simulator protocol (`simulator.<venue>`), or None;
* `sdk_modules`: the import roots of the venue's SDKs, which no other package may import;
* `sub_venues`: further venue ids `<name>:<sub>` the package can serve (Hyperliquid's builder-deployed HIP-3 perp
  dexes, "hyperliquid:xyz"), each its own venue (never merged with the parent), enabled by the application from a
  setting (`SubVenues`).

Why a dataclass of callables rather than an abstract class per venue: a spec is data (defaults, fees, rules)
plus a handful of factories; plain functions keep the venue's modules importable lazily (an SDK is imported
only when its venue is used).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from perparb_core.settings import VenueConfig

if TYPE_CHECKING:
    from exchange_clients.base.auth import VerifyResult
    from exchange_clients.base.client import BaseExchangeClient
    from exchange_clients.base.credentials import BaseCredentials
    from exchange_clients.base.funding_adapter import BaseFundingAdapter
    from exchange_clients.base.scope import VenueScope


@dataclass(frozen=True)
class FeeSchedule:
    """Default fees of a venue's standard tier, fractions of notional per fill (0.0002 = 2 bps). Used when a
    market's metadata carries none; `PERPARB_FEE_OVERRIDES` and config `fee_overrides` win over both."""

    taker: Decimal
    maker: Decimal


@dataclass(frozen=True)
class SettlementRule:
    """How a venue pays funding.

    Attributes:
        interval_hours: hours between two payments (1 = every hour on the hour).
        continuous: True when funding accrues continuously through an index and is realised when the position
            changes (the venue's stored settled rows are then hourly buckets of that accrual).
        settled_sources: the `source` values of this venue's stored settled samples (`funding_rate_samples`);
            each row is one `interval_hours` of funding, its `rate_hourly` the fraction per hour paid.
    """

    interval_hours: Decimal
    continuous: bool = False
    settled_sources: frozenset[str] = frozenset()
    source_intervals: Mapping[str, Decimal] = field(default_factory=dict)
    """Settled sources whose rows are another interval than `interval_hours` (e.g. Hyperliquid's
    `fundingHistory` rows from before 2023-06-08, one per 8 h): source -> interval hours. Listed here only,
    not in `settled_sources`."""

    def interval_for(self, source: str) -> Decimal | None:
        """Hours of funding one stored settled row of `source` stands for; None when the source is not this
        venue's."""
        if source in self.source_intervals:
            return self.source_intervals[source]
        return self.interval_hours if source in self.settled_sources else None


class SimulatorAdmin(Protocol):
    """The simulator's admin API of one venue, as paper hooks see it (`strategies.paper`)."""

    rest_url: str
    """The venue's REST base on the simulator (what the SDK uses)."""
    root_url: str
    """The simulator server's root (admin routes live under `root_url + "/_sim/..."`)."""

    async def post(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST `root_url + path` (e.g. "/_sim/accounts"); the decoded JSON answer.

        Raises:
            PaperError: a non-200 answer (with the simulator's message)."""
        ...


@dataclass(frozen=True)
class PaperHooks:
    """How paper mode trades a venue on the in-process simulator.

    Attributes:
        prepare_account: `(credentials, config, admin, collateral_usd) -> {public identifiers}`: makes the
            account's own keys valid on the simulator and funds it with `collateral_usd` USDC. `config` points at
            the simulator. Only the simulator is contacted.
        new_credentials: `() -> credentials`: fresh, valid-looking test credentials of the venue (new random
            keys, never a real account's), for `perparb accounts add-account --simulator`; None = not offered.
    """

    prepare_account: Callable[
        [BaseCredentials, VenueConfig, SimulatorAdmin, Decimal], Awaitable[dict[str, Any]]
    ]
    new_credentials: Callable[[], BaseCredentials] | None = None


@dataclass(frozen=True)
class SubVenues:
    """Further venue ids of one venue package: `<parent>:<sub>`, each a venue of its own (own markets, rates,
    accounts and config), e.g. Hyperliquid's builder-deployed perp dexes ("hyperliquid:xyz").

    Which ones exist is configuration, not code: the application reads the comma-separated list from
    `PERPARB_<PARENT>_<setting>` (e.g. `PERPARB_HYPERLIQUID_DEXES=xyz,flx`) and enables them in the registry
    (`exchange_clients.registry.enable_sub_venues`). A sub-venue's `PERPARB_<PARENT>_<SUB>_*` variables (URL,
    rate) default to its parent's.

    Attributes:
        setting: the suffix of the application setting that lists them ("DEXES").
        build: sub name ("xyz") -> the sub-venue's spec, named "<parent>:<sub>". Raises ValueError for a name
            that cannot be one (the message says why).
        description: what a sub-venue is, for `.env.example` and `perparb venues`.
    """

    setting: str
    build: Callable[[str], VenueSpec]
    description: str = ""


@dataclass(frozen=True)
class VenueSpec:
    """One venue, as registered by its package (see the module docstring)."""

    name: str
    title: str
    config_type: type[VenueConfig]
    credentials_type: type[BaseCredentials]
    create_funding_adapter: Callable[[VenueConfig, VenueScope], BaseFundingAdapter]
    create_client: Callable[..., BaseExchangeClient]
    verify_credentials: Callable[[BaseCredentials, VenueConfig], Awaitable[VerifyResult]]
    fees: FeeSchedule
    settlement: SettlementRule
    paper: PaperHooks | None = None
    simulator_protocol: str | None = None
    sdk_modules: tuple[str, ...] = ()
    sdk_log_levels: Mapping[str, int] = field(default_factory=dict)
    """Log levels of the SDK's loggers below DEBUG (default: each of `sdk_modules` at WARNING)."""
    verify_side_effect: str = ""
    """What `verify_credentials` changes at the venue, if anything (shown by `accounts verify-account`); empty
    when the check is read-only."""
    docs: Mapping[str, str] = field(default_factory=dict)
    sub_venues: SubVenues | None = None
    parent: str | None = None
    """The parent venue id of a sub-venue ("hyperliquid" for "hyperliquid:xyz"); None for a venue."""

    def default_config(self, **overrides: Any) -> VenueConfig:
        """The venue's config with its defaults (mainnet URLs, documented limits), changed by `overrides`.

        Raises:
            pydantic.ValidationError: an override of the wrong type or out of range."""
        return self.config_type(**overrides)
