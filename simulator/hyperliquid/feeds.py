"""Engine events -> Hyperliquid WebSocket pushes in the simulator (`FeedsMixin` of `HyperliquidTrading`).

Account channels (docs for-developers/api/websocket/subscriptions.md), one subscription per user:
* `orderUpdates` `{user}`: `{"channel":"orderUpdates","data":[{order, status, statusTimestamp}]}` whenever an
  order of the user is placed, fills or ends (ws_orderUpdates_open.json); nothing at subscription;
* `userFills` `{user}`: a snapshot `{"isSnapshot": true, "user", "fills": [the last 2000, newest first]}` at
  subscription, then `{"user", "fills": [...]}` per event-loop turn with new fills (ws_userFills_snapshot.json);
* `userFundings` `{user}`: snapshot `{"isSnapshot": true, "user", "fundings": [...]}`, then each hourly payment
  `{time, coin, usdc, szi, fundingRate}`;
* `userEvents` `{user}` (channel "user"): `{"fills": [...]}` and `{"funding": {...}}` as they happen
  (ws_user_fills_liquidation_2026-06.json; a liquidation fill carries its `liquidation` block);
* `clearinghouseState` `{user, dex?}` (docs websocket/subscriptions.md; the shape of @nktkas/hyperliquid's
  `ClearinghouseStateEvent`, whose body is the `clearinghouseState` info answer): `{"channel":"clearinghouseState",
  "data":{"dex": <dex, "" = first perp dex>, "user", "clearinghouseState": <the info body of (user, dex),
  `simulator.hyperliquid.account`>}}` at subscription and after every change of the user's account on that dex
  (an order placed, filled or ended, a fill, a funding payment), coalesced per event-loop turn like the others.
  No recording of this push exists (reference/hyperliquid_funding_units.md): its body is the recorded REST one.
Public `trades` `{coin}`: each trade `{coin, side (taker), px, sz, time, hash, tid, users: [buyer, seller]}`
(ws_trades_BTC_2026-09.json). Changes are coalesced per event-loop turn, in the engine's order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from simulator.engine import EngineEvent, Fill, FundingEvent, OrderEvent, Side, Trade, TradeEvent
from simulator.hyperliquid.state import FrameSink, HyperliquidState, Pending
from simulator.hyperliquid.wire import num, order_body, side_word, status_word, trade_hash, ws_funding

ACCOUNT_CHANNELS = ("orderUpdates", "userFills", "userFundings", "userEvents", "clearinghouseState")
STATE = "clearinghouseState"


def state_kind(dex: str) -> str:
    """The subscriber-set entry of a `clearinghouseState` subscription on `dex` (one per dex)."""
    return f"{STATE}/{dex}"


SNAPSHOT_FILLS = 2000
MARKET_MAKER = "0x" + "00" * 19 + "01"  # the synthetic liquidity's address in `trades.users`


class FeedsMixin(HyperliquidState):
    """Account-channel subscriptions, `trades` subscriptions and the coalesced pushes (module docstring)."""

    # ---------------------------------------------------------------------------------------------- subscriptions

    def subscribe_account(self, sink: FrameSink, kind: str, user: str, dex: str = "") -> None:
        """Register `sink` on the account channel `kind` of `user` (`dex`: clearinghouseState's) and send its
        snapshot (userFills, userFundings, clearinghouseState)."""
        self._subscribers.setdefault(user, {}).setdefault(sink, set()).add(
            state_kind(dex) if kind == STATE else kind
        )
        if kind == STATE:
            self._push_state(sink, user, dex)
        elif kind == "userFills":
            fills = [f for a in self.user_accounts(user) for f in a.fills]
            fills.sort(key=lambda f: (-f.ts_ms, -f.fill_id))
            data = {
                "isSnapshot": True,
                "user": user,
                "fills": [self.fill_json(f, user) for f in fills[:SNAPSHOT_FILLS]],
            }
            sink.push_nowait({"channel": "userFills", "data": data})
        elif kind == "userFundings":
            payments = [p for a in self.user_accounts(user) for p in a.funding_payments]
            payments.sort(key=lambda p: (-p.ts_ms, -p.payment_id))
            data = {
                "isSnapshot": True,
                "user": user,
                "fundings": [ws_funding(p) for p in payments[:SNAPSHOT_FILLS]],
            }
            sink.push_nowait({"channel": "userFundings", "data": data})

    def unsubscribe_account(self, sink: FrameSink, kind: str, user: str, dex: str = "") -> None:
        sinks = self._subscribers.get(user, {})
        if sink in sinks:
            sinks[sink].discard(state_kind(dex) if kind == STATE else kind)

    def _push_state(self, sink: FrameSink, user: str, dex: str) -> None:
        body = self.clearinghouse_state(user, dex)
        sink.push_nowait({"channel": STATE, "data": {"dex": dex, "user": user, "clearinghouseState": body}})

    def subscribe_trades(self, sink: FrameSink, coin: str) -> None:
        self._trade_sinks.setdefault(coin, set()).add(sink)

    def unsubscribe_trades(self, sink: FrameSink, coin: str) -> None:
        self._trade_sinks.get(coin, set()).discard(sink)

    def drop_sink(self, sink: FrameSink) -> None:
        """Forget every subscription of `sink` (its socket closed)."""
        for sinks in self._subscribers.values():
            sinks.pop(sink, None)
        for trade_sinks in self._trade_sinks.values():
            trade_sinks.discard(sink)

    # ---------------------------------------------------------------------------------------------- engine events

    def _on_event(self, event: EngineEvent) -> None:
        """Engine listener: note what to push (user accounts; every trade for `trades`)."""
        owners = self.owners
        if isinstance(event, OrderEvent):
            if event.order.account_id in owners:
                self._pending.orders[event.order.order_id] = event.order
                self._schedule_flush()
        elif isinstance(event, TradeEvent):
            if event.trade.market in self._trade_sinks:
                self._pending_trades.append(event.trade)
                self._schedule_flush()
            for fill in (event.maker_fill, event.taker_fill):
                if fill.account_id in owners:
                    self._note_fill(fill)
        elif isinstance(event, FundingEvent):
            if event.payment.account_id in owners:
                self._pending.payments.append(event.payment)
                self._schedule_flush()

    def _note_fill(self, fill: Fill) -> None:
        pos = self.engine.accounts[fill.account_id].positions[fill.market]
        key = (fill.account_id, fill.market)
        open_mark, _change = self._funding_marks.get(key, (pos.funding, pos.funding))
        before, after = fill.position_before, fill.position_after
        if before == 0 or (after != 0 and (after > 0) != (before > 0)):
            open_mark = pos.funding
        self._funding_marks[key] = (open_mark, pos.funding)
        self._pending.fills.append(fill)
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
        trades, self._pending_trades = self._pending_trades, []
        for trade in trades:
            self._push_trade(trade)
        if not self._subscribers:
            return
        by_user: dict[str, dict[str, list[Any]]] = {}
        changed: set[tuple[str, str]] = set()  # (user, dex) whose account changed: clearinghouseState

        def bucket(account_id: int) -> dict[str, list[Any]] | None:
            owner = self.owners.get(account_id)
            if owner is None or not self._subscribers.get(owner[0]):
                return None
            changed.add(owner)
            return by_user.setdefault(owner[0], {"orders": [], "fills": [], "fundings": []})

        for order in pending.orders.values():
            b = bucket(order.account_id)
            if b is not None:
                body = order_body(order, self.cloid_of(order.order_id), frontend=False)
                b["orders"].append(
                    {"order": body, "status": status_word(order), "statusTimestamp": order.updated_ms}
                )
        for fill in pending.fills:
            b = bucket(fill.account_id)
            if b is not None:
                b["fills"].append(self.fill_json(fill, self.owners[fill.account_id][0]))
        for payment in pending.payments:
            b = bucket(payment.account_id)
            if b is not None:
                b["fundings"].append(ws_funding(payment))
        for user, b in by_user.items():
            for sink, kinds in list(self._subscribers.get(user, {}).items()):
                if b["orders"] and "orderUpdates" in kinds:
                    sink.push_nowait({"channel": "orderUpdates", "data": b["orders"]})
                if b["fills"] and "userFills" in kinds:
                    sink.push_nowait({"channel": "userFills", "data": {"user": user, "fills": b["fills"]}})
                if b["fills"] and "userEvents" in kinds:
                    sink.push_nowait({"channel": "user", "data": {"fills": b["fills"]}})
                if b["fundings"] and "userFundings" in kinds:
                    sink.push_nowait(
                        {"channel": "userFundings", "data": {"user": user, "fundings": b["fundings"]}}
                    )
                if b["fundings"] and "userEvents" in kinds:
                    for funding in b["fundings"]:
                        sink.push_nowait({"channel": "user", "data": {"funding": funding}})
        for user, dex in sorted(changed):
            for sink, kinds in list(self._subscribers.get(user, {}).items()):
                if state_kind(dex) in kinds:
                    self._push_state(sink, user, dex)

    def _push_trade(self, trade: Trade) -> None:
        sinks = self._trade_sinks.get(trade.market)
        if not sinks:
            return
        taker = self.owners.get(trade.taker_account_id, (MARKET_MAKER, ""))[0]
        maker = self.owners.get(trade.maker_account_id, (MARKET_MAKER, ""))[0]
        buyer, seller = (taker, maker) if trade.taker_side is Side.BUY else (maker, taker)
        body = {
            "coin": trade.market,
            "side": side_word(trade.taker_side),
            "px": num(trade.price),
            "sz": num(trade.size),
            "time": trade.ts_ms,
            "hash": trade_hash(trade.trade_id),
            "tid": trade.trade_id,
            "users": [buyer, seller],
        }
        frame = {"channel": "trades", "data": [body]}
        for sink in list(sinks):
            sink.push_nowait(frame)
