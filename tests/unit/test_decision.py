"""Funding-arbitrage decisions (strategies/funding_arbitrage/decision.py) on hand-built candidates: the finder
query a config implies, every entry rule and limit of `choose_entries` and every exit rule of `exit_decision`.

Numbers: horizon H = 168 h, round-trip cost C = 0.0028; entry at an expected net APR of 15 %, exit below a
gross signal APR of 3 %. A candidate's expected net APR is (signal x H - C) / H x 8760.
"""

from __future__ import annotations

import copy
import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_clients import registry
from funding_rate_service.opportunity_finder import Opportunity
from strategies.config import FundingArbitrageConfig, parse_config
from strategies.funding_arbitrage.decision import (
    EXIT_REASONS,
    EntryCandidate,
    ExitDecision,
    OpenPosition,
    choose_entries,
    could_switch,
    entry_refusal,
    exit_decision,
    explain_entries,
    exposure_by_venue,
    opportunity_query,
    rank,
)
from strategies.funding_arbitrage.signals import SignalEstimate

NOW = datetime(2025, 6, 1, 12, tzinfo=timezone.utc)
H = D(168)
COST = D("0.0028")

BASE: dict[str, Any] = {
    "strategy": "funding_arbitrage",
    "name": "decisions",
    "venues": ["lighter", "paradex", "binance", "bybit"],
    "entry": {"min_net_apr": "0.15", "horizon_hours": "168"},
    "exit": {
        "exit_signal_apr": "0.03",
        "min_hold_hours": "8",
        "max_hold_hours": "720",
        "min_liquidation_distance": "0.15",
        "switch_cost_multiple": "2",
        "max_stale_hours": "24",
    },
    "sizing": {
        "target_notional_usd": "5000",
        "max_positions": 3,
        "max_exposure_per_venue_usd": "10000",
        "max_total_exposure_usd": "20000",
    },
}


def config(**sections: dict[str, Any]) -> FundingArbitrageConfig:
    data = copy.deepcopy(BASE)
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    cfg: FundingArbitrageConfig = parse_config(data)
    return cfg


def signal(
    symbol: str,
    long_venue: str,
    short_venue: str,
    spread: float | None,
    *,
    instant: float | None = None,
    tstat: float | None = 5.0,
    cv: float | None = 0.5,
    share: float | None = 0.9,
    stale_hours: float = 1.0,
) -> SignalEstimate:
    return SignalEstimate(
        symbol=symbol,
        long_venue=long_venue,
        short_venue=short_venue,
        estimator="ewma",
        spread_hourly=spread,
        instantaneous_hourly=spread if instant is None else instant,
        tstat=tstat,
        cv=cv,
        sign_share=share,
        hours=100,
        end_hour=NOW - timedelta(hours=1),
        stale_hours=stale_hours,
        stale_venue=short_venue,
    )


def cand(
    symbol: str,
    long_venue: str,
    short_venue: str,
    spread: float | None,
    *,
    now_spread: str = "0.0009",
    persistence: int | None = None,
    cost: D = COST,
    **sig: Any,
) -> EntryCandidate:
    """A candidate: the finder's pricing on this hour's rates (`now_spread`, deliberately different from the
    signal so a test shows which one decides) and the signal `spread`."""
    s = D(now_spread)
    opp = Opportunity(
        symbol=symbol,
        long_venue=long_venue,
        short_venue=short_venue,
        long_venue_symbol=symbol,
        short_venue_symbol=symbol,
        long_rate_hourly=D(0),
        short_rate_hourly=s,
        spread_hourly=s,
        gross_apr=s * 8760,
        long_fee=D("0.0005"),
        short_fee=D("0.0005"),
        fee_kind="taker",
        round_trip_cost=cost,
        net_apr=(s * H - cost) * 8760 / H,
        break_even_hours=cost / s if s > 0 else None,
        horizon_hours=H,
        min_volume_24h_usd=None,
        min_open_interest_usd=None,
        data_age_seconds=0.0,
        long_ts=NOW,
        short_ts=NOW,
        sign_persistence_hours=persistence,
    )
    return EntryCandidate(opp, signal(symbol, long_venue, short_venue, spread, **sig))


def held(
    symbol: str, long_venue: str, short_venue: str, *, hours_ago: float = 24, cost: D = COST
) -> OpenPosition:
    return OpenPosition(
        symbol=symbol,
        long_venue=long_venue,
        short_venue=short_venue,
        opened_at=NOW - timedelta(hours=hours_ago),
        notional_usd=D(5000),
        entry_spread_hourly=D("0.0001"),
        round_trip_cost=cost,
    )


def keys(chosen: list[EntryCandidate]) -> list[tuple[str, str, str]]:
    return [c.key() for c in chosen]


WIDE = {"max_exposure_per_venue_usd": "100000", "max_total_exposure_usd": "100000"}

# ------------------------------------------------------------------------------------------------ query


def test_opportunity_query_maps_the_config() -> None:
    cfg = config(
        entry={"min_volume_24h_usd": "1000000", "min_open_interest_usd": "0", "max_data_age_seconds": "600"}
    )
    data = copy.deepcopy(BASE)
    data["costs"] = {
        "fee_mode": "maker",
        "fee_overrides": {"lighter": {"maker": "0", "taker": "0.0002"}},
        "slippage_bps": "2",
    }
    data["symbols"] = ["btc", "Eth"]
    maker_cfg = parse_config(data)

    q = opportunity_query(cfg, NOW)
    assert q.horizon_hours == D(168) and q.min_net_apr is None  # entries are decided on the signal
    assert q.use_maker_fees is False and q.fee_overrides == {} and q.slippage_bps == D(0)
    assert q.min_volume_24h_usd == D(1000000)
    assert q.min_open_interest_usd is None  # 0 means "no filter"
    assert q.venues_include == frozenset({"lighter", "paradex", "binance", "bybit"})
    assert q.symbols is None and q.max_data_age_seconds == 600.0 and q.now == NOW
    # A market that publishes no fee is priced at its venue's documented tier, as the ranking does.
    paradex = registry.get_spec("paradex").fees
    assert (q.venue_default_fees[("paradex", "taker")], q.venue_default_fees[("paradex", "maker")]) == (
        paradex.taker,
        paradex.maker,
    )

    m = opportunity_query(maker_cfg, NOW)
    assert m.use_maker_fees is True
    assert m.fee_overrides == {("lighter", "maker"): D(0), ("lighter", "taker"): D("0.0002")}
    assert m.slippage_bps == D(2)
    assert m.symbols == frozenset({"BTC", "ETH"})


# ---------------------------------------------------------------------------------------------- entries


def test_signal_not_this_hour_decides_the_entry() -> None:
    """This hour's spread is 0.0009/h (788 % APR) on every candidate; the signal decides. Expected net APR of a
    signal of 0.00003/h: (0.00504 - 0.0028) / 168 x 8760 = 0.1168 < 0.15: refused; 0.0001/h: 0.7300: taken."""
    low = cand("ETH", "binance", "bybit", 0.00003)
    high = cand("BTC", "lighter", "paradex", 0.0001)
    assert low.expected_net_apr(H) == pytest.approx(0.1168, abs=1e-4)
    assert entry_refusal(low, config()) == "expected net APR 0.1168 < 0.15"
    assert entry_refusal(high, config()) is None
    assert keys(choose_entries([low, high], [], config())) == [("BTC", "lighter", "paradex")]


def test_choose_entries_best_expected_net_apr_first_up_to_max_positions() -> None:
    ranked = [
        cand("SOL", "lighter", "bybit", 0.0001),
        cand("BTC", "lighter", "paradex", 0.0003),
        cand("XRP", "paradex", "binance", 0.0001),
        cand("ETH", "binance", "bybit", 0.0002),
    ]
    assert keys(choose_entries(ranked, [], config(sizing=WIDE))) == [
        ("BTC", "lighter", "paradex"),
        ("ETH", "binance", "bybit"),
        ("SOL", "lighter", "bybit"),  # tie with XRP: (symbol, long, short) order
    ]
    one_open = [held("DOGE", "binance", "paradex")]
    cfg = config(sizing={"max_positions": 2, **WIDE})
    assert keys(choose_entries(ranked, one_open, cfg)) == [("BTC", "lighter", "paradex")]
    assert choose_entries(ranked, [*one_open, held("ADA", "lighter", "bybit")], cfg) == []


def test_cheaper_pair_ranks_first_at_equal_signal() -> None:
    """Same signal 0.0001/h: costs 0.0028 and 0.0010 give expected net APRs 0.7300 and 0.8238."""
    dear = cand("BTC", "binance", "bybit", 0.0001)
    cheap = cand("ETH", "lighter", "paradex", 0.0001, cost=D("0.001"))
    assert keys(rank([dear, cheap], config())) == [("ETH", "lighter", "paradex"), ("BTC", "binance", "bybit")]


def test_one_position_per_asset() -> None:
    ranked = [cand("BTC", "lighter", "paradex", 0.0003), cand("BTC", "binance", "bybit", 0.0002)]
    assert keys(choose_entries(ranked, [], config())) == [("BTC", "lighter", "paradex")]
    assert keys(choose_entries(ranked[1:], [held("BTC", "lighter", "paradex")], config())) == []


def test_min_signal_apr_and_stability_rules() -> None:
    cfg = config(entry={"min_net_apr": None, "min_signal_apr": "0.12", "min_stability": "3"})
    # 0.12 / 8760 = 0.0000137/h
    assert entry_refusal(cand("A", "lighter", "paradex", 0.0000136), cfg) == (
        f"signal APR {0.0000136 * 8760:.4f} < 0.12"
    )
    assert entry_refusal(cand("A", "lighter", "paradex", 0.0000138), cfg) is None
    assert entry_refusal(cand("A", "lighter", "paradex", 0.001, tstat=2.9), cfg) == "t-stat 2.9 < 3"
    assert entry_refusal(cand("A", "lighter", "paradex", 0.001, tstat=None), cfg) == "t-stat None < 3"
    assert (
        entry_refusal(cand("A", "lighter", "paradex", 0.001, tstat=math.inf), cfg) is None
    )  # constant spread
    cv = config(entry={"max_spread_cv": "1.5", "min_sign_share": "0.8"})
    assert entry_refusal(cand("A", "lighter", "paradex", 0.001, cv=1.6), cv) == "CV 1.6 > 1.5"
    assert entry_refusal(cand("A", "lighter", "paradex", 0.001, share=0.7), cv) == "sign share 0.7 < 0.8"
    assert entry_refusal(cand("A", "lighter", "paradex", 0.001, cv=1.5, share=0.8), cv) is None


def test_no_estimate_and_stale_leg_are_never_entered() -> None:
    assert entry_refusal(cand("A", "lighter", "paradex", None), config()) == "no estimate (100 known hours)"
    stale = cand("A", "lighter", "paradex", 0.001, stale_hours=24.5)
    assert entry_refusal(stale, config()) == "stale leg paradex: no fresh non-zero rate for 24.5 h"
    assert entry_refusal(cand("A", "lighter", "paradex", 0.001, stale_hours=24.0), config()) is None
    assert choose_entries([stale], [], config()) == []


def test_persistence() -> None:
    cfg = config(entry={"min_spread_persistence_hours": "3"}, sizing={"max_total_exposure_usd": "30000"})
    ranked = [
        cand("BTC", "lighter", "paradex", 0.0003, persistence=None),  # unknown counts as 0
        cand("ETH", "lighter", "paradex", 0.0003, persistence=2),
        cand("SOL", "binance", "bybit", 0.0002, persistence=3),
    ]
    assert keys(choose_entries(ranked, [], cfg)) == [("SOL", "binance", "bybit")]
    wide = config(sizing={"max_total_exposure_usd": "30000"})
    assert len(choose_entries(ranked, [], wide)) == 3  # no minimum: persistence is not read


def test_choose_entries_total_exposure() -> None:
    """Total = both legs: one open position is 10000; cap 20000 leaves room for exactly one more."""
    ranked = [cand("BTC", "lighter", "paradex", 0.0003), cand("ETH", "binance", "bybit", 0.0002)]
    cfg = config(sizing={"max_exposure_per_venue_usd": "100000", "max_total_exposure_usd": "20000"})
    assert keys(choose_entries(ranked, [held("SOL", "binance", "bybit")], cfg)) == [
        ("BTC", "lighter", "paradex")
    ]
    tight = config(sizing={"max_exposure_per_venue_usd": "100000", "max_total_exposure_usd": "19999"})
    assert choose_entries(ranked, [held("SOL", "binance", "bybit")], tight) == []


def test_choose_entries_per_venue_exposure() -> None:
    """Cap 10000 per venue: lighter already carries 5000 + 5000 (two legs): BTC on lighter is skipped, ETH on
    other venues is taken; then binance reaches 5000 and a second binance leg still fits (10000)."""
    open_now = [held("SOL", "lighter", "paradex"), held("XRP", "bybit", "lighter")]
    assert exposure_by_venue(open_now) == {"lighter": D(10000), "paradex": D(5000), "bybit": D(5000)}
    ranked = [
        cand("BTC", "lighter", "binance", 0.0004),
        cand("ETH", "binance", "bybit", 0.0003),
        cand("ADA", "paradex", "binance", 0.0002),
        cand("DOT", "bybit", "binance", 0.0001),
    ]
    cfg = config(sizing={"max_positions": 10, "max_total_exposure_usd": "100000"})
    # after ETH, bybit holds 10000 and binance 5000: DOT's bybit leg no longer fits
    assert keys(choose_entries(ranked, open_now, cfg)) == [
        ("ETH", "binance", "bybit"),
        ("ADA", "paradex", "binance"),
    ]


def test_explain_entries_gives_the_reason_of_every_skipped_candidate() -> None:
    """Same rules as choose_entries, each refusal named with its figures; the candidates it would open get None."""
    open_now = [held("SOL", "lighter", "paradex"), held("XRP", "bybit", "lighter")]
    ranked = [
        cand("BTC", "lighter", "binance", 0.0004),
        cand("ETH", "binance", "bybit", 0.0003),
        cand("ADA", "paradex", "binance", 0.0002),
        cand("DOT", "bybit", "binance", 0.0001),
        cand("SOL", "binance", "paradex", 0.00035),
        cand("LOW", "binance", "paradex", 0.000001),
    ]
    cfg = config(sizing={"max_positions": 10, "max_total_exposure_usd": "100000"})
    explained = dict((c.key(), why) for c, why in explain_entries(ranked, open_now, cfg, limit=10))
    chosen = {c.key() for c in choose_entries(ranked, open_now, cfg)}
    assert {k for k, why in explained.items() if why is None} == chosen
    assert explained[("BTC", "lighter", "binance")] == (
        "lighter exposure 10000 + 5000 > max_exposure_per_venue_usd 10000"
    )
    assert explained[("SOL", "binance", "paradex")] == "a position on SOL is already open"
    assert (
        explained[("DOT", "bybit", "binance")]
        == "bybit exposure 10000 + 5000 > max_exposure_per_venue_usd 10000"
    )
    assert explained[("LOW", "binance", "paradex")] == "expected net APR -0.1372 < 0.15"
    # the limit keeps the best by expected net APR
    top = explain_entries(ranked, open_now, cfg, limit=2)
    assert [c.key() for c, _ in top] == [("BTC", "lighter", "binance"), ("SOL", "binance", "paradex")]
    full = config(sizing={"max_positions": 2, **WIDE})
    (_, why), *_ = explain_entries(ranked, open_now, full, limit=1)
    assert why == "max_positions 2 reached (2 open)"


# ------------------------------------------------------------------------------------------------ exits


def test_exit_reasons_are_the_documented_ones() -> None:
    assert EXIT_REASONS == (
        "liquidation_risk",
        "stale_leg",
        "max_hold",
        "spread_flipped",
        "below_exit_threshold",
        "better_opportunity",
        "stop",
        "end_of_data",
    )


def test_liquidation_risk_closes_even_before_min_hold() -> None:
    pos = held("BTC", "lighter", "paradex", hours_ago=1)
    sig = signal("BTC", "lighter", "paradex", 0.0003)
    assert exit_decision(pos, sig, None, NOW, config(), liquidation_distance=D("0.1")) == ExitDecision(
        "liquidation_risk", "liquidation distance 0.1000"
    )
    assert exit_decision(pos, sig, None, NOW, config(), liquidation_distance=D("0.15")) is None


def test_stale_leg_closes_even_before_min_hold() -> None:
    pos = held("BTC", "lighter", "paradex", hours_ago=1)
    stale = signal("BTC", "lighter", "paradex", 0.0003, stale_hours=30)
    assert exit_decision(pos, stale, None, NOW, config()) == ExitDecision(
        "stale_leg", "paradex: no fresh non-zero rate for 30.0 h (max 24)"
    )
    assert (
        exit_decision(pos, signal("BTC", "lighter", "paradex", 0.0003, stale_hours=24), None, NOW, config())
        is None
    )


def test_min_hold_blocks_every_other_rule() -> None:
    pos = held("BTC", "lighter", "paradex", hours_ago=7.5)
    flipped = signal("BTC", "lighter", "paradex", -0.001)
    assert exit_decision(pos, flipped, cand("ETH", "binance", "bybit", 0.01), NOW, config()) is None
    assert exit_decision(held("BTC", "lighter", "paradex", hours_ago=8), flipped, None, NOW, config()) == (
        ExitDecision("below_exit_threshold", "signal APR -8.7600 < 0.03")
    )


def test_max_hold() -> None:
    sig = signal("BTC", "lighter", "paradex", 0.0003)
    assert exit_decision(held("BTC", "lighter", "paradex", hours_ago=720), sig, None, NOW, config()) == (
        ExitDecision("max_hold", "held 720.0 h")
    )
    assert exit_decision(held("BTC", "lighter", "paradex", hours_ago=719.5), sig, None, NOW, config()) is None
    # max hold applies even without a signal; without one nothing else can close
    verdict = exit_decision(held("BTC", "lighter", "paradex", hours_ago=800), None, None, NOW, config())
    assert verdict is not None and verdict.reason == "max_hold"
    assert exit_decision(held("BTC", "lighter", "paradex", hours_ago=100), None, None, NOW, config()) is None


def test_one_hour_flip_is_optional() -> None:
    """This hour's spread is negative but the signal is healthy: only the opt-in flip rule closes."""
    pos = held("BTC", "lighter", "paradex")
    sig = signal("BTC", "lighter", "paradex", 0.0001, instant=-0.00002)
    assert exit_decision(pos, sig, None, NOW, config()) is None
    assert exit_decision(pos, sig, None, NOW, config(exit={"exit_on_flip": True})) == ExitDecision(
        "spread_flipped", "spread -0.00002000 per hour"
    )
    at_zero = signal("BTC", "lighter", "paradex", 0.0001, instant=0.0)
    assert exit_decision(pos, at_zero, None, NOW, config(exit={"exit_on_flip": True})) is not None


def test_hysteresis_exit_on_the_gross_signal() -> None:
    """Exit below a gross signal APR of 0.03 (0.03 / 8760 = 0.00000342/h). A signal of 0.00001/h (APR 0.0876)
    would not be entered (expected net APR (0.00168 - 0.0028) / 168 x 8760 = -0.0584 < 0.15) but is held."""
    pos = held("BTC", "lighter", "paradex")
    between = signal("BTC", "lighter", "paradex", 0.00001)
    assert exit_decision(pos, between, None, NOW, config()) is None
    assert entry_refusal(cand("BTC", "lighter", "paradex", 0.00001), config()) is not None
    low = signal("BTC", "lighter", "paradex", 0.000003)
    assert exit_decision(pos, low, None, NOW, config()) == ExitDecision(
        "below_exit_threshold", "signal APR 0.0263 < 0.03"
    )


def test_sunk_costs_never_decide_an_exit() -> None:
    """The position's own round-trip cost (paid at entry, and at exit whenever it closes) changes nothing."""
    sig = signal("BTC", "lighter", "paradex", 0.00001)
    for cost in (D(0), COST, D("0.05")):
        assert exit_decision(held("BTC", "lighter", "paradex", cost=cost), sig, None, NOW, config()) is None


def test_better_opportunity_compares_gain_over_remaining_horizon_with_the_new_round_trip() -> None:
    """Held 18 h, max hold 720 h: remaining R = min(168, 702) = 168 h. Switching cost = the new position's round
    trip 0.0028; x2 = 0.0056. alt 0.00008 vs current 0.00005: gain 0.00003 x 168 = 0.00504 -> hold;
    alt 0.0001: gain 0.0084 -> switch."""
    pos = held("BTC", "lighter", "paradex", hours_ago=18)
    current = signal("BTC", "lighter", "paradex", 0.00005)
    assert exit_decision(pos, current, cand("ETH", "binance", "bybit", 0.00008), NOW, config()) is None
    assert exit_decision(
        pos, current, cand("ETH", "binance", "bybit", 0.0001), NOW, config()
    ) == ExitDecision(
        "better_opportunity", "ETH binance->bybit gains 0.008400 over 168 h vs switching cost 0.002800"
    )
    lax = config(exit={"switch_cost_multiple": "1"})
    verdict = exit_decision(pos, current, cand("ETH", "binance", "bybit", 0.00008), NOW, lax)
    assert verdict is not None and verdict.reason == "better_opportunity"
    # the current position's own cost plays no part
    dear = held("BTC", "lighter", "paradex", hours_ago=18, cost=D("0.05"))
    assert exit_decision(dear, current, cand("ETH", "binance", "bybit", 0.0001), NOW, config()) is not None


def test_remaining_horizon_is_capped_by_max_hold() -> None:
    """Held 700 h of a 720 h maximum: 20 h remain, gain (0.0001 - 0.00005) x 20 = 0.001 < 0.0056: hold; the
    same alternative switches a position held 18 h (previous test)."""
    pos = held("BTC", "lighter", "paradex", hours_ago=700)
    current = signal("BTC", "lighter", "paradex", 0.00005)
    assert exit_decision(pos, current, cand("ETH", "binance", "bybit", 0.0001), NOW, config()) is None
    verdict = exit_decision(pos, current, cand("ETH", "binance", "bybit", 0.0004), NOW, config())
    assert verdict == ExitDecision(
        "better_opportunity", "ETH binance->bybit gains 0.007000 over 20 h vs switching cost 0.002800"
    )


def test_alternative_may_be_a_function_called_only_when_needed() -> None:
    calls: list[int] = []

    def alt() -> EntryCandidate:
        calls.append(1)
        return cand("ETH", "binance", "bybit", 0.0001)

    pos = held("BTC", "lighter", "paradex", hours_ago=18)
    assert (
        exit_decision(
            held("BTC", "lighter", "paradex", hours_ago=1),
            signal("BTC", "lighter", "paradex", 0.00005),
            alt,
            NOW,
            config(),
        )
        is None
    )
    assert calls == []  # before min hold: never asked
    verdict = exit_decision(pos, signal("BTC", "lighter", "paradex", 0.00005), alt, NOW, config())
    assert verdict is not None and verdict.reason == "better_opportunity" and calls == [1]


def test_hold_when_nothing_applies() -> None:
    pos = held("BTC", "lighter", "paradex", hours_ago=30)
    assert exit_decision(pos, signal("BTC", "lighter", "paradex", 0.0001), None, NOW, config()) is None
    assert exit_decision(pos, signal("BTC", "lighter", "paradex", None), None, NOW, config()) is None
    assert pos.key() == ("BTC", "lighter", "paradex")


@settings(max_examples=200, deadline=None)
@given(
    current=st.floats(-0.0002, 0.0004),
    alts=st.lists(
        st.tuples(st.floats(-0.0002, 0.001), st.sampled_from(["0.001", "0.0028", "0.005"])), max_size=6
    ),
    held=st.floats(8, 719),
    multiple=st.sampled_from(["1", "2", "5"]),
)
def test_could_switch_is_a_safe_bound(
    current: float, alts: list[tuple[float, str]], held: float, multiple: str
) -> None:
    """When `could_switch` says no, no alternative within its bounds passes the switching rule: skipping the
    search (the backtester does) never changes a decision."""
    cfg = config(exit={"switch_cost_multiple": multiple})
    pos = held_pos(held)
    sig = signal("BTC", "lighter", "paradex", current)
    cands = [cand(f"A{i}", "binance", "bybit", s, cost=D(c)) for i, (s, c) in enumerate(alts)]
    if not cands:
        return
    best_spread = max(s for s, _ in alts)
    cheapest = min(float(c) for _, c in alts)
    if could_switch(pos, sig, best_spread, cheapest, NOW, cfg):
        return
    for c in cands:
        verdict = exit_decision(pos, sig, c, NOW, cfg)
        assert verdict is None or verdict.reason != "better_opportunity", (c.key(), verdict)


def held_pos(hours: float) -> OpenPosition:
    return held("BTC", "lighter", "paradex", hours_ago=hours)
