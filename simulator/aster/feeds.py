"""WebSocket feeds of the simulated Aster (`AsterFeeds`): market streams and user-data streams.

Connections (asterdex/api-docs@265e024 V3 "Websocket Market Streams", "User Data Streams"):
* `/stream` (combined: frames `{"stream": <name>, "data": <event>}`, streams from `?streams=a/b` and SUBSCRIBE) and
  `/ws` or `/ws/<stream>` (raw: the event alone); `{"method":"SUBSCRIBE"|"UNSUBSCRIBE","params":[...],"id":N}` is
  answered `{"result":null,"id":N}`, `LIST_SUBSCRIPTIONS` with the list; an unknown method -> `{"code": 2,
  "msg": "Invalid request: unknown method", "id": N}`.
* `<symbol>@depth`, `@depth@100ms`, `@depth@500ms`: `depthUpdate` `{e, E, T, s, U, u, pu, b, a}` of the engine's
  book: absolute sizes of the levels that changed ("0" = gone), pushed within 50 ms of a change; `u` is the book's
  change counter, `U` the previous event's `u` + 1, `pu` the previous event's `u` (a REST `depth` snapshot's
  `lastUpdateId` is the counter when it was read, so events bridge it). The `skip_depth_update` fault makes the
  next event's `pu` one no client saw (a gap).
* `<symbol>@markPrice`, `@markPrice@1s`, `!markPrice@arr[@1s]`: `markPriceUpdate` `{e, E, s, p, i, P, r, T}`
  every push interval: `r` the engine's rate in force x the symbol's interval (fraction per interval), `T` the
  next settlement (the next UTC hour divisible by the interval).
* `/ws/<listenKey>`: the user's `ORDER_TRADE_UPDATE` (x NEW, TRADE, CANCELED, EXPIRED; `t` the trade id shared
  with `userTrades` `id`) and `ACCOUNT_UPDATE` (m ORDER after a trade with the position; m FUNDING_FEE with the
  balance change only, cross margin) events; an unknown key is refused (HTTP 400 -1125 at the handshake).
Timestamps are the simulator clock's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from simulator.aster.trading import AsterTrading
from simulator.aster.wire import TIF_WIRE, dec_text, status_word
from simulator.engine import (
    EngineEvent,
    Fill,
    FundingEvent,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    Side,
    TradeEvent,
)
from simulator.engine.funding import HOUR_MS

log = logging.getLogger("perparb.simulator")

DEPTH_TICK_SECONDS = 0.05
_STREAM = re.compile(r"^(?P<symbol>[a-z0-9]+)@(?P<kind>depth|markPrice)(@(?P<speed>\d+m?s))?$")
_ALL_MARKS = re.compile(r"^!markPrice@arr(@1s)?$")


class Session:
    """One WebSocket connection: its streams (market) or its user (user-data), and a send queue."""

    def __init__(self, ws: web.WebSocketResponse, *, combined: bool, user: str | None = None) -> None:
        self.ws = ws
        self.combined = combined
        self.user = user
        self.streams: set[str] = set()
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.sender = asyncio.create_task(self._send())

    def push(self, stream: str | None, event: Any) -> None:
        body = {"stream": stream, "data": event} if self.combined and stream is not None else event
        self.queue.put_nowait(json.dumps(body, separators=(",", ":")))

    async def _send(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                text = await self.queue.get()
                if self.ws.closed:
                    return
                await self.ws.send_str(text)

    async def close(self) -> None:
        self.sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.sender


def valid_stream(name: str, markets: Iterable[str]) -> bool:
    if _ALL_MARKS.match(name):
        return True
    m = _STREAM.match(name)
    return m is not None and m.group("symbol").upper() in set(markets)


class AsterFeeds:
    """Market and user-data streams of the engine (module docstring).

    Attributes:
        sessions: open connections; skip_depth: pending `skip_depth_update` faults; last_u: market -> the last
        depth event's `u`.
    """

    def __init__(self, trading: AsterTrading, push_interval_seconds: float) -> None:
        self.trading = trading
        self.engine = trading.engine
        self.push_interval = push_interval_seconds
        self.sessions: set[Session] = set()
        self.skip_depth = 0
        self.last_u: dict[str, int] = {m: s.book.seq for m, s in self.engine.markets.items()}
        for state in self.engine.markets.values():
            state.book.drain_changes()
        self._tasks: list[asyncio.Task[None]] = []
        self.engine.listeners.append(self._on_event)

    async def start(self, app: web.Application) -> None:
        self._tasks = [asyncio.create_task(self._depth_loop()), asyncio.create_task(self._mark_loop())]

    async def stop(self, app: web.Application) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for session in list(self.sessions):
            await session.close()

    async def drop_all(self) -> int:
        """Close every connection (admin `drop_connections`, venue down); returns how many."""
        victims = [s for s in self.sessions if not s.ws.closed]
        for s in victims:
            await s.ws.close(message=b"simulated connection drop")
        return len(victims)

    # ------------------------------------------------------------------------------------ connections

    async def serve(
        self, request: web.Request, *, combined: bool, streams: list[str], user: str | None
    ) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=30.0)
        await ws.prepare(request)
        session = Session(ws, combined=combined, user=user)
        markets = list(self.engine.markets)
        session.streams.update(s for s in streams if valid_stream(s, markets))
        self.sessions.add(session)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._command(session, msg.data)
        except (ConnectionError, RuntimeError) as exc:
            log.info("aster ws closed: %s", exc)
        finally:
            self.sessions.discard(session)
            await session.close()
        return ws

    def _command(self, session: Session, text: str) -> None:
        try:
            cmd = json.loads(text)
        except ValueError:
            session.push(None, {"code": 3, "msg": "Invalid JSON"})
            return
        if not isinstance(cmd, dict):
            session.push(None, {"code": 3, "msg": "Invalid JSON"})
            return
        method, ident = cmd.get("method"), cmd.get("id")
        raw = cmd.get("params")
        params: list[Any] = raw if isinstance(raw, list) else []
        markets = list(self.engine.markets)
        if method == "SUBSCRIBE":
            bad = [p for p in params if not isinstance(p, str) or not valid_stream(p, markets)]
            if bad:
                session.push(
                    None, {"code": 2, "msg": f"Invalid request: invalid stream {bad[0]!r}", "id": ident}
                )
                return
            session.streams.update(str(p) for p in params)
            session.push(None, {"result": None, "id": ident})
        elif method == "UNSUBSCRIBE":
            session.streams.difference_update(p for p in params if isinstance(p, str))
            session.push(None, {"result": None, "id": ident})
        elif method == "LIST_SUBSCRIPTIONS":
            session.push(None, {"result": sorted(session.streams), "id": ident})
        else:
            session.push(None, {"code": 2, "msg": "Invalid request: unknown method", "id": ident})

    # ------------------------------------------------------------------------------------ market streams

    async def _depth_loop(self) -> None:
        while True:
            await asyncio.sleep(DEPTH_TICK_SECONDS)
            try:
                self.push_depth()
            except (ArithmeticError, LookupError, ValueError) as exc:
                log.warning("aster depth feed: %s", exc)

    def push_depth(self) -> None:
        """Push one `depthUpdate` per market whose book changed since the last push."""
        now = self.engine.now_ms()
        for name, state in self.engine.markets.items():
            book = state.book
            last = self.last_u.get(name, 0)
            if book.seq == last:
                continue
            bids, asks = book.drain_changes()
            pu = last
            if self.skip_depth:
                self.skip_depth -= 1
                pu = last + 1_000_000
            event = {
                "e": "depthUpdate",
                "E": now,
                "T": now,
                "s": name,
                "U": last + 1,
                "u": book.seq,
                "pu": pu,
                "b": [[dec_text(p), dec_text(s)] for p, s in bids],
                "a": [[dec_text(p), dec_text(s)] for p, s in asks],
            }
            self.last_u[name] = book.seq
            low = name.lower()
            for session in self.sessions:
                for stream in (f"{low}@depth", f"{low}@depth@100ms", f"{low}@depth@500ms"):
                    if stream in session.streams:
                        session.push(stream, event)

    def mark_event(self, name: str) -> dict[str, Any]:
        state = self.engine.markets[name]
        now = self.engine.now_ms()
        interval = state.spec.settlement_interval_hours
        period = interval * HOUR_MS
        return {
            "e": "markPriceUpdate",
            "E": now,
            "s": name,
            "p": dec_text(state.mark_price),
            "P": dec_text(state.mark_price),
            "i": dec_text(state.mark_price),
            "r": dec_text(state.rate_hourly * interval),
            "T": now - now % period + period,
        }

    async def _mark_loop(self) -> None:
        while True:
            await asyncio.sleep(self.push_interval)
            self.engine.sync()
            for session in list(self.sessions):
                for stream in list(session.streams):
                    if _ALL_MARKS.match(stream):
                        session.push(stream, [self.mark_event(n) for n in sorted(self.engine.markets)])
                        continue
                    m = _STREAM.match(stream)
                    if m is not None and m.group("kind") == "markPrice":
                        session.push(stream, self.mark_event(m.group("symbol").upper()))

    # ------------------------------------------------------------------------------------ user data

    def _user_sessions(self, account_id: int) -> list[Session]:
        user = self.trading.users.get(account_id)
        if user is None:
            return []
        return [s for s in self.sessions if s.user == user]

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, OrderEvent):
            order = event.order
            sessions = self._user_sessions(order.account_id)
            if sessions and (order.status in (OrderStatus.OPEN, OrderStatus.CANCELLED, OrderStatus.REJECTED)):
                word = status_word(order)
                if order.status is OrderStatus.REJECTED and word != "EXPIRED":
                    return  # refused before the book: the REST answer is the error, no event
                execution = "NEW" if word == "NEW" else word
                frame = self._order_frame(order, execution, None)
                for s in sessions:
                    s.push(None, frame)
        elif isinstance(event, TradeEvent):
            for fill in (event.maker_fill, event.taker_fill):
                sessions = self._user_sessions(fill.account_id)
                if not sessions:
                    continue
                account = self.engine.accounts[fill.account_id]
                found = account.orders.get(fill.order_id)
                frames = (
                    [self._order_frame(found, "TRADE", fill)]
                    if found is not None
                    else [self._liquidation_frame(fill)]
                )
                frames.append(self._account_frame(fill.account_id, "ORDER", fill.market, None))
                for s in sessions:
                    for frame in frames:
                        s.push(None, frame)
        elif isinstance(event, FundingEvent):
            p = event.payment
            for s in self._user_sessions(p.account_id):
                s.push(None, self._account_frame(p.account_id, "FUNDING_FEE", None, p.amount))

    def _order_frame(self, order: Order, execution: str, fill: Fill | None) -> dict[str, Any]:
        now = self.engine.now_ms()
        avg = order.avg_fill_price
        kind = "MARKET" if order.type is OrderType.MARKET else "LIMIT"
        return {
            "e": "ORDER_TRADE_UPDATE",
            "E": now,
            "T": now,
            "o": {
                "s": order.market,
                "c": str(order.client_id) if order.client_id is not None else "",
                "S": "BUY" if order.side is Side.BUY else "SELL",
                "o": kind,
                "f": TIF_WIRE[order.tif],
                "q": dec_text(order.size),
                "p": dec_text(order.price) if order.price is not None else "0",
                "ap": dec_text(avg) if avg is not None else "0",
                "sp": "0",
                "x": execution,
                "X": status_word(order),
                "i": order.order_id,
                "l": dec_text(fill.size) if fill else "0",
                "z": dec_text(order.filled),
                "L": dec_text(fill.price) if fill else "0",
                "N": "USDT",
                "n": dec_text(fill.fee) if fill else "0",
                "T": fill.ts_ms if fill else order.updated_ms,
                "t": fill.trade_id if fill else 0,
                "b": "0",
                "a": "0",
                "m": bool(fill and fill.liquidity.value == "maker"),
                "R": order.reduce_only,
                "wt": "CONTRACT_PRICE",
                "ot": kind,
                "ps": "BOTH",
                "cp": False,
                "rp": dec_text(fill.realized_pnl) if fill else "0",
            },
        }

    def _liquidation_frame(self, fill: Fill) -> dict[str, Any]:
        now = self.engine.now_ms()
        side = "BUY" if fill.side is Side.BUY else "SELL"
        return {
            "e": "ORDER_TRADE_UPDATE",
            "E": now,
            "T": now,
            "o": {
                "s": fill.market,
                "c": f"autoclose-{fill.trade_id}",
                "S": side,
                "o": "LIQUIDATION",
                "f": "IOC",
                "q": dec_text(fill.size),
                "p": dec_text(fill.price),
                "ap": dec_text(fill.price),
                "sp": "0",
                "x": "TRADE",
                "X": "FILLED",
                "i": 0,
                "l": dec_text(fill.size),
                "z": dec_text(fill.size),
                "L": dec_text(fill.price),
                "N": "USDT",
                "n": dec_text(fill.fee),
                "T": fill.ts_ms,
                "t": fill.trade_id,
                "b": "0",
                "a": "0",
                "m": False,
                "R": True,
                "wt": "CONTRACT_PRICE",
                "ot": "LIQUIDATION",
                "ps": "BOTH",
                "cp": False,
                "rp": dec_text(fill.realized_pnl),
            },
        }

    def _account_frame(
        self, account_id: int, reason: str, market: str | None, change: Decimal | None
    ) -> dict[str, Any]:
        account = self.engine.accounts[account_id]
        now = self.engine.now_ms()
        balance = {
            "a": "USDT",
            "wb": dec_text(account.collateral),
            "cw": dec_text(account.collateral),
            "bc": dec_text(change) if change is not None else "0",
        }
        positions = []
        if market is not None:
            pos = account.positions.get(market)
            state = self.engine.markets[market]
            if pos is not None:
                positions.append(
                    {
                        "s": market,
                        "pa": dec_text(pos.size),
                        "ep": dec_text(pos.entry_price),
                        "cr": dec_text(pos.realized_pnl),
                        "up": dec_text(pos.unrealized_pnl(state.mark_price)),
                        "mt": "cross",
                        "iw": "0",
                        "ps": "BOTH",
                        "ma": "USDT",
                    }
                )
        return {"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": {"B": [balance], "P": positions, "m": reason}}
