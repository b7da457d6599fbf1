"""Lighter trading protocol of the simulator (issue #4 item 3), on top of the venue-neutral engine.

`LighterTrading` owns one `simulator.engine.Engine` (`LIGHTER_RULES`, hourly funding) built from the scenario's
`lighter/` files, turns the venue's transactions (`sendTx` / `sendTxBatch`) into engine calls and engine state
back into the venue's bodies, so that lighter-sdk 1.1.8 (`SignerClient`, `ApiClient`, `WsClient`) trades against
it as against the venue. Shapes: `../shared/reference/PROTOCOL_NOTES.md` §1.2-1.5, the SDK's models
(`lighter/models/*.py`, strictly validated by the tests), recorded `venue-data/lighter/rest_*.json`; error codes:
Lighter's table (apidocs.lighter.xyz "Data Structures, Constants and Errors"). `build_lighter_app`
(`simulator.lighter.api`) mounts it; the admin API is here too.

Engine set-up (`LighterTrading.__init__`), per `orderBookDetails` perp row (`lighter_market_spec`: tick
10^-price_decimals, step 10^-size_decimals, `min_base_amount`, `min_quote_amount`, margin fractions in 1e-4,
fees and liquidation fee in percent): the initial mark is `mark_price` (else `last_trade_price`); the funding
rate is Lighter's own `funding-rates` row (`exchange == "lighter"`, fraction per 8 h) / 8, held constant
(`ConstantRate`, fraction per hour; no row -> 0). Liquidity:

* a market with a recorded book (`orderBookOrders_<id>.json`) is seeded with those very orders (same order
  indexes, owners, sizes, time priority), quoted by an exempt "book" account around a mid path that starts at the
  recorded mark and stays there (`RecordedBookMaker`): consumed orders are put back `replenish_ms` (simulated) after
  a hit, and the whole recorded shape moves with the mid when the mark is moved (admin) or follows a random walk
  (admin, opt-in). The market-data contract of the recorded scenario (book, best bid/ask, mark) therefore holds
  until someone trades;
* a market without one gets the engine's synthetic liquidity (`Engine.add_liquidity`): `LiquidityConfig` levels
  of about `synthetic_level_notional` USD each around a seeded `RandomWalkMid` starting at the mark.
A market whose row is unusable is skipped with a logged reason (`exchange_clients.base.models.reject`) and keeps
its market-data-only behaviour.

Transactions (`POST /api/v1/sendTx`, form `tx_type`, `tx_info` = the signer's JSON text; `price_protection`
ignored). **Signatures (`Sig`) are never verified**: the signer library exports no verification. `ExpiredAt`,
`OrderExpiry` and auth-token deadlines are not checked: the SDK stamps them with the wall clock, while the
simulator's clock may run thousands of times faster. Checks in order, each an HTTP 400 `{"code", "message"}`
that leaves the nonce unchanged:

| check | code, message |
|---|---|
| tx_type other than 14 (create order), 15 (cancel), 16 (cancel all), 17 (modify), 20 (update leverage) | 21505 "unsupported tx type" |
| tx_info not a JSON object / a field missing or not an integer | 21501 "invalid tx info" |
| `AccountIndex` has no registered API key (`simulator.lighter.auth`) | 21100 "account not found" |
| `ApiKeyIndex` not registered for the account | 21109 "api key not found" |
| `Nonce` != the slot's next nonce (`GET /api/v1/nextNonce`) | 21104 "invalid nonce" (lighter-sdk then refetches its nonce) |
| create: `MarketIndex` not traded / `BaseAmount` not in 1..2^48-1 / `Price` not in 1..2^32-1 | 21602 / 21701 / 21702 |
| create: `IsAsk` / `Type` 2-6 / other `Type` / `TimeInForce` (market needs IOC) / `ReduceOnly` / `ClientOrderIndex` | 21703 / 21710 / 21704 / 21705 / 21740 / 21727 |
| create: below `min_base_amount` or `min_quote_amount` (at the order's price) | 21706 "invalid order base or quote amount" |
| create: client order index used before by the account | 21728 "client order index already exists" (the engine never reuses one) |
| create: a resting order (GTT / post-only limit) without enough margin | 21739 "not enough margin to create the order" |
| cancel: no open order with this `Index` (>= 2^48: order index, else client order index) | 21600 "given order is not an active limit order" |
| leverage: `MarketIndex` not traded / `MarginMode` not 0 (cross; isolated is not simulated) / `InitialMarginFraction` (1e-4 units) outside `min_initial_margin_fraction`..10000 | 21602 / 20001 "invalid param" |

Anything else is accepted: the nonce advances and the answer is `RespSendTx` (`venue-data/lighter/rest_sendTx_response.json`
plus the SDK's required `volume_quota_remaining`). What the sequencer decides afterwards shows as the order's
status (Lighter's docs: "taker orders will go through regardless ... and only fail at the sequencer level"):
`canceled-post-only` (post-only that would cross), `canceled-reduce-only`, `canceled-margin-not-allowed` (IOC /
market without margin), `canceled-too-much-slippage` (market order beyond its worst `Price`),
`canceled-not-enough-liquidity`, `canceled-self-trade`, `canceled` (IOC remainder, injected fault), `filled`,
`open`. A reduce-only order larger than the position is clamped (Lighter: "executing partially ... remaining portion
canceled once the position reaches zero"). Market orders trade each fill at or better than `Price` (the engine's
per-fill bound; Lighter bounds the average). `tx_hash` is a BLAKE2b-320 of the tx_info text (the signer's
Poseidon hash is not recomputed). `sendTxBatch` (`tx_types`, `tx_infos` JSON arrays, at most 50, one account and
key, nonces consecutive from the next nonce) runs the transactions in order and stops at the first refused one
(the ones before it stay executed).

Cancel all (16): `TimeInForce` 0 = now (all markets, or the market in `L2TxAttributes["5"]`, the key the signer
uses), 1 = scheduled at `Time` (simulator clock, ms; shown as the account's `cancel_all_time`), 2 = abort the
scheduled one.

REST (`authorization` header or `auth` query = `"{deadline}:{account}:{api_key}:{sig}"`, required where the venue
requires it, parsed but not verified; missing or naming another account -> 400 20001):

| path | answer |
|---|---|
| `GET /api/v1/account?by=index\\|l1_address&value` | `DetailedAccounts` (every field the SDK model requires); unknown -> 400 21100 |
| `GET /api/v1/accountActiveOrders?account_index&market_id?` (auth) | `Orders`: resting orders, oldest first |
| `GET /api/v1/accountInactiveOrders?account_index&limit&market_id?&cursor?` (auth) | `Orders`: finished orders, newest first, paged |
| `GET /api/v1/trades?sort_by&limit&account_index?&market_id?&sort_dir?&cursor?` (auth with an account) | `Trades` of the account (or of the market) |
| `GET /api/v1/recentTrades?market_id&limit` | `Trades`: the market's last trades, newest first |
| `GET /api/v1/positionFunding?account_index&limit&market_ids?&side?&start_timestamp?&end_timestamp?&cursor?` | `PositionFundings`: hourly payments, newest first |
| `GET /api/v1/orderBookOrders?market_id&limit` | the engine's book (individual orders, priority order) |

Units: sizes with `size_decimals`, prices with `price_decimals`, USDC with 6 decimals (`collateral`,
`available_balance` = equity - initial margin, `total_asset_value` = equity = collateral + unrealised PnL; the
recorded `rest_account_with_eth_position.json` satisfies both identities), position `initial_margin_fraction` in
percent ("5.00"), `liquidation_price` the mark at which equity would meet the maintenance requirement with every
other price fixed (reproduces the recorded 2191.11). `positionFunding.change` is USDC (negative = paid), `rate` the
hourly fraction applied (PROTOCOL_NOTES §1.4: inferred from one real row), `position_size` unsigned with
`position_side`. Trade `taker_fee` / `maker_fee` are the fee rates x 1e6 (omitted when 0, as recorded).

WebSocket (`simulator.lighter.api` sessions subscribe here, `LighterStreamHub`): `order_book/{m}` answers a
`subscribed/order_book` snapshot of the engine's book (every level, `begin_nonce` 0), then `update/order_book`
frames with the levels that changed (absolute sizes, "0.0000" = gone) as soon as the book changes (checked every
`sync_interval_seconds`) and empty heartbeats every push interval; `nonce` = a per-process base + the engine book's
change counter (`OrderBook.seq`), each frame's `begin_nonce` = the previous frame's `nonce` (heartbeats: equal).
`account_all/{a}` (an `auth` field is accepted, not verified) answers `subscribed/account_all` with the account's
positions, open orders, last trades and funding payments keyed by market id, then `update/account_all` with what
changed (positions in full, new trades, funding payments and orders), plus trade counts and volumes.

Admin (loopback only, `/_sim/...`; bodies in `simulator/README.md`, "Trading: Lighter"): `POST /_sim/accounts`,
`GET /_sim/accounts/{index}`, `GET /_sim/markets`, `GET /_sim/markets/{m}` (mark, funding rate and its source
label), `POST /_sim/markets/{m}/mark`, `POST /_sim/markets/{m}/funding`, `GET|POST /_sim/engine/faults`,
`POST /_sim/ws/faults`, `POST /_sim/venue/down|up`.

Scenario settings (`scenario.json`, `simulator.scenario.ScenarioSettings`): without an explicit `config`,
`trading.lighter` overrides `LighterTradingConfig` fields (`lighter_config_from_settings`) and
`trading.lighter.random_walk: true` moves recorded books along the config's random walk from start-up;
`funding.lighter` replaces a market's rate provider (then `funding-rates` / `market_stats` show the engine's rate,
as after the admin `funding` call); `faults.lighter` sets engine faults at construction and HTTP faults when the
admin routes are added (`add_trading_admin_routes`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import pairwise
from typing import Any, ClassVar, Protocol

from aiohttp import WSCloseCode, web
from pydantic import Field

from exchange_clients.base import units
from exchange_clients.base.errors import PerparbError
from exchange_clients.base.models import reject, reject_unit_error
from simulator.admin import (
    ADMIN_PREFIX,
    DepositSpec,
    FundingSpec,
    MarkSpec,
    WsFaultSpec,
    add_engine_fault_routes,
    admin_spec,
    local_only,
)
from simulator.engine import (
    INSURANCE_ACCOUNT_ID,
    Account,
    ConstantRate,
    Engine,
    EngineError,
    EngineEvent,
    Fill,
    FundingEvent,
    FundingPayment,
    InvalidModifyError,
    LeverageError,
    LiquidationEvent,
    LiquidityConfig,
    MarketSpec,
    MarketState,
    MidPath,
    Order,
    OrderEvent,
    OrderNotFoundError,
    OrderNotOpenError,
    OrderStatus,
    OrderType,
    RandomWalkMid,
    RateProvider,
    Reason,
    SeriesMid,
    Side,
    TimeInForce,
    TradeEvent,
    TradeKind,
)
from simulator.engine import accounts as margin
from simulator.faults import FaultInjector, FaultSpec
from simulator.formats import decimal_or_none, fixed, json_response
from simulator.lighter.auth import LIGHTER_ACCOUNT_NOT_FOUND, LighterApiKey, LighterApiKeys
from simulator.lighter.markets import LIGHTER_RULES, lighter_market_spec
from simulator.lighter.scenario import VENUE, LighterTradingSettings, lighter_data
from simulator.lighter.wire import lighter_status
from simulator.scenario import Scenario, SimClock

log = logging.getLogger("perparb.simulator")

ZERO = Decimal(0)
ORDER_INDEX_BASE = 1 << 48  # order indexes are >= 2^48; client order indexes are 1..2^48-1
CLIENT_ORDER_INDEX_MAX = (1 << 48) - 1
BASE_AMOUNT_MAX = (1 << 48) - 1
PRICE_MAX = (1 << 32) - 1
MAKER_ACCOUNT_BASE = (
    281_474_976_700_000  # + market id: the simulator's market makers (below the insurance fund)
)
BATCH_MAX = 50  # AppErrMaxBatchTx "maximum 50 transactions allowed per batch"
CANCEL_ALL_MARKET_ATTRIBUTE = "5"  # L2TxAttributes key the signer uses for cancel-all's market index
TX_CREATE_ORDER = 14
TX_CANCEL_ORDER = 15
TX_CANCEL_ALL = 16
TX_MODIFY_ORDER = 17
TX_UPDATE_LEVERAGE = (
    20  # lighter-sdk SignerClient.sign_update_leverage: MarketIndex, InitialMarginFraction, MarginMode
)
CROSS_MARGIN_MODE = 0  # lighter-sdk SignerClient.CROSS_MARGIN_MODE
SEND_TX_MESSAGE = '{"ratelimit": "didn\'t use volume quota"}'  # venue-data/lighter/rest_sendTx_response.json
USDC_PLACES = 6
MARGIN_TICK = Decimal(10_000)
PAGE_MAX = 100
WS_TRADES_KEPT = 50  # trades / funding payments per market in an account_all snapshot

# Lighter business errors (apidocs.lighter.xyz "Data Structures, Constants and Errors").
INVALID_PARAM = (20001, "invalid param ")
ACCOUNT_NOT_FOUND = (LIGHTER_ACCOUNT_NOT_FOUND["code"], LIGHTER_ACCOUNT_NOT_FOUND["message"])
INVALID_NONCE = (21104, "invalid nonce")
NON_INCREASING_NONCE = (21105, "batch transaction nonce is not increasing")
API_KEY_NOT_FOUND = (21109, "api key not found")
BATCH_MULTIPLE_OWNER = (21121, "all transactions in the batch must have use same account and apikey")
INVALID_TX_INFO = (21501, "invalid tx info")
UNSUPPORTED_TX_TYPE = (21505, "unsupported tx type")
BATCH_LENGTH_MISMATCH = (21513, "TxInfos and TxTypes should have the same length")
BATCH_TOO_LONG = (21514, "maximum 50 transactions allowed per batch")
INACTIVE_CANCEL = (21600, "given order is not an active limit order")
INVALID_MARKET_INDEX = (21602, "invalid market index")
INVALID_BASE_AMOUNT = (21701, "invalid base amount")
INVALID_PRICE = (21702, "invalid price")
INVALID_IS_ASK = (21703, "invalid isAsk")
INVALID_ORDER_TYPE = (21704, "invalid OrderType")
INVALID_TIME_IN_FORCE = (21705, "invalid OrderTimeInForce")
INVALID_ORDER_AMOUNT = (21706, "invalid order base or quote amount")
UNSUPPORTED_ORDER_TYPE = (21710, "unsupported order type")
INVALID_CANCEL_ALL_TIF = (21713, "invalid cancel all time in force")
INVALID_CLIENT_ORDER_INDEX = (21727, "invalid client order index")
CLIENT_ORDER_INDEX_EXISTS = (21728, "client order index already exists")
NOT_ENOUGH_ORDER_MARGIN = (21739, "not enough margin to create the order")
INVALID_REDUCE_ONLY_MODE = (21740, "invalid reduce only mode")

# Engine rejections the venue refuses at the API (HTTP 400, nonce unchanged); the others become order statuses.
_API_REJECTIONS: dict[Reason, tuple[int, str]] = {
    Reason.UNKNOWN_MARKET: INVALID_MARKET_INDEX,
    Reason.INVALID_SIZE: INVALID_BASE_AMOUNT,
    Reason.LOT_SIZE: INVALID_BASE_AMOUNT,
    Reason.MAX_SIZE: INVALID_BASE_AMOUNT,
    Reason.INVALID_PRICE: INVALID_PRICE,
    Reason.TICK_SIZE: INVALID_PRICE,
    Reason.MIN_SIZE: INVALID_ORDER_AMOUNT,
    Reason.MIN_NOTIONAL: INVALID_ORDER_AMOUNT,
    Reason.INVALID_TYPE: INVALID_TIME_IN_FORCE,
    Reason.DUPLICATE_CLIENT_ID: CLIENT_ORDER_INDEX_EXISTS,
}

_TIF_WORDS = {
    TimeInForce.IOC: "immediate-or-cancel",
    TimeInForce.GTC: "good-till-time",
    TimeInForce.POST_ONLY: "post-only",
}


class LighterRequestError(Exception):
    """A request the venue refuses: HTTP `status` with body `{"code": code, "message": message}`."""

    def __init__(self, error: tuple[int, str], *, status: int = 400, detail: str = "") -> None:
        self.status = status
        self.code, self.message = error
        self.detail = detail
        super().__init__(f"{self.code} {self.message}{': ' + detail if detail else ''}")

    @property
    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def _usdc(value: Decimal) -> str:
    return fixed(value, USDC_PLACES)


def _plain(value: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros ("0.00003", "-1.5", "0")."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def _tx_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=40).hexdigest()


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = value["o"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise LighterRequestError(INVALID_PARAM, detail=f"cursor {cursor!r}") from None
    if not isinstance(offset, int) or offset < 0:
        raise LighterRequestError(INVALID_PARAM, detail=f"cursor {cursor!r}")
    return offset


def _page(
    rows: list[dict[str, Any]], limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    start = _decode_cursor(cursor)
    chunk = rows[start : start + limit]
    nxt = _encode_cursor(start + limit) if start + limit < len(rows) else None
    return chunk, nxt


# ----------------------------------------------------------------------------------------------- market set-up


@dataclass
class LighterMarket:
    """One traded market: the venue's id and decimals, the engine key, the recorded reference prices.

    Attributes:
        market_id: Lighter market index; symbol: engine market key (orderBookDetails `symbol`).
        size_decimals / price_decimals: scaling of `BaseAmount` / `Price` integers and of every text amount.
        mark0 / index0: the recorded mark and index price (USD); the served index moves with the mark.
        funding_overridden: the admin API or `scenario.json` `funding` replaced the recorded funding rate (then
            `funding-rates` and `market_stats` show the engine's rate).
    """

    market_id: int
    symbol: str
    size_decimals: int
    price_decimals: int
    spec: MarketSpec
    mark0: Decimal
    index0: Decimal
    funding_overridden: bool = False

    def size_text(self, value: Decimal) -> str:
        return fixed(value, self.size_decimals)

    def price_text(self, value: Decimal) -> str:
        return fixed(value, self.price_decimals)

    def scaled_size(self, value: Decimal) -> int:
        return int(value.scaleb(self.size_decimals).to_integral_value())

    def scaled_price(self, value: Decimal) -> int:
        return int(value.scaleb(self.price_decimals).to_integral_value())


@dataclass
class OrderMeta:
    """What the venue shows of an order beyond the engine's `Order`.

    Attributes:
        order_index: the Lighter order index (recorded orders keep theirs; others 2^48 + engine order id).
        owner: account index shown as the owner (recorded orders: the recorded owner).
        nonce / api_key_index / tx_hash / block_height: of the transaction that created it (0 / "" for makers).
        order_expiry: `OrderExpiry` of the transaction (ms; 0 for IOC / market), or the recorded one.
        initial_size: size shown as `initial_base_amount` when it differs from the engine's (recorded orders).
    """

    order_index: int
    owner: int
    nonce: int = 0
    api_key_index: int = 0
    tx_hash: str = ""
    block_height: int = 0
    order_expiry: int = 0
    initial_size: Decimal | None = None
    transaction_time_us: int | None = None


@dataclass
class RecordedQuote:
    """One order of a recorded book, relative to the recorded mark: `price = mid + offset` (tick-rounded away
    from the mid), `size` base units."""

    side: Side
    offset: Decimal
    size: Decimal
    owner: int
    order_index: int | None
    initial_size: Decimal | None
    order_expiry: int
    transaction_time_us: int | None
    order: Order | None = None


class RecordedBookMaker:
    """Keeps a market's recorded order book in the engine (see the module docstring).

    Args:
        trading: the venue (engine access and order metadata); market: the market;
        account_id: the exempt account quoting the book; quotes: the recorded orders in priority order;
        replenish_ms: simulated ms after a hit before consumed orders are put back.
    """

    def __init__(
        self,
        trading: LighterTrading,
        market: LighterMarket,
        account_id: int,
        quotes: list[RecordedQuote],
        replenish_ms: int,
    ) -> None:
        self.trading = trading
        self.market = market
        self.account_id = account_id
        self.quotes = quotes
        self.replenish_ms = replenish_ms
        self.path: MidPath = SeriesMid([(0, market.mark0)])
        self.last_mid: Decimal | None = None
        self.hit_ms: int | None = None
        self.refreshes = 0

    def _price(self, quote: RecordedQuote, mid: Decimal) -> Decimal:
        tick = self.market.spec.tick_size
        raw = (mid + quote.offset) / tick
        rounding = ROUND_FLOOR if quote.side is Side.BUY else ROUND_CEILING
        return raw.to_integral_value(rounding=rounding) * tick

    def _place(self, quote: RecordedQuote, mid: Decimal, *, first: bool) -> None:
        engine = self.trading.engine
        old = quote.order
        if old is not None:
            if old.resting:
                engine.cancel(self.account_id, old.order_id)
            self.trading.forget_order_meta(old)  # trades were recorded when they happened
        quote.order = None
        price = self._price(quote, mid)
        if price <= 0:
            return
        order = engine.place(self.account_id, self.market.symbol, quote.side, quote.size, price)
        if order.status is OrderStatus.REJECTED:
            log.debug(
                "lighter market %d: recorded order at %s refused by the engine (%s)",
                self.market.market_id,
                price,
                order.reason.value if order.reason else "?",
            )
            return
        meta = OrderMeta(
            order_index=quote.order_index
            if first and quote.order_index is not None
            else ORDER_INDEX_BASE + order.order_id,
            owner=quote.owner,
            order_expiry=quote.order_expiry,
            initial_size=quote.initial_size if first else None,
            transaction_time_us=quote.transaction_time_us if first else None,
        )
        if order.resting:
            self.trading.register_order_meta(order, meta)
            quote.order = order

    def seed(self) -> None:
        """Place every recorded order at its recorded price (the mid is the recorded mark)."""
        mid = self.path(self.trading.engine.now_ms())
        for quote in self.quotes:
            self._place(quote, mid, first=True)
        self.last_mid = mid
        self.refreshes += 1

    def on_hit(self, now_ms: int) -> None:
        """One of the maker's orders traded."""
        if self.hit_ms is None:
            self.hit_ms = now_ms

    def refresh(self, now_ms: int) -> None:
        """Follow the mid path (moving the mark and the whole book) and put back consumed orders."""
        engine = self.trading.engine
        mid = self.path(now_ms)
        state = engine.market(self.market.symbol)
        if mid != self.last_mid:
            if mid != state.mark_price:
                engine.set_mark_price(self.market.symbol, mid)
            self.last_mid = mid
            self.hit_ms = None
            for quote in self.quotes:
                self._place(quote, mid, first=False)
            self.refreshes += 1
            return
        if self.hit_ms is None or now_ms - self.hit_ms < self.replenish_ms:
            return
        self.hit_ms = None
        for quote in self.quotes:
            order = quote.order
            if order is None or not order.resting or order.remaining != quote.size:
                self._place(quote, mid, first=False)
        self.refreshes += 1


@dataclass
class LighterTradingConfig:
    """Tunables of the Lighter trading venue (defaults documented in `simulator/README.md`).

    Attributes:
        sync_interval_seconds: real seconds between background syncs (funding, liquidity, WebSocket pushes).
        replenish_ms: simulated ms before a hit market maker puts its orders back.
        levels / spread_bps / level_step_bps / level_notional: synthetic depth (markets without a recorded book):
            levels a side, best bid-ask distance and level spacing in bps of the mid, USD per level.
        walk_vol_bps / walk_step_ms / seed: the synthetic mid's random walk (seed + market id per market).
        volume_quota_remaining: the `volume_quota_remaining` of every `RespSendTx` (required by the SDK model;
            its meaning is not documented).
    """

    sync_interval_seconds: float = 0.05
    replenish_ms: int = 1000
    levels: int = 10
    spread_bps: Decimal = Decimal(4)
    level_step_bps: Decimal = Decimal(2)
    level_notional: Decimal = Decimal(50_000)
    walk_vol_bps: Decimal = Decimal(5)
    walk_step_ms: int = 1000
    seed: int = 7
    volume_quota_remaining: int = 1_000_000


def lighter_config_from_settings(settings: LighterTradingSettings) -> LighterTradingConfig:
    """`LighterTradingConfig` defaults overridden by the fields `scenario.json` `trading.lighter` gives."""
    return replace(LighterTradingConfig(), **settings.config_overrides())


@dataclass
class _AccountFeed:
    """What changed for a subscribed account since its last `account_all` frame."""

    trades: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    funding: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    dirty: bool = False


class Subscriber(Protocol):
    """A WebSocket session: frames are queued in call order (`enqueue` never blocks)."""

    def enqueue(self, frame: dict[str, Any]) -> None: ...


# ----------------------------------------------------------------------------------------------- venue


class LighterTrading:
    """The Lighter trading venue: engine, order ids, nonces, transaction handling and response bodies.

    Args:
        scenario: the loaded scenario (its `lighter/` bodies); clock: the simulator clock (shared);
        api_keys: the API-key registry of `simulator.lighter.auth` (its slots' `nonce` is the transaction nonce);
        config: tunables.

    Not thread-safe: used from the server's event loop only.
    """

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        api_keys: LighterApiKeys,
        config: LighterTradingConfig | None = None,
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.api_keys = api_keys
        settings = scenario.settings.venue_trading(VENUE) or LighterTradingSettings()
        self.config = config or lighter_config_from_settings(settings)
        self.random_walk_recorded = settings.random_walk
        self.engine = Engine(LIGHTER_RULES, clock=clock)
        self.engine.listeners.append(self._on_event)
        self.markets: dict[int, LighterMarket] = {}
        self.by_symbol: dict[str, LighterMarket] = {}
        self.makers: dict[int, RecordedBookMaker] = {}
        self.meta: dict[int, OrderMeta] = {}  # engine order id -> meta
        self.by_index: dict[int, int] = {}  # Lighter order index -> engine order id
        self.l1_addresses: dict[int, str] = {}
        self.created_ms: dict[int, int] = {}
        self.cancel_all_at: dict[int, int] = {}  # account -> scheduled cancel-all time (ms)
        self.trades: dict[int, list[dict[str, Any]]] = {}  # user account -> trades, oldest first
        self.market_trades: dict[int, deque[dict[str, Any]]] = {}
        self.funding: dict[int, list[dict[str, Any]]] = {}  # user account -> payments, oldest first
        self.entry_before: dict[tuple[int, str], Decimal] = {}
        self.block_height = 1
        self.hub = LighterStreamHub(self)
        self._task: asyncio.Task[None] | None = None
        self._build_markets()
        self._apply_engine_faults()

    # ------------------------------------------------------------------------------------------ set-up

    def _lighter_rates(self) -> dict[int, Decimal]:
        body = lighter_data(self.scenario).funding_rates or {}
        out: dict[int, Decimal] = {}
        for row in body.get("funding_rates") or []:
            if not isinstance(row, dict) or row.get("exchange") != "lighter":
                continue
            market_id = row.get("market_id")
            if not isinstance(market_id, int) or isinstance(market_id, bool):
                continue
            try:
                out[market_id] = units.hourly_from_8h(units.to_decimal(row.get("rate"), "rate"))
            except units.UnitError as exc:
                reject_unit_error("lighter-sim", "funding-rates", str(row.get("symbol")), exc)
        return out

    def _build_markets(self) -> None:
        rates = self._lighter_rates()
        for row in lighter_data(self.scenario).perp_details():
            market_id = row["market_id"]
            symbol = str(row["symbol"])
            try:
                spec = lighter_market_spec(row)
            except units.UnitError as exc:
                reject_unit_error("lighter-sim", "orderBookDetails", symbol, exc)
                continue
            except ValueError as exc:
                reject("lighter-sim", "orderBookDetails", symbol, "market", market_id, str(exc))
                continue
            if spec.mark_price is None or symbol in self.by_symbol:
                reject(
                    "lighter-sim",
                    "orderBookDetails",
                    symbol,
                    "mark_price",
                    row.get("mark_price"),
                    "no usable mark price or duplicate symbol",
                )
                continue
            configured = self.scenario.funding_provider("lighter", symbol, str(market_id))
            funding: RateProvider
            if configured is not None:
                funding = configured
            else:
                rate = rates.get(market_id)
                funding = ConstantRate(
                    rate if rate is not None else ZERO,
                    label=f"lighter funding-rates {symbol} / 8"
                    if rate is not None
                    else "no lighter funding-rates row",
                )
            self.engine.add_market(spec, funding=funding)
            index = decimal_or_none(
                row.get("index_price"), "index_price", context=f"orderBookDetails {symbol}"
            )
            market = LighterMarket(
                market_id=market_id,
                symbol=symbol,
                size_decimals=row["size_decimals"],
                price_decimals=row["price_decimals"],
                spec=spec,
                mark0=spec.mark_price,
                index0=index if index is not None and index > 0 else spec.mark_price,
                funding_overridden=configured is not None,
            )
            self.markets[market_id] = market
            self.by_symbol[symbol] = market
            self.market_trades[market_id] = deque(maxlen=1000)
            self._add_liquidity(market)

    def _recorded_quotes(self, market: LighterMarket) -> list[RecordedQuote] | None:
        body = lighter_data(self.scenario).order_book_orders.get(market.market_id)
        if body is None:
            return None
        quotes: list[RecordedQuote] = []
        for side, key in ((Side.SELL, "asks"), (Side.BUY, "bids")):
            for row in body[key]:
                ctx = f"orderBookOrders {market.symbol}"
                price = decimal_or_none(row.get("price"), "price", context=ctx)
                size = decimal_or_none(row.get("remaining_base_amount"), "remaining_base_amount", context=ctx)
                if price is None or size is None or price <= 0 or size <= 0:
                    reject(
                        "lighter-sim", "orderBookOrders", market.symbol, "order", row, "no usable price/size"
                    )
                    continue
                index = row.get("order_index")
                owner = row.get("owner_account_index")
                expiry = row.get("order_expiry")
                ttime = row.get("transaction_time")
                initial = decimal_or_none(row.get("initial_base_amount"), "initial_base_amount", context=ctx)
                quotes.append(
                    RecordedQuote(
                        side=side,
                        offset=price - market.mark0,
                        size=size,
                        owner=owner if isinstance(owner, int) else MAKER_ACCOUNT_BASE + market.market_id,
                        order_index=index if isinstance(index, int) and index >= ORDER_INDEX_BASE else None,
                        initial_size=initial if initial is not None and initial >= size else None,
                        order_expiry=expiry if isinstance(expiry, int) else 0,
                        transaction_time_us=ttime if isinstance(ttime, int) else None,
                    )
                )
        return quotes

    def _add_liquidity(self, market: LighterMarket) -> None:
        account_id = MAKER_ACCOUNT_BASE + market.market_id
        quotes = self._recorded_quotes(market)
        if quotes is not None:
            self.engine.create_account(account_id, exempt=True).keep_order_history = False
            maker = RecordedBookMaker(self, market, account_id, quotes, self.config.replenish_ms)
            if self.random_walk_recorded:
                maker.path = self._walk(market)
            self.makers[market.market_id] = maker
            maker.seed()
            return
        cfg = self.config
        size = cfg.level_notional / market.mark0
        config = LiquidityConfig(
            levels=cfg.levels,
            spread_bps=cfg.spread_bps,
            level_step_bps=cfg.level_step_bps,
            size_per_level=size,
            replenish_ms=cfg.replenish_ms,
        )
        self.engine.add_liquidity(market.symbol, self._walk(market), config, account_id=account_id)

    def _walk(self, market: LighterMarket) -> RandomWalkMid:
        """The config's random walk of `market`'s mid from now, starting at the recorded mark."""
        cfg = self.config
        return RandomWalkMid(
            market.mark0,
            start_ms=self.engine.now_ms(),
            seed=cfg.seed + market.market_id,
            step_ms=cfg.walk_step_ms,
            vol_bps=cfg.walk_vol_bps,
        )

    def _apply_engine_faults(self) -> None:
        """`scenario.json` `faults.lighter.engine`, active from start-up (after the recorded books are seeded)."""
        spec = self.scenario.settings.venue_faults(VENUE).engine
        if spec is None:
            return
        spec.apply(self.engine.faults)
        log.info("lighter engine faults from scenario.json: %s", self.engine.faults.snapshot())

    def apply_http_faults(self, faults: FaultInjector) -> None:
        """`scenario.json` `faults.lighter.http` (a `POST /_sim/faults` body) applied to this venue's injector."""
        spec = self.scenario.settings.venue_faults(VENUE).http
        if spec is not None:
            faults.configure(spec)

    # ------------------------------------------------------------------------------------------ lookups

    def market(self, market_id: int) -> LighterMarket | None:
        """The traded market with this Lighter index, or None."""
        return self.markets.get(market_id)

    def resolve_market(self, text: str) -> LighterMarket:
        """A market by index ("0") or symbol ("ETH").

        Raises:
            KeyError: no such traded market.
        """
        if text.isdigit() and int(text) in self.markets:
            return self.markets[int(text)]
        if text in self.by_symbol:
            return self.by_symbol[text]
        raise KeyError(text)

    def register_order_meta(self, order: Order, meta: OrderMeta) -> None:
        """Remember how the venue shows an engine order (its Lighter index, owner, transaction)."""
        self.meta[order.order_id] = meta
        self.by_index[meta.order_index] = order.order_id

    def forget_order_meta(self, order: Order) -> None:
        """Drop the venue view of a finished market-maker order (bounded memory under a moving mid)."""
        meta = self.meta.pop(order.order_id, None)
        if meta is not None:
            self.by_index.pop(meta.order_index, None)

    def index_of_id(self, order_id: int) -> int:
        """The Lighter order index of an engine order id (0 for none, e.g. a liquidation's insurance side)."""
        if not order_id:
            return 0
        meta = self.meta.get(order_id)
        return meta.order_index if meta is not None else ORDER_INDEX_BASE + order_id

    def _slot(self, account_index: int, api_key_index: int) -> LighterApiKey:
        """The registered API-key slot (its `nonce` is the next transaction nonce).

        `LighterApiKeys` has no public slot accessor; this reads its registry (same process, same loop).

        Raises:
            LighterRequestError: 21100 unknown account, 21109 empty slot.
        """
        slots = self.api_keys._keys.get(account_index)
        if slots is None:
            raise LighterRequestError(ACCOUNT_NOT_FOUND, detail=f"account {account_index}")
        slot = slots.get(api_key_index)
        if slot is None:
            raise LighterRequestError(
                API_KEY_NOT_FOUND, detail=f"account {account_index} key {api_key_index}"
            )
        return slot

    def ensure_account(self, account_index: int) -> Account:
        """The engine account of a known venue account (created with 0 USDC the first time).

        Raises:
            LighterRequestError: 21100 when neither the engine nor the key registry knows the account.
        """
        account = self.engine.accounts.get(account_index)
        if account is not None and not account.exempt:
            return account
        if account is None and account_index in self.api_keys._keys and account_index < MAKER_ACCOUNT_BASE:
            account = self.engine.create_account(account_index)
            self.created_ms[account_index] = self.engine.now_ms()
            return account
        raise LighterRequestError(ACCOUNT_NOT_FOUND, detail=f"account {account_index}")

    def l1_address(self, account_index: int) -> str:
        return self.l1_addresses.get(account_index, "0x" + format(account_index, "040x"))

    # ------------------------------------------------------------------------------------------ time

    def sync(self) -> None:
        """Bring the engine to the clock (funding, marks, synthetic liquidity), keep the recorded books and run
        scheduled cancel-alls."""
        engine = self.engine
        engine.sync()
        now = engine.now_ms()
        for maker in self.makers.values():
            maker.refresh(now)
        for account_id, at in list(self.cancel_all_at.items()):
            if now >= at:
                del self.cancel_all_at[account_id]
                engine.cancel_all(account_id)

    async def run(self) -> None:
        """Background loop: sync and push WebSocket frames every `sync_interval_seconds` until cancelled.
        Errors of one round are logged and do not stop the loop."""
        while True:
            try:
                self.sync()
                self.hub.tick(time.monotonic())
            except (ArithmeticError, LookupError, ValueError, PerparbError):
                log.exception("lighter trading sync failed")
            await asyncio.sleep(self.config.sync_interval_seconds)

    async def start(self, app: web.Application) -> None:
        """aiohttp `on_startup`: start the background loop."""
        self._task = asyncio.create_task(self.run())

    async def stop(self, app: web.Application) -> None:
        """aiohttp `on_cleanup`: stop the background loop."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ------------------------------------------------------------------------------------------ events

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, TradeEvent):
            self._record_trade(event)
        elif isinstance(event, OrderEvent):
            order = event.order
            account = self.engine.accounts.get(order.account_id)
            if account is not None and not account.exempt:
                self.hub.on_order(order)
        elif isinstance(event, FundingEvent):
            self._record_funding(event.payment)
        elif isinstance(event, LiquidationEvent):
            self.hub.touch(event.account_id)

    def _entry_shift(self, fill: Fill) -> Decimal:
        """Average entry price before `fill` (0 when flat), and remember the one after it."""
        key = (fill.account_id, fill.market)
        before = self.entry_before.get(key, ZERO) if fill.position_before else ZERO
        pos = self.engine.accounts[fill.account_id].positions.get(fill.market)
        self.entry_before[key] = pos.entry_price if pos is not None else ZERO
        return before

    def _record_trade(self, event: TradeEvent) -> None:
        trade = event.trade
        market = self.by_symbol.get(trade.market)
        if market is None:
            return
        maker, taker = event.maker_fill, event.taker_fill
        maker_entry = self._entry_shift(maker)
        taker_entry = self._entry_shift(taker)
        for fill in (maker, taker):
            book_maker = self.makers.get(market.market_id)
            if book_maker is not None and fill.account_id == book_maker.account_id:
                book_maker.on_hit(trade.ts_ms)
        ask, bid = (maker, taker) if maker.side is Side.SELL else (taker, maker)
        ask_index, bid_index = self.index_of_id(ask.order_id), self.index_of_id(bid.order_id)
        taker_meta = self.meta.get(taker.order_id) if taker.order_id else None
        spec = market.spec
        state = self.engine.market(market.symbol)

        def imf(fill: Fill) -> int:
            account = self.engine.accounts.get(fill.account_id)
            fraction = (
                margin.initial_margin_fraction(account, state)
                if account is not None
                else state.spec.initial_margin_fraction
            )
            return int(fraction * MARGIN_TICK)

        row: dict[str, Any] = {
            "trade_id": trade.trade_id,
            "trade_id_str": str(trade.trade_id),
            "tx_hash": taker_meta.tx_hash
            if taker_meta and taker_meta.tx_hash
            else _tx_hash(f"trade:{trade.trade_id}"),
            "type": "liquidation" if trade.kind is TradeKind.LIQUIDATION else "trade",
            "market_id": market.market_id,
            "size": market.size_text(trade.size),
            "price": market.price_text(trade.price),
            "usd_amount": _usdc(trade.size * trade.price),
            "ask_id": ask_index,
            "ask_id_str": str(ask_index),
            "bid_id": bid_index,
            "bid_id_str": str(bid_index),
            "ask_client_id": int(ask.client_id) if isinstance(ask.client_id, int) else 0,
            "ask_client_id_str": str(ask.client_id if isinstance(ask.client_id, int) else 0),
            "bid_client_id": int(bid.client_id) if isinstance(bid.client_id, int) else 0,
            "bid_client_id_str": str(bid.client_id if isinstance(bid.client_id, int) else 0),
            "ask_account_id": self._owner(ask),
            "bid_account_id": self._owner(bid),
            "is_maker_ask": maker.side is Side.SELL,
            "block_height": self.block_height,
            "timestamp": trade.ts_ms,
            "taker_position_size_before": market.size_text(taker.position_before),
            "taker_entry_quote_before": _usdc(abs(taker.position_before) * taker_entry),
            "taker_initial_margin_fraction_before": imf(taker),
            "taker_position_sign_changed": _sign(taker.position_before) != _sign(taker.position_after),
            "maker_position_size_before": market.size_text(maker.position_before),
            "maker_entry_quote_before": _usdc(abs(maker.position_before) * maker_entry),
            "maker_initial_margin_fraction_before": imf(maker),
            "maker_position_sign_changed": _sign(maker.position_before) != _sign(maker.position_after),
            "transaction_time": trade.ts_ms * 1000,
            "bid_account_pnl": _usdc(bid.realized_pnl),
            "ask_account_pnl": _usdc(ask.realized_pnl),
            "integrator_maker_fee": 0,
            "integrator_maker_fee_collector_index": 0,
            "integrator_taker_fee": 0,
            "integrator_taker_fee_collector_index": 0,
            "taker_allocated_margin_usdc_before": 0,
            "taker_allocated_margin_usdc_after": 0,
            "maker_allocated_margin_usdc_before": 0,
            "maker_allocated_margin_usdc_after": 0,
            "bid_order_version": 0,
            "ask_order_version": 0,
            "market_symbol": market.symbol,
            "market_kind": "perps",
        }
        if trade.kind is TradeKind.TRADE:
            if spec.taker_fee:
                row["taker_fee"] = int(spec.taker_fee * 1_000_000)
            if spec.maker_fee:
                row["maker_fee"] = int(spec.maker_fee * 1_000_000)
        self.market_trades[market.market_id].append(row)
        for fill in (maker, taker):
            account = self.engine.accounts[fill.account_id]
            if account.exempt:
                continue
            self.trades.setdefault(fill.account_id, []).append(row)
            self.hub.on_trade(fill.account_id, market.market_id, row)

    def _owner(self, fill: Fill) -> int:
        """Account index the venue shows for a fill's side (a recorded order keeps its recorded owner)."""
        meta = self.meta.get(fill.order_id) if fill.order_id else None
        return meta.owner if meta is not None else fill.account_id

    def _record_funding(self, payment: FundingPayment) -> None:
        market = self.by_symbol.get(payment.market)
        account = self.engine.accounts.get(payment.account_id)
        if market is None or account is None or account.exempt:
            return
        row = {
            "timestamp": payment.ts_ms // 1000,
            "market_id": market.market_id,
            "funding_id": payment.payment_id,
            "change": _usdc(payment.amount),
            "discount": _usdc(ZERO),
            "rate": _plain(payment.rate_hourly),
            "position_size": market.size_text(abs(payment.position_size)),
            "position_side": "long" if payment.position_size > 0 else "short",
        }
        self.funding.setdefault(payment.account_id, []).append(row)
        self.hub.on_funding(payment.account_id, market.market_id, row)

    # ------------------------------------------------------------------------------------------ transactions

    def send_tx(self, tx_type: int, tx_info_text: str) -> dict[str, Any]:
        """`POST /api/v1/sendTx`: check and execute one transaction (table in the module docstring).

        Returns:
            The `RespSendTx` body (code 200).

        Raises:
            LighterRequestError: the venue's HTTP 400 answer; the nonce is then unchanged.
        """
        self.sync()
        info = self._parse_info(tx_type, tx_info_text)
        slot = self._authorise(info)
        if info["Nonce"] != slot.nonce:
            raise LighterRequestError(INVALID_NONCE, detail=f"got {info['Nonce']}, next is {slot.nonce}")
        tx_hash = _tx_hash(tx_info_text)
        self._execute(tx_type, info, tx_hash)
        slot.nonce += 1
        self.block_height += 1
        return {
            "code": 200,
            "message": SEND_TX_MESSAGE,
            "tx_hash": tx_hash,
            "predicted_execution_time_ms": self.engine.now_ms(),
            "volume_quota_remaining": self.config.volume_quota_remaining,
        }

    def send_tx_batch(self, tx_types: list[int], tx_infos: list[str]) -> dict[str, Any]:
        """`POST /api/v1/sendTxBatch`: the transactions in order (one account and key, consecutive nonces).

        Returns:
            The `RespSendTxBatch` body (`tx_hash` list).

        Raises:
            LighterRequestError: 21513 / 21514 / 21501 / 21121 / 21104 / 21105 before anything runs, or the first
                refused transaction's error (those before it stay executed).
        """
        self.sync()
        if len(tx_types) != len(tx_infos):
            raise LighterRequestError(BATCH_LENGTH_MISMATCH)
        if len(tx_types) > BATCH_MAX:
            raise LighterRequestError(BATCH_TOO_LONG)
        if not tx_types:
            raise LighterRequestError(INVALID_TX_INFO, detail="empty batch")
        parsed = [self._parse_info(t, text) for t, text in zip(tx_types, tx_infos, strict=True)]
        owners = {(p["AccountIndex"], p["ApiKeyIndex"]) for p in parsed}
        if len(owners) != 1:
            raise LighterRequestError(BATCH_MULTIPLE_OWNER)
        slot = self._authorise(parsed[0])
        if parsed[0]["Nonce"] != slot.nonce:
            raise LighterRequestError(INVALID_NONCE, detail=f"got {parsed[0]['Nonce']}, next is {slot.nonce}")
        for before, after in pairwise(parsed):
            if after["Nonce"] != before["Nonce"] + 1:
                raise LighterRequestError(NON_INCREASING_NONCE)
        hashes: list[str] = []
        for tx_type, info, text in zip(tx_types, parsed, tx_infos, strict=True):
            tx_hash = _tx_hash(text if isinstance(text, str) else json.dumps(text))
            self._execute(tx_type, info, tx_hash)
            slot.nonce += 1
            hashes.append(tx_hash)
        self.block_height += 1
        return {
            "code": 200,
            "message": SEND_TX_MESSAGE,
            "tx_hash": hashes,
            "predicted_execution_time_ms": self.engine.now_ms(),
            "volume_quota_remaining": self.config.volume_quota_remaining,
        }

    _REQUIRED: ClassVar[dict[int, tuple[str, ...]]] = {
        TX_CREATE_ORDER: (
            "MarketIndex",
            "ClientOrderIndex",
            "BaseAmount",
            "Price",
            "IsAsk",
            "Type",
            "TimeInForce",
            "ReduceOnly",
            "TriggerPrice",
            "OrderExpiry",
        ),
        TX_CANCEL_ORDER: ("MarketIndex", "Index"),
        TX_CANCEL_ALL: ("TimeInForce", "Time"),
        TX_MODIFY_ORDER: ("MarketIndex", "Index", "BaseAmount", "Price", "TriggerPrice"),
        TX_UPDATE_LEVERAGE: ("MarketIndex", "InitialMarginFraction", "MarginMode"),
    }

    def _parse_info(self, tx_type: Any, text: Any) -> dict[str, Any]:
        if not isinstance(tx_type, int) or isinstance(tx_type, bool) or tx_type not in self._REQUIRED:
            raise LighterRequestError(UNSUPPORTED_TX_TYPE, detail=f"tx_type {tx_type!r}")
        if isinstance(text, dict):
            info: Any = text
        else:
            try:
                info = json.loads(text)
            except (TypeError, ValueError):
                raise LighterRequestError(INVALID_TX_INFO, detail="not JSON") from None
        if not isinstance(info, dict):
            raise LighterRequestError(INVALID_TX_INFO, detail="not a JSON object")
        for key in ("AccountIndex", "ApiKeyIndex", "Nonce", *self._REQUIRED[tx_type]):
            value = info.get(key)
            if not isinstance(value, int) or isinstance(value, bool):
                raise LighterRequestError(INVALID_TX_INFO, detail=f"{key}={value!r}")
        return info

    def _authorise(self, info: dict[str, Any]) -> LighterApiKey:
        slot = self._slot(info["AccountIndex"], info["ApiKeyIndex"])
        self.ensure_account(info["AccountIndex"])
        return slot

    def _execute(self, tx_type: int, info: dict[str, Any], tx_hash: str) -> None:
        if tx_type == TX_CREATE_ORDER:
            self._create_order(info, tx_hash)
        elif tx_type == TX_CANCEL_ORDER:
            self._cancel_order(info)
        elif tx_type == TX_MODIFY_ORDER:
            self._modify_order(info)
        elif tx_type == TX_UPDATE_LEVERAGE:
            self._update_leverage(info)
        else:
            self._cancel_all(info)

    def _create_order(self, info: dict[str, Any], tx_hash: str) -> None:
        account_id = info["AccountIndex"]
        market = self.markets.get(info["MarketIndex"])
        if market is None:
            raise LighterRequestError(INVALID_MARKET_INDEX, detail=f"market {info['MarketIndex']}")
        base_amount, price_int = info["BaseAmount"], info["Price"]
        if not 1 <= base_amount <= BASE_AMOUNT_MAX:
            raise LighterRequestError(INVALID_BASE_AMOUNT, detail=str(base_amount))
        if not 1 <= price_int <= PRICE_MAX:
            raise LighterRequestError(INVALID_PRICE, detail=str(price_int))
        if info["IsAsk"] not in (0, 1):
            raise LighterRequestError(INVALID_IS_ASK)
        kind = info["Type"]
        if 2 <= kind <= 6:
            raise LighterRequestError(UNSUPPORTED_ORDER_TYPE, detail=f"Type {kind} (trigger / TWAP orders)")
        if kind not in (0, 1):
            raise LighterRequestError(INVALID_ORDER_TYPE, detail=f"Type {kind}")
        tif_int = info["TimeInForce"]
        if tif_int not in (0, 1, 2) or (kind == 1 and tif_int != 0):
            raise LighterRequestError(INVALID_TIME_IN_FORCE, detail=f"TimeInForce {tif_int}")
        if info["ReduceOnly"] not in (0, 1):
            raise LighterRequestError(INVALID_REDUCE_ONLY_MODE)
        client = info["ClientOrderIndex"]
        if not 0 <= client <= CLIENT_ORDER_INDEX_MAX:
            raise LighterRequestError(INVALID_CLIENT_ORDER_INDEX, detail=str(client))
        tif = (TimeInForce.IOC, TimeInForce.GTC, TimeInForce.POST_ONLY)[tif_int]
        order = self.engine.place(
            account_id,
            market.symbol,
            Side.SELL if info["IsAsk"] else Side.BUY,
            Decimal(base_amount).scaleb(-market.size_decimals),
            Decimal(price_int).scaleb(-market.price_decimals),
            type=OrderType.MARKET if kind == 1 else OrderType.LIMIT,
            tif=TimeInForce.IOC if kind == 1 else tif,
            reduce_only=bool(info["ReduceOnly"]),
            client_id=client or None,
        )
        error = self._api_rejection(order)
        if error is not None:
            self.engine.accounts[account_id].orders.pop(order.order_id, None)
            self.hub.forget_order(order)
            raise LighterRequestError(error, detail=order.reason.value if order.reason else "")
        expiry = info["OrderExpiry"]
        self.register_order_meta(
            order,
            OrderMeta(
                order_index=ORDER_INDEX_BASE + order.order_id,
                owner=account_id,
                nonce=info["Nonce"],
                api_key_index=info["ApiKeyIndex"],
                tx_hash=tx_hash,
                block_height=self.block_height,
                order_expiry=expiry if expiry > 0 else 0,
            ),
        )

    @staticmethod
    def _api_rejection(order: Order) -> tuple[int, str] | None:
        """The venue's API-level error for an engine rejection, None when the venue accepts the transaction."""
        if order.status is not OrderStatus.REJECTED or order.reason is None:
            return None
        if order.reason is Reason.INSUFFICIENT_MARGIN:
            resting = order.type is OrderType.LIMIT and order.tif is not TimeInForce.IOC
            return NOT_ENOUGH_ORDER_MARGIN if resting else None
        return _API_REJECTIONS.get(order.reason)

    def _resolve_order(self, info: dict[str, Any]) -> tuple[int, Order]:
        """(account id, resting order) named by `MarketIndex` + `Index` (an order index, or a client order index
        below 2^48), as cancel (15) and modify (17) address orders. Raises LighterRequestError 21602 / 21600."""
        account_id, index = info["AccountIndex"], info["Index"]
        market = self.markets.get(info["MarketIndex"])
        if market is None:
            raise LighterRequestError(INVALID_MARKET_INDEX, detail=f"market {info['MarketIndex']}")
        account = self.engine.account(account_id)
        if index >= ORDER_INDEX_BASE:
            order_id = self.by_index.get(index)
        elif index > 0:
            order_id = account.client_ids.get(index)
        else:
            order_id = None
        order = account.orders.get(order_id) if order_id is not None else None
        if order is None or order.market != market.symbol or not order.resting:
            raise LighterRequestError(INACTIVE_CANCEL, detail=f"index {index}")
        return account_id, order

    def _cancel_order(self, info: dict[str, Any]) -> None:
        account_id, order = self._resolve_order(info)
        try:
            self.engine.cancel(account_id, order.order_id)
        except (OrderNotFoundError, OrderNotOpenError):
            raise LighterRequestError(INACTIVE_CANCEL, detail=f"index {info['Index']}") from None

    def _modify_order(self, info: dict[str, Any]) -> None:
        """tx type 17: new `BaseAmount` (total size) and `Price` for a resting limit order, same order index; it
        loses time priority and may match at once (`Engine.modify`). Trigger prices are not supported."""
        account_id, order = self._resolve_order(info)
        market = self.markets[info["MarketIndex"]]
        base_amount, price_int = info["BaseAmount"], info["Price"]
        if not 1 <= base_amount <= BASE_AMOUNT_MAX:
            raise LighterRequestError(INVALID_BASE_AMOUNT, detail=str(base_amount))
        if not 1 <= price_int <= PRICE_MAX:
            raise LighterRequestError(INVALID_PRICE, detail=str(price_int))
        if info["TriggerPrice"]:
            raise LighterRequestError(UNSUPPORTED_ORDER_TYPE, detail="TriggerPrice (trigger orders)")
        try:
            self.engine.modify(
                account_id,
                order.order_id,
                price=Decimal(price_int).scaleb(-market.price_decimals),
                size=Decimal(base_amount).scaleb(-market.size_decimals),
            )
        except InvalidModifyError as exc:
            error = INVALID_PRICE if exc.reason is Reason.TICK_SIZE else INVALID_ORDER_AMOUNT
            raise LighterRequestError(error, detail=exc.reason.value) from None
        except (OrderNotFoundError, OrderNotOpenError):
            raise LighterRequestError(INACTIVE_CANCEL, detail=f"index {info['Index']}") from None

    def _update_leverage(self, info: dict[str, Any]) -> None:
        """tx type 20 (lighter-sdk `update_leverage` -> `sign_update_leverage`; tx_info fields `MarketIndex`,
        `InitialMarginFraction` in 1e-4 units = int(10000 / leverage), `MarginMode` 0 cross / 1 isolated): the
        account's initial margin fraction in the market (`Engine.set_initial_margin_fraction`), reported by its
        positions' `initial_margin_fraction`. Only cross margin is simulated."""
        market = self.markets.get(info["MarketIndex"])
        if market is None:
            raise LighterRequestError(INVALID_MARKET_INDEX, detail=f"market {info['MarketIndex']}")
        if info["MarginMode"] != CROSS_MARGIN_MODE:
            raise LighterRequestError(INVALID_PARAM, detail=f"MarginMode {info['MarginMode']} (isolated)")
        fraction = Decimal(info["InitialMarginFraction"]) / MARGIN_TICK
        try:
            self.engine.set_initial_margin_fraction(info["AccountIndex"], market.symbol, fraction)
        except LeverageError as exc:
            raise LighterRequestError(INVALID_PARAM, detail=str(exc)) from None
        self.hub.touch(info["AccountIndex"])

    def _cancel_all(self, info: dict[str, Any]) -> None:
        account_id, tif, at = info["AccountIndex"], info["TimeInForce"], info["Time"]
        if tif == 0:
            attributes = info.get("L2TxAttributes")
            market_id = attributes.get(CANCEL_ALL_MARKET_ATTRIBUTE) if isinstance(attributes, dict) else None
            symbol: str | None = None
            if isinstance(market_id, int) and market_id != 255:
                market = self.markets.get(market_id)
                if market is None:
                    raise LighterRequestError(INVALID_MARKET_INDEX, detail=f"market {market_id}")
                symbol = market.symbol
            self.engine.cancel_all(account_id, symbol)
        elif tif == 1:
            if at <= 0:
                raise LighterRequestError(INVALID_CANCEL_ALL_TIF, detail=f"Time {at}")
            self.cancel_all_at[account_id] = at
        elif tif == 2:
            self.cancel_all_at.pop(account_id, None)
        else:
            raise LighterRequestError(INVALID_CANCEL_ALL_TIF, detail=f"TimeInForce {tif}")

    # ------------------------------------------------------------------------------------------ bodies

    def order_json(self, order: Order) -> dict[str, Any]:
        """One `Order` (REST and WS; every field of lighter-sdk's `Order` model)."""
        market = self.by_symbol[order.market]
        meta = self.meta.get(order.order_id)
        index = meta.order_index if meta is not None else ORDER_INDEX_BASE + order.order_id
        client = order.client_id if isinstance(order.client_id, int) else 0
        price = order.price if order.price is not None else ZERO
        remaining = order.remaining if order.resting else ZERO
        initial = meta.initial_size if meta is not None and meta.initial_size is not None else order.size
        created_s, updated_s = order.created_ms // 1000, order.updated_ms // 1000
        return {
            "order_index": index,
            "client_order_index": client,
            "order_id": str(index),
            "client_order_id": str(client),
            "market_index": market.market_id,
            "owner_account_index": meta.owner if meta is not None else order.account_id,
            "initial_base_amount": market.size_text(initial),
            "price": market.price_text(price),
            "nonce": meta.nonce if meta is not None else 0,
            "remaining_base_amount": market.size_text(remaining),
            "is_ask": order.side is Side.SELL,
            "base_size": market.scaled_size(remaining),
            "base_price": market.scaled_price(price),
            "filled_base_amount": market.size_text(order.filled),
            "filled_quote_amount": _usdc(order.filled_quote),
            "side": "",
            "type": "market" if order.type is OrderType.MARKET else "limit",
            "time_in_force": _TIF_WORDS[order.tif],
            "reduce_only": order.reduce_only,
            "trigger_price": market.price_text(ZERO),
            "order_expiry": meta.order_expiry if meta is not None else 0,
            "status": lighter_status(order),
            "trigger_status": "na",
            "trigger_time": 0,
            "parent_order_index": 0,
            "parent_order_id": "0",
            "to_trigger_order_id_0": "0",
            "to_trigger_order_id_1": "0",
            "to_cancel_order_id_0": "0",
            "block_height": meta.block_height if meta is not None else 0,
            "timestamp": created_s,
            "created_at": created_s,
            "updated_at": updated_s,
            "transaction_time": order.updated_ms * 1000,
            "integrator_fee_collector_index": "0",
            "integrator_maker_fee": "0",
            "integrator_taker_fee": "0",
            "order_flags": 0,
            "order_version": 0,
            "market_symbol": market.symbol,
            "market_kind": "perps",
        }

    def _liquidation_price(self, account: Account, state: MarketState, size: Decimal) -> Decimal:
        """Mark of this market at which equity would equal the maintenance requirement (others fixed)."""
        markets = self.engine.markets
        equity = margin.equity(account, markets)
        mmr = margin.maintenance_margin(account, markets)
        mmf = state.spec.maintenance_margin_fraction
        denominator = size - abs(size) * mmf
        if denominator == 0:
            return ZERO
        price = state.mark_price + (mmr - equity) / denominator
        return price if price > 0 else ZERO

    def position_json(self, account: Account, market: LighterMarket) -> dict[str, Any]:
        """One `AccountPosition` (every field of lighter-sdk's model)."""
        state = self.engine.market(market.symbol)
        pos = account.positions.get(market.symbol)
        size = pos.size if pos is not None else ZERO
        entry = pos.entry_price if pos is not None else ZERO
        open_orders = sum(1 for o in account.open_orders.values() if o.market == market.symbol)
        liq = self._liquidation_price(account, state, size) if size else ZERO
        return {
            "market_id": market.market_id,
            "symbol": market.symbol,
            "initial_margin_fraction": fixed(margin.initial_margin_fraction(account, state) * 100, 2),
            "open_order_count": open_orders,
            "pending_order_count": 0,
            "position_tied_order_count": 0,
            "sign": 1 if size > 0 else (-1 if size < 0 else 0),
            "position": market.size_text(abs(size)),
            "avg_entry_price": market.price_text(entry),
            "position_value": _usdc(abs(size) * state.mark_price),
            "unrealized_pnl": _usdc(size * (state.mark_price - entry) if size else ZERO),
            "realized_pnl": _usdc(pos.realized_pnl if pos is not None else ZERO),
            "liquidation_price": _plain(liq.quantize(Decimal("1e-8"))) if liq else "0",
            "total_funding_paid_out": _usdc(-pos.funding if pos is not None else ZERO),
            "margin_mode": 0,
            "allocated_margin": _usdc(ZERO),
            "total_discount": _usdc(ZERO),
            "margin_set_flag": 0,
        }

    def _account_markets(self, account: Account) -> list[LighterMarket]:
        # markets with leverage settings are listed too (lighter_rest_reference: `active_only` "Hide markets for
        # which leverage and margin settings are present ... but with no active position")
        symbols = (
            set(account.positions)
            | {o.market for o in account.open_orders.values()}
            | set(account.initial_margin_fractions)
        )
        return sorted((self.by_symbol[s] for s in symbols if s in self.by_symbol), key=lambda m: m.market_id)

    def detailed_account(self, account: Account) -> dict[str, Any]:
        """One `DetailedAccount` (every field of lighter-sdk's model; shape of `rest_account_*.json`)."""
        markets = self.engine.markets
        equity = margin.equity(account, markets)
        imr = margin.initial_margin(account, markets)
        mmr = margin.maintenance_margin(account, markets)
        created = self.created_ms.get(account.account_id, 0)
        return {
            "code": 0,
            "account_type": 0,
            "index": account.account_id,
            "l1_address": self.l1_address(account.account_id),
            "cancel_all_time": self.cancel_all_at.get(account.account_id, 0),
            "total_order_count": len(account.open_orders),
            "total_isolated_order_count": 0,
            "pending_order_count": 0,
            "available_balance": _usdc(equity - imr),
            "status": 1,
            "collateral": _usdc(account.collateral),
            "account_index": account.account_id,
            "name": "",
            "description": "",
            "can_invite": True,
            "referral_points_percentage": "",
            "positions": [self.position_json(account, m) for m in self._account_markets(account)],
            "assets": [],
            "total_asset_value": _usdc(equity),
            "cross_asset_value": _usdc(equity),
            "pool_info": {
                "status": 0,
                "operator_fee": "0",
                "min_operator_share_rate": "0",
                "total_shares": 0,
                "operator_shares": 0,
                "annual_percentage_yield": 0,
                "daily_returns": [],
                "share_prices": [],
                "sharpe_ratio": 0,
                "strategies": [],
            },
            "shares": [],
            "created_at": created // 1000,
            "transaction_time": self.engine.now_ms() * 1000,
            "pending_unlocks": [],
            "approved_integrators": [],
            "can_rfq": False,
            "cross_initial_margin_requirement": _usdc(imr),
            "cross_maintenance_margin_requirement": _usdc(mmr),
            "can_rfq_market_ids": [],
            "metadata": {"color": ""},
            "agent_enabled": False,
        }

    def accounts_body(self, by: str, value: str) -> dict[str, Any]:
        """`GET /api/v1/account` body (`DetailedAccounts`).

        Raises:
            LighterRequestError: 20001 for a bad `by`/`value`, 21100 when no account matches.
        """
        self.sync()
        if by == "index":
            try:
                index = int(value)
            except ValueError:
                raise LighterRequestError(INVALID_PARAM, detail=f"value={value!r}") from None
            accounts = [self.ensure_account(index)]
        elif by == "l1_address":
            wanted = value.lower()
            ids = sorted(
                a
                for a, acc in self.engine.accounts.items()
                if not acc.exempt and self.l1_address(a).lower() == wanted
            )
            if not ids:
                raise LighterRequestError(ACCOUNT_NOT_FOUND, detail=f"l1 address {value}")
            accounts = [self.ensure_account(a) for a in ids]
        else:
            raise LighterRequestError(INVALID_PARAM, detail=f"by={by!r}")
        return {
            "code": 200,
            "total": len(accounts),
            "accounts": [self.detailed_account(a) for a in accounts],
            "next_cursor": "",
        }

    def active_orders(self, account_index: int, market_id: int | None) -> dict[str, Any]:
        """`GET /api/v1/accountActiveOrders` body: resting orders, oldest first."""
        self.sync()
        account = self.ensure_account(account_index)
        symbol = self._market_filter(market_id)
        orders = [o for o in account.open_orders.values() if symbol is None or o.market == symbol]
        orders.sort(key=lambda o: o.order_id)
        return {"code": 200, "orders": [self.order_json(o) for o in orders]}

    def inactive_orders(
        self, account_index: int, limit: int, market_id: int | None, cursor: str | None
    ) -> dict[str, Any]:
        """`GET /api/v1/accountInactiveOrders` body: finished orders, newest first, `limit` per page."""
        self.sync()
        account = self.ensure_account(account_index)
        symbol = self._market_filter(market_id)
        orders = [
            o
            for o in account.orders.values()
            if not o.resting and (symbol is None or o.market == symbol) and o.market in self.by_symbol
        ]
        orders.sort(key=lambda o: (o.updated_ms, o.order_id), reverse=True)
        rows, nxt = _page([self.order_json(o) for o in orders], limit, cursor)
        body: dict[str, Any] = {"code": 200, "orders": rows}
        if nxt is not None:
            body["next_cursor"] = nxt
        return body

    def _market_filter(self, market_id: int | None) -> str | None:
        if market_id is None or market_id == 255:
            return None
        market = self.markets.get(market_id)
        if market is None:
            raise LighterRequestError(INVALID_PARAM, detail=f"market_id={market_id}")
        return market.symbol

    def trades_body(
        self,
        *,
        account_index: int | None,
        market_id: int | None,
        limit: int,
        sort_dir: str,
        cursor: str | None,
    ) -> dict[str, Any]:
        """`GET /api/v1/trades` body: the account's trades (or the market's), sorted by trade id."""
        self.sync()
        if account_index is not None:
            self.ensure_account(account_index)
            rows = list(self.trades.get(account_index, []))
            if market_id is not None and market_id != 255:
                self._market_filter(market_id)
                rows = [r for r in rows if r["market_id"] == market_id]
        elif market_id is not None and market_id in self.market_trades:
            rows = list(self.market_trades[market_id])
        else:
            raise LighterRequestError(INVALID_PARAM, detail="account_index or a traded market_id is required")
        if sort_dir != "asc":
            rows.reverse()
        page, nxt = _page(rows, limit, cursor)
        body: dict[str, Any] = {"code": 200, "trades": page}
        if nxt is not None:
            body["next_cursor"] = nxt
        return body

    def recent_trades(self, market_id: int, limit: int) -> dict[str, Any]:
        """`GET /api/v1/recentTrades` body: the market's last `limit` trades, newest first."""
        self.sync()
        if market_id not in self.market_trades:
            raise LighterRequestError(INVALID_PARAM, detail=f"market_id={market_id}")
        rows = list(self.market_trades[market_id])[-limit:]
        rows.reverse()
        return {"code": 200, "trades": rows}

    def position_funding(
        self,
        account_index: int,
        *,
        limit: int,
        market_ids: set[int] | None,
        side: str | None,
        start_s: int | None,
        end_s: int | None,
        cursor: str | None,
    ) -> dict[str, Any]:
        """`GET /api/v1/positionFunding` body: the account's funding payments, newest first."""
        self.sync()
        self.ensure_account(account_index)
        rows = [
            r
            for r in self.funding.get(account_index, [])
            if (market_ids is None or r["market_id"] in market_ids)
            and (side in (None, "", "all") or r["position_side"] == side)
            and (start_s is None or r["timestamp"] >= start_s)
            and (end_s is None or r["timestamp"] <= end_s)
        ]
        rows.reverse()
        page, nxt = _page(rows, limit, cursor)
        return {"code": 200, "position_fundings": page, "next_cursor": nxt}

    def order_book_orders(self, market_id: int, limit: int) -> dict[str, Any] | None:
        """`GET /api/v1/orderBookOrders` body from the engine's book (None when the market is not traded)."""
        market = self.markets.get(market_id)
        if market is None:
            return None
        self.sync()
        book = self.engine.market(market.symbol).book

        def rows(side: Side) -> list[dict[str, Any]]:
            out = []
            for order in book.orders(side, limit):
                meta = self.meta.get(order.order_id)
                index = meta.order_index if meta is not None else ORDER_INDEX_BASE + order.order_id
                initial = (
                    meta.initial_size if meta is not None and meta.initial_size is not None else order.size
                )
                ttime = meta.transaction_time_us if meta is not None and meta.transaction_time_us else None
                assert order.price is not None
                out.append(
                    {
                        "order_index": index,
                        "order_id": str(index),
                        "owner_account_index": meta.owner if meta is not None else order.account_id,
                        "initial_base_amount": market.size_text(initial),
                        "remaining_base_amount": market.size_text(order.remaining),
                        "price": market.price_text(order.price),
                        "order_expiry": meta.order_expiry if meta is not None else 0,
                        "transaction_time": ttime if ttime is not None else order.created_ms * 1000,
                    }
                )
            return out

        asks, bids = rows(Side.SELL), rows(Side.BUY)
        return {"code": 200, "total_asks": len(asks), "asks": asks, "total_bids": len(bids), "bids": bids}

    def overlay_market_stats(self, stats: dict[str, Any] | None) -> dict[str, Any] | None:
        """Replace the prices of a market-data `market_stats` entry by the engine's (mark, index moved with the
        mark, best bid/ask and mid of the engine's book, last trade, open interest in USD at the engine's mark,
        and the engine's funding rate once the admin API changed it)."""
        if stats is None:
            return None
        market = self.markets.get(stats.get("market_id", -1))
        if market is None:
            return stats
        state = self.engine.market(market.symbol)
        places = market.price_decimals
        mark = state.mark_price
        out = dict(stats)
        out["mark_price"] = fixed(mark, places)
        out["index_price"] = fixed(market.index0 + (mark - market.mark0), places)
        ask, bid = state.book.best_ask(), state.book.best_bid()
        ask = ask if ask is not None else mark
        bid = bid if bid is not None else mark
        out["best_ask_price"] = fixed(ask, places)
        out["best_bid_price"] = fixed(bid, places)
        out["mid_price"] = fixed((ask + bid) / 2, places)
        if state.trades:
            out["last_trade_price"] = fixed(state.trades[-1].price, places)
        detail = lighter_data(self.scenario).detail(market.market_id) or {}
        oi = decimal_or_none(
            detail.get("open_interest"), "open_interest", context=f"orderBookDetails {market.symbol}"
        )
        if oi is not None and "open_interest" in out:
            out["open_interest"] = fixed(oi * mark, 6)
        if market.funding_overridden and "current_funding_rate" in out:
            out["current_funding_rate"] = fixed(state.rate_hourly * 100, 4)
        return out

    def overlay_funding_rates(self, body: dict[str, Any]) -> dict[str, Any]:
        """`GET /api/v1/funding-rates`: the file verbatim, except Lighter rows of markets whose rate the admin API
        changed (then the engine's rate x 8, fraction per 8 h)."""
        changed = {m.market_id: m for m in self.markets.values() if m.funding_overridden}
        if not changed:
            return body
        rows = []
        for row in body.get("funding_rates") or []:
            market = changed.get(row.get("market_id")) if isinstance(row, dict) else None
            if market is not None and row.get("exchange") == "lighter":
                rate = self.engine.market(market.symbol).rate_hourly * 8
                row = {**row, "rate": float(rate)}
            rows.append(row)
        return {**body, "funding_rates": rows}

    # ------------------------------------------------------------------------------------------ admin

    def admin_account(self, account_index: int) -> dict[str, Any]:
        """`GET /_sim/accounts/{index}`: exact engine state (decimal strings at full precision)."""
        self.sync()
        account = self.engine.account(account_index)
        markets = self.engine.markets
        positions = []
        for market in self._account_markets(account):
            pos = account.positions.get(market.symbol)
            if pos is None:
                continue
            state = markets[market.symbol]
            positions.append(
                {
                    "market_id": market.market_id,
                    "symbol": market.symbol,
                    "size": str(pos.size),
                    "entry_price": str(pos.entry_price),
                    "mark_price": str(state.mark_price),
                    "unrealized_pnl": str(pos.unrealized_pnl(state.mark_price)),
                    "realized_pnl": str(pos.realized_pnl),
                    "funding": str(pos.funding),
                }
            )
        fills = [
            {
                "fill_id": f.fill_id,
                "trade_id": f.trade_id,
                "market_id": self.by_symbol[f.market].market_id,
                "order_index": self.index_of_id(f.order_id),
                "side": f.side.value,
                "liquidity": f.liquidity.value,
                "kind": f.kind.value,
                "price": str(f.price),
                "size": str(f.size),
                "fee": str(f.fee),
                "realized_pnl": str(f.realized_pnl),
                "position_after": str(f.position_after),
                "ts_ms": f.ts_ms,
            }
            for f in account.fills
            if f.market in self.by_symbol
        ]
        payments = [
            {
                "payment_id": p.payment_id,
                "market_id": self.by_symbol[p.market].market_id,
                "ts_ms": p.ts_ms,
                "amount": str(p.amount),
                "position_size": str(p.position_size),
                "rate_hourly": str(p.rate_hourly),
                "mark_price": str(p.mark_price) if p.mark_price is not None else None,
            }
            for p in account.funding_payments
            if p.market in self.by_symbol
        ]
        return {
            "account_index": account.account_id,
            "l1_address": self.l1_address(account.account_id),
            "collateral": str(account.collateral),
            "equity": str(margin.equity(account, markets)),
            "available_balance": str(
                margin.equity(account, markets) - margin.initial_margin(account, markets)
            ),
            "initial_margin": str(margin.initial_margin(account, markets)),
            "maintenance_margin": str(margin.maintenance_margin(account, markets)),
            "deposits": str(account.deposits),
            "fees_paid": str(account.fees_paid),
            "realized_pnl": str(account.realized_pnl),
            "funding": str(account.funding),
            "liquidations": account.liquidations,
            "positions": positions,
            "open_orders": [
                self.order_json(o) for o in sorted(account.open_orders.values(), key=lambda o: o.order_id)
            ],
            "fills": fills,
            "funding_payments": payments,
        }

    def admin_fund(self, account_index: int, collateral: Decimal, l1_address: str | None) -> dict[str, Any]:
        """`POST /_sim/accounts`: create the account (or add `collateral` to an existing one).

        Raises:
            ValueError: a reserved index (market makers, insurance fund) or collateral < 0.
        """
        if account_index >= MAKER_ACCOUNT_BASE or account_index == INSURANCE_ACCOUNT_ID:
            raise ValueError(f"account index {account_index} is reserved for the simulator's market makers")
        self.sync()
        account = self.engine.accounts.get(account_index)
        if account is None:
            self.engine.create_account(account_index, collateral)
            self.created_ms[account_index] = self.engine.now_ms()
        elif collateral > 0:
            self.engine.deposit(account_index, collateral)
        elif collateral < 0:
            raise ValueError("collateral must be >= 0")
        if l1_address:
            self.l1_addresses[account_index] = l1_address
        self.hub.touch(account_index)
        return self.admin_account(account_index)

    def admin_mark(self, market: LighterMarket, price: Decimal | None, walk: RandomWalkMid | None) -> None:
        """`POST /_sim/markets/{m}/mark`: pin the mark at `price`, or let it follow `walk`."""
        self.sync()
        now = self.engine.now_ms()
        maker = self.makers.get(market.market_id)
        if maker is not None:
            maker.path = (
                walk if walk is not None else SeriesMid([(now, price if price is not None else market.mark0)])
            )
            maker.refresh(now)
        elif walk is not None:
            self.engine.set_mid_path(market.symbol, walk)
        elif price is not None:
            self.engine.set_mark_price(market.symbol, price)

    def admin_market(self, market: LighterMarket) -> dict[str, Any]:
        """`GET /_sim/markets/{m}`: the engine's view of one market: mark, best bid/ask, the funding rate in
        force (fraction per hour, Lighter settles it hourly) and `funding_source`, the rate provider's label
        (e.g. "replay of binance BTCUSDT history under lighter's protocol", "scenario.json: constant 0.00001/h",
        "lighter funding-rates ETH / 8" for the recorded rate, "admin: ..." after `POST .../funding`)."""
        self.sync()
        state = self.engine.market(market.symbol)
        ask, bid = state.book.best_ask(), state.book.best_bid()
        return {
            "market_id": market.market_id,
            "symbol": market.symbol,
            "mark_price": str(state.mark_price),
            "best_bid": str(bid) if bid is not None else None,
            "best_ask": str(ask) if ask is not None else None,
            "funding_style": "hourly settlement",
            "rate_hourly": str(state.rate_hourly),
            "funding_source": state.funding.label,
            "funding_from_settings": self.scenario.funding_provider(
                "lighter", market.symbol, str(market.market_id)
            )
            is state.funding,
            "recorded_book": market.market_id in self.makers,
        }

    def admin_funding(self, market: LighterMarket, rate_hourly: Decimal) -> None:
        """`POST /_sim/markets/{m}/funding`: a constant hourly rate from now (the hour in progress settles at
        it)."""
        self.sync()
        state = self.engine.market(market.symbol)
        state.funding = ConstantRate(rate_hourly, label=f"admin: {rate_hourly}/h")
        state.rate_hourly = rate_hourly
        market.funding_overridden = True


def _sign(value: Decimal) -> int:
    return 1 if value > 0 else (-1 if value < 0 else 0)


# ----------------------------------------------------------------------------------------------- WebSocket hub


class LighterStreamHub:
    """Order-book and `account_all` WebSocket feeds of the trading engine (frames in the module docstring).

    Everything here is synchronous: frames are built and queued (`Subscriber.enqueue`) in one go, so a snapshot
    and the updates after it chain without gaps whatever the sessions' send speed.
    """

    def __init__(self, trading: LighterTrading) -> None:
        self.trading = trading
        self.push_interval = 1.0
        self.nonce_base = trading.clock.now_ms()
        self.book_subs: dict[int, list[Subscriber]] = {}
        self.last_nonce: dict[int, int] = {}
        self.last_frame: dict[int, float] = {}
        self.account_subs: dict[int, list[Subscriber]] = {}
        self.feeds: dict[int, _AccountFeed] = {}
        self.offset = 1

    # ------------------------------------------------------------------------------------------ order book

    def _levels(
        self, market: LighterMarket, levels: Iterable[tuple[Decimal, Decimal]]
    ) -> list[dict[str, str]]:
        return [{"price": market.price_text(p), "size": market.size_text(s)} for p, s in levels]

    def _book_frame(
        self,
        market: LighterMarket,
        asks: list[dict[str, str]],
        bids: list[dict[str, str]],
        *,
        snapshot: bool,
    ) -> dict[str, Any]:
        book = self.trading.engine.market(market.symbol).book
        nonce = self.nonce_base + book.seq
        begin = 0 if snapshot else self.last_nonce.get(market.market_id, nonce)
        self.last_nonce[market.market_id] = nonce
        self.offset += 1
        now_us = self.trading.clock.now_us()
        return {
            "channel": f"order_book:{market.market_id}",
            "last_updated_at": now_us,
            "offset": self.offset,
            "order_book": {
                "code": 0,
                "asks": asks,
                "bids": bids,
                "offset": self.offset,
                "nonce": nonce,
                "last_updated_at": now_us,
                "begin_nonce": begin,
            },
            "timestamp": now_us // 1000,
            "type": "subscribed/order_book" if snapshot else "update/order_book",
        }

    def _flush_book(self, market: LighterMarket, now_mono: float, *, heartbeat: bool) -> None:
        book = self.trading.engine.market(market.symbol).book
        bids, asks = book.drain_changes()
        subs = self.book_subs.get(market.market_id)
        if not subs:
            return
        if not (bids or asks) and not heartbeat:
            return
        frame = self._book_frame(
            market, self._levels(market, asks), self._levels(market, bids), snapshot=False
        )
        self.last_frame[market.market_id] = now_mono
        for sub in subs:
            sub.enqueue(frame)

    def subscribe_book(self, market_id: int, sub: Subscriber) -> None:
        """Queue the snapshot for `sub` (after flushing pending changes to the other subscribers) and add it."""
        market = self.trading.markets[market_id]
        self.trading.sync()
        now = time.monotonic()
        self._flush_book(market, now, heartbeat=False)
        book = self.trading.engine.market(market.symbol).book
        snap = book.snapshot()
        frame = self._book_frame(
            market,
            self._levels(market, snap.asks),
            self._levels(market, snap.bids),
            snapshot=True,
        )
        sub.enqueue(frame)
        self.book_subs.setdefault(market_id, []).append(sub)
        self.last_frame[market_id] = now

    def unsubscribe_book(self, market_id: int, sub: Subscriber) -> None:
        subs = self.book_subs.get(market_id, [])
        if sub in subs:
            subs.remove(sub)

    def skip_nonce(self, market_id: int | None) -> list[int]:
        """Fault: act as if one order-book frame of `market_id` (None = every market) was lost: the next frame's
        `begin_nonce` is a nonce the clients never saw. Returns the markets affected."""
        ids = [market_id] if market_id is not None else sorted(self.trading.markets)
        for mid in ids:
            if mid in self.last_nonce:
                self.last_nonce[mid] += 1
        self.nonce_base += 1
        return ids

    # ------------------------------------------------------------------------------------------ account_all

    def _feed(self, account_id: int) -> _AccountFeed | None:
        if not self.account_subs.get(account_id):
            return None
        return self.feeds.setdefault(account_id, _AccountFeed())

    def on_order(self, order: Order) -> None:
        feed = self._feed(order.account_id)
        if feed is not None and order.market in self.trading.by_symbol:
            feed.orders[order.order_id] = order
            feed.dirty = True

    def forget_order(self, order: Order) -> None:
        """An order refused at the API never existed for the venue: drop it from the pending feed."""
        feed = self.feeds.get(order.account_id)
        if feed is not None:
            feed.orders.pop(order.order_id, None)

    def on_trade(self, account_id: int, market_id: int, row: dict[str, Any]) -> None:
        feed = self._feed(account_id)
        if feed is not None:
            feed.trades.setdefault(market_id, []).append(row)
            feed.dirty = True

    def on_funding(self, account_id: int, market_id: int, row: dict[str, Any]) -> None:
        feed = self._feed(account_id)
        if feed is not None:
            feed.funding.setdefault(market_id, []).append(row)
            feed.dirty = True

    def touch(self, account_id: int) -> None:
        """Positions or collateral of the account changed (liquidation, deposit)."""
        feed = self._feed(account_id)
        if feed is not None:
            feed.dirty = True

    def _account_frame(
        self,
        account: Account,
        kind: str,
        trades: dict[int, list[dict[str, Any]]],
        funding: dict[int, list[dict[str, Any]]],
        orders: Iterable[Order],
    ) -> dict[str, Any]:
        trading = self.trading
        all_trades = trading.trades.get(account.account_id, [])
        volume = sum((Decimal(t["usd_amount"]) for t in all_trades), ZERO)
        orders_by_market: dict[str, list[dict[str, Any]]] = {}
        for order in orders:
            market = trading.by_symbol.get(order.market)
            if market is not None:
                orders_by_market.setdefault(str(market.market_id), []).append(trading.order_json(order))
        return {
            "account": account.account_id,
            "channel": f"account_all:{account.account_id}",
            "daily_trades_count": len(all_trades),
            "daily_volume": float(volume),
            "weekly_trades_count": len(all_trades),
            "weekly_volume": float(volume),
            "monthly_trades_count": len(all_trades),
            "monthly_volume": float(volume),
            "total_trades_count": len(all_trades),
            "total_volume": float(volume),
            "funding_histories": {str(m): rows for m, rows in funding.items()},
            "orders": orders_by_market,
            "positions": {
                str(m.market_id): trading.position_json(account, m) for m in trading._account_markets(account)
            },
            "shares": [],
            "trades": {str(m): rows for m, rows in trades.items()},
            "type": kind,
        }

    def subscribe_account(self, account_id: int, sub: Subscriber) -> None:
        """Queue the `subscribed/account_all` snapshot for `sub` and add it.

        Raises:
            LighterRequestError: 21100 for an unknown account.
        """
        trading = self.trading
        trading.sync()
        account = trading.ensure_account(account_id)
        self.flush_accounts()
        trades: dict[int, list[dict[str, Any]]] = {}
        for row in trading.trades.get(account_id, []):
            trades.setdefault(row["market_id"], []).append(row)
        funding: dict[int, list[dict[str, Any]]] = {}
        for row in trading.funding.get(account_id, []):
            funding.setdefault(row["market_id"], []).append(row)
        frame = self._account_frame(
            account,
            "subscribed/account_all",
            {m: rows[-WS_TRADES_KEPT:] for m, rows in trades.items()},
            {m: rows[-WS_TRADES_KEPT:] for m, rows in funding.items()},
            sorted(account.open_orders.values(), key=lambda o: o.order_id),
        )
        sub.enqueue(frame)
        self.account_subs.setdefault(account_id, []).append(sub)

    def unsubscribe_account(self, account_id: int, sub: Subscriber) -> None:
        subs = self.account_subs.get(account_id, [])
        if sub in subs:
            subs.remove(sub)

    def flush_accounts(self) -> None:
        """Queue an `update/account_all` for every subscribed account with changes."""
        for account_id, feed in list(self.feeds.items()):
            subs = self.account_subs.get(account_id)
            if not subs:
                del self.feeds[account_id]
                continue
            if not feed.dirty:
                continue
            account = self.trading.engine.accounts.get(account_id)
            if account is None:
                continue
            frame = self._account_frame(
                account,
                "update/account_all",
                feed.trades,
                feed.funding,
                sorted(feed.orders.values(), key=lambda o: o.order_id),
            )
            self.feeds[account_id] = _AccountFeed()
            for sub in subs:
                sub.enqueue(frame)

    # ------------------------------------------------------------------------------------------ loop

    def tick(self, now_mono: float) -> None:
        """One push round: changed books (and heartbeats every `push_interval`), changed accounts."""
        for market in self.trading.markets.values():
            due = now_mono - self.last_frame.get(market.market_id, 0.0) >= self.push_interval
            self._flush_book(market, now_mono, heartbeat=due)
        self.flush_accounts()

    def remove(self, sub: Subscriber) -> None:
        """A session closed: drop it from every feed."""
        for subs in (*self.book_subs.values(), *self.account_subs.values()):
            if sub in subs:
                subs.remove(sub)


# ----------------------------------------------------------------------------------------------- HTTP


def _req_int(
    query: Any, name: str, *, required: bool = True, lo: int | None = None, hi: int | None = None
) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        if required:
            raise LighterRequestError(INVALID_PARAM, detail=f"{name} is required")
        return None
    try:
        value = int(raw)
    except ValueError:
        raise LighterRequestError(INVALID_PARAM, detail=f"{name}={raw!r}") from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise LighterRequestError(INVALID_PARAM, detail=f"{name}={value}")
    return value


def _int(query: Any, name: str, **kwargs: Any) -> int:
    value = _req_int(query, name, required=True, **kwargs)
    assert value is not None
    return value


def check_auth(request: web.Request, account_index: int) -> None:
    """Require a Lighter auth token (`authorization` header or `auth` query) naming `account_index`.

    The token (`"{deadline}:{account}:{api_key}:{hex signature}"`, lighter-sdk `create_auth_token_with_expiry`) is
    parsed, not verified: neither the signature nor the wall-clock deadline is checked.

    Raises:
        LighterRequestError: 20001 when it is missing, malformed or names another account.
    """
    token = request.headers.get("authorization") or request.query.get("auth")
    if not token:
        raise LighterRequestError(INVALID_PARAM, detail="auth token required")
    parts = token.split(":")
    if len(parts) != 4 or not parts[1].isdigit():
        raise LighterRequestError(INVALID_PARAM, detail="malformed auth token")
    if int(parts[1]) != account_index:
        raise LighterRequestError(INVALID_PARAM, detail="auth token of another account")


Build = Callable[[web.Request], Awaitable[dict[str, Any]]]


def _handler(build: Build) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        try:
            body = await build(request)
        except LighterRequestError as exc:
            log.info(
                "lighter %s %s -> %d %d (%s)",
                request.method,
                request.path_qs,
                exc.status,
                exc.code,
                exc.detail,
            )
            return json_response(exc.body, status=exc.status)
        return json_response(body)

    return handler


def add_trading_routes(app: web.Application, trading: LighterTrading) -> None:
    """Register the trading REST endpoints (table in the module docstring) on the Lighter `app`."""

    async def send_tx(request: web.Request) -> dict[str, Any]:
        form = await request.post()
        raw_type, raw_info = form.get("tx_type"), form.get("tx_info")
        if not isinstance(raw_type, str) or not isinstance(raw_info, str):
            raise LighterRequestError(INVALID_PARAM, detail="tx_type and tx_info are required")
        try:
            tx_type = int(raw_type)
        except ValueError:
            raise LighterRequestError(INVALID_PARAM, detail=f"tx_type={raw_type!r}") from None
        return trading.send_tx(tx_type, raw_info)

    async def send_tx_batch(request: web.Request) -> dict[str, Any]:
        form = await request.post()
        raw_types, raw_infos = form.get("tx_types"), form.get("tx_infos")
        if not isinstance(raw_types, str) or not isinstance(raw_infos, str):
            raise LighterRequestError(INVALID_PARAM, detail="tx_types and tx_infos are required")
        try:
            types, infos = json.loads(raw_types), json.loads(raw_infos)
        except ValueError:
            raise LighterRequestError(INVALID_TX_INFO, detail="tx_types / tx_infos are not JSON") from None
        if not isinstance(types, list) or not isinstance(infos, list):
            raise LighterRequestError(INVALID_TX_INFO, detail="tx_types / tx_infos must be JSON arrays")
        return trading.send_tx_batch(types, infos)

    async def account(request: web.Request) -> dict[str, Any]:
        q = request.query
        by, value = q.get("by"), q.get("value")
        if not by or value is None:
            raise LighterRequestError(INVALID_PARAM, detail="by and value are required")
        return trading.accounts_body(by, value)

    async def active_orders(request: web.Request) -> dict[str, Any]:
        index = _int(request.query, "account_index")
        check_auth(request, index)
        return trading.active_orders(index, _req_int(request.query, "market_id", required=False))

    async def inactive_orders(request: web.Request) -> dict[str, Any]:
        q = request.query
        index = _int(q, "account_index")
        check_auth(request, index)
        return trading.inactive_orders(
            index,
            _int(q, "limit", lo=1, hi=PAGE_MAX),
            _req_int(q, "market_id", required=False),
            q.get("cursor"),
        )

    async def trades(request: web.Request) -> dict[str, Any]:
        q = request.query
        if q.get("sort_by") not in ("block_height", "timestamp", "trade_id"):
            raise LighterRequestError(INVALID_PARAM, detail=f"sort_by={q.get('sort_by')!r}")
        sort_dir = q.get("sort_dir") or "desc"
        if sort_dir not in ("asc", "desc"):
            raise LighterRequestError(INVALID_PARAM, detail=f"sort_dir={sort_dir!r}")
        index = _req_int(q, "account_index", required=False)
        if index is not None:
            check_auth(request, index)
        return trading.trades_body(
            account_index=index,
            market_id=_req_int(q, "market_id", required=False),
            limit=_int(q, "limit", lo=1, hi=PAGE_MAX),
            sort_dir=sort_dir,
            cursor=q.get("cursor"),
        )

    async def recent_trades(request: web.Request) -> dict[str, Any]:
        q = request.query
        return trading.recent_trades(_int(q, "market_id"), _int(q, "limit", lo=1, hi=PAGE_MAX))

    async def position_funding(request: web.Request) -> dict[str, Any]:
        q = request.query
        index = _int(q, "account_index")
        if request.headers.get("authorization") or q.get("auth"):
            check_auth(request, index)
        ids: set[int] | None = None
        raw_ids = [part for value in q.getall("market_ids", []) for part in value.split(",") if part.strip()]
        if raw_ids:
            try:
                ids = {int(part) for part in raw_ids}
            except ValueError:
                raise LighterRequestError(INVALID_PARAM, detail=f"market_ids={raw_ids!r}") from None
        side = q.get("side")
        if side not in (None, "", "all", "long", "short"):
            raise LighterRequestError(INVALID_PARAM, detail=f"side={side!r}")
        return trading.position_funding(
            index,
            limit=_int(q, "limit", lo=1, hi=PAGE_MAX),
            market_ids=ids,
            side=side,
            start_s=_req_int(q, "start_timestamp", required=False),
            end_s=_req_int(q, "end_timestamp", required=False),
            cursor=q.get("cursor"),
        )

    app.router.add_post("/api/v1/sendTx", _handler(send_tx))
    app.router.add_post("/api/v1/sendTxBatch", _handler(send_tx_batch))
    app.router.add_get("/api/v1/account", _handler(account))
    app.router.add_get("/api/v1/accountActiveOrders", _handler(active_orders))
    app.router.add_get("/api/v1/accountInactiveOrders", _handler(inactive_orders))
    app.router.add_get("/api/v1/trades", _handler(trades))
    app.router.add_get("/api/v1/recentTrades", _handler(recent_trades))
    app.router.add_get("/api/v1/positionFunding", _handler(position_funding))


# ----------------------------------------------------------------------------------------------- admin


class AccountSpec(DepositSpec):
    """Body of `POST /_sim/accounts`: `collateral` USDC (created with it, or added to an existing account) of the
    account `account_index`; `l1_address` (optional) is what `GET /api/v1/account` answers for it."""

    account_index: int = Field(ge=0)
    l1_address: str | None = None


class LighterWsFaultSpec(WsFaultSpec):
    """Body of `POST /_sim/ws/faults`: `drop_connections` now, and/or `skip_nonce` of `market_id` (None = all)."""

    ACTIONS: ClassVar[tuple[str, ...]] = ("drop_connections", "skip_nonce")

    skip_nonce: bool = False
    market_id: int | None = None


SocketCloser = Callable[[], Awaitable[int]]


def add_trading_admin_routes(
    app: web.Application, trading: LighterTrading, faults: FaultInjector, close_sockets: SocketCloser
) -> None:
    """Register the trading admin API (`/_sim/...`, loopback only) on the Lighter `app`.

    Args:
        close_sockets: closes every open `/stream` connection, returns how many (WS drop fault, venue down).

    Also applies `scenario.json` `faults.lighter.http` to `faults` (the venue's HTTP faults from start-up).
    """
    trading.apply_http_faults(faults)

    async def post_account(request: web.Request) -> web.Response:
        spec = await admin_spec(request, AccountSpec)
        try:
            body = trading.admin_fund(spec.account_index, spec.collateral, spec.l1_address)
        except (ValueError, EngineError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(body)

    async def get_account(request: web.Request) -> web.Response:
        raw = request.match_info["index"]
        if not raw.isdigit():
            return web.json_response({"error": f"account index {raw!r} is not an integer"}, status=400)
        try:
            return web.json_response(trading.admin_account(int(raw)))
        except EngineError:
            return web.json_response({"error": f"no account {raw}"}, status=404)

    def _market(request: web.Request) -> LighterMarket:
        try:
            return trading.resolve_market(request.match_info["market"])
        except KeyError:
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"no traded market {request.match_info['market']!r}"}),
                content_type="application/json",
            ) from None

    async def post_mark(request: web.Request) -> web.Response:
        market = _market(request)
        spec = await admin_spec(request, MarkSpec)
        walk = None
        if spec.random_walk is not None:
            state = trading.engine.market(market.symbol)
            walk = RandomWalkMid(
                state.mark_price,
                start_ms=trading.engine.now_ms(),
                seed=spec.random_walk.seed,
                step_ms=spec.random_walk.step_ms,
                vol_bps=spec.random_walk.vol_bps,
            )
        trading.admin_mark(market, spec.price, walk)
        state = trading.engine.market(market.symbol)
        return web.json_response(
            {"market_id": market.market_id, "symbol": market.symbol, "mark_price": str(state.mark_price)}
        )

    async def post_funding(request: web.Request) -> web.Response:
        market = _market(request)
        spec = await admin_spec(request, FundingSpec)
        rate_hourly = spec.hourly(market.spec.funding_period_hours)
        trading.admin_funding(market, rate_hourly)
        return web.json_response(
            {"market_id": market.market_id, "symbol": market.symbol, "rate_hourly": str(rate_hourly)}
        )

    async def get_markets(request: web.Request) -> web.Response:
        rows = [trading.admin_market(m) for m in sorted(trading.markets.values(), key=lambda m: m.market_id)]
        return web.json_response({"markets": rows})

    async def get_market(request: web.Request) -> web.Response:
        return web.json_response(trading.admin_market(_market(request)))

    async def post_ws_faults(request: web.Request) -> web.Response:
        spec = await admin_spec(request, LighterWsFaultSpec)
        out: dict[str, Any] = {}
        if spec.skip_nonce:
            if spec.market_id is not None and spec.market_id not in trading.markets:
                return web.json_response({"error": f"no traded market {spec.market_id}"}, status=404)
            out["skipped_nonce_markets"] = trading.hub.skip_nonce(spec.market_id)
        if spec.drop_connections:
            out["dropped_connections"] = await close_sockets()
        log.info("lighter ws faults: %s", out)
        return web.json_response(out)

    async def venue_down(request: web.Request) -> web.Response:
        faults.configure(FaultSpec(http_status=503))
        dropped = await close_sockets()
        return web.json_response(
            {"venue": "down", "dropped_connections": dropped, "faults": faults.snapshot()}
        )

    async def venue_up(request: web.Request) -> web.Response:
        if faults.status_fault is not None and faults.status_fault.status == 503:
            faults.status_fault = None
        return web.json_response({"venue": "up", "faults": faults.snapshot()})

    app.router.add_post(ADMIN_PREFIX + "accounts", local_only(post_account))
    app.router.add_get(ADMIN_PREFIX + "accounts/{index}", local_only(get_account))
    app.router.add_get(ADMIN_PREFIX + "markets", local_only(get_markets))
    app.router.add_get(ADMIN_PREFIX + "markets/{market}", local_only(get_market))
    app.router.add_post(ADMIN_PREFIX + "markets/{market}/mark", local_only(post_mark))
    app.router.add_post(ADMIN_PREFIX + "markets/{market}/funding", local_only(post_funding))
    app.router.add_post(ADMIN_PREFIX + "ws/faults", local_only(post_ws_faults))
    app.router.add_post(ADMIN_PREFIX + "venue/down", local_only(venue_down))
    app.router.add_post(ADMIN_PREFIX + "venue/up", local_only(venue_up))
    add_engine_fault_routes(app, trading.engine, venue="lighter", response_key="faults")


async def close_all(sockets: Iterable[web.WebSocketResponse]) -> int:
    """Close every WebSocket in `sockets` (GOING_AWAY); returns how many were open."""
    count = 0
    for ws in list(sockets):
        if not ws.closed:
            count += 1
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulator fault: connection dropped")
    return count
