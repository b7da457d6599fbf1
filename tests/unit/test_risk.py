"""The risk guardian's rules (`strategies.risk`) and the run book's figures (`strategies.book`), on hand-made
books: each limit breached and not breached at its edge, episodes announced once, the riskiest position."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

import pytest

from perparb_core.errors import ConfigError
from strategies.book import LegExposure, RunBook, leg_from_snapshot
from strategies.config import RiskRules, parse_config
from strategies.risk import RiskGuardian

T0 = datetime(2026, 12, 1, 23, 0, tzinfo=timezone.utc)


def leg(venue: str, qty: str, mark: str, *, liq: str | None = None, pid: int | None = 1) -> LegExposure:
    return LegExposure(
        venue=venue,
        symbol="ETH",
        quantity=D(qty),
        mark_price=D(mark),
        notional_usd=D(qty) * D(mark),
        unrealised_usd=D(0),
        liquidation_distance=None if liq is None else D(liq),
        margin_ratio=None,
        position_id=pid,
    )


def book(equity: str, *legs: LegExposure, at: datetime = T0) -> RunBook:
    return RunBook(
        at=at, legs=tuple(legs), open_positions=len({g.position_id for g in legs}), funding_usd=D(equity)
    )


def rules(**limits: Any) -> RiskRules:
    return RiskRules.model_validate(limits)


def test_drawdown_is_measured_from_the_peak_and_announced_once() -> None:
    guard = RiskGuardian(rules(max_drawdown_usd={"limit": 100, "action": "flatten"}))
    assert guard.evaluate(book("50")) == []
    assert guard.evaluate(book("200")) == []
    assert guard.evaluate(book("100")) == []  # 100 below the peak: at the limit, not beyond it
    (first,) = guard.evaluate(book("99.99"))
    assert (first.limit, first.action, first.value, first.new) == (
        "max_drawdown_usd",
        "flatten",
        D("100.01"),
        True,
    )
    (again,) = guard.evaluate(book("90"))
    assert again.new is False and again.value == D(110)
    assert guard.evaluate(book("150")) == []  # back within: the episode ends
    (third,) = guard.evaluate(book("0"))
    assert third.new is True and third.value == D(200)


def test_daily_loss_restarts_at_the_first_book_of_each_utc_day() -> None:
    guard = RiskGuardian(rules(max_daily_loss_usd={"limit": 30, "action": "pause_entries"}))
    assert guard.evaluate(book("100", at=T0)) == []  # 23:00 on day 1: the day's opening equity is 100
    (breach,) = guard.evaluate(book("60", at=T0 + timedelta(minutes=30)))
    assert breach.value == D(40) and breach.action == "pause_entries"
    # a new UTC day: its opening equity is the first book's, so the loss is measured from 60
    assert guard.evaluate(book("60", at=T0 + timedelta(hours=1, minutes=1))) == []
    assert guard.evaluate(book("35", at=T0 + timedelta(hours=2))) == []
    assert [b.value for b in guard.evaluate(book("29", at=T0 + timedelta(hours=3)))] == [D(31)]


def test_net_delta_sees_a_naked_leg_not_a_hedged_pair() -> None:
    guard = RiskGuardian(rules(max_net_delta_usd={"limit": 500, "action": "alert"}))
    hedged = book("0", leg("a", "1", "3600"), leg("b", "-1", "3601"))
    assert guard.evaluate(hedged) == []
    naked = book("0", leg("a", "1", "3600"))
    (breach,) = guard.evaluate(naked)
    assert breach.value == D(3600) and breach.limit == "max_net_delta_usd"


def test_liquidation_distance_takes_the_nearest_leg_and_ignores_legs_without_one() -> None:
    guard = RiskGuardian(rules(min_liquidation_distance={"limit": "0.1", "action": "reduce"}))
    assert guard.evaluate(book("0", leg("a", "1", "3600", liq="0.3"), leg("b", "-1", "3600"))) == []
    (breach,) = guard.evaluate(
        book("0", leg("a", "1", "3600", liq="0.3"), leg("b", "-1", "3600", liq="0.09"))
    )
    assert breach.value == D("0.09") and breach.action == "reduce"
    assert guard.evaluate(book("0")) == []  # no leg: nothing to judge


def test_failed_cycles_breach_at_the_limit() -> None:
    guard = RiskGuardian(rules(max_consecutive_failed_cycles={"limit": 3, "action": "pause_entries"}))
    assert guard.evaluate(book("0"), failed_cycles=2) == []
    (breach,) = guard.evaluate(book("0"), failed_cycles=3)
    assert breach.value == 3 and breach.new
    assert guard.evaluate(book("0"), failed_cycles=0) == []


def test_every_limit_at_once_in_config_order() -> None:
    guard = RiskGuardian(
        rules(
            max_drawdown_usd={"limit": 1, "action": "alert"},
            max_consecutive_failed_cycles={"limit": 1, "action": "alert"},
            max_net_delta_usd={"limit": 1, "action": "alert"},
            min_liquidation_distance={"limit": "0.5", "action": "alert"},
            max_daily_loss_usd={"limit": 1, "action": "alert"},
        )
    )
    guard.evaluate(book("100"))
    breaches = guard.evaluate(book("10", leg("a", "1", "100", liq="0.2")), failed_cycles=5)
    assert [b.limit for b in breaches] == [
        "max_drawdown_usd",
        "max_consecutive_failed_cycles",
        "max_net_delta_usd",
        "min_liquidation_distance",
        "max_daily_loss_usd",
    ]
    assert all("action alert" in b.message for b in breaches)


@pytest.mark.parametrize(
    ("risk", "message"),
    [
        ({"max_drawdown_usd": {"limit": -1, "action": "flatten"}}, "risk.max_drawdown_usd.limit"),
        ({"max_drawdown_usd": {"limit": 1, "action": "panic"}}, "risk.max_drawdown_usd.action"),
        ({"max_consecutive_failed_cycles": {"limit": "2.5", "action": "alert"}}, "whole number"),
        ({"min_liquidation_distance": {"limit": 1, "action": "reduce"}}, "in (0, 1)"),
        ({"max_daily_loss": {"limit": 1, "action": "alert"}}, "risk.max_daily_loss"),
    ],
)
def test_bad_risk_blocks_are_refused_naming_the_field(risk: dict[str, Any], message: str) -> None:
    data = {
        "strategy": "grid",
        "name": "g",
        "venue": "lighter",
        "symbol": "ETH",
        "lower_price": 1,
        "upper_price": 2,
        "levels": 3,
        "quantity_per_level": 1,
        "max_position": 3,
        "risk": risk,
    }
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_config(data)


def test_book_figures_and_the_riskiest_position() -> None:
    b = RunBook(
        at=T0,
        legs=(
            leg("a", "2", "100", liq="0.4", pid=1),
            leg("b", "-2", "101", liq="0.2", pid=1),
            leg("a", "10", "50", pid=2),
            leg("b", "-10", "50", pid=2),
        ),
        open_positions=2,
        funding_usd=D("5"),
        realised_usd=D("-1.5"),
        unrealised_usd=D("2"),
    )
    assert b.equity_usd == D("5.5")
    assert b.net_delta_usd == D(-2)  # 200 - 202 + 500 - 500
    assert b.notional_by_venue() == {"a": D(700), "b": D(702)}
    assert b.riskiest_position() == 1  # the only legs with a liquidation distance; 0.2 is the nearest
    no_liq = RunBook(at=T0, legs=(leg("a", "2", "100", pid=1), leg("a", "10", "50", pid=2)))
    assert no_liq.riskiest_position() == 2  # else the largest notional


def test_leg_from_a_monitor_snapshot_and_without_one() -> None:
    snap = {
        "quantity": "-0.5",
        "mark_price": "3000",
        "unrealized_pnl": "-12.5",
        "liquidation_price": "3600",
        "liquidation_distance": "0.2",
        "margin": "300",
    }
    got = leg_from_snapshot(snap, "b", "ETH", fallback_quantity=D(0), fallback_price=None, position_id=7)
    assert (got.quantity, got.notional_usd, got.unrealised_usd) == (D("-0.5"), D(-1500), D("-12.5"))
    assert (got.liquidation_distance, got.margin_ratio, got.position_id) == (D("0.2"), D("0.2"), 7)
    bare = leg_from_snapshot(
        None, "a", "ETH", fallback_quantity=D("0.5"), fallback_price=D(2990), position_id=7
    )
    assert (bare.notional_usd, bare.liquidation_distance, bare.margin_ratio) == (D(1495), None, None)
