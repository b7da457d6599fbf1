"""Backpack bodies of the simulator (`BodiesMixin` of `BackpackTrading`): the signed account endpoints and the public
market-data endpoints, in the venue's shapes.

Private (recorded shapes in ../shared/venue-data/backpack/): order object (rest_order_*.json: `id`, `clientId`,
`createdAt` ms text, `executedQuantity`, `executedQuoteQuantity`, `orderType`, `postOnly`, `price`, `quantity`,
`reduceOnly`, `selfTradePrevention`, `side` Bid/Ask, `status`, `symbol`, `timeInForce`, trigger fields null);
`GET /api/v1/position` rows (rest_position_*.json: `netQuantity` signed, `entryPrice`, `markPrice`,
`estLiquidationPrice` = the mark at which equity meets the maintenance requirement, other prices fixed, "0" when
flat, `pnlUnrealized`, `pnlRealized`, `cumulativeFundingPayment` user's view, `imf`, `mmf`, `netExposureNotional`);
`GET /api/v1/capital/collateral` (`netEquity` = equity, `netEquityAvailable` = equity - initial margin,
`netEquityLocked`, `assetsValue` = USDC collateral, `pnlUnrealized`, `imf`, `mmf`, `collateral` [USDC row]);
`GET /api/v1/capital` (`{"USDC": {available, locked, staked}}`, rest_capital_balances_2025-09.json);
`GET /wapi/v1/history/fills` (rest_history_fills_2025-08.json; fee in USDC), `/wapi/v1/history/funding`
(rest_history_funding_user_*.json: `quantity` + received / - paid, `fundingRate` per hour, `intervalEndTimestamp`).

Public: `markets`, `openInterest`, `tickers` are the scenario's files; `markPrices` carries the engine's mark and the
rate in force x the market's interval hours (fraction per interval), `nextFundingTimestamp` the next hour;
`fundingRates` the scenario's rows, newest first, with the interval IN PROGRESS first (ending at the next hour, at
the rate in force) as the venue does, paged by `limit` (1..1000) / `offset`; `depth` the engine's book, both sides
ascending, `lastUpdateId` (text) the book's change counter, `timestamp` µs.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from simulator.backpack.errors import invalid
from simulator.backpack.markets import SIDE_WORDS, num, status_word
from simulator.backpack.scenario import BackpackData, iso_ms, ms_iso
from simulator.engine import (
    Account,
    Engine,
    Fill,
    FundingPayment,
    MarketState,
    Order,
    OrderType,
    Side,
    TimeInForce,
)
from simulator.engine import accounts as margin
from simulator.scenario import SimClock

ZERO = Decimal(0)
HOUR_MS = 3_600_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso_millis(ms: int) -> str:
    return (_EPOCH + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


class BodiesMixin:
    """Venue bodies built from the engine (module docstring)."""

    engine: Engine
    clock: SimClock
    data: BackpackData
    owners: dict[int, str]
    leverage: dict[int, Decimal]

    # ------------------------------------------------------------------------------------------------ private

    def order_body(self, order: Order) -> dict[str, Any]:
        """The order object of `order` in its current state."""
        filled_quote = order.filled_quote
        return {
            "clientId": None if order.client_id is None else str(order.client_id),
            "createdAt": str(order.created_ms),
            "executedQuantity": num(order.filled),
            "executedQuoteQuantity": num(filled_quote),
            "id": str(order.order_id),
            "orderType": "Market" if order.type is OrderType.MARKET else "Limit",
            "postOnly": order.tif is TimeInForce.POST_ONLY,
            "price": num(order.price),
            "quantity": num(order.size),
            "reduceOnly": True if order.reduce_only else None,
            "relatedOrderId": None,
            "selfTradePrevention": "RejectTaker",
            "side": SIDE_WORDS[order.side],
            "status": status_word(
                order.status, ioc=order.tif is TimeInForce.IOC or order.type is OrderType.MARKET
            ),
            "stopLossLimitPrice": None,
            "stopLossTriggerBy": None,
            "stopLossTriggerPrice": None,
            "strategyId": None,
            "symbol": order.market,
            "takeProfitLimitPrice": None,
            "takeProfitTriggerBy": None,
            "takeProfitTriggerPrice": None,
            "timeInForce": "IOC" if order.tif is TimeInForce.IOC else "GTC",
            "triggerBy": None,
            "triggerPrice": None,
            "triggerQuantity": None,
            "triggeredAt": None,
        }

    def _client_id_of(self, account: Account, order_id: int) -> str | None:
        order = account.orders.get(order_id)
        return None if order is None or order.client_id is None else str(order.client_id)

    def fill_body(self, account: Account, fill: Fill) -> dict[str, Any]:
        return {
            "clientId": self._client_id_of(account, fill.order_id),
            "fee": num(fill.fee),
            "feeSymbol": "USDC",
            "isMaker": fill.liquidity.value == "maker",
            "orderId": str(fill.order_id),
            "price": num(fill.price),
            "quantity": num(fill.size),
            "side": SIDE_WORDS[fill.side],
            "symbol": fill.market,
            "systemOrderType": None if fill.kind.value == "trade" else "Liquidation",
            "timestamp": iso_millis(fill.ts_ms),
            "tradeId": str(fill.trade_id),
        }

    def funding_body(self, payment: FundingPayment, account_id: int) -> dict[str, Any]:
        return {
            "fundingRate": num(payment.rate_hourly),
            "intervalEndTimestamp": ms_iso(payment.ts_ms),
            "quantity": num(payment.amount),
            "subaccountId": "0",
            "symbol": payment.market,
            "userId": str(account_id),
        }

    def liquidation_price(self, account: Account, state: MarketState, size: Decimal) -> Decimal:
        """The mark of this market at which equity would meet the maintenance requirement (others fixed)."""
        markets = self.engine.markets
        equity = margin.equity(account, markets)
        mmr = margin.maintenance_margin(account, markets)
        denominator = size - abs(size) * state.spec.maintenance_margin_fraction
        if denominator == 0:
            return ZERO
        price = state.mark_price + (mmr - equity) / denominator
        return price if price > 0 else ZERO

    def position_rows(self, account: Account) -> list[dict[str, Any]]:
        self.engine.sync()
        out = []
        for name, pos in sorted(account.positions.items()):
            if not pos.size:
                continue
            state = self.engine.markets[name]
            imf = margin.initial_margin_fraction(account, state)
            notional = pos.size * state.mark_price
            out.append(
                {
                    "breakEvenPrice": num(pos.entry_price),
                    "cumulativeFundingPayment": num(pos.funding),
                    "cumulativeInterest": "0",
                    "entryPrice": num(pos.entry_price),
                    "estLiquidationPrice": num(self.liquidation_price(account, state, pos.size)),
                    "imf": num(imf),
                    "markPrice": num(state.mark_price),
                    "mmf": num(state.spec.maintenance_margin_fraction),
                    "netCost": num(pos.size * pos.entry_price),
                    "netExposureNotional": num(notional),
                    "netExposureQuantity": num(abs(pos.size)),
                    "netQuantity": num(pos.size),
                    "pnlRealized": num(pos.realized_pnl),
                    "pnlUnrealized": num(pos.unrealized_pnl(state.mark_price)),
                    "positionId": f"{account.account_id}-{name}",
                    "subaccountId": None,
                    "symbol": name,
                    "userId": str(account.account_id),
                }
            )
        return out

    def collateral_body(self, account: Account) -> dict[str, Any]:
        account_id = account.account_id
        equity = self.engine.equity(account_id)
        imr = self.engine.initial_margin(account_id)
        unrealized = sum(
            (
                p.unrealized_pnl(self.engine.markets[m].mark_price)
                for m, p in account.positions.items()
                if p.size
            ),
            ZERO,
        )
        notional = sum(
            (abs(p.size) * self.engine.markets[m].mark_price for m, p in account.positions.items() if p.size),
            ZERO,
        )
        return {
            "assetsValue": num(account.collateral),
            "borrowLiability": "0",
            "collateral": [
                {
                    "symbol": "USDC",
                    "assetMarkPrice": "1",
                    "totalQuantity": num(account.collateral),
                    "balanceNotional": num(account.collateral),
                    "collateralWeight": "1",
                    "collateralValue": num(account.collateral),
                    "openOrderQuantity": "0",
                    "lendQuantity": "0",
                    "availableQuantity": num(max(equity - imr, ZERO)),
                }
            ],
            "imf": num(imr / notional) if notional else "0",
            "unsettledEquity": num(unrealized),
            "liabilitiesValue": "0",
            "marginFraction": num(equity / notional) if notional else None,
            "mmf": num(self.engine.maintenance_margin(account_id) / notional) if notional else "0",
            "netEquity": num(equity),
            "netEquityAvailable": num(max(equity - imr, ZERO)),
            "netEquityLocked": num(min(imr, equity)),
            "netExposureFutures": num(notional),
            "pnlUnrealized": num(unrealized),
        }

    def capital_body(self, account: Account) -> dict[str, Any]:
        available = max(
            self.engine.equity(account.account_id) - self.engine.initial_margin(account.account_id), ZERO
        )
        return {"USDC": {"available": num(min(available, account.collateral)), "locked": "0", "staked": "0"}}

    def account_settings(self, account: Account) -> dict[str, Any]:
        return {
            "autoBorrowSettlements": True,
            "autoLend": False,
            "autoRealizePnl": True,
            "autoRepayBorrows": True,
            "borrowLimit": "0",
            "futuresMakerFee": "2",
            "futuresTakerFee": "5",
            "leverageLimit": num(self.leverage.get(account.account_id, Decimal(10))),
            "limitOrders": len(account.open_orders),
            "liquidating": False,
            "positionLimit": "1000000",
            "spotMakerFee": "8",
            "spotTakerFee": "10",
            "triggerOrders": 0,
        }

    def fill_history(self, account: Account, params: dict[str, Any]) -> list[dict[str, Any]]:
        symbol = params.get("symbol")
        start, end = _int(params, "from"), _int(params, "to")
        rows = [
            f
            for f in reversed(account.fills)
            if (symbol is None or f.market == symbol)
            and (start is None or f.ts_ms >= start)
            and (end is None or f.ts_ms <= end)
        ]
        return [self.fill_body(account, f) for f in page(rows, params)]

    def funding_history(self, account: Account, params: dict[str, Any]) -> list[dict[str, Any]]:
        symbol = params.get("symbol")
        rows = [p for p in reversed(account.funding_payments) if symbol is None or p.market == symbol]
        return [self.funding_body(p, account.account_id) for p in page(rows, params)]

    # ------------------------------------------------------------------------------------------------ public

    def mark_prices(self, symbol: str | None) -> list[dict[str, Any]]:
        """`GET /api/v1/markPrices[?symbol]` (module docstring); unknown symbol -> 400 INVALID_CLIENT_REQUEST."""
        self.engine.sync()
        now = self.clock.now_ms()
        nxt = (now // HOUR_MS + 1) * HOUR_MS
        out = []
        for row in self.data.mark_prices or []:
            name = row.get("symbol")
            if symbol is not None and name != symbol:
                continue
            state = self.engine.markets.get(str(name))
            if state is None:
                out.append(dict(row))
                continue
            out.append(
                {
                    "fundingRate": num(state.rate_hourly * state.spec.funding_period_hours),
                    "indexPrice": num(state.mark_price),
                    "markPrice": num(state.mark_price),
                    "nextFundingTimestamp": nxt,
                    "symbol": name,
                }
            )
        if symbol is not None and not out:
            raise invalid("Symbol not found")
        return out

    def funding_rates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """`GET /api/v1/fundingRates?symbol&limit&offset` (module docstring)."""
        symbol = params.get("symbol")
        if not symbol:
            raise invalid("symbol is required")
        if symbol not in self.engine.markets and symbol not in self.data.funding_rates:
            raise invalid("Invalid market symbol")
        now = self.clock.now_ms()
        rows = [
            r
            for r in self.data.funding_rates.get(symbol, [])
            if _iso_ms_safe(r["intervalEndTimestamp"]) <= now
        ]
        state = self.engine.markets.get(symbol)
        if state is not None:
            self.engine.sync()
            end = (now // HOUR_MS + 1) * HOUR_MS
            rate = state.rate_hourly * state.spec.funding_period_hours
            rows = [{"fundingRate": num(rate), "intervalEndTimestamp": ms_iso(end), "symbol": symbol}, *rows]
        return page(rows, params)

    def depth(self, symbol: str | None) -> dict[str, Any]:
        """`GET /api/v1/depth?symbol`: the engine's book (module docstring)."""
        if not symbol or symbol not in self.engine.markets:
            raise invalid("Invalid market symbol")
        self.engine.sync()
        book = self.engine.markets[symbol].book
        bids = sorted(book.levels(Side.BUY))
        asks = sorted(book.levels(Side.SELL))
        return {
            "asks": [[num(p), num(s)] for p, s in asks],
            "bids": [[num(p), num(s)] for p, s in bids],
            "lastUpdateId": str(book.seq),
            "timestamp": self.clock.now_us(),
        }


def _iso_ms_safe(text: Any) -> float:
    try:
        return iso_ms(str(text))
    except ValueError:
        return math.inf


def _int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError:
        raise invalid(f"{name} must be an integer") from None


def page(rows: list[Any], params: dict[str, Any]) -> list[Any]:
    try:
        limit = int(params.get("limit", 100))
        offset = int(params.get("offset", 0))
    except ValueError:
        raise invalid("limit and offset must be integers") from None
    if not 1 <= limit <= 1000 or offset < 0:
        raise invalid("limit must be 1..1000 and offset >= 0")
    return rows[offset : offset + limit]
