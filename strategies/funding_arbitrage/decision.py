"""Funding-arbitrage decisions: the SAME objects in live trading, paper trading and the backtester.

Pure functions of (config, candidates, open positions, signals, time); no I/O. The caller supplies data known
at decision time only (the backtester guarantees no look-ahead by what it passes in).

A candidate (`EntryCandidate`) is one direction priced by the opportunity finder (fees, round-trip cost,
filters) together with its `signals.SignalEstimate` (what the strategy expects it to pay). Decisions act on the
estimate, never on one hour's spread unless the configured estimator is `instantaneous` (DESIGN.md "Signals").

* `opportunity_query(config, now)`: the finder query a config implies (horizon, filters, costs).
* `entry_refusal(candidate, config)`: why a candidate does not qualify (None when it does): a stale leg, no
  estimate, expected gross APR below `entry.min_signal_apr`, expected net APR over the horizon below
  `entry.min_net_apr`, stability below `entry.min_stability` (t-stat of daily means) / above
  `entry.max_spread_cv` / below `entry.min_sign_share`, persistence below `entry.min_spread_persistence_hours`.
* `choose_entries(...)`: the qualifying candidates, best expected net APR first, under max positions, per-venue
  and total exposure and one position per base asset.
* `exit_decision(...)`: whether to close an open position, and why. In order: liquidation risk; a stale leg
  (no fresh non-zero rate for `exit.max_stale_hours`); then, once `exit.min_hold_hours` have passed: max hold,
  the optional one-hour flip (`exit.exit_on_flip`), the expected gross APR below `exit.exit_signal_apr`
  (hysteresis: the entry threshold is higher), or a better candidate whose expected gain over the remaining
  horizon exceeds `exit.switch_cost_multiple` x the real switching cost.

Costs follow DESIGN.md: a round trip C = entry + exit fees on both legs + slippage. An open position's exit
cost is paid whenever it closes, so it never decides an exit; switching adds the new position's whole round
trip (enter now, exit later), which is the switching cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from exchange_clients.registry import venue_default_fees
from funding_rate_service.opportunity_finder import Opportunity, OpportunityQuery
from strategies.config import FundingArbitrageConfig
from strategies.funding_arbitrage.signals import SignalEstimate, SignalParams

_HOUR = timedelta(hours=1)

EXIT_REASONS = (
    "liquidation_risk",
    "stale_leg",
    "max_hold",
    "spread_flipped",
    "below_exit_threshold",
    "better_opportunity",
    "stop",
    "end_of_data",
)


def signal_params(config: FundingArbitrageConfig) -> SignalParams:
    """The `SignalParams` of a config's `signal` section."""
    s = config.signal
    return SignalParams(
        estimator=s.estimator,
        half_life_hours=float(s.half_life_hours) if s.half_life_hours is not None else 0.0,
        window_hours=s.lookback_hours,
        stability_days=s.stability_days,
        min_hours=s.required_hours,
    )


def opportunity_query(config: FundingArbitrageConfig, now: datetime) -> OpportunityQuery:
    """The finder query a config implies at `now`: every direction of the config's venues and symbols, priced
    with its costs (fees: the config's overrides > the market's published fee > the venue's documented
    standard tier, `registry.venue_default_fees`, as the ranking prices them) and filtered by volume, open
    interest and data age. No APR threshold: entries are decided on
    the signal (`entry_refusal`)."""
    overrides = {
        (venue, side): fee
        for venue, sides in config.costs.fee_overrides.items()
        for side, fee in sides.items()
    }
    return OpportunityQuery(
        horizon_hours=config.entry.horizon_hours,
        min_net_apr=None,
        use_maker_fees=config.costs.fee_mode == "maker",
        fee_overrides=overrides,
        venue_default_fees=venue_default_fees(),
        slippage_bps=config.costs.slippage_bps,
        min_volume_24h_usd=config.entry.min_volume_24h_usd or None,
        min_open_interest_usd=config.entry.min_open_interest_usd or None,
        venues_include=frozenset(config.venues),
        symbols=config.symbol_set,
        max_data_age_seconds=float(config.entry.max_data_age_seconds),
        now=now,
    )


@dataclass(frozen=True, slots=True)
class EntryCandidate:
    """One direction as the finder priced it now, with what the strategy expects it to pay."""

    opportunity: Opportunity
    signal: SignalEstimate

    def key(self) -> tuple[str, str, str]:
        return (self.opportunity.symbol, self.opportunity.long_venue, self.opportunity.short_venue)

    @property
    def symbol(self) -> str:
        return self.opportunity.symbol

    @property
    def long_venue(self) -> str:
        return self.opportunity.long_venue

    @property
    def short_venue(self) -> str:
        return self.opportunity.short_venue

    @property
    def round_trip_cost(self) -> Decimal:
        return self.opportunity.round_trip_cost

    def expected_net_apr(self, horizon_hours: Decimal) -> float | None:
        """(signal x H - C) / H x 8760, fraction per year; None without an estimate."""
        return self.signal.net_apr(float(self.round_trip_cost), float(horizon_hours))


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """What the decision code needs of an open two-leg position. Notional in USD per leg; `entry_signal_apr`
    the expected gross APR at entry (fraction; None when unknown, e.g. a position opened by an older version)."""

    symbol: str
    long_venue: str
    short_venue: str
    opened_at: datetime
    notional_usd: Decimal
    entry_spread_hourly: Decimal
    round_trip_cost: Decimal
    entry_signal_apr: float | None = None

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


def is_stale(signal: SignalEstimate, config: FundingArbitrageConfig) -> bool:
    """A leg of the direction has had no fresh non-zero rate for more than `exit.max_stale_hours`."""
    return signal.stale_hours > float(config.exit.max_stale_hours)


def entry_refusal(candidate: EntryCandidate, config: FundingArbitrageConfig) -> str | None:
    """Why `candidate` may not be entered now (a short reason naming the figure), or None when it qualifies.

    Rules (module docstring): stale leg, no estimate, gross APR, net APR over the horizon, t-stat, CV, sign
    share, persistence (unknown persistence counts as 0 when a minimum is set)."""
    sig = candidate.signal
    entry = config.entry
    if is_stale(sig, config):
        return f"stale leg {sig.stale_venue}: no fresh non-zero rate for {sig.stale_hours:.1f} h"
    apr = sig.apr
    if apr is None:
        return f"no estimate ({sig.hours} known hours)"
    if entry.min_signal_apr is not None and apr < float(entry.min_signal_apr):
        return f"signal APR {apr:.4f} < {entry.min_signal_apr}"
    if entry.min_net_apr is not None:
        net = candidate.expected_net_apr(entry.horizon_hours)
        if net is None or net < float(entry.min_net_apr):
            shown = "-" if net is None else f"{net:.4f}"
            return f"expected net APR {shown} < {entry.min_net_apr}"
    if entry.min_stability is not None and (sig.tstat is None or sig.tstat < float(entry.min_stability)):
        return f"t-stat {sig.tstat} < {entry.min_stability}"
    if entry.max_spread_cv is not None and (sig.cv is None or sig.cv > float(entry.max_spread_cv)):
        return f"CV {sig.cv} > {entry.max_spread_cv}"
    if entry.min_sign_share is not None and (
        sig.sign_share is None or sig.sign_share < float(entry.min_sign_share)
    ):
        return f"sign share {sig.sign_share} < {entry.min_sign_share}"
    need = entry.min_spread_persistence_hours
    if need > 0 and Decimal(candidate.opportunity.sign_persistence_hours or 0) < need:
        return f"persistence {candidate.opportunity.sign_persistence_hours} h < {need}"
    return None


def rank(candidates: Iterable[EntryCandidate], config: FundingArbitrageConfig) -> list[EntryCandidate]:
    """Qualifying candidates, best expected net APR over the horizon first; ties in (symbol, long venue, short
    venue) order, whatever the input order."""
    horizon = config.entry.horizon_hours
    ok = [c for c in candidates if entry_refusal(c, config) is None]

    def key(c: EntryCandidate) -> tuple[float, tuple[str, str, str]]:
        net = c.expected_net_apr(horizon)
        return (math.inf if net is None else -net, c.key())

    return sorted(ok, key=key)


def choose_entries(
    candidates: Sequence[EntryCandidate],
    open_positions: Sequence[OpenPosition],
    config: FundingArbitrageConfig,
    *,
    ranked: bool = False,
) -> list[EntryCandidate]:
    """The candidates to open now, best first (`rank`), each at `sizing.target_notional_usd` per leg.

    Skips an asset already held and anything that would exceed `max_positions`, a venue's
    `max_exposure_per_venue_usd` or `max_total_exposure_usd` (total = both legs).

    `ranked=True`: `candidates` is already the output of `rank(..., config)` (the backtester ranks once per
    decision time and asks several times), so the entry rules are not evaluated again.
    """
    sizing = config.sizing
    notional = sizing.target_notional_usd
    held = {p.symbol for p in open_positions}
    per_venue = exposure_by_venue(open_positions)
    total = sum(per_venue.values(), Decimal(0))
    count = len(open_positions)
    chosen: list[EntryCandidate] = []
    for cand in candidates if ranked else rank(candidates, config):
        if count >= sizing.max_positions:
            break
        if cand.symbol in held:
            continue
        if sizing.max_total_exposure_usd is not None and total + 2 * notional > sizing.max_total_exposure_usd:
            continue
        cap = sizing.max_exposure_per_venue_usd
        venues = (cand.long_venue, cand.short_venue)
        if cap is not None and any(per_venue.get(v, Decimal(0)) + notional > cap for v in venues):
            continue
        chosen.append(cand)
        held.add(cand.symbol)
        count += 1
        total += 2 * notional
        for v in venues:
            per_venue[v] = per_venue.get(v, Decimal(0)) + notional
    return chosen


def explain_entries(
    candidates: Sequence[EntryCandidate],
    open_positions: Sequence[OpenPosition],
    config: FundingArbitrageConfig,
    *,
    limit: int = 5,
) -> list[tuple[EntryCandidate, str | None]]:
    """The `limit` best candidates by expected net APR over the horizon (qualifying or not), each with why it is
    not entered now (a short reason naming the figures) or None when `choose_entries` would open it.

    The same rules as `choose_entries`, in the same order: the entry rules (`entry_refusal`), then an asset
    already held, `max_positions`, `max_total_exposure_usd` and each venue's `max_exposure_per_venue_usd`. What
    operators read in `entry_skipped` events and `perparb status` (issue: runs that enter nothing say why).
    """
    sizing = config.sizing
    notional = sizing.target_notional_usd
    horizon = config.entry.horizon_hours
    held = {p.symbol for p in open_positions}
    per_venue = exposure_by_venue(open_positions)
    total = sum(per_venue.values(), Decimal(0))
    count = len(open_positions)

    def order(c: EntryCandidate) -> tuple[float, tuple[str, str, str]]:
        net = c.expected_net_apr(horizon)
        return (math.inf if net is None else -net, c.key())

    out: list[tuple[EntryCandidate, str | None]] = []
    for cand in sorted(candidates, key=order)[:limit]:
        why = entry_refusal(cand, config)
        venues = (cand.long_venue, cand.short_venue)
        cap = sizing.max_exposure_per_venue_usd
        if why is None:
            if count >= sizing.max_positions:
                why = f"max_positions {sizing.max_positions} reached ({count} open)"
            elif cand.symbol in held:
                why = f"a position on {cand.symbol} is already open"
            elif (
                sizing.max_total_exposure_usd is not None
                and total + 2 * notional > sizing.max_total_exposure_usd
            ):
                why = (
                    f"total exposure {total} + 2 x {notional} > max_total_exposure_usd "
                    f"{sizing.max_total_exposure_usd}"
                )
            elif cap is not None and any(per_venue.get(v, Decimal(0)) + notional > cap for v in venues):
                venue = next(v for v in venues if per_venue.get(v, Decimal(0)) + notional > cap)
                why = (
                    f"{venue} exposure {per_venue.get(venue, Decimal(0))} + {notional} > "
                    f"max_exposure_per_venue_usd {cap}"
                )
        if why is None:
            held.add(cand.symbol)
            count += 1
            total += 2 * notional
            for v in venues:
                per_venue[v] = per_venue.get(v, Decimal(0)) + notional
        out.append((cand, why))
    return out


def remaining_hours(held_hours: float, config: FundingArbitrageConfig) -> float:
    """The switching horizon of a position held `held_hours`: `entry.horizon_hours`, or the hours left to
    `exit.max_hold_hours` when fewer."""
    remaining = float(config.entry.horizon_hours)
    if config.exit.max_hold_hours is not None:
        remaining = min(remaining, float(config.exit.max_hold_hours) - held_hours)
    return remaining


def could_switch(
    position: OpenPosition,
    signal: SignalEstimate | None,
    best_spread: float,
    cheapest_cost: float,
    now: datetime,
    config: FundingArbitrageConfig,
) -> bool:
    """Whether any alternative whose expected spread is at most `best_spread` (fraction per hour) and whose
    round trip costs at least `cheapest_cost` could pass the switching rule of `exit_decision`: False lets a
    caller skip looking for the best alternative (the rule is monotonic in both)."""
    if signal is None or signal.spread_hourly is None:
        return False
    remaining = remaining_hours((now - position.opened_at) / _HOUR, config)
    if remaining <= 0:
        return True  # the bound needs a positive horizon; let the rule itself decide
    gain = (best_spread - signal.spread_hourly) * remaining
    return gain > float(config.exit.switch_cost_multiple) * cheapest_cost


def exit_decision(
    position: OpenPosition,
    signal: SignalEstimate | None,
    best_alternative: EntryCandidate | Callable[[], EntryCandidate | None] | None,
    now: datetime,
    config: FundingArbitrageConfig,
    *,
    liquidation_distance: Decimal | None = None,
) -> ExitDecision | None:
    """Whether to close `position` now; None = hold.

    Args:
        signal: the position's own direction estimated now (None: nothing known about it; then only time and
            liquidation rules apply).
        best_alternative: the best candidate on an asset not held that `choose_entries` would open, or None;
            or a function returning it, called only when the switching rule is reached (it is the costly part
            for callers that rank many candidates).
        liquidation_distance: the smaller of the legs' |mark - liquidation| / mark, when known.

    Switching: the alternative is expected to earn (its spread - this one's) per hour over the remaining
    horizon R = `entry.horizon_hours` (or the hours left to `exit.max_hold_hours`, if fewer); the real cost
    of switching is the new position's round trip (this position's exit is paid whenever it closes). Switch
    when the gain exceeds `switch_cost_multiple` x that cost.
    """
    rules = config.exit
    held_hours = (now - position.opened_at) / _HOUR
    if liquidation_distance is not None and liquidation_distance < rules.min_liquidation_distance:
        return ExitDecision("liquidation_risk", f"liquidation distance {liquidation_distance:.4f}")
    if signal is not None and is_stale(signal, config):
        return ExitDecision(
            "stale_leg",
            f"{signal.stale_venue}: no fresh non-zero rate for {signal.stale_hours:.1f} h "
            f"(max {rules.max_stale_hours})",
        )
    if held_hours < float(rules.min_hold_hours):
        return None
    if rules.max_hold_hours is not None and held_hours >= float(rules.max_hold_hours):
        return ExitDecision("max_hold", f"held {held_hours:.1f} h")
    if signal is None:
        return None
    instant = signal.instantaneous_hourly
    if rules.exit_on_flip and instant is not None and instant <= 0:
        return ExitDecision("spread_flipped", f"spread {instant:.8f} per hour")
    apr = signal.apr
    if apr is None:
        return None
    if apr < float(rules.exit_signal_apr):
        return ExitDecision("below_exit_threshold", f"signal APR {apr:.4f} < {rules.exit_signal_apr}")
    if callable(best_alternative):
        best_alternative = best_alternative()
    alt = best_alternative.signal.spread_hourly if best_alternative is not None else None
    if best_alternative is not None and alt is not None and signal.spread_hourly is not None:
        remaining = remaining_hours(held_hours, config)
        gain = (alt - signal.spread_hourly) * remaining
        cost = float(best_alternative.round_trip_cost)
        if gain > float(rules.switch_cost_multiple) * cost:
            return ExitDecision(
                "better_opportunity",
                f"{best_alternative.symbol} {best_alternative.long_venue}->{best_alternative.short_venue} gains "
                f"{gain:.6f} over {remaining:.0f} h vs switching cost {cost:.6f}",
            )
    return None
