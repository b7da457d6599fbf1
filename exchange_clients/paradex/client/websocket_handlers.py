"""The account stream of a Paradex client: private WebSocket channels -> `ClientEvent`s.

Protocol (PROTOCOL_NOTES §2.5, simulator/README.md "Trading: Paradex"): after connecting, send
`{"method":"auth","params":{"bearer":<JWT>}}`, then subscribe `orders.ALL`, `fills.ALL` and `positions`. Pushes
`{"method":"subscription","params":{"channel":..,"data":{..}}}` carry an `OrderResp`, a `FillResult` or a
`PositionResp` (recorded: ws_orders_all_docexample, ws_fills_all, ws_positions). A fill with
`fill_type: "LIQUIDATION"` also yields a LIQUIDATION event. The JWT is refreshed (SDK rule) before every
(re)connect; an expired-token error (40111) makes the server drop the socket and the reconnect re-authenticates.
Events go to a bounded queue; when it is full the oldest event is dropped (logged).

Account state (issue #16, `exchange_clients.base.account_state`): with a `state`, the stream also subscribes
`account` (an `AccountSummary` pushed on every change: `free_collateral`, `account_value`, `total_collateral`) and
keeps the state from the pushes (balance from `account`, orders from `orders.ALL`, positions from `positions`).
Paradex pushes nothing at subscription, so once every channel of a (re)connection is subscribed the state is
SEEDED by REST (`reseed`: one read each of account, positions and open orders); pushes arriving during that read
are applied after it. A protocol ping every third of the staleness bound proves the connection alive (an idle
account stays fresh); a failed ping, or a connection silent beyond the bound, is a gap: the state is desynced and
the connection re-opened (re-seeded). The connection dropping desyncs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection

from exchange_clients.base.account_state import AccountState
from exchange_clients.base.trading import BalanceInfo, ClientEvent, EventKind, OrderInfo, PositionSnapshot
from exchange_clients.base.websocket import ReconnectingWebSocket
from exchange_clients.paradex.client.session import ParadexSession
from exchange_clients.paradex.client.utils.converters import (
    balance_from_summary,
    fill_from_row,
    order_from_resp,
    position_from_row,
)
from exchange_clients.paradex.common import VENUE, ParadexDataError, ParadexError
from perparb_core.errors import VenueError

log = logging.getLogger("perparb.paradex.client")

ACCOUNT_CHANNELS = ("orders.ALL", "fills.ALL", "positions")
STATE_CHANNEL = "account"
Reading = tuple[BalanceInfo, list[PositionSnapshot], list[OrderInfo]]


class AccountStream:
    """Private channels of one account, decoded into `ClientEvent`s.

    Args:
        session: supplies the JWT.
        ws_url: ".../v1".
        max_queue: events kept for a slow consumer.
        state / reseed: the account state to keep and the REST reading that seeds it (module docstring); None =
            events only.
    """

    def __init__(
        self,
        session: ParadexSession,
        ws_url: str,
        *,
        max_queue: int = 10_000,
        state: AccountState | None = None,
        reseed: Callable[[], Awaitable[Reading]] | None = None,
        **ws_options: Any,
    ) -> None:
        self.session = session
        self.state = state
        self.reseed = reseed
        self.channels = ACCOUNT_CHANNELS + ((STATE_CHANNEL,) if state is not None else ())
        self._seeding: asyncio.Task[None] | None = None
        self._held: list[tuple[str, dict[str, Any]]] | None = None  # pushes held while a seed is read
        self._keepalive: asyncio.Task[None] | None = None
        self._forced_at = 0.0
        self.queue: asyncio.Queue[ClientEvent] = asyncio.Queue(maxsize=max_queue)
        self.errors: list[Any] = []
        self.dropped = 0
        self._ids = itertools.count(1)
        self.ws = ReconnectingWebSocket(
            ws_url,
            name="paradex account",
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            **ws_options,
        )
        self._task: asyncio.Task[None] | None = None
        self.subscribed: set[str] = set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.ws.run())
            if self.state is not None:
                self._keepalive = asyncio.create_task(self._keepalive_loop())

    async def stop(self) -> None:
        await self.ws.stop()
        tasks = (self._task, self._keepalive, self._seeding)
        self._task = self._keepalive = self._seeding = None
        for task in tasks:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _on_disconnect(self) -> None:
        if self.state is not None:
            self.state.desync("account stream disconnected")
        if self._seeding is not None:
            self._seeding.cancel()
            self._seeding = None
        self._held = None

    async def _seed(self) -> None:
        assert self.state is not None and self.reseed is not None
        self._held = []
        try:
            balance, positions, orders = await self.reseed()
        except VenueError as exc:  # stay desynced: the keepalive re-opens the connection, which seeds again
            log.warning("paradex account stream: seed read failed (%s); account state not synced", exc)
            self._held = None
            return
        self.state.seed(balance, positions, orders)
        held, self._held = self._held or [], None
        for channel, data in held:
            self._apply(channel, data)

    def _apply(self, channel: str, data: dict[str, Any]) -> None:
        """Lay one push onto the account state (unusable bodies were reported by `events_of`)."""
        state = self.state
        if state is None:
            return
        if self._held is not None:
            self._held.append((channel, data))
            return
        try:
            if channel == STATE_CHANNEL:
                state.apply_balance(balance_from_summary(data))
            elif channel.startswith("orders."):
                state.apply_order(order_from_resp(data))
            elif channel == "positions":
                state.apply_position(position_from_row(data))
            else:
                state.touch()
        except ParadexDataError as exc:
            log.warning("paradex account stream: %s push unusable for the account state: %s", channel, exc)

    async def _keepalive_loop(self) -> None:
        """A protocol ping every third of the staleness bound; a failed ping or a silent connection re-opens it."""
        assert self.state is not None
        period = self.state.max_age_seconds / 3
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(period)
            if not self.ws.connected.is_set():
                continue
            try:
                await self.ws.ping(period)
                self.state.touch()
            except (ConnectionError, asyncio.TimeoutError) as exc:
                log.warning("paradex account stream: ping failed (%s)", type(exc).__name__)
            why = self.state.staleness()
            if why is not None and self._seeding is None and loop.time() - self._forced_at >= period * 3:
                log.warning("paradex account stream: %s; reconnecting to re-synchronise", why)
                self.state.desync(f"connection silent: {why}")
                self._forced_at = loop.time()
                with contextlib.suppress(ConnectionError, OSError):
                    await self.ws.reconnect()

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
        for channel in self.channels:
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
            if self.state is not None and self.reseed is not None and self.subscribed >= set(self.channels):
                self._seeding = asyncio.get_running_loop().create_task(self._seed())
                self._seeding.add_done_callback(self._seed_done)
            return
        if msg.get("method") != "subscription":
            return
        params = msg.get("params")
        if not isinstance(params, dict) or not isinstance(params.get("data"), dict):
            return
        channel = str(params.get("channel", ""))
        try:
            for event in events_of(channel, params["data"]):
                self._put(event)
        except ParadexDataError as exc:
            log.warning("paradex account stream: unusable frame on %s: %s", params.get("channel"), exc)
        self._apply(channel, params["data"])

    def _seed_done(self, task: asyncio.Task[None]) -> None:
        if self._seeding is task:
            self._seeding = None

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
