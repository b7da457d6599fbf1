"""A WebSocket connection that stays up: keepalive, reconnect with exponential backoff and jitter, and a hook
to resubscribe after every (re)connect. Built on the `websockets` library (asyncio client); this class only adds
the reconnect policy and the callbacks the venue managers need.

Callbacks:
* `on_connect(ws)`: after each successful connect (subscribe here; venues that greet first, like Lighter's
  `connected` frame, subscribe from `on_message` instead);
* `on_message(msg)`: each decoded JSON frame (non-JSON frames are logged and skipped);
* `on_disconnect()`: the connection is gone: invalidate everything derived from it (order books!) so no stale
  data is served while reconnecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

log = logging.getLogger("perparb.ws")

MaybeAwaitable = Awaitable[None] | None


class ReconnectingWebSocket:
    """Keeps one WebSocket to `url` open until `stop()`.

    Args:
        url: ws:// or wss:// URL.
        name: label for logs ("lighter market data").
        ping_interval_seconds: protocol-level ping period (the library answers the server's pings itself).
        backoff_initial_seconds / backoff_max_seconds: reconnect delay, doubled after each failed attempt
            (reset after a connection that lasted), with ±`jitter` (fraction) randomisation.

    Attributes:
        connects: successful connections so far; connected: set while a connection is open.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        on_message: Callable[[dict[str, Any]], MaybeAwaitable],
        on_connect: Callable[[ClientConnection], MaybeAwaitable] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        ping_interval_seconds: float = 20.0,
        backoff_initial_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
        jitter: float = 0.2,
        open_timeout_seconds: float = 10.0,
    ) -> None:
        self.url = url
        self.name = name
        self.on_message = on_message
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.ping_interval = ping_interval_seconds
        self.backoff_initial = backoff_initial_seconds
        self.backoff_max = backoff_max_seconds
        self.jitter = jitter
        self.open_timeout = open_timeout_seconds
        self.connects = 0
        self.connected = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._stopping = False

    async def send(self, message: dict[str, Any]) -> None:
        """Send a JSON frame. Raises ConnectionError when not connected."""
        if self._ws is None:
            raise ConnectionError(f"{self.name}: not connected")
        await self._ws.send(json.dumps(message))

    async def ping(self, timeout_seconds: float) -> float:
        """A protocol-level ping on the current connection; returns the round trip (seconds) once the pong came.

        Raises:
            ConnectionError: not connected, or the connection closed meanwhile.
            asyncio.TimeoutError: no pong within `timeout_seconds`."""
        ws = self._ws
        if ws is None:
            raise ConnectionError(f"{self.name}: not connected")
        try:
            waiter = await ws.ping()
            latency: float = await asyncio.wait_for(waiter, timeout_seconds)
        except websockets.exceptions.ConnectionClosed as exc:
            raise ConnectionError(f"{self.name}: connection closed during ping") from exc
        return latency

    async def reconnect(self) -> None:
        """Close the current connection (if any): `run()` reconnects after its backoff, to `url` as it is then
        (a caller may change `url` first, e.g. a renewed stream key)."""
        if self._ws is not None:
            await self._ws.close()

    async def stop(self) -> None:
        self._stopping = True
        if self._ws is not None:
            await self._ws.close()

    async def run(self) -> None:
        """Connect, dispatch, reconnect; returns after `stop()`. Cancel-safe."""
        delay = self.backoff_initial
        while not self._stopping:
            try:
                async with connect(
                    self.url, ping_interval=self.ping_interval, open_timeout=self.open_timeout, max_size=2**24
                ) as ws:
                    self._ws = ws
                    self.connects += 1
                    self.connected.set()
                    log.info("%s: connected to %s (connection %d)", self.name, self.url, self.connects)
                    if self.on_connect is not None:
                        await _maybe_await(self.on_connect(ws))
                    delay = self.backoff_initial
                    async for raw in ws:
                        try:
                            msg = json.loads(raw)
                        except (TypeError, ValueError):
                            log.warning("%s: non-JSON frame skipped", self.name)
                            continue
                        await _maybe_await(self.on_message(msg))
            except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as exc:
                if not self._stopping:
                    log.warning("%s: connection lost or refused: %s", self.name, type(exc).__name__)
            finally:
                self._ws = None
                if self.connected.is_set():
                    self.connected.clear()
                    if self.on_disconnect is not None:
                        self.on_disconnect()
            if self._stopping:
                break
            sleep = delay * random.uniform(1 - self.jitter, 1 + self.jitter)
            log.info("%s: reconnecting in %.2f s", self.name, sleep)
            await asyncio.sleep(sleep)
            delay = min(delay * 2, self.backoff_max)


async def _maybe_await(result: MaybeAwaitable) -> None:
    if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
        await result


@contextlib.asynccontextmanager
async def running(ws: ReconnectingWebSocket):  # type: ignore[no-untyped-def]
    """`async with running(ws):` runs the connection in a task and stops it on exit."""
    task = asyncio.create_task(ws.run())
    try:
        yield ws
    finally:
        await ws.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
