"""The account stream of an Aster client: the user-data stream -> `ClientEvent`s.

Protocol (asterdex/api-docs@265e024 V3 "User Data Streams"): `POST listenKey` gives a key valid 60 minutes
(`PUT` extends it; a second `POST` returns the same key); the stream is `<ws base>/ws/<listenKey>`; events:
* `ORDER_TRADE_UPDATE` `{E, T, o:{s, c, S, o, f, q, p, ap, x, X, i, l, z, L, n, T, t, m, R, ...}}` -> ORDER events
  (a state already reported is not reported again) and, when `x` is TRADE, FILL events deduplicated by trade id
  (`<symbol>:<t>`, the same id as `userTrades` `id`); an order whose client id starts with "autoclose-" or whose
  type is LIQUIDATION is a liquidation: a LIQUIDATION event too;
* `ACCOUNT_UPDATE` `{E, T, a:{m, B:[...], P:[...]}}` (ws_ACCOUNT_UPDATE_2026-01.json) -> POSITION events for `P`;
  reason `m` FUNDING_FEE: the balance change is remembered in `funding_changes` (payments are read over REST,
  `GET income`);
* `listenKeyExpired` -> a new key is asked for and the connection reopened.
Keepalive: `PUT listenKey` every `keepalive_seconds` (30 min). Order of events: by `E` within one frame.

No duplicate fill after a reconnect, and none missed: the stream does not replay what happened while it was down,
so after every reconnect `backfill()` (the client's REST `userTrades` since the last fill seen) is read and only
the fills not reported yet are emitted. Events go to a bounded queue; when full the oldest is dropped (logged).

Account state (issue #16, `exchange_clients.base.account_state`): with a `keeper`, the same stream keeps the state:
* orders: every `ORDER_TRADE_UPDATE` (`parse_order_update`; an order in a final state leaves the open set);
* positions: `ACCOUNT_UPDATE` `a.P` rows (`pa` signed size in base units, `ep` entry price, `up` unrealised PnL;
  a row with `pa` 0 is a flat position; `positions_of_account_update`);
* balance: the stream carries `a.B` rows `{a: asset, wb: wallet balance, cw: cross wallet balance, bc: balance
  change}` (ws_ACCOUNT_UPDATE_2026-01.json; docs "Event: Balance and Position Update"), but NOT the available
  balance (`availableBalance` of `GET balance`, which nets the initial margin of positions AND open orders and
  the unrealised PnL of every position: the stream pushes only the positions that changed, so it cannot be
  derived from one frame without guessing). So after every `ACCOUNT_UPDATE` the balance is re-read over REST
  (`GET balance`, the client's `balance_read`) IN THE BACKGROUND (`AccountStateKeeper.refresh_balance`,
  coalesced): the entry path never waits on REST; until the read lands (one REST round trip) the state serves
  the balance before the change.
The seed: once the stream is connected (and, after a reconnect, the fills backfilled), one REST reading (balance,
positionRisk, openOrders) seeds it; frames arriving during that read are laid on after it. A protocol-level ping
every third of the staleness bound touches the state when answered; a connection silent beyond the bound is a gap:
desynced and re-opened. The connection dropping desyncs it; the next connection seeds it again. Aster numbers no
user-data frame, so a gap can only show as a dropped or silent connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from websockets.asyncio.client import ClientConnection

from exchange_clients.aster.client.utils.converters import parse_order_update, positions_of_account_update
from exchange_clients.aster.common import AsterError
from exchange_clients.aster.http import AsterHttp
from exchange_clients.base.account_state import (
    AccountStateKeeper,
    order_change,
    position_change,
)
from exchange_clients.base.trading import ClientEvent, EventKind, Fill, OrderInfo
from exchange_clients.base.websocket import ReconnectingWebSocket
from perparb_core.models import reject

log = logging.getLogger("perparb.aster.client")
SOURCE = "ws user data"
SEEN_KEPT = 10_000
Backfill = Callable[[datetime | None], Awaitable[list[Fill]]]


class AccountEventDecoder:
    """Turns user-data frames into `ClientEvent`s, remembering what was reported. Pure (no I/O).

    Args:
        venue: "aster"; symbol_of: Aster symbol -> canonical symbol; client_id_of: venue client id -> perparb's.
    """

    def __init__(
        self, venue: str, symbol_of: Callable[[str], str], client_id_of: Callable[[str | None], str | None]
    ) -> None:
        self.venue = venue
        self.symbol_of = symbol_of
        self.client_id_of = client_id_of
        self.rejected = 0
        self.funding_changes: deque[tuple[int, str, Decimal]] = deque(maxlen=SEEN_KEPT)
        self.last_fill_ts: datetime | None = None
        self._seen_fills: set[str] = set()
        self._fill_order: deque[str] = deque()
        self._orders: dict[str, OrderInfo] = {}
        self._order_keys: deque[str] = deque()

    def decode(self, frame: Any) -> list[ClientEvent]:
        if not isinstance(frame, dict):
            return []
        kind = frame.get("e")
        if kind == "ORDER_TRADE_UPDATE" and isinstance(frame.get("o"), dict):
            return self._order_update(frame["o"], frame.get("E"))
        if kind == "ACCOUNT_UPDATE" and isinstance(frame.get("a"), dict):
            return self._account_update(frame["a"], frame.get("E"))
        return []

    def fill_events(self, fills: list[Fill]) -> list[ClientEvent]:
        """FILL events of the fills not reported yet (REST backfill after a reconnect)."""
        return [ClientEvent(EventKind.FILL, self.venue, f.symbol, fill=f) for f in fills if self._new_fill(f)]

    def _new_fill(self, fill: Fill) -> bool:
        if fill.fill_id in self._seen_fills:
            return False
        self._seen_fills.add(fill.fill_id)
        self._fill_order.append(fill.fill_id)
        if len(self._fill_order) > SEEN_KEPT:
            self._seen_fills.discard(self._fill_order.popleft())
        if self.last_fill_ts is None or fill.ts > self.last_fill_ts:
            self.last_fill_ts = fill.ts
        return True

    def _order_update(self, o: dict[str, Any], event_ms: Any) -> list[ClientEvent]:
        try:
            order, fill = parse_order_update(
                o,
                venue=self.venue,
                symbol_of=self.symbol_of,
                client_id_of=self.client_id_of,
                event_ms=event_ms if isinstance(event_ms, int) else None,
            )
        except ValueError as exc:
            self.rejected += 1
            reject(self.venue, SOURCE, str(o.get("s")), "ORDER_TRADE_UPDATE", o.get("i"), str(exc))
            return []
        out: list[ClientEvent] = []
        last = self._orders.get(order.order_id)
        if last is None or (last.status, last.filled_quantity) != (order.status, order.filled_quantity):
            self._orders[order.order_id] = order
            self._order_keys.append(order.order_id)
            if len(self._order_keys) > SEEN_KEPT:
                self._orders.pop(self._order_keys.popleft(), None)
            out.append(ClientEvent(EventKind.ORDER, self.venue, order.symbol, order=order, raw=o))
        if fill is not None and self._new_fill(fill):
            out.append(ClientEvent(EventKind.FILL, self.venue, fill.symbol, fill=fill, raw=o))
            if str(o.get("c", "")).startswith("autoclose-") or o.get("o") == "LIQUIDATION":
                out.append(ClientEvent(EventKind.LIQUIDATION, self.venue, fill.symbol, fill=fill, raw=o))
        return out

    def _account_update(self, a: dict[str, Any], event_ms: Any) -> list[ClientEvent]:
        if a.get("m") == "FUNDING_FEE":
            for b in a.get("B") or []:
                if isinstance(b, dict) and b.get("bc") not in (None, ""):
                    with contextlib.suppress(ArithmeticError, ValueError):
                        self.funding_changes.append(
                            (
                                event_ms if isinstance(event_ms, int) else 0,
                                str(b.get("a")),
                                Decimal(str(b["bc"])),
                            )
                        )
        return [
            ClientEvent(EventKind.POSITION, self.venue, p.symbol, position=p, raw=a)
            for p in positions_of_account_update(a, venue=self.venue, symbol_of=self.symbol_of)
        ]


class AccountStream:
    """The user-data stream on its own `ReconnectingWebSocket`, decoded into `ClientEvent`s.

    Args:
        http: the venue's HTTP stack with the account's signer (listenKey calls); ws_base: the WebSocket base;
        decoder: an `AccountEventDecoder`; backfill: REST fills since a time (reconnect gap); max_queue;
        keepalive_seconds: `PUT listenKey` period (< 60 min); keeper: the account state to keep (module
        docstring; None = events only); ws_options: `ReconnectingWebSocket` options.

    Attributes:
        subscribed: set while connected with a valid key; backfilled: fills emitted from REST after reconnects;
        dropped: events dropped because the queue was full.
    """

    def __init__(
        self,
        http: AsterHttp,
        ws_base: str,
        decoder: AccountEventDecoder,
        backfill: Backfill,
        *,
        max_queue: int = 10_000,
        keepalive_seconds: float = 1800.0,
        keeper: AccountStateKeeper | None = None,
        **ws_options: Any,
    ) -> None:
        self.keeper = keeper
        self._state_pinger: asyncio.Task[None] | None = None
        self.http = http
        self.ws_base = ws_base.rstrip("/")
        self.decoder = decoder
        self.backfill = backfill
        self.queue: asyncio.Queue[ClientEvent] = asyncio.Queue(maxsize=max_queue)
        self.subscribed = asyncio.Event()
        self.backfilled = 0
        self.dropped = 0
        self._keepalive = keepalive_seconds
        self._ws_options = ws_options
        self.ws: ReconnectingWebSocket | None = None
        self._task: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None

    async def _new_key(self) -> str:
        body = await self.http.listen_key("POST")
        key = body.get("listenKey") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key:
            raise AsterError(f"listenKey: unexpected answer {str(body)[:80]!r}")
        return key

    async def start(self) -> None:
        """Ask for a listenKey and open the stream. Raises AsterError subclasses (the key request)."""
        if self._task is not None:
            return
        key = await self._new_key()
        self.ws = ReconnectingWebSocket(
            f"{self.ws_base}/ws/{key}",
            name=f"{self.decoder.venue} user data",
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            **self._ws_options,
        )
        self._task = asyncio.create_task(self.ws.run())
        self._pinger = asyncio.create_task(self._keepalive_loop())
        if self.keeper is not None:
            ws = self.ws
            self._state_pinger = asyncio.create_task(
                self.keeper.keepalive(self._ping, ws.connected.is_set, ws.reconnect)
            )

    async def _ping(self) -> None:
        """A protocol-level ping; its answer proves the connection alive (the state is touched)."""
        assert self.ws is not None and self.keeper is not None
        await self.ws.ping(self.keeper.state.max_age_seconds / 3)
        self.keeper.alive()

    def _on_disconnect(self) -> None:
        self.subscribed.clear()
        if self.keeper is not None:
            self.keeper.disconnected("user-data stream disconnected")

    async def stop(self) -> None:
        if self.ws is not None:
            await self.ws.stop()
        if self.keeper is not None:
            await self.keeper.stop()
        tasks = (self._task, self._pinger, self._state_pinger)
        self._task = self._pinger = self._state_pinger = None
        for task in tasks:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        with contextlib.suppress(AsterError):
            await self.http.listen_key("DELETE")

    async def wait_subscribed(self, timeout_seconds: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout_seconds)
        return self.subscribed.is_set()

    async def _on_connect(self, ws: ClientConnection) -> None:
        assert self.ws is not None
        if self.ws.connects > 1:
            try:
                fills = await self.backfill(self.decoder.last_fill_ts)
            except AsterError as exc:
                log.warning("%s user data: fills after reconnect not read: %s", self.decoder.venue, exc)
            else:
                for event in self.decoder.fill_events(fills):
                    self.backfilled += 1
                    self._put(event)
        self.subscribed.set()
        if self.keeper is not None:
            self.keeper.subscribed()

    async def _on_message(self, msg: Any) -> None:
        if isinstance(msg, dict) and msg.get("e") == "listenKeyExpired":
            log.info("%s user data: listenKey expired, asking for a new one", self.decoder.venue)
            await self._renew()
            return
        events = self.decoder.decode(msg)
        for event in events:
            self._put(event)
        keeper = self.keeper
        if keeper is None:
            return
        keeper.alive()
        for event in events:
            if event.kind is EventKind.ORDER and event.order is not None:
                keeper.apply(order_change(event.order))
            elif event.kind is EventKind.POSITION and event.position is not None:
                keeper.apply(position_change(event.position))
        if isinstance(msg, dict) and msg.get("e") == "ACCOUNT_UPDATE":
            keeper.refresh_balance()

    async def _renew(self) -> None:
        assert self.ws is not None
        try:
            self.ws.url = f"{self.ws_base}/ws/{await self._new_key()}"
        except AsterError as exc:
            log.warning("%s user data: new listenKey refused: %s", self.decoder.venue, exc)
            return
        await self.ws.reconnect()

    def _put(self, event: ClientEvent) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            log.warning("%s user data: event queue full, oldest event dropped", self.decoder.venue)
        self.queue.put_nowait(event)

    async def _keepalive_loop(self) -> None:
        while True:
            await asyncio.sleep(self._keepalive)
            try:
                await self.http.listen_key("PUT")
            except AsterError as exc:
                log.warning("%s user data: keepalive failed (%s); renewing the key", self.decoder.venue, exc)
                await self._renew()

    async def events(self) -> AsyncIterator[ClientEvent]:
        """Events in arrival order, forever (a single consumer)."""
        while True:
            yield await self.queue.get()
