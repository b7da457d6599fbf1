"""The metric registry (`perparb_core.metrics`) and the log formats (`perparb.runtime.configure_logging`)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
from prometheus_client import generate_latest

from perparb.runtime import configure_logging
from perparb.settings import Settings
from perparb_core import metrics
from perparb_core.errors import (
    VenueAuthError,
    VenueRateLimitedError,
    VenueRejectedError,
    VenueUnavailableError,
)
from perparb_core.logcontext import log_context


def test_every_metric_name_carries_its_unit_and_the_perparb_prefix() -> None:
    names = {family.name for m in metrics.METRICS for family in m.describe()}
    assert len(names) == len(metrics.METRICS)
    units = ("_seconds", "_usd", "_ratio", "_rows", "_positions", "_paused", "_total", "_opportunities")
    for name in names:
        assert name.startswith("perparb_"), name
        assert re.fullmatch(r"[a-z_]+", name), name
    for m in metrics.METRICS:
        family = next(iter(m.describe()))
        assert (
            family.type == "counter" or family.name.endswith(units) or family.name == "perparb_opportunities"
        ), family.name


def test_exported_names_are_what_the_exposition_shows() -> None:
    metrics.COLLECTOR_CYCLE_SECONDS.observe(0.2)
    metrics.HEDGES.labels(account="unit").inc()
    metrics.RUN_EQUITY_USD.labels(account="unit", config="c").set(1)
    text = generate_latest().decode()
    shown = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line.startswith("perparb_")}
    assert {
        "perparb_collector_cycle_duration_seconds_bucket",
        "perparb_collector_cycle_duration_seconds_count",
        "perparb_hedges_total",
        "perparb_run_equity_usd",
    } <= shown
    assert shown <= metrics.exported_names()
    metrics.clear_run("unit", "c")


def test_error_kinds() -> None:
    assert metrics.error_kind(VenueRateLimitedError("v", "slow down")) == "rate_limited"
    assert metrics.error_kind(VenueAuthError("v", "bad key")) == "auth"
    assert metrics.error_kind(VenueRejectedError("v", "no")) == "rejected"
    assert metrics.error_kind(VenueUnavailableError("v", "down")) == "unavailable"
    assert metrics.error_kind(TimeoutError()) == "unavailable"
    assert metrics.error_kind(RuntimeError()) == "other"
    assert set(metrics.ERROR_KINDS) >= {"rate_limited", "auth", "rejected", "unavailable", "data", "other"}


def _legs(account: str) -> set[tuple[str, str]]:
    return {
        (s.labels["venue"], s.labels["symbol"])
        for fam in metrics.LEG_LIQUIDATION_DISTANCE.collect()
        for s in fam.samples
        if s.labels["account"] == account
    }


def test_leg_series_do_not_outlive_their_position() -> None:
    for symbol in ("ETH", "SOL"):
        for venue in ("a", "b"):
            metrics.LEG_LIQUIDATION_DISTANCE.labels(account="legs", venue=venue, symbol=symbol).set(0.3)
            metrics.LEG_MARGIN_RATIO.labels(account="legs", venue=venue, symbol=symbol).set(0.5)
    metrics.LEG_MARGIN_RATIO.labels(account="other", venue="a", symbol="ETH").set(0.5)
    metrics.clear_legs("legs", keep=[("a", "SOL"), ("b", "SOL")])
    assert _legs("legs") == {("a", "SOL"), ("b", "SOL")}
    metrics.RUN_NOTIONAL_USD.labels(account="legs", config="c", venue="a").set(10)
    metrics.clear_run("legs", "c")
    assert _legs("legs") == set()
    assert not [
        s for f in metrics.RUN_NOTIONAL_USD.collect() for s in f.samples if s.labels["account"] == "legs"
    ]
    other = [
        s for f in metrics.LEG_MARGIN_RATIO.collect() for s in f.samples if s.labels["account"] == "other"
    ]
    assert len(other) == 1  # another account's series are untouched
    metrics.clear_legs("other")


@pytest.fixture
def root_logging() -> Iterator[None]:
    yield
    logging.getLogger().handlers.clear()


def test_json_logs_one_object_per_line_with_context(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(_env_file=None, log_format="json"))  # type: ignore[call-arg]
    log = logging.getLogger("exchange_clients.somevenue.client")
    with log_context(run=7, account="alice"):
        log.warning("order %s rejected", "c-1", extra={"symbol": "ETH"})
    logging.getLogger("strategies.runner").info("no context here")
    logging.getLogger("perparb.lighter.client").info("an installed venue's own logger")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 3
    first, second, third = lines
    assert {k: first[k] for k in ("level", "logger", "event", "run", "account", "venue", "symbol")} == {
        "level": "WARNING",
        "logger": "exchange_clients.somevenue.client",
        "event": "order c-1 rejected",
        "run": 7,
        "account": "alice",
        "venue": "somevenue",
        "symbol": "ETH",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["time"])
    assert (second["run"], second["account"], second["venue"]) == (None, None, None)
    assert third["venue"] == "lighter"


def test_text_logs_stay_human(root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(_env_file=None))  # type: ignore[call-arg]
    logging.getLogger("strategies.runner").warning("plain line")
    out = capsys.readouterr().err
    assert "strategies.runner: plain line" in out and "{" not in out


def test_log_format_is_validated() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="log_format"):
        Settings(_env_file=None, log_format="xml")  # type: ignore[call-arg]
