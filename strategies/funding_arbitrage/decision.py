"""Funding-arbitrage decisions: the SAME objects in live trading, paper trading and the backtester.

Pure functions of (config, ranked opportunities, open positions, time); no I/O. The caller supplies data
available at decision time only (the backtester guarantees no look-ahead by what it passes in).

* `opportunity_query(config, now)`: the finder query a config implies (entry threshold, horizon, filters, costs).
* `choose_entries(...)`: which ranked opportunities to open, under max positions, per-venue and total exposure,
  persistence and one position per base asset.
* `exit_decision(...)`: whether to close an open position, and why (liquidation risk, max hold, spread flipped,
  below the exit threshold net of exit costs (hysteresis against the entry threshold), or a better opportunity
  whose gain over the remaining horizon exceeds `switch_cost_multiple` × the switching cost). Nothing but
  liquidation risk closes a position before `min_hold_hours`.

Costs follow DESIGN.md: a round trip C = entry + exit fees on both legs + slippage; an open position has already
paid the entry half, so its exit costs C/2 and switching to another costs C_current/2 + C_new/2 + C_new/2 (exit
now, enter and later exit the new one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from funding_rate_service.cost_model import HOURS_PER_YEAR
from funding_rate_service.opportunity_finder import Opportunity, OpportunityQuery
from strategies.config import FundingArbitrageConfig

EXIT_REASONS = (
    "liquidation_risk",
    "max_hold",
    "spread_flipped",
    "below_exit_threshold",
    "better_opportunity",
    "stop",
    "end_of_data",
)


def opportunity_query(
    config: FundingArbitrageConfig, now: datetime, *, min_net_apr: bool = True
) -> OpportunityQuery:
    """The finder query a config implies at `now`. `min_net_apr=False` ranks without the entry threshold
    (used to price open positions and alternatives)."""
    overrides = {
        (venue, side): fee
        for venue, sides in config.costs.fee_overrides.items()
        for side, fee in sides.items()
    }
    return OpportunityQuery(
        horizon_hours=config.entry.horizon_hours,
        min_net_apr=config.entry.min_net_apr if min_net_apr else None,
        use_maker_fees=config.costs.fee_mode == "maker",
        fee_overrides=overrides,
        slippage_bps=config.costs.slippage_bps,
        min_volume_24h_usd=config.entry.min_volume_24h_usd or None,
        min_open_interest_usd=config.entry.min_open_interest_usd or None,
        venues_include=frozenset(config.venues),
        symbols=config.symbol_set,
        max_data_age_seconds=float(config.entry.max_data_age_seconds),
        now=now,
    )


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """What the decision code needs of an open two-leg position. Notional in USD per leg."""

    symbol: str
    long_venue: str
    short_venue: str
    opened_at: datetime
    notional_usd: Decimal
    entry_spread_hourly: Decimal
    round_trip_cost: Decimal

    def key(self) -> tuple[str, str, str]:
        return (self.symbol, self.long_venue, self.short_venue)


@dataclass(frozen=True, slots=True)
class ExitDecision:
    reason: str
    detail: str


def exposure_by_venue(positions: Iterable[OpenPosition]) -> dict[str, Decimal]:
    """USD notional per venue (each position has one leg on each of its two venues)."""
    out: dict[str, Decimal] = {}
    for p in positions:
        out[p.long_venue] = out.get(p.long_venue, Decimal(0)) + p.notional_usd
        out[p.short_venue] = out.get(p.short_venue, Decimal(0)) + p.notional_usd
    return out


def choose_entries(
    ranked: Sequence[Opportunity], open_positions: Sequence[OpenPosition], config: FundingArbitrageConfig
) -> list[Opportunity]:
    """The opportunities to open now, best first, each at `sizing.target_notional_usd` per leg.

    Skips: an asset already held; persistence below `entry.min_spread_persistence_hours` (unknown persistence
    counts as 0 when a minimum is set); and anything that would exceed `max_positions`, a venue's
    `max_exposure_per_venue_usd` or `max_total_exposure_usd` (total = both legs).
    """
    sizing = config.sizing
    notional = sizing.target_notional_usd
    held = {p.symbol for p in open_positions}
    per_venue = exposure_by_venue(open_positions)
    total = sum(per_venue.values(), Decimal(0))
    count = len(open_positions)
    chosen: list[Opportunity] = []
    for opp in ranked:
        if count >= sizing.max_positions:
            break
        if opp.symbol in held or opp.net_apr < config.entry.min_net_apr:
            continue
        need = config.entry.min_spread_persistence_hours
        if need > 0 and Decimal(opp.sign_persistence_hours or 0) < need:
            continue
        if sizing.max_total_exposure_usd is not None and total + 2 * notional > sizing.max_total_exposure_usd:
            continue
        cap = sizing.max_exposure_per_venue_usd
        if cap is not None and any(
            per_venue.get(v, Decimal(0)) + notional > cap for v in (opp.long_venue, opp.short_venue)
        ):
            continue
        chosen.append(opp)
        held.add(opp.symbol)
        count += 1
        total += 2 * notional
        for v in (opp.long_venue, opp.short_venue):
            per_venue[v] = per_venue.get(v, Decimal(0)) + notional
    return chosen


def exit_decision(
    position: OpenPosition,
    current: Opportunity | None,
    best_alternative: Opportunity | None,
    now: datetime,
    config: FundingArbitrageConfig,
    *,
    liquidation_distance: Decimal | None = None,
) -> ExitDecision | None:
    """Whether to close `position` now; None = hold.

    Args:
        current: the same direction (symbol, long venue, short venue) priced now, or None when either leg has no
            fresh data (then only time and liquidation rules apply).
        best_alternative: the best opportunity on an asset not held, priced now, or None.
        liquidation_distance: the smaller of the legs' |mark - liquidation| / mark, when known.
    """
    rules = config.exit
    held_hours = Decimal((now - position.opened_at).total_seconds()) / 3600
    if liquidation_distance is not None and liquidation_distance < rules.min_liquidation_distance:
        return ExitDecision("liquidation_risk", f"liquidation distance {liquidation_distance:.4f}")
    if held_hours < rules.min_hold_hours:
        return None
    if rules.max_hold_hours is not None and held_hours >= rules.max_hold_hours:
        return ExitDecision("max_hold", f"held {held_hours:.1f} h")
    if current is None:
        return None
    spread = current.spread_hourly
    if spread <= 0:
        return ExitDecision("spread_flipped", f"spread {spread} per hour")
    horizon = config.entry.horizon_hours
    exit_cost = position.round_trip_cost / 2
    apr_after_exit = (spread * horizon - exit_cost) / horizon * HOURS_PER_YEAR
    if apr_after_exit < rules.exit_net_apr:
        return ExitDecision("below_exit_threshold", f"APR net of exit cost {apr_after_exit:.4f}")
    if best_alternative is not None and best_alternative.spread_hourly > spread:
        remaining = max(horizon - held_hours, Decimal(1))
        gain = (best_alternative.spread_hourly - spread) * remaining
        switch_cost = exit_cost + best_alternative.round_trip_cost
        if gain > rules.switch_cost_multiple * switch_cost:
            return ExitDecision(
                "better_opportunity",
                f"{best_alternative.symbol} {best_alternative.long_venue}->{best_alternative.short_venue} gains "
                f"{gain:.6f} vs switching cost {switch_cost:.6f}",
            )
    return None
