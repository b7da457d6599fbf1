"""Funding-arbitrage decisions (strategies/funding_arbitrage/decision.py) on hand-built opportunities: the
finder query a config implies, every entry limit of `choose_entries` and every exit rule of `exit_decision`.

Numbers: horizon H = 168 h, round-trip cost C = 0.0028 (exit half 0.0014), entry 15 % net APR, exit 3 %.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

from funding_rate_service.opportunity_finder import Opportunity
from strategies.config import FundingArbitrageConfig, parse_config
from strategies.funding_arbitrage.decision import (
    EXIT_REASONS,
    ExitDecision,
    OpenPosition,
    choose_entries,
    exit_decision,
    exposure_by_venue,
    opportunity_query,
)

NOW = datetime(2025, 6, 1, 12, tzinfo=timezone.utc)
H = D(168)
COST = D("0.0028")

BASE: dict[str, Any] = {
    "strategy": "funding_arbitrage",
    "name": "decisions",
    "venues": ["lighter", "paradex", "binance", "bybit"],
    "entry": {"min_net_apr": "0.15", "horizon_hours": "168", "min_spread_persistence_hours": "0"},
    "exit": {
        "exit_net_apr": "0.03",
        "min_hold_hours": "8",
        "max_hold_hours": "720",
        "min_liquidation_distance": "0.15",
        "switch_cost_multiple": "2",
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
        data[key].update(value)
    return parse_config(data)


def opp(
    symbol: str,
    long_venue: str,
    short_venue: str,
    spread: str,
    *,
    persistence: int | None = None,
    cost: D = COST,
) -> Opportunity:
    """An opportunity priced like the finder does: net = (spread x H - C) x 8760 / H."""
    s = D(spread)
    return Opportunity(
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


def held(
    symbol: str, long_venue: str, short_venue: str, *, hours_ago: float = 24, spread: str = "0.0001"
) -> OpenPosition:
    return OpenPosition(
        symbol=symbol,
        long_venue=long_venue,
        short_venue=short_venue,
        opened_at=NOW - timedelta(hours=hours_ago),
        notional_usd=D(5000),
        entry_spread_hourly=D(spread),
        round_trip_cost=COST,
    )


def keys(chosen: list[Opportunity]) -> list[tuple[str, str, str]]:
    return [(o.symbol, o.long_venue, o.short_venue) for o in chosen]


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
    assert q.horizon_hours == D(168) and q.min_net_apr == D("0.15")
    assert q.use_maker_fees is False and q.fee_overrides == {} and q.slippage_bps == D(0)
    assert q.min_volume_24h_usd == D(1000000)
    assert q.min_open_interest_usd is None  # 0 means "no filter"
    assert q.venues_include == frozenset({"lighter", "paradex", "binance", "bybit"})
    assert q.symbols is None and q.max_data_age_seconds == 600.0 and q.now == NOW
    assert opportunity_query(cfg, NOW, min_net_apr=False).min_net_apr is None

    m = opportunity_query(maker_cfg, NOW)
    assert m.use_maker_fees is True
    assert m.fee_overrides == {("lighter", "maker"): D(0), ("lighter", "taker"): D("0.0002")}
    assert m.slippage_bps == D(2)
    assert m.symbols == frozenset({"BTC", "ETH"})


# ---------------------------------------------------------------------------------------------- entries


def test_choose_entries_best_first_up_to_max_positions() -> None:
    ranked = [
        opp("BTC", "lighter", "paradex", "0.0003"),
        opp("ETH", "binance", "bybit", "0.0002"),
        opp("SOL", "lighter", "bybit", "0.0001"),
        opp("XRP", "paradex", "binance", "0.0001"),
    ]
    assert keys(
        choose_entries(
            ranked,
            [],
            config(sizing={"max_exposure_per_venue_usd": "100000", "max_total_exposure_usd": "100000"}),
        )
    ) == [
        ("BTC", "lighter", "paradex"),
        ("ETH", "binance", "bybit"),
        ("SOL", "lighter", "bybit"),
    ]
    one_open = [held("DOGE", "binance", "paradex")]
    cfg = config(
        sizing={
            "max_positions": 2,
            "max_exposure_per_venue_usd": "100000",
            "max_total_exposure_usd": "100000",
        }
    )
    assert keys(choose_entries(ranked, one_open, cfg)) == [("BTC", "lighter", "paradex")]
    assert choose_entries(ranked, [*one_open, held("ADA", "lighter", "bybit")], cfg) == []


def test_choose_entries_one_position_per_asset_and_min_net_apr() -> None:
    ranked = [
        opp("BTC", "lighter", "paradex", "0.0003"),
        opp("BTC", "binance", "bybit", "0.0002"),  # same asset: skipped once BTC is chosen
        opp("ETH", "binance", "bybit", "0.00003"),  # net (0.00504 - 0.0028) / 168 x 8760 = 0.1168 < 0.15
    ]
    assert ranked[2].net_apr < D("0.15")
    assert keys(choose_entries(ranked, [], config())) == [("BTC", "lighter", "paradex")]
    assert keys(choose_entries(ranked[1:], [held("BTC", "lighter", "paradex")], config())) == []


def test_choose_entries_persistence() -> None:
    cfg = config(entry={"min_spread_persistence_hours": "3"})
    ranked = [
        opp("BTC", "lighter", "paradex", "0.0003", persistence=None),  # unknown counts as 0
        opp("ETH", "lighter", "paradex", "0.0003", persistence=2),
        opp("SOL", "binance", "bybit", "0.0002", persistence=3),
    ]
    assert keys(choose_entries(ranked, [], cfg)) == [("SOL", "binance", "bybit")]
    wide = config(sizing={"max_total_exposure_usd": "30000"})
    assert len(choose_entries(ranked, [], wide)) == 3  # no minimum: persistence is not read


def test_choose_entries_total_exposure() -> None:
    """Total = both legs: one open position is 10000; cap 20000 leaves room for exactly one more."""
    ranked = [opp("BTC", "lighter", "paradex", "0.0003"), opp("ETH", "binance", "bybit", "0.0002")]
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
        opp("BTC", "lighter", "binance", "0.0004"),
        opp("ETH", "binance", "bybit", "0.0003"),
        opp("ADA", "paradex", "binance", "0.0002"),
    ]
    cfg = config(sizing={"max_positions": 10, "max_total_exposure_usd": "100000"})
    assert keys(choose_entries(ranked, open_now, cfg)) == [
        ("ETH", "binance", "bybit"),
        ("ADA", "paradex", "binance"),
    ]
    # after ETH, bybit holds 10000 and binance 5000: a further bybit leg no longer fits
    more = [*ranked, opp("DOT", "bybit", "binance", "0.0001")]
    assert keys(choose_entries(more, open_now, cfg)) == [
        ("ETH", "binance", "bybit"),
        ("ADA", "paradex", "binance"),
    ]


# ------------------------------------------------------------------------------------------------ exits


def test_exit_reasons_are_the_documented_ones() -> None:
    assert EXIT_REASONS == (
        "liquidation_risk",
        "max_hold",
        "spread_flipped",
        "below_exit_threshold",
        "better_opportunity",
        "stop",
        "end_of_data",
    )


def test_liquidation_risk_closes_even_before_min_hold() -> None:
    pos = held("BTC", "lighter", "paradex", hours_ago=1)
    current = opp("BTC", "lighter", "paradex", "0.0003")
    assert exit_decision(pos, current, None, NOW, config(), liquidation_distance=D("0.1")) == ExitDecision(
        "liquidation_risk", "liquidation distance 0.1000"
    )
    assert exit_decision(pos, current, None, NOW, config(), liquidation_distance=D("0.15")) is None


def test_min_hold_blocks_every_other_rule() -> None:
    pos = held("BTC", "lighter", "paradex", hours_ago=7.5)
    flipped = opp("BTC", "lighter", "paradex", "-0.001")
    assert exit_decision(pos, flipped, opp("ETH", "binance", "bybit", "0.01"), NOW, config()) is None
    assert exit_decision(
        held("BTC", "lighter", "paradex", hours_ago=8), flipped, None, NOW, config()
    ) == ExitDecision("spread_flipped", "spread -0.001 per hour")


def test_max_hold() -> None:
    current = opp("BTC", "lighter", "paradex", "0.0003")
    assert exit_decision(
        held("BTC", "lighter", "paradex", hours_ago=720), current, None, NOW, config()
    ) == ExitDecision("max_hold", "held 720.0 h")
    assert (
        exit_decision(held("BTC", "lighter", "paradex", hours_ago=719.5), current, None, NOW, config())
        is None
    )
    # max hold applies even without current data; without it nothing else can close
    assert (
        exit_decision(held("BTC", "lighter", "paradex", hours_ago=800), None, None, NOW, config()).reason
        == "max_hold"
    )  # type: ignore[union-attr]
    assert exit_decision(held("BTC", "lighter", "paradex", hours_ago=100), None, None, NOW, config()) is None


def test_spread_flipped_at_zero_or_below() -> None:
    pos = held("BTC", "lighter", "paradex")
    assert exit_decision(pos, opp("BTC", "lighter", "paradex", "0"), None, NOW, config()) == ExitDecision(
        "spread_flipped", "spread 0 per hour"
    )


def test_below_exit_threshold_net_of_exit_cost() -> None:
    """spread 0.00001: (0.00001 x 168 - 0.0014) / 168 x 8760 = 0.0146 < 0.03 -> close; 0.00002 -> 0.1022: hold."""
    pos = held("BTC", "lighter", "paradex")
    assert exit_decision(
        pos, opp("BTC", "lighter", "paradex", "0.00001"), None, NOW, config()
    ) == ExitDecision("below_exit_threshold", "APR net of exit cost 0.0146")
    assert exit_decision(pos, opp("BTC", "lighter", "paradex", "0.00002"), None, NOW, config()) is None


def test_better_opportunity_needs_gain_above_multiple_of_switch_cost() -> None:
    """Held 18 h: remaining 150 h. Switching cost = 0.0014 (exit) + 0.0028 (new round trip) = 0.0042; x2 = 0.0084.
    alt 0.0001 vs current 0.00005: gain 0.0075 -> hold; alt 0.0002: gain 0.0225 -> switch."""
    pos = held("BTC", "lighter", "paradex", hours_ago=18)
    current = opp("BTC", "lighter", "paradex", "0.00005")
    assert exit_decision(pos, current, opp("ETH", "binance", "bybit", "0.0001"), NOW, config()) is None
    assert exit_decision(
        pos, current, opp("ETH", "binance", "bybit", "0.0002"), NOW, config()
    ) == ExitDecision("better_opportunity", "ETH binance->bybit gains 0.022500 vs switching cost 0.004200")
    assert exit_decision(pos, current, opp("ETH", "binance", "bybit", "0.00005"), NOW, config()) is None
    lax = config(exit={"switch_cost_multiple": "1"})
    assert (
        exit_decision(pos, current, opp("ETH", "binance", "bybit", "0.0001"), NOW, lax).reason
        == "better_opportunity"
    )  # type: ignore[union-attr]


def test_better_opportunity_remaining_hours_floor_at_one() -> None:
    """Held 200 h > horizon: remaining counts as 1 h, so only a huge spread difference (> 0.0084) switches."""
    pos = held("BTC", "lighter", "paradex", hours_ago=200)
    current = opp("BTC", "lighter", "paradex", "0.00005")
    assert exit_decision(pos, current, opp("ETH", "binance", "bybit", "0.005"), NOW, config()) is None
    verdict = exit_decision(pos, current, opp("ETH", "binance", "bybit", "0.01"), NOW, config())
    assert verdict == ExitDecision(
        "better_opportunity", "ETH binance->bybit gains 0.009950 vs switching cost 0.004200"
    )


def test_hold_when_nothing_applies() -> None:
    pos = held("BTC", "lighter", "paradex", hours_ago=30)
    assert exit_decision(pos, opp("BTC", "lighter", "paradex", "0.0001"), None, NOW, config()) is None
    assert pos.key() == ("BTC", "lighter", "paradex")
