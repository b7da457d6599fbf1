"""Account bodies of the simulated Hyperliquid (`AccountMixin` of `HyperliquidTrading`): `clearinghouseState`,
open orders, `orderStatus`, fills and funding payments, in the venue's shapes (docs
for-developers/api/info-endpoint.md and info-endpoint/perpetuals.md; recordings rest_info_clearinghouseState_*.json,
rest_info_orderStatus_*.json, rest_info_frontendOpenOrders_*.json, rest_info_userFills_*.json,
rest_info_userFunding_*.json).

`clearinghouseState` of (user, dex), USDC with 6 decimals:
* `marginSummary` = `crossMarginSummary` (every position is cross here): `accountValue` = equity (collateral +
  unrealised PnL), `totalNtlPos` = sum of |szi| x mark, `totalRawUsd` = accountValue - sum of szi x mark (the
  docs example satisfies it), `totalMarginUsed` = sum of positionValue / leverage;
* `crossMaintenanceMarginUsed` = the maintenance requirement; `withdrawable` = equity - initial margin (orders
  included), at least 0;
* a position: `szi` signed, `leverage` {type "cross", value}, `entryPx`, `positionValue` = |szi| x mark,
  `unrealizedPnl`, `returnOnEquity` = unrealizedPnl / (|szi| x entryPx / leverage), `liquidationPx` (the mark at
  which equity would meet the maintenance requirement, every other price fixed; null when none),
  `marginUsed` = positionValue / leverage, `maxLeverage`, `cumFunding` {allTime, sinceOpen, sinceChange} as
  funding PAID (+ = paid by the account: the sign the recordings show, the opposite of `userFunding.usdc`).

Fills are account-wide (every dex of the user, as the venue answers; clients keep their dex's coins): `userFills`
newest first (at most 2000), `userFillsByTime` oldest first from `startTime` to `endTime` (inclusive, ms; at most
2000). `userFunding`: the user's hourly payments, oldest first, at most 500 per answer (docs "Pagination").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulator.engine import Account, Fill, Order, TradeKind
from simulator.engine import accounts as margin
from simulator.hyperliquid.state import HyperliquidState
from simulator.hyperliquid.wire import fill_body, funding_row, num, order_body, status_word, usd

ZERO = Decimal(0)
FILLS_MAX = 2000
FUNDING_MAX = 500


class AccountMixin(HyperliquidState):
    """The venue's account bodies (module docstring)."""

    def _liquidation_px(self, account: Account, coin: str, size: Decimal) -> Decimal | None:
        markets = self.engine.markets
        state = markets[coin]
        equity = margin.equity(account, markets)
        mmr = margin.maintenance_margin(account, markets)
        denominator = size - abs(size) * state.spec.maintenance_margin_fraction
        if denominator == 0:
            return None
        price = state.mark_price + (mmr - equity) / denominator
        return price if price > 0 else None

    def _position(self, account: Account, coin: str) -> dict[str, Any]:
        pos = account.positions[coin]
        state = self.engine.markets[coin]
        imf = margin.initial_margin_fraction(account, state)
        leverage = int((1 / imf).to_integral_value())
        value = abs(pos.size) * state.mark_price
        upnl = pos.unrealized_pnl(state.mark_price)
        entry_margin = abs(pos.size) * pos.entry_price * imf
        liq = self._liquidation_px(account, coin, pos.size)
        open_mark, change_mark = self._funding_marks.get((account.account_id, coin), (ZERO, ZERO))
        return {
            "coin": coin,
            "szi": num(pos.size),
            "leverage": {"type": "cross", "value": leverage},
            "entryPx": num(pos.entry_price),
            "positionValue": usd(value),
            "unrealizedPnl": usd(upnl),
            "returnOnEquity": num((upnl / entry_margin).quantize(Decimal("1e-8"))) if entry_margin else "0.0",
            "liquidationPx": num(liq.quantize(Decimal("1e-8"))) if liq is not None else None,
            "marginUsed": usd(value * imf),
            "maxLeverage": int(state.spec.max_leverage.to_integral_value()),
            "cumFunding": {
                "allTime": usd(-pos.funding),
                "sinceOpen": usd(-(pos.funding - open_mark)),
                "sinceChange": usd(-(pos.funding - change_mark)),
            },
        }

    def clearinghouse_state(self, address: str, dex: str) -> dict[str, Any]:
        """`clearinghouseState` of (user, dex) (module docstring); an address without an account there answers
        an empty account (the venue answers zeros for any address)."""
        self.engine.sync()
        account = self.account_of(address, dex)
        now = self.clock.now_ms()
        if account is None:
            empty = {
                "accountValue": "0.0",
                "totalNtlPos": "0.0",
                "totalRawUsd": "0.0",
                "totalMarginUsed": "0.0",
            }
            return {
                "marginSummary": dict(empty),
                "crossMarginSummary": dict(empty),
                "crossMaintenanceMarginUsed": "0.0",
                "withdrawable": "0.0",
                "assetPositions": [],
                "time": now,
            }
        markets = self.engine.markets
        equity = margin.equity(account, markets)
        coins = [c for c in sorted(account.positions) if account.positions[c].size]
        positions = [self._position(account, c) for c in coins]
        ntl = sum((abs(account.positions[c].size) * markets[c].mark_price for c in coins), ZERO)
        signed = sum((account.positions[c].size * markets[c].mark_price for c in coins), ZERO)
        used = sum(
            (
                abs(account.positions[c].size)
                * markets[c].mark_price
                * margin.initial_margin_fraction(account, markets[c])
                for c in coins
            ),
            ZERO,
        )
        summary = {
            "accountValue": usd(equity),
            "totalNtlPos": usd(ntl),
            "totalRawUsd": usd(equity - signed),
            "totalMarginUsed": usd(used),
        }
        withdrawable = max(equity - margin.initial_margin(account, markets), ZERO)
        return {
            "marginSummary": summary,
            "crossMarginSummary": dict(summary),
            "crossMaintenanceMarginUsed": usd(margin.maintenance_margin(account, markets)),
            "withdrawable": usd(withdrawable),
            "assetPositions": [{"position": p, "type": "oneWay"} for p in positions],
            "time": now,
        }

    def open_orders_body(self, address: str, dex: str, *, frontend: bool) -> list[dict[str, Any]]:
        """`frontendOpenOrders` (`frontend`) or `openOrders` of (user, dex): resting orders, newest first."""
        self.engine.sync()
        account = self.account_of(address, dex)
        if account is None:
            return []
        rows = sorted(account.open_orders.values(), key=lambda o: -o.order_id)
        return [order_body(o, self.cloid_of(o.order_id), frontend=frontend) for o in rows]

    def _find_order(self, address: str, oid: Any) -> Order | None:
        if isinstance(oid, str):
            order_id = self._cloids.get((address, oid.lower()))
        elif isinstance(oid, int) and not isinstance(oid, bool):
            order_id = oid
        else:
            return None
        meta = self._orders.get(order_id) if order_id is not None else None
        if meta is None or meta.user != address:
            return None
        account = self.account_of(address, meta.dex)
        return account.orders.get(order_id) if account is not None and order_id is not None else None

    def order_status_body(self, address: str, oid: Any) -> dict[str, Any]:
        """`orderStatus` by oid (int) or cloid ("0x..."): `{"status":"order","order":{order, status,
        statusTimestamp}}`, or `{"status":"unknownOid"}` (rest_info_orderStatus_unknownOid.json)."""
        self.engine.sync()
        order = self._find_order(address, oid)
        if order is None:
            return {"status": "unknownOid"}
        return {
            "status": "order",
            "order": {
                "order": order_body(order, self.cloid_of(order.order_id), frontend=True),
                "status": status_word(order),
                "statusTimestamp": order.updated_ms,
            },
        }

    def historical_orders_body(self, address: str) -> list[dict[str, Any]]:
        """`historicalOrders`: every order of the user (at most 2000, newest first) with its status."""
        self.engine.sync()
        orders = [o for account in self.user_accounts(address) for o in account.orders.values()]
        orders.sort(key=lambda o: -o.order_id)
        return [
            {
                "order": order_body(o, self.cloid_of(o.order_id), frontend=True),
                "status": status_word(o),
                "statusTimestamp": o.updated_ms,
            }
            for o in orders[:FILLS_MAX]
        ]

    def fill_json(self, fill: Fill, address: str) -> dict[str, Any]:
        """The venue's body of an engine fill of `address`."""
        liquidated = address if fill.kind is TradeKind.LIQUIDATION else None
        return fill_body(
            fill, self.cloid_of(fill.order_id) if fill.order_id else None, liquidated_user=liquidated
        )

    def user_fills_body(
        self, address: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[Any]:
        """`userFills` (no times: newest first) or `userFillsByTime` (oldest first in [start, end])."""
        self.engine.sync()
        fills = [f for account in self.user_accounts(address) for f in account.fills]
        if start_ms is None:
            fills.sort(key=lambda f: (-f.ts_ms, -f.fill_id))
        else:
            fills = [f for f in fills if f.ts_ms >= start_ms and (end_ms is None or f.ts_ms <= end_ms)]
            fills.sort(key=lambda f: (f.ts_ms, f.fill_id))
        return [self.fill_json(f, address) for f in fills[:FILLS_MAX]]

    def user_funding_body(self, address: str, start_ms: int, end_ms: int | None) -> list[Any]:
        """`userFunding`: payments with `time` in [start, end], oldest first, at most 500."""
        self.engine.sync()
        payments = [
            p
            for account in self.user_accounts(address)
            for p in account.funding_payments
            if p.ts_ms >= start_ms and (end_ms is None or p.ts_ms <= end_ms)
        ]
        payments.sort(key=lambda p: (p.ts_ms, p.payment_id))
        return [funding_row(p) for p in payments[:FUNDING_MAX]]
