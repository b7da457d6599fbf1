"""Caches of the Lighter client: market specs, the auth token, client order indexes.

* `LighterMarket` / `MarketCache`: symbol -> market id, decimals and limits, built from the markets the ONE
  `orderBookDetails` parser returns (`funding_adapter.fetchers.parse_order_book_details`, PROTOCOL_NOTES §1.2),
  refreshed by the caller when an unknown symbol is asked for.
* `AuthTokenCache`: the `create_auth_token_with_expiry` token (`"{deadline}:{account}:{key}:{sig}"`, §1.3), reused
  until `refresh_margin_seconds` before its deadline.
* `ClientOrderIndexAllocator` / `ClientOrderIds`: the integer `ClientOrderIndex` (1..2^48-1) of each order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from exchange_clients.lighter.client.utils.converters import (
    MAX_CLIENT_ORDER_INDEX,
)
from exchange_clients.lighter.common import VENUE, LighterAuthError, LighterDataError
from perparb_core.models import MarketInfo

# ------------------------------------------------------------------------------------------------ markets


@dataclass(frozen=True, slots=True)
class LighterMarket:
    """One perp market as the trading client needs it.

    Attributes:
        symbol: canonical base asset ("ETH"); market_id: Lighter market index (perps 0..254);
        size_decimals / price_decimals: integer scaling of BaseAmount / Price (tick = 10^-price_decimals,
        step = 10^-size_decimals); min_base_amount (base units), min_quote_amount (USDC);
        max_leverage / default_leverage: from the minimum and default initial margin fractions (x);
        status: "active" when tradeable.
    """

    symbol: str
    market_id: int
    size_decimals: int
    price_decimals: int
    min_base_amount: Decimal | None
    min_quote_amount: Decimal | None
    max_leverage: Decimal | None
    default_leverage: Decimal | None
    status: str

    @classmethod
    def from_info(cls, info: MarketInfo) -> LighterMarket:
        """The trading view of a parsed market: decimals from its tick (10^-price_decimals) and step
        (10^-size_decimals).

        Raises:
            LighterDataError: a market without a numeric market id, tick or step."""
        if not info.venue_market_id.isdigit() or info.tick_size is None or info.size_step is None:
            raise LighterDataError(
                f"market {info.venue_symbol}: no market id, tick or step", info.venue_symbol
            )
        return cls(
            symbol=info.symbol,
            market_id=int(info.venue_market_id),
            size_decimals=-int(info.size_step.as_tuple().exponent),
            price_decimals=-int(info.tick_size.as_tuple().exponent),
            min_base_amount=info.min_size,
            min_quote_amount=info.min_notional,
            max_leverage=info.max_leverage,
            default_leverage=info.default_leverage,
            status=info.status,
        )

    @property
    def tick_size(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_decimals)

    @property
    def size_step(self) -> Decimal:
        return Decimal(1).scaleb(-self.size_decimals)


class MarketCache:
    """symbol <-> market id lookups; `replace()` swaps the whole set (after a refresh)."""

    def __init__(self) -> None:
        self.by_symbol: dict[str, LighterMarket] = {}
        self.by_id: dict[int, LighterMarket] = {}
        self.loaded_at: float | None = None

    def replace(self, markets: list[LighterMarket]) -> None:
        self.by_symbol = {m.symbol: m for m in markets}
        self.by_id = {m.market_id: m for m in markets}
        self.loaded_at = time.monotonic()

    def get(self, symbol: str) -> LighterMarket | None:
        return self.by_symbol.get(symbol.strip().upper())

    def symbol_of(self, market_id: int) -> str:
        """The symbol of `market_id`, or "market-<id>" when unknown (never raises: rows stay readable)."""
        market = self.by_id.get(market_id)
        return market.symbol if market is not None else f"market-{market_id}"


# ------------------------------------------------------------------------------------------------ auth token


class AuthTokenCache:
    """The account's auth token for private reads, created by `create(deadline_seconds)` -> (token, error) (the
    SDK's `SignerClient.create_auth_token_with_expiry`, a local signature: no I/O) and reused until
    `refresh_margin_seconds` before it expires.

    Raises (from `get`):
        LighterAuthError: the signer refused to create a token (the error text, never the key).
    """

    def __init__(
        self,
        create: Callable[[int], tuple[str | None, str | None]],
        *,
        lifetime_seconds: int = 600,
        refresh_margin_seconds: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._create = create
        self.lifetime = lifetime_seconds
        self.margin = refresh_margin_seconds
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self.created = 0

    def get(self) -> str:
        now = self._clock()
        if self._token is None or now >= self._expires_at - self.margin:
            token, error = self._create(self.lifetime)
            if error is not None or not token:
                raise LighterAuthError(f"could not create an auth token: {error}")
            self._token, self._expires_at = token, now + self.lifetime
            self.created += 1
        return self._token


# ------------------------------------------------------------------------------------------------ client order ids

EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
SLOTS_PER_MS = 64


class ClientOrderIndexAllocator:
    """Unique `ClientOrderIndex` values in 1..2^48-1 (PROTOCOL_NOTES §1.3), without a database.

    index = max(last + 1, (now_ms - 2025-01-01) x 64): a millisecond timestamp with 64 slots per millisecond,
    strictly increasing within the process (a lock makes it safe across threads and concurrent tasks). Across
    restarts, a new process starts at the current millisecond x 64, above every index issued before as long as
    the previous process did not issue more than 64 indexes per millisecond on average (it would then run ahead
    of the clock; 64,000 orders/s is far above Lighter's limits) and the clock did not go back. 2^48 / 64 ms lasts
    until the year 2164.

    Raises (from `next`):
        OverflowError: the range 1..2^48-1 is exhausted (clock far in the future).
    """

    def __init__(self, clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._clock_ms = clock_ms
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            candidate = max(self._last + 1, (self._clock_ms() - EPOCH_MS) * SLOTS_PER_MS, 1)
            if candidate > MAX_CLIENT_ORDER_INDEX:
                raise OverflowError(f"{VENUE}: client order index {candidate} exceeds 2^48-1")
            self._last = candidate
            return candidate


class ClientOrderIds:
    """Caller's client order id (str) <-> Lighter `ClientOrderIndex` (int).

    Mapping:
    * a canonical decimal integer string in 1..2^48-1 ("1741234567890123") IS the index: it round-trips through
      the venue and survives restarts (ids from `allocate()` are such strings: use them when an order must be
      reconciled after a crash);
    * any other string ("arb-42-long") gets a fresh index from the allocator, remembered in this process so a
      retry with the same string reuses it; after a restart such a string is unknown to the venue (its orders
      show their numeric index).

    Raises (from `index_for`):
        ValueError: an empty client order id.
    """

    def __init__(self, allocator: ClientOrderIndexAllocator | None = None) -> None:
        self.allocator = allocator or ClientOrderIndexAllocator()
        self._to_index: dict[str, int] = {}
        self._to_id: dict[int, str] = {}
        self._lock = threading.Lock()

    def allocate(self) -> str:
        """A new client order id (a numeric string) that maps to itself."""
        return str(self.allocator.next())

    def index_for(self, client_order_id: str) -> int:
        if not client_order_id or not client_order_id.strip():
            raise ValueError(f"{VENUE}: empty client order id")
        numeric = _numeric_index(client_order_id)
        if numeric is not None:
            return numeric
        with self._lock:
            found = self._to_index.get(client_order_id)
            if found is None:
                found = self.allocator.next()
                self._to_index[client_order_id] = found
                self._to_id[found] = client_order_id
            return found

    def lookup(self, client_order_id: str) -> int | None:
        """The index of an id without allocating one (None when an unknown non-numeric id)."""
        numeric = _numeric_index(client_order_id)
        return numeric if numeric is not None else self._to_index.get(client_order_id)

    def id_for(self, index: int) -> str | None:
        """The caller's string for `index` (None for 0 = no client index)."""
        if index <= 0:
            return None
        return self._to_id.get(index, str(index))


def _numeric_index(value: str) -> int | None:
    if value.isdigit() and not (len(value) > 1 and value[0] == "0"):
        number = int(value)
        if 1 <= number <= MAX_CLIENT_ORDER_INDEX:
            return number
    return None


__all__ = [
    "AuthTokenCache",
    "ClientOrderIds",
    "ClientOrderIndexAllocator",
    "LighterMarket",
    "MarketCache",
]
