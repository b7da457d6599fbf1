"""Rounding happens in one place and never worsens the user's limit; equal quantities on two grids."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange_clients.base.trading import RoundingError, Side, common_quantity, round_price, round_quantity


def test_examples() -> None:
    assert round_price(D("3000.017"), D("0.01"), Side.BUY) == D("3000.01")
    assert round_price(D("3000.011"), D("0.01"), Side.SELL) == D("3000.02")
    assert round_price(D("3000.01"), D("0.01"), Side.SELL) == D("3000.01")
    assert round_price(D("67307.77"), D("0.1"), Side.BUY) == D("67307.7")
    assert round_price(D("12345"), D("5"), Side.SELL) == D("12345")
    assert round_quantity(D("0.12349"), D("0.0001")) == D("0.1234")
    with pytest.raises(RoundingError, match=r"below the minimum size 0\.005"):
        round_quantity(D("0.0049"), D("0.0001"), min_size=D("0.005"))
    with pytest.raises(RoundingError):
        round_price(D("0.001"), D("0.01"), Side.BUY)
    # Lighter ETH step 0.0001 and Paradex ETH step 0.001: both legs trade 1.234
    assert common_quantity(D("1.23456"), [D("0.0001"), D("0.001")], [D("0.005"), None]) == D("1.234")
    assert common_quantity(D("7"), [D("2"), D("3")], [None, None]) == D("6")


ticks = st.sampled_from([D("0.01"), D("0.1"), D("0.5"), D("1"), D("0.0001"), D("5")])
prices = st.decimals(
    min_value=D("0.5"), max_value=D("100000"), places=6, allow_nan=False, allow_infinity=False
)


@given(prices, ticks, st.sampled_from(list(Side)))
def test_price_on_grid_and_never_worse(price: D, tick: D, side: Side) -> None:
    try:
        r = round_price(price, tick, side)
    except RoundingError:
        assert side is Side.BUY and price < tick
        return
    assert r % tick == 0
    assert abs(r - price) < tick
    assert (r <= price) if side is Side.BUY else (r >= price)


@given(
    st.decimals(min_value=D("0.001"), max_value=D("1000"), places=6),
    st.sampled_from([D("0.001"), D("0.01"), D("1")]),
)
def test_quantity_never_more_than_asked(q: D, step: D) -> None:
    try:
        r = round_quantity(q, step)
    except RoundingError:
        assert q < step
        return
    assert r % step == 0 and r <= q and q - r < step
