"""Process-wide settings, read from the environment and `.env` (pydantic-settings).

Every setting is documented in `.env.example`. Names carry their units (`_seconds`, `_hours`, `_bps`).
Secrets never live here: account credentials come from the vault (see docs/accounts.md).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LIGHTER_MAINNET_URL = "https://mainnet.zklighter.elliot.ai"
PARADEX_PROD_URL = "https://api.prod.paradex.trade/v1"
KNOWN_VENUES = ("lighter", "paradex")


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

    master_key: SecretStr | None = Field(
        default=None, description="vault master key (base64url, 32 bytes); unset = the key file"
    )
    master_key_file: Path | None = Field(
        default=None, description="vault key file; unset = data_dir/master.key"
    )

    lighter_url: str = Field(default=LIGHTER_MAINNET_URL, description="Lighter REST base URL")
    paradex_url: str = Field(default=PARADEX_PROD_URL, description="Paradex REST base URL, ending in /v1")
    lighter_ws_url: str | None = Field(
        default=None,
        description="Lighter WebSocket URL; unset = derived from lighter_url (ws(s)://host/stream)",
    )
    paradex_ws_url: str | None = Field(
        default=None, description="Paradex WebSocket URL; unset = derived from paradex_url (ws(s)://.../v1)"
    )
    venues: str = Field(default="lighter,paradex", description="comma-separated venues to collect")

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
        description="per-venue taker/maker fee overrides: 'lighter:taker=0.0002,lighter:maker=0,...' (fractions)",
    )

    api_host: str = Field(default="127.0.0.1")
    api_port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = Field(default="INFO")

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("master_key_file")
    @classmethod
    def _expand_key_file(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    @property
    def key_file(self) -> Path:
        """The vault key file in use (`master_key_file` or `data_dir/master.key`)."""
        return self.master_key_file or self.data_dir / "master.key"

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError(
                f"DATABASE_URL must start with 'postgresql+asyncpg://' (got scheme "
                f"{value.split('://', 1)[0]!r})"
            )
        return value

    @field_validator("venues")
    @classmethod
    def _check_venues(cls, value: str) -> str:
        names = [v.strip() for v in value.split(",") if v.strip()]
        unknown = [v for v in names if v not in KNOWN_VENUES]
        if unknown:
            raise ValueError(f"unknown venue(s) {unknown} in PERPARB_VENUES; known: {list(KNOWN_VENUES)}")
        return ",".join(names)

    @property
    def venue_list(self) -> list[str]:
        return [v for v in self.venues.split(",") if v]

    def fee_override_map(self) -> dict[tuple[str, str], float]:
        """Parse `fee_overrides` into {(venue, 'taker'|'maker'): fraction}.

        Raises:
            ValueError: naming the malformed entry.
        """
        out: dict[tuple[str, str], float] = {}
        for raw in self.fee_overrides.split(","):
            item = raw.strip()
            if not item:
                continue
            try:
                venue_side, value = item.split("=", 1)
                venue, side = venue_side.split(":", 1)
                fee = float(value)
            except ValueError as exc:
                raise ValueError(
                    f"PERPARB_FEE_OVERRIDES entry {item!r} is not 'venue:taker|maker=fraction'"
                ) from exc
            if side not in ("taker", "maker") or venue not in KNOWN_VENUES:
                raise ValueError(f"PERPARB_FEE_OVERRIDES entry {item!r}: unknown venue or side")
            out[(venue, side)] = fee
        return out


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
