"""The Lighter trading engine's WebSocket feeds (`LighterStreamHub`): `order_book/{m}` and `account_all/{a}`.

WebSocket (`simulator.lighter.stream` sessions subscribe here, `LighterStreamHub`): `order_book/{m}` answers a
`subscribed/order_book` snapshot of the engine's book (every level, `begin_nonce` 0), then `update/order_book`
frames with the levels that changed (absolute sizes, "0.0000" = gone) as soon as the book changes (checked every
`sync_interval_seconds`) and empty heartbeats every push interval; `nonce` = a per-process base + the engine book's
change counter (`OrderBook.seq`), each frame's `begin_nonce` = the previous frame's `nonce` (heartbeats: equal).
`account_all/{a}` (an `auth` field is accepted, not verified) answers `subscribed/account_all` with the account's
positions, open orders, last trades and funding payments keyed by market id, then `update/account_all` with what
changed (positions in full, new trades, funding payments and orders), plus trade counts and volumes.
`user_stats/{a}` (Lighter's account-statistics channel; auth accepted, not verified) answers `subscribed/user_stats`
with `stats` {collateral, portfolio_value (equity), leverage, available_balance (equity - initial margin),
margin_usage (initial margin / equity, percent), buying_power (available_balance x max leverage of 20)}, USDC
text with 6 decimals like the REST `account`, then `update/user_stats` whenever those figures change (checked each
push round: fills, funding and mark moves all change them).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from simulator.engine import Account, Order
from simulator.lighter.markets import LighterMarket

if TYPE_CHECKING:
    from simulator.lighter.trading import LighterTrading


ZERO = Decimal(0)


WS_TRADES_KEPT = 50  # trades / funding payments per market in an account_all snapshot


@dataclass
class _AccountFeed:
    """What changed for a subscribed account since its last `account_all` frame."""

    trades: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    funding: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    dirty: bool = False


class Subscriber(Protocol):
    """A WebSocket session: frames are queued in call order (`enqueue` never blocks)."""

    def enqueue(self, frame: dict[str, Any]) -> None: ...


class LighterStreamHub:
    """Order-book and `account_all` WebSocket feeds of the trading engine (frames in the module docstring).

    Everything here is synchronous: frames are built and queued (`Subscriber.enqueue`) in one go, so a snapshot
    and the updates after it chain without gaps whatever the sessions' send speed.
    """

    def __init__(self, trading: LighterTrading) -> None:
        self.trading = trading
        self.push_interval = 1.0
        self.nonce_base = trading.clock.now_ms()
        self.book_subs: dict[int, list[Subscriber]] = {}
        self.last_nonce: dict[int, int] = {}
        self.last_frame: dict[int, float] = {}
        self.account_subs: dict[int, list[Subscriber]] = {}
        self.feeds: dict[int, _AccountFeed] = {}
        self.stats_subs: dict[int, list[Subscriber]] = {}
        self.last_stats: dict[int, dict[str, Any]] = {}
        self.accounts_stalled_until = (
            0.0  # time.monotonic(): account connections silent until then (WS fault)
        )
        self.offset = 1

    # ------------------------------------------------------------------------------------------ order book

    def _levels(
        self, market: LighterMarket, levels: Iterable[tuple[Decimal, Decimal]]
    ) -> list[dict[str, str]]:
        return [{"price": market.price_text(p), "size": market.size_text(s)} for p, s in levels]

    def _book_frame(
        self,
        market: LighterMarket,
        asks: list[dict[str, str]],
        bids: list[dict[str, str]],
        *,
        snapshot: bool,
    ) -> dict[str, Any]:
        book = self.trading.engine.market(market.symbol).book
        nonce = self.nonce_base + book.seq
        begin = 0 if snapshot else self.last_nonce.get(market.market_id, nonce)
        self.last_nonce[market.market_id] = nonce
        self.offset += 1
        now_us = self.trading.clock.now_us()
        return {
            "channel": f"order_book:{market.market_id}",
            "last_updated_at": now_us,
            "offset": self.offset,
            "order_book": {
                "code": 0,
                "asks": asks,
                "bids": bids,
                "offset": self.offset,
                "nonce": nonce,
                "last_updated_at": now_us,
                "begin_nonce": begin,
            },
            "timestamp": now_us // 1000,
            "type": "subscribed/order_book" if snapshot else "update/order_book",
        }

    def _flush_book(self, market: LighterMarket, now_mono: float, *, heartbeat: bool) -> None:
        book = self.trading.engine.market(market.symbol).book
        bids, asks = book.drain_changes()
        subs = self.book_subs.get(market.market_id)
        if not subs:
            return
        if not (bids or asks) and not heartbeat:
            return
        frame = self._book_frame(
            market, self._levels(market, asks), self._levels(market, bids), snapshot=False
        )
        self.last_frame[market.market_id] = now_mono
        for sub in subs:
            sub.enqueue(frame)

    def subscribe_book(self, market_id: int, sub: Subscriber) -> None:
        """Queue the snapshot for `sub` (after flushing pending changes to the other subscribers) and add it."""
        market = self.trading.markets[market_id]
        self.trading.sync()
        now = time.monotonic()
        self._flush_book(market, now, heartbeat=False)
        book = self.trading.engine.market(market.symbol).book
        snap = book.snapshot()
        frame = self._book_frame(
            market,
            self._levels(market, snap.asks),
            self._levels(market, snap.bids),
            snapshot=True,
        )
        sub.enqueue(frame)
        self.book_subs.setdefault(market_id, []).append(sub)
        self.last_frame[market_id] = now

    def unsubscribe_book(self, market_id: int, sub: Subscriber) -> None:
        subs = self.book_subs.get(market_id, [])
        if sub in subs:
            subs.remove(sub)

    def skip_nonce(self, market_id: int | None) -> list[int]:
        """Fault: act as if one order-book frame of `market_id` (None = every market) was lost: the next frame's
        `begin_nonce` is a nonce the clients never saw. Returns the markets affected."""
        ids = [market_id] if market_id is not None else sorted(self.trading.markets)
        for mid in ids:
            if mid in self.last_nonce:
                self.last_nonce[mid] += 1
        self.nonce_base += 1
        return ids

    # ------------------------------------------------------------------------------------------ account_all

    def _feed(self, account_id: int) -> _AccountFeed | None:
        if not self.account_subs.get(account_id):
            return None
        return self.feeds.setdefault(account_id, _AccountFeed())

    def on_order(self, order: Order) -> None:
        feed = self._feed(order.account_id)
        if feed is not None and order.market in self.trading.by_symbol:
            feed.orders[order.order_id] = order
            feed.dirty = True

    def forget_order(self, order: Order) -> None:
        """An order refused at the API never existed for the venue: drop it from the pending feed."""
        feed = self.feeds.get(order.account_id)
        if feed is not None:
            feed.orders.pop(order.order_id, None)

    def on_trade(self, account_id: int, market_id: int, row: dict[str, Any]) -> None:
        feed = self._feed(account_id)
        if feed is not None:
            feed.trades.setdefault(market_id, []).append(row)
            feed.dirty = True

    def on_funding(self, account_id: int, market_id: int, row: dict[str, Any]) -> None:
        feed = self._feed(account_id)
        if feed is not None:
            feed.funding.setdefault(market_id, []).append(row)
            feed.dirty = True

    def touch(self, account_id: int) -> None:
        """Positions or collateral of the account changed (liquidation, deposit)."""
        feed = self._feed(account_id)
        if feed is not None:
            feed.dirty = True

    def _account_frame(
        self,
        account: Account,
        kind: str,
        trades: dict[int, list[dict[str, Any]]],
        funding: dict[int, list[dict[str, Any]]],
        orders: Iterable[Order],
    ) -> dict[str, Any]:
        trading = self.trading
        all_trades = trading.trades.get(account.account_id, [])
        volume = sum((Decimal(t["usd_amount"]) for t in all_trades), ZERO)
        orders_by_market: dict[str, list[dict[str, Any]]] = {}
        for order in orders:
            market = trading.by_symbol.get(order.market)
            if market is not None:
                orders_by_market.setdefault(str(market.market_id), []).append(trading.order_json(order))
        return {
            "account": account.account_id,
            "channel": f"account_all:{account.account_id}",
            "daily_trades_count": len(all_trades),
            "daily_volume": float(volume),
            "weekly_trades_count": len(all_trades),
            "weekly_volume": float(volume),
            "monthly_trades_count": len(all_trades),
            "monthly_volume": float(volume),
            "total_trades_count": len(all_trades),
            "total_volume": float(volume),
            "funding_histories": {str(m): rows for m, rows in funding.items()},
            "orders": orders_by_market,
            "positions": {
                str(m.market_id): trading.position_json(account, m) for m in trading._account_markets(account)
            },
            "shares": [],
            "trades": {str(m): rows for m, rows in trades.items()},
            "type": kind,
        }

    def subscribe_account(self, account_id: int, sub: Subscriber) -> None:
        """Queue the `subscribed/account_all` snapshot for `sub` and add it.

        Raises:
            LighterRequestError: 21100 for an unknown account.
        """
        trading = self.trading
        trading.sync()
        account = trading.ensure_account(account_id)
        self.flush_accounts()
        trades: dict[int, list[dict[str, Any]]] = {}
        for row in trading.trades.get(account_id, []):
            trades.setdefault(row["market_id"], []).append(row)
        funding: dict[int, list[dict[str, Any]]] = {}
        for row in trading.funding.get(account_id, []):
            funding.setdefault(row["market_id"], []).append(row)
        frame = self._account_frame(
            account,
            "subscribed/account_all",
            {m: rows[-WS_TRADES_KEPT:] for m, rows in trades.items()},
            {m: rows[-WS_TRADES_KEPT:] for m, rows in funding.items()},
            sorted(account.open_orders.values(), key=lambda o: o.order_id),
        )
        sub.enqueue(frame)
        self.account_subs.setdefault(account_id, []).append(sub)

    def unsubscribe_account(self, account_id: int, sub: Subscriber) -> None:
        subs = self.account_subs.get(account_id, [])
        if sub in subs:
            subs.remove(sub)

    def flush_accounts(self) -> None:
        """Queue an `update/account_all` for every subscribed account with changes."""
        for account_id, feed in list(self.feeds.items()):
            subs = self.account_subs.get(account_id)
            if not subs:
                del self.feeds[account_id]
                continue
            if not feed.dirty:
                continue
            account = self.trading.engine.accounts.get(account_id)
            if account is None:
                continue
            frame = self._account_frame(
                account,
                "update/account_all",
                feed.trades,
                feed.funding,
                sorted(feed.orders.values(), key=lambda o: o.order_id),
            )
            self.feeds[account_id] = _AccountFeed()
            for sub in subs:
                sub.enqueue(frame)

    # ------------------------------------------------------------------------------------------ user_stats

    def _stats(self, account: Account) -> dict[str, Any]:
        return self.trading.user_stats(account)

    def subscribe_stats(self, account_id: int, sub: Subscriber) -> None:
        """Queue the `subscribed/user_stats` snapshot for `sub` and add it.

        Raises:
            LighterRequestError: 21100 for an unknown account.
        """
        trading = self.trading
        trading.sync()
        account = trading.ensure_account(account_id)
        stats = self._stats(account)
        sub.enqueue({"channel": f"user_stats:{account_id}", "stats": stats, "type": "subscribed/user_stats"})
        self.last_stats[account_id] = stats
        self.stats_subs.setdefault(account_id, []).append(sub)

    def unsubscribe_stats(self, account_id: int, sub: Subscriber) -> None:
        subs = self.stats_subs.get(account_id, [])
        if sub in subs:
            subs.remove(sub)

    def flush_stats(self) -> None:
        """Queue an `update/user_stats` for every subscribed account whose figures changed."""
        for account_id, subs in list(self.stats_subs.items()):
            if not subs:
                del self.stats_subs[account_id]
                continue
            account = self.trading.engine.accounts.get(account_id)
            if account is None:
                continue
            stats = self._stats(account)
            if stats == self.last_stats.get(account_id):
                continue
            self.last_stats[account_id] = stats
            frame = {"channel": f"user_stats:{account_id}", "stats": stats, "type": "update/user_stats"}
            for sub in subs:
                sub.enqueue(frame)

    def stall_accounts(self, seconds: float) -> None:
        """WS fault: account connections go silent for `seconds` (see `LighterWsFaultSpec`)."""
        self.accounts_stalled_until = time.monotonic() + seconds

    def accounts_stalled(self) -> bool:
        return time.monotonic() < self.accounts_stalled_until

    # ------------------------------------------------------------------------------------------ loop

    def tick(self, now_mono: float) -> None:
        """One push round: changed books (and heartbeats every `push_interval`), changed accounts."""
        for market in self.trading.markets.values():
            due = now_mono - self.last_frame.get(market.market_id, 0.0) >= self.push_interval
            self._flush_book(market, now_mono, heartbeat=due)
        self.flush_accounts()
        self.flush_stats()

    def remove(self, sub: Subscriber) -> None:
        """A session closed: drop it from every feed."""
        for subs in (*self.book_subs.values(), *self.account_subs.values(), *self.stats_subs.values()):
            if sub in subs:
                subs.remove(sub)
