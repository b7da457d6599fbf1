"""Balance, fills and funding payments of a Paradex account.

* Balance: `GET /account` (`AccountSummary`): available = `free_collateral`, equity = `account_value`,
  collateral = `total_collateral` (USDC).
* Fills: `GET /fills?start_at=<ms>[&market=]`, newest first, paged by `cursor` (`next`).
* Funding payments: `GET /funding/payments?market=M&start_at=<ms>` (`market` is required, PROTOCOL_NOTES §2.2),
  for `symbol` or else every market the account has a position row in (OPEN or CLOSED). Paradex realises
  funding when a position changes (a payment row per realising fill), not on a schedule (§2.4).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from exchange_clients.base.trading import BalanceInfo, Fill, FundingPaymentInfo
from exchange_clients.paradex.client.managers.market_data import MarketDataManager
from exchange_clients.paradex.client.managers.position_manager import PositionManager
from exchange_clients.paradex.client.session import ParadexSession
from exchange_clients.paradex.client.utils.converters import (
    balance_from_summary,
    fill_from_row,
    funding_payment_from_row,
    parse_rows,
)
from exchange_clients.paradex.funding_adapter.fetchers import epoch_ms, results_of

T = TypeVar("T")
PAGE_SIZE = 100
MAX_PAGES = 100


class AccountManager:
    """Account figures and history; leverage is read and set through the position manager (Paradex keeps the
    margin configuration per market, next to the positions)."""

    def __init__(
        self, session: ParadexSession, market_data: MarketDataManager, positions: PositionManager
    ) -> None:
        self.session = session
        self.market_data = market_data
        self.positions = positions

    async def balance(self) -> BalanceInfo:
        summary = await self.session.read("GET /account", lambda api: api.fetch_account_summary())
        return balance_from_summary(summary)

    async def _paged(
        self,
        what: str,
        fetch: Callable[[Any, dict[str, Any]], Any],
        params: dict[str, Any],
        convert: Callable[[Any], T],
        source: str,
    ) -> list[T]:
        out: list[T] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            query = dict(params, page_size=PAGE_SIZE, **({"cursor": cursor} if cursor else {}))

            def page(api: Any, query: dict[str, Any] = query) -> Any:
                return fetch(api, query)

            body = await self.session.read(what, page, params.get("market"))
            out.extend(parse_rows(results_of(body, what, params.get("market")), convert, source))
            cursor = body.get("next") if isinstance(body, dict) else None
            if not cursor:
                break
        return out

    async def fills(self, since: datetime, symbol: str | None) -> list[Fill]:
        """Fills at or after `since` (aware UTC), oldest first."""
        params: dict[str, Any] = {"start_at": epoch_ms(since)}
        if symbol is not None:
            params["market"] = (await self.market_data.market_info(symbol)).venue_symbol
        rows = await self._paged(
            "GET /fills", lambda api, q: api.fetch_fills(q), params, fill_from_row, "paradex:fills"
        )
        return sorted((f for f in rows if f.ts >= since), key=lambda f: f.ts)

    async def funding_payments(self, since: datetime, symbol: str | None) -> list[FundingPaymentInfo]:
        """Funding payments at or after `since`, oldest first (amount USDC, + received, - paid)."""
        if symbol is not None:
            markets = [(await self.market_data.market_info(symbol)).venue_symbol]
        else:
            markets = sorted({str(r["market"]) for r in await self.positions.rows() if r.get("market")})
        out: list[FundingPaymentInfo] = []
        for market in markets:
            out.extend(
                await self._paged(
                    "GET /funding/payments",
                    lambda api, q: api.fetch_funding_payments(q),
                    {"market": market, "start_at": epoch_ms(since)},
                    funding_payment_from_row,
                    "paradex:funding/payments",
                )
            )
        return sorted((p for p in out if p.ts >= since), key=lambda p: p.ts)

    async def leverage_info(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(current, market maximum) leverage (x): `PositionManager.leverage_info`."""
        return await self.positions.leverage_info(symbol)

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Cross leverage of `symbol`: `PositionManager.set_leverage` (raises ParadexRejectedError out of range)."""
        await self.positions.set_leverage(symbol, leverage)
