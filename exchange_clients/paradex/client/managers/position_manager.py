"""Positions and leverage of a Paradex account.

`GET /positions` rows (`PositionResp`, converters.position_from_row); the mark price comes from
`GET /markets/summary?market=M` (`mark_price`, USD), since position rows do not carry it. Leverage: the
account's configured leverage (`GET /account/margin?market=M`, `GetAccountMarginConfigsResp.configs[].leverage`,
an integer), else the open position's `leverage`, and 1 / `imf_base` of the market (maximum). Leverage is set with
`POST /account/margin/{market}` (openapi `upsert-account-margin`, body `AccountMarginRequest` `{leverage: int 1..max,
margin_type: "CROSS"}`). paradex-py 0.8.2 has no public method for either endpoint, so both go through the SDK's
authenticated HTTP helpers `ParadexApiClient._get_authorized` / `_post_authorized` (JWT handling, re-auth and the
error hook stay the SDK's), run in a worker thread by `ParadexSession`.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from exchange_clients.base.trading import PositionSnapshot
from exchange_clients.paradex.client.managers.market_data import MarketDataManager
from exchange_clients.paradex.client.session import ParadexSession
from exchange_clients.paradex.client.utils.converters import parse_rows, position_from_row
from exchange_clients.paradex.common import ParadexRejectedError
from exchange_clients.paradex.funding_adapter.fetchers import results_of
from perparb_core import units
from perparb_core.units import UnitError

log = logging.getLogger("perparb.paradex.client")


class PositionManager:
    """Positions (signed quantity, + long) with mark price, and leverage information."""

    def __init__(self, session: ParadexSession, market_data: MarketDataManager) -> None:
        self.session = session
        self.market_data = market_data

    async def rows(self) -> list[dict[str, Any]]:
        """Raw `GET /positions` rows (OPEN and CLOSED), for callers needing the markets traded."""
        body = await self.session.read("GET /positions", lambda api: api.fetch_positions())
        return [r for r in results_of(body, "GET /positions") if isinstance(r, dict)]

    async def mark_price(self, venue_symbol: str) -> Decimal | None:
        """`mark_price` of `GET /markets/summary?market=M`, None when absent or unreadable (logged)."""
        body = await self.session.read(
            "GET /markets/summary",
            lambda api: api.fetch_markets_summary({"market": venue_symbol}),
            venue_symbol,
        )
        for row in results_of(body, "GET /markets/summary", venue_symbol):
            if isinstance(row, dict) and row.get("symbol") == venue_symbol:
                try:
                    return units.optional_decimal(row.get("mark_price"), "mark_price", allow_negative=False)
                except UnitError as exc:
                    log.warning("paradex %s: unusable mark_price %r: %s", venue_symbol, exc.value, exc.reason)
        return None

    async def positions(self) -> list[PositionSnapshot]:
        """Open positions (quantity != 0), each with the market's mark price."""
        out: list[PositionSnapshot] = []
        for row in await self.rows():
            if str(row.get("status", "")).upper() != "OPEN":
                continue
            market = row.get("market")
            mark = await self.mark_price(market) if isinstance(market, str) else None
            out.extend(
                parse_rows([row], lambda r, m=mark: position_from_row(r, m), "paradex:positions")  # type: ignore[misc]
            )
        return [p for p in out if p.quantity != 0]

    async def snapshot(self, symbol: str) -> PositionSnapshot | None:
        """The open position in `symbol`, None when flat."""
        info = await self.market_data.market_info(symbol)
        for position in await self.positions():
            if position.symbol == info.symbol:
                return position
        return None

    async def configured_leverage(self, venue_symbol: str) -> Decimal | None:
        """The account's cross leverage in `venue_symbol` from `GET /account/margin?market=M` (x), None when the
        answer has no usable entry for the market (logged)."""
        body = await self.session.read(
            "GET /account/margin",
            lambda api: api._get_authorized(path="account/margin", params={"market": venue_symbol}),
            venue_symbol,
        )
        configs = body.get("configs") if isinstance(body, dict) else None
        for row in configs if isinstance(configs, list) else []:
            if isinstance(row, dict) and row.get("market") == venue_symbol:
                try:
                    value = units.optional_decimal(row.get("leverage"), "leverage", allow_negative=False)
                except UnitError as exc:
                    log.warning(
                        "paradex %s: unusable margin leverage %r: %s", venue_symbol, exc.value, exc.reason
                    )
                    return None
                return value if value else None
        log.info("paradex %s: GET /account/margin has no entry for the market", venue_symbol)
        return None

    async def leverage_info(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(current, market maximum) leverage (x). Current: the configured leverage (`GET /account/margin`), else
        the open position's `leverage`, else None.

        Raises:
            ParadexError subclasses of the session (unknown market: ParadexRejectedError).
        """
        info = await self.market_data.market_info(symbol)
        current = await self.configured_leverage(info.venue_symbol)
        if current is None:
            position = await self.snapshot(symbol)
            current = position.leverage if position is not None else None
        return current, info.max_leverage

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Cross leverage of `symbol` via `POST /account/margin/{market}` `{leverage, margin_type: "CROSS"}`
        (an upsert, so retried like a read). Paradex takes an integer leverage from 1 to 1 / `imf_base`.

        Raises:
            ParadexRejectedError: leverage not an integer in 1..max (checked before sending), or refused by the
                venue (400).
            ParadexError subclasses of the session (unavailable, auth, ...).
        """
        info = await self.market_data.market_info(symbol)
        if (
            leverage < 1
            or leverage != leverage.to_integral_value()
            or (info.max_leverage is not None and leverage > info.max_leverage)
        ):
            raise ParadexRejectedError(
                f"leverage {leverage} outside the integers 1..{info.max_leverage} for {info.venue_symbol}",
                info.venue_symbol,
            )
        payload = {"leverage": int(leverage), "margin_type": "CROSS"}
        market = info.venue_symbol
        body = await self.session.read(
            f"POST /account/margin/{market}",
            lambda api: api._post_authorized(path=f"account/margin/{market}", payload=payload),
            market,
        )
        if not isinstance(body, dict) or body.get("leverage") != int(leverage):
            raise ParadexRejectedError(f"set leverage {leverage}: unexpected answer {body!r}", market)
