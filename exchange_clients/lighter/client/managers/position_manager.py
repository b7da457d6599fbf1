"""Positions of the Lighter client, from `GET /api/v1/account` (`positions[]`, PROTOCOL_NOTES §1.2; recorded
venue-data/lighter/rest_account_with_eth_position.json). Flat rows (`position` 0 or `sign` 0) are skipped; a row
that cannot be read is rejected with a logged reason and the others are kept."""

from __future__ import annotations

from typing import Any

from exchange_clients.base.trading import PositionSnapshot
from exchange_clients.lighter.client.managers.account_manager import AccountManager
from exchange_clients.lighter.client.managers.market_data import MarketDataManager
from exchange_clients.lighter.client.utils.converters import parse_position
from exchange_clients.lighter.common import VENUE, LighterDataError
from perparb_core.models import reject


class PositionManager:
    """Open positions of one account (signed quantity, entry, mark, PnL, funding, liquidation, margin, leverage)."""

    def __init__(self, *, account: AccountManager, market_data: MarketDataManager) -> None:
        self.account = account
        self.market_data = market_data

    async def positions(self, row: dict[str, Any] | None = None) -> list[PositionSnapshot]:
        """Open positions from the account (REST `account`, or the already read `row`)."""
        if row is None:
            row = await self.account.account()
        out: list[PositionSnapshot] = []
        for pos in row.get("positions") or []:
            try:
                symbol = self.market_data.markets.symbol_of(int(pos["market_id"]))
                snap = parse_position(pos, symbol)
            except (KeyError, TypeError, ValueError, LighterDataError) as exc:
                reject(
                    VENUE,
                    "account.positions",
                    str(pos.get("symbol")),
                    "position",
                    pos.get("position"),
                    str(exc),
                )
                continue
            if snap is not None:
                out.append(snap)
        return out

    async def snapshot(self, symbol: str) -> PositionSnapshot | None:
        """The position in `symbol`, None when flat. Raises LighterRejectedError for an unknown market."""
        m = await self.market_data.market(symbol)
        for snap in await self.positions():
            if snap.symbol == m.symbol:
                return snap
        return None
