"""Property tests for every function of `perparb_core.units` (the DESIGN.md units table)."""

from __future__ import annotations

import math
import string
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from perparb_core import units
from perparb_core.units import UnitError

# Rates as fractions or percents with at most 12 decimal places: every product/quotient below is exact in the
# default 28-digit Decimal context, so round trips can be asserted with ==.
RATES = st.decimals(
    min_value=Decimal("-10"), max_value=Decimal("10"), places=12, allow_nan=False, allow_infinity=False
)
NON_NEGATIVE_RATES = st.decimals(min_value=Decimal(0), max_value=Decimal("10"), places=12)
FIELDS = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=30)
# Periods whose reciprocal terminates (so raw / p1 is exact) and any whole period up to 24 h.
EXACT_PERIODS = st.sampled_from([Decimal(p) for p in (1, 2, 4, 5, 8, 10, 16, 20, 25, 40)] + [Decimal("0.5")])
PERIODS = st.integers(min_value=1, max_value=24).map(Decimal)


def sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


# --- sign preservation -----------------------------------------------------------------------------------

SIGN_PRESERVING: list[tuple[str, Callable[[Decimal], Decimal]]] = [
    ("hourly_from_8h", units.hourly_from_8h),
    ("hourly_from_percent_per_hour", units.hourly_from_percent_per_hour),
    ("rate_8h", units.rate_8h),
    ("apr", units.apr),
    ("hourly_from_apr", units.hourly_from_apr),
]


@pytest.mark.parametrize(("name", "fn"), SIGN_PRESERVING)
@given(x=RATES)
def test_conversions_preserve_sign(name: str, fn: Callable[[Decimal], Decimal], x: Decimal) -> None:
    assert sign(fn(x)) == sign(x), name


@given(x=RATES, period=PERIODS)
def test_hourly_from_period_preserves_sign(x: Decimal, period: Decimal) -> None:
    assert sign(units.hourly_from_period(x, period)) == sign(x)


# --- round trips -----------------------------------------------------------------------------------------


@given(h=RATES)
def test_round_trip_hourly_8h_hourly(h: Decimal) -> None:
    assert units.hourly_from_8h(units.rate_8h(h)) == h
    assert units.rate_8h(h) == 8 * h


@given(h=RATES)
def test_round_trip_hourly_apr_hourly(h: Decimal) -> None:
    assert units.hourly_from_apr(units.apr(h)) == h
    assert units.apr(h) == 8760 * h


@given(pct=RATES)
def test_round_trip_percent_per_hour(pct: Decimal) -> None:
    assert units.hourly_from_percent_per_hour(pct) * 100 == pct


@given(raw=RATES, p1=EXACT_PERIODS, p2=PERIODS)
def test_period_change_exact(raw: Decimal, p1: Decimal, p2: Decimal) -> None:
    """A rate per p1 hours -> hourly -> per p2 hours == raw x p2 / p1."""
    assert units.hourly_from_period(raw, p1) * p2 == raw * p2 / p1


@given(raw=RATES, p1=PERIODS, p2=PERIODS)
def test_period_change_any_whole_period(raw: Decimal, p1: Decimal, p2: Decimal) -> None:
    """Same for periods like 3 h whose reciprocal does not terminate: equal to 25 significant digits."""
    converted = units.hourly_from_period(raw, p1) * p2
    expected = raw * p2 / p1
    assert abs(converted - expected) <= abs(expected) * Decimal("1e-25")


@given(raw=RATES)
def test_hourly_from_8h_is_period_8(raw: Decimal) -> None:
    assert units.hourly_from_8h(raw) == units.hourly_from_period(raw, Decimal(8))


@given(period=st.decimals(max_value=Decimal(0), allow_nan=False, allow_infinity=False))
def test_hourly_from_period_rejects_non_positive_period(period: Decimal) -> None:
    with pytest.raises(UnitError) as info:
        units.hourly_from_period(Decimal("0.0001"), period)
    assert info.value.field == "period_hours"


def test_design_examples() -> None:
    assert units.hourly_from_8h(Decimal("0.000096")) == Decimal("0.000012")
    assert units.apr(Decimal("0.000012")) == Decimal("0.10512")
    assert units.rate_8h(Decimal("0.000012")) == Decimal("0.000096")
    assert units.hourly_from_percent_per_hour(Decimal("-0.0012")) == Decimal("-0.000012")


# --- to_decimal ------------------------------------------------------------------------------------------

# Decimals with at most 15 significant digits, within the normal double range.
FIFTEEN_DIGIT = st.builds(
    lambda mantissa, exponent: Decimal(mantissa).scaleb(exponent),
    st.integers(min_value=-(10**15 - 1), max_value=10**15 - 1),
    st.integers(min_value=-40, max_value=40),
)


@given(d=FIFTEEN_DIGIT)
def test_to_decimal_reads_floats_at_15_significant_digits(d: Decimal) -> None:
    """Any decimal of <= 15 significant digits survives the trip through a JSON double (DBL_DIG)."""
    assert units.to_decimal(float(d), "rate") == d


@given(x=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300))
def test_to_decimal_float_is_within_half_an_ulp_of_15_digits(x: float) -> None:
    dec = units.to_decimal(x, "rate")
    digits = dec.normalize().as_tuple().digits
    assert len(digits) <= 15
    assert abs(dec - Decimal(x)) <= abs(Decimal(x)) * Decimal("5e-15")


def test_to_decimal_float_artifact_is_the_meant_value() -> None:
    assert units.to_decimal(0.00009599999999999999, "rate") == Decimal("0.000096")
    assert units.to_decimal(1671431095.263844, "volume") == Decimal("1671431095.26384")  # 16th digit dropped


@given(d=st.decimals(allow_nan=False, allow_infinity=False))
def test_to_decimal_reads_strings_exactly(d: Decimal) -> None:
    got = units.to_decimal(str(d), "rate")
    assert got == d
    if d != 0:
        assert str(got) == str(d)  # trailing zeros and exponent kept: the value exactly as sent


@given(n=st.integers(min_value=-(10**20), max_value=10**20))
def test_to_decimal_reads_ints_exactly(n: int) -> None:
    assert units.to_decimal(n, "market_id") == Decimal(n)


@given(padding=st.text(alphabet=" \t\n", max_size=3), d=FIFTEEN_DIGIT)
def test_to_decimal_strips_whitespace(padding: str, d: Decimal) -> None:
    assert units.to_decimal(f"{padding}{d}{padding}", "rate") == d


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "missing"),
        ("", "empty string"),
        ("   ", "empty string"),
        (True, "boolean is not a number"),
        (False, "boolean is not a number"),
        (math.nan, "not a finite number"),
        (math.inf, "not a finite number"),
        (-math.inf, "not a finite number"),
        ("NaN", "not a finite number"),
        ("sNaN", "not a finite number"),
        ("inf", "not a finite number"),
        ("-Infinity", "not a finite number"),
        (Decimal("NaN"), "not a finite number"),
        ("abc", "not a number"),
        ("1,5", "not a number"),
        ([1], "unexpected type list"),
    ],
)
@given(field=FIELDS)
def test_to_decimal_rejects_with_field_named(value: Any, reason: str, field: str) -> None:
    with pytest.raises(UnitError) as info:
        units.to_decimal(value, field)
    assert info.value.field == field
    assert info.value.reason == reason
    assert str(info.value).startswith(f"{field}=")


@given(d=RATES, field=FIELDS)
def test_to_decimal_range_flags(d: Decimal, field: str) -> None:
    if d < 0:
        with pytest.raises(UnitError) as info:
            units.to_decimal(d, field, allow_negative=False)
        assert (info.value.field, info.value.reason) == (field, "negative")
    elif d == 0:
        with pytest.raises(UnitError) as info:
            units.to_decimal(str(d), field, allow_zero=False)
        assert (info.value.field, info.value.reason) == (field, "zero")
    else:
        assert units.to_decimal(d, field, allow_negative=False, allow_zero=False) == d


@pytest.mark.parametrize("zero", [-0.0, "-0", "-0.000", Decimal("-0")])
def test_to_decimal_normalises_minus_zero(zero: Any) -> None:
    assert str(units.to_decimal(zero, "rate")) == "0"


# --- optional_decimal ------------------------------------------------------------------------------------


@pytest.mark.parametrize("absent", [None, "", "  "])
def test_optional_decimal_absent_is_none(absent: Any) -> None:
    assert units.optional_decimal(absent, "open_interest") is None


@given(value=st.one_of(FIFTEEN_DIGIT.map(str), FIFTEEN_DIGIT.map(float), st.integers()), field=FIELDS)
def test_optional_decimal_present_is_to_decimal(value: Any, field: str) -> None:
    assert units.optional_decimal(value, field) == units.to_decimal(value, field)


@given(d=st.decimals(max_value=Decimal("-0.000001"), allow_nan=False, allow_infinity=False))
def test_optional_decimal_rejects_negative_when_asked(d: Decimal) -> None:
    with pytest.raises(UnitError) as info:
        units.optional_decimal(str(d), "open_interest", allow_negative=False)
    assert (info.value.field, info.value.reason) == ("open_interest", "negative")


@pytest.mark.parametrize("bad", ["NaN", "abc", True, math.inf])
def test_optional_decimal_rejects_present_garbage(bad: Any) -> None:
    with pytest.raises(UnitError) as info:
        units.optional_decimal(bad, "open_interest")
    assert info.value.field == "open_interest"


# --- Lighter fundings direction rule ---------------------------------------------------------------------


@given(rate=NON_NEGATIVE_RATES)
def test_lighter_fundings_long_is_positive_short_negative(rate: Decimal) -> None:
    long = units.hourly_from_unsigned_percent(rate, "long")
    short = units.hourly_from_unsigned_percent(rate, "short")
    assert long == rate / 100 == units.hourly_from_percent_per_hour(rate)
    assert short == -rate / 100 == units.hourly_from_percent_per_hour(-rate)
    assert long >= 0 >= short
    assert long == -short


@given(
    rate=NON_NEGATIVE_RATES,
    direction=st.one_of(
        st.text().filter(lambda t: t not in ("long", "short")), st.none(), st.integers(), st.just("LONG")
    ),
)
def test_lighter_fundings_rejects_other_directions(rate: Decimal, direction: Any) -> None:
    with pytest.raises(UnitError) as info:
        units.hourly_from_unsigned_percent(rate, direction)
    assert info.value.field == "direction"


@given(rate=st.decimals(max_value=Decimal("-0.000000000001"), allow_nan=False, allow_infinity=False))
def test_lighter_fundings_rejects_signed_rate(rate: Decimal) -> None:
    assume(rate < 0)
    with pytest.raises(UnitError) as info:
        units.hourly_from_unsigned_percent(rate, "long")
    assert info.value.field == "rate"


def test_lighter_fundings_recorded_example() -> None:
    """rest_fundings_market_1h_fragment.json: 0.0012 % long -> +0.000012/h; 0.0006 % short -> -0.000006/h."""
    assert units.hourly_from_unsigned_percent(Decimal("0.0012"), "long") == Decimal("0.000012")
    assert units.hourly_from_unsigned_percent(Decimal("0.0006"), "short") == Decimal("-0.000006")
