"""Dashboard pieces without a database: number formats, the venue-pair spreads of the rates page, the API token
(settings and the constant-time check), the sort script and the package data the dashboard needs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

import pytest
import tomli  # pytest's own dependency on Python 3.10 (tomllib arrives in 3.11)
from pydantic import SecretStr

from perparb.dashboard import STATIC, control, format, pages
from perparb.settings import MIN_API_TOKEN_CHARS, Settings
from perparb_core.errors import ConfigError
from perparb_core.settings import DatabaseConfig, ServiceConfig

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def test_formats() -> None:
    assert format.pct(0.1234) == "12.34 %" and format.pct(None) == "–" and format.pct(-0.5, 1) == "-50.0 %"
    assert format.apr(D("0.00001")) == "8.76 %"  # x 8760, as percent (DESIGN.md units)
    assert format.usd(D("-1234.5")) == "-1,234.50" and format.usd(None) == "–"
    assert format.usd_short(50_000_000) == "50.0 M" and format.usd_short(1234) == "1.2 k"
    assert format.usd_short(950) == "950" and format.usd_short(2.5e9) == "2.5 B"
    assert format.qty(D("2.50000")) == "2.5" and format.qty(D("1E+3")) == "1000"
    assert [format.age(s) for s in (42, 600, 7300, 200_000)] == ["42 s", "10.0 min", "2.0 h", "2.3 d"]
    assert (
        format.when(datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))) == "2026-03-01 12:00:00"
    )
    assert format.sort_key(D("0.5")) == "0.5" and format.sort_key(None) == "" and format.sort_key(True) == ""
    assert (format.tone(1), format.tone(-1), format.tone(0), format.tone(None)) == ("pos", "neg", "", "")


def test_pair_spreads_oriented_to_the_paying_direction() -> None:
    hours = [T0 + timedelta(hours=i) for i in range(4)]
    history = {
        ("a", "ETH"): [(h, D("0.00001")) for h in hours],
        ("b", "ETH"): [(h, D("0.00004")) for h in hours[1:]],  # one hour fewer
        ("c", "ETH"): [(h, D("-0.00002")) for h in hours],
        ("a", "BTC"): [(h, D("0.01")) for h in hours],  # another asset: ignored
    }
    pairs = pages.pair_spreads(history, "ETH")
    got = [(p["long"], p["short"], p["mean"], p["hours"]) for p in pairs]
    # spread = short - long; each pair long the venue that pays less, best mean first (ties: long, short)
    assert got == [
        ("c", "b", D("0.00006"), 3),
        ("a", "b", D("0.00003"), 3),
        ("c", "a", D("0.00003"), 4),
    ]
    assert all(s == p["mean"] for p in pairs for _h, s in p["points"])
    assert pages.pair_spreads({("a", "ETH"): [(T0, D(0))]}, "ETH") == []


def test_api_token_from_env_or_file(tmp_path: Path) -> None:
    assert Settings(_env_file=None).resolved_api_token() is None
    assert Settings(_env_file=None, api_token=SecretStr("")).resolved_api_token() is None  # empty = unset
    good = "a" * MIN_API_TOKEN_CHARS
    token = Settings(_env_file=None, api_token=SecretStr(f" {good}\n")).resolved_api_token()
    assert token is not None and token.get_secret_value() == good
    config = Settings(_env_file=None, api_token=SecretStr(good)).service_config()
    assert config.api_token is not None and config.api_token.get_secret_value() == good
    assert good not in repr(config) and good not in str(config.model_dump())

    short = "tooshort-secret"
    with pytest.raises(ConfigError) as exc:
        Settings(_env_file=None, api_token=SecretStr(short)).resolved_api_token()
    assert "shorter than 16 characters" in str(exc.value) and short not in str(exc.value)

    path = tmp_path / "token"
    path.write_text(good + "\n")
    from_file = Settings(_env_file=None, api_token_file=path).resolved_api_token()
    assert from_file is not None and from_file.get_secret_value() == good
    with pytest.raises(ConfigError, match="both set"):
        Settings(_env_file=None, api_token=SecretStr(good), api_token_file=path).resolved_api_token()
    path.write_text("   \n")
    with pytest.raises(ConfigError, match="the file is empty"):
        Settings(_env_file=None, api_token_file=path).resolved_api_token()
    path.write_text(short)
    with pytest.raises(ConfigError) as exc:
        Settings(_env_file=None, api_token_file=path).resolved_api_token()
    assert str(path) in str(exc.value) and short not in str(exc.value)
    with pytest.raises(ConfigError, match="no such file"):
        Settings(_env_file=None, api_token_file=tmp_path / "missing").resolved_api_token()


def test_check_token() -> None:
    db = DatabaseConfig()
    with pytest.raises(control.ControlError) as exc:
        control.check_token(ServiceConfig(database=db), "Bearer anything")
    assert exc.value.status == 403 and exc.value.error == "control_disabled"
    config = ServiceConfig(database=db, api_token=SecretStr("t" * 20))
    control.check_token(config, "Bearer " + "t" * 20)
    control.check_token(config, "bearer  " + "t" * 20)  # scheme is case-insensitive (RFC 7235)
    for header in (
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic " + "t" * 20,
        "Bearer " + "t" * 19,
        "Bearer " + "t" * 21,
    ):
        with pytest.raises(control.ControlError) as exc:
            control.check_token(config, header)
        assert exc.value.status == 401 and "t" * 19 not in exc.value.detail


def test_dashboard_files_ship_in_the_package() -> None:
    data = tomli.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["perparb.dashboard"]
    root = STATIC.parent
    shipped = {p for pattern in patterns for p in root.glob(pattern)}
    needed = {*root.glob("templates/*.html"), *STATIC.iterdir()}
    assert needed and needed <= shipped
    # every template and asset the pages name exists
    for template in (root / "templates").glob("*.html"):
        for asset in re.findall(r'"/static/([^"]+)"', template.read_text()):
            assert (STATIC / asset).is_file(), f"{template.name} names a missing /static/{asset}"
