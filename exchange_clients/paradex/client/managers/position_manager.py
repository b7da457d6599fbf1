"""Positions and leverage of a Paradex account.

`GET /positions` rows (`PositionResp`, converters.position_from_row); the mark price comes from
`GET /markets/summary?market=M` (`mark_price`, USD), since position rows do not carry it. Leverage: the
position's `leverage` (current) and 1 / `imf_base` of the market (maximum). Paradex sets leverage with
`POST /account/margin/{market}`, which paradex-py 0.8.2 has no call for and the simulator does not serve.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from exchange_clients.base import units
from exchange_clients.base.trading import PositionSnapshot
from exchange_clients.base.units import UnitError
from exchange_clients.paradex.client.managers.market_data import MarketDataManager
from exchange_clients.paradex.client.session import ParadexSession
from exchange_clients.paradex.client.utils.converters import parse_rows, position_from_row
from exchange_clients.paradex.common import ParadexRejectedError
from exchange_clients.paradex.funding_adapter.fetchers import results_of

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

    async def leverage_info(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(current leverage of the open position or None when flat / not reported, market maximum)."""
        info = await self.market_data.market_info(symbol)
        position = await self.snapshot(symbol)
        return (position.leverage if position is not None else None), info.max_leverage

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Raises ParadexRejectedError for a leverage <= 0 or above the market's maximum; otherwise
        NotImplementedError (no SDK call for `POST /account/margin/{market}`, not served by the simulator)."""
        info = await self.market_data.market_info(symbol)
        if leverage <= 0 or (info.max_leverage is not None and leverage > info.max_leverage):
            raise ParadexRejectedError(
                f"leverage {leverage} outside (0, {info.max_leverage}] for {info.venue_symbol}",
                info.venue_symbol,
            )
        raise NotImplementedError(
            "paradex: set_leverage needs POST /account/margin/{market}, which paradex-py 0.8.2 does not "
            "expose and the simulator does not serve"
        )
