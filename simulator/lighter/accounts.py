r"""Lighter account endpoints' bodies in the simulator (`AccountBodiesMixin` of `LighterTrading`): accounts,
positions, orders, trades, funding payments, the engine's order book, and the engine's prices laid over the
market-data bodies.

REST (`authorization` header or `auth` query = `"{deadline}:{account}:{api_key}:{sig}"`, required where the venue
requires it, parsed but not verified; missing or naming another account -> 400 20001):

| path | answer |
|---|---|
| `GET /api/v1/account?by=index\|l1_address&value` | `DetailedAccounts` (every field the SDK model requires); unknown -> 400 21100 |
| `GET /api/v1/accountActiveOrders?account_index&market_id?` (auth) | `Orders`: resting orders, oldest first |
| `GET /api/v1/accountInactiveOrders?account_index&limit&market_id?&cursor?` (auth) | `Orders`: finished orders, newest first, paged |
| `GET /api/v1/trades?sort_by&limit&account_index?&market_id?&sort_dir?&cursor?` (auth with an account) | `Trades` of the account (or of the market) |
| `GET /api/v1/recentTrades?market_id&limit` | `Trades`: the market's last trades, newest first |
| `GET /api/v1/positionFunding?account_index&limit&market_ids?&side?&start_timestamp?&end_timestamp?&cursor?` | `PositionFundings`: hourly payments, newest first |
| `GET /api/v1/orderBookOrders?market_id&limit` | the engine's book (individual orders, priority order) |

Units: sizes with `size_decimals`, prices with `price_decimals`, USDC with 6 decimals (`collateral`,
`available_balance` = equity - initial margin, `total_asset_value` = equity = collateral + unrealised PnL; the
recorded `rest_account_with_eth_position.json` satisfies both identities), position `initial_margin_fraction` in
percent ("5.00"), `liquidation_price` the mark at which equity would meet the maintenance requirement with every
other price fixed (reproduces the recorded 2191.11). `positionFunding.change` is USDC (negative = paid), `rate` the
hourly fraction applied (PROTOCOL_NOTES §1.4: inferred from one real row), `position_size` unsigned with
`position_side`. Trade `taker_fee` / `maker_fee` are the fee rates x 1e6 (omitted when 0, as recorded).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulator.engine import Account, MarketState, Order, OrderType, Side
from simulator.engine import accounts as margin
from simulator.formats import decimal_or_none, fixed
from simulator.lighter.errors import ACCOUNT_NOT_FOUND, INVALID_PARAM, LighterRequestError
from simulator.lighter.markets import LighterMarket
from simulator.lighter.scenario import lighter_data
from simulator.lighter.state import LighterState
from simulator.lighter.wire import ORDER_INDEX_BASE, TIF_WORDS, lighter_status, paginate, plain, usdc

ZERO = Decimal(0)


class AccountBodiesMixin(LighterState):
    """The venue's bodies of accounts, positions, orders, trades and funding (module docstring)."""

    def order_json(self, order: Order) -> dict[str, Any]:
        """One `Order` (REST and WS; every field of lighter-sdk's `Order` model)."""
        market = self.by_symbol[order.market]
        meta = self.meta.get(order.order_id)
        index = meta.order_index if meta is not None else ORDER_INDEX_BASE + order.order_id
        client = order.client_id if isinstance(order.client_id, int) else 0
        price = order.price if order.price is not None else ZERO
        remaining = order.remaining if order.resting else ZERO
        initial = meta.initial_size if meta is not None and meta.initial_size is not None else order.size
        created_s, updated_s = order.created_ms // 1000, order.updated_ms // 1000
        return {
            "order_index": index,
            "client_order_index": client,
            "order_id": str(index),
            "client_order_id": str(client),
            "market_index": market.market_id,
            "owner_account_index": meta.owner if meta is not None else order.account_id,
            "initial_base_amount": market.size_text(initial),
            "price": market.price_text(price),
            "nonce": meta.nonce if meta is not None else 0,
            "remaining_base_amount": market.size_text(remaining),
            "is_ask": order.side is Side.SELL,
            "base_size": market.scaled_size(remaining),
            "base_price": market.scaled_price(price),
            "filled_base_amount": market.size_text(order.filled),
            "filled_quote_amount": usdc(order.filled_quote),
            "side": "",
            "type": "market" if order.type is OrderType.MARKET else "limit",
            "time_in_force": TIF_WORDS[order.tif],
            "reduce_only": order.reduce_only,
            "trigger_price": market.price_text(ZERO),
            "order_expiry": meta.order_expiry if meta is not None else 0,
            "status": lighter_status(order),
            "trigger_status": "na",
            "trigger_time": 0,
            "parent_order_index": 0,
            "parent_order_id": "0",
            "to_trigger_order_id_0": "0",
            "to_trigger_order_id_1": "0",
            "to_cancel_order_id_0": "0",
            "block_height": meta.block_height if meta is not None else 0,
            "timestamp": created_s,
            "created_at": created_s,
            "updated_at": updated_s,
            "transaction_time": order.updated_ms * 1000,
            "integrator_fee_collector_index": "0",
            "integrator_maker_fee": "0",
            "integrator_taker_fee": "0",
            "order_flags": 0,
            "order_version": 0,
            "market_symbol": market.symbol,
            "market_kind": "perps",
        }

    def _liquidation_price(self, account: Account, state: MarketState, size: Decimal) -> Decimal:
        """Mark of this market at which equity would equal the maintenance requirement (others fixed)."""
        markets = self.engine.markets
        equity = margin.equity(account, markets)
        mmr = margin.maintenance_margin(account, markets)
        mmf = state.spec.maintenance_margin_fraction
        denominator = size - abs(size) * mmf
        if denominator == 0:
            return ZERO
        price = state.mark_price + (mmr - equity) / denominator
        return price if price > 0 else ZERO

    def position_json(self, account: Account, market: LighterMarket) -> dict[str, Any]:
        """One `AccountPosition` (every field of lighter-sdk's model)."""
        state = self.engine.market(market.symbol)
        pos = account.positions.get(market.symbol)
        size = pos.size if pos is not None else ZERO
        entry = pos.entry_price if pos is not None else ZERO
        open_orders = sum(1 for o in account.open_orders.values() if o.market == market.symbol)
        liq = self._liquidation_price(account, state, size) if size else ZERO
        return {
            "market_id": market.market_id,
            "symbol": market.symbol,
            "initial_margin_fraction": fixed(margin.initial_margin_fraction(account, state) * 100, 2),
            "open_order_count": open_orders,
            "pending_order_count": 0,
            "position_tied_order_count": 0,
            "sign": 1 if size > 0 else (-1 if size < 0 else 0),
            "position": market.size_text(abs(size)),
            "avg_entry_price": market.price_text(entry),
            "position_value": usdc(abs(size) * state.mark_price),
            "unrealized_pnl": usdc(size * (state.mark_price - entry) if size else ZERO),
            "realized_pnl": usdc(pos.realized_pnl if pos is not None else ZERO),
            "liquidation_price": plain(liq.quantize(Decimal("1e-8"))) if liq else "0",
            "total_funding_paid_out": usdc(-pos.funding if pos is not None else ZERO),
            "margin_mode": 0,
            "allocated_margin": usdc(ZERO),
            "total_discount": usdc(ZERO),
            "margin_set_flag": 0,
        }

    def _account_markets(self, account: Account) -> list[LighterMarket]:
        # markets with leverage settings are listed too (lighter_rest_reference: `active_only` "Hide markets for
        # which leverage and margin settings are present ... but with no active position")
        symbols = (
            set(account.positions)
            | {o.market for o in account.open_orders.values()}
            | set(account.initial_margin_fractions)
        )
        return sorted((self.by_symbol[s] for s in symbols if s in self.by_symbol), key=lambda m: m.market_id)

    def user_stats(self, account: Account) -> dict[str, Any]:
        """The `stats` of a `user_stats/{a}` frame (`simulator.lighter.stream_hub`): USDC text, 6 decimals."""
        markets = self.engine.markets
        equity = margin.equity(account, markets)
        imr = margin.initial_margin(account, markets)
        available = equity - imr
        usage = imr / equity * 100 if equity > 0 else Decimal(0)
        notional = sum(
            (abs(pos.size) * markets[name].mark_price for name, pos in account.positions.items() if pos.size),
            Decimal(0),
        )
        leverage = notional / equity if equity > 0 else Decimal(0)
        return {
            "collateral": usdc(account.collateral),
            "portfolio_value": usdc(equity),
            "leverage": f"{leverage:.2f}",
            "available_balance": usdc(available),
            "margin_usage": f"{usage:.2f}",
            "buying_power": usdc(max(available, Decimal(0)) * 20),
        }

    def detailed_account(self, account: Account) -> dict[str, Any]:
        """One `DetailedAccount` (every field of lighter-sdk's model; shape of `rest_account_*.json`)."""
        markets = self.engine.markets
        equity = margin.equity(account, markets)
        imr = margin.initial_margin(account, markets)
        mmr = margin.maintenance_margin(account, markets)
        created = self.created_ms.get(account.account_id, 0)
        return {
            "code": 0,
            "account_type": 0,
            "index": account.account_id,
            "l1_address": self.l1_address(account.account_id),
            "cancel_all_time": self.cancel_all_at.get(account.account_id, 0),
            "total_order_count": len(account.open_orders),
            "total_isolated_order_count": 0,
            "pending_order_count": 0,
            "available_balance": usdc(equity - imr),
            "status": 1,
            "collateral": usdc(account.collateral),
            "account_index": account.account_id,
            "name": "",
            "description": "",
            "can_invite": True,
            "referral_points_percentage": "",
            "positions": [self.position_json(account, m) for m in self._account_markets(account)],
            "assets": [],
            "total_asset_value": usdc(equity),
            "cross_asset_value": usdc(equity),
            "pool_info": {
                "status": 0,
                "operator_fee": "0",
                "min_operator_share_rate": "0",
                "total_shares": 0,
                "operator_shares": 0,
                "annual_percentage_yield": 0,
                "daily_returns": [],
                "share_prices": [],
                "sharpe_ratio": 0,
                "strategies": [],
            },
            "shares": [],
            "created_at": created // 1000,
            "transaction_time": self.engine.now_ms() * 1000,
            "pending_unlocks": [],
            "approved_integrators": [],
            "can_rfq": False,
            "cross_initial_margin_requirement": usdc(imr),
            "cross_maintenance_margin_requirement": usdc(mmr),
            "can_rfq_market_ids": [],
            "metadata": {"color": ""},
            "agent_enabled": False,
        }

    def accounts_body(self, by: str, value: str) -> dict[str, Any]:
        """`GET /api/v1/account` body (`DetailedAccounts`).

        Raises:
            LighterRequestError: 20001 for a bad `by`/`value`, 21100 when no account matches.
        """
        self.sync()
        if by == "index":
            try:
                index = int(value)
            except ValueError:
                raise LighterRequestError(INVALID_PARAM, detail=f"value={value!r}") from None
            accounts = [self.ensure_account(index)]
        elif by == "l1_address":
            wanted = value.lower()
            ids = sorted(
                a
                for a, acc in self.engine.accounts.items()
                if not acc.exempt and self.l1_address(a).lower() == wanted
            )
            if not ids:
                raise LighterRequestError(ACCOUNT_NOT_FOUND, detail=f"l1 address {value}")
            accounts = [self.ensure_account(a) for a in ids]
        else:
            raise LighterRequestError(INVALID_PARAM, detail=f"by={by!r}")
        return {
            "code": 200,
            "total": len(accounts),
            "accounts": [self.detailed_account(a) for a in accounts],
            "next_cursor": "",
        }

    def active_orders(self, account_index: int, market_id: int | None) -> dict[str, Any]:
        """`GET /api/v1/accountActiveOrders` body: resting orders, oldest first."""
        self.sync()
        account = self.ensure_account(account_index)
        symbol = self._market_filter(market_id)
        orders = [o for o in account.open_orders.values() if symbol is None or o.market == symbol]
        orders.sort(key=lambda o: o.order_id)
        return {"code": 200, "orders": [self.order_json(o) for o in orders]}

    def inactive_orders(
        self, account_index: int, limit: int, market_id: int | None, cursor: str | None
    ) -> dict[str, Any]:
        """`GET /api/v1/accountInactiveOrders` body: finished orders, newest first, `limit` per page."""
        self.sync()
        account = self.ensure_account(account_index)
        symbol = self._market_filter(market_id)
        orders = [
            o
            for o in account.orders.values()
            if not o.resting and (symbol is None or o.market == symbol) and o.market in self.by_symbol
        ]
        orders.sort(key=lambda o: (o.updated_ms, o.order_id), reverse=True)
        rows, nxt = paginate([self.order_json(o) for o in orders], limit, cursor)
        body: dict[str, Any] = {"code": 200, "orders": rows}
        if nxt is not None:
            body["next_cursor"] = nxt
        return body

    def _market_filter(self, market_id: int | None) -> str | None:
        if market_id is None or market_id == 255:
            return None
        market = self.markets.get(market_id)
        if market is None:
            raise LighterRequestError(INVALID_PARAM, detail=f"market_id={market_id}")
        return market.symbol

    def trades_body(
        self,
        *,
        account_index: int | None,
        market_id: int | None,
        limit: int,
        sort_dir: str,
        cursor: str | None,
    ) -> dict[str, Any]:
        """`GET /api/v1/trades` body: the account's trades (or the market's), sorted by trade id."""
        self.sync()
        if account_index is not None:
            self.ensure_account(account_index)
            rows = list(self.trades.get(account_index, []))
            if market_id is not None and market_id != 255:
                self._market_filter(market_id)
                rows = [r for r in rows if r["market_id"] == market_id]
        elif market_id is not None and market_id in self.market_trades:
            rows = list(self.market_trades[market_id])
        else:
            raise LighterRequestError(INVALID_PARAM, detail="account_index or a traded market_id is required")
        if sort_dir != "asc":
            rows.reverse()
        page, nxt = paginate(rows, limit, cursor)
        body: dict[str, Any] = {"code": 200, "trades": page}
        if nxt is not None:
            body["next_cursor"] = nxt
        return body

    def recent_trades(self, market_id: int, limit: int) -> dict[str, Any]:
        """`GET /api/v1/recentTrades` body: the market's last `limit` trades, newest first."""
        self.sync()
        if market_id not in self.market_trades:
            raise LighterRequestError(INVALID_PARAM, detail=f"market_id={market_id}")
        rows = list(self.market_trades[market_id])[-limit:]
        rows.reverse()
        return {"code": 200, "trades": rows}

    def position_funding(
        self,
        account_index: int,
        *,
        limit: int,
        market_ids: set[int] | None,
        side: str | None,
        start_s: int | None,
        end_s: int | None,
        cursor: str | None,
    ) -> dict[str, Any]:
        """`GET /api/v1/positionFunding` body: the account's funding payments, newest first."""
        self.sync()
        self.ensure_account(account_index)
        rows = [
            r
            for r in self.funding.get(account_index, [])
            if (market_ids is None or r["market_id"] in market_ids)
            and (side in (None, "", "all") or r["position_side"] == side)
            and (start_s is None or r["timestamp"] >= start_s)
            and (end_s is None or r["timestamp"] <= end_s)
        ]
        rows.reverse()
        page, nxt = paginate(rows, limit, cursor)
        return {"code": 200, "position_fundings": page, "next_cursor": nxt}

    def order_book_orders(self, market_id: int, limit: int) -> dict[str, Any] | None:
        """`GET /api/v1/orderBookOrders` body from the engine's book (None when the market is not traded)."""
        market = self.markets.get(market_id)
        if market is None:
            return None
        self.sync()
        book = self.engine.market(market.symbol).book

        def rows(side: Side) -> list[dict[str, Any]]:
            out = []
            for order in book.orders(side, limit):
                meta = self.meta.get(order.order_id)
                index = meta.order_index if meta is not None else ORDER_INDEX_BASE + order.order_id
                initial = (
                    meta.initial_size if meta is not None and meta.initial_size is not None else order.size
                )
                ttime = meta.transaction_time_us if meta is not None and meta.transaction_time_us else None
                assert order.price is not None
                out.append(
                    {
                        "order_index": index,
                        "order_id": str(index),
                        "owner_account_index": meta.owner if meta is not None else order.account_id,
                        "initial_base_amount": market.size_text(initial),
                        "remaining_base_amount": market.size_text(order.remaining),
                        "price": market.price_text(order.price),
                        "order_expiry": meta.order_expiry if meta is not None else 0,
                        "transaction_time": ttime if ttime is not None else order.created_ms * 1000,
                    }
                )
            return out

        asks, bids = rows(Side.SELL), rows(Side.BUY)
        return {"code": 200, "total_asks": len(asks), "asks": asks, "total_bids": len(bids), "bids": bids}

    def overlay_market_stats(self, stats: dict[str, Any] | None) -> dict[str, Any] | None:
        """Replace the prices of a market-data `market_stats` entry by the engine's (mark, index moved with the
        mark, best bid/ask and mid of the engine's book, last trade, open interest in USD at the engine's mark,
        and the engine's funding rate once the admin API changed it)."""
        if stats is None:
            return None
        market = self.markets.get(stats.get("market_id", -1))
        if market is None:
            return stats
        state = self.engine.market(market.symbol)
        places = market.price_decimals
        mark = state.mark_price
        out = dict(stats)
        out["mark_price"] = fixed(mark, places)
        out["index_price"] = fixed(market.index0 + (mark - market.mark0), places)
        ask, bid = state.book.best_ask(), state.book.best_bid()
        ask = ask if ask is not None else mark
        bid = bid if bid is not None else mark
        out["best_ask_price"] = fixed(ask, places)
        out["best_bid_price"] = fixed(bid, places)
        out["mid_price"] = fixed((ask + bid) / 2, places)
        if state.trades:
            out["last_trade_price"] = fixed(state.trades[-1].price, places)
        detail = lighter_data(self.scenario).detail(market.market_id) or {}
        oi = decimal_or_none(
            detail.get("open_interest"), "open_interest", context=f"orderBookDetails {market.symbol}"
        )
        if oi is not None and "open_interest" in out:
            out["open_interest"] = fixed(oi * mark, 6)
        if market.funding_overridden and "current_funding_rate" in out:
            out["current_funding_rate"] = fixed(state.rate_hourly * 100, 4)
        return out

    def overlay_funding_rates(self, body: dict[str, Any]) -> dict[str, Any]:
        """`GET /api/v1/funding-rates`: the file verbatim, except Lighter rows of markets whose rate the admin API
        changed (then the engine's rate x 8, fraction per 8 h)."""
        changed = {m.market_id: m for m in self.markets.values() if m.funding_overridden}
        if not changed:
            return body
        rows = []
        for row in body.get("funding_rates") or []:
            market_id = row.get("market_id") if isinstance(row, dict) else None
            market = changed.get(market_id) if isinstance(market_id, int) else None
            if market is not None and row.get("exchange") == "lighter":
                rate = self.engine.market(market.symbol).rate_hourly * 8
                row = {**row, "rate": float(rate)}
            rows.append(row)
        return {**body, "funding_rates": rows}
