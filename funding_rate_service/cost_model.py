"""Round-trip cost and net-APR maths of a two-leg funding-rate arbitrage (DESIGN.md "Opportunity maths").

A delta-neutral position is long the perpetual of a base asset on venue A and short it on venue B, both
legs of the same notional. It earns `spread_hourly = rate_hourly(B) - rate_hourly(A)` (fractions per hour,
positive when longs pay shorts, see `perparb_core.units`). Entering and leaving costs, as a
fraction of notional:

    C = 2 * (fee_A + fee_B)              entry and exit fee on both legs (taker, or maker when asked)
      + 4 * slippage_bps / 10_000        expected slippage on each of the four fills
      + cross_spread_bps / 10_000        expected cross-venue bid/ask spread paid over the round trip

Held for a horizon of H hours:

    gross_apr        = spread_hourly * 8760
    net_apr          = (spread_hourly * H - C) / H * 8760
    break_even_hours = C / spread_hourly

The whole round trip is amortised over the horizon H. Charging it against one funding period (1 h on Lighter,
8 h on most Paradex markets), as some tools do, understates net APR by orders of magnitude and is wrong.

Fee resolution order for one leg (`resolve_fee`): an explicit override for (venue, side) > the fee the venue
publishes in its market metadata (Lighter `orderBookDetails` `taker_fee`/`maker_fee`, Paradex `markets`
`fee_config.api_fee`; ../shared/reference/PROTOCOL_NOTES.md §1.2, §1.6, §2.2, §2.6) > the default of the
query (`DEFAULT_TAKER_FEE` = 0.0005, `DEFAULT_MAKER_FEE` = 0.0002, i.e. 5 and 2 bps: deliberately
conservative for a venue that publishes nothing; for scale, Lighter premium is 0.028 % / 0.004 % taker/maker
and standard 0 / 0, Paradex API standard 0.02 % / 0.003 %). A published 0 is a real fee, not "missing".

All values are `Decimal`. Fees are fractions of notional (0.0005 = 5 bps); a negative maker fee is a rebate.
Every function here is pure and raises nothing except where documented.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from perparb_core.settings import FeeSide

HOURS_PER_YEAR = Decimal(8760)
BPS = Decimal(10_000)
FILLS_PER_ROUND_TRIP = Decimal(4)
"""Open long, open short, close long, close short."""

DEFAULT_TAKER_FEE = Decimal("0.0005")
"""5 bps: used for a leg whose venue publishes no taker fee and has no override."""
DEFAULT_MAKER_FEE = Decimal("0.0002")
"""2 bps: used for a leg whose venue publishes no maker fee and has no override."""

_ZERO = Decimal(0)
_TWO = Decimal(2)


def resolve_fee(
    venue: str,
    side: FeeSide,
    venue_fee: Decimal | None,
    overrides: Mapping[tuple[str, FeeSide], Decimal],
    default: Decimal,
    venue_defaults: Mapping[tuple[str, FeeSide], Decimal] | None = None,
) -> Decimal:
    """The fee (fraction of notional) one leg pays per fill.

    Order: `overrides[(venue, side)]` > `venue_fee` (the venue's market metadata, None when it says nothing)
    > `venue_defaults[(venue, side)]` (the venue's documented standard tier, `VenueSpec.fees`) > `default`.
    """
    override = overrides.get((venue, side))
    if override is not None:
        return override
    if venue_fee is not None:
        return venue_fee
    if venue_defaults is not None:
        documented = venue_defaults.get((venue, side))
        if documented is not None:
            return documented
    return default


def fixed_cost(slippage_bps: Decimal = _ZERO, cross_spread_bps: Decimal = _ZERO) -> Decimal:
    """The part of the round-trip cost that does not depend on the venues' fees, as a fraction of notional:
    `4 * slippage_bps / 1e4 + cross_spread_bps / 1e4` (slippage is per fill, four fills; the cross-venue
    spread is per round trip)."""
    return (FILLS_PER_ROUND_TRIP * slippage_bps + cross_spread_bps) / BPS


def round_trip_cost(
    long_fee: Decimal,
    short_fee: Decimal,
    slippage_bps: Decimal = _ZERO,
    cross_spread_bps: Decimal = _ZERO,
) -> Decimal:
    """Cost C of opening and closing both legs, as a fraction of the notional of one leg.

    `C = 2 * (long_fee + short_fee) + 4 * slippage_bps / 1e4 + cross_spread_bps / 1e4`.

    Args:
        long_fee, short_fee: fee per fill on the long and short venue (fractions; resolve them with
            `resolve_fee`: override > venue metadata > default).
        slippage_bps: expected slippage per fill, in basis points.
        cross_spread_bps: expected cross-venue bid/ask spread paid per round trip, in basis points.

    Example: fees 0.0002 and 0.0005, no slippage: C = 2 * 0.0007 = 0.0014.
    """
    return _TWO * (long_fee + short_fee) + fixed_cost(slippage_bps, cross_spread_bps)


def gross_apr(spread_hourly: Decimal) -> Decimal:
    """Annualised spread before costs: `spread_hourly * 8760` (fraction per year)."""
    return spread_hourly * HOURS_PER_YEAR


def net_apr(spread_hourly: Decimal, cost: Decimal, horizon_hours: Decimal) -> Decimal:
    """Annualised return after amortising the round-trip cost over the holding horizon.

    `net_apr = (spread_hourly * H - C) / H * 8760`, computed as `(spread_hourly * H - C) * 8760 / H` so that
    the only rounding is the final division (28 significant digits).

    Raises:
        ValueError: when `horizon_hours` is not positive.
    """
    if horizon_hours <= 0:
        raise ValueError(f"horizon_hours={horizon_hours!r}: must be positive")
    return (spread_hourly * horizon_hours - cost) * HOURS_PER_YEAR / horizon_hours


def break_even_hours(spread_hourly: Decimal, cost: Decimal) -> Decimal | None:
    """Hours of holding until the funding earned pays the round trip: `C / spread_hourly`.

    None when `spread_hourly <= 0` (it never breaks even); 0 when `C <= 0` (nothing to earn back: no costs,
    or maker rebates larger than the other costs).
    """
    if spread_hourly <= 0:
        return None
    if cost <= 0:
        return _ZERO
    return cost / spread_hourly
