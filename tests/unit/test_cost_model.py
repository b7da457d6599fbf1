"""Cost model: fee resolution, round-trip cost, gross/net APR, break-even (DESIGN.md "Opportunity maths")."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funding_rate_service import cost_model as cm

# ------------------------------------------------------------------------------------------------ fees


def test_resolve_fee_order_override_then_venue_then_default() -> None:
    overrides = {("lighter", "taker"): D("0.0001")}
    assert cm.resolve_fee("lighter", "taker", D("0.0003"), overrides, D("0.0005")) == D("0.0001")
    assert cm.resolve_fee("paradex", "taker", D("0.0003"), overrides, D("0.0005")) == D("0.0003")
    assert cm.resolve_fee("paradex", "taker", None, overrides, D("0.0005")) == D("0.0005")
    # the override is per side: a taker override does not touch the maker fee
    assert cm.resolve_fee("lighter", "maker", None, overrides, D("0.0002")) == D("0.0002")


def test_a_venue_documented_fee_comes_between_the_market_fee_and_the_generic_default() -> None:
    documented = {("paradex", "taker"): D("0.0002")}
    # the market's own fee still wins; an unpublished one falls back to the venue's documented standard tier
    assert cm.resolve_fee("paradex", "taker", D("0.0003"), {}, D("0.0005"), documented) == D("0.0003")
    assert cm.resolve_fee("paradex", "taker", None, {}, D("0.0005"), documented) == D("0.0002")
    assert cm.resolve_fee("lighter", "taker", None, {}, D("0.0005"), documented) == D("0.0005")
    assert cm.resolve_fee(
        "paradex", "taker", None, {("paradex", "taker"): D(0)}, D("0.0005"), documented
    ) == D(0)


def test_service_queries_carry_every_installed_venue_documented_fees() -> None:
    from exchange_clients.registry import venue_default_fees, venue_specs

    fees = venue_default_fees()
    for name, spec in venue_specs().items():
        assert (fees[(name, "taker")], fees[(name, "maker")]) == (spec.fees.taker, spec.fees.maker)


def test_resolve_fee_zero_is_a_real_fee_not_missing() -> None:
    # Lighter's standard tier publishes 0 %: zero must win over the default, only None falls through.
    assert cm.resolve_fee("lighter", "taker", D(0), {}, D("0.0005")) == D(0)
    assert cm.resolve_fee("lighter", "taker", D("0.0003"), {("lighter", "taker"): D(0)}, D("0.0005")) == D(0)


def test_defaults_are_documented_values() -> None:
    assert cm.DEFAULT_TAKER_FEE == D("0.0005")
    assert cm.DEFAULT_MAKER_FEE == D("0.0002")


# ------------------------------------------------------------------------------------------------ cost


def test_round_trip_cost_fees_only() -> None:
    assert cm.round_trip_cost(D("0.0002"), D("0.0005")) == D("0.0014")


def test_round_trip_cost_with_slippage_and_cross_spread() -> None:
    # 2 * 0.0007 + 4 fills * 1 bp + 2 bp cross spread = 0.0014 + 0.0004 + 0.0002
    assert cm.round_trip_cost(D("0.0002"), D("0.0005"), D(1), D(2)) == D("0.0020")
    assert cm.fixed_cost(D(1), D(2)) == D("0.0006")
    assert cm.fixed_cost() == D(0)


def test_round_trip_cost_maker_rebates_can_be_negative() -> None:
    assert cm.round_trip_cost(D("-0.0001"), D("-0.00005")) == D("-0.0003")


# ------------------------------------------------------------------------------------------------- APR


def test_hand_computed_example() -> None:
    spread, cost, horizon = D("0.00004"), D("0.0014"), D(168)
    assert cm.gross_apr(spread) == D("0.3504")
    # (0.00004 * 168 - 0.0014) / 168 * 8760 = 0.00532 * 8760 / 168 = 46.6032 / 168
    assert cm.net_apr(spread, cost, horizon) == D("0.2774")
    assert cm.break_even_hours(spread, cost) == D(35)


def test_net_apr_is_zero_at_the_break_even_horizon() -> None:
    assert cm.net_apr(D("0.00004"), D("0.0014"), D(35)) == D(0)
    assert cm.net_apr(D("0.00004"), D("0.0014"), D(34)) < 0 < cm.net_apr(D("0.00004"), D("0.0014"), D(36))


def test_net_apr_refuses_non_positive_horizon() -> None:
    with pytest.raises(ValueError, match="horizon_hours"):
        cm.net_apr(D("0.00004"), D("0.0014"), D(0))


def test_break_even_edge_cases() -> None:
    assert cm.break_even_hours(D(0), D("0.0014")) is None
    assert cm.break_even_hours(D("-0.00001"), D("0.0014")) is None
    assert cm.break_even_hours(D("0.00001"), D(0)) == D(0)
    assert cm.break_even_hours(D("0.00001"), D("-0.0001")) == D(0)  # rebates: earned back immediately
    assert cm.break_even_hours(D(0), D(0)) is None  # never earns anything


# ------------------------------------------------------------------------------------------ properties

rates = st.decimals(
    min_value=D("-0.01"), max_value=D("0.01"), places=10, allow_nan=False, allow_infinity=False
)
fees = st.decimals(min_value=D(0), max_value=D("0.01"), places=6)
horizons = st.integers(min_value=1, max_value=100_000).map(D)


@given(spread=rates, long_fee=fees, short_fee=fees, horizon=horizons)
def test_net_never_exceeds_gross_when_costs_are_non_negative(
    spread: D, long_fee: D, short_fee: D, horizon: D
) -> None:
    cost = cm.round_trip_cost(long_fee, short_fee)
    assert cm.net_apr(spread, cost, horizon) <= cm.gross_apr(spread)


@given(spread=rates, cost=st.decimals(min_value=D("0.000001"), max_value=D("0.05"), places=8), h1=horizons)
def test_net_apr_increases_with_the_horizon_for_positive_costs(spread: D, cost: D, h1: D) -> None:
    h2 = h1 + 1
    assert cm.net_apr(spread, cost, h2) > cm.net_apr(spread, cost, h1)


@given(
    spread=st.decimals(min_value=D("0.0000000001"), max_value=D("0.01"), places=10),
    cost=st.decimals(min_value=D(0), max_value=D("0.05"), places=8),
)
def test_break_even_times_spread_is_cost(spread: D, cost: D) -> None:
    hours = cm.break_even_hours(spread, cost)
    assert hours is not None
    # one rounding in the division (28 digits), one in the product: relative error below 1e-26
    assert abs(hours * spread - cost) <= cost * D("1e-26")
    # and holding exactly that long nets zero (to the same precision)
    if hours > 0:
        assert abs(cm.net_apr(spread, cost, hours)) <= D("1e-20")
