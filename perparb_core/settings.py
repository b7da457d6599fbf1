"""The settings *types*: frozen, typed configs that the application builds from the environment and passes down.

Library packages never read the environment. The application (`perparb.settings.Settings`, pydantic-settings)
reads `PERPARB_*` variables and `.env` once, builds these models, and hands each package the config it needs
(NautilusTrader style: one frozen config per venue). Tests build them directly.

* `HttpConfig`: per-request timeout, retries and backoff of idempotent REST reads.
* `RateLimitConfig`: the REST budget of one venue in this process (token bucket).
* `VenueConfig`: REST and WebSocket URLs, HTTP and rate-limit settings of one venue. Each venue package
  subclasses it with its own defaults (`exchange_clients/<venue>/config.py`) and registers the subclass in its
  `VenueSpec`.
* `DatabaseConfig`, `VaultConfig`: where the database and the vault key are.
* `RankingConfig`: the defaults of the opportunity ranking (horizon, slippage, fee overrides, staleness).
* `ServiceConfig` (the REST API) and `TradingConfig` (a strategy run): what those need, composed of the above.

Units are in the field names (`_seconds`, `_hours`, `_bps`); fees are fractions of notional.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from perparb_core.errors import ConfigError

FeeSide = Literal["taker", "maker"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HttpConfig(_Frozen):
    """REST client behaviour shared by every venue.

    Attributes:
        timeout_seconds: per attempt (> 0).
        retries: retries after the first attempt of an idempotent read (0..10).
        backoff_seconds: first retry delay, doubled each retry (jittered); a 429's Retry-After wins when longer.
    """

    timeout_seconds: float = Field(default=10.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0)


class RateLimitConfig(_Frozen):
    """The REST budget of one venue in this process: a token bucket of `burst` requests refilled at
    `rate_per_second` (0 = no limit; a 429's Retry-After still pauses every caller), of which `order_reserve`
    tokens are kept for placements and cancels (reads never take them; `exchange_clients.base.rate_limit`).

    Two processes on one machine each have their own bucket: give each a share of the venue's limit
    (docs/operations.md, "Rate limits").

    Raises:
        pydantic.ValidationError: `order_reserve` not below `burst` (naming both values).
    """

    rate_per_second: float = Field(default=10.0, ge=0)
    burst: int = Field(default=1, ge=1)
    order_reserve: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _reserve_below_burst(self) -> RateLimitConfig:
        if self.order_reserve > self.burst - 1:
            raise ValueError(
                f"order_reserve must be at most burst - 1 = {self.burst - 1} (reads need a token), "
                f"got order_reserve={self.order_reserve} with burst={self.burst}"
            )
        return self


class VenueConfig(_Frozen):
    """Everything a venue's funding adapter and trading client need to reach the venue.

    Venue packages subclass it, overriding `rest_url`'s default (mainnet) and `rate_limit`'s (the venue's
    documented limits), and `derived_ws_url` (how the WebSocket URL follows from the REST URL).

    Attributes:
        venue: the venue id ("lighter", "hyperliquid:xyz"); set by the subclass.
        rest_url: REST base URL as the venue SDK expects it (no trailing "/").
        ws_url: WebSocket URL; None = `derived_ws_url()`.
        http: timeouts and retries. rate_limit: the venue's REST budget in this process.
        rate_tiers: named budgets of the venue's account tiers ("standard", "premium", ...), each documented
            with its source in the venue's config module; the application picks one with
            `PERPARB_<VENUE>_TIER` (`rate_limit` is the budget used when no tier is chosen).
    """

    venue: str
    rest_url: str
    ws_url: str | None = None
    http: HttpConfig = HttpConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    rate_tiers: dict[str, RateLimitConfig] = {}

    @field_validator("rest_url", "ws_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("URL must not be empty")
        return value.rstrip("/")

    @property
    def budget_venue(self) -> str:
        """The venue whose rate budget and HTTP session this config spends (`exchange_clients.base.scope`):
        `venue`, except for a sub-venue that shares its parent's limits (Hyperliquid's HIP-3 dexes,
        "hyperliquid:xyz", spend the per-IP budget of "hyperliquid"); venue subclasses override."""
        return self.venue

    @property
    def websocket_url(self) -> str:
        """`ws_url` when set, else `derived_ws_url()`."""
        return self.ws_url or self.derived_ws_url()

    def derived_ws_url(self) -> str:
        """The WebSocket URL implied by `rest_url` (venue subclasses override): ws(s)://host/path."""
        if self.rest_url.startswith("https://"):
            return "wss://" + self.rest_url[len("https://") :]
        if self.rest_url.startswith("http://"):
            return "ws://" + self.rest_url[len("http://") :]
        return self.rest_url

    def pointed_at(self, rest_url: str, ws_url: str | None) -> VenueConfig:
        """A copy reaching another server (the simulator, a testnet); nothing else changes."""
        return self.model_copy(update={"rest_url": rest_url.rstrip("/"), "ws_url": ws_url})


class DatabaseConfig(_Frozen):
    """Where the database is.

    Attributes:
        url: `postgresql+asyncpg://...`, or None for the embedded PostgreSQL (pgserver) in `data_dir/pgdata`.
        data_dir: perparb's data directory (embedded PostgreSQL, vault key file).
    """

    url: str | None = None
    data_dir: Path = Path("~/.local/share/perparb")

    @property
    def pgdata(self) -> Path:
        """The embedded PostgreSQL's data directory."""
        return self.data_dir.expanduser() / "pgdata"


class VaultConfig(_Frozen):
    """Where the vault's master key comes from: `master_key` (base64url, 32 bytes) or `key_file`."""

    master_key: SecretStr | None = None
    key_file: Path


class RankingConfig(_Frozen):
    """Defaults of the opportunity ranking (DESIGN.md "Opportunity maths").

    Attributes:
        horizon_hours: holding horizon for net APR and break-even (> 0).
        slippage_bps: expected slippage per fill (four fills per round trip).
        fee_overrides: {(venue, "taker"|"maker"): fraction of notional}.
        max_data_age_seconds: older market state is stale and never ranked.
    """

    horizon_hours: float = Field(default=168.0, gt=0)
    slippage_bps: float = Field(default=0.0, ge=0)
    fee_overrides: Mapping[tuple[str, FeeSide], Decimal] = Field(default_factory=dict)
    max_data_age_seconds: float = Field(default=900.0, gt=0)


class AlertConfig(_Frozen):
    """Where and how operator alerts are delivered (`database.alerts`).

    Attributes:
        urls: apprise URLs (Telegram `tgram://`, Discord `discord://`, Slack `slack://`, email `mailto://`, webhooks
            `json://` ...; https://github.com/caronc/apprise/wiki). They carry tokens: secret, never logged. Empty:
            alerts are recorded (status `unrouted`) but not sent.
        dedupe_seconds: an alert of the same (event, subject) within this window is recorded `suppressed`.
        timeout_seconds: one delivery attempt's budget (a receiver that hangs costs at most this).
        max_attempts: delivery attempts before an alert is `failed`; retries back off exponentially
            (`retry_base_seconds` x 2^(attempt-1), capped at 15 min).
        liquidation_warning: a leg whose |mark - liquidation| / mark falls below this fraction raises
            `liquidation_warning` (the strategy's own exit rule and the risk guardian act separately).
    """

    urls: tuple[SecretStr, ...] = ()
    dedupe_seconds: float = Field(default=900.0, ge=0)
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    retry_base_seconds: float = Field(default=5.0, gt=0)
    liquidation_warning: Decimal = Field(default=Decimal("0.25"), gt=0, lt=1)


class ServiceConfig(_Frozen):
    """What the funding-rate service's REST API needs (`funding_rate_service.api.app.create_app`).

    Attributes:
        database: where the database is; ranking: the ranking defaults; venues: the collected venues (health);
        allowed_hosts: the `Host` header names the API answers ("*" = any), a DNS-rebinding guard.
        api_token: the bearer token of the control actions (pause, resume, flatten); None = control refused.
        alerts: alert delivery (`perparb serve` runs a dispatcher when URLs are set).
    """

    database: DatabaseConfig
    ranking: RankingConfig = RankingConfig()
    venues: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ("*",)
    api_token: SecretStr | None = None
    alerts: AlertConfig = Field(default_factory=AlertConfig)


class TradingConfig(_Frozen):
    """What a strategy run needs of the process settings (`strategies.runner.run_strategy`).

    Attributes:
        venues: each tradeable venue's config by venue id (URLs: mainnet, testnet or the simulator).
        venue_timeout_seconds: budget of one venue's scan in one cycle (> 0).
        alerts: where the run's alerts go (`database.alerts`).
    """

    venues: Mapping[str, VenueConfig] = Field(default_factory=dict)
    venue_timeout_seconds: float = Field(default=60.0, gt=0)
    alerts: AlertConfig = Field(default_factory=AlertConfig)

    def venue(self, name: str) -> VenueConfig:
        """The config of venue `name`.

        Raises:
            ConfigError: the venue has no config here (not installed, or not configured)."""
        try:
            return self.venues[name]
        except KeyError:
            raise ConfigError(
                f"venue {name!r} cannot be traded here: no config (configured: {sorted(self.venues)})"
            ) from None

    def with_venues(self, venues: Mapping[str, VenueConfig]) -> TradingConfig:
        """A copy whose venue configs are replaced by `venues` (paper mode points them at the simulator)."""
        return self.model_copy(update={"venues": {**self.venues, **venues}})
