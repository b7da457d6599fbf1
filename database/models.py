"""SQLAlchemy 2.0 models (typed, declarative). Migrations in `database/migrations` must agree with them;
`tests/integration/test_migrations.py` checks it with Alembic's autogenerate comparison.

Conventions: timestamps are `timestamptz` in UTC; rates, prices, sizes and money are `numeric` read as
`Decimal`. Rates are fractions (per hour for `rate_hourly`); `*_usd` columns are USD.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TS = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Venue(Base):
    """A trading venue whose markets perparb collects ("lighter", "paradex")."""

    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(SmallInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class Market(Base):
    """A perpetual market of one venue with its trading metadata.

    `venue_market_id` is the venue's own identifier (Lighter integer market id, Paradex symbol) as text;
    `symbol` the canonical base asset; fees are fractions of notional; `funding_period_hours` the period the
    venue quotes funding rates for.
    """

    __tablename__ = "markets"
    __table_args__ = (
        UniqueConstraint("venue_id", "venue_symbol", name="uq_markets_venue_symbol"),
        Index("ix_markets_symbol", "symbol"),
        CheckConstraint("funding_period_hours > 0", name="funding_period_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    venue_id: Mapped[int] = mapped_column(SmallInteger, ForeignKey("venues.id"))
    venue_symbol: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    venue_market_id: Mapped[str] = mapped_column(String(64))
    quote: Mapped[str] = mapped_column(String(16))
    tick_size: Mapped[Decimal | None] = mapped_column(Numeric)
    size_step: Mapped[Decimal | None] = mapped_column(Numeric)
    min_size: Mapped[Decimal | None] = mapped_column(Numeric)
    min_notional: Mapped[Decimal | None] = mapped_column(Numeric)
    max_leverage: Mapped[Decimal | None] = mapped_column(Numeric)
    funding_period_hours: Mapped[Decimal] = mapped_column(Numeric)
    maker_fee: Mapped[Decimal | None] = mapped_column(Numeric)
    taker_fee: Mapped[Decimal | None] = mapped_column(Numeric)
    status: Mapped[str] = mapped_column(String(32))
    first_seen_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class FundingRateSample(Base):
    """Funding-rate history: one row per market, kind and time.

    `kind` is 'predicted' (rate of the period in progress) or 'settled' (paid / accrued). `raw_rate` is the venue's
    number in `raw_period_hours` units (for source 'lighter:fundings' the raw unit is percent per hour);
    `rate_hourly` is the canonical signed fraction per hour, positive when longs pay shorts.
    """

    __tablename__ = "funding_rate_samples"
    __table_args__ = (
        UniqueConstraint("market_id", "kind", "ts", name="uq_funding_rate_samples_market_kind_ts"),
        CheckConstraint("kind IN ('predicted', 'settled')", name="kind_valid"),
        CheckConstraint("raw_period_hours > 0", name="raw_period_positive"),
        CheckConstraint("open_interest_usd IS NULL OR open_interest_usd >= 0", name="oi_non_negative"),
        Index("ix_funding_rate_samples_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    market_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("markets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    ts: Mapped[datetime] = mapped_column(TS)
    raw_rate: Mapped[Decimal] = mapped_column(Numeric)
    raw_period_hours: Mapped[Decimal] = mapped_column(Numeric)
    rate_hourly: Mapped[Decimal] = mapped_column(Numeric)
    mark_price: Mapped[Decimal | None] = mapped_column(Numeric)
    index_price: Mapped[Decimal | None] = mapped_column(Numeric)
    open_interest_usd: Mapped[Decimal | None] = mapped_column(Numeric)
    volume_24h_usd: Mapped[Decimal | None] = mapped_column(Numeric)
    source: Mapped[str] = mapped_column(String(64))
    collected_at: Mapped[datetime] = mapped_column(TS)


class MarketState(Base):
    """The latest state of each market: its newest predicted funding rate and statistics."""

    __tablename__ = "market_states"

    market_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("markets.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[datetime] = mapped_column(TS)
    raw_rate: Mapped[Decimal] = mapped_column(Numeric)
    raw_period_hours: Mapped[Decimal] = mapped_column(Numeric)
    rate_hourly: Mapped[Decimal] = mapped_column(Numeric)
    mark_price: Mapped[Decimal | None] = mapped_column(Numeric)
    index_price: Mapped[Decimal | None] = mapped_column(Numeric)
    open_interest_usd: Mapped[Decimal | None] = mapped_column(Numeric)
    volume_24h_usd: Mapped[Decimal | None] = mapped_column(Numeric)
    source: Mapped[str] = mapped_column(String(64))
    collected_at: Mapped[datetime] = mapped_column(TS)


class ReferenceFundingRate(Base):
    """Other venues' funding rates as republished by a venue (Lighter `funding-rates` rows for binance, bybit,
    hyperliquid). Reference only: never tradeable, never joined into the opportunity ranking."""

    __tablename__ = "reference_funding_rates"
    __table_args__ = (
        UniqueConstraint("source_venue", "venue", "symbol", "ts", name="uq_reference_funding_rates_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_venue: Mapped[str] = mapped_column(String(32))
    venue: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    ts: Mapped[datetime] = mapped_column(TS)
    raw_rate: Mapped[Decimal] = mapped_column(Numeric)
    raw_period_hours: Mapped[Decimal] = mapped_column(Numeric)
    rate_hourly: Mapped[Decimal] = mapped_column(Numeric)
    collected_at: Mapped[datetime] = mapped_column(TS)


class CollectionRun(Base):
    """One venue's part of one collection cycle (or backfill): outcome, counts and the error if it failed."""

    __tablename__ = "collection_runs"
    __table_args__ = (
        CheckConstraint("status IN ('ok', 'failed')", name="status_valid"),
        Index("ix_collection_runs_venue_finished", "venue", "finished_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    venue: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(TS)
    finished_at: Mapped[datetime] = mapped_column(TS)
    status: Mapped[str] = mapped_column(String(16))
    markets: Mapped[int] = mapped_column(Integer)
    stored: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class Account(Base):
    """A trading account, referred to by name in strategy configs. Names are unique and never renamed
    (ciphertexts are bound to them)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(TS)


class AccountCredential(Base):
    """One venue's credentials of an account: public identifiers in clear (`public_data`), secrets encrypted
    (`secret_ciphertext`, AES-256-GCM, see `database.vault`) under the key `key_id`."""

    __tablename__ = "account_credentials"
    __table_args__ = (UniqueConstraint("account_id", "venue", name="uq_account_credentials_account_venue"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    venue: Mapped[str] = mapped_column(String(32))
    public_data: Mapped[dict] = mapped_column(JSONB)
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    rotated_at: Mapped[datetime | None] = mapped_column(TS)
    last_used_at: Mapped[datetime | None] = mapped_column(TS)


class AccountProxy(Base):
    """An optional HTTP or SOCKS proxy of an account (the URL may hold a password: encrypted)."""

    __tablename__ = "account_proxies"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'disabled')", name="status_valid"),
        CheckConstraint("scheme IN ('http', 'https', 'socks5', 'socks5h')", name="scheme_valid"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"))
    scheme: Mapped[str] = mapped_column(String(16))
    url_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, server_default="0")
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class AuditLog(Base):
    """Who did what to which account, when. Never holds a secret (details are public identifiers only)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    account_name: Mapped[str | None] = mapped_column(String(64))
    venue: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict | None] = mapped_column(JSONB)
