"""Account bodies of the simulated Aster: positions, balance, trades, income, leverage, commission rates.

Shapes: recorded venue-data/aster/rest_positionRisk_*.json, rest_balance_v2_2026-04.json,
rest_income_FUNDING_FEE_ETHUSDT.json, rest_leverage_post_BTCUSDT_21x.json, rest_commissionRate_BTCUSDT.json and the
V3 docs' `userTrades` example. Money is USDT (the engine's collateral unit); one-way mode (`positionSide` BOTH),
cross margin.

Liquidation price (cross, one position moving, the others at their marks): the price P where equity equals the
maintenance requirement, `E0 + s (P - m) = R + |s| P f` -> `P = (R - E0 + s m) / (s - |s| f)` (s signed size,
m mark, f maintenance fraction, E0 equity and R maintenance requirement of the account now without this
position's part); "0" when there is none (P <= 0).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulator.aster.errors import AsterApiError, bad_param
from simulator.aster.markets import MAKER_FEE, TAKER_FEE
from simulator.aster.trading import AsterTrading
from simulator.aster.wire import dec_text
from simulator.engine import Account, LeverageError, Side
from simulator.engine import accounts as margin

MAX_ROWS = 1000


def liquidation_price(trading: AsterTrading, account: Account, market: str) -> Decimal | None:
    """The cross-margin liquidation price of the account's position in `market` (module docstring)."""
    engine = trading.engine
    pos = account.positions.get(market)
    if pos is None or not pos.size:
        return None
    state = engine.markets[market]
    s, m, f = pos.size, state.mark_price, state.spec.maintenance_margin_fraction
    equity = margin.equity(account, engine.markets)
    mmr_others = margin.maintenance_margin(account, engine.markets) - abs(s) * m * f
    denominator = s - abs(s) * f
    if denominator == 0:
        return None
    price = (mmr_others - equity + s * m) / denominator
    return price if price > 0 else None


def position_rows(trading: AsterTrading, account: Account, params: dict[str, str]) -> list[dict[str, Any]]:
    """`GET positionRisk`: one row per market (of `symbol` when given), flat ones included as the venue does."""
    engine = trading.engine
    engine.sync()
    markets = [trading.market_symbol(params)] if params.get("symbol") else sorted(engine.markets)
    rows = []
    for name in markets:
        state = engine.markets[name]
        pos = account.positions.get(name)
        size = pos.size if pos is not None else Decimal(0)
        liq = liquidation_price(trading, account, name)
        rows.append(
            {
                "symbol": name,
                "positionAmt": dec_text(size),
                "entryPrice": dec_text(pos.entry_price) if pos is not None and size else "0.0",
                "markPrice": dec_text(state.mark_price),
                "unRealizedProfit": dec_text(pos.unrealized_pnl(state.mark_price))
                if pos is not None
                else "0",
                "liquidationPrice": dec_text(liq) if liq is not None else "0",
                "leverage": str(int(engine.leverage(account.account_id, name))),
                "maxNotionalValue": "5000000",
                "marginType": "cross",
                "isolatedMargin": "0.00000000",
                "isAutoAddMargin": "false",
                "positionSide": "BOTH",
                "notional": dec_text(size * state.mark_price),
                "isolatedWallet": "0",
                "updateTime": account.fills[-1].ts_ms if account.fills else 0,
            }
        )
    return rows


def balance_rows(trading: AsterTrading, account: Account) -> list[dict[str, Any]]:
    """`GET balance`: the USDT row (equity = balance + crossUnPnl; available = equity - initial margin)."""
    engine = trading.engine
    equity = engine.equity(account.account_id)
    available = engine.available_margin(account.account_id)
    upnl = equity - account.collateral
    return [
        {
            "accountAlias": "SimAster" + str(account.account_id),
            "asset": "USDT",
            "balance": dec_text(account.collateral),
            "crossWalletBalance": dec_text(account.collateral),
            "crossUnPnl": dec_text(upnl),
            "availableBalance": dec_text(available),
            "maxWithdrawAmount": dec_text(max(available, Decimal(0))),
            "marginAvailable": True,
            "updateTime": engine.now_ms(),
        }
    ]


def _window(params: dict[str, str]) -> tuple[int, int, int]:
    try:
        start = int(params.get("startTime", "0"))
        end = int(params.get("endTime", str(2**62)))
        limit = int(params.get("limit", "500"))
    except ValueError:
        raise AsterApiError(
            400, -1130, "Data sent for parameter 'startTime/endTime/limit' is not valid."
        ) from None
    if start > end:
        raise AsterApiError(400, -1023, "Start time is greater than end time.")
    return start, end, max(1, min(limit, MAX_ROWS))


def user_trades(trading: AsterTrading, account: Account, params: dict[str, str]) -> list[dict[str, Any]]:
    """`GET userTrades` (`symbol` required): fills with time in [startTime, endTime], oldest first, `limit` rows."""
    if not params.get("symbol"):
        raise bad_param("symbol")
    symbol = trading.market_symbol(params)
    start, end, limit = _window(params)
    rows = []
    for f in account.fills:
        if f.market != symbol or not start <= f.ts_ms <= end:
            continue
        rows.append(
            {
                "buyer": f.side is Side.BUY,
                "commission": dec_text(f.fee),
                "commissionAsset": "USDT",
                "id": f.trade_id,
                "maker": f.liquidity.value == "maker",
                "orderId": f.order_id,
                "price": dec_text(f.price),
                "qty": dec_text(f.size),
                "quoteQty": dec_text(f.price * f.size),
                "realizedPnl": dec_text(f.realized_pnl),
                "side": "BUY" if f.side is Side.BUY else "SELL",
                "positionSide": "BOTH",
                "symbol": f.market,
                "time": f.ts_ms,
            }
        )
        if len(rows) >= limit:
            break
    return rows


def income(trading: AsterTrading, account: Account, params: dict[str, str]) -> list[dict[str, Any]]:
    """`GET income`: FUNDING_FEE rows (the only income type served) in [startTime, endTime], oldest first."""
    kind = params.get("incomeType")
    if kind not in (None, "", "FUNDING_FEE"):
        return []
    symbol = trading.market_symbol(params) if params.get("symbol") else None
    start, end, limit = _window(params)
    rows = []
    for p in account.funding_payments:
        if (symbol is not None and p.market != symbol) or not start <= p.ts_ms <= end:
            continue
        rows.append(
            {
                "symbol": p.market,
                "incomeType": "FUNDING_FEE",
                "income": dec_text(p.amount),
                "asset": "USDT",
                "info": "FUNDING_FEE",
                "time": p.ts_ms,
                "tranId": str(9_000_000_000 + p.payment_id),
                "tradeId": "",
            }
        )
        if len(rows) >= limit:
            break
    return rows


def set_leverage(trading: AsterTrading, account: Account, params: dict[str, str]) -> dict[str, Any]:
    """`POST leverage` (`symbol`, integer `leverage`). Raises AsterApiError -4028 outside 1..the market's max."""
    symbol = trading.market_symbol(params)
    try:
        value = int(params.get("leverage", ""))
    except ValueError:
        raise bad_param("leverage") from None
    try:
        trading.engine.set_leverage(account.account_id, symbol, Decimal(value))
    except LeverageError:
        raise AsterApiError(400, -4028, f"Leverage {value} is not valid") from None
    return {"leverage": value, "maxNotionalValue": "5000000", "symbol": symbol}


def commission_rate(trading: AsterTrading, params: dict[str, str]) -> dict[str, Any]:
    """`GET commissionRate`."""
    symbol = trading.market_symbol(params)
    return {
        "symbol": symbol,
        "makerCommissionRate": f"{MAKER_FEE:.6f}",
        "takerCommissionRate": f"{TAKER_FEE:.6f}",
    }
