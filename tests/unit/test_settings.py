"""Settings: every one documented in .env.example, bad values named in the error, secrets-free defaults."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from exchange_clients import registry
from perparb.cli import app
from perparb.scripts.accounts_cli import CREDENTIAL_ENV_VARS
from perparb.settings import Settings, VenueSettings, venue_env_prefix

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
        1,
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


def test_empty_venue_list_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERPARB_VENUES", " , ")
    with pytest.raises(ValidationError, match="PERPARB_VENUES is empty"):
        Settings(_env_file=None)
    monkeypatch.delenv("PERPARB_VENUES")
    assert Settings(_env_file=None).venue_list == registry.venue_names()
