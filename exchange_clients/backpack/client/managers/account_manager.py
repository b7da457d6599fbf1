"""Account data of the Backpack client: balance and margin, fills, funding payments, leverage.

Requests signed by bpx-py (`BaseAccount`):
* balance: `GET /api/v1/capital/collateral` (collateralQuery): `netEquity`, `netEquityAvailable`, `assetsValue`;
* fills: `GET /wapi/v1/history/fills` (fillHistoryQueryAll; `from` ms, `symbol`, `limit` <= 1000, `offset`);
* funding payments: `GET /wapi/v1/history/funding` (fundingHistoryQueryAll; `symbol`, `limit`, `offset`; newest
  first: paged until a row older than `since`);
* leverage: Backpack's leverage is one limit per ACCOUNT (`GET /api/v1/account` accountQuery `leverageLimit`;
  `PATCH /api/v1/account` accountUpdate `{"leverageLimit": "<x>"}`), not per market: `set_leverage(symbol, x)`
  sets the account's limit after checking `x` against the market's maximum (1 / imfFunction.base).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from exchange_clients.backpack.client.managers.market_data import MarketDataManager
from exchange_clients.backpack.client.utils.converters import (
    parse_collateral,
    parse_fill,
    parse_funding_payment,
)
from exchange_clients.backpack.client.utils.helpers import decimal_wire, epoch_ms
from exchange_clients.backpack.client.utils.signing import BackpackSigner, ClientIds
from exchange_clients.backpack.common import VENUE, BackpackDataError, BackpackRejectedError
from exchange_clients.backpack.http import BackpackHttp
from exchange_clients.base.trading import BalanceInfo, Fill, FundingPaymentInfo
from perparb_core import units

log = logging.getLogger("perparb.backpack.client")
PAGE = 1000
MAX_PAGES = 20


class AccountManager:
    """Balance, fills, funding payments and leverage of one account (module docstring)."""

    def __init__(
        self, http: BackpackHttp, market_data: MarketDataManager, signer: BackpackSigner, ids: ClientIds
    ) -> None:
        self.http = http
        self.market_data = market_data
        self.signer = signer
        self.ids = ids

    async def balance(self) -> BalanceInfo:
        """USDC figures of the account. Raises BackpackError subclasses (BackpackDataError: unreadable body)."""
        body = await self.http.signed_read(
            self.signer.builder("GET", "get_collateral"), what="GET /api/v1/capital/collateral"
        )
        try:
            return parse_collateral(body)
        except ValueError as exc:
            raise BackpackDataError(f"GET /api/v1/capital/collateral: {exc}") from None

    async def _pages(self, name: str, what: str, **query: Any) -> Any:
        """Yield pages of a history endpoint (newest first), `PAGE` rows each, up to `MAX_PAGES`."""
        for page in range(MAX_PAGES):
            rows = await self.http.signed_read(
                self.signer.builder("GET", name, limit=PAGE, offset=page * PAGE, **query), what=what
            )
            if not isinstance(rows, list):
                raise BackpackDataError(f"{what}: body is {type(rows).__name__}, expected a list")
            yield rows
            if len(rows) < PAGE:
                return

    async def fills(self, since: datetime, symbol: str | None = None) -> list[Fill]:
        """The account's fills at or after `since`, oldest first (of `symbol` when given)."""
        venue_symbol = (await self.market_data.market(symbol)).venue_symbol if symbol else None
        query: dict[str, Any] = {"from_": epoch_ms(since)}
        if venue_symbol:
            query["symbol"] = venue_symbol
        out: list[Fill] = []
        async for rows in self._pages("get_fill_history", "GET /wapi/v1/history/fills", **query):
            for row in rows:
                try:
                    fill = parse_fill(
                        row, symbol_of=self.market_data.markets.symbol_of, client_id_of=self.ids.perparb
                    )
                except (ValueError, units.UnitError) as exc:
                    log.warning("%s: fill skipped: %s", VENUE, exc)
                    continue
                if fill.ts >= since:
                    out.append(fill)
        return sorted(out, key=lambda f: (f.ts, f.fill_id))

    async def funding_payments(self, since: datetime, symbol: str | None = None) -> list[FundingPaymentInfo]:
        """Funding payments at or after `since`, oldest first (of `symbol` when given)."""
        venue_symbol = (await self.market_data.market(symbol)).venue_symbol if symbol else None
        query: dict[str, Any] = {"symbol": venue_symbol} if venue_symbol else {}
        out: list[FundingPaymentInfo] = []
        async for rows in self._pages("get_funding_payments", "GET /wapi/v1/history/funding", **query):
            older = False
            for row in rows:
                try:
                    p = parse_funding_payment(row, symbol_of=self.market_data.markets.symbol_of)
                except ValueError as exc:
                    log.warning("%s: funding payment skipped: %s", VENUE, exc)
                    continue
                if p.ts >= since:
                    out.append(p)
                else:
                    older = True
            if older:
                break
        return sorted(out, key=lambda p: p.ts)

    async def account_leverage(self) -> Decimal | None:
        """The account's `leverageLimit` (x), None when the venue does not say."""
        body = await self.http.signed_read(
            self.signer.builder("GET", "get_account"), what="GET /api/v1/account"
        )
        if not isinstance(body, dict):
            raise BackpackDataError(f"GET /api/v1/account: body is {type(body).__name__}")
        try:
            return units.optional_decimal(body.get("leverageLimit"), "leverageLimit", allow_negative=False)
        except units.UnitError as exc:
            raise BackpackDataError(f"GET /api/v1/account: {exc}") from None

    async def leverage_info(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(the account's leverage limit, the market's maximum leverage)."""
        m = await self.market_data.market(symbol)
        return await self.account_leverage(), m.max_leverage

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Set the ACCOUNT's leverage limit to `leverage` (Backpack has no per-market leverage).

        Raises:
            BackpackRejectedError: below 1 or above the market's maximum; the venue's refusal."""
        m = await self.market_data.market(symbol)
        if leverage < 1 or (m.max_leverage is not None and leverage > m.max_leverage):
            raise BackpackRejectedError(
                f"leverage {leverage} outside 1..{m.max_leverage} (1 / imfFunction.base)", m.venue_symbol
            )
        request = self.signer.build("PATCH", "update_account", leverage_limit=decimal_wire(leverage))
        await self.http.signed_action(request, what=f"leverage limit {leverage}", market=m.venue_symbol)
