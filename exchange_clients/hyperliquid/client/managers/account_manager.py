"""Balance, fills, funding payments and leverage of the Hyperliquid client.

* balance: `clearinghouseState` of the dex (`converters.parse_balance`: equity = accountValue, available =
  withdrawable, USDC; a HIP-3 dex holds its own collateral);
* fills: `userFillsByTime` (`startTime` ms inclusive, at most 2000 per answer, only the 10000 most recent
  available; docs info-endpoint.md), paged by the last fill's time, kept for the client's dex;
* funding payments: `userFunding` (`startTime`; 500 per answer), paged the same way, kept for the dex;
  `amount` + received / - paid (the venue's `delta.usdc` sign);
* leverage: `updateLeverage` (`{asset, isCross, leverage}` integer leverage; cross unless the market is isolated
  only; docs exchange-endpoint.md "Update leverage"), answered `{"status":"ok","response":{"type":"default"}}`
  (venue-data/hyperliquid/rest_exchange_updateLeverage_docexample.json).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from exchange_clients.base.trading import BalanceInfo, Fill, FundingPaymentInfo
from exchange_clients.hyperliquid.client.managers.market_data import MarketDataManager
from exchange_clients.hyperliquid.client.managers.order_manager import OrderManager
from exchange_clients.hyperliquid.client.managers.position_manager import PositionManager
from exchange_clients.hyperliquid.client.utils.converters import (
    parse_balance,
    parse_fill,
    parse_funding_payment,
    to_ms,
)
from exchange_clients.hyperliquid.client.utils.helpers import belongs_to_dex
from exchange_clients.hyperliquid.client.utils.signing import update_leverage_action
from exchange_clients.hyperliquid.common import HyperliquidDataError, HyperliquidRejectedError
from exchange_clients.hyperliquid.http import HyperliquidHttp

log = logging.getLogger("perparb.hyperliquid.client")
FILLS_PAGE = 2000
FUNDING_PAGE = 500
MAX_PAGES = 50


class AccountManager:
    """Balance, fills, funding payments and leverage of one account on one perp dex.

    Args:
        http: the venue's HTTP stack; market_data; positions; orders (signing and sending actions); account_address.
    """

    def __init__(
        self,
        http: HyperliquidHttp,
        market_data: MarketDataManager,
        positions: PositionManager,
        orders: OrderManager,
        account_address: str,
    ) -> None:
        self.http = http
        self.venue = http.venue
        self.market_data = market_data
        self.positions = positions
        self.orders = orders
        self.user = account_address

    async def balance(self) -> BalanceInfo:
        """USDC equity and available margin of the account on the dex. Raises HyperliquidError subclasses."""
        state = await self.positions.clearinghouse_state()
        try:
            return parse_balance(state, venue=self.venue)
        except ValueError as exc:
            raise HyperliquidDataError(f"clearinghouseState: {exc}", venue=self.venue) from None

    async def _paged(self, request_type: str, since: datetime, page: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        start = to_ms(since)
        for _ in range(MAX_PAGES):
            body = await self.http.info({"type": request_type, "user": self.user, "startTime": start})
            if not isinstance(body, list):
                raise HyperliquidDataError(f"{request_type}: body is {type(body).__name__}", venue=self.venue)
            rows += [r for r in body if isinstance(r, dict)]
            times = [r["time"] for r in body if isinstance(r, dict) and isinstance(r.get("time"), int)]
            if len(body) < page or not times or max(times) < start:
                break
            start = max(times) + 1
        return rows

    def _symbol(self, coin: str) -> str:
        return self.market_data.markets.symbol_of(coin)

    async def fills(self, since: datetime, symbol: str | None = None) -> list[Fill]:
        """Fills of the dex since `since` (of `symbol` when given), oldest first, without duplicates (by `tid`)."""
        coin = (await self.market_data.market(symbol)).coin if symbol else None
        out: dict[str, Fill] = {}
        for row in await self._paged("userFillsByTime", since, FILLS_PAGE):
            row_coin = str(row.get("coin", ""))
            if not belongs_to_dex(row_coin, self.market_data.dex) or (coin is not None and row_coin != coin):
                continue
            try:
                fill = parse_fill(
                    row,
                    venue=self.venue,
                    symbol_of=self._symbol,
                    client_id_of=self.orders.ids.client_order_id,
                )
            except ValueError as exc:
                log.warning("%s: fill skipped: %s", self.venue, exc)
                continue
            out.setdefault(fill.fill_id, fill)
        return sorted(out.values(), key=lambda f: f.ts)

    async def funding_payments(self, since: datetime, symbol: str | None = None) -> list[FundingPaymentInfo]:
        """Funding payments of the dex since `since` (of `symbol` when given), oldest first."""
        coin = (await self.market_data.market(symbol)).coin if symbol else None
        out = []
        for row in await self._paged("userFunding", since, FUNDING_PAGE):
            delta = row.get("delta")
            row_coin = str(delta.get("coin", "")) if isinstance(delta, dict) else ""
            if not belongs_to_dex(row_coin, self.market_data.dex) or (coin is not None and row_coin != coin):
                continue
            try:
                out.append(parse_funding_payment(row, venue=self.venue, symbol_of=self._symbol))
            except ValueError as exc:
                log.warning("%s: funding payment skipped: %s", self.venue, exc)
        return sorted(out, key=lambda p: p.ts)

    async def leverage_info(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(leverage of the open position, or None when flat; the market's maximum)."""
        m = await self.market_data.market(symbol)
        position = await self.positions.snapshot(symbol)
        return (position.leverage if position else None), m.max_leverage

    async def set_leverage(self, symbol: str, leverage: Decimal, *, cross: bool | None = None) -> None:
        """`updateLeverage` of `symbol` to `leverage` (an integer on the venue: rounded down), cross margin by
        default (`cross=None`), isolated on a market that takes isolated margin only.

        Raises:
            HyperliquidRejectedError: below 1 or above the market's maximum, or the venue's refusal."""
        m = await self.market_data.market(symbol)
        whole = int(leverage.to_integral_value(rounding=ROUND_FLOOR))
        if whole < 1 or (m.max_leverage is not None and whole > m.max_leverage):
            raise HyperliquidRejectedError(
                f"leverage {leverage} outside 1..{m.max_leverage} (integers only)", m.coin, venue=self.venue
            )
        is_cross = (not m.isolated_only) if cross is None else cross
        payload = await self.orders.signed(update_leverage_action(m.asset, whole, is_cross=is_cross))
        response = await self.http.exchange(payload, what=f"updateLeverage {m.coin} {whole}x", market=m.coin)
        if not isinstance(response, dict) or response.get("type") != "default":
            raise HyperliquidDataError(
                f"updateLeverage: unexpected answer {str(response)[:120]!r}", m.coin, venue=self.venue
            )
