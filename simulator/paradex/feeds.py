"""The Paradex private WebSocket channels in the simulator (`FeedsMixin` of `ParadexTrading`): engine events
recorded and pushed to the authenticated sessions.

WebSocket (`simulator.paradex.stream.StreamSession` calls in here; the order-book channel is `simulator.paradex.books`): private channels `orders.{M|ALL}`,
`fills.{M|ALL}`, `funding_payments.{M|ALL}`, `positions`, `account` need a session authenticated with a JWT issued
here; they are pushed when the account's orders, fills or funding change (coalesced per event-loop turn: a new
order pushes `NEW` then its state; not on every mark tick, and nothing is pushed at subscription). The public
`order_book.{M}.snapshot@15@{50ms|100ms}` channel pushes the top 15 levels a side (`update_type: "s"`, every level
in `inserts`, plus `best_{bid,ask}_{api,interactive}`) at subscription and then whenever they changed, at most once
per refresh period; `seq_no` starts at the engine book's change counter and grows by exactly 1 per push of a
channel (the `skip_order_book_seq_no` fault adds 1 more once). Deltas / interactive feeds and price-tick grouping are
not served (invalid channel).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from simulator.engine import EngineEvent, Fill, FundingEvent, OrderEvent, TradeEvent
from simulator.paradex.state import FrameSink, ParadexState, Pending, PositionMeta
from simulator.paradex.wire import PRIVATE_EXACT, PRIVATE_PREFIXES, subscription_frame


class FeedsMixin(ParadexState):
    """Subscriptions of the private channels and the coalesced pushes (module docstring)."""

    def subscribe_private(self, sink: FrameSink, address: int, channel: str) -> bool:
        """Register `sink` (authenticated as `address`) on a private channel; False for an invalid name."""
        name, _, market = channel.partition(".")
        if channel not in PRIVATE_EXACT:
            if name + "." not in PRIVATE_PREFIXES or not (market == "ALL" or market in self.engine.markets):
                return False
        self.ensure_account(address)
        self._subscribers.setdefault(address, {}).setdefault(sink, set()).add(channel)
        return True

    def unsubscribe(self, sink: FrameSink, channel: str) -> None:
        """Remove `sink` from a private or order-book channel (no-op when not subscribed)."""
        for sinks in self._subscribers.values():
            if sink in sinks:
                sinks[sink].discard(channel)
        self.books.unsubscribe(sink, channel)

    def drop_sink(self, sink: FrameSink) -> None:
        """Forget every subscription of `sink` (its socket closed)."""
        for sinks in self._subscribers.values():
            sinks.pop(sink, None)
        self.books.drop(sink)

    def _touch_account(self, account_id: int) -> None:
        if account_id in self.addresses:
            self._pending.accounts[account_id] = None
            self._schedule_flush()

    def _on_event(self, event: EngineEvent) -> None:
        """Engine listener: record what the venue echoes later and queue pushes (user accounts only)."""
        if isinstance(event, OrderEvent):
            order = event.order
            if order.account_id in self.addresses:
                self._pending.orders[order.order_id] = order
                self._pending.accounts[order.account_id] = None
                self._schedule_flush()
        elif isinstance(event, TradeEvent):
            for fill in (event.maker_fill, event.taker_fill):
                if fill.account_id in self.addresses:
                    self._on_fill(fill)
        elif isinstance(event, FundingEvent):
            payment = event.payment
            if payment.account_id in self.addresses:
                self._pending.payments.append(payment)
                self._pending.accounts[payment.account_id] = None
                self._schedule_flush()

    def _on_fill(self, fill: Fill) -> None:
        account = self.engine.accounts[fill.account_id]
        order = account.orders.get(fill.order_id) if fill.order_id else None
        self._fill_remaining[fill.fill_id] = order.remaining if order is not None else Decimal(0)
        key = (fill.account_id, fill.market)
        meta = self._positions.setdefault(key, PositionMeta())
        before, after = fill.position_before, fill.position_after
        meta.pnl += fill.realized_pnl
        meta.funding += fill.realized_funding
        flipped = before != 0 and after != 0 and (before > 0) != (after > 0)
        if after == 0 or before == 0 or flipped:
            meta.pnl = meta.funding = Decimal(0)  # "reset to 0 when position is closed or flipped"
        if after == 0:
            meta.closed_at = fill.ts_ms
        elif before == 0 or flipped:
            meta.created_at, meta.closed_at = fill.ts_ms, None
        if after != 0:
            meta.side = "LONG" if after > 0 else "SHORT"
        meta.last_fill_id = fill.fill_id
        meta.last_updated_at = fill.ts_ms
        self._pending.fills.append(fill)
        self._pending.positions[key] = None
        self._pending.accounts[fill.account_id] = None
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (engine used in process): nothing can be subscribed
        self._flush_scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Push the pending changes to the subscribed sessions, then forget them."""
        self._flush_scheduled = False
        pending, self._pending = self._pending, Pending()
        for order in pending.orders.values():
            meta = self._orders.get(order.order_id)
            if meta is not None and not meta.announced:
                meta.announced = True
                if self._sinks(order.account_id):
                    self._publish(order.account_id, order.market, "orders", self.order_json(order, new=True))
            if self._sinks(order.account_id):
                self._publish(order.account_id, order.market, "orders", self.order_json(order))
        if not self._subscribers:
            return
        for fill in pending.fills:
            self._publish(fill.account_id, fill.market, "fills", self.fill_json(fill))
        for payment in pending.payments:
            self._publish(payment.account_id, payment.market, "funding_payments", self.payment_json(payment))
        for account_id, market in pending.positions:
            account = self.engine.accounts[account_id]
            row = self.position_json(account, account.position(market), self._positions[(account_id, market)])
            self._publish(account_id, None, "positions", row)
        for account_id in pending.accounts:
            if self._sinks(account_id):
                self._publish(
                    account_id, None, "account", self.account_summary(self.engine.accounts[account_id])
                )

    def _sinks(self, account_id: int) -> dict[FrameSink, set[str]]:
        address = self.addresses.get(account_id)
        return self._subscribers.get(address, {}) if address is not None else {}

    def _publish(self, account_id: int, market: str | None, name: str, data: dict[str, Any]) -> None:
        wanted = {name} if market is None else {f"{name}.ALL", f"{name}.{market}"}
        for sink, channels in list(self._sinks(account_id).items()):
            for channel in sorted(channels & wanted):
                sink.push_nowait(subscription_frame(channel, data))
