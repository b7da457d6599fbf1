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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection

from exchange_clients.base.trading import ClientEvent, EventKind, FundingPaymentInfo, OrderInfo
from exchange_clients.base.websocket import ReconnectingWebSocket
from exchange_clients.hyperliquid.client.utils.converters import (
    parse_fill,
    parse_funding_payment,
    parse_order,
)
from exchange_clients.hyperliquid.client.utils.helpers import belongs_to_dex
from exchange_clients.hyperliquid.websocket.manager import PING_SECONDS, subscription
from perparb_core.models import reject

log = logging.getLogger("perparb.hyperliquid.client")
SOURCE = "ws account"
SEEN_KEPT = 10_000


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
        ping_seconds: heartbeat period (< 60 s); ws_options: `ReconnectingWebSocket` options.

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
        **ws_options: Any,
    ) -> None:
        self.decoder = decoder
        self.queue: asyncio.Queue[ClientEvent] = asyncio.Queue(maxsize=max_queue)
        self.subscribed = asyncio.Event()
        self.errors: list[Any] = []
        self.dropped = 0
        self._ping = ping_seconds
        self.ws = ReconnectingWebSocket(
            ws_url,
            name=f"{decoder.venue} account",
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self.subscribed.clear,
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
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout_seconds)
        return self.subscribed.is_set()

    async def _on_connect(self, ws: ClientConnection) -> None:
        for kind in ("orderUpdates", "userFills", "userFundings"):
            await self.ws.send(subscription(kind, user=self.decoder.user))

    async def _on_message(self, msg: dict[str, Any]) -> None:
        channel = msg.get("channel")
        if channel == "error":
            log.warning("%s account stream error: %s", self.decoder.venue, str(msg.get("data"))[:200])
            self.errors.append(msg.get("data"))
            return
        for event in self.decoder.decode(msg):
            self._put(event)
        if channel == "userFills" and isinstance(msg.get("data"), dict) and msg["data"].get("isSnapshot"):
            self.subscribed.set()

    def _put(self, event: ClientEvent) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            log.warning("%s account stream: event queue full, oldest event dropped", self.decoder.venue)
        self.queue.put_nowait(event)

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self._ping)
            with contextlib.suppress(ConnectionError):
                await self.ws.send({"method": "ping"})

    async def events(self) -> AsyncIterator[ClientEvent]:
        """Events in arrival order, forever (a single consumer)."""
        while True:
            yield await self.queue.get()
