"""`scenario.json` trading settings (issue #4 items 2, 6, 8): `trading`, `funding`, `faults` keys.

Validation errors must name the file and the field; a scenario without these keys must behave exactly as before
(recorded rates, `*TradingConfig` defaults, no faults). Engines are built in process (no sockets).
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.engine import RandomWalkMid, SeriesMid
from simulator.faults import FaultInjector
from simulator.lighter.auth import LighterApiKeys
from simulator.lighter.errors import lighter_error_body
from simulator.lighter.trading import LighterTrading, LighterTradingConfig, lighter_config_from_settings
from simulator.paradex.auth import ParadexAuth
from simulator.paradex.errors import paradex_error_body
from simulator.paradex.trading import ParadexTrading, ParadexTradingConfig, paradex_config_from_settings
from simulator.scenario import (
    MarketFundingSettings,
    ScenarioError,
    SimClock,
    build_funding_provider,
)
from simulator.scenario_loader import load_scenario, settings_model
from simulator.server import DEMO_SCENARIO
from tests.shared_data import shared_path

NOW_MS = 1_800_000_000_000  # 2027-01-15T08:00:00Z, a whole hour
HOUR_MS = 3_600_000


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    """A copy of the demo scenario whose scenario.json the test rewrites."""
    target = tmp_path / "scenario"
    shutil.copytree(DEMO_SCENARIO, target)
    return target


def write_settings(folder: Path, extra: dict[str, Any]) -> Path:
    base = json.loads((DEMO_SCENARIO / "scenario.json").read_text())
    path = folder / "scenario.json"
    path.write_text(json.dumps({**base, **extra}))
    return path


def engines(folder: Path, **kwargs: Any) -> tuple[LighterTrading, ParadexTrading]:
    clock = SimClock(NOW_MS)
    scenario = load_scenario(folder, clock=clock)
    lighter_config = kwargs.get("lighter_config")
    paradex_config = kwargs.get("paradex_config")
    return (
        LighterTrading(scenario, clock, LighterApiKeys(clock), lighter_config),
        ParadexTrading(scenario, clock, ParadexAuth(clock), paradex_config),
    )


# ------------------------------------------------------------------------------------------ defaults


def test_defaults_are_unchanged_without_the_new_keys() -> None:
    settings_ = settings_model()()
    assert lighter_config_from_settings(settings_.trading.lighter) == LighterTradingConfig()
    assert paradex_config_from_settings(settings_.trading.paradex) == ParadexTradingConfig()
    assert settings_.trading.lighter.random_walk is False
    assert settings_.faults.lighter.http is None and settings_.faults.paradex.engine is None

    lighter, paradex = engines(DEMO_SCENARIO)
    assert lighter.scenario.funding_providers == {}
    assert lighter.config == LighterTradingConfig() and paradex.config == ParadexTradingConfig()
    # recorded current rates: lighter funding-rates ETH 0.00024 per 8 h; paradex summary BTC per 8 h
    eth = lighter.admin_market(lighter.markets[0])
    assert eth["rate_hourly"] == "0.00003"
    assert eth["funding_source"] == "lighter funding-rates ETH / 8"
    assert eth["funding_from_settings"] is False
    assert all(not m.funding_overridden for m in lighter.markets.values())
    assert all(isinstance(maker.path, SeriesMid) for maker in lighter.makers.values())
    btc = paradex.market_view("BTC-USD-PERP")
    assert btc["funding_source"].startswith("markets_summary funding_rate ")
    assert btc["funding_from_settings"] is False
    assert "funding_rate" not in paradex.summary_overrides("BTC-USD-PERP")
    assert lighter.engine.faults.snapshot() == {
        "reject_next": 0,
        "fill_fraction": None,
        "fill_fraction_remaining": None,
    }
    assert paradex.engine.faults.snapshot()["reject_next"] == 0
    injector = FaultInjector("lighter", lighter_error_body)
    lighter.apply_http_faults(injector)
    assert injector.snapshot() == {"status": None, "latency": None}


# ------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ({"trading": {"lighter": {"colour": 1}}}, "trading.lighter.colour", "Extra inputs are not permitted"),
        ({"trading": {"kraken": {}}}, "trading.kraken", "Extra inputs are not permitted"),
        ({"trading": {"paradex": {"levels": 0}}}, "trading.paradex.levels", "greater than or equal to 1"),
        ({"trading": {"lighter": {"spread_bps": "wide"}}}, "trading.lighter.spread_bps", "decimal number"),
        ({"trading": {"paradex": {"notional_per_level": -5}}}, "trading.paradex.notional_per_level", "> 0"),
        ({"trading": {"lighter": {"random_walk": "often"}}}, "trading.lighter.random_walk", "valid boolean"),
        (
            {"funding": {"lighter": {"ETH": {"constant_hourly": "x"}}}},
            "funding.lighter.ETH.constant_hourly",
            "decimal number",
        ),
        (
            {"funding": {"lighter": {"ETH": {}}}},
            "funding.lighter.ETH",
            "exactly one of 'constant_hourly', 'series', 'replay' (got none)",
        ),
        (
            {"funding": {"paradex": {"*": {"constant_hourly": 0.0001, "series": [[0, 0.0001]]}}}},
            "funding.paradex.*",
            "(got constant_hourly, series)",
        ),
        (
            {"funding": {"lighter": {"ETH": {"series": [[10, 0.1], [10, 0.2]]}}}},
            "funding.lighter.ETH.series",
            "point 1: timestamps must strictly increase",
        ),
        (
            {"funding": {"lighter": {"ETH": {"series": [[1.5, 0.1]]}}}},
            "funding.lighter.ETH.series",
            "point 0: ts_ms must be a non-negative integer",
        ),
        (
            {"funding": {"paradex": {"BTC-USD-PERP": {"replay": {"file": "x.parquet"}}}}},
            "funding.paradex.BTC-USD-PERP.replay.venue_symbol",
            "Field required",
        ),
        (
            {"funding": {"lighter": {"ETH": {"constant_hourly": 0.1, "sign": 1}}}},
            "funding.lighter.ETH.sign",
            "Extra inputs are not permitted",
        ),
        (
            {"faults": {"lighter": {"http": {"http_status": 200}}}},
            "faults.lighter.http.http_status",
            "greater than or equal to 400",
        ),
        (
            {"faults": {"lighter": {"http": {"clear": True}}}},
            "faults.lighter.http",
            "'clear' has no meaning at start-up",
        ),
        (
            {"faults": {"paradex": {"engine": {"fill_fraction": 1}}}},
            "faults.paradex.engine.fill_fraction",
            "must be in [0, 1)",
        ),
        (
            {"faults": {"paradex": {"engine": {"fill_fraction_count": 2}}}},
            "faults.paradex.engine",
            "give 'reject_next' and/or 'fill_fraction'",
        ),
        ({"faults": {"binance": {}}}, "faults.binance", "Extra inputs are not permitted"),
    ],
)
def test_bad_settings_name_file_and_field(
    scenario_dir: Path, extra: dict[str, Any], field: str, problem: str
) -> None:
    path = write_settings(scenario_dir, extra)
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_dir, clock=SimClock(NOW_MS))
    message = str(info.value)
    assert info.value.path == path
    assert message.startswith(f"scenario file {path}: invalid settings: ")
    assert f"{field}: " in message
    assert problem in message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"funding": {"lighter": {"DOGEUSDT": {"constant_hourly": 0.0001}}}},
            "invalid settings: funding.lighter.DOGEUSDT: no market 'DOGEUSDT' in "
            "lighter/orderBookDetails.json order_book_details",
        ),
        (
            {"funding": {"paradex": {"BTC": {"constant_hourly": 0.0001}}}},
            "invalid settings: funding.paradex.BTC: no market 'BTC' in paradex/markets.json",
        ),
    ],
)
def test_funding_key_must_name_a_market(scenario_dir: Path, extra: dict[str, Any], expected: str) -> None:
    path = write_settings(scenario_dir, extra)
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_dir, clock=SimClock(NOW_MS))
    assert str(info.value) == f"scenario file {path}: {expected}"


def test_missing_replay_file_names_field_and_resolved_path(scenario_dir: Path) -> None:
    replay = {"replay": {"file": "history/none.parquet", "venue_symbol": "BTCUSDT"}}
    path = write_settings(scenario_dir, {"funding": {"paradex": {"BTC-USD-PERP": replay}}})
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario_dir, clock=SimClock(NOW_MS))
    assert str(info.value) == (
        f"scenario file {path}: invalid settings: funding.paradex.BTC-USD-PERP.replay: "
        f"replay file {scenario_dir / 'history' / 'none.parquet'} does not exist"
    )


# ------------------------------------------------------------------------------------------ applied


def test_trading_settings_override_config_and_explicit_config_wins(scenario_dir: Path) -> None:
    write_settings(
        scenario_dir,
        {
            "trading": {
                "lighter": {"levels": 3, "level_notional": 20000, "walk_vol_bps": "2.5", "random_walk": True},
                "paradex": {"spread_bps": 6, "notional_per_level": "5000.5", "seed": 11},
            }
        },
    )
    lighter, paradex = engines(scenario_dir)
    assert lighter.config == LighterTradingConfig(
        levels=3, level_notional=Decimal(20000), walk_vol_bps=Decimal("2.5")
    )
    assert paradex.config == ParadexTradingConfig(
        spread_bps=Decimal(6), notional_per_level=Decimal("5000.5"), seed=11
    )
    # random_walk: every recorded book follows the config's walk (seed 7 + market id), starting at the mark
    assert lighter.makers
    for market_id, maker in lighter.makers.items():
        assert isinstance(maker.path, RandomWalkMid)
        assert maker.path(NOW_MS) == lighter.markets[market_id].mark0
    # the recorded books are still seeded at the recorded prices at start-up
    assert lighter.admin_market(lighter.markets[0])["best_ask"] == "3600.97"

    explicit_l, explicit_p = LighterTradingConfig(levels=2), ParadexTradingConfig(levels=4)
    lighter2, paradex2 = engines(scenario_dir, lighter_config=explicit_l, paradex_config=explicit_p)
    assert lighter2.config is explicit_l and paradex2.config is explicit_p


def test_funding_settings_set_engine_rates_and_labels(scenario_dir: Path) -> None:
    write_settings(
        scenario_dir,
        {
            "funding": {
                "lighter": {
                    "ETH": {"constant_hourly": 0.00001},
                    "1": {"series": [[NOW_MS - HOUR_MS, 0.0001], [NOW_MS + 2 * HOUR_MS, "-0.0002"]]},
                    "*": {"constant_hourly": "-0.00003"},
                },
                "paradex": {"ETH-USD-PERP": {"constant_hourly": 0.00005}},
            }
        },
    )
    lighter, paradex = engines(scenario_dir)
    eth = lighter.admin_market(lighter.markets[0])
    assert eth["rate_hourly"] == "0.00001"
    assert eth["funding_source"] == "scenario.json: constant 0.00001/h"
    assert eth["funding_from_settings"] is True
    btc = lighter.engine.market("BTC")  # by market id "1"
    assert btc.funding("BTC", NOW_MS) == Decimal("0.0001")
    assert btc.funding("BTC", NOW_MS + 2 * HOUR_MS) == Decimal("-0.0002")
    assert btc.funding("BTC", NOW_MS - HOUR_MS - 1) is None
    assert btc.funding.label == "scenario.json: series of 2 points"
    assert lighter.engine.funding_rate("SOL") == Decimal("-0.00003")  # "*"
    assert all(m.funding_overridden for m in lighter.markets.values())
    # Lighter market_stats / funding-rates show the engine's rate
    stats = lighter.overlay_market_stats({"market_id": 0, "current_funding_rate": "0.0030"})
    assert stats is not None and stats["current_funding_rate"] == "0.0010"  # percent per hour
    rates = lighter.overlay_funding_rates(
        {"funding_rates": [{"market_id": 0, "exchange": "lighter", "symbol": "ETH", "rate": 0.00024}]}
    )
    assert rates["funding_rates"][0]["rate"] == 0.00008  # fraction per 8 h

    assert paradex.engine.funding_rate("ETH-USD-PERP") == Decimal("0.00005")
    assert paradex.summary_overrides("ETH-USD-PERP")["funding_rate"] == "0.0004"  # x 8 h period
    assert paradex.market_view("ETH-USD-PERP")["funding_source"] == "scenario.json: constant 0.00005/h"
    # markets without an entry keep the recorded rate
    assert paradex.market_view("BTC-USD-PERP")["funding_source"].startswith("markets_summary funding_rate ")


def test_initial_faults_are_applied(scenario_dir: Path) -> None:
    write_settings(
        scenario_dir,
        {
            "faults": {
                "lighter": {
                    "http": {"http_status": 429, "count": 2, "retry_after_seconds": 3},
                    "engine": {"fill_fraction": 0.5, "fill_fraction_count": 1},
                },
                "paradex": {"http": {"latency_seconds": 0.25}, "engine": {"reject_next": 2}},
            }
        },
    )
    lighter, paradex = engines(scenario_dir)
    assert lighter.engine.faults.snapshot() == {
        "reject_next": 0,
        "fill_fraction": "0.5",
        "fill_fraction_remaining": 1,
    }
    assert paradex.engine.faults.snapshot() == {
        "reject_next": 2,
        "fill_fraction": None,
        "fill_fraction_remaining": None,
    }
    lighter_http = FaultInjector("lighter", lighter_error_body)
    paradex_http = FaultInjector("paradex", paradex_error_body)
    lighter.apply_http_faults(lighter_http)
    paradex.apply_http_faults(paradex_http)
    assert lighter_http.snapshot() == {
        "status": {"http_status": 429, "remaining": 2, "retry_after_seconds": 3},
        "latency": None,
    }
    assert paradex_http.snapshot() == {"status": None, "latency": {"seconds": 0.25, "remaining": None}}


# ------------------------------------------------------------------------------------------ replay


def test_replay_is_labelled_and_follows_the_history() -> None:
    parquet = shared_path("funding-history", "binance.parquet")
    spec = MarketFundingSettings.model_validate(
        {"replay": {"file": "binance.parquet", "venue_symbol": "BTCUSDT"}}
    )
    provider = build_funding_provider(spec, venue="lighter", scenario_dir=parquet.parent, now_ms=NOW_MS)
    assert provider.label == "replay of binance BTCUSDT history under lighter's protocol"
    # first BTCUSDT rows: 7.757e-05 then 7.414e-05 per 8 h; omitted start_at_ms = start-up (NOW_MS)
    assert provider("BTC", NOW_MS) == Decimal("0.00007757") / 8 == Decimal("0.00000969625")
    assert provider("BTC", NOW_MS + 8 * HOUR_MS - 1) == Decimal("0.00000969625")
    assert provider("BTC", NOW_MS + 8 * HOUR_MS) == Decimal("0.00007414") / 8
    assert provider("BTC", NOW_MS - 1) is None


# ------------------------------------------------------------------------------------------ properties


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10**13),
            st.decimals(min_value=Decimal("-0.01"), max_value=Decimal("0.01"), places=8),
        ),
        min_size=1,
        max_size=12,
        unique_by=lambda p: p[0],
    )
)
def test_series_setting_serves_each_point_from_its_time(points: list[tuple[int, Decimal]]) -> None:
    points.sort()
    raw = [[ts, str(rate)] for ts, rate in points]
    spec = MarketFundingSettings.model_validate({"series": raw})
    provider = build_funding_provider(spec, venue="paradex", scenario_dir=Path("."), now_ms=NOW_MS)
    for i, (ts, rate) in enumerate(points):
        assert provider("ANY", ts) == rate
        end = points[i + 1][0] if i + 1 < len(points) else ts + 1
        assert provider("ANY", end - 1) == rate
    assert provider("ANY", points[0][0] - 1) is None
