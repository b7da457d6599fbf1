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
    Table,
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


def table_of(model: type[Base]) -> Table:
    """The `Table` of a mapped class, typed as a Table (SQLAlchemy types `__table__` as a FromClause)."""
    return Base.metadata.tables[model.__tablename__]


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


# ------------------------------------------------------------------------------------------------ strategies (#6)

RUN_STATUSES = ("running", "stopped", "crashed", "failed")
POSITION_STATUSES = ("opening", "open", "closing", "closed", "failed")
ORDER_STATUSES = (
    "pending",
    "open",
    "partially_filled",
    "filled",
    "canceled",
    "rejected",
    "unknown",
)


class StrategyRun(Base):
    """One launch of a strategy config on an account (`perparb run`). `mode` live or paper; `heartbeat_at` is
    refreshed every cycle; a run whose process died keeps status `running` until the next run of the account
    takes the lease and marks it `crashed`. Client order ids of the run are numeric and carry the run id
    (`strategies.state.client_order_id`)."""

    __tablename__ = "strategy_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'stopped', 'crashed', 'failed')", name="status_valid"),
        CheckConstraint("mode IN ('live', 'paper')", name="mode_valid"),
        Index("ix_strategy_runs_account_status", "account_name", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    account_name: Mapped[str] = mapped_column(String(64))
    strategy: Mapped[str] = mapped_column(String(32))
    config_name: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict] = mapped_column(JSONB)
    mode: Mapped[str] = mapped_column(String(8))
    venues: Mapped[list] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default="running")
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    heartbeat_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    stopped_at: Mapped[datetime | None] = mapped_column(TS)
    stop_reason: Mapped[str | None] = mapped_column(Text)


class Position(Base):
    """A delta-neutral two-leg position (funding arbitrage) or a grid's inventory: its lifecycle and results.

    `quantity` is the base quantity of EACH leg once open (equal on both legs). Results in USD(C):
    `funding_long` / `funding_short` (+ received, - paid), `fees` (paid, + = cost), `basis_pnl` (price PnL of
    both legs from fills), `realized_pnl` = funding_long + funding_short + basis_pnl - fees, set when closed.
    At most one live (opening/open/closing) position per account, mode and base asset.
    """

    __tablename__ = "positions"
    __table_args__ = (
        CheckConstraint("status IN ('opening', 'open', 'closing', 'closed', 'failed')", name="status_valid"),
        Index(
            "uq_positions_live_symbol",
            "account_name",
            "mode",
            "symbol",
            unique=True,
            postgresql_where="status IN ('opening', 'open', 'closing')",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("strategy_runs.id"))
    account_name: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(8))
    config_name: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    long_venue: Mapped[str] = mapped_column(String(32))
    short_venue: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    target_quantity: Mapped[Decimal] = mapped_column(Numeric)
    quantity: Mapped[Decimal] = mapped_column(Numeric, server_default="0")
    notional_usd: Mapped[Decimal] = mapped_column(Numeric)
    entry_spread_hourly: Mapped[Decimal] = mapped_column(Numeric)
    round_trip_cost: Mapped[Decimal] = mapped_column(Numeric)
    entry_long_price: Mapped[Decimal | None] = mapped_column(Numeric)
    entry_short_price: Mapped[Decimal | None] = mapped_column(Numeric)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    opened_at: Mapped[datetime | None] = mapped_column(TS)
    closed_at: Mapped[datetime | None] = mapped_column(TS)
    exit_reason: Mapped[str | None] = mapped_column(String(32))
    exit_detail: Mapped[str | None] = mapped_column(Text)
    funding_long: Mapped[Decimal] = mapped_column(Numeric, server_default="0")
    funding_short: Mapped[Decimal] = mapped_column(Numeric, server_default="0")
    fees: Mapped[Decimal] = mapped_column(Numeric, server_default="0")
    basis_pnl: Mapped[Decimal] = mapped_column(Numeric, server_default="0")
    realized_pnl: Mapped[Decimal | None] = mapped_column(Numeric)
    monitor: Mapped[dict | None] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class StrategyOrder(Base):
    """Every order a run sends, written BEFORE the venue call (status `pending`) and updated after it, so a
    crash at any point leaves a row to reconcile by `client_order_id` (unique per venue).

    `purpose`: entry / hedge / unwind / exit / rehedge / grid / close. Sizes in base units, prices in quote;
    `fee` in quote (+ = paid)."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("venue", "client_order_id", name="uq_orders_venue_client_order_id"),
        CheckConstraint(
            "status IN ('pending', 'open', 'partially_filled', 'filled', 'canceled', 'rejected', 'unknown')",
            name="status_valid",
        ),
        CheckConstraint("side IN ('buy', 'sell')", name="side_valid"),
        Index("ix_orders_run", "run_id"),
        Index("ix_orders_position", "position_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("strategy_runs.id"))
    position_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("positions.id"))
    account_name: Mapped[str] = mapped_column(String(64))
    venue: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    client_order_id: Mapped[str] = mapped_column(String(64))
    venue_order_id: Mapped[str | None] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(16))
    time_in_force: Mapped[str] = mapped_column(String(16))
    price: Mapped[Decimal | None] = mapped_column(Numeric)
    quantity: Mapped[Decimal] = mapped_column(Numeric)
    reduce_only: Mapped[bool] = mapped_column(Boolean, server_default="false")
    status: Mapped[str] = mapped_column(String(20))
    filled_quantity: Mapped[Decimal] = mapped_column(Numeric, server_default="0")
    avg_fill_price: Mapped[Decimal | None] = mapped_column(Numeric)
    fee: Mapped[Decimal] = mapped_column(Numeric, server_default="0")
    grid_level: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class StrategyFill(Base):
    """One execution of a strategy order, as the venue reported it (unique per order and venue fill id: a
    venue's trade id is shared by its maker and taker, which may both be accounts of this database)."""

    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("order_id", "fill_id", name="uq_fills_order_fill_id"),
        Index("ix_fills_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id"))
    venue: Mapped[str] = mapped_column(String(32))
    fill_id: Mapped[str] = mapped_column(String(128))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[Decimal] = mapped_column(Numeric)
    quantity: Mapped[Decimal] = mapped_column(Numeric)
    fee: Mapped[Decimal] = mapped_column(Numeric)
    liquidity: Mapped[str] = mapped_column(String(8))
    ts: Mapped[datetime] = mapped_column(TS)


class FundingPayment(Base):
    """A realised funding payment on a position's leg: `amount` in USD(C), + received, - paid."""

    __tablename__ = "funding_payments"
    __table_args__ = (
        UniqueConstraint(
            "account_name", "mode", "venue", "symbol", "ts", name="uq_funding_payments_account_venue_ts"
        ),
        Index("ix_funding_payments_position", "position_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    position_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("positions.id"))
    account_name: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(8))
    venue: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Numeric)
    rate: Mapped[Decimal | None] = mapped_column(Numeric)
    ts: Mapped[datetime] = mapped_column(TS)


class StrategyEvent(Base):
    """What a run did and saw, newest last: entries, hedges, exits, reconciliation findings, errors."""

    __tablename__ = "strategy_events"
    __table_args__ = (Index("ix_strategy_events_run_at", "run_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("strategy_runs.id"))
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    level: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSONB)


class StrategyState(Base):
    """Small persistent state of a strategy instance (account, mode, config name): e.g. a grid's anchor and
    pause flag. JSON; one row per instance, replaced in the same transaction as the orders it describes."""

    __tablename__ = "strategy_state"

    account_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(8), primary_key=True)
    config_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class Alert(Base):
    """One operator alert (`database.alerts`): raised in the same process as the event it reports, delivered by
    a background dispatcher through apprise, never on the trading path.

    `event`: one of `database.alerts.ALERT_EVENTS`; `subject`: what it is about (`account/venue/symbol`, a run
    id, a venue), the key of duplicate suppression together with `event`. `status`: `pending` (to deliver,
    at `next_attempt_at`), `sent`, `failed` (gave up after `attempts`), `suppressed` (a duplicate of an alert of
    the same event and subject within the suppression window), `unrouted` (no `PERPARB_ALERT_URLS` set).
    `message` and `detail` never hold a secret."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'suppressed', 'unrouted')", name="status_valid"
        ),
        CheckConstraint("level IN ('info', 'warn', 'error')", name="level_valid"),
        Index("ix_alerts_status_next", "status", "next_attempt_at"),
        Index("ix_alerts_event_subject_at", "event", "subject", "created_at"),
        Index("ix_alerts_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    event: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(160))
    level: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    account_name: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("strategy_runs.id"))
    detail: Mapped[dict | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(TS)
    last_error: Mapped[str | None] = mapped_column(Text)


class RunCommand(Base):
    """An operator or risk-guardian command to the run trading an account (`perparb pause|resume|flatten`, the
    dashboard, `strategies.risk`): written here, polled by the runner, so it works across processes and machines.

    `command`: `pause` (no new entries), `resume`, `flatten` (close every position, stop the run), `reduce` (close
    the riskiest position). `mode`: `live` or `paper`, or NULL for the account's run in either mode. `status`:
    `pending` -> `done` (the runner acted: `run_id`, `handled_at`, `result`) or
    `expired` (no run picked it up before `expires_at`). The latest `done` pause/resume of an account also
    decides whether its next run starts paused."""

    __tablename__ = "run_commands"
    __table_args__ = (
        CheckConstraint("command IN ('pause', 'resume', 'flatten', 'reduce')", name="command_valid"),
        CheckConstraint("status IN ('pending', 'done', 'expired')", name="status_valid"),
        Index("ix_run_commands_account_status", "account_name", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    account_name: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str | None] = mapped_column(String(8))
    command: Mapped[str] = mapped_column(String(16))
    issued_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(TS)
    run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("strategy_runs.id"))
    handled_at: Mapped[datetime | None] = mapped_column(TS)
    result: Mapped[str | None] = mapped_column(Text)


class RunEquity(Base):
    """A run's equity curve, one row per recorded cycle (at most one a minute): USD(C) figures of the run's
    positions. `funding_usd` (+ received), `realised_usd` (closed positions' realised PnL plus the basis PnL and
    fees already realised on open ones), `unrealised_usd` (open legs marked at the venues' mark price),
    `equity_usd` = funding + realised + unrealised: the run's PnL since it started, the risk guardian's drawdown
    basis. `net_delta_usd`: signed sum of leg notionals (long +, short -)."""

    __tablename__ = "run_equity"

    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("strategy_runs.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(TS, primary_key=True)
    funding_usd: Mapped[Decimal] = mapped_column(Numeric)
    realised_usd: Mapped[Decimal] = mapped_column(Numeric)
    unrealised_usd: Mapped[Decimal] = mapped_column(Numeric)
    equity_usd: Mapped[Decimal] = mapped_column(Numeric)
    open_positions: Mapped[int] = mapped_column(Integer)
    notional_usd: Mapped[Decimal] = mapped_column(Numeric)
    net_delta_usd: Mapped[Decimal] = mapped_column(Numeric)


class BacktestReport(Base):
    """A backtest saved with `perparb backtest --save`: the config, the window, the headline figures (`summary`,
    the report's JSON), the human report and, when plotted, the equity chart (PNG bytes)."""

    __tablename__ = "backtest_reports"
    __table_args__ = (Index("ix_backtest_reports_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    name: Mapped[str] = mapped_column(String(128))
    config_name: Mapped[str] = mapped_column(String(64))
    strategy: Mapped[str] = mapped_column(String(32))
    window_start: Mapped[datetime] = mapped_column(TS)
    window_end: Mapped[datetime] = mapped_column(TS)
    config: Mapped[dict] = mapped_column(JSONB)
    summary: Mapped[dict] = mapped_column(JSONB)
    report_text: Mapped[str] = mapped_column(Text)
    plot_png: Mapped[bytes | None] = mapped_column(LargeBinary)
