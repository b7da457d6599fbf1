"""Positions of the Backpack client: `GET /api/v1/position` (instruction positionQuery, signed by bpx-py
`BaseAccount.get_open_positions`): open positions only, `netQuantity` signed, liquidation price
`estLiquidationPrice` (venue-data/backpack/rest_position_ETH_USDC_PERP_long_2025-09.json)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

from exchange_clients.backpack.client.managers.market_data import MarketDataManager
from exchange_clients.backpack.client.utils.converters import parse_position
from exchange_clients.backpack.client.utils.signing import BackpackSigner
from exchange_clients.backpack.common import VENUE, BackpackDataError
from exchange_clients.backpack.http import BackpackHttp
from exchange_clients.base.trading import PositionSnapshot

log = logging.getLogger("perparb.backpack.client")


class PositionManager:
    """Open positions of one account.

    Args:
        http: the venue's HTTP stack; market_data: symbols; signer: the account's signer; leverage: reads the
        account's leverage limit (Backpack's leverage is per account), reported on every position.
    """

    def __init__(
        self,
        http: BackpackHttp,
        market_data: MarketDataManager,
        signer: BackpackSigner,
        leverage: Callable[[], Awaitable[Decimal | None]],
    ) -> None:
        self.http = http
        self.market_data = market_data
        self.signer = signer
        self.leverage = leverage

    async def positions(self) -> list[PositionSnapshot]:
        """Every non-zero position. Rows that cannot be read are skipped (logged).

        Raises:
            BackpackError subclasses; BackpackDataError for a body that is not a list."""
        build = self.signer.builder("GET", "get_open_positions")
        rows = await self.http.signed_read(build, what="GET /api/v1/position")
        if rows is None:
            return []
        if not isinstance(rows, list):
            raise BackpackDataError(f"GET /api/v1/position: body is {type(rows).__name__}, expected a list")
        leverage = await self.leverage()
        out = []
        for row in rows:
            if not isinstance(row, dict):
                continue
            try:
                p = parse_position(row, symbol_of=self.market_data.markets.symbol_of, leverage=leverage)
            except ValueError as exc:
                log.warning("%s: position skipped: %s", VENUE, exc)
                continue
            if p.quantity != 0:
                out.append(p)
        return out

    async def snapshot(self, symbol: str) -> PositionSnapshot | None:
        """The position of `symbol`, None when flat. Raises BackpackRejectedError for an unknown market."""
        m = await self.market_data.market(symbol)
        for p in await self.positions():
            if p.symbol == m.symbol:
                return p
        return None
