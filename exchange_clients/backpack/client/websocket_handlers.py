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

Account state (issue #16, `exchange_clients.base.account_state`): with a `keeper`, the same streams keep the state:
orders from every `orderUpdate` (`order_from_update`; a final state leaves the open set), positions from every
`positionUpdate` (`position_from_update`: `q` signed net quantity in base units; positionClosed = flat). Backpack
documents no balance or collateral stream (docs "Streams": the private streams are `account.orderUpdate`,
`account.positionUpdate` and `account.rfqUpdate`), so the balance is the seed's (`GET /api/v1/capital/collateral`,
`parse_collateral`: USDC) and is re-read over REST IN THE BACKGROUND after every fill (`orderFill`) and position
update (`AccountStateKeeper.refresh_balance`, coalesced): the entry path never waits on REST; until the read lands
the state serves the balance before the change. The seed: right after the SUBSCRIBE of each connection (Backpack
acknowledges no subscription, so a change in the instant between the SUBSCRIBE and the subscription taking
effect is only caught by the next push or re-seed), one REST reading (collateral, positions, open orders);
frames arriving during it are laid on after it. A protocol-level ping every third of the staleness bound touches
the state when answered; a connection silent beyond the bound is a gap: desynced and re-opened. The connection
dropping desyncs it; the next connection seeds it again.
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
from exchange_clients.base.account_state import AccountStateKeeper, order_change, position_change
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
        since a time (the fill history), called after each reconnect; keeper: the account state to keep (module
        docstring; None = events only); ws_options: `ReconnectingWebSocket` options.
    """

    def __init__(
        self,
        url: str,
        signer: BackpackSigner,
        decoder: AccountEventDecoder,
        backfill: Callable[[datetime], Awaitable[list[Fill]]] | None = None,
        *,
        keeper: AccountStateKeeper | None = None,
        **ws_options: Any,
    ) -> None:
        self.keeper = keeper
        self._state_pinger: asyncio.Task[None] | None = None
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
            on_disconnect=self._on_disconnect,
            **ws_options,
        )
        self._task: asyncio.Task[None] | None = None
        self._down_since: datetime | None = None
        self._backfills: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.ws.run())
            if self.keeper is not None:
                self._state_pinger = asyncio.create_task(
                    self.keeper.keepalive(self._ping, self.ws.connected.is_set, self.ws.reconnect)
                )

    async def _ping(self) -> None:
        """A protocol-level ping; its answer proves the connection alive (the state is touched)."""
        assert self.keeper is not None
        await self.ws.ping(self.keeper.state.max_age_seconds / 3)
        self.keeper.alive()

    def _on_disconnect(self) -> None:
        self.subscribed.clear()
        if self.keeper is not None:
            self.keeper.disconnected("account stream disconnected")

    async def stop(self) -> None:
        for task in list(self._backfills):
            task.cancel()
        await self.ws.stop()
        if self.keeper is not None:
            await self.keeper.stop()
        for running in (self._task, self._state_pinger):
            if running is not None:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        self._task = self._state_pinger = None

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
        if self.keeper is not None:
            self.keeper.subscribed()
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
        events = self.decoder.decode(msg)
        for event in events:
            self.queue.put_nowait(event)
        keeper = self.keeper
        if keeper is None:
            return
        keeper.alive()
        changed = False
        for event in events:
            if event.kind is EventKind.ORDER and event.order is not None:
                keeper.apply(order_change(event.order))
            elif event.kind is EventKind.POSITION and event.position is not None:
                keeper.apply(position_change(event.position))
                changed = True
            elif event.kind is EventKind.FILL:
                changed = True
        if changed:
            keeper.refresh_balance()

    async def events(self) -> AsyncIterator[ClientEvent]:
        """Events in arrival order, until cancelled."""
        while True:
            yield await self.queue.get()
