"""Account reads of the Lighter client: balance, fills, funding payments, leverage.

Endpoints (PROTOCOL_NOTES §1.2): `GET /api/v1/account?by=index&value=N` (`available_balance`, `collateral`,
`total_asset_value` = equity, positions), `GET /api/v1/trades?account_index=N&sort_by=timestamp` (auth; the
account's fills, newest first, cursor paged), `GET /api/v1/positionFunding?account_index=N` (auth; hourly funding
payments, newest first, cursor paged). Leverage (`initial_margin_fraction` of a position, else the market's
default) and its maximum (10000 / `min_initial_margin_fraction`). `set_leverage` sends tx 20 (update leverage,
cross margin; lighter-sdk `update_leverage` signs `InitialMarginFraction` = int(10000 / leverage)) through the SDK;
the account's positions then report that fraction (the venue lists markets with leverage settings even when flat).
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp
import lighter

from exchange_clients.base.trading import BalanceInfo, Fill, FundingPaymentInfo
from exchange_clients.lighter.client.managers.market_data import MarketDataManager
from exchange_clients.lighter.client.managers.order_manager import OrderManager
from exchange_clients.lighter.client.utils.caching import AuthTokenCache
from exchange_clients.lighter.client.utils.converters import (
    HUNDRED,
    dec,
    opt_dec,
    parse_position_funding,
    parse_trade,
)
from exchange_clients.lighter.common import VENUE, LighterDataError, LighterRejectedError
from exchange_clients.lighter.http import LighterRest

PAGE = 100
MAX_PAGES = 50


class AccountManager:
    """Balance, fills, funding payments and leverage of one account."""

    def __init__(
        self,
        *,
        account_index: int,
        rest: LighterRest,
        market_data: MarketDataManager,
        tokens: AuthTokenCache,
        orders: OrderManager,
    ) -> None:
        self.account_index = account_index
        self.rest = rest
        self.market_data = market_data
        self.tokens = tokens
        self.orders = orders

    async def account(self) -> dict[str, Any]:
        """The `DetailedAccount` object of the account. Raises LighterRejectedError (21100 unknown account)."""
        api = lighter.AccountApi(self.rest.api)
        body = await self.rest.get(
            f"GET /api/v1/account?by=index&value={self.account_index}",
            "accounts",
            lambda: api.account_without_preload_content(
                by="index", value=str(self.account_index), _request_timeout=self.rest.timeout
            ),
        )
        for row in body["accounts"]:
            if isinstance(row, dict) and row.get("index", row.get("account_index")) == self.account_index:
                return row
        raise LighterDataError(f"account {self.account_index} absent from its own /account answer")

    async def balance(self) -> BalanceInfo:
        """available = `available_balance`, equity = `total_asset_value`, collateral = `collateral` (USDC)."""
        return self.balance_of(await self.account())

    @staticmethod
    def balance_of(row: dict[str, Any]) -> BalanceInfo:
        """The BalanceInfo of one `DetailedAccount` row (see `balance`). Raises LighterDataError (named field)."""
        return BalanceInfo(
            venue=VENUE,
            available=dec(row, "available_balance"),
            equity=dec(row, "total_asset_value"),
            collateral=opt_dec(row, "collateral"),
        )

    async def fills(self, since: datetime, symbol: str | None = None) -> list[Fill]:
        """The account's fills at or after `since` (aware datetime), newest first."""
        market_id = (await self.market_data.market(symbol)).market_id if symbol else None
        since_ms = int(since.timestamp() * 1000)
        api = lighter.OrderApi(self.rest.api)
        out: list[Fill] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):

            def trades_page(page_cursor: str | None = cursor) -> Awaitable[aiohttp.ClientResponse]:
                return api.trades_without_preload_content(
                    sort_by="timestamp",
                    limit=PAGE,
                    authorization=self.tokens.get(),  # read at each attempt: a retry may need a new token
                    account_index=self.account_index,
                    market_id=market_id,
                    cursor=page_cursor,
                    _request_timeout=self.rest.timeout,
                )

            body = await self.rest.get(
                f"GET /api/v1/trades?account_index={self.account_index}&market_id={market_id}",
                "trades",
                trades_page,
                symbol,
            )
            rows = body["trades"]
            older = False
            for row in rows:
                if int(row.get("timestamp", 0)) < since_ms:
                    older = True
                    continue
                fill = parse_trade(
                    row, self.account_index, self.market_data.markets.symbol_of(int(row["market_id"]))
                )
                if fill is not None:
                    out.append(fill)
            cursor = body.get("next_cursor")
            if older or not cursor or not rows:
                break
        return out

    async def funding_payments(self, since: datetime, symbol: str | None = None) -> list[FundingPaymentInfo]:
        """Funding payments settled at or after `since`, newest first; amount + received / - paid (USDC)."""
        market_ids = [(await self.market_data.market(symbol)).market_id] if symbol else None
        start = int(since.timestamp())
        api = lighter.AccountApi(self.rest.api)
        out: list[FundingPaymentInfo] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):

            def funding_page(page_cursor: str | None = cursor) -> Awaitable[aiohttp.ClientResponse]:
                return api.position_funding_without_preload_content(
                    account_index=self.account_index,
                    limit=PAGE,
                    authorization=self.tokens.get(),  # read at each attempt: a retry may need a new token
                    cursor=page_cursor,
                    start_timestamp=start,
                    market_ids=market_ids,
                    _request_timeout=self.rest.timeout,
                )

            body = await self.rest.get(
                f"GET /api/v1/positionFunding?account_index={self.account_index}",
                "position_fundings",
                funding_page,
                symbol,
            )
            rows = body["position_fundings"]
            for row in rows:
                if int(row.get("timestamp", 0)) < start:
                    continue
                out.append(
                    parse_position_funding(row, self.market_data.markets.symbol_of(int(row["market_id"])))
                )
            cursor = body.get("next_cursor")
            if not cursor or not rows:
                break
        return out

    async def leverage_info(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(current, maximum). Current = 100 / the position's `initial_margin_fraction` (percent) when the account
        has one in the market, else the market default 10000 / `default_initial_margin_fraction`."""
        m = await self.market_data.market(symbol)
        row = await self.account()
        for pos in row.get("positions") or []:
            if pos.get("market_id") == m.market_id:
                imf = opt_dec(pos, "initial_margin_fraction")
                if imf:
                    return HUNDRED / imf, m.max_leverage
        return m.default_leverage, m.max_leverage

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Cross-margin leverage of `symbol` (tx 20, IMF = 10000 / leverage).

        Raises:
            LighterRejectedError: leverage < 1 or above the market's maximum, or refused by the venue.
        """
        m = await self.market_data.market(symbol)
        if leverage < 1 or (m.max_leverage is not None and leverage > m.max_leverage):
            raise LighterRejectedError(f"leverage {leverage} outside 1..{m.max_leverage}", m.symbol)
        signer = self.orders.signer
        await self.orders.submit(
            f"set leverage {leverage}",
            m,
            lambda: signer.update_leverage(m.market_id, signer.CROSS_MARGIN_MODE, float(leverage)),
            None,
        )
