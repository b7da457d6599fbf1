"""Balance, fills, funding payments and leverage of the Aster client.

* balance: `GET balance` (V3 "Futures Account Balance v3", V1 `/fapi/v2/balance`, weight 5; recorded
  rest_balance_v2_2026-04.json): margin assets summed (`converters.parse_balance`);
* fills: `GET userTrades` (weight 5; `symbol` is required, `startTime` ms, at most 1000 rows an answer), per
  symbol the client knows of (the one asked, else its traded symbols, open positions and open orders), paged by
  the last trade's time, deduplicated by trade id;
* funding payments: `GET income?incomeType=FUNDING_FEE` (weight 30; at most 1000 rows), paged by time; `income`
  USDT signed from the user's view (+ received);
* leverage: `POST leverage` (`symbol`, integer `leverage` 1..125) answered `{"leverage", "maxNotionalValue",
  "symbol"}` (recorded rest_leverage_post_BTCUSDT_21x.json); cross margin is the account default.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from exchange_clients.aster.client.managers.market_data import MarketDataManager
from exchange_clients.aster.client.managers.order_manager import OrderManager
from exchange_clients.aster.client.managers.position_manager import PositionManager
from exchange_clients.aster.client.utils.converters import parse_balance, parse_income, parse_user_trade
from exchange_clients.aster.client.utils.helpers import to_ms
from exchange_clients.aster.common import AsterDataError, AsterRejectedError
from exchange_clients.aster.http import AsterHttp
from exchange_clients.base.trading import BalanceInfo, Fill, FundingPaymentInfo

log = logging.getLogger("perparb.aster.client")
PAGE = 1000
MAX_PAGES = 50


class AccountManager:
    """Balance, fills, funding payments and leverage of one account."""

    def __init__(
        self,
        http: AsterHttp,
        market_data: MarketDataManager,
        positions: PositionManager,
        orders: OrderManager,
    ) -> None:
        self.http = http
        self.venue = http.config.venue
        self.market_data = market_data
        self.positions = positions
        self.orders = orders

    async def balance(self) -> BalanceInfo:
        """USDT equity and available margin. Raises AsterError subclasses."""
        body = await self.http.signed_read("balance")
        try:
            return parse_balance(body, venue=self.venue)
        except ValueError as exc:
            raise AsterDataError(f"balance: {exc}") from None

    async def _paged(
        self, endpoint: str, base: list[tuple[str, str]], since: datetime, key: str
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        start = to_ms(since)
        market = dict(base).get("symbol")
        for _ in range(MAX_PAGES):
            body = await self.http.signed_read(
                endpoint, [*base, ("startTime", str(start)), ("limit", str(PAGE))], market=market
            )
            if not isinstance(body, list):
                raise AsterDataError(f"{endpoint}: body is {type(body).__name__}", market)
            page = [r for r in body if isinstance(r, dict)]
            rows += page
            times = [
                int(r[key]) for r in page if str(r.get(key, "")).isdigit() or isinstance(r.get(key), int)
            ]
            if len(body) < PAGE or not times or max(times) < start:
                break
            start = max(times) + 1
        return rows

    async def _symbols(self, symbol: str | None) -> list[str]:
        if symbol is not None:
            return [(await self.market_data.market(symbol)).venue_symbol]
        known = set(self.orders.traded)
        for p in await self.positions.positions():
            m = self.market_data.markets.get(p.symbol)
            if m is not None:
                known.add(m.venue_symbol)
        return sorted(known)

    async def fills(self, since: datetime, symbol: str | None = None) -> list[Fill]:
        """Fills since `since` (of `symbol` when given, else of every symbol the client traded or holds), oldest
        first, without duplicates (by trade id)."""
        out: dict[str, Fill] = {}
        for venue_symbol in await self._symbols(symbol):
            for row in await self._paged("userTrades", [("symbol", venue_symbol)], since, "time"):
                try:
                    fill = parse_user_trade(
                        row,
                        venue=self.venue,
                        symbol_of=self.market_data.markets.symbol_of,
                        client_id_of=self.orders.client_ids.get,
                    )
                except ValueError as exc:
                    log.warning("%s: fill skipped: %s", self.venue, exc)
                    continue
                out.setdefault(fill.fill_id, fill)
        return sorted(out.values(), key=lambda f: f.ts)

    async def funding_payments(self, since: datetime, symbol: str | None = None) -> list[FundingPaymentInfo]:
        """Funding payments since `since` (of `symbol` when given), oldest first."""
        base = [("incomeType", "FUNDING_FEE")]
        if symbol is not None:
            base.append(("symbol", (await self.market_data.market(symbol)).venue_symbol))
        out = []
        for row in await self._paged("income", base, since, "time"):
            try:
                out.append(parse_income(row, venue=self.venue, symbol_of=self.market_data.markets.symbol_of))
            except ValueError as exc:
                log.warning("%s: funding payment skipped: %s", self.venue, exc)
        return sorted(out, key=lambda p: p.ts)

    async def leverage_info(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(the account's leverage in `symbol` from `positionRisk`, the market's maximum)."""
        m = await self.market_data.market(symbol)
        rows = await self.positions.rows(m.venue_symbol)
        current = None
        for row in rows:
            value = row.get("leverage")
            if row.get("symbol") == m.venue_symbol and value not in (None, ""):
                current = Decimal(str(value))
                break
        return current, m.max_leverage

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """`POST leverage` of `symbol` to `leverage` (an integer on the venue: rounded down).

        Raises:
            AsterRejectedError: below 1 or above the market's maximum, or the venue's refusal (-4028)."""
        m = await self.market_data.market(symbol)
        whole = int(leverage.to_integral_value(rounding=ROUND_FLOOR))
        if whole < 1 or (m.max_leverage is not None and whole > m.max_leverage):
            raise AsterRejectedError(
                f"leverage {leverage} outside 1..{m.max_leverage} (integers only)", m.venue_symbol
            )
        body = await self.http.write(
            "POST",
            "leverage",
            [("symbol", m.venue_symbol), ("leverage", str(whole))],
            what=f"leverage {whole}x",
            market=m.venue_symbol,
        )
        if not isinstance(body, dict) or str(body.get("leverage")) != str(whole):
            raise AsterDataError(f"leverage: unexpected answer {str(body)[:120]!r}", m.venue_symbol)
