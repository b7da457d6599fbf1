"""Backpack's WebSocket in the simulator: sessions, public streams from the engine, private account streams.

Protocol (docs "Streams"; recorded frames ../shared/venue-data/backpack/ws_*.json): `{"method": "SUBSCRIBE" |
"UNSUBSCRIBE", "params": [streams], "signature"?: [api_key, signature, timestamp, window]}`, no acknowledgement;
pushes `{"stream": <name>, "data": {...}}`. Errors (recorded): non-JSON text or an unknown method -> `{"id": null,
"error": {"code": 4002, "message": "Parse error"}}`, an unknown stream type -> 4006 "Invalid stream", a depth window
other than 200ms -> 4008 "Invalid depth window"; an unknown SYMBOL gets no reply at all (recorded behaviour). A
private stream without a valid signature -> 4006 "Invalid signature" (the code for this case is a guess).

Streams served:
* `depth.<S>` and `depth.200ms.<S>`: deltas of the engine's book every `depth_interval_seconds` when it changed:
  `{e: "depth", E, T (µs), s, U, u, b, a}`, absolute sizes ("0" = level gone), both sides ascending; `U` = the
  previous delta's `u` + 1 and `u` = the book's change counter, which `GET /api/v1/depth` reports as
  `lastUpdateId`, so a client seeds from REST and continues. No snapshot on the stream (as the venue).
  Fault `skip_depth_update`: the next delta's `U` skips one id (a gap).
* `markPrice.<S>`: `{e: "markPrice", E, T, s, p, i, f (rate in force x interval hours), n (next hour, ms)}` every
  `push_interval_seconds`.
* `account.orderUpdate[.<S>]` (signed): `orderAccepted` (a new resting order), `orderFill` (each fill: `t` trade
  id, `l`, `L`, `m`, `n`, `N` "USDC", `z`, `X`), `orderCancelled`, `orderExpired` (an IOC remainder); fields `i`,
  `c`, `s`, `S`, `o`, `f`, `q`, `p`, `r`, `y` (post-only), `E`, `T`.
* `account.positionUpdate[.<S>]` (signed): `positionOpened` / `positionAdjusted` / `positionClosed` after a fill:
  `{q (signed), Q, b (entry), B (break even), M (mark), l (est. liquidation), P (unrealised), p (realised), n
  (notional), f (imf), m (mmf), i, s}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from simulator.backpack.auth import verify_ws
from simulator.backpack.errors import BackpackApiError
from simulator.backpack.markets import SIDE_WORDS, num, status_word
from simulator.engine import (
    EngineEvent,
    Fill,
    OrderEvent,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradeEvent,
)
from simulator.engine import accounts as margin

if TYPE_CHECKING:
    from simulator.backpack.trading import BackpackTrading

log = logging.getLogger("perparb.simulator")
HOUR_MS = 3_600_000
ORDERS, POSITIONS = "account.orderUpdate", "account.positionUpdate"


def _error(code: int, message: str) -> dict[str, Any]:
    return {"id": None, "error": {"code": code, "message": message}}


class StreamSession:
    """One WebSocket client: its subscriptions, its API key (private streams) and an outgoing queue."""

    def __init__(self, ws: web.WebSocketResponse, hub: Feeds) -> None:
        self.ws = ws
        self.hub = hub
        self.streams: set[str] = set()
        self.api_key: str | None = None
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.writer = asyncio.create_task(self._write())

    def push_nowait(self, frame: dict[str, Any]) -> None:
        self.queue.put_nowait(frame)

    async def _write(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                frame = await self.queue.get()
                if self.ws.closed:
                    return
                await self.ws.send_str(json.dumps(frame))

    async def close(self) -> None:
        self.hub.sessions.discard(self)
        self.writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.writer

    def handle(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            self.push_nowait(_error(4002, "Parse error"))
            return
        method = msg.get("method") if isinstance(msg, dict) else None
        params = msg.get("params") if isinstance(msg, dict) else None
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            self.push_nowait(_error(4002, "Parse error"))
            return
        if method == "UNSUBSCRIBE":
            self.streams.difference_update(str(p) for p in params)
            return
        for stream in params:
            self._subscribe(str(stream), msg.get("signature"))

    def _subscribe(self, stream: str, signature: Any) -> None:
        trading = self.hub.trading
        kind, _, rest = stream.partition(".")
        if kind == "depth":
            window, _, symbol = rest.partition(".")
            if window.endswith("ms") and window[:-2].isdigit():
                if window != "200ms":
                    self.push_nowait(_error(4008, "Invalid depth window"))
                    return
            else:
                symbol = rest
            if symbol in trading.engine.markets:
                self.streams.add(stream)
        elif kind == "markPrice":
            if rest in trading.engine.markets:
                self.streams.add(stream)
        elif kind == "account" and rest.split(".", 1)[0] in ("orderUpdate", "positionUpdate"):
            try:
                api_key = verify_ws(signature, trading.keys)
            except BackpackApiError:
                self.push_nowait(_error(4006, "Invalid signature"))
                return
            self.api_key = api_key
            self.streams.add(stream)
        else:
            self.push_nowait(_error(4006, "Invalid stream"))


class Feeds:
    """Every session of the venue and the pushes (module docstring)."""

    def __init__(self, trading: BackpackTrading, push_interval_seconds: float) -> None:
        self.trading = trading
        self.push_interval = push_interval_seconds
        self.sessions: set[StreamSession] = set()
        self.last_u: dict[str, int] = {m: s.book.seq for m, s in trading.engine.markets.items()}
        self.skip_next = False
        self.depth_frames = 0
        self._tasks: list[asyncio.Task[None]] = []
        trading.engine.listeners.append(self._on_event)

    async def start(self, app: web.Application) -> None:
        self._tasks = [asyncio.create_task(self._depth_loop()), asyncio.create_task(self._mark_loop())]

    async def stop(self, app: web.Application) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def _send(
        self, stream: str, data: dict[str, Any], api_key: str | None = None, base: str | None = None
    ) -> None:
        """Push `data` on `stream` to its subscribers; a private push (`api_key`) goes only to that key's sessions,
        under `stream` (`<base>.<symbol>`) or under `base` for sessions subscribed to every market."""
        frame = {"data": data, "stream": stream}
        for session in list(self.sessions):
            if api_key is not None and session.api_key != api_key:
                continue
            if stream in session.streams:
                session.push_nowait(frame)
            elif base is not None and base in session.streams:
                session.push_nowait({"data": data, "stream": base})

    # -------------------------------------------------------------------------------------------- public

    def depth_tick(self) -> None:
        """Push one delta per market whose book changed since the last one."""
        engine = self.trading.engine
        now_us = self.trading.clock.now_us()
        for name, state in engine.markets.items():
            bids, asks = state.book.drain_changes()
            if not bids and not asks:
                continue
            first = self.last_u.get(name, 0) + 1
            if self.skip_next:
                first += 1
                self.skip_next = False
            last = state.book.seq
            self.last_u[name] = last
            data = {
                "E": now_us,
                "T": now_us,
                "U": first,
                "a": [[num(p), num(s)] for p, s in sorted(asks)],
                "b": [[num(p), num(s)] for p, s in sorted(bids)],
                "e": "depth",
                "s": name,
                "u": last,
            }
            self.depth_frames += 1
            for stream in (f"depth.{name}", f"depth.200ms.{name}"):
                self._send(stream, data)

    async def _depth_loop(self) -> None:
        while True:
            await asyncio.sleep(self.trading.config.depth_interval_seconds)
            self.trading.engine.sync()
            self.depth_tick()

    async def _mark_loop(self) -> None:
        while True:
            await asyncio.sleep(self.push_interval)
            wanted = {
                s.split(".", 1)[1]
                for session in self.sessions
                for s in session.streams
                if s.startswith("markPrice.")
            }
            if not wanted:
                continue
            engine = self.trading.engine
            engine.sync()
            now_us = self.trading.clock.now_us()
            nxt = (now_us // 1000 // HOUR_MS + 1) * HOUR_MS
            for name in wanted:
                state = engine.markets[name]
                data = {
                    "E": now_us,
                    "T": now_us,
                    "e": "markPrice",
                    "f": num(state.rate_hourly * state.spec.funding_period_hours),
                    "i": num(state.mark_price),
                    "n": nxt,
                    "p": num(state.mark_price),
                    "s": name,
                }
                self._send(f"markPrice.{name}", data)

    # -------------------------------------------------------------------------------------------- private

    def _order_data(self, event: str, order: Any, now_us: int) -> dict[str, Any]:
        ioc = order.tif is TimeInForce.IOC or order.type is OrderType.MARKET
        return {
            "E": now_us,
            "O": "USER",
            "S": SIDE_WORDS[order.side],
            "T": now_us,
            "V": "RejectTaker",
            "X": status_word(order.status, ioc=ioc),
            "Z": num(order.filled_quote),
            "c": order.client_id,
            "e": event,
            "f": "IOC" if order.tif is TimeInForce.IOC else "GTC",
            "i": str(order.order_id),
            "o": "MARKET" if order.type is OrderType.MARKET else "LIMIT",
            "p": num(order.price),
            "q": num(order.size),
            "r": order.reduce_only,
            "s": order.market,
            "t": None,
            "y": order.tif is TimeInForce.POST_ONLY,
            "z": num(order.filled),
        }

    def _on_event(self, event: EngineEvent) -> None:
        owners = self.trading.owners
        now_us = self.trading.clock.now_us()
        if isinstance(event, OrderEvent):
            order = event.order
            key = owners.get(order.account_id)
            if key is None:
                return
            ioc = order.tif is TimeInForce.IOC or order.type is OrderType.MARKET
            if order.status is OrderStatus.OPEN and order.filled == 0 and not ioc:
                name = "orderAccepted"
            elif order.status is OrderStatus.CANCELLED:
                name = "orderExpired" if ioc else "orderCancelled"
            else:
                return
            self._send(
                f"account.orderUpdate.{order.market}", self._order_data(name, order, now_us), key, ORDERS
            )
        elif isinstance(event, TradeEvent):
            for fill in (event.maker_fill, event.taker_fill):
                key = owners.get(fill.account_id)
                if key is not None:
                    self._fill(fill, key, now_us)

    def _fill(self, fill: Fill, key: str, now_us: int) -> None:
        trading = self.trading
        account = trading.engine.account(fill.account_id)
        order = account.orders.get(fill.order_id)
        if order is not None:
            data = self._order_data("orderFill", order, now_us)
            data.update(
                {
                    "t": fill.trade_id,
                    "l": num(fill.size),
                    "L": num(fill.price),
                    "m": fill.liquidity.value == "maker",
                    "n": num(fill.fee),
                    "N": "USDC",
                    "T": fill.ts_ms * 1000,
                }
            )
            self._send(f"account.orderUpdate.{fill.market}", data, key, ORDERS)
        pos = account.positions.get(fill.market)
        state = trading.engine.markets[fill.market]
        size = pos.size if pos is not None else Decimal(0)
        before = fill.position_before
        event = "positionClosed" if size == 0 else ("positionOpened" if before == 0 else "positionAdjusted")
        entry = pos.entry_price if pos is not None else Decimal(0)
        position: dict[str, Any] = {
            "B": num(entry),
            "E": now_us,
            "M": num(state.mark_price),
            "P": num(pos.unrealized_pnl(state.mark_price)) if pos is not None else "0",
            "Q": num(abs(size)),
            "T": now_us,
            "b": num(entry),
            "e": event,
            "f": num(margin.initial_margin_fraction(account, state)),
            "i": f"{account.account_id}-{fill.market}",
            "l": num(trading.liquidation_price(account, state, size)) if size else "0",
            "m": num(state.spec.maintenance_margin_fraction),
            "n": num(size * state.mark_price),
            "p": num(pos.realized_pnl) if pos is not None else "0",
            "q": num(size),
            "s": fill.market,
        }
        self._send(f"account.positionUpdate.{fill.market}", position, key, POSITIONS)


__all__ = ["Feeds", "Side", "StreamSession"]
