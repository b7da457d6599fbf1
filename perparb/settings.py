"""Process-wide settings, read from the environment and `.env` (pydantic-settings), and the typed configs built
from them for the library packages (`perparb_core.settings`).

Every setting is documented in `.env.example`. Names carry their units (`_seconds`, `_hours`, `_bps`). Secrets never
live here: account credentials come from the vault (see docs/accounts.md).

Per-venue settings are read for every installed venue (`exchange_clients.registry`) under the venue's prefix:
`PERPARB_<VENUE>_URL` (REST base), `PERPARB_<VENUE>_WS_URL`, `PERPARB_<VENUE>_TIER` (the account's rate tier, one
of the venue's `rate_tiers`), `PERPARB_<VENUE>_RATE_PER_SECOND`, `PERPARB_<VENUE>_BURST` and
`PERPARB_<VENUE>_ORDER_RESERVE` (single fields of the tier's budget); unset ones keep the venue's defaults
(mainnet URLs, documented limits). `venue_config` builds the venue's frozen `VenueConfig` from them and the shared
HTTP settings.

Sub-venues (`VenueSpec.sub_venues`, e.g. Hyperliquid's HIP-3 dexes): `PERPARB_<VENUE>_<setting>` lists them
(`PERPARB_HYPERLIQUID_DEXES=xyz,flx`); building `Settings` enables exactly those in the registry, so they are
installed venues from then on ("hyperliquid:xyz", prefix `PERPARB_HYPERLIQUID_XYZ_`). A sub-venue's unset
`PERPARB_<VENUE>_<SUB>_*` variables take its parent's values (same server, same rate budget).
"""

from __future__ import annotations

import difflib
import io
import os
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from dotenv.parser import parse_stream
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from exchange_clients.registry import default_config, enable_sub_venues, get_spec, venue_names, venue_specs
from perparb_core.errors import ConfigError
from perparb_core.files import read_text_file
from perparb_core.settings import (
    AlertConfig,
    DatabaseConfig,
    FeeSide,
    HttpConfig,
    RankingConfig,
    RateLimitConfig,
    ServiceConfig,
    TradingConfig,
    VaultConfig,
    VenueConfig,
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_API_TOKEN_CHARS = 16
"""The shortest API token accepted: the token opens pause, resume and flatten (`openssl rand -hex 32` gives 64)."""


def venue_env_prefix(venue: str) -> str:
    """`PERPARB_<VENUE>_`: "lighter" -> "PERPARB_LIGHTER_", "hyperliquid:xyz" -> "PERPARB_HYPERLIQUID_XYZ_"."""
    return "PERPARB_" + "".join(c if c.isalnum() else "_" for c in venue.upper()) + "_"


def sub_venue_setting(venue: str) -> str | None:
    """The variable that lists `venue`'s sub-venues ("PERPARB_HYPERLIQUID_DEXES"), None when it has none."""
    spec = venue_specs().get(venue)
    if spec is None or spec.sub_venues is None:
        return None
    return venue_env_prefix(venue) + spec.sub_venues.setting.upper()


def enable_configured_sub_venues(env_file: Any = ".env") -> list[str]:
    """Enable, for every installed venue that has sub-venues, exactly those its variable lists (environment
    first, then `env_file`); returns every enabled sub-venue id.

    Raises:
        ConfigError: a listed name the venue refuses (named).
    """
    file_values: dict[str, str | None] = {}
    if env_file is not None:
        for path in env_file if isinstance(env_file, (list, tuple)) else [env_file]:
            if path is not None and Path(path).is_file():
                file_values.update(dotenv_values(path))
    enabled: list[str] = []
    for venue, spec in list(venue_specs().items()):
        if spec.sub_venues is None or spec.parent is not None:
            continue
        var = venue_env_prefix(venue) + spec.sub_venues.setting.upper()
        raw = os.environ.get(var, file_values.get(var)) or ""
        enabled += enable_sub_venues(venue, raw.split(","))
    return enabled


class VenueSettings(BaseSettings):
    """The per-venue variables under `venue_env_prefix(venue)`; None = the venue's default."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    url: str | None = Field(default=None, description="REST base URL")
    ws_url: str | None = Field(default=None, description="WebSocket URL; unset = derived from the REST URL")
    rate_per_second: float | None = Field(default=None, ge=0, description="REST budget of this process")
    burst: int | None = Field(default=None, ge=1, description="requests allowed back to back")
    order_reserve: int | None = Field(
        default=None,
        ge=0,
        description="tokens of the burst kept for placements and cancels (reads never take them)",
    )
    tier: str | None = Field(
        default=None,
        description="the account's rate tier: one of the venue's `rate_tiers` (exchange_clients/<venue>/config.py)",
    )


class Settings(BaseSettings):
    """perparb settings.

    Raises:
        pydantic.ValidationError: naming the variable and the bad value, on invalid input.
    """

    model_config = SettingsConfigDict(
        env_prefix="PERPARB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "PERPARB_DATABASE_URL"),
        description="postgresql+asyncpg://... ; unset = embedded PostgreSQL (pgserver) in data_dir",
    )
    data_dir: Path = Field(default=Path("~/.local/share/perparb"), description="embedded PostgreSQL and keys")
    database_wait_seconds: float = Field(
        default=120.0,
        ge=0,
        description="long-running commands (collect, run, serve) wait this long for an unreachable database",
    )

    master_key: SecretStr | None = Field(
        default=None, description="vault master key (base64url, 32 bytes); unset = the key file"
    )
    master_key_file: Path | None = Field(
        default=None, description="vault key file; unset = data_dir/master.key"
    )

    venues: str | None = Field(
        default=None, description="comma-separated venues to collect; unset = every installed venue"
    )

    http_timeout_seconds: float = Field(default=10.0, gt=0)
    http_retries: int = Field(default=3, ge=0, le=10, description="retries after the first attempt")
    http_backoff_seconds: float = Field(default=0.5, ge=0, description="first retry delay, doubled each time")
    venue_timeout_seconds: float = Field(default=60.0, gt=0, description="budget for one venue in one cycle")
    collect_interval_seconds: float = Field(default=60.0, gt=0)
    max_data_age_seconds: float = Field(default=900.0, gt=0, description="older market state is stale")

    horizon_hours: float = Field(default=168.0, gt=0, description="default holding horizon for net APR")
    slippage_bps: float = Field(default=0.0, ge=0, description="expected slippage per fill, bps")
    fee_overrides: str = Field(
        default="",
        description="per-venue taker/maker fee overrides: 'venue:taker=0.0002,venue:maker=0,...' (fractions)",
    )

    api_host: str = Field(default="127.0.0.1")
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_token: SecretStr | None = Field(
        default=None,
        description="bearer token for the API's control actions; required to bind beyond loopback",
    )
    api_token_file: Path | None = Field(
        default=None,
        description="file holding the API token (a container secret); exclusive with PERPARB_API_TOKEN",
    )
    api_allowed_hosts: str = Field(
        default="127.0.0.1,localhost,[::1]",
        description="comma-separated Host header names the API answers (DNS-rebinding guard); * = any",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: human-readable lines; json: one JSON object per line (time, level, logger, event, "
        "run, account, venue, symbol) for Loki and the like",
    )

    alert_urls: SecretStr | None = Field(
        default=None,
        description="apprise URLs of the alert receivers, separated by spaces (they carry tokens: secret)",
    )
    alert_dedupe_seconds: float = Field(
        default=900.0,
        ge=0,
        description="an alert of the same event and subject within this window is suppressed",
    )
    alert_timeout_seconds: float = Field(default=10.0, gt=0, description="budget of one delivery attempt")
    alert_max_attempts: int = Field(
        default=8, ge=1, description="delivery attempts before an alert is failed"
    )
    alert_liquidation_warning: Decimal = Field(
        default=Decimal("0.25"),
        gt=0,
        lt=1,
        description="alert when a leg's distance to liquidation (fraction of the mark) falls below this",
    )

    _env_file: Any = PrivateAttr(default=".env")
    _venue_urls: dict[str, tuple[str, str | None]] = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        env_file = values.get("_env_file", ".env")
        enable_configured_sub_venues(env_file)  # before validation: PERPARB_VENUES may name a sub-venue
        if env_file is not None:
            check_env_file(Path(env_file))
        super().__init__(**values)
        self._env_file = env_file

    def with_venue_urls(self, urls: Mapping[str, tuple[str, str | None]], **update: Any) -> Settings:
        """A copy whose venues' REST (and WebSocket) URLs are replaced, e.g. by the simulator's
        (`{venue: (rest_url, ws_url)}`; ws None = derived), with `update` applied to the other fields."""
        copy = self.model_copy(update=update)
        copy._env_file = self._env_file
        copy._venue_urls = {**self._venue_urls, **urls}
        return copy

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"PERPARB_LOG_LEVEL {value!r} is not one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("master_key_file", "api_token_file")
    @classmethod
    def _expand_key_file(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    def resolved_api_token(self) -> SecretStr | None:
        """The API token: `PERPARB_API_TOKEN`, or the content of `PERPARB_API_TOKEN_FILE`, stripped; None when
        neither is set (an empty `PERPARB_API_TOKEN=` is no token, never an empty password).

        Raises:
            ConfigError: both are set; the file cannot be read; the token is shorter than `MIN_API_TOKEN_CHARS`
                characters (a guessable token would open the control actions). Messages name the variable or the
                file, never the token.
        """
        token = None if self.api_token is None else self.api_token.get_secret_value().strip()
        source = "PERPARB_API_TOKEN"
        if self.api_token_file is not None:
            if token:
                raise ConfigError("PERPARB_API_TOKEN and PERPARB_API_TOKEN_FILE are both set: keep one")
            token = read_text_file(self.api_token_file, what="token file").strip()
            source = f"PERPARB_API_TOKEN_FILE {self.api_token_file}"
            if not token:
                raise ConfigError(f"{source}: the file is empty")
        if not token:
            return None
        if len(token) < MIN_API_TOKEN_CHARS:
            raise ConfigError(
                f"{source}: the token is shorter than {MIN_API_TOKEN_CHARS} characters; generate one with "
                "`openssl rand -hex 32`"
            )
        return SecretStr(token)

    @property
    def key_file(self) -> Path:
        """The vault key file in use (`master_key_file` or `data_dir/master.key`)."""
        return self.master_key_file or self.data_dir / "master.key"

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError(
                f"DATABASE_URL must start with 'postgresql+asyncpg://' (got scheme "
                f"{value.split('://', 1)[0]!r})"
            )
        return value

    @field_validator("venues")
    @classmethod
    def _check_venues(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = [v.strip() for v in value.split(",") if v.strip()]
        known = venue_names()
        if not names:
            raise ValueError(
                f"PERPARB_VENUES is empty: list venues ({', '.join(known)}) or unset it to collect every one"
            )
        unknown = [v for v in names if v not in known]
        if unknown:
            raise ValueError(f"unknown venue(s) {unknown} in PERPARB_VENUES; known: {known}")
        return ",".join(names)

    @property
    def venue_list(self) -> list[str]:
        """The venues to collect: `PERPARB_VENUES`, or every installed venue when it is unset."""
        if self.venues is None:
            return venue_names()
        return [v for v in self.venues.split(",") if v]

    def fee_override_map(self) -> dict[tuple[str, FeeSide], Decimal]:
        """Parse `fee_overrides` into {(venue, 'taker'|'maker'): fraction}.

        Raises:
            ConfigError: naming the malformed entry.
        """
        out: dict[tuple[str, FeeSide], Decimal] = {}
        known = venue_names()
        for raw in self.fee_overrides.split(","):
            item = raw.strip()
            if not item:
                continue
            try:
                venue_side, value = item.split("=", 1)
                venue, side = venue_side.rsplit(":", 1)  # venue ids may hold ":" (hyperliquid:xyz)
                fee = Decimal(value.strip())
            except (ValueError, ArithmeticError):
                raise ConfigError(
                    f"PERPARB_FEE_OVERRIDES entry {item!r} is not 'venue:taker|maker=fraction'"
                ) from None
            if side in ("taker", "maker") and venue in known and fee.is_finite():
                out[(venue, "taker" if side == "taker" else "maker")] = fee
                continue
            raise ConfigError(f"PERPARB_FEE_OVERRIDES entry {item!r}: unknown venue or side")
        return out

    # ---------------------------------------------------------------------------- typed configs for libraries

    def http_config(self) -> HttpConfig:
        """Timeouts and retries of every venue's REST reads."""
        return HttpConfig(
            timeout_seconds=self.http_timeout_seconds,
            retries=self.http_retries,
            backoff_seconds=self.http_backoff_seconds,
        )

    def venue_settings(self, venue: str) -> VenueSettings:
        """The `PERPARB_<VENUE>_*` variables of `venue` (from the same `.env` as these settings).

        Raises:
            ConfigError: a variable with a bad value (named).
        """
        prefix = venue_env_prefix(venue)
        try:
            own = VenueSettings(_env_prefix=prefix, _env_file=self._env_file)
        except ValidationError as exc:
            problems = "; ".join(
                f"{prefix}{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(problems) from None
        parent = get_spec(venue).parent if venue in venue_specs() else None
        if parent is None:
            return own
        inherited = self.venue_settings(parent)
        return own.model_copy(
            update={k: getattr(inherited, k) for k in VenueSettings.model_fields if getattr(own, k) is None}
        )

    def venue_config(self, venue: str) -> VenueConfig:
        """`venue`'s frozen config: its defaults, changed by `PERPARB_<VENUE>_*` and the HTTP settings.

        Raises:
            UnknownVenueError: not an installed venue. ConfigError: a bad per-venue variable.
        """
        env = self.venue_settings(venue)
        base = default_config(venue)
        overrides: dict[str, Any] = {"http": self.http_config()}
        if env.url:
            overrides["rest_url"] = env.url
        if env.ws_url:
            overrides["ws_url"] = env.ws_url
        if venue in self._venue_urls:
            overrides["rest_url"], overrides["ws_url"] = self._venue_urls[venue]
        limit = base.rate_limit
        if env.tier:
            tiers = base.rate_tiers
            if env.tier not in tiers:
                known = ", ".join(sorted(tiers)) or "none (this venue has a single budget)"
                raise ConfigError(
                    f"{venue_env_prefix(venue)}TIER: unknown tier {env.tier!r} for {venue}; known tiers: {known}"
                )
            limit = tiers[env.tier]
        fields = {
            "rate_per_second": env.rate_per_second,
            "burst": env.burst,
            "order_reserve": env.order_reserve,
        }
        chosen = {k: v for k, v in fields.items() if v is not None}
        if env.burst is not None and env.order_reserve is None:
            # a smaller burst keeps the tier's reserve only where it fits: reads always need one token
            chosen["order_reserve"] = min(limit.order_reserve, env.burst - 1)
        if env.tier or chosen:
            try:
                overrides["rate_limit"] = RateLimitConfig(**(limit.model_dump() | chosen))
            except ValidationError as exc:
                raise ConfigError(
                    f"{venue_env_prefix(venue)}RATE_PER_SECOND / _BURST / _ORDER_RESERVE / _TIER for {venue}: "
                    f"{exc.errors()[0]['msg']}"
                ) from None
        return default_config(venue, **overrides)

    def venue_configs(self, venues: list[str] | None = None) -> dict[str, VenueConfig]:
        """`venue_config` of each of `venues` (default `venue_list`)."""
        return {v: self.venue_config(v) for v in (venues if venues is not None else self.venue_list)}

    def database_config(self) -> DatabaseConfig:
        return DatabaseConfig(url=self.database_url, data_dir=self.data_dir)

    def vault_config(self) -> VaultConfig:
        return VaultConfig(master_key=self.master_key, key_file=self.key_file)

    def trading_config(self, venues: list[str] | None = None) -> TradingConfig:
        """A strategy run's config: the installed venues' configs (or `venues`'), the scan budget.

        Raises:
            UnknownVenueError / ConfigError: an unknown venue or a bad per-venue variable."""
        names = [v for v in (venues or venue_names()) if v in venue_names()]
        return TradingConfig(
            venues=self.venue_configs(names),
            venue_timeout_seconds=self.venue_timeout_seconds,
            alerts=self.alert_config(),
        )

    def alert_config(self) -> AlertConfig:
        """Where alerts go (`database.alerts`): the URLs split on whitespace (a URL may hold commas, e.g. several
        e-mail recipients), each kept secret."""
        raw = self.alert_urls.get_secret_value() if self.alert_urls is not None else ""
        urls = tuple(SecretStr(u) for u in raw.split())
        return AlertConfig(
            urls=urls,
            dedupe_seconds=self.alert_dedupe_seconds,
            timeout_seconds=self.alert_timeout_seconds,
            max_attempts=self.alert_max_attempts,
            liquidation_warning=self.alert_liquidation_warning,
        )

    def service_config(self, host: str | None = None) -> ServiceConfig:
        """The REST API's config: database, ranking defaults, collected venues, the Host names it answers (the
        configured ones plus `host`, the bind address, when it is a name or a specific address)."""
        hosts = [h.strip() for h in self.api_allowed_hosts.split(",") if h.strip()]
        bind = host or self.api_host
        if bind not in ("0.0.0.0", "::", "") and bind not in hosts:
            hosts.append(bind)
        return ServiceConfig(
            database=self.database_config(),
            ranking=self.ranking_config(),
            venues=tuple(self.venue_list),
            allowed_hosts=tuple(hosts),
            api_token=self.resolved_api_token(),
            alerts=self.alert_config(),
        )

    def ranking_config(self) -> RankingConfig:
        """Ranking defaults. Raises ConfigError for malformed fee overrides."""
        return RankingConfig(
            horizon_hours=self.horizon_hours,
            slippage_bps=self.slippage_bps,
            fee_overrides=self.fee_override_map(),
            max_data_age_seconds=self.max_data_age_seconds,
        )


EXTRA_ENV_KEYS = frozenset({"DATABASE_URL", "PERPARB_PROXY_URL"})
"""Variables read outside `Settings`: DATABASE_URL (also a field alias), `add-proxy --from-env`'s URL."""


def known_env_keys() -> set[str]:
    """Every variable perparb reads from the environment or `.env`: the settings, each installed venue's
    `PERPARB_<VENUE>_*` settings and credential variables (`add-account --from-env`), and `EXTRA_ENV_KEYS`."""
    keys = {f"PERPARB_{name.upper()}" for name in Settings.model_fields} | set(EXTRA_ENV_KEYS)
    for venue, spec in venue_specs().items():
        keys |= {venue_env_prefix(venue) + name.upper() for name in VenueSettings.model_fields}
        keys |= set(spec.credentials_type.env_fields.values())
    return keys


def check_env_file(path: Path) -> None:
    """Refuse a `.env` with a key perparb does not read (a typo would silently keep a default) or a key given
    twice (the last one would silently win). A missing file is fine.

    Raises:
        ConfigError: naming the file, the line, the key and, for a typo, the closest known key.
    """
    if not path.is_file():
        return
    text = read_text_file(path, what=".env file")
    known = known_env_keys()
    seen: dict[str, int] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(f"{path}: line {binding.original.line}: not a KEY=value line")
        key = binding.key
        if key is None:
            continue
        line = binding.original.line
        if key in seen:
            raise ConfigError(f"{path}: line {line}: {key} is set twice (first at line {seen[key]})")
        seen[key] = line
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else " (see .env.example)"
            raise ConfigError(f"{path}: line {line}: unknown setting {key}{hint}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
