"""Settings: every one documented in .env.example, bad values named in the error, secrets-free defaults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from exchange_clients import registry
from perparb.cli import app
from perparb.scripts.accounts_cli import CREDENTIAL_ENV_VARS
from perparb.settings import Settings, VenueSettings, sub_venue_setting, venue_env_prefix
from perparb_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_in_env_example() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.M)) - CREDENTIAL_ENV_VARS
    expected = (
        {"DATABASE_URL"}
        | {f"PERPARB_{name.upper()}" for name in Settings.model_fields if name != "database_url"}
        | {
            venue_env_prefix(venue) + name.upper()
            for venue in registry.venue_names()
            for name in VenueSettings.model_fields
        }
        | {var for venue in registry.venue_names() if (var := sub_venue_setting(venue))}
    )
    assert expected - documented == set(), "settings missing from .env.example"
    assert documented - expected == set(), ".env.example documents settings that do not exist"


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPARB_HTTP_TIMEOUT_SECONDS", "-1")
    with pytest.raises(ValidationError, match="http_timeout_seconds"):
        Settings(_env_file=None)


def test_database_url_must_use_asyncpg_and_cli_hides_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:secretpw@h/db")
    with pytest.raises(ValidationError, match=r"postgresql\+asyncpg://"):
        Settings(_env_file=None)
    result = CliRunner().invoke(app, ["rates"])
    assert result.exit_code == 2
    out = result.stdout + (result.stderr or "")
    assert "DATABASE_URL must start with" in out
    assert "secretpw" not in out


def test_unknown_venue_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPARB_VENUES", "lighter,binance")
    with pytest.raises(ValidationError, match="binance"):
        Settings(_env_file=None)


def test_fee_overrides_parse_and_reject() -> None:
    s = Settings(_env_file=None, fee_overrides="lighter:taker=0.00028, paradex:maker=0")
    assert s.fee_override_map() == {
        ("lighter", "taker"): Decimal("0.00028"),
        ("paradex", "maker"): Decimal(0),
    }
    with pytest.raises(ValueError, match=r"lighter:taker0\.1"):
        Settings(_env_file=None, fee_overrides="lighter:taker0.1").fee_override_map()
    with pytest.raises(ValueError, match="unknown venue or side"):
        Settings(_env_file=None, fee_overrides="lighter:spot=0.1").fee_override_map()


def test_data_dir_is_expanded() -> None:
    s = Settings(_env_file=None, data_dir=Path("~/x"))
    assert s.data_dir == Path.home() / "x"


def test_credential_variables_are_documented() -> None:
    text = (ROOT / ".env.example").read_text()
    for var in CREDENTIAL_ENV_VARS:
        assert f"# {var}=" in text, var


def test_venue_configs_come_from_the_per_venue_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPARB_LIGHTER_URL", "http://127.0.0.1:8801/")
    monkeypatch.setenv("PERPARB_LIGHTER_RATE_PER_SECOND", "2.5")
    monkeypatch.setenv("PERPARB_HTTP_TIMEOUT_SECONDS", "4")
    settings = Settings(_env_file=None)
    lighter = settings.venue_config("lighter")
    assert (lighter.venue, lighter.rest_url, lighter.websocket_url) == (
        "lighter",
        "http://127.0.0.1:8801",
        "ws://127.0.0.1:8801/stream",
    )
    assert (lighter.rate_limit.rate_per_second, lighter.rate_limit.burst, lighter.http.timeout_seconds) == (
        2.5,
        5,  # the rest of the default (premium) tier's budget
        4.0,
    )
    paradex = settings.venue_config("paradex")  # untouched: the venue's own defaults
    assert (paradex.rest_url, paradex.websocket_url) == (
        "https://api.prod.paradex.trade/v1",
        "wss://ws.api.prod.paradex.trade/v1",
    )
    monkeypatch.setenv("PERPARB_PARADEX_BURST", "0")
    with pytest.raises(ValueError, match="PERPARB_PARADEX_BURST"):
        Settings(_env_file=None).venue_config("paradex")


def test_rate_tiers_are_chosen_per_venue_and_fields_override_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """`PERPARB_LIGHTER_TIER` picks one of Lighter's documented budgets; single fields override it; an unknown
    tier, or a reserve that leaves reads no token, is refused naming the variable and the value."""
    default = Settings(_env_file=None).venue_config("lighter").rate_limit
    assert (default.rate_per_second, default.burst, default.order_reserve) == (10.0, 5, 2)  # premium
    monkeypatch.setenv("PERPARB_LIGHTER_TIER", "standard")
    limit = Settings(_env_file=None).venue_config("lighter").rate_limit
    assert (limit.rate_per_second, limit.burst, limit.order_reserve) == (1.0, 2, 1)
    monkeypatch.setenv("PERPARB_LIGHTER_RATE_PER_SECOND", "0.7")
    limit = Settings(_env_file=None).venue_config("lighter").rate_limit
    assert (limit.rate_per_second, limit.burst, limit.order_reserve) == (0.7, 2, 1)
    monkeypatch.setenv("PERPARB_LIGHTER_BURST", "1")  # the reserve shrinks to what fits
    limit = Settings(_env_file=None).venue_config("lighter").rate_limit
    assert (limit.burst, limit.order_reserve) == (1, 0)
    monkeypatch.setenv("PERPARB_LIGHTER_ORDER_RESERVE", "1")
    with pytest.raises(ConfigError, match=r"PERPARB_LIGHTER_.*order_reserve=1 with burst=1"):
        Settings(_env_file=None).venue_config("lighter")
    monkeypatch.setenv("PERPARB_LIGHTER_TIER", "gold")
    with pytest.raises(ConfigError, match=r"PERPARB_LIGHTER_TIER: unknown tier 'gold'.*premium, standard"):
        Settings(_env_file=None).venue_config("lighter")
    monkeypatch.setenv("PERPARB_PARADEX_TIER", "premium")
    with pytest.raises(ConfigError, match=r"PERPARB_PARADEX_TIER.*single budget"):
        Settings(_env_file=None).venue_config("paradex")


def test_empty_venue_list_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPARB_VENUES", " , ")
    with pytest.raises(ValidationError, match="PERPARB_VENUES is empty"):
        Settings(_env_file=None)
    monkeypatch.delenv("PERPARB_VENUES")
    assert Settings(_env_file=None).venue_list == registry.venue_names()


@pytest.fixture
def no_sub_venues() -> Iterator[None]:
    yield
    registry.enable_sub_venues("hyperliquid", [])  # what these tests enabled stays out of the others


def test_sub_venues_come_from_their_setting(monkeypatch: pytest.MonkeyPatch, no_sub_venues: None) -> None:
    """`PERPARB_HYPERLIQUID_DEXES=xyz` makes "hyperliquid:xyz" an installed venue of its own, whose unset
    variables take the main dex's (same server, same weight budget)."""
    assert (
        sub_venue_setting("hyperliquid") == "PERPARB_HYPERLIQUID_DEXES"
        and sub_venue_setting("lighter") is None
    )
    monkeypatch.setenv("PERPARB_HYPERLIQUID_DEXES", "xyz, flx,xyz")
    monkeypatch.setenv("PERPARB_HYPERLIQUID_URL", "http://127.0.0.1:8899")
    monkeypatch.setenv("PERPARB_HYPERLIQUID_RATE_PER_SECOND", "5")
    monkeypatch.setenv("PERPARB_HYPERLIQUID_FLX_RATE_PER_SECOND", "2")
    monkeypatch.setenv("PERPARB_VENUES", "hyperliquid:xyz,lighter")
    settings = Settings(_env_file=None, fee_overrides="hyperliquid:xyz:taker=0.0009")
    assert {"hyperliquid:xyz", "hyperliquid:flx"} <= set(registry.venue_names())
    assert settings.venue_list == ["hyperliquid:xyz", "lighter"]
    xyz = settings.venue_config("hyperliquid:xyz")
    assert (xyz.venue, xyz.rest_url, xyz.rate_limit.rate_per_second) == (
        "hyperliquid:xyz",
        "http://127.0.0.1:8899",
        5,
    )
    assert xyz.websocket_url == "ws://127.0.0.1:8899/ws" and xyz.budget_venue == "hyperliquid"
    assert xyz.dex == "xyz"
    assert settings.venue_config("hyperliquid:flx").rate_limit.rate_per_second == 2  # its own variable wins
    assert settings.fee_override_map() == {("hyperliquid:xyz", "taker"): Decimal("0.0009")}
    monkeypatch.delenv("PERPARB_HYPERLIQUID_DEXES")
    monkeypatch.delenv("PERPARB_VENUES")
    Settings(_env_file=None)
    assert "hyperliquid:xyz" not in registry.venue_names()  # the settings say which exist
    assert registry.get_spec("hyperliquid:xyz").parent == "hyperliquid"  # stored data stays readable


def test_a_bad_dex_name_is_refused(monkeypatch: pytest.MonkeyPatch, no_sub_venues: None) -> None:
    monkeypatch.setenv("PERPARB_HYPERLIQUID_DEXES", "XYZ!")
    with pytest.raises(ConfigError, match="hyperliquid sub-venue 'XYZ!'"):
        Settings(_env_file=None)
    with pytest.raises(ConfigError, match="no sub-venues"):
        registry.enable_sub_venues("lighter", ["x"])
    with pytest.raises(registry.UnknownVenueError):
        registry.get_spec("hyperliquid:NOPE")
