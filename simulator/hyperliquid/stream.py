"""The Hyperliquid `/ws` WebSocket sessions of the simulator (`StreamSession`), docs for-developers/api/websocket.md
and websocket/subscriptions.md, websocket/timeouts-and-heartbeats.md.

Requests:
* `{"method":"ping"}` -> `{"channel":"pong"}` (ws_pong.json);
* `{"method":"subscribe","subscription":{...}}` -> `{"channel":"subscriptionResponse","data":{"method":
  "subscribe","subscription":...}}` echoing the subscription (an `l2Book` one with its defaults filled in:
  `nSigFigs` null, `mantissa` null, `fast` false, ws_subscriptionResponse_subscribe_l2Book_fast_2026-09.json), then
  the channel's pushes; the same subscription again -> `{"channel":"error","data":"Already subscribed: <sub>"}`
  and the socket stays open (ws_error_already_subscribed_2026-09.json); a request that cannot be read ->
  `{"channel":"error","data":"Error parsing JSON into valid websocket request: <text>"}`
  (ws_error_parse_coin_array_2026-09.json); an UNKNOWN coin -> no answer, the socket is closed 0.1 s later (what
  the venue does, per the probe report behind the 2026-09 captures);
* `{"method":"unsubscribe","subscription":...}` -> the same `subscriptionResponse` with "unsubscribe"
  (ws_subscriptionResponse_unsubscribe_l2Book_2026-09.json); `post` requests are not simulated (error frame).

Channels: `l2Book` {coin} (20 levels a side `{px, sz, n}` and `time`: a whole snapshot at subscription, whenever the
book changes (checked every 50 ms) and at least every `push_interval_seconds`, as a block would; no deltas, no
sequence number), `bbo` {coin} (`{coin, time, bbo: [bid, ask]}`, a side null when empty, on change),
`allMids` {dex?} (`{mids: {coin: px}}`, on change), `activeAssetCtx` {coin} (`{coin, ctx}`, on change and every
push interval), `trades` {coin} and the account channels `orderUpdates`, `userFills`, `userFundings`,
`userEvents` {user} and `clearinghouseState` {user, dex?} (`simulator.hyperliquid.feeds`). Pushes go through the
session's outbox, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from simulator.formats import dumps
from simulator.hyperliquid.feeds import ACCOUNT_CHANNELS
from simulator.hyperliquid.state import parse_address

if TYPE_CHECKING:
    from simulator.hyperliquid.trading import HyperliquidTrading

log = logging.getLogger("perparb.simulator")

POLL_SECONDS = 0.05
UNKNOWN_COIN_CLOSE_SECONDS = 0.1
COIN_CHANNELS = ("l2Book", "trades", "bbo", "activeAssetCtx")
POLLED = ("l2Book", "bbo", "allMids", "activeAssetCtx")


class _Polled:
    """One polled public subscription: its last pushed payload and when."""

    def __init__(self, kind: str, target: str) -> None:
        self.kind = kind
        self.target = target
        self.last: Any = None
        self.pushed_at = 0.0


class StreamSession:
    """One `/ws` connection: subscriptions, the polled public channels and the outbox (module docstring)."""

    def __init__(self, ws: web.WebSocketResponse, trading: HyperliquidTrading, interval: float) -> None:
        self.ws = ws
        self.trading = trading
        self.interval = interval
        self.subscriptions: dict[str, dict[str, Any]] = {}  # normalised text -> subscription
        self.polled: dict[str, _Polled] = {}
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.writer: asyncio.Task[None] | None = None
        self.poller: asyncio.Task[None] | None = None
        self.closer: asyncio.Task[None] | None = None
        self.closed = False

    def push_nowait(self, frame: dict[str, Any]) -> None:
        """Queue a push (called synchronously by the venue's fan-out); sent in order by the writer."""
        if self.closed:
            return
        self.outbox.put_nowait(frame)
        if self.writer is None:
            self.writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while True:
            frame = await self.outbox.get()
            try:
                await self.ws.send_str(dumps(frame))
            except (ConnectionError, RuntimeError) as exc:
                log.info("hyperliquid ws push failed: %s", exc)
                return

    def _error(self, text: str) -> None:
        self.push_nowait(
            {"channel": "error", "data": f"Error parsing JSON into valid websocket request: {text}"}
        )

    async def handle(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except json.JSONDecodeError:
            self._error(text)
            return
        method = msg.get("method") if isinstance(msg, dict) else None
        if method == "ping":
            self.push_nowait({"channel": "pong"})
        elif method in ("subscribe", "unsubscribe"):
            sub = self._normalise(msg.get("subscription"))
            if sub is None:
                self._error(text)
            elif method == "subscribe":
                self._subscribe(sub)
            else:
                self._unsubscribe(sub)
        else:
            self._error(text)

    def _normalise(self, sub: Any) -> dict[str, Any] | None:
        """The subscription with the venue's defaults filled in, or None when it cannot be read."""
        if not isinstance(sub, dict) or not isinstance(sub.get("type"), str):
            return None
        kind = sub["type"]
        if kind in COIN_CHANNELS:
            if not isinstance(sub.get("coin"), str):
                return None
            if kind == "l2Book":
                return {
                    "type": "l2Book",
                    "coin": sub["coin"],
                    "nSigFigs": sub.get("nSigFigs"),
                    "mantissa": sub.get("mantissa"),
                    "fast": bool(sub.get("fast", False)),
                }
            return {"type": kind, "coin": sub["coin"]}
        if kind == "allMids":
            dex = sub.get("dex", "")
            return {"type": "allMids", "dex": dex} if isinstance(dex, str) and dex else {"type": "allMids"}
        if kind in ACCOUNT_CHANNELS:
            try:
                user = parse_address(sub.get("user"))
            except ValueError:
                return None
            if kind == "clearinghouseState":  # `dex` optional ("" = the first perp dex), echoed when given
                dex = sub.get("dex", "")
                if not isinstance(dex, str):
                    return None
                return {"type": kind, "user": user, **({"dex": dex} if dex else {})}
            return {**sub, "user": user}
        return None

    def _subscribe(self, sub: dict[str, Any]) -> None:
        key = dumps(sub)
        if key in self.subscriptions:
            self.push_nowait({"channel": "error", "data": f"Already subscribed: {key}"})
            return
        kind = sub["type"]
        trading = self.trading
        if kind in COIN_CHANNELS and sub["coin"] not in trading.engine.markets:
            log.info("hyperliquid ws: unknown coin %r: closing the connection", sub["coin"])
            if self.closer is None:
                self.closer = asyncio.create_task(self._close_soon())
            return
        self.subscriptions[key] = sub
        self.push_nowait(
            {"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": sub}}
        )
        if kind in ACCOUNT_CHANNELS:
            trading.subscribe_account(self, kind, sub["user"], sub.get("dex", ""))
        elif kind == "trades":
            trading.subscribe_trades(self, sub["coin"])
        else:
            target = sub.get("coin", sub.get("dex", ""))
            polled = _Polled(kind, target)
            self.polled[key] = polled
            self._poll_one(polled, force=True)
            if self.poller is None:
                self.poller = asyncio.create_task(self._poll())

    def _unsubscribe(self, sub: dict[str, Any]) -> None:
        key = dumps(sub)
        if self.subscriptions.pop(key, None) is None:
            self.push_nowait({"channel": "error", "data": f"Already unsubscribed: {key}"})
            return
        self.polled.pop(key, None)
        kind = sub["type"]
        if kind in ACCOUNT_CHANNELS:
            self.trading.unsubscribe_account(self, kind, sub["user"], sub.get("dex", ""))
        elif kind == "trades":
            self.trading.unsubscribe_trades(self, sub["coin"])
        self.push_nowait(
            {"channel": "subscriptionResponse", "data": {"method": "unsubscribe", "subscription": sub}}
        )

    def _payload(self, polled: _Polled) -> tuple[Any, Any]:
        """(what decides "changed", the frame's data) of a polled channel."""
        trading = self.trading
        if polled.kind == "l2Book":
            levels = trading.book_levels(polled.target)
            return levels, {"coin": polled.target, "time": trading.clock.now_ms(), "levels": levels}
        if polled.kind == "bbo":
            levels = trading.book_levels(polled.target, 1)
            bbo = [side[0] if side else None for side in levels]
            return bbo, {"coin": polled.target, "time": trading.clock.now_ms(), "bbo": bbo}
        if polled.kind == "allMids":
            mids = {c.name: trading.mid(c.name) for c in trading.coins.values() if c.dex == polled.target}
            return mids, {"mids": {c: format(m.normalize(), "f") for c, m in mids.items()}}
        ctx = trading.ctx_overrides(polled.target)
        return ctx, {"coin": polled.target, "ctx": trading.asset_ctx(polled.target)}

    def _poll_one(self, polled: _Polled, *, force: bool = False) -> None:
        key, data = self._payload(polled)
        now = time.monotonic()
        heartbeat = polled.kind in ("l2Book", "activeAssetCtx") and now - polled.pushed_at >= self.interval
        if force or heartbeat or key != polled.last:
            polled.last, polled.pushed_at = key, now
            self.push_nowait({"channel": polled.kind, "data": data})

    async def _poll(self) -> None:
        while not self.closed:
            await asyncio.sleep(POLL_SECONDS)
            if self.polled:
                self.trading.engine.sync()
            for polled in list(self.polled.values()):
                self._poll_one(polled)

    async def _close_soon(self) -> None:
        await asyncio.sleep(UNKNOWN_COIN_CLOSE_SECONDS)
        await self.ws.close()

    async def close(self) -> None:
        self.closed = True
        self.trading.drop_sink(self)
        tasks = [t for t in (self.writer, self.poller, self.closer) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                await task
        self.writer = self.poller = self.closer = None
