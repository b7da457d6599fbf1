"""Positions of the Aster client: `GET positionRisk` (V3 "Position Information v3", V1 `/fapi/v2/positionRisk`;
weight 5), parsed by `converters.parse_position` (signed size, entry, mark, liquidation price, leverage; one-way
mode rows `positionSide` BOTH, hedge-mode LONG / SHORT rows kept apart)."""

from __future__ import annotations

import logging

from exchange_clients.aster.client.managers.market_data import MarketDataManager
from exchange_clients.aster.client.utils.converters import parse_position
from exchange_clients.aster.common import AsterDataError
from exchange_clients.aster.http import AsterHttp
from exchange_clients.base.trading import PositionSnapshot

log = logging.getLogger("perparb.aster.client")


class PositionManager:
    """Positions of one account. Args: http (with the account's signer); market_data (symbols)."""

    def __init__(self, http: AsterHttp, market_data: MarketDataManager) -> None:
        self.http = http
        self.venue = http.config.venue
        self.market_data = market_data

    async def rows(self, venue_symbol: str | None = None) -> list[dict[str, object]]:
        """The raw `positionRisk` rows (of one symbol when given). Raises AsterError subclasses."""
        params = [("symbol", venue_symbol)] if venue_symbol else []
        body = await self.http.signed_read("positionRisk", params, market=venue_symbol)
        if not isinstance(body, list):
            raise AsterDataError(f"positionRisk: body is {type(body).__name__}", venue_symbol)
        return [r for r in body if isinstance(r, dict)]

    def parse(self, rows: list[dict[str, object]]) -> list[PositionSnapshot]:
        out = []
        for row in rows:
            try:
                snap = parse_position(row, venue=self.venue, symbol_of=self.market_data.markets.symbol_of)
            except ValueError as exc:
                log.warning("%s: position skipped: %s", self.venue, exc)
                continue
            if snap.quantity != 0:
                out.append(snap)
        return out

    async def positions(self) -> list[PositionSnapshot]:
        """Every open position of the account."""
        return self.parse(await self.rows())

    async def snapshot(self, symbol: str) -> PositionSnapshot | None:
        """The position of `symbol`, or None when flat. Raises AsterRejectedError for an unknown market."""
        m = await self.market_data.market(symbol)
        return next((p for p in self.parse(await self.rows(m.venue_symbol)) if p.symbol == m.symbol), None)
