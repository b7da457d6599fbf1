"""Synthetic liquidity: a market maker keeps resting depth around a mid-price path.

A mid path is a callable `path(ts_ms) -> Decimal` (USD): `SeriesMid` replays given prices (recorded or
historical, a step function), `RandomWalkMid` is a seeded geometric random walk. `LiquidityConfig` says how
the depth looks; `quotes` turns a mid into price levels on the market's tick and size grid:

    level i (0 = best), half-spread h = spread_bps / 2:
      bid_i = floor_to_tick(mid x (1 - (h + i x level_step_bps) / 10_000))
      ask_i = ceil_to_tick (mid x (1 + (h + i x level_step_bps) / 10_000))
    each level `size_per_level` (rounded down to the size step, at least `min_size`), strictly one tick or more
    apart, bids never at or above asks.

`Engine.add_liquidity` owns the market-maker account (exempt: never margin-checked nor liquidated) and the
refresh: at every engine sync where the path's mid differs from the last one (the mark price then moves to the
mid), or `replenish_ms` after the maker was hit, its quotes are brought to the levels above: quotes at prices
no longer wanted are cancelled, quotes still wanted keep their time priority, consumed size is added back.
Re-placed quotes may trade against user orders the move has crossed (the maker is then the taker): that is how
a resting user order gets filled when the price moves through it.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import pairwise
from typing import Protocol

from simulator.engine.spec import MarketSpec

_BPS = Decimal(10_000)
_PRICE_QUANTUM = Decimal("1e-8")


class MidPath(Protocol):
    """`path(ts_ms)` -> mid price (USD) at that time."""

    def __call__(self, ts_ms: int) -> Decimal: ...


class SeriesMid:
    """Step function through `(ts_ms, price)` points; before the first point the first price applies.

    Raises:
        ValueError: no points, or timestamps not strictly increasing, or a price <= 0.
    """

    def __init__(self, points: Sequence[tuple[int, Decimal]]) -> None:
        if not points:
            raise ValueError("a mid series needs at least one point")
        self._times = [int(t) for t, _ in points]
        self._prices = [p for _, p in points]
        if any(b <= a for a, b in pairwise(self._times)):
            raise ValueError("mid series timestamps must strictly increase")
        if any(p <= 0 for p in self._prices):
            raise ValueError("mid series prices must be positive")

    def __call__(self, ts_ms: int) -> Decimal:
        i = bisect_right(self._times, ts_ms) - 1
        return self._prices[max(i, 0)]


class RandomWalkMid:
    """Seeded geometric random walk: from `start_price` at `start_ms`, one step every `step_ms`, each step
    multiplying the price by (1 + N(0, vol_bps / 10_000)), factor and price rounded to 1e-8. Deterministic for a
    seed; steps are generated lazily and cached. Before `start_ms` the start price applies.

    Raises:
        ValueError: `start_price` <= 0, `step_ms` <= 0 or `vol_bps` < 0.
    """

    def __init__(
        self,
        start_price: Decimal,
        *,
        start_ms: int,
        seed: int,
        step_ms: int = 1000,
        vol_bps: Decimal = Decimal(5),
    ) -> None:
        if start_price <= 0 or step_ms <= 0 or vol_bps < 0:
            raise ValueError("random walk needs start_price > 0, step_ms > 0, vol_bps >= 0")
        self.start_ms = start_ms
        self.step_ms = step_ms
        self._sigma = float(vol_bps / _BPS)
        self._rng = random.Random(seed)
        self._prices = [start_price]
        self._floor = start_price / 1000  # keeps the walk positive

    def __call__(self, ts_ms: int) -> Decimal:
        steps = max(0, (ts_ms - self.start_ms) // self.step_ms)
        prices = self._prices
        while len(prices) <= steps:
            factor = Decimal(1) + Decimal(repr(round(self._rng.gauss(0.0, self._sigma), 8)))
            prices.append(max((prices[-1] * factor).quantize(_PRICE_QUANTUM), self._floor))
        return prices[steps]


@dataclass(frozen=True, slots=True)
class LiquidityConfig:
    """Shape of the synthetic depth.

    Attributes:
        levels: price levels per side.
        spread_bps: distance between best bid and best ask, in bps of mid (before tick rounding).
        level_step_bps: distance between consecutive levels, in bps of mid.
        size_per_level: base units per level.
        replenish_ms: after the maker was hit, its quotes are restored at the first sync at least this long
            (simulated ms) after the previous refresh; a mid move refreshes at once.
    """

    levels: int = 10
    spread_bps: Decimal = Decimal(4)
    level_step_bps: Decimal = Decimal(2)
    size_per_level: Decimal = Decimal(1)
    replenish_ms: int = 1000

    def __post_init__(self) -> None:
        if self.levels < 1 or self.spread_bps < 0 or self.level_step_bps < 0 or self.size_per_level <= 0:
            raise ValueError("liquidity needs levels >= 1, spread/step >= 0 bps, size_per_level > 0")
        if self.replenish_ms < 0:
            raise ValueError("replenish_ms must be >= 0")


def quotes(
    mid: Decimal, spec: MarketSpec, config: LiquidityConfig
) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """The maker's levels around `mid`: `(bids, asks)`, each `[(price, size)]` best first (formula in the
    module docstring). Bid prices that would fall to zero or below are dropped."""
    tick = spec.tick_size
    step = spec.size_step
    size = (config.size_per_level / step).to_integral_value(rounding=ROUND_FLOOR) * step
    if size < spec.min_size:
        size = (spec.min_size / step).to_integral_value(rounding=ROUND_CEILING) * step
    half = config.spread_bps / 2
    bids: list[tuple[Decimal, Decimal]] = []
    asks: list[tuple[Decimal, Decimal]] = []
    for i in range(config.levels):
        offset = (half + i * config.level_step_bps) / _BPS
        bid = (mid * (1 - offset) / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
        ask = (mid * (1 + offset) / tick).to_integral_value(rounding=ROUND_CEILING) * tick
        if bids and bid >= bids[-1][0]:
            bid = bids[-1][0] - tick
        if asks and ask <= asks[-1][0]:
            ask = asks[-1][0] + tick
        if i == 0 and bid >= ask:
            bid = ask - tick
        if bid > 0:
            bids.append((bid, size))
        asks.append((ask, size))
    return bids, asks


@dataclass(slots=True, eq=False)
class SyntheticLiquidity:
    """The market maker of one market: its account, config, mid path and refresh state.

    Attributes:
        last_mid: mid of the current quotes (None before the first refresh); last_refresh_ms: when.
        hit: set when one of its quotes traded since the last refresh (a refresh is then due).
        refreshes: how many times the quotes were (re)placed.
    """

    market: str
    account_id: int
    config: LiquidityConfig
    path: MidPath
    last_mid: Decimal | None = None
    last_refresh_ms: int = 0
    hit: bool = False
    refreshes: int = 0
