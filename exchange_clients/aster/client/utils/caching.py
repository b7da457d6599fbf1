"""Caches of the Aster client: the markets, as the trading client needs them.

`AsterMarket` is built from the `MarketInfo`s of the ONE `exchangeInfo` parser
(`funding_adapter.fetchers.parse_exchange_info`, with the intervals of `fundingInfo`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from exchange_clients.aster.common import AsterDataError, normalize_symbol, venue_symbol_of
from exchange_clients.base.trading import Side, round_price, round_quantity
from perparb_core.models import MarketInfo


@dataclass(frozen=True, slots=True)
class AsterMarket:
    """One perpetual as the trading client needs it.

    Attributes:
        symbol: canonical base asset ("BTC"); venue_symbol: Aster's name ("BTCUSDT"); tick / step: PRICE_FILTER
        tickSize and LOT_SIZE stepSize; min_qty: LOT_SIZE minQty; min_notional: MIN_NOTIONAL notional (USDT);
        max_leverage: x (approximate, `parse_exchange_info`); interval_hours: the funding interval; status: "active"
        or the venue's word lower-cased; mark_price: at load time.
    """

    symbol: str
    venue_symbol: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal | None
    min_notional: Decimal | None
    max_leverage: Decimal | None
    interval_hours: Decimal
    status: str
    mark_price: Decimal | None = None

    @classmethod
    def from_info(cls, info: MarketInfo) -> AsterMarket:
        """The trading view of a parsed market.

        Raises:
            AsterDataError: no tick or step."""
        if info.tick_size is None or info.size_step is None:
            raise AsterDataError(f"market {info.venue_symbol}: no tick or step", info.venue_symbol)
        return cls(
            symbol=info.symbol,
            venue_symbol=info.venue_symbol,
            tick=info.tick_size,
            step=info.size_step,
            min_qty=info.min_size,
            min_notional=info.min_notional,
            max_leverage=info.max_leverage,
            interval_hours=info.funding_period_hours,
            status=info.status,
            mark_price=info.stats.mark_price,
        )

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """`price` on the tick, never worse for the user (BUY down, SELL up). Raises RoundingError."""
        return round_price(price, self.tick, side)

    def round_size(self, quantity: Decimal) -> Decimal:
        """`quantity` down to the step, at least `min_qty`. Raises RoundingError."""
        return round_quantity(quantity, self.step, min_size=self.min_qty)


class MarketCache:
    """symbol / venue-symbol lookups; `replace()` swaps the whole set (after a refresh)."""

    def __init__(self) -> None:
        self.by_symbol: dict[str, AsterMarket] = {}
        self.by_venue_symbol: dict[str, AsterMarket] = {}
        self.loaded_at: float | None = None

    def replace(self, markets: list[AsterMarket]) -> None:
        # one canonical symbol may have USDT and USDC markets: the USDT one wins for the symbol
        ordered = sorted(markets, key=lambda m: m.venue_symbol.endswith("USDT"))
        self.by_symbol = {m.symbol: m for m in ordered}
        self.by_venue_symbol = {m.venue_symbol: m for m in markets}
        self.loaded_at = time.monotonic()

    def get(self, symbol: str) -> AsterMarket | None:
        """By canonical symbol ("btc" -> BTC) or by Aster symbol ("BTCUSDT")."""
        key = symbol.strip().upper()
        if not key:
            return None
        return (
            self.by_venue_symbol.get(key)
            or self.by_symbol.get(key)
            or self.by_venue_symbol.get(venue_symbol_of(key))
        )

    def symbol_of(self, venue_symbol: str) -> str:
        """The canonical symbol of an Aster symbol (its normalised name when unknown: never raises)."""
        market = self.by_venue_symbol.get(venue_symbol)
        if market is not None:
            return market.symbol
        try:
            return normalize_symbol(venue_symbol)
        except ValueError:
            return venue_symbol
