"""Paradex account endpoints' bodies in the simulator (`AccountMixin` of `ParadexTrading`): positions, margin
configuration, account summary, balance, fills and funding payments.

REST (JWT from `POST /v1/auth` in `Authorization: Bearer`, checked with `ParadexAuth.account_for_token`; missing,
forged or expired -> 401 `UNAUTHORIZED_ERROR`, code from the OpenAPI `ErrorCode` enum, the venue's exact answer is
not recorded). An account is created with 0 USDC the first time it is seen; `POST /_sim/accounts` funds it.

| path | answer |
|---|---|
| `POST /v1/orders` | 201 `OrderResp` with `status: "NEW"` (the spec: the REST API validates and queues; risk checks and matching follow). The engine's outcome is then visible through `GET /v1/orders/{id}` and the `orders.*` channel: `OPEN` when resting, `CLOSED` with a `cancel_reason` otherwise |
| `DELETE /v1/orders/{id}`, `/v1/orders/by_client_id/{cid}[?market]` | 204, no body |
| `DELETE /v1/orders[?market]` | 200, empty body (the spec declares no schema) |
| `GET /v1/orders[?market]` | `{results: [OrderResp]}` resting orders, oldest first |
| `GET /v1/orders/{id}`, `/v1/orders/by_client_id/{cid}` | `OrderResp` in any state (the recorded `rest_order_closed_user_canceled.json` is a CLOSED order) |
| `GET /v1/orders-history` | paged `OrderResp`, newest first; filters `market`, `client_id`, `side`, `status`, `type`, `start_at`, `end_at` (ms, on `created_at`) |
| `GET /v1/positions` | `{results: [PositionResp]}` every market the account traded (`CLOSED` when flat) |
| `GET /v1/account` | `AccountSummary` (every field paradex-py's marshmallow schema requires) |
| `GET /v1/balance` | `{results: [{token: "USDC", size: collateral, last_updated_at}]}` |
| `GET /v1/fills` | paged `FillResult`, newest first; `market`, `start_at`, `end_at` |
| `GET /v1/funding/payments` | `market` REQUIRED; paged `FundingPayment` rows (realised funding, `fill_id` = the fill that realised it) |
| `GET /v1/account/margin?market=M` | `GetAccountMarginConfigsResp` `{account, configs: [{market, leverage, margin_type: "CROSS"}], margin_methodology: "cross_margin"}` |
| `POST /v1/account/margin/{M}` | body `AccountMarginRequest` `{leverage: int 1..1/imf_base, margin_type: "CROSS"}` -> `UpdateAccountMarginConfigResp` `{account, market, leverage, margin_type}`; the account's IMF in M becomes 1 / leverage (`Engine.set_leverage`) for its margin checks and `PositionResp.leverage`. `ISOLATED`, a non-integer or out-of-range leverage -> 400 `VALIDATION_ERROR` (code a guess: not recorded); unknown market -> 400 `MARKET_NOT_FOUND` |
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulator.engine import Account, Fill, FundingPayment, LeverageError, Position, Side, TradeKind
from simulator.paradex.errors import ParadexApiError
from simulator.paradex.state import ParadexState, PositionMeta
from simulator.paradex.wire import SETTLEMENT_ASSET, dec_text, paged


class AccountMixin(ParadexState):
    """Positions, margin, account, balance, fills and funding payments (module docstring)."""

    def _position_rows(self, account: Account) -> list[dict[str, Any]]:
        rows = []
        for market, pos in sorted(account.positions.items()):
            meta = self._positions.get((account.account_id, market))
            if meta is not None or pos.size:
                rows.append(self.position_json(account, pos, meta or PositionMeta()))
        return rows

    def positions(self, account: Account) -> dict[str, Any]:
        """`GET /v1/positions` body: every market the account traded."""
        self.engine.sync()
        return {"results": self._position_rows(account)}

    def position_json(self, account: Account, pos: Position, meta: PositionMeta) -> dict[str, Any]:
        """`PositionResp` (keys of `rest_positions_*.json` plus the SDK model's `realized_positional_*`)."""
        state = self.engine.markets[pos.market]
        unrealized_funding = pos.unrealized_funding(state)
        open_ = pos.size != 0
        row: dict[str, Any] = {
            "id": f"{self.address_of(account)}-{pos.market}",
            "account": self.address_of(account),
            "market": pos.market,
            "status": "OPEN" if open_ else "CLOSED",
            "side": ("LONG" if pos.size > 0 else "SHORT") if open_ else meta.side,
            "size": dec_text(pos.size),
            "average_entry_price": dec_text(pos.entry_price),
            "average_entry_price_usd": dec_text(pos.entry_price),
            "realized_pnl": dec_text(meta.pnl),
            "realized_positional_pnl": dec_text(meta.pnl + meta.funding),
            "realized_positional_funding_pnl": dec_text(meta.funding),
            "unrealized_pnl": dec_text(pos.unrealized_pnl(state.mark_price) + unrealized_funding),
            "unrealized_funding_pnl": dec_text(unrealized_funding),
            "cost": dec_text(pos.size * pos.entry_price),
            "cost_usd": dec_text(pos.size * pos.entry_price),
            "cached_funding_index": dec_text(pos.funding_index),
            "leverage": dec_text(self.engine.leverage(account.account_id, pos.market)),
            "liquidation_price": "",
            "created_at": meta.created_at,
            "last_updated_at": meta.last_updated_at,
            "last_fill_id": str(meta.last_fill_id) if meta.last_fill_id else "",
            "seq_no": self.next_seq(),
        }
        if not open_ and meta.closed_at is not None:
            row["closed_at"] = meta.closed_at
        return row

    def _margin_market(self, market: str | None) -> str:
        if not market:
            raise ParadexApiError(400, "VALIDATION_ERROR", "market is required")
        if market not in self.engine.markets:
            raise ParadexApiError(400, "MARKET_NOT_FOUND", f"market {market} not found")
        return market

    def account_margin(self, account: Account, market: str | None) -> dict[str, Any]:
        """`GET /v1/account/margin?market=M` body (`GetAccountMarginConfigsResp`, openapi `get-account-margin`):
        the account's cross leverage in M (the market maximum 1 / `imf_base` until set).

        Raises:
            ParadexApiError: 400 VALIDATION_ERROR (no market) / MARKET_NOT_FOUND.
        """
        symbol = self._margin_market(market)
        leverage = self.engine.leverage(account.account_id, symbol)
        return {
            "account": self.address_of(account),
            "configs": [{"market": symbol, "leverage": int(leverage), "margin_type": "CROSS"}],
            "margin_methodology": "cross_margin",
        }

    def set_account_margin(self, account: Account, market: str, body: Any) -> dict[str, Any]:
        """`POST /v1/account/margin/{market}` (openapi `upsert-account-margin`, body `AccountMarginRequest`
        `{leverage: int, margin_type: "CROSS" | "ISOLATED"}`): sets the account's cross leverage in the market
        through `Engine.set_leverage`. Returns `UpdateAccountMarginConfigResp`.

        Raises:
            ParadexApiError: 400 MARKET_NOT_FOUND; 400 VALIDATION_ERROR for a body that is not an object, a
                leverage that is not an integer in 1..max, or a margin type other than CROSS (isolated margin is
                not simulated).
        """
        symbol = self._margin_market(market)
        if not isinstance(body, dict):
            raise ParadexApiError(400, "VALIDATION_ERROR", "body must be a JSON object")
        leverage, margin_type = body.get("leverage"), body.get("margin_type")
        if isinstance(leverage, bool) or not isinstance(leverage, int):
            raise ParadexApiError(400, "VALIDATION_ERROR", f"leverage must be an integer, got {leverage!r}")
        if margin_type != "CROSS":
            raise ParadexApiError(
                400, "VALIDATION_ERROR", f"margin_type {margin_type!r}: only CROSS is simulated"
            )
        try:
            self.engine.set_leverage(account.account_id, symbol, Decimal(leverage))
        except LeverageError as exc:
            raise ParadexApiError(400, "VALIDATION_ERROR", str(exc)) from None
        self._touch_account(account.account_id)
        return {
            "account": self.address_of(account),
            "market": symbol,
            "leverage": leverage,
            "margin_type": "CROSS",
        }

    def account_summary(self, account: Account) -> dict[str, Any]:
        """`GET /v1/account` body (`AccountSummary`): equity = collateral + unrealised PnL and funding at mark."""
        equity = self.engine.equity(account.account_id)
        imr = self.engine.initial_margin(account.account_id)
        mmr = self.engine.maintenance_margin(account.account_id)
        return {
            "account": self.address_of(account),
            "account_value": dec_text(equity),
            "free_collateral": dec_text(equity - imr),
            "initial_margin_requirement": dec_text(imr),
            "maintenance_margin_requirement": dec_text(mmr),
            "margin_cushion": dec_text(equity - mmr),
            "settlement_asset": SETTLEMENT_ASSET,
            "status": "ACTIVE",
            "total_collateral": dec_text(account.collateral),
            "seq_no": self.next_seq(),
            "updated_at": self.clock.now_ms(),
        }

    def balance(self, account: Account) -> dict[str, Any]:
        """`GET /v1/balance` body: the USDC collateral (deposits + realised PnL + realised funding - fees)."""
        self.engine.sync()
        return {
            "results": [
                {
                    "token": SETTLEMENT_ASSET,
                    "size": dec_text(account.collateral),
                    "last_updated_at": self.clock.now_ms(),
                }
            ]
        }

    def fill_json(self, fill: Fill) -> dict[str, Any]:
        """`FillResult` of one engine fill."""
        return {
            "id": str(fill.fill_id),
            "account": hex(self.addresses.get(fill.account_id, 0)),
            "market": fill.market,
            "side": "BUY" if fill.side is Side.BUY else "SELL",
            "liquidity": fill.liquidity.name,
            "order_id": str(fill.order_id) if fill.order_id else "",
            "client_id": str(fill.client_id) if fill.client_id is not None else "",
            "price": dec_text(fill.price),
            "size": dec_text(fill.size),
            "remaining_size": dec_text(self._fill_remaining.get(fill.fill_id, Decimal(0))),
            "fee": dec_text(fill.fee),
            "fee_currency": SETTLEMENT_ASSET,
            "realized_pnl": dec_text(fill.realized_pnl),
            "realized_funding": dec_text(fill.realized_funding),
            "fill_type": "LIQUIDATION" if fill.kind is TradeKind.LIQUIDATION else "FILL",
            "flags": [],
            "created_at": fill.ts_ms,
        }

    def fills(self, account: Account, query: Any) -> dict[str, Any]:
        """`GET /v1/fills` body (paged, newest first; `market`, `start_at`, `end_at`)."""
        self.engine.sync()
        market = query.get("market")
        rows = [self.fill_json(f) for f in reversed(account.fills) if not market or f.market == market]
        return paged(rows, f"fills:{market or ''}", query)

    def payment_json(self, payment: FundingPayment) -> dict[str, Any]:
        """`FundingPayment` row: `payment` USDC (negative = paid), `index` the funding index realised at."""
        return {
            "id": str(payment.payment_id),
            "account": hex(self.addresses.get(payment.account_id, 0)),
            "market": payment.market,
            "payment": dec_text(payment.amount),
            "index": dec_text(payment.index) if payment.index is not None else "",
            "fill_id": str(payment.fill_id) if payment.fill_id is not None else "",
            "created_at": payment.ts_ms,
        }

    def funding_payments(self, account: Account, query: Any) -> dict[str, Any]:
        """`GET /v1/funding/payments` body. Raises ParadexApiError 400 VALIDATION_ERROR without `market`."""
        market = query.get("market")
        if not market:
            raise ParadexApiError(400, "VALIDATION_ERROR", "market is required")
        self.engine.sync()
        rows = [self.payment_json(p) for p in reversed(account.funding_payments) if p.market == market]
        return paged(rows, f"funding:{market}", query)
