"""The account stream of a Lighter client: the `account_all/{a}` WebSocket channel -> `ClientEvent`s.

Protocol (PROTOCOL_NOTES §1.5, simulator/README.md "Trading: Lighter"): the server greets with
`{"type":"connected"}`; the client then sends `{"type":"subscribe","channel":"account_all/{a}","auth":<token>}`
(auth token of `SignerClient.create_auth_token_with_expiry`, required by Lighter for account channels). The answer
is a `subscribed/account_all` snapshot, then `update/account_all` frames; both carry, keyed by market id (text):
`orders` {m: [Order]}, `trades` {m: [Trade]}, `positions` {m: AccountPosition} and `funding_histories`
{m: [PositionFunding]} (same row shapes as the REST models: rest_accountActiveOrders, rest_trades_account,
rest_account_with_eth_position). Response channels use ":" (`account_all:123`).

Events (`ClientEvent`):
* ORDER for every order row whose state differs from the last one seen (open orders of a snapshot included);
* FILL for every trade of the account not seen before, plus LIQUIDATION when the trade's `type` is "liquidation".
  The trades of the FIRST snapshot are history from before the stream started: they are only remembered; after a
  reconnect the snapshot's unseen trades (fills made while disconnected) are emitted;
* POSITION when a market's position differs from the last one emitted; a position that went flat is emitted once
  as a PositionSnapshot with quantity 0 (other fields None).
`funding_histories` yield no event (no EventKind for them; `get_funding_payments` reads them).

Account state (issue #16, `exchange_clients.base.account_state`): with a `state`, the stream also subscribes
`user_stats/{a}` (Lighter's account statistics: `available_balance`, `portfolio_value` = equity, `collateral`) and
keeps the state: balance from every user_stats frame, orders and positions from every account_all frame, any frame
(including the pong of the app-level ping, sent every `app_ping_seconds`) marks it as heard from. The connection
dropping desyncs it; after a reconnect the two `subscribed/...` snapshots (complete readings of positions, open
orders and balance) re-seed it. Lighter numbers no account frame, so a gap can only show as a dropped connection.

Reconnect: `ReconnectingWebSocket` (exponential backoff, jitter); every greeting re-subscribes with a fresh token.
The client sends an app-level `{"type":"ping"}` every `app_ping_seconds` and answers the server's pings.
Events go to a bounded queue; when it is full the oldest event is dropped (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from exchange_clients.base.account_state import AccountState
from exchange_clients.base.trading import BalanceInfo, ClientEvent, EventKind, OrderInfo, PositionSnapshot
from exchange_clients.base.websocket import ReconnectingWebSocket
from exchange_clients.lighter.client.utils.converters import (
    dec,
    opt_dec,
    parse_order,
    parse_position,
    parse_trade,
)
from exchange_clients.lighter.common import VENUE, LighterError
from perparb_core.models import reject

log = logging.getLogger("perparb.lighter.client")

SOURCE = "ws account_all"
SEEN_KEPT = 10_000  # trade ids and finished orders remembered


class AccountEventDecoder:
    """Turns `account_all` frames of one account into `ClientEvent`s, remembering what was already reported.

    Args:
        account_index: the account (decides the side of each trade).
        symbol_of: market id -> symbol (`MarketIndex.symbol_of`; "market-<id>" when unknown).
        client_id_of: client order index -> the caller's client order id (`ClientOrderIds.id_for`); None = 0.

    Pure (no I/O): `decode(frame)` returns the events of one frame.
    """

    def __init__(
        self,
        account_index: int,
        symbol_of: Callable[[int], str],
        client_id_of: Callable[[int], str | None],
    ) -> None:
        self.account_index = account_index
        self.symbol_of = symbol_of
        self.client_id_of = client_id_of
        self.snapshots = 0
        self.rejected = 0
        self._seen_trades: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._orders: dict[str, OrderInfo] = {}
        self._finished: deque[str] = deque()
        self._positions: dict[str, PositionSnapshot] = {}

    def decode(self, frame: dict[str, Any]) -> list[ClientEvent]:
        """The events of one `subscribed/account_all` or `update/account_all` frame ([] for any other frame)."""
        kind = frame.get("type")
        if kind not in ("subscribed/account_all", "update/account_all"):
            return []
        first = kind == "subscribed/account_all" and self.snapshots == 0
        if kind == "subscribed/account_all":
            self.snapshots += 1
        out: list[ClientEvent] = []
        out += self._orders_of(frame.get("orders"))
        out += self._trades_of(frame.get("trades"), history=first)
        out += self._positions_of(frame.get("positions"))
        return out

    # ------------------------------------------------------------------------------------------------- rows

    def _reject(self, market: str, field_name: str, value: Any, reason: str) -> None:
        self.rejected += 1
        reject(VENUE, SOURCE, market, field_name, value, reason)

    def _orders_of(self, by_market: Any) -> list[ClientEvent]:
        out: list[ClientEvent] = []
        for market, rows in _items(by_market):
            symbol = self._symbol(market)
            for row in rows if isinstance(rows, list) else []:
                if not isinstance(row, dict):
                    self._reject(market, "orders", row, "order row is not an object")
                    continue
                try:
                    coi = int(row.get("client_order_index") or 0)
                    order = parse_order(row, symbol, self.client_id_of(coi))
                except (LighterError, TypeError, ValueError) as exc:
                    self._reject(market, "orders", row.get("order_index"), str(exc))
                    continue
                if self._orders.get(order.order_id) == order:
                    continue
                self._orders[order.order_id] = order
                if order.status.is_final:  # kept (bounded) so a re-sent final order is not reported twice
                    self._finished.append(order.order_id)
                    if len(self._finished) > SEEN_KEPT:
                        self._orders.pop(self._finished.popleft(), None)
                out.append(ClientEvent(EventKind.ORDER, VENUE, symbol, order=order, raw=row))
        return out

    def _trades_of(self, by_market: Any, *, history: bool) -> list[ClientEvent]:
        out: list[ClientEvent] = []
        for market, rows in _items(by_market):
            symbol = self._symbol(market)
            for row in rows if isinstance(rows, list) else []:
                if not isinstance(row, dict):
                    self._reject(market, "trades", row, "trade row is not an object")
                    continue
                trade_id = str(row.get("trade_id", ""))
                if not trade_id or trade_id in self._seen_trades:
                    continue
                try:
                    fill = parse_trade(row, self.account_index, symbol)
                except (LighterError, TypeError, ValueError) as exc:
                    self._reject(market, "trades", trade_id, str(exc))
                    continue
                self._remember_trade(trade_id)
                if fill is None or history:
                    continue
                coi = int(fill.client_order_id) if fill.client_order_id else 0
                fill = replace(fill, client_order_id=self.client_id_of(coi))
                out.append(ClientEvent(EventKind.FILL, VENUE, symbol, fill=fill, raw=row))
                if row.get("type") == "liquidation":
                    out.append(ClientEvent(EventKind.LIQUIDATION, VENUE, symbol, fill=fill, raw=row))
        return out

    def _positions_of(self, by_market: Any) -> list[ClientEvent]:
        out: list[ClientEvent] = []
        for market, row in _items(by_market):
            if not isinstance(row, dict):
                self._reject(market, "positions", row, "position is not an object")
                continue
            symbol = self._symbol(market)
            try:
                snap = parse_position(row, symbol) or _flat(symbol)
            except (LighterError, TypeError, ValueError) as exc:
                self._reject(market, "positions", row.get("position"), str(exc))
                continue
            last = self._positions.get(symbol)
            if last == snap or (last is None and snap.quantity == 0):
                continue
            self._positions[symbol] = snap
            out.append(ClientEvent(EventKind.POSITION, VENUE, symbol, position=snap, raw=row))
        return out

    def _symbol(self, market: str) -> str:
        return self.symbol_of(int(market)) if market.isdigit() else f"market-{market}"

    def _remember_trade(self, trade_id: str) -> None:
        self._seen_trades.add(trade_id)
        self._seen_order.append(trade_id)
        if len(self._seen_order) > SEEN_KEPT:
            self._seen_trades.discard(self._seen_order.popleft())


def _items(by_market: Any) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in by_market.items()] if isinstance(by_market, dict) else []


def balance_of_stats(stats: dict[str, Any]) -> BalanceInfo:
    """The `stats` object of a `user_stats` frame -> BalanceInfo (USDC): available = `available_balance`,
    equity = `portfolio_value`, collateral = `collateral` (the same figures as REST `account`'s
    `available_balance` / `total_asset_value` / `collateral`).

    Raises:
        LighterDataError: a required figure missing or not a number (named)."""
    return BalanceInfo(
        venue=VENUE,
        available=dec(stats, "available_balance"),
        equity=dec(stats, "portfolio_value"),
        collateral=opt_dec(stats, "collateral"),
    )


def _flat(symbol: str) -> PositionSnapshot:
    return PositionSnapshot(
        venue=VENUE,
        symbol=symbol,
        quantity=Decimal(0),
        entry_price=None,
        mark_price=None,
        unrealized_pnl=None,
        funding_accrued=None,
        liquidation_price=None,
        margin=None,
        leverage=None,
    )


class AccountStream:
    """The `account_all/{account_index}` channel on its own `ReconnectingWebSocket`, decoded into `ClientEvent`s.

    Args:
        ws_url: the `/stream` URL (`converters.ws_url_from_rest`).
        decoder: an `AccountEventDecoder` of the account.
        token: returns a valid auth token (`AuthTokenCache.get`); called at every (re)subscription.
        max_queue: events kept for a slow consumer.
        app_ping_seconds: period of the client's `{"type":"ping"}`.
        state: the account state to keep (module docstring); None = events only.

    Attributes:
        subscribed: set while the channel is subscribed (snapshot received; cleared on disconnect); errors: error
            bodies received;
        dropped: events dropped because the queue was full.
    """

    def __init__(
        self,
        ws_url: str,
        decoder: AccountEventDecoder,
        token: Callable[[], str],
        *,
        max_queue: int = 10_000,
        app_ping_seconds: float = 60.0,
        state: AccountState | None = None,
        **ws_options: Any,
    ) -> None:
        self.decoder = decoder
        self.state = state
        self.stats_channel = f"user_stats/{decoder.account_index}"
        self._snapshot_parts: dict[str, Any] = {}
        self._forced_at = 0.0  # loop time of the last reconnect forced by silence
        self.token = token
        self.channel = f"account_all/{decoder.account_index}"
        self.queue: asyncio.Queue[ClientEvent] = asyncio.Queue(maxsize=max_queue)
        self.subscribed = asyncio.Event()
        self.errors: list[Any] = []
        self.dropped = 0
        self._app_ping = app_ping_seconds
        self.ws = ReconnectingWebSocket(
            ws_url,
            name="lighter account",
            on_message=self._on_message,
            on_disconnect=self._on_disconnect,
            **ws_options,
        )
        self._task: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.ws.run())
            self._pinger = asyncio.create_task(self._ping_loop())

    async def stop(self) -> None:
        await self.ws.stop()
        tasks, self._task, self._pinger = (self._task, self._pinger), None, None
        for task in tasks:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def wait_subscribed(self, timeout_seconds: float) -> bool:
        """True once a `subscribed/account_all` snapshot arrived on the current connection, False after
        `timeout_seconds`."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout_seconds)
        return self.subscribed.is_set()

    def _on_disconnect(self) -> None:
        self.subscribed.clear()
        self._snapshot_parts = {}
        if self.state is not None:
            self.state.desync("account stream disconnected")

    async def _on_message(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if self.state is not None:
            self.state.touch()
        if kind == "connected":
            channels = [self.channel] + ([self.stats_channel] if self.state is not None else [])
            try:
                token: str | None = self.token()
            except LighterError as exc:
                log.warning("lighter account stream: no auth token (%s); subscribing without it", exc)
                token = None
            for channel in channels:
                frame = {"type": "subscribe", "channel": channel}
                await self.ws.send(frame if token is None else frame | {"auth": token})
            return
        if kind in ("subscribed/user_stats", "update/user_stats"):
            self._on_stats(msg, snapshot=kind == "subscribed/user_stats")
            return
        if kind == "ping":
            await self.ws.send({"type": "pong"})
            return
        if "error" in msg:
            log.warning("lighter account stream error: %s", msg["error"])
            self.errors.append(msg["error"])
            return
        events = self.decoder.decode(msg)
        for event in events:
            self._put(event)
        if self.state is not None and kind in ("subscribed/account_all", "update/account_all"):
            if kind == "subscribed/account_all":
                self._snapshot_parts["account"] = self._complete_reading(msg)
                self._seed_if_complete()
            else:
                for event in events:
                    if event.order is not None:
                        self.state.apply_order(event.order)
                    elif event.kind is EventKind.POSITION and event.position is not None:
                        self.state.apply_position(event.position)
        if kind == "subscribed/account_all":
            self.subscribed.set()

    def _on_stats(self, msg: dict[str, Any], *, snapshot: bool) -> None:
        if self.state is None:
            return
        stats = msg.get("stats")
        try:
            balance = balance_of_stats(stats if isinstance(stats, dict) else {})
        except LighterError as exc:
            log.warning("lighter account stream: unusable user_stats frame: %s", exc)
            self.state.desync(f"unusable user_stats frame: {exc}")
            return
        if snapshot:
            self._snapshot_parts["balance"] = balance
            self._seed_if_complete()
        else:
            self.state.apply_balance(balance)

    def _complete_reading(self, frame: dict[str, Any]) -> tuple[list[PositionSnapshot], list[OrderInfo]]:
        """Positions and open orders of a `subscribed/account_all` snapshot (unparseable rows are skipped: the
        decoder has reported them)."""
        positions: list[PositionSnapshot] = []
        for market, row in _items(frame.get("positions")):
            try:
                snap = parse_position(row, self.decoder._symbol(market)) if isinstance(row, dict) else None
            except (LighterError, TypeError, ValueError):
                continue
            if snap is not None:
                positions.append(snap)
        orders: list[OrderInfo] = []
        for market, rows in _items(frame.get("orders")):
            for row in rows if isinstance(rows, list) else []:
                try:
                    coi = int(row.get("client_order_index") or 0)
                    orders.append(
                        parse_order(row, self.decoder._symbol(market), self.decoder.client_id_of(coi))
                    )
                except (LighterError, TypeError, ValueError, AttributeError):
                    continue
        return positions, orders

    def _seed_if_complete(self) -> None:
        """Both snapshots of the current connection arrived: they re-seed the account state."""
        if (
            self.state is None
            or "account" not in self._snapshot_parts
            or "balance" not in self._snapshot_parts
        ):
            return
        positions, orders = self._snapshot_parts["account"]
        self.state.seed(self._snapshot_parts["balance"], positions, orders)

    def _put(self, event: ClientEvent) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            log.warning("lighter account stream: event queue full, oldest event dropped")
        self.queue.put_nowait(event)

    async def _ping_loop(self) -> None:
        """App-level ping every `app_ping_seconds`; with a state, a connection silent beyond the state's
        staleness bound is a gap (frames may be lost): the state is desynced and the connection re-opened, whose
        snapshots re-seed it."""
        while True:
            await asyncio.sleep(self._app_ping)
            why = None if self.state is None else self.state.staleness()
            if why is not None and self.ws.connected.is_set():
                loop = asyncio.get_running_loop()
                assert self.state is not None
                if loop.time() - self._forced_at >= self.state.max_age_seconds:
                    # silent beyond the bound (or never re-seeded since): re-open, the snapshots re-seed it
                    log.warning("lighter account stream: %s; reconnecting to re-synchronise", why)
                    self.state.desync(f"connection silent: {why}")
                    self._forced_at = loop.time()
                    with contextlib.suppress(ConnectionError, OSError):
                        await self.ws.reconnect()
                    continue
            with contextlib.suppress(ConnectionError):
                await self.ws.send({"type": "ping"})

    async def events(self) -> AsyncIterator[ClientEvent]:
        """Events in arrival order, forever (a single consumer; several consumers share the queue)."""
        while True:
            yield await self.queue.get()
