"""The venue-neutral pieces of issue #16 on their own: the account-state cache's staleness rules
(`exchange_clients.base.account_state`) and the per-venue margin ledger (`strategies.execution.margin`)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange_clients.base.account_state import AccountState
from exchange_clients.base.trading import BalanceInfo
from strategies.execution.margin import MarginLedger

D = Decimal


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def balance(available: str) -> BalanceInfo:
    return BalanceInfo(venue="v", available=D(available), equity=D(available), collateral=None)


def test_state_is_served_only_when_synced_and_heard_from_within_the_bound() -> None:
    clock = Clock()
    state = AccountState("v", max_age_seconds=10, clock=clock)
    assert state.fresh_balance() == (None, "v: account state not synced (never seeded)")
    state.seed(balance("100"))
    assert state.fresh_balance() == (balance("100"), None)
    clock.now += 9
    state.apply_balance(balance("90"))  # a push: heard from now
    clock.now += 9
    assert state.fresh_balance() == (balance("90"), None)
    clock.now += 2  # 11 s of silence
    got, why = state.fresh_balance()
    assert got is None and why == "v: account state stale (last heard 11.0 s ago > 10 s)"
    assert state.fresh_balance(max_age_seconds=12)[0] == balance("90")  # a caller's own bound
    state.touch()  # a keepalive answer
    assert state.fresh_balance()[0] == balance("90")
    state.desync("account stream disconnected")
    assert state.fresh_balance() == (None, "v: account state not synced (account stream disconnected)")
    state.touch()  # frames on a connection not yet re-seeded do not make it servable
    assert state.fresh_balance()[0] is None
    state.seed(balance("80"))
    assert state.fresh_balance()[0] == balance("80") and (state.seeds, state.desyncs) == (2, 1)


def test_bad_bound_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="v: account state max_age_seconds must be > 0, got 0"):
        AccountState("v", max_age_seconds=0)


def test_margin_ledger_counts_reservations_per_venue() -> None:
    ledger = MarginLedger()
    usable = {"a": D(640), "b": D(640)}
    assert ledger.shortfall({"a": D(500), "b": D(500)}, usable) is None
    first = ledger.reserve({"a": D(500), "b": D(500)})
    assert ledger.shortfall({"a": D(500), "b": D(500)}, usable) == "a"  # 140 left on each
    assert ledger.shortfall({"b": D(100)}, usable) is None
    ledger.release(first)
    ledger.release(first)  # idempotent
    assert ledger.reserved == {} and ledger.shortfall({"a": D(500), "b": D(500)}, usable) is None
    with pytest.raises(ValueError, match="margin reservation on a: amount must be >= 0, got -1"):
        ledger.reserve({"a": D(-1)})
