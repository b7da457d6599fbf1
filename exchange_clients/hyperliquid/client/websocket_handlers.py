"""The account stream of a Hyperliquid client: `orderUpdates`, `userFills` and `userFundings` -> `ClientEvent`s.

Protocol (docs for-developers/api/websocket/subscriptions.md): subscribe `{"method":"subscribe","subscription":
{"type":"orderUpdates"|"userFills"|"userFundings","user":"0x<account>"}}` (the ACCOUNT's address, not the agent's).
Pushes:
* `{"channel":"orderUpdates","data":[{order:{coin, side, limitPx, sz, oid, timestamp, origSz, cloid?}, status,
  statusTimestamp}]}` (venue-data/hyperliquid/ws_orderUpdates_open.json) -> ORDER events (a state already
  reported is not reported again);
* `{"channel":"userFills","data":{isSnapshot?, user, fills:[...]}}` (ws_userFills_snapshot.json; also the fills of
  a `user` / userEvents push, ws_user_fills_liquidation_2026-06.json) -> FILL events, deduplicated by `tid`; a fill
  whose `liquidation.liquidatedUser` is the account also gives a LIQUIDATION event. The FIRST snapshot is history
  from before the stream started: only remembered. After a reconnect the new snapshot's unseen fills (made while
  disconnected) ARE reported, and seen ones are not: no duplicate fill;
* `{"channel":"userFundings","data":{isSnapshot?, user, fundings:[{time, coin, usdc, szi, fundingRate}]}}` -> kept
  in `funding_payments` (no event kind for them; `get_funding_payments` reads `userFunding` over REST).
Only the client's perp dex's coins are reported. Keepalive: `{"method":"ping"}` every `ping_seconds` (< 60 s).
Events go to a bounded queue; when it is full the oldest event is dropped (logged).

Account state (issue #16, `exchange_clients.base.account_state`): with a `keeper`, the stream also subscribes
`{"type":"clearinghouseState","user":<account>,"dex":<dex, omitted for the first perp dex>}` (docs
for-developers/api/websocket/subscriptions.md; push `{"channel":"clearinghouseState","data":{dex, user,
clearinghouseState: <the `clearinghouseState` info body>}}`, the shape of @nktkas/hyperliquid's
`ClearinghouseStateEvent`; the body is the recorded REST one, rest_info_clearinghouseState_*.json, as no push was
recorded). It was chosen over `webData2` because it is per perp dex, like the client, and carries only the account.
Each push is a COMPLETE reading of balance and positions: the balance (`converters.parse_balance`: available =
`withdrawable`, equity = `marginSummary.accountValue`, USDC) is applied and the positions are replaced by its
`assetPositions` (sizes in base units, signed). Open orders follow `orderUpdates` (an order in a final state
leaves the set). The seed: once the `subscriptionResponse` of every account channel of a connection arrived, one
REST reading (clearinghouseState + frontendOpenOrders, the client's `reading`) seeds the state; pushes arriving
during it are laid on after it (`AccountStateKeeper`). Every `pong` touches the state; the ping period is a third
of the staleness bound (at most `ping_seconds`); a connection silent beyond the bound is a gap: desynced and
re-opened. The connection dropping desyncs it; the next connection seeds it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection

from exchange_clients.base.account_state import (
    AccountState,
    AccountStateKeeper,
    order_change,
)
from exchange_clients.base.trading import (
    BalanceInfo,
    ClientEvent,
    EventKind,
    FundingPaymentInfo,
    OrderInfo,
    PositionSnapshot,
)
from exchange_clients.base.websocket import ReconnectingWebSocket
from exchange_clients.hyperliquid.client.utils.converters import (
    parse_fill,
    parse_funding_payment,
    parse_order,
)
from exchange_clients.hyperliquid.client.utils.helpers import belongs_to_dex
from exchange_clients.hyperliquid.common import HyperliquidError
from exchange_clients.hyperliquid.websocket.manager import PING_SECONDS, subscription
from perparb_core.models import reject

log = logging.getLogger("perparb.hyperliquid.client")
SOURCE = "ws account"
SEEN_KEPT = 10_000
EVENT_CHANNELS = ("orderUpdates", "userFills", "userFundings")
STATE_CHANNEL = "clearinghouseState"
StateOf = Callable[[Any], tuple[BalanceInfo, list[PositionSnapshot]]]


class AccountEventDecoder:
    """Turns account frames of one user on one perp dex into `ClientEvent`s, remembering what was reported.

    Args:
        venue: the venue id; dex: the perp dex ("" = first); user: the account address (lower-case);
        symbol_of: coin -> canonical symbol; client_id_of: cloid -> the caller's client order id.

    Pure (no I/O): `decode(frame)` returns the events of one frame.
    """

    def __init__(
        self,
        venue: str,
        dex: str,
        user: str,
        symbol_of: Callable[[str], str],
        client_id_of: Callable[[str | None], str | None],
    ) -> None:
        self.venue = venue
        self.dex = dex
        self.user = user.lower()
        self.symbol_of = symbol_of
        self.client_id_of = client_id_of
        self.fill_snapshots = 0
        self.rejected = 0
        self.funding_payments: deque[FundingPaymentInfo] = deque(maxlen=SEEN_KEPT)
        self._seen_fills: set[str] = set()
        self._fill_order: deque[str] = deque()
        self._seen_order: deque[str] = deque()
        self._orders: dict[str, OrderInfo] = {}

    def decode(self, frame: dict[str, Any]) -> list[ClientEvent]:
        channel = frame.get("channel")
        data = frame.get("data")
        if channel == "orderUpdates" and isinstance(data, list):
            return self._orders_of(data)
        if channel in ("userFills", "user") and isinstance(data, dict):
            snapshot = data.get("isSnapshot") is True
            history = snapshot and self.fill_snapshots == 0
            if snapshot:
                self.fill_snapshots += 1
            return self._fills_of(data.get("fills"), history=history)
        if channel == "userFundings" and isinstance(data, dict):
            self._fundings_of(data.get("fundings"))
        return []

    def _reject(self, coin: str | None, field_name: str, value: Any, reason: str) -> None:
        self.rejected += 1
        reject(self.venue, SOURCE, coin, field_name, value, reason)

    def _orders_of(self, rows: list[Any]) -> list[ClientEvent]:
        out = []
        for row in rows:
            order = row.get("order") if isinstance(row, dict) else None
            if not isinstance(order, dict) or not isinstance(row.get("status"), str):
                self._reject(None, "orderUpdates", row, "not {order, status}")
                continue
            coin = str(order.get("coin", ""))
            if not belongs_to_dex(coin, self.dex):
                continue
            try:
                ts = row.get("statusTimestamp")
                info = parse_order(
                    order,
                    row["status"],
                    venue=self.venue,
                    symbol_of=self.symbol_of,
                    client_id_of=self.client_id_of,
                    status_ts_ms=ts if isinstance(ts, int) else None,
                )
            except ValueError as exc:
                self._reject(coin, "orderUpdates", order.get("oid"), str(exc))
                continue
            key = info.order_id
            last = self._orders.get(key)
            if last is not None and (last.status, last.filled_quantity) == (
                info.status,
                info.filled_quantity,
            ):
                continue
            self._orders[key] = info
            self._seen_order.append(key)
            if len(self._seen_order) > SEEN_KEPT:
                self._orders.pop(self._seen_order.popleft(), None)
            out.append(ClientEvent(EventKind.ORDER, self.venue, info.symbol, order=info, raw=row))
        return out

    def _fills_of(self, rows: Any, *, history: bool) -> list[ClientEvent]:
        out: list[ClientEvent] = []
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                self._reject(None, "fills", row, "fill is not an object")
                continue
            coin = str(row.get("coin", ""))
            if not belongs_to_dex(coin, self.dex):
                continue
            try:
                fill = parse_fill(
                    row, venue=self.venue, symbol_of=self.symbol_of, client_id_of=self.client_id_of
                )
            except ValueError as exc:
                self._reject(coin, "fills", row.get("tid"), str(exc))
                continue
            if fill.fill_id in self._seen_fills:
                continue
            self._seen_fills.add(fill.fill_id)
            self._fill_order.append(fill.fill_id)
            if len(self._fill_order) > SEEN_KEPT:
                self._seen_fills.discard(self._fill_order.popleft())
            if history:
                continue
            out.append(ClientEvent(EventKind.FILL, self.venue, fill.symbol, fill=fill, raw=row))
            liquidation = row.get("liquidation")
            if (
                isinstance(liquidation, dict)
                and str(liquidation.get("liquidatedUser", "")).lower() == self.user
            ):
                out.append(ClientEvent(EventKind.LIQUIDATION, self.venue, fill.symbol, fill=fill, raw=row))
        return out

    def _fundings_of(self, rows: Any) -> None:
        for row in rows if isinstance(rows, list) else []:
            coin = str(row.get("coin", "")) if isinstance(row, dict) else ""
            if not isinstance(row, dict) or not belongs_to_dex(coin, self.dex):
                continue
            try:
                self.funding_payments.append(
                    parse_funding_payment(row, venue=self.venue, symbol_of=self.symbol_of)
                )
            except ValueError as exc:
                self._reject(coin, "fundings", row.get("time"), str(exc))


class AccountStream:
    """The account channels on their own `ReconnectingWebSocket`, decoded into `ClientEvent`s.

    Args:
        ws_url: the `/ws` URL; decoder: an `AccountEventDecoder`; max_queue: events kept for a slow consumer;
        ping_seconds: heartbeat period (< 60 s); keeper / state_of: the account state to keep and the parser of a
        `clearinghouseState` body into (balance, positions of the dex) (module docstring; None = events only);
        ws_options: `ReconnectingWebSocket` options.

    Attributes:
        subscribed: set once the `userFills` snapshot of the current connection arrived (cleared on disconnect);
        errors: `error` frames; dropped: events dropped because the queue was full.
    """

    def __init__(
        self,
        ws_url: str,
        decoder: AccountEventDecoder,
        *,
        max_queue: int = 10_000,
        ping_seconds: float = PING_SECONDS,
        keeper: AccountStateKeeper | None = None,
        state_of: StateOf | None = None,
        **ws_options: Any,
    ) -> None:
        self.decoder = decoder
        self.keeper = keeper
        self.state_of = state_of
        self.queue: asyncio.Queue[ClientEvent] = asyncio.Queue(maxsize=max_queue)
        self.subscribed = asyncio.Event()
        self.errors: list[Any] = []
        self.dropped = 0
        self._ping = ping_seconds
        self.channels = EVENT_CHANNELS + ((STATE_CHANNEL,) if keeper is not None else ())
        self._acked: set[str] = set()
        self.ws = ReconnectingWebSocket(
            ws_url,
            name=f"{decoder.venue} account",
            on_message=self._on_message,
            on_connect=self._on_connect,
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
        if self.keeper is not None:
            await self.keeper.stop()
        tasks, self._task, self._pinger = (self._task, self._pinger), None, None
        for task in tasks:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def wait_subscribed(self, timeout_seconds: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout_seconds)
        return self.subscribed.is_set()

    def _on_disconnect(self) -> None:
        self.subscribed.clear()
        self._acked.clear()
        if self.keeper is not None:
            self.keeper.disconnected("account stream disconnected")

    async def _on_connect(self, ws: ClientConnection) -> None:
        self._acked.clear()
        for kind in self.channels:
            fields = {"user": self.decoder.user}
            if kind == STATE_CHANNEL and self.decoder.dex:
                fields["dex"] = self.decoder.dex
            await self.ws.send(subscription(kind, **fields))

    async def _on_message(self, msg: dict[str, Any]) -> None:
        channel = msg.get("channel")
        keeper = self.keeper
        if keeper is not None and channel is not None:
            keeper.alive()  # anything on the account connection, the pong included, proves it alive
        if channel == "error":
            log.warning("%s account stream error: %s", self.decoder.venue, str(msg.get("data"))[:200])
            self.errors.append(msg.get("data"))
            return
        if channel == "subscriptionResponse":
            self._on_ack(msg.get("data"))
            return
        if channel == STATE_CHANNEL:
            self._on_state(msg.get("data"))
            return
        events = self.decoder.decode(msg)
        for event in events:
            self._put(event)
            if keeper is not None and event.order is not None:
                keeper.apply(order_change(event.order))
        if channel == "userFills" and isinstance(msg.get("data"), dict) and msg["data"].get("isSnapshot"):
            self.subscribed.set()

    def _on_ack(self, data: Any) -> None:
        """A `subscriptionResponse`: once every account channel of this connection is acknowledged, seed."""
        sub = data.get("subscription") if isinstance(data, dict) else None
        if not isinstance(sub, dict) or data.get("method") != "subscribe":
            return
        kind = str(sub.get("type"))
        complete_before = self._acked >= set(self.channels)
        self._acked.add(kind)
        if self.keeper is not None and not complete_before and self._acked >= set(self.channels):
            self.keeper.subscribed()  # once per connection

    def _on_state(self, data: Any) -> None:
        """A `clearinghouseState` push of the client's dex: balance applied, positions replaced."""
        if self.keeper is None or self.state_of is None or not isinstance(data, dict):
            return
        if str(data.get("dex", "")) != self.decoder.dex:
            return
        try:
            balance, positions = self.state_of(data.get("clearinghouseState"))
        except (ValueError, HyperliquidError) as exc:
            log.warning("%s account stream: unusable clearinghouseState push: %s", self.decoder.venue, exc)
            self.keeper.disconnected(f"unusable clearinghouseState push: {exc}")
            return
        self.keeper.apply(lambda state: replace_positions(state, balance, positions))

    def _put(self, event: ClientEvent) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            log.warning("%s account stream: event queue full, oldest event dropped", self.decoder.venue)
        self.queue.put_nowait(event)

    async def _send_ping(self) -> None:
        await self.ws.send({"method": "ping"})

    async def _ping_loop(self) -> None:
        """`{"method":"ping"}` every `ping_seconds`; with a keeper, the keeper's loop instead (module docstring)."""
        if self.keeper is not None:
            await self.keeper.keepalive(
                self._send_ping, self.ws.connected.is_set, self.ws.reconnect, max_period=self._ping
            )
            return
        while True:
            await asyncio.sleep(self._ping)
            with contextlib.suppress(ConnectionError):
                await self._send_ping()

    async def events(self) -> AsyncIterator[ClientEvent]:
        """Events in arrival order, forever (a single consumer)."""
        while True:
            yield await self.queue.get()


def replace_positions(state: AccountState, balance: BalanceInfo, positions: list[PositionSnapshot]) -> None:
    """Lay a complete reading of balance and positions (a `clearinghouseState` push) onto `state`: positions it
    does not list are flat."""
    state.apply_balance(balance)
    listed = {p.symbol for p in positions}
    for symbol in [s for s in state.positions if s not in listed]:
        del state.positions[symbol]
    for snap in positions:
        state.apply_position(snap)
