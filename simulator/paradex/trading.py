"""Paradex trading protocol of the simulator (issue #4 item 4), on top of the venue-neutral engine.

`ParadexTrading` owns one `simulator.engine.Engine` (`PARADEX_RULES`, continuous funding index) built from the
scenario's Paradex files, maps Paradex account addresses onto engine accounts, turns the venue's REST bodies into
engine calls and engine state back into the venue's bodies (shapes: `reference/specs/paradex_openapi_prod.json`,
`paradex-py 0.8.2` `api/generated/responses.py`, recorded `venue-data/paradex/rest_*.json` / `ws_*.json`), and feeds
the private WebSocket channels and the order-book channel from engine events. `build_paradex_app`
(`simulator.paradex.api`) mounts it; the admin API is here too.

Engine set-up (`ParadexTrading.__init__`): every `asset_kind == "PERP"` row of `paradex/markets.json` becomes a
market (`paradex_market_spec`: tick, step, min notional, IMF `imf_base`, MMF `imf_base x mmf_factor`, API fees,
`liquidation_fee` from `system_config.json` as a fraction of the MMR). The initial mark is the
`markets_summary.json` `mark_price`; the funding rate is the summary's `funding_rate` (fraction per the market's
`funding_period_hours`) / period, held constant (`ConstantRate`, fraction per hour). A market maker quotes
`ParadexTradingConfig` depth around a seeded random walk starting at the mark. A market whose row or summary is
unusable is skipped with a logged reason (`exchange_clients.base.models.reject`), never given zeros.

REST (JWT from `POST /v1/auth` in `Authorization: Bearer`, checked with `ParadexAuth.account_for_token`; missing,
forged or expired -> 401 `UNAUTHORIZED_ERROR`, code from the OpenAPI `ErrorCode` enum, the venue's exact answer is
not recorded). An account is created with 0 USDC the first time it is seen; `POST /_sim/accounts` funds it.

| path | answer |
|---|---|
| `POST /v1/orders` | 201 `OrderResp` with `status: "NEW"` (the spec: the REST API validates and queues; risk checks and matching follow). The engine's outcome is then visible through `GET /v1/orders/{id}` and the `orders.*` channel: `OPEN` when resting, `CLOSED` with a `cancel_reason` otherwise |
| `DELETE /v1/orders/{id}`, `/v1/orders/by_client_id/{cid}[?market]` | 204, no body |
| `DELETE /v1/orders[?market]` | 200, empty body (the spec declares no schema) |
| `GET /v1/orders[?market]` | `{results: [OrderResp]}` resting orders, oldest first |
| `GET /v1/orders/{id}`, `/v1/orders/by_client_id/{cid}` | `OrderResp` in any state (the recorded `rest_order_closed_user_canceled.json` is a CLOSED order) |
| `GET /v1/orders-history` | paged `OrderResp`, newest first; filters `market`, `client_id`, `side`, `status`, `type`, `start_at`, `end_at` (ms, on `created_at`) |
| `GET /v1/positions` | `{results: [PositionResp]}` every market the account traded (`CLOSED` when flat) |
| `GET /v1/account` | `AccountSummary` (every field paradex-py's marshmallow schema requires) |
| `GET /v1/balance` | `{results: [{token: "USDC", size: collateral, last_updated_at}]}` |
| `GET /v1/fills` | paged `FillResult`, newest first; `market`, `start_at`, `end_at` |
| `GET /v1/funding/payments` | `market` REQUIRED; paged `FundingPayment` rows (realised funding, `fill_id` = the fill that realised it) |
| `GET /v1/account/margin?market=M` | `GetAccountMarginConfigsResp` `{account, configs: [{market, leverage, margin_type: "CROSS"}], margin_methodology: "cross_margin"}` |
| `POST /v1/account/margin/{M}` | body `AccountMarginRequest` `{leverage: int 1..1/imf_base, margin_type: "CROSS"}` -> `UpdateAccountMarginConfigResp` `{account, market, leverage, margin_type}`; the account's IMF in M becomes 1 / leverage (`Engine.set_leverage`) for its margin checks and `PositionResp.leverage`. `ISOLATED`, a non-integer or out-of-range leverage -> 400 `VALIDATION_ERROR` (code a guess: not recorded); unknown market -> 400 `MARKET_NOT_FOUND` |

Order body (`paradex_py.common.order.Order.dump_to_dict()`): `market`, `side` BUY/SELL, `size`, `type`
LIMIT/MARKET, `instruction` GTC/POST_ONLY/IOC, `price` (LIMIT; ignored for MARKET: no price band is modelled),
`client_id` ("" = none), `flags` (`REDUCE_ONLY` only), `signature` + `signature_timestamp` (required, **never
verified**: the simulator does not re-implement Paradex's Stark typed-data hashing), `recv_window` (not checked),
`stp` (accepted; the engine always cancels the resting order of a self-trade, so responses say `EXPIRE_MAKER`).

Rejections: malformed body or unsupported feature (other order types, RPI, trigger prices, other flags,
MARKET + POST_ONLY) -> 400 `VALIDATION_ERROR`; unknown market -> 400 `MARKET_NOT_FOUND`; price off the tick or
size off the step -> 400 `INVALID_REQUEST_PARAMETER` (a guess: not recorded); a client id already used by the
account -> 400 `DUPLICATED_CLIENT_ID`. Everything the venue decides after accepting the order is an order that is
created and then `CLOSED` with `wire.paradex_cancel_reason`: `NOT_ENOUGH_MARGIN` and `ORDER_SIZE_BELOW_MIN`
(recorded), `POST_ONLY_WOULD_CROSS`, `REDUCE_ONLY_WOULD_INCREASE`, `IOC_REMAINDER`, `FAULT_INJECTED`, ... (the
engine's reason names, not recorded). A fully filled order is `CLOSED` with `cancel_reason: ""`.
Unknown / foreign order id -> 400 `ORDER_ID_NOT_FOUND`, unknown client id -> 400 `CLIENT_ORDER_ID_NOT_FOUND`,
cancelling a closed order -> 400 `ORDER_IS_CLOSED` (the spec declares 400 for every error of these paths).

Ids are decimal strings of the engine's sequences (orders, fills, funding payments); a position's id is
`<account>-<market>` as recorded. Money, prices and sizes are plain decimal strings of the engine's exact
`Decimal`s (trailing zeros removed). `seq_no` is a process-wide increasing number (epoch ns or later).

WebSocket (`simulator.paradex.api._ParadexSession` calls in here): private channels `orders.{M|ALL}`,
`fills.{M|ALL}`, `funding_payments.{M|ALL}`, `positions`, `account` need a session authenticated with a JWT issued
here; they are pushed when the account's orders, fills or funding change (coalesced per event-loop turn: a new
order pushes `NEW` then its state; not on every mark tick, and nothing is pushed at subscription). The public
`order_book.{M}.snapshot@15@{50ms|100ms}` channel pushes the top 15 levels a side (`update_type: "s"`, every level
in `inserts`, plus `best_{bid,ask}_{api,interactive}`) at subscription and then whenever they changed, at most once
per refresh period; `seq_no` starts at the engine book's change counter and grows by exactly 1 per push of a
channel (the `skip_order_book_seq_no` fault adds 1 more once). Deltas / interactive feeds and price-tick grouping are
not served (invalid channel).

Admin (loopback only, like `/_sim/faults`): `POST /_sim/accounts`, `GET /_sim/accounts[/{address}]`,
`GET /_sim/markets`, `GET /_sim/markets/{m}` (mark, BBO, funding rate and its source label, funding index),
`POST /_sim/markets/{m}/mark`, `POST /_sim/markets/{m}/funding`, `GET|POST /_sim/engine/faults`,
`POST /_sim/ws/faults`, `POST /_sim/venue/down|up` (bodies in `simulator/README.md`, "Trading: Paradex").

Scenario settings (`scenario.json`, `simulator.scenario.ScenarioSettings`): without an explicit `config`,
`trading.paradex` overrides `ParadexTradingConfig` fields (`paradex_config_from_settings`); `funding.paradex`
replaces a market's rate provider (then the summary's `funding_rate` is the engine's rate x the market's period,
as after the admin `funding` call); `faults.paradex` sets engine faults at construction and HTTP faults when the
routes are added (`add_paradex_trading_routes`).

JWT lifetimes: paradex-py decides when to refresh its JWT with `time.time()`, so when the simulation clock runs
faster than real time the JWTs are issued and checked on a wall clock (see `auth_clock_for`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, ClassVar, Protocol

from aiohttp import web
from pydantic import field_validator

from exchange_clients.base import units
from exchange_clients.base.models import reject, reject_unit_error
from simulator.admin import (
    ADMIN_PREFIX,
    DepositSpec,
    FundingSpec,
    MarkSpec,
    RandomWalkSpec,
    WsFaultSpec,
    add_engine_fault_routes,
    admin_spec,
    local_only,
)
from simulator.engine import (
    Account,
    CallableRate,
    ConstantRate,
    Engine,
    EngineError,
    EngineEvent,
    Fill,
    FundingEvent,
    FundingPayment,
    LeverageError,
    LiquidityConfig,
    Order,
    OrderEvent,
    OrderNotFoundError,
    OrderNotOpenError,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    RandomWalkMid,
    RateProvider,
    ScaledClock,
    Side,
    TimeInForce,
    TradeEvent,
    TradeKind,
)
from simulator.faults import FaultInjector, FaultSpec
from simulator.formats import dumps, json_response
from simulator.paradex.auth import ParadexAuth, parse_felt
from simulator.paradex.markets import DEFAULT_PARADEX_LIQUIDATION_FEE, PARADEX_RULES, paradex_market_spec
from simulator.paradex.scenario import ParadexTradingSettings, paradex_data
from simulator.paradex.wire import paradex_cancel_reason
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")

VENUE = "paradex"
PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 5000
BOOK_DEPTH = 15
SETTLEMENT_ASSET = "USDC"
# The engine's self-trade prevention cancels the resting order (simulator.engine.engine docstring).
ENGINE_STP = "EXPIRE_MAKER"
PRIVATE_PREFIXES = ("orders.", "fills.", "funding_payments.")
PRIVATE_EXACT = ("positions", "account")
_BOOK_CHANNEL = re.compile(r"^order_book\.(?P<market>[^.]+)\.snapshot@15@(?P<rate>50ms|100ms)$")
_INSTRUCTIONS = {"GTC": TimeInForce.GTC, "POST_ONLY": TimeInForce.POST_ONLY, "IOC": TimeInForce.IOC}
_TYPES = {"LIMIT": OrderType.LIMIT, "MARKET": OrderType.MARKET}
_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
_STP_MODES = ("EXPIRE_MAKER", "EXPIRE_TAKER", "EXPIRE_BOTH")


class ParadexApiError(Exception):
    """A request Paradex answers with an `ApiError` body. Carries the HTTP status and the body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.body: dict[str, Any] = {"error": code, "message": message, "data": None}
        super().__init__(f"{status} {code}: {message}")


def dec_text(value: Decimal) -> str:
    """Plain decimal text of `value` without exponent or trailing zeros ("0.5", "3600", "-0.00012"; 0 -> "0")."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def auth_clock_for(clock: SimClock) -> SimClock:
    """The clock JWTs are issued and checked with: `clock` itself, unless it is a running `ScaledClock` faster
    than real time, then a real-time `SimClock`.

    paradex-py refreshes its JWT 30 s before `exp` measured with `time.time()`; a JWT stamped on a 3600x clock
    would expire (on that clock) 83 ms after issue while the SDK keeps sending it, so every private call would
    fail with 401.
    """
    if isinstance(clock, ScaledClock) and clock.speed > 1:
        return SimClock()
    return clock


@dataclass(frozen=True)
class ParadexTradingConfig:
    """Engine set-up for the Paradex venue (`scenario.json` `trading.paradex` overrides any field, see
    `paradex_config_from_settings`).

    Attributes:
        levels, spread_bps, level_step_bps, replenish_ms: the market maker's depth (`LiquidityConfig`).
        notional_per_level: USD per level; the level size is `notional / initial mark` rounded down to the step
            (at least the market's minimum size).
        vol_bps, walk_step_ms, seed: the random walk of each mid (market i uses `seed + i`): one step of
            N(0, vol_bps) every `walk_step_ms` simulated ms (default 2.5 bps / 10 s, ~0.5 % an hour; a coarse
            step keeps two REST reads a few ms apart on the same book almost always).
        sync_interval_seconds: real seconds between background engine syncs (`Engine.run_forever`).
    """

    levels: int = 10
    spread_bps: Decimal = Decimal(4)
    level_step_bps: Decimal = Decimal(2)
    replenish_ms: int = 1000
    notional_per_level: Decimal = Decimal(100_000)
    vol_bps: Decimal = Decimal("2.5")
    walk_step_ms: int = 10_000
    seed: int = 7
    sync_interval_seconds: float = 0.05


def paradex_config_from_settings(settings: ParadexTradingSettings) -> ParadexTradingConfig:
    """`ParadexTradingConfig` defaults overridden by the fields `scenario.json` `trading.paradex` gives."""
    return replace(ParadexTradingConfig(), **settings.config_overrides())


class FrameSink(Protocol):
    """Something that takes WebSocket frames to send (a `/v1` session)."""

    def push_nowait(self, frame: dict[str, Any]) -> None: ...


@dataclass
class _OrderMeta:
    """What the venue echoes but the engine does not keep."""

    address: int
    instruction: str
    signature_timestamp: int
    announced: bool = False


@dataclass
class _PositionMeta:
    """Per (account, market): open time, last fill, realised amounts of the current position."""

    side: str = "LONG"
    created_at: int = 0
    closed_at: int | None = None
    last_fill_id: int = 0
    last_updated_at: int = 0
    pnl: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)


@dataclass
class _Pending:
    """Engine changes not pushed yet (coalesced until the next event-loop turn)."""

    orders: dict[int, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    payments: list[FundingPayment] = field(default_factory=list)
    positions: dict[tuple[int, str], None] = field(default_factory=dict)
    accounts: dict[int, None] = field(default_factory=dict)


def subscription_frame(channel: str, data: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC `subscription` push on `channel` (the exact subscribed name)."""
    return {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}


def _choice(table: dict[str, Any], value: Any) -> Any:
    """`table[value]` for a string key, else None (unhashable JSON values included)."""
    return table.get(value) if isinstance(value, str) else None


def _decimal(value: Any, name: str, *, positive: bool = False) -> Decimal:
    """A decimal string (or number) from an order body. Raises 400 VALIDATION_ERROR."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ParadexApiError(400, "VALIDATION_ERROR", f"{name} must be a decimal string, got {value!r}")
    try:
        dec = Decimal(str(value).strip())
    except InvalidOperation:
        raise ParadexApiError(400, "VALIDATION_ERROR", f"{name} is not a number: {value!r}") from None
    if not dec.is_finite() or (positive and dec <= 0):
        raise ParadexApiError(400, "VALIDATION_ERROR", f"{name} must be a positive number, got {value!r}")
    return dec


def _query_int(query: Any, name: str, *, low: int | None = None, high: int | None = None) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ParadexApiError(
            400, "INVALID_REQUEST_PARAMETER", f"{name} must be an integer, got {raw!r}"
        ) from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", f"{name} must be {low}..{high}, got {value}")
    return value


def _paged(rows: list[dict[str, Any]], key: str, query: Any) -> dict[str, Any]:
    """`PaginatedAPIResults` of `rows` (newest first, each with `created_at` ms): `start_at`/`end_at` window,
    `page_size` (1..5000, default 100), opaque `cursor` (base64url JSON `{k, o, s, e}`: endpoint key, offset,
    window; a cursor carries its window)."""
    size = _query_int(query, "page_size", low=1, high=PAGE_SIZE_MAX) or PAGE_SIZE_DEFAULT
    start_at, end_at = _query_int(query, "start_at"), _query_int(query, "end_at")
    offset = 0
    cursor = query.get("cursor")
    if cursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
            cur_key, offset, start_at, end_at = data["k"], data["o"], data["s"], data["e"]
        except (binascii.Error, ValueError, UnicodeDecodeError, KeyError, TypeError):
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "invalid cursor") from None
        if cur_key != key or not isinstance(offset, int) or offset < 0:
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "invalid cursor")
    if start_at is not None and end_at is not None and start_at > end_at:
        raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "start_at is after end_at")
    selected = [
        r
        for r in rows
        if (start_at is None or r["created_at"] >= start_at) and (end_at is None or r["created_at"] <= end_at)
    ]

    def encode(at: int) -> str:
        raw = dumps({"k": key, "o": at, "s": start_at, "e": end_at})
        return base64.urlsafe_b64encode(raw.encode()).decode()

    return {
        "next": encode(offset + size) if offset + size < len(selected) else None,
        "prev": encode(max(0, offset - size)) if offset > 0 else None,
        "results": selected[offset : offset + size],
    }


class ParadexTrading:
    """The Paradex venue's trading state: engine, accounts by address, venue bodies, WebSocket fan-out.

    Args:
        scenario: the loaded scenario (its `paradex/` files build the markets).
        clock: the simulator clock (shared with the engine and the market-data server).
        auth: the venue's `ParadexAuth` (JWT checks).
        config: liquidity and background-sync settings.

    Used from the server's event loop only.
    """

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        auth: ParadexAuth,
        config: ParadexTradingConfig | None = None,
    ) -> None:
        self.scenario = scenario
        self.config = config or paradex_config_from_settings(
            scenario.settings.venue_trading(VENUE) or ParadexTradingSettings()
        )
        self.clock = clock
        self.auth = auth
        self.engine = Engine(PARADEX_RULES, clock=clock)
        self.accounts: dict[int, int] = {}  # address -> engine account id
        self.addresses: dict[int, int] = {}  # engine account id -> address
        self.books = BookFeeds(self)
        self._orders: dict[int, _OrderMeta] = {}
        self._client_orders: dict[tuple[int, str], int] = {}
        self._fill_remaining: dict[int, Decimal] = {}
        self._positions: dict[tuple[int, str], _PositionMeta] = {}
        self._funding_overrides: dict[str, Decimal] = {}
        self._funding_from_settings: set[str] = set()  # markets whose rate provider comes from scenario.json
        self._subscribers: dict[int, dict[FrameSink, set[str]]] = {}
        self._pending = _Pending()
        self._flush_scheduled = False
        self._seq = 0
        self._task: asyncio.Task[None] | None = None
        self._build_markets(scenario)
        self._apply_engine_faults()
        self.engine.listeners.append(self._on_event)

    # ------------------------------------------------------------------------------------------ set-up

    def _build_markets(self, scenario: Scenario) -> None:
        data = paradex_data(scenario)
        config = data.system_config or {}
        liquidation_fee = DEFAULT_PARADEX_LIQUIDATION_FEE
        try:
            fee = units.optional_decimal(
                config.get("liquidation_fee"), "liquidation_fee", allow_negative=False
            )
            if fee is not None:
                liquidation_fee = fee
        except units.UnitError as exc:
            reject_unit_error(VENUE, "simulator system_config", None, exc)
        summaries = {row.get("symbol"): row for row in (data.markets_summary or {}).get("results", []) or []}
        rows = (data.markets or {}).get("results", []) or []
        cfg = self.config
        for index, row in enumerate(rows):
            symbol = row.get("symbol")
            if row.get("asset_kind", "PERP") != "PERP":
                log.info("paradex engine: %s is %s, not traded", symbol, row.get("asset_kind"))
                continue
            summary = summaries.get(symbol) or {}
            try:
                mark = units.to_decimal(
                    summary.get("mark_price"), "mark_price", allow_negative=False, allow_zero=False
                )
                spec = paradex_market_spec(row, liquidation_fee=liquidation_fee, mark_price=mark)
            except units.UnitError as exc:
                reject_unit_error(VENUE, "simulator markets/markets_summary", symbol, exc)
                continue
            except ValueError as exc:  # MarketSpec checks (e.g. maintenance above initial)
                reject(VENUE, "simulator markets", symbol, "delta1_cross_margin_params", row, str(exc))
                continue
            configured = scenario.funding_provider("paradex", str(symbol))
            if configured is not None:
                self._funding_from_settings.add(spec.symbol)
            self.engine.add_market(
                spec,
                funding=configured
                if configured is not None
                else self._scenario_rate(symbol, summary, spec.funding_period_hours),
            )
            size = (cfg.notional_per_level / mark / spec.size_step).to_integral_value(
                ROUND_FLOOR
            ) * spec.size_step
            liquidity = LiquidityConfig(
                levels=cfg.levels,
                spread_bps=cfg.spread_bps,
                level_step_bps=cfg.level_step_bps,
                size_per_level=max(size, spec.min_size, spec.size_step),
                replenish_ms=cfg.replenish_ms,
            )
            walk = RandomWalkMid(
                mark,
                start_ms=self.engine.now_ms(),
                seed=cfg.seed + index,
                step_ms=cfg.walk_step_ms,
                vol_bps=cfg.vol_bps,
            )
            self.engine.add_liquidity(spec.symbol, walk, liquidity)
        log.info("paradex engine: %d markets traded", len(self.engine.markets))

    @staticmethod
    def _scenario_rate(symbol: str, summary: dict[str, Any], period: Decimal) -> RateProvider:
        try:
            raw = units.to_decimal(summary.get("funding_rate"), "funding_rate")
        except units.UnitError as exc:
            reject_unit_error(VENUE, "simulator markets_summary", symbol, exc)
            return CallableRate(
                lambda market, ts: None, label=f"{symbol}: no usable funding_rate, no funding"
            )
        hourly = units.hourly_from_period(raw, period)
        return ConstantRate(hourly, label=f"markets_summary funding_rate {raw} per {period} h, constant")

    def _apply_engine_faults(self) -> None:
        """`scenario.json` `faults.paradex.engine`, active from start-up."""
        spec = self.scenario.settings.venue_faults(VENUE).engine
        if spec is None:
            return
        spec.apply(self.engine.faults)
        log.info("paradex engine faults from scenario.json: %s", self.engine.faults.snapshot())

    def apply_http_faults(self, faults: FaultInjector) -> None:
        """`scenario.json` `faults.paradex.http` (a `POST /_sim/faults` body) applied to this venue's injector."""
        spec = self.scenario.settings.venue_faults(VENUE).http
        if spec is not None:
            faults.configure(spec)

    async def start(self, app: web.Application) -> None:
        """aiohttp `on_startup`: run `Engine.run_forever` in the background."""
        self._task = asyncio.create_task(self.engine.run_forever(self.config.sync_interval_seconds))

    async def stop(self, app: web.Application) -> None:
        """aiohttp `on_cleanup`: stop the background sync and the order-book feeds."""
        tasks = [t for t in (self._task, *self.books.tasks()) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def next_seq(self) -> int:
        """Process-wide increasing `seq_no` (epoch ns, or the previous + 1)."""
        self._seq = max(self._seq + 1, time.time_ns())
        return self._seq

    # ------------------------------------------------------------------------------------------ accounts

    def ensure_account(self, address: int) -> Account:
        """The engine account of a Paradex address, created with 0 USDC on first use."""
        account_id = self.accounts.get(address)
        if account_id is None:
            account = self.engine.create_account()
            self.accounts[address] = account.account_id
            self.addresses[account.account_id] = address
            log.info("paradex account %s -> engine account %d", hex(address), account.account_id)
            return account
        return self.engine.account(account_id)

    def account_for_request(self, request: web.Request) -> Account:
        """The account of the request's `Authorization: Bearer <JWT>`.

        Raises:
            ParadexApiError: 401 UNAUTHORIZED_ERROR when the header is missing or the JWT was not issued here,
                is malformed or expired.
        """
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ParadexApiError(
                401, "UNAUTHORIZED_ERROR", "missing bearer token (Authorization: Bearer <JWT>)"
            )
        address = self.auth.account_for_token(token.strip())
        if address is None:
            raise ParadexApiError(401, "UNAUTHORIZED_ERROR", "invalid or expired bearer token")
        return self.ensure_account(address)

    def address_of(self, account: Account) -> str:
        """`0x...` address of an engine account (user accounts only)."""
        return hex(self.addresses[account.account_id])

    def fund(self, address: int, amount: Decimal) -> Account:
        """Create the account if needed and deposit `amount` USDC (0 = create only)."""
        account = self.ensure_account(address)
        if amount > 0:
            self.engine.deposit(account.account_id, amount)
            self._touch_account(account.account_id)
        return account

    # ------------------------------------------------------------------------------------------ orders

    def submit(self, account: Account, body: Any) -> dict[str, Any]:
        """`POST /v1/orders`: validate, hand to the engine, answer the `OrderResp` with status NEW.

        Raises:
            ParadexApiError: 400 for a body the venue refuses before queueing (module docstring).
        """
        if not isinstance(body, dict):
            raise ParadexApiError(400, "VALIDATION_ERROR", "body must be a JSON object (OrderRequest)")
        market = body.get("market")
        if not isinstance(market, str) or not market:
            raise ParadexApiError(400, "VALIDATION_ERROR", "market is required")
        side = _choice(_SIDES, body.get("side"))
        if side is None:
            raise ParadexApiError(
                400, "VALIDATION_ERROR", f"side must be BUY or SELL, got {body.get('side')!r}"
            )
        order_type = _choice(_TYPES, body.get("type"))
        if order_type is None:
            raise ParadexApiError(
                400, "VALIDATION_ERROR", f"order type {body.get('type')!r} is not simulated (LIMIT, MARKET)"
            )
        instruction = body.get("instruction") or "GTC"
        tif = _choice(_INSTRUCTIONS, instruction)
        if tif is None:
            raise ParadexApiError(
                400, "VALIDATION_ERROR", f"instruction {instruction!r} is not simulated (GTC, POST_ONLY, IOC)"
            )
        if order_type is OrderType.MARKET and tif is TimeInForce.POST_ONLY:
            raise ParadexApiError(400, "VALIDATION_ERROR", "a MARKET order cannot be POST_ONLY")
        size = _decimal(body.get("size"), "size", positive=True)
        price: Decimal | None = None
        if order_type is OrderType.LIMIT:
            price = _decimal(body.get("price"), "price", positive=True)
        if body.get("trigger_price") not in (None, "", "0"):
            raise ParadexApiError(400, "VALIDATION_ERROR", "trigger orders are not simulated")
        flags = body.get("flags") or []
        if not isinstance(flags, list) or any(f != "REDUCE_ONLY" for f in flags):
            raise ParadexApiError(400, "VALIDATION_ERROR", f"flags {flags!r}: only REDUCE_ONLY is simulated")
        client_id = body.get("client_id") or ""
        if not isinstance(client_id, str):
            raise ParadexApiError(400, "VALIDATION_ERROR", "client_id must be a string")
        signature, stamp = body.get("signature"), body.get("signature_timestamp")
        if not isinstance(signature, str) or not signature:
            raise ParadexApiError(400, "VALIDATION_ERROR", "signature is required (it is not verified)")
        if isinstance(stamp, bool) or not isinstance(stamp, int):
            raise ParadexApiError(400, "VALIDATION_ERROR", "signature_timestamp (ms) is required")
        stp = body.get("stp")
        if stp is not None and stp not in _STP_MODES:
            raise ParadexApiError(400, "VALIDATION_ERROR", f"stp must be one of {_STP_MODES}, got {stp!r}")
        state = self.engine.markets.get(market)
        if state is None:
            raise ParadexApiError(400, "MARKET_NOT_FOUND", f"market {market} not found")
        spec = state.spec
        if price is not None and price % spec.tick_size:
            raise ParadexApiError(
                400, "INVALID_REQUEST_PARAMETER", f"price {price} is not a multiple of {spec.tick_size}"
            )
        if size % spec.size_step:
            raise ParadexApiError(
                400, "INVALID_REQUEST_PARAMETER", f"size {size} is not a multiple of {spec.size_step}"
            )
        if client_id and client_id in account.client_ids:
            raise ParadexApiError(400, "DUPLICATED_CLIENT_ID", f"client_id {client_id} is already used")
        address = self.addresses[account.account_id]
        order = self.engine.submit(
            OrderRequest(
                account.account_id,
                market,
                side,
                size,
                price,
                order_type,
                tif,
                bool(flags),
                client_id or None,
            )
        )
        self._orders[order.order_id] = _OrderMeta(address, instruction, stamp)
        if client_id:
            self._client_orders[(account.account_id, client_id)] = order.order_id
        if order.status is OrderStatus.REJECTED:
            log.info(
                "paradex order %d closed at once: %s", order.order_id, paradex_cancel_reason(order.reason)
            )
        self._pending.orders.setdefault(order.order_id, order)
        self._schedule_flush()
        return self.order_json(order, new=True)

    def _order_of(self, account: Account, order_id: str) -> Order:
        try:
            order = account.orders.get(int(order_id))
        except ValueError:
            order = None
        if order is None:
            raise ParadexApiError(400, "ORDER_ID_NOT_FOUND", f"order {order_id} not found")
        return order

    def _order_by_client_id(self, account: Account, client_id: str, market: str | None = None) -> Order:
        order_id = self._client_orders.get((account.account_id, client_id))
        order = account.orders.get(order_id) if order_id is not None else None
        if order is None or (market and order.market != market):
            raise ParadexApiError(400, "CLIENT_ORDER_ID_NOT_FOUND", f"client order id {client_id} not found")
        return order

    def _cancel(self, account: Account, order: Order) -> None:
        try:
            self.engine.cancel(account.account_id, order.order_id)
        except OrderNotOpenError:
            raise ParadexApiError(400, "ORDER_IS_CLOSED", f"order {order.order_id} is closed") from None
        except OrderNotFoundError:
            raise ParadexApiError(400, "ORDER_ID_NOT_FOUND", f"order {order.order_id} not found") from None

    def cancel(self, account: Account, order_id: str) -> None:
        """`DELETE /v1/orders/{id}`. Raises ParadexApiError 400 ORDER_ID_NOT_FOUND / ORDER_IS_CLOSED."""
        self._cancel(account, self._order_of(account, order_id))

    def cancel_by_client_id(self, account: Account, client_id: str, market: str | None) -> None:
        """`DELETE /v1/orders/by_client_id/{cid}`. Raises ParadexApiError 400 CLIENT_ORDER_ID_NOT_FOUND /
        ORDER_IS_CLOSED."""
        self._cancel(account, self._order_by_client_id(account, client_id, market))

    def cancel_all(self, account: Account, market: str | None) -> None:
        """`DELETE /v1/orders[?market]`. Raises ParadexApiError 400 MARKET_NOT_FOUND for an unknown market."""
        if market and market not in self.engine.markets:
            raise ParadexApiError(400, "MARKET_NOT_FOUND", f"market {market} not found")
        self.engine.cancel_all(account.account_id, market or None)

    def open_orders(self, account: Account, market: str | None) -> dict[str, Any]:
        """`GET /v1/orders` body: resting orders, oldest first."""
        self.engine.sync()
        rows = [o for o in account.open_orders.values() if not market or o.market == market]
        return {"results": [self.order_json(o) for o in sorted(rows, key=lambda o: o.order_id)]}

    def order(self, account: Account, order_id: str) -> dict[str, Any]:
        """`GET /v1/orders/{id}` body. Raises ParadexApiError 400 ORDER_ID_NOT_FOUND."""
        self.engine.sync()
        return self.order_json(self._order_of(account, order_id))

    def order_by_client_id(self, account: Account, client_id: str) -> dict[str, Any]:
        """`GET /v1/orders/by_client_id/{cid}` body. Raises ParadexApiError 400 CLIENT_ORDER_ID_NOT_FOUND."""
        self.engine.sync()
        return self.order_json(self._order_by_client_id(account, client_id))

    def orders_history(self, account: Account, query: Any) -> dict[str, Any]:
        """`GET /v1/orders-history` body (paged, newest first, filters in the module docstring)."""
        self.engine.sync()
        rows = [self.order_json(o) for o in sorted(account.orders.values(), key=lambda o: -o.order_id)]
        for name in ("market", "client_id", "side", "status", "type"):
            wanted = query.get(name)
            if wanted:
                rows = [r for r in rows if r[name] == wanted]
        return _paged(rows, "orders-history", query)

    def order_json(self, order: Order, *, new: bool = False) -> dict[str, Any]:
        """`OrderResp` of an engine order; `new` = as just queued (status NEW, nothing filled)."""
        meta = self._orders.get(order.order_id)
        now = self.clock.now_ms()
        if new:
            status, remaining, avg, reason = "NEW", order.size, "", ""
        else:
            status = "OPEN" if order.resting else "CLOSED"
            # a closed order keeps its unfilled size (rest_order_closed_user_canceled.json: remaining = size)
            remaining = order.size - order.filled
            avg = dec_text(order.avg_fill_price) if order.avg_fill_price is not None else ""
            reason = (
                paradex_cancel_reason(order.reason)
                if status == "CLOSED" and order.status is not OrderStatus.FILLED
                else ""
            )
        return {
            "id": str(order.order_id),
            "account": hex(meta.address) if meta else hex(self.addresses.get(order.account_id, 0)),
            "market": order.market,
            "side": "BUY" if order.side is Side.BUY else "SELL",
            "type": "LIMIT" if order.type is OrderType.LIMIT else "MARKET",
            "size": dec_text(order.size),
            "remaining_size": dec_text(remaining),
            "price": dec_text(order.price) if order.price is not None else "0",
            "status": status,
            "created_at": order.created_ms,
            "last_updated_at": order.created_ms if new else order.updated_ms,
            "timestamp": meta.signature_timestamp if meta else order.created_ms,
            "cancel_reason": reason,
            "client_id": str(order.client_id) if order.client_id is not None else "",
            "seq_no": self.next_seq(),
            "instruction": meta.instruction if meta else order.tif.name,
            "avg_fill_price": avg,
            "stp": ENGINE_STP,
            "received_at": order.created_ms,
            "published_at": now,
            "flags": ["REDUCE_ONLY"] if order.reduce_only else [],
            "trigger_price": "0",
        }

    # ------------------------------------------------------------------------------------------ state

    def _position_rows(self, account: Account) -> list[dict[str, Any]]:
        rows = []
        for market, pos in sorted(account.positions.items()):
            meta = self._positions.get((account.account_id, market))
            if meta is not None or pos.size:
                rows.append(self.position_json(account, pos, meta or _PositionMeta()))
        return rows

    def positions(self, account: Account) -> dict[str, Any]:
        """`GET /v1/positions` body: every market the account traded."""
        self.engine.sync()
        return {"results": self._position_rows(account)}

    def position_json(self, account: Account, pos: Position, meta: _PositionMeta) -> dict[str, Any]:
        """`PositionResp` (keys of `rest_positions_*.json` plus the SDK model's `realized_positional_*`)."""
        state = self.engine.markets[pos.market]
        unrealized_funding = pos.unrealized_funding(state)
        open_ = pos.size != 0
        row: dict[str, Any] = {
            "id": f"{self.address_of(account)}-{pos.market}",
            "account": self.address_of(account),
            "market": pos.market,
            "status": "OPEN" if open_ else "CLOSED",
            "side": ("LONG" if pos.size > 0 else "SHORT") if open_ else meta.side,
            "size": dec_text(pos.size),
            "average_entry_price": dec_text(pos.entry_price),
            "average_entry_price_usd": dec_text(pos.entry_price),
            "realized_pnl": dec_text(meta.pnl),
            "realized_positional_pnl": dec_text(meta.pnl + meta.funding),
            "realized_positional_funding_pnl": dec_text(meta.funding),
            "unrealized_pnl": dec_text(pos.unrealized_pnl(state.mark_price) + unrealized_funding),
            "unrealized_funding_pnl": dec_text(unrealized_funding),
            "cost": dec_text(pos.size * pos.entry_price),
            "cost_usd": dec_text(pos.size * pos.entry_price),
            "cached_funding_index": dec_text(pos.funding_index),
            "leverage": dec_text(self.engine.leverage(account.account_id, pos.market)),
            "liquidation_price": "",
            "created_at": meta.created_at,
            "last_updated_at": meta.last_updated_at,
            "last_fill_id": str(meta.last_fill_id) if meta.last_fill_id else "",
            "seq_no": self.next_seq(),
        }
        if not open_ and meta.closed_at is not None:
            row["closed_at"] = meta.closed_at
        return row

    def _margin_market(self, market: str | None) -> str:
        if not market:
            raise ParadexApiError(400, "VALIDATION_ERROR", "market is required")
        if market not in self.engine.markets:
            raise ParadexApiError(400, "MARKET_NOT_FOUND", f"market {market} not found")
        return market

    def account_margin(self, account: Account, market: str | None) -> dict[str, Any]:
        """`GET /v1/account/margin?market=M` body (`GetAccountMarginConfigsResp`, openapi `get-account-margin`):
        the account's cross leverage in M (the market maximum 1 / `imf_base` until set).

        Raises:
            ParadexApiError: 400 VALIDATION_ERROR (no market) / MARKET_NOT_FOUND.
        """
        symbol = self._margin_market(market)
        leverage = self.engine.leverage(account.account_id, symbol)
        return {
            "account": self.address_of(account),
            "configs": [{"market": symbol, "leverage": int(leverage), "margin_type": "CROSS"}],
            "margin_methodology": "cross_margin",
        }

    def set_account_margin(self, account: Account, market: str, body: Any) -> dict[str, Any]:
        """`POST /v1/account/margin/{market}` (openapi `upsert-account-margin`, body `AccountMarginRequest`
        `{leverage: int, margin_type: "CROSS" | "ISOLATED"}`): sets the account's cross leverage in the market
        through `Engine.set_leverage`. Returns `UpdateAccountMarginConfigResp`.

        Raises:
            ParadexApiError: 400 MARKET_NOT_FOUND; 400 VALIDATION_ERROR for a body that is not an object, a
                leverage that is not an integer in 1..max, or a margin type other than CROSS (isolated margin is
                not simulated).
        """
        symbol = self._margin_market(market)
        if not isinstance(body, dict):
            raise ParadexApiError(400, "VALIDATION_ERROR", "body must be a JSON object")
        leverage, margin_type = body.get("leverage"), body.get("margin_type")
        if isinstance(leverage, bool) or not isinstance(leverage, int):
            raise ParadexApiError(400, "VALIDATION_ERROR", f"leverage must be an integer, got {leverage!r}")
        if margin_type != "CROSS":
            raise ParadexApiError(
                400, "VALIDATION_ERROR", f"margin_type {margin_type!r}: only CROSS is simulated"
            )
        try:
            self.engine.set_leverage(account.account_id, symbol, Decimal(leverage))
        except LeverageError as exc:
            raise ParadexApiError(400, "VALIDATION_ERROR", str(exc)) from None
        self._touch_account(account.account_id)
        return {
            "account": self.address_of(account),
            "market": symbol,
            "leverage": leverage,
            "margin_type": "CROSS",
        }

    def account_summary(self, account: Account) -> dict[str, Any]:
        """`GET /v1/account` body (`AccountSummary`): equity = collateral + unrealised PnL and funding at mark."""
        equity = self.engine.equity(account.account_id)
        imr = self.engine.initial_margin(account.account_id)
        mmr = self.engine.maintenance_margin(account.account_id)
        return {
            "account": self.address_of(account),
            "account_value": dec_text(equity),
            "free_collateral": dec_text(equity - imr),
            "initial_margin_requirement": dec_text(imr),
            "maintenance_margin_requirement": dec_text(mmr),
            "margin_cushion": dec_text(equity - mmr),
            "settlement_asset": SETTLEMENT_ASSET,
            "status": "ACTIVE",
            "total_collateral": dec_text(account.collateral),
            "seq_no": self.next_seq(),
            "updated_at": self.clock.now_ms(),
        }

    def balance(self, account: Account) -> dict[str, Any]:
        """`GET /v1/balance` body: the USDC collateral (deposits + realised PnL + realised funding - fees)."""
        self.engine.sync()
        return {
            "results": [
                {
                    "token": SETTLEMENT_ASSET,
                    "size": dec_text(account.collateral),
                    "last_updated_at": self.clock.now_ms(),
                }
            ]
        }

    def fill_json(self, fill: Fill) -> dict[str, Any]:
        """`FillResult` of one engine fill."""
        return {
            "id": str(fill.fill_id),
            "account": hex(self.addresses.get(fill.account_id, 0)),
            "market": fill.market,
            "side": "BUY" if fill.side is Side.BUY else "SELL",
            "liquidity": fill.liquidity.name,
            "order_id": str(fill.order_id) if fill.order_id else "",
            "client_id": str(fill.client_id) if fill.client_id is not None else "",
            "price": dec_text(fill.price),
            "size": dec_text(fill.size),
            "remaining_size": dec_text(self._fill_remaining.get(fill.fill_id, Decimal(0))),
            "fee": dec_text(fill.fee),
            "fee_currency": SETTLEMENT_ASSET,
            "realized_pnl": dec_text(fill.realized_pnl),
            "realized_funding": dec_text(fill.realized_funding),
            "fill_type": "LIQUIDATION" if fill.kind is TradeKind.LIQUIDATION else "FILL",
            "flags": [],
            "created_at": fill.ts_ms,
        }

    def fills(self, account: Account, query: Any) -> dict[str, Any]:
        """`GET /v1/fills` body (paged, newest first; `market`, `start_at`, `end_at`)."""
        self.engine.sync()
        market = query.get("market")
        rows = [self.fill_json(f) for f in reversed(account.fills) if not market or f.market == market]
        return _paged(rows, f"fills:{market or ''}", query)

    def payment_json(self, payment: FundingPayment) -> dict[str, Any]:
        """`FundingPayment` row: `payment` USDC (negative = paid), `index` the funding index realised at."""
        return {
            "id": str(payment.payment_id),
            "account": hex(self.addresses.get(payment.account_id, 0)),
            "market": payment.market,
            "payment": dec_text(payment.amount),
            "index": dec_text(payment.index) if payment.index is not None else "",
            "fill_id": str(payment.fill_id) if payment.fill_id is not None else "",
            "created_at": payment.ts_ms,
        }

    def funding_payments(self, account: Account, query: Any) -> dict[str, Any]:
        """`GET /v1/funding/payments` body. Raises ParadexApiError 400 VALIDATION_ERROR without `market`."""
        market = query.get("market")
        if not market:
            raise ParadexApiError(400, "VALIDATION_ERROR", "market is required")
        self.engine.sync()
        rows = [self.payment_json(p) for p in reversed(account.funding_payments) if p.market == market]
        return _paged(rows, f"funding:{market}", query)

    # ------------------------------------------------------------------------------------------ market data

    def is_traded(self, market: str) -> bool:
        """True when the engine trades `market`."""
        return market in self.engine.markets

    def book_body(self, market: str, depth: int) -> dict[str, Any] | None:
        """`GET /v1/orderbook/{market}` body from the engine's book (None when the market is not traded)."""
        state = self.engine.markets.get(market)
        if state is None:
            return None
        self.engine.sync()
        book = state.book
        return {
            "market": market,
            "seq_no": book.seq,
            "last_updated_at": self.clock.now_ms(),
            "asks": [[dec_text(p), dec_text(s)] for p, s in book.levels(Side.SELL, depth)],
            "bids": [[dec_text(p), dec_text(s)] for p, s in book.levels(Side.BUY, depth)],
        }

    def bbo_body(self, market: str) -> dict[str, Any] | None:
        """`BBOResp` from the engine's book (None when not traded); an empty side answers "" / "0"."""
        book = self.book_body(market, 1)
        if book is None:
            return None
        out: dict[str, Any] = {"market": market, "seq_no": book["seq_no"]}
        for side, key in (("asks", "ask"), ("bids", "bid")):
            level = book[side][0] if book[side] else ["", "0"]
            out[key], out[f"{key}_size"] = level[0], level[1]
        out["last_updated_at"] = book["last_updated_at"]
        return out

    def summary_overrides(self, market: str) -> dict[str, Any]:
        """Fields of a `markets/summary` row the engine owns: `mark_price`, `bid`/`ask` and sizes, and
        `funding_rate` (per the market's period) when `scenario.json` `funding` sets the market's rate (the rate in
        force at the engine's last sync) or once changed through the admin API. {} when not traded."""
        bbo = self.bbo_body(market)
        if bbo is None:
            return {}
        state = self.engine.markets[market]
        out = {
            "mark_price": dec_text(state.mark_price),
            "bid": bbo["bid"],
            "bid_size": bbo["bid_size"],
            "ask": bbo["ask"],
            "ask_size": bbo["ask_size"],
        }
        rate = self._funding_overrides.get(market)
        if rate is None and market in self._funding_from_settings:
            rate = state.rate_hourly
        if rate is not None:
            out["funding_rate"] = dec_text(rate * state.spec.funding_period_hours)
        return out

    def market_view(self, market: str) -> dict[str, Any]:
        """`GET /_sim/markets/{m}`: the engine's view of one market: mark, best bid/ask, the funding rate in force
        (fraction per hour and per the market's period), the funding index, and `funding_source`, the rate
        provider's label (e.g. "replay of binance BTCUSDT history under paradex's protocol",
        "scenario.json: constant 0.00001/h", "markets_summary funding_rate ... constant" for the recorded rate,
        "admin: ..." after `POST .../funding`).

        Raises:
            ParadexApiError: 404 NOT_FOUND for a market the engine does not trade.
        """
        state = self.engine.markets.get(market)
        if state is None:
            raise ParadexApiError(404, "NOT_FOUND", f"market {market} is not traded by the simulator")
        self.engine.sync()
        ask, bid = state.book.best_ask(), state.book.best_bid()
        period = state.spec.funding_period_hours
        return {
            "market": market,
            "mark_price": dec_text(state.mark_price),
            "best_bid": dec_text(bid) if bid is not None else None,
            "best_ask": dec_text(ask) if ask is not None else None,
            "funding_style": "continuous index",
            "rate_hourly": dec_text(state.rate_hourly),
            "funding_rate": dec_text(state.rate_hourly * period),
            "funding_period_hours": dec_text(period),
            "funding_index": dec_text(state.funding_index),
            "funding_source": state.funding.label,
            "funding_from_settings": market in self._funding_from_settings
            and market not in self._funding_overrides,
        }

    # ------------------------------------------------------------------------------------------ admin

    def set_mark(self, market: str, price: Decimal) -> None:
        """Pin `market`'s mid (and mark) at `price` (`Engine.set_mark_price`).

        Raises:
            ParadexApiError: 404 NOT_FOUND for a market the engine does not trade; 400 for price <= 0.
        """
        if market not in self.engine.markets:
            raise ParadexApiError(404, "NOT_FOUND", f"market {market} is not traded by the simulator")
        try:
            self.engine.set_mark_price(market, price)
        except EngineError as exc:
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", str(exc)) from None

    def set_mid_walk(self, market: str, walk: RandomWalkSpec) -> None:
        """Let `market`'s mid (and mark) follow a seeded random walk from the current mark
        (`Engine.set_mid_path`).

        Raises:
            ParadexApiError: 404 NOT_FOUND for a market the engine does not trade.
        """
        state = self.engine.markets.get(market)
        if state is None:
            raise ParadexApiError(404, "NOT_FOUND", f"market {market} is not traded by the simulator")
        self.engine.sync()
        path = RandomWalkMid(
            state.mark_price,
            start_ms=self.engine.now_ms(),
            seed=walk.seed,
            step_ms=walk.step_ms,
            vol_bps=walk.vol_bps,
        )
        self.engine.set_mid_path(market, path)

    def set_funding(self, market: str, rate_hourly: Decimal) -> None:
        """Hold `market`'s funding rate at `rate_hourly` (fraction per hour) from now on; the index is accrued at
        the previous rate up to now first.

        Raises:
            ParadexApiError: 404 NOT_FOUND for a market the engine does not trade.
        """
        state = self.engine.markets.get(market)
        if state is None:
            raise ParadexApiError(404, "NOT_FOUND", f"market {market} is not traded by the simulator")
        self.engine.sync()
        state.funding = ConstantRate(rate_hourly, label=f"admin: constant {rate_hourly}/h")
        state.rate_hourly = rate_hourly
        self._funding_overrides[market] = rate_hourly

    def account_view(self, address: int) -> dict[str, Any]:
        """Admin view of an account: money, margin, positions, open orders, fills and funding payments (the
        lists in the venue's shapes, oldest first).

        Raises:
            ParadexApiError: 404 NOT_FOUND for an address never seen.
        """
        account_id = self.accounts.get(address)
        if account_id is None:
            raise ParadexApiError(404, "NOT_FOUND", f"no account {hex(address)}")
        account = self.engine.account(account_id)
        equity = self.engine.equity(account_id)
        imr = self.engine.initial_margin(account_id)
        return {
            "address": hex(address),
            "engine_account_id": account_id,
            "collateral": dec_text(account.collateral),
            "equity": dec_text(equity),
            "initial_margin": dec_text(imr),
            "maintenance_margin": dec_text(self.engine.maintenance_margin(account_id)),
            "free_collateral": dec_text(equity - imr),
            "deposits": dec_text(account.deposits),
            "fees_paid": dec_text(account.fees_paid),
            "realized_pnl": dec_text(account.realized_pnl),
            "funding": dec_text(account.funding),
            "liquidations": account.liquidations,
            "positions": self._position_rows(account),
            "open_orders": [
                self.order_json(o) for o in sorted(account.open_orders.values(), key=lambda o: o.order_id)
            ],
            "fills": [self.fill_json(f) for f in account.fills],
            "funding_payments": [self.payment_json(p) for p in account.funding_payments],
        }

    # ------------------------------------------------------------------------------------------ WebSocket

    def subscribe_private(self, sink: FrameSink, address: int, channel: str) -> bool:
        """Register `sink` (authenticated as `address`) on a private channel; False for an invalid name."""
        name, _, market = channel.partition(".")
        if channel not in PRIVATE_EXACT:
            if name + "." not in PRIVATE_PREFIXES or not (market == "ALL" or market in self.engine.markets):
                return False
        self.ensure_account(address)
        self._subscribers.setdefault(address, {}).setdefault(sink, set()).add(channel)
        return True

    def unsubscribe(self, sink: FrameSink, channel: str) -> None:
        """Remove `sink` from a private or order-book channel (no-op when not subscribed)."""
        for sinks in self._subscribers.values():
            if sink in sinks:
                sinks[sink].discard(channel)
        self.books.unsubscribe(sink, channel)

    def drop_sink(self, sink: FrameSink) -> None:
        """Forget every subscription of `sink` (its socket closed)."""
        for sinks in self._subscribers.values():
            sinks.pop(sink, None)
        self.books.drop(sink)

    def _touch_account(self, account_id: int) -> None:
        if account_id in self.addresses:
            self._pending.accounts[account_id] = None
            self._schedule_flush()

    def _on_event(self, event: EngineEvent) -> None:
        """Engine listener: record what the venue echoes later and queue pushes (user accounts only)."""
        if isinstance(event, OrderEvent):
            order = event.order
            if order.account_id in self.addresses:
                self._pending.orders[order.order_id] = order
                self._pending.accounts[order.account_id] = None
                self._schedule_flush()
        elif isinstance(event, TradeEvent):
            for fill in (event.maker_fill, event.taker_fill):
                if fill.account_id in self.addresses:
                    self._on_fill(fill)
        elif isinstance(event, FundingEvent):
            payment = event.payment
            if payment.account_id in self.addresses:
                self._pending.payments.append(payment)
                self._pending.accounts[payment.account_id] = None
                self._schedule_flush()

    def _on_fill(self, fill: Fill) -> None:
        account = self.engine.accounts[fill.account_id]
        order = account.orders.get(fill.order_id) if fill.order_id else None
        self._fill_remaining[fill.fill_id] = order.remaining if order is not None else Decimal(0)
        key = (fill.account_id, fill.market)
        meta = self._positions.setdefault(key, _PositionMeta())
        before, after = fill.position_before, fill.position_after
        meta.pnl += fill.realized_pnl
        meta.funding += fill.realized_funding
        flipped = before != 0 and after != 0 and (before > 0) != (after > 0)
        if after == 0 or before == 0 or flipped:
            meta.pnl = meta.funding = Decimal(0)  # "reset to 0 when position is closed or flipped"
        if after == 0:
            meta.closed_at = fill.ts_ms
        elif before == 0 or flipped:
            meta.created_at, meta.closed_at = fill.ts_ms, None
        if after != 0:
            meta.side = "LONG" if after > 0 else "SHORT"
        meta.last_fill_id = fill.fill_id
        meta.last_updated_at = fill.ts_ms
        self._pending.fills.append(fill)
        self._pending.positions[key] = None
        self._pending.accounts[fill.account_id] = None
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (engine used in process): nothing can be subscribed
        self._flush_scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Push the pending changes to the subscribed sessions, then forget them."""
        self._flush_scheduled = False
        pending, self._pending = self._pending, _Pending()
        for order in pending.orders.values():
            meta = self._orders.get(order.order_id)
            if meta is not None and not meta.announced:
                meta.announced = True
                if self._sinks(order.account_id):
                    self._publish(order.account_id, order.market, "orders", self.order_json(order, new=True))
            if self._sinks(order.account_id):
                self._publish(order.account_id, order.market, "orders", self.order_json(order))
        if not self._subscribers:
            return
        for fill in pending.fills:
            self._publish(fill.account_id, fill.market, "fills", self.fill_json(fill))
        for payment in pending.payments:
            self._publish(payment.account_id, payment.market, "funding_payments", self.payment_json(payment))
        for account_id, market in pending.positions:
            account = self.engine.accounts[account_id]
            row = self.position_json(account, account.position(market), self._positions[(account_id, market)])
            self._publish(account_id, None, "positions", row)
        for account_id in pending.accounts:
            if self._sinks(account_id):
                self._publish(
                    account_id, None, "account", self.account_summary(self.engine.accounts[account_id])
                )

    def _sinks(self, account_id: int) -> dict[FrameSink, set[str]]:
        address = self.addresses.get(account_id)
        return self._subscribers.get(address, {}) if address is not None else {}

    def _publish(self, account_id: int, market: str | None, name: str, data: dict[str, Any]) -> None:
        wanted = {name} if market is None else {f"{name}.ALL", f"{name}.{market}"}
        for sink, channels in list(self._sinks(account_id).items()):
            for channel in sorted(channels & wanted):
                sink.push_nowait(subscription_frame(channel, data))


class _BookChannel:
    """One `order_book.{M}.snapshot@15@{rate}` channel: its subscribers, publication counter and task."""

    def __init__(self, name: str, market: str, interval: float, seq_no: int) -> None:
        self.name = name
        self.market = market
        self.interval = interval
        self.seq_no = seq_no
        self.sinks: set[FrameSink] = set()
        self.last: tuple[Any, ...] | None = None
        self.task: asyncio.Task[None] | None = None


class BookFeeds:
    """The order-book snapshot channels of the venue (one publisher per channel name, shared by sessions)."""

    def __init__(self, trading: ParadexTrading) -> None:
        self.trading = trading
        self.channels: dict[str, _BookChannel] = {}
        self.skip_pending = 0

    @staticmethod
    def parse(channel: str) -> tuple[str, float] | None:
        """(market, refresh seconds) of an `order_book.{M}.snapshot@15@{50ms|100ms}` name, else None."""
        match = _BOOK_CHANNEL.match(channel)
        if match is None:
            return None
        return match.group("market"), int(match.group("rate").removesuffix("ms")) / 1000

    def valid(self, channel: str) -> bool:
        """True for an order-book channel name this feed serves (snapshot feed of a traded market)."""
        parsed = self.parse(channel)
        return parsed is not None and self.trading.is_traded(parsed[0])

    def tasks(self) -> list[asyncio.Task[None]]:
        return [c.task for c in self.channels.values() if c.task is not None]

    def subscribe(self, sink: FrameSink, channel: str) -> bool:
        """Add `sink` to `channel` and push it the current snapshot; False for an invalid / untraded channel."""
        parsed = self.parse(channel)
        if parsed is None or not self.trading.is_traded(parsed[0]):
            return False
        market, interval = parsed
        feed = self.channels.get(channel)
        engine = self.trading.engine
        if feed is None:
            engine.sync()
            feed = _BookChannel(channel, market, interval, engine.markets[market].book.seq)
            feed.last = self._levels(market)
            self.channels[channel] = feed
        feed.sinks.add(sink)
        sink.push_nowait(subscription_frame(channel, self._data(feed, feed.last or self._levels(market))))
        if feed.task is None or feed.task.done():
            feed.task = asyncio.create_task(self._run(feed))
        return True

    def unsubscribe(self, sink: FrameSink, channel: str) -> None:
        feed = self.channels.get(channel)
        if feed is not None:
            feed.sinks.discard(sink)

    def drop(self, sink: FrameSink) -> None:
        for feed in self.channels.values():
            feed.sinks.discard(sink)

    def _levels(self, market: str) -> tuple[Any, ...]:
        book = self.trading.engine.markets[market].book
        return (tuple(book.levels(Side.BUY, BOOK_DEPTH)), tuple(book.levels(Side.SELL, BOOK_DEPTH)))

    def _data(self, feed: _BookChannel, levels: tuple[Any, ...]) -> dict[str, Any]:
        bids, asks = levels
        inserts = [{"side": "BUY", "price": dec_text(p), "size": dec_text(s)} for p, s in bids]
        inserts += [{"side": "SELL", "price": dec_text(p), "size": dec_text(s)} for p, s in asks]
        data: dict[str, Any] = {
            "seq_no": feed.seq_no,
            "market": feed.market,
            "last_updated_at": self.trading.clock.now_ms(),
            "update_type": "s",
            "inserts": inserts,
            "updates": [],
            "deletes": [],
        }
        for key, side, levels_ in (("bid", "BUY", bids), ("ask", "SELL", asks)):
            if levels_:
                best = {"side": side, "price": dec_text(levels_[0][0]), "size": dec_text(levels_[0][1])}
                data[f"best_{key}_api"] = best
                data[f"best_{key}_interactive"] = dict(best)
        return data

    async def _run(self, feed: _BookChannel) -> None:
        engine = self.trading.engine
        while feed.sinks:
            await asyncio.sleep(feed.interval)
            engine.sync()
            levels = self._levels(feed.market)
            if levels == feed.last:
                continue
            feed.last = levels
            feed.seq_no += 1
            if self.skip_pending:
                self.skip_pending -= 1
                feed.seq_no += 1
                log.info("paradex fault: %s skips seq_no %d", feed.name, feed.seq_no - 1)
            frame = subscription_frame(feed.name, self._data(feed, levels))
            for sink in list(feed.sinks):
                sink.push_nowait(frame)
        if self.channels.get(feed.name) is feed:
            del self.channels[feed.name]


# ----------------------------------------------------------------------------------------------- HTTP

PARADEX_TRADING = web.AppKey("paradex_trading", ParadexTrading)

DropSockets = Callable[[], Awaitable[int]]


class AccountSpec(DepositSpec):
    """Body of `POST /_sim/accounts`: a Paradex account address and the USDC to deposit (0 = create only)."""

    address: str

    @field_validator("address")
    @classmethod
    def _felt(cls, value: str) -> str:
        parse_felt(value, "address")
        return value


class ParadexWsFaultSpec(WsFaultSpec):
    """Body of `POST /_sim/ws/faults`: `drop_connections` closes every `/v1` WebSocket now;
    `skip_order_book_seq_no` makes the next order-book push skip one `seq_no`."""

    ACTIONS: ClassVar[tuple[str, ...]] = ("drop_connections", "skip_order_book_seq_no")

    skip_order_book_seq_no: bool = False


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_paradex_trading_routes(
    app: web.Application, trading: ParadexTrading, faults: FaultInjector, drop_sockets: DropSockets
) -> None:
    """Register the private REST endpoints and the trading admin API on `app` (before any catch-all route).

    Args:
        trading: the venue's trading state; faults: its HTTP fault injector (`venue/down` reuses it);
        drop_sockets: closes every `/v1` WebSocket, returns how many.

    Also applies `scenario.json` `faults.paradex.http` to `faults` (the venue's HTTP faults from start-up).
    """
    trading.apply_http_faults(faults)

    def private(
        build: Callable[[web.Request, Account], Awaitable[web.StreamResponse]],
    ) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await build(request, trading.account_for_request(request))
            except ParadexApiError as exc:
                log.info("paradex %s %s -> %s", request.method, request.path_qs, exc)
                return json_response(exc.body, status=exc.status)

        return handler

    def getter(fn: Callable[[web.Request, Account], dict[str, Any]]) -> Handler:
        async def build(request: web.Request, account: Account) -> web.StreamResponse:
            return json_response(fn(request, account))

        return private(build)

    async def post_order(request: web.Request, account: Account) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise ParadexApiError(400, "VALIDATION_ERROR", "body is not JSON") from None
        return json_response(trading.submit(account, body), status=201)

    async def post_margin(request: web.Request, account: Account) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise ParadexApiError(400, "VALIDATION_ERROR", "body is not JSON") from None
        return json_response(trading.set_account_margin(account, request.match_info["market"], body))

    async def cancel_all(request: web.Request, account: Account) -> web.StreamResponse:
        trading.cancel_all(account, request.query.get("market"))
        return web.Response(status=200)

    async def cancel(request: web.Request, account: Account) -> web.StreamResponse:
        trading.cancel(account, request.match_info["order_id"])
        return web.Response(status=204)

    async def cancel_by_client_id(request: web.Request, account: Account) -> web.StreamResponse:
        trading.cancel_by_client_id(account, request.match_info["client_id"], request.query.get("market"))
        return web.Response(status=204)

    async def not_served(request: web.Request) -> web.Response:
        body = {
            "error": "NOT_FOUND",
            "message": f"{request.path} is not served by the simulator",
            "data": None,
        }
        return json_response(body, status=404)

    r = app.router
    r.add_route("*", "/v1/orders/batch", not_served)
    r.add_get("/v1/orders", getter(lambda q, a: trading.open_orders(a, q.query.get("market"))))
    r.add_post("/v1/orders", private(post_order))
    r.add_delete("/v1/orders", private(cancel_all))
    r.add_get(
        "/v1/orders/by_client_id/{client_id}",
        getter(lambda q, a: trading.order_by_client_id(a, q.match_info["client_id"])),
    )
    r.add_delete("/v1/orders/by_client_id/{client_id}", private(cancel_by_client_id))
    r.add_get("/v1/orders/{order_id}", getter(lambda q, a: trading.order(a, q.match_info["order_id"])))
    r.add_delete("/v1/orders/{order_id}", private(cancel))
    r.add_get("/v1/orders-history", getter(lambda q, a: trading.orders_history(a, q.query)))
    r.add_get("/v1/positions", getter(lambda q, a: trading.positions(a)))
    r.add_get("/v1/account", getter(lambda q, a: _account(trading, q, a)))
    r.add_get("/v1/balance", getter(lambda q, a: trading.balance(a)))
    r.add_get("/v1/fills", getter(lambda q, a: trading.fills(a, q.query)))
    r.add_get("/v1/funding/payments", getter(lambda q, a: trading.funding_payments(a, q.query)))
    r.add_get("/v1/account/margin", getter(lambda q, a: trading.account_margin(a, q.query.get("market"))))
    r.add_post("/v1/account/margin/{market}", private(post_margin))
    _add_admin_routes(app, trading, faults, drop_sockets)


def _account(trading: ParadexTrading, request: web.Request, account: Account) -> dict[str, Any]:
    sub = request.query.get("subaccount_address")
    if sub and sub.lower() != trading.address_of(account):
        raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "subaccounts are not simulated")
    return trading.account_summary(account)


def _add_admin_routes(
    app: web.Application, trading: ParadexTrading, faults: FaultInjector, drop_sockets: DropSockets
) -> None:
    engine = trading.engine

    def guarded(fn: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except ParadexApiError as exc:
                return web.json_response(exc.body, status=exc.status)

        return local_only(handler)

    async def post_account(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, AccountSpec)
        address = parse_felt(spec.address, "address")
        trading.fund(address, spec.collateral)
        return json_response(trading.account_view(address))

    async def list_accounts(request: web.Request) -> web.StreamResponse:
        rows = [{"address": hex(a), "engine_account_id": i} for a, i in sorted(trading.accounts.items())]
        return json_response({"results": rows})

    async def get_account(request: web.Request) -> web.StreamResponse:
        try:
            address = parse_felt(request.match_info["address"], "address")
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return json_response(trading.account_view(address))

    async def post_mark(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, MarkSpec)
        market = request.match_info["market"]
        if spec.random_walk is not None:
            trading.set_mid_walk(market, spec.random_walk)
        else:
            assert spec.price is not None  # MarkSpec: exactly one of price / random_walk
            trading.set_mark(market, spec.price)
        return json_response({"market": market, "mark_price": dec_text(engine.markets[market].mark_price)})

    async def post_funding(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, FundingSpec)
        market = request.match_info["market"]
        state = engine.markets.get(market)
        if state is None:
            raise ParadexApiError(404, "NOT_FOUND", f"market {market} is not traded by the simulator")
        period = state.spec.funding_period_hours
        hourly = spec.hourly(period)
        trading.set_funding(market, hourly)
        return json_response(
            {
                "market": market,
                "rate_hourly": dec_text(hourly),
                "funding_rate": dec_text(hourly * period),
                "funding_period_hours": dec_text(period),
            }
        )

    async def get_markets(request: web.Request) -> web.StreamResponse:
        return json_response({"markets": [trading.market_view(m) for m in engine.markets]})

    async def get_market(request: web.Request) -> web.StreamResponse:
        return json_response(trading.market_view(request.match_info["market"]))

    async def post_ws_faults(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, ParadexWsFaultSpec)
        dropped = await drop_sockets() if spec.drop_connections else 0
        if spec.skip_order_book_seq_no:
            trading.books.skip_pending += 1
        return json_response({"dropped": dropped, "skip_order_book_seq_no": trading.books.skip_pending})

    async def venue_down(request: web.Request) -> web.StreamResponse:
        faults.configure(FaultSpec(http_status=503))
        dropped = await drop_sockets()
        log.info("paradex venue down (%d WebSocket connections dropped)", dropped)
        return json_response({"venue": "down", "dropped": dropped, "faults": faults.snapshot()})

    async def venue_up(request: web.Request) -> web.StreamResponse:
        faults.status_fault = None
        log.info("paradex venue up")
        return json_response({"venue": "up", "faults": faults.snapshot()})

    r = app.router
    r.add_post(ADMIN_PREFIX + "accounts", guarded(post_account))
    r.add_get(ADMIN_PREFIX + "accounts", guarded(list_accounts))
    r.add_get(ADMIN_PREFIX + "accounts/{address}", guarded(get_account))
    r.add_get(ADMIN_PREFIX + "markets", guarded(get_markets))
    r.add_get(ADMIN_PREFIX + "markets/{market}", guarded(get_market))
    r.add_post(ADMIN_PREFIX + "markets/{market}/mark", guarded(post_mark))
    r.add_post(ADMIN_PREFIX + "markets/{market}/funding", guarded(post_funding))
    r.add_post(ADMIN_PREFIX + "ws/faults", guarded(post_ws_faults))
    r.add_post(ADMIN_PREFIX + "venue/down", guarded(venue_down))
    r.add_post(ADMIN_PREFIX + "venue/up", guarded(venue_up))
    add_engine_fault_routes(app, engine, venue="paradex", response_key="engine_faults")
