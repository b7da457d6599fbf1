"""The Backpack account stream: `account.orderUpdate` and `account.positionUpdate` -> `ClientEvent`s.

Private streams are subscribed with a signature (docs "Streams: private"): `{"method": "SUBSCRIBE", "params":
["account.orderUpdate", "account.positionUpdate"], "signature": [api_key, signature, timestamp, window]}`, the
signature over `instruction=subscribe&timestamp=<ms>&window=<ms>` (`utils/signing.BackpackSigner.ws_signature`).

`orderUpdate` events (`e`): orderAccepted, orderCancelled, orderExpired, orderFill, orderModified, triggerPlaced,
triggerFailed (venue-data/backpack/ws_orderUpdate_*.json): each gives an ORDER event; an `orderFill` also gives a
FILL event (`t` trade id, `l` quantity, `L` price, `n` fee). `positionUpdate` (positionOpened, positionAdjusted,
positionClosed; ws_positionUpdate_positionOpened_2025-08.json) gives a POSITION event.

No duplicate fill after a reconnect: fills are keyed by (order id, trade id) and each is emitted once; on every
reconnect the fills of the disconnected span are read back from REST (`backfill(since)`, the fill history) and
only the unseen ones are emitted, so a fill made while the socket was down is not lost either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from websockets.asyncio.client import ClientConnection

from exchange_clients.backpack.client.utils.converters import (
    ClientIdOf,
    SymbolOf,
    fill_from_update,
    order_from_update,
    position_from_update,
)
from exchange_clients.backpack.client.utils.signing import BackpackSigner
from exchange_clients.backpack.common import VENUE, BackpackError
from exchange_clients.base.trading import ClientEvent, EventKind, Fill
from exchange_clients.base.websocket import ReconnectingWebSocket

log = logging.getLogger("perparb.backpack.ws")
STREAMS = ["account.orderUpdate", "account.positionUpdate"]
MAX_SEEN = 20_000


class AccountEventDecoder:
    """Frames -> events, with the fill de-duplication (module docstring)."""

    def __init__(self, symbol_of: SymbolOf, client_id_of: ClientIdOf) -> None:
        self.symbol_of = symbol_of
        self.client_id_of = client_id_of
        self.seen_fills: dict[tuple[str, str], None] = {}
        self.last_fill_at: datetime | None = None
        self.duplicates = 0

    def fresh_fill(self, fill: Fill) -> bool:
        """True the first time a (order id, trade id) is seen."""
        key = (fill.order_id, fill.fill_id)
        if key in self.seen_fills:
            self.duplicates += 1
            return False
        self.seen_fills[key] = None
        if len(self.seen_fills) > MAX_SEEN:
            self.seen_fills.pop(next(iter(self.seen_fills)))
        if self.last_fill_at is None or fill.ts > self.last_fill_at:
            self.last_fill_at = fill.ts
        return True

    def decode(self, msg: dict[str, Any]) -> list[ClientEvent]:
        """One frame -> its events (none for other frames; unreadable ones are logged and skipped)."""
        stream, data = msg.get("stream"), msg.get("data")
        if not isinstance(stream, str) or not isinstance(data, dict):
            if "error" in msg:
                log.warning("%s account stream error: %s", VENUE, msg.get("error"))
            return []
        try:
            if stream.startswith("account.orderUpdate"):
                order = order_from_update(data, symbol_of=self.symbol_of, client_id_of=self.client_id_of)
                events = [ClientEvent(EventKind.ORDER, VENUE, order.symbol, order=order, raw=data)]
                if data.get("e") == "orderFill":
                    fill = fill_from_update(data, symbol_of=self.symbol_of, client_id_of=self.client_id_of)
                    if self.fresh_fill(fill):
                        events.append(ClientEvent(EventKind.FILL, VENUE, fill.symbol, fill=fill, raw=data))
                return events
            if stream.startswith("account.positionUpdate"):
                position = position_from_update(data, symbol_of=self.symbol_of)
                return [ClientEvent(EventKind.POSITION, VENUE, position.symbol, position=position, raw=data)]
        except ValueError as exc:
            log.warning("%s account frame skipped: %s", VENUE, exc)
        return []


class AccountStream:
    """The account's private WebSocket -> `events()`.

    Args:
        url: the WebSocket URL; signer: signs the SUBSCRIBE; decoder: frames -> events; backfill: REST fills
        since a time (the fill history), called after each reconnect; ws_options: `ReconnectingWebSocket` options.
    """

    def __init__(
        self,
        url: str,
        signer: BackpackSigner,
        decoder: AccountEventDecoder,
        backfill: Callable[[datetime], Awaitable[list[Fill]]] | None = None,
        **ws_options: Any,
    ) -> None:
        self.signer = signer
        self.decoder = decoder
        self.backfill = backfill
        self.queue: asyncio.Queue[ClientEvent] = asyncio.Queue()
        self.subscribed = asyncio.Event()
        self.ws = ReconnectingWebSocket(
            url,
            name="backpack account",
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self.subscribed.clear,
            **ws_options,
        )
        self._task: asyncio.Task[None] | None = None
        self._down_since: datetime | None = None
        self._backfills: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.ws.run())

    async def stop(self) -> None:
        for task in list(self._backfills):
            task.cancel()
        await self.ws.stop()
        running, self._task = self._task, None
        if running is not None:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running

    async def wait_subscribed(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.subscribed.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def _on_connect(self, ws: ClientConnection) -> None:
        await self.ws.send(
            {"method": "SUBSCRIBE", "params": STREAMS, "signature": self.signer.ws_signature()}
        )
        self.subscribed.set()
        if self.ws.connects > 1 and self.backfill is not None:
            since = self.decoder.last_fill_at or self._down_since or datetime.now(timezone.utc)
            task = asyncio.create_task(self._backfill(since - timedelta(seconds=1)))
            self._backfills.add(task)
            task.add_done_callback(self._backfills.discard)
        self._down_since = datetime.now(timezone.utc)

    async def _backfill(self, since: datetime) -> None:
        assert self.backfill is not None
        try:
            fills = await self.backfill(since)
        except BackpackError as exc:
            log.warning("%s: fills after reconnect not read back: %s", VENUE, exc)
            return
        for fill in fills:
            if self.decoder.fresh_fill(fill):
                self.queue.put_nowait(ClientEvent(EventKind.FILL, VENUE, fill.symbol, fill=fill))

    def _on_message(self, msg: dict[str, Any]) -> None:
        for event in self.decoder.decode(msg):
            self.queue.put_nowait(event)

    async def events(self) -> AsyncIterator[ClientEvent]:
        """Events in arrival order, until cancelled."""
        while True:
            yield await self.queue.get()
