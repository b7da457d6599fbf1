"""Positions of the Hyperliquid client: `clearinghouseState` of the account on the client's perp dex (weight 2;
`dex` sent for a HIP-3 dex: each dex has its own clearinghouse, venue-data/hyperliquid/
rest_info_clearinghouseState_hip3_flx_isolated.json), parsed by `converters.parse_position` (signed size,
entry, liquidation price, margin, leverage, funding since open)."""

from __future__ import annotations

import logging
from typing import Any

from exchange_clients.base.trading import PositionSnapshot
from exchange_clients.hyperliquid.client.managers.market_data import MarketDataManager
from exchange_clients.hyperliquid.client.utils.converters import clearinghouse_positions, parse_position
from exchange_clients.hyperliquid.client.utils.helpers import belongs_to_dex
from exchange_clients.hyperliquid.common import HyperliquidDataError
from exchange_clients.hyperliquid.http import HyperliquidHttp

log = logging.getLogger("perparb.hyperliquid.client")


class PositionManager:
    """Positions of one account on one perp dex.

    Args:
        http: the venue's HTTP stack; market_data: markets (symbols of coins); account_address: the account.
    """

    def __init__(self, http: HyperliquidHttp, market_data: MarketDataManager, account_address: str) -> None:
        self.http = http
        self.venue = http.venue
        self.market_data = market_data
        self.user = account_address

    async def clearinghouse_state(self) -> Any:
        """The raw `clearinghouseState` of the account on the dex. Raises HyperliquidError subclasses."""
        body: dict[str, Any] = {"type": "clearinghouseState", "user": self.user}
        if self.market_data.dex:
            body["dex"] = self.market_data.dex
        return await self.http.info(body)

    def parse_positions(self, state: Any) -> list[PositionSnapshot]:
        """Open positions of a `clearinghouseState` (rows that cannot be read are logged and skipped).

        Raises:
            HyperliquidDataError: no `assetPositions` list."""
        try:
            rows = clearinghouse_positions(state)
        except ValueError as exc:
            raise HyperliquidDataError(str(exc), venue=self.venue) from None
        out = []
        for row in rows:
            if not belongs_to_dex(str(row.get("coin", "")), self.market_data.dex):
                continue
            try:
                snap = parse_position(row, venue=self.venue, symbol_of=self.market_data.markets.symbol_of)
            except ValueError as exc:
                log.warning("%s: position skipped: %s", self.venue, exc)
                continue
            if snap.quantity != 0:
                out.append(snap)
        return out

    async def positions(self) -> list[PositionSnapshot]:
        """Every open position of the account on the dex."""
        return self.parse_positions(await self.clearinghouse_state())

    async def snapshot(self, symbol: str) -> PositionSnapshot | None:
        """The position of `symbol`, or None when flat. Raises HyperliquidRejectedError for an unknown market."""
        m = await self.market_data.market(symbol)
        return next((p for p in await self.positions() if p.symbol == m.symbol), None)
