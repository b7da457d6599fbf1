"""The Backpack client's market cache: `BackpackMarket` views of the funding adapter's `MarketInfo`s (one parser,
`fetchers.parse_markets`), by canonical symbol and venue symbol."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from exchange_clients.base.trading import RoundingError, Side, round_price, round_quantity
from perparb_core.models import MarketInfo


@dataclass(frozen=True, slots=True)
class BackpackMarket:
    """One perp as the client trades it: venue symbol ("SOL_USDC_PERP"), canonical symbol ("SOL"), tick, step,
    minimum size, maximum leverage (1 / imfFunction.base), funding interval (hours), status, mark at load."""

    venue_symbol: str
    symbol: str
    tick_size: Decimal
    size_step: Decimal
    min_size: Decimal | None
    max_leverage: Decimal | None
    funding_period_hours: Decimal
    status: str
    mark_price: Decimal | None

    @classmethod
    def from_info(cls, m: MarketInfo) -> BackpackMarket:
        """From a parsed market (tick and step are always set by `parse_markets`)."""
        assert m.tick_size is not None and m.size_step is not None
        return cls(
            venue_symbol=m.venue_symbol,
            symbol=m.symbol,
            tick_size=m.tick_size,
            size_step=m.size_step,
            min_size=m.min_size,
            max_leverage=m.max_leverage,
            funding_period_hours=m.funding_period_hours,
            status=m.status,
            mark_price=m.stats.mark_price,
        )

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """On the tick, never worse for the user (BUY down, SELL up). Raises RoundingError."""
        return round_price(price, self.tick_size, side)

    def round_size(self, quantity: Decimal) -> Decimal:
        """Down to the step; below `minQuantity` refused. Raises RoundingError."""
        return round_quantity(quantity, self.size_step, min_size=self.min_size)


class MarketCache:
    """Markets by canonical symbol and by venue symbol; `loaded_at` is `time.monotonic()` of the last load."""

    def __init__(self) -> None:
        self.by_symbol: dict[str, BackpackMarket] = {}
        self.by_venue_symbol: dict[str, BackpackMarket] = {}
        self.loaded_at: float | None = None

    def replace(self, markets: list[BackpackMarket]) -> None:
        self.by_venue_symbol = {m.venue_symbol: m for m in markets}
        self.by_symbol = {m.symbol: m for m in markets}
        self.loaded_at = time.monotonic()

    def get(self, symbol: str) -> BackpackMarket | None:
        """By canonical symbol ("SOL") or venue symbol ("SOL_USDC_PERP")."""
        key = symbol.strip()
        return self.by_venue_symbol.get(key) or self.by_symbol.get(key.upper())

    def symbol_of(self, venue_symbol: str) -> str:
        """Canonical symbol of a venue symbol (the venue symbol itself when unknown)."""
        found = self.by_venue_symbol.get(venue_symbol)
        return found.symbol if found is not None else venue_symbol


__all__ = ["BackpackMarket", "MarketCache", "RoundingError"]
