"""The account stream of a Paradex client: private WebSocket channels -> `ClientEvent`s.

Protocol (PROTOCOL_NOTES §2.5, simulator/README.md "Trading: Paradex"): after connecting, send
`{"method":"auth","params":{"bearer":<JWT>}}`, then subscribe `orders.ALL`, `fills.ALL` and `positions`. Pushes
`{"method":"subscription","params":{"channel":..,"data":{..}}}` carry an `OrderResp`, a `FillResult` or a
`PositionResp` (recorded: ws_orders_all_docexample, ws_fills_all, ws_positions). A fill with
`fill_type: "LIQUIDATION"` also yields a LIQUIDATION event. The JWT is refreshed (SDK rule) before every
(re)connect; an expired-token error (40111) makes the server drop the socket and the reconnect re-authenticates.
Events go to a bounded queue; when it is full the oldest event is dropped (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection

from exchange_clients.base.trading import ClientEvent, EventKind
from exchange_clients.base.websocket import ReconnectingWebSocket
from exchange_clients.paradex.client.session import ParadexSession
from exchange_clients.paradex.client.utils.converters import fill_from_row, order_from_resp, position_from_row
from exchange_clients.paradex.common import VENUE, ParadexDataError, ParadexError

log = logging.getLogger("perparb.paradex.client")

ACCOUNT_CHANNELS = ("orders.ALL", "fills.ALL", "positions")


class AccountStream:
    """Private channels of one account, decoded into `ClientEvent`s.

    Args:
        session: supplies the JWT.
        ws_url: ".../v1".
        max_queue: events kept for a slow consumer.
    """

    def __init__(
        self, session: ParadexSession, ws_url: str, *, max_queue: int = 10_000, **ws_options: Any
    ) -> None:
        self.session = session
        self.queue: asyncio.Queue[ClientEvent] = asyncio.Queue(maxsize=max_queue)
        self.errors: list[Any] = []
        self.dropped = 0
        self._ids = itertools.count(1)
        self.ws = ReconnectingWebSocket(
            ws_url,
            name="paradex account",
            on_message=self._on_message,
            on_connect=self._on_connect,
            **ws_options,
        )
        self._task: asyncio.Task[None] | None = None
        self.subscribed: set[str] = set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.ws.run())

    async def stop(self) -> None:
        await self.ws.stop()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _on_connect(self, ws: ClientConnection) -> None:
        self.subscribed.clear()
        try:
            jwt = await self.session.fresh_jwt()
        except ParadexError as exc:
            log.warning("paradex account stream: no JWT (%s); the reconnect will try again", exc)
            await ws.close()
            return
        await self.ws.send(
            {"jsonrpc": "2.0", "method": "auth", "params": {"bearer": jwt}, "id": next(self._ids)}
        )
        for channel in ACCOUNT_CHANNELS:
            await self.ws.send(
                {
                    "jsonrpc": "2.0",
                    "method": "subscribe",
                    "params": {"channel": channel},
                    "id": next(self._ids),
                }
            )

    def _put(self, event: ClientEvent) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            log.warning("paradex account stream: event queue full, oldest event dropped")
        self.queue.put_nowait(event)

    def _on_message(self, msg: dict[str, Any]) -> None:
        if "error" in msg:
            log.warning("paradex account stream error: %s", msg["error"])
            self.errors.append(msg["error"])
            return
        result = msg.get("result")
        if isinstance(result, dict) and isinstance(result.get("channel"), str):
            self.subscribed.add(result["channel"])
            return
        if msg.get("method") != "subscription":
            return
        params = msg.get("params")
        if not isinstance(params, dict) or not isinstance(params.get("data"), dict):
            return
        try:
            for event in events_of(str(params.get("channel", "")), params["data"]):
                self._put(event)
        except ParadexDataError as exc:
            log.warning("paradex account stream: unusable frame on %s: %s", params.get("channel"), exc)

    async def events(self) -> AsyncIterator[ClientEvent]:
        while True:
            yield await self.queue.get()


def events_of(channel: str, data: dict[str, Any]) -> list[ClientEvent]:
    """The events of one private push (`channel` "orders.*", "fills.*" or "positions"); [] for others.

    Raises:
        ParadexDataError: an unusable body.
    """
    if channel.startswith("orders."):
        order = order_from_resp(data)
        return [ClientEvent(EventKind.ORDER, VENUE, order.symbol, order=order, raw=data)]
    if channel.startswith("fills."):
        fill = fill_from_row(data)
        out = [ClientEvent(EventKind.FILL, VENUE, fill.symbol, fill=fill, raw=data)]
        if str(data.get("fill_type", "")).upper() == "LIQUIDATION":
            out.append(ClientEvent(EventKind.LIQUIDATION, VENUE, fill.symbol, fill=fill, raw=data))
        return out
    if channel == "positions":
        position = position_from_row(data)
        return [ClientEvent(EventKind.POSITION, VENUE, position.symbol, position=position, raw=data)]
    return []
