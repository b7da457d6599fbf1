"""The Paradex engine's order books in the simulator: the bodies of `GET /v1/orderbook/{m}`, `/v1/bbo/{m}` and the
summary fields the engine owns (`BooksMixin` of `ParadexTrading`), and the `order_book.{M}.snapshot@15@{rate}`
WebSocket channels (`BookFeeds`): the top 15 levels a side at subscription and whenever they changed, at most once
per refresh period; `seq_no` starts at the engine book's change counter and grows by exactly 1 per push of a channel
(the `skip_order_book_seq_no` fault adds 1 more once).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from simulator.engine import Side
from simulator.paradex.state import FrameSink, ParadexState
from simulator.paradex.wire import dec_text, subscription_frame

if TYPE_CHECKING:
    from simulator.paradex.trading import ParadexTrading

log = logging.getLogger("perparb.simulator")


BOOK_DEPTH = 15
_BOOK_CHANNEL = re.compile(r"^order_book\.(?P<market>[^.]+)\.snapshot@15@(?P<rate>50ms|100ms)$")


class BooksMixin(ParadexState):
    """The engine's books in the venue's market-data bodies (module docstring)."""

    def is_traded(self, market: str) -> bool:
        """True when the engine trades `market`."""
        return market in self.engine.markets

    def book_body(self, market: str, depth: int) -> dict[str, Any] | None:
        """`GET /v1/orderbook/{market}` body from the engine's book (None when the market is not traded)."""
        state = self.engine.markets.get(market)
        if state is None:
            return None
        self.engine.sync()
        book = state.book
        return {
            "market": market,
            "seq_no": book.seq,
            "last_updated_at": self.clock.now_ms(),
            "asks": [[dec_text(p), dec_text(s)] for p, s in book.levels(Side.SELL, depth)],
            "bids": [[dec_text(p), dec_text(s)] for p, s in book.levels(Side.BUY, depth)],
        }

    def bbo_body(self, market: str) -> dict[str, Any] | None:
        """`BBOResp` from the engine's book (None when not traded); an empty side answers "" / "0"."""
        book = self.book_body(market, 1)
        if book is None:
            return None
        out: dict[str, Any] = {"market": market, "seq_no": book["seq_no"]}
        for side, key in (("asks", "ask"), ("bids", "bid")):
            level = book[side][0] if book[side] else ["", "0"]
            out[key], out[f"{key}_size"] = level[0], level[1]
        out["last_updated_at"] = book["last_updated_at"]
        return out

    def summary_overrides(self, market: str) -> dict[str, Any]:
        """Fields of a `markets/summary` row the engine owns: `mark_price`, `bid`/`ask` and sizes, and
        `funding_rate` (per the market's period) when `scenario.json` `funding` sets the market's rate (the rate in
        force at the engine's last sync) or once changed through the admin API. {} when not traded."""
        bbo = self.bbo_body(market)
        if bbo is None:
            return {}
        state = self.engine.markets[market]
        out = {
            "mark_price": dec_text(state.mark_price),
            "bid": bbo["bid"],
            "bid_size": bbo["bid_size"],
            "ask": bbo["ask"],
            "ask_size": bbo["ask_size"],
        }
        rate = self._funding_overrides.get(market)
        if rate is None and market in self._funding_from_settings:
            rate = state.rate_hourly
        if rate is not None:
            out["funding_rate"] = dec_text(rate * state.spec.funding_period_hours)
        return out


class _BookChannel:
    """One `order_book.{M}.snapshot@15@{rate}` channel: its subscribers, publication counter and task."""

    def __init__(self, name: str, market: str, interval: float, seq_no: int) -> None:
        self.name = name
        self.market = market
        self.interval = interval
        self.seq_no = seq_no
        self.sinks: set[FrameSink] = set()
        self.last: tuple[Any, ...] | None = None
        self.task: asyncio.Task[None] | None = None


class BookFeeds:
    """The order-book snapshot channels of the venue (one publisher per channel name, shared by sessions)."""

    def __init__(self, trading: ParadexTrading) -> None:
        self.trading = trading
        self.channels: dict[str, _BookChannel] = {}
        self.skip_pending = 0

    @staticmethod
    def parse(channel: str) -> tuple[str, float] | None:
        """(market, refresh seconds) of an `order_book.{M}.snapshot@15@{50ms|100ms}` name, else None."""
        match = _BOOK_CHANNEL.match(channel)
        if match is None:
            return None
        return match.group("market"), int(match.group("rate").removesuffix("ms")) / 1000

    def valid(self, channel: str) -> bool:
        """True for an order-book channel name this feed serves (snapshot feed of a traded market)."""
        parsed = self.parse(channel)
        return parsed is not None and self.trading.is_traded(parsed[0])

    def tasks(self) -> list[asyncio.Task[None]]:
        return [c.task for c in self.channels.values() if c.task is not None]

    def subscribe(self, sink: FrameSink, channel: str) -> bool:
        """Add `sink` to `channel` and push it the current snapshot; False for an invalid / untraded channel."""
        parsed = self.parse(channel)
        if parsed is None or not self.trading.is_traded(parsed[0]):
            return False
        market, interval = parsed
        feed = self.channels.get(channel)
        engine = self.trading.engine
        if feed is None:
            engine.sync()
            feed = _BookChannel(channel, market, interval, engine.markets[market].book.seq)
            feed.last = self._levels(market)
            self.channels[channel] = feed
        feed.sinks.add(sink)
        sink.push_nowait(subscription_frame(channel, self._data(feed, feed.last or self._levels(market))))
        if feed.task is None or feed.task.done():
            feed.task = asyncio.create_task(self._run(feed))
        return True

    def unsubscribe(self, sink: FrameSink, channel: str) -> None:
        feed = self.channels.get(channel)
        if feed is not None:
            feed.sinks.discard(sink)

    def drop(self, sink: FrameSink) -> None:
        for feed in self.channels.values():
            feed.sinks.discard(sink)

    def _levels(self, market: str) -> tuple[Any, ...]:
        book = self.trading.engine.markets[market].book
        return (tuple(book.levels(Side.BUY, BOOK_DEPTH)), tuple(book.levels(Side.SELL, BOOK_DEPTH)))

    def _data(self, feed: _BookChannel, levels: tuple[Any, ...]) -> dict[str, Any]:
        bids, asks = levels
        inserts = [{"side": "BUY", "price": dec_text(p), "size": dec_text(s)} for p, s in bids]
        inserts += [{"side": "SELL", "price": dec_text(p), "size": dec_text(s)} for p, s in asks]
        data: dict[str, Any] = {
            "seq_no": feed.seq_no,
            "market": feed.market,
            "last_updated_at": self.trading.clock.now_ms(),
            "update_type": "s",
            "inserts": inserts,
            "updates": [],
            "deletes": [],
        }
        for key, side, levels_ in (("bid", "BUY", bids), ("ask", "SELL", asks)):
            if levels_:
                best = {"side": side, "price": dec_text(levels_[0][0]), "size": dec_text(levels_[0][1])}
                data[f"best_{key}_api"] = best
                data[f"best_{key}_interactive"] = dict(best)
        return data

    async def _run(self, feed: _BookChannel) -> None:
        engine = self.trading.engine
        while feed.sinks:
            await asyncio.sleep(feed.interval)
            engine.sync()
            levels = self._levels(feed.market)
            if levels == feed.last:
                continue
            feed.last = levels
            feed.seq_no += 1
            if self.skip_pending:
                self.skip_pending -= 1
                feed.seq_no += 1
                log.info("paradex fault: %s skips seq_no %d", feed.name, feed.seq_no - 1)
            frame = subscription_frame(feed.name, self._data(feed, levels))
            for sink in list(feed.sinks):
                sink.push_nowait(frame)
        if self.channels.get(feed.name) is feed:
            del self.channels[feed.name]
