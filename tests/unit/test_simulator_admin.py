"""The admin bodies every simulated venue shares (`simulator/admin.py`): one definition of the engine-fault,
funding, mark, deposit and WebSocket-fault specs, the same rules on every venue and in `scenario.json`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from simulator.admin import (
    DepositSpec,
    EngineFaultSpec,
    FundingSpec,
    MarkSpec,
    WsFaultSpec,
    decimal_text,
    validation_reasons,
)
from simulator.engine import EngineFaults
from simulator.lighter.admin import LighterWsFaultSpec
from simulator.paradex.admin import ParadexWsFaultSpec

D = Decimal


def reasons(model: type[Any], body: Any) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    return validation_reasons(info.value)


def test_decimal_text_keeps_the_text_and_refuses_non_numbers() -> None:
    assert str(decimal_text("0.400000")) == "0.400000"
    assert decimal_text(2) == D(2) and decimal_text(0.5) == D("0.5")
    for bad in (True, None, [], "x", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            decimal_text(bad, "price")


def test_engine_fault_spec_rules() -> None:
    spec = EngineFaultSpec.model_validate({"fill_fraction": "0.5", "fill_fraction_count": 1})
    faults = EngineFaults()
    spec.apply(faults)
    assert faults.snapshot() == {"reject_next": 0, "fill_fraction": "0.5", "fill_fraction_remaining": 1}
    EngineFaultSpec.model_validate({"reject_next": 2}).apply(faults)
    assert faults.snapshot()["reject_next"] == 2
    EngineFaultSpec.model_validate({"clear": True}).apply(faults)
    assert faults.snapshot() == {"reject_next": 0, "fill_fraction": None, "fill_fraction_remaining": None}

    assert "fill_fraction: Value error, fill_fraction must be in [0, 1)" in reasons(
        EngineFaultSpec, {"fill_fraction": "1.5"}
    )
    assert "'clear' cannot be combined with a fault" in reasons(
        EngineFaultSpec, {"clear": True, "reject_next": 1}
    )
    assert "give 'reject_next' and/or 'fill_fraction'" in reasons(EngineFaultSpec, {})
    assert "'fill_fraction_count' needs 'fill_fraction'" in reasons(
        EngineFaultSpec, {"reject_next": 1, "fill_fraction_count": 2}
    )
    assert "Extra inputs are not permitted" in reasons(EngineFaultSpec, {"reject_next": 1, "colour": 1})


def test_funding_spec_per_hour_or_per_period() -> None:
    assert FundingSpec.model_validate({"rate_hourly": "0.0001"}).hourly(D(8)) == D("0.0001")
    assert FundingSpec.model_validate({"funding_rate": "0.0008"}).hourly(D(8)) == D("0.0001")
    assert "exactly one" in reasons(FundingSpec, {"rate_hourly": "1", "funding_rate": "8"})
    assert "exactly one" in reasons(FundingSpec, {})


def test_mark_spec_price_or_random_walk() -> None:
    assert MarkSpec.model_validate({"price": "3500"}).price == D(3500)
    walk = MarkSpec.model_validate({"random_walk": {"vol_bps": "2.5"}}).random_walk
    assert walk is not None and (walk.vol_bps, walk.step_ms, walk.seed) == (D("2.5"), 1000, 7)
    assert "price must be > 0" in reasons(MarkSpec, {"price": 0})
    assert "exactly one of 'price' or 'random_walk'" in reasons(MarkSpec, {})
    assert "vol_bps must be >= 0" in reasons(MarkSpec, {"random_walk": {"vol_bps": -1}})


def test_deposit_and_ws_fault_bases_are_extended_by_each_venue() -> None:
    assert DepositSpec.model_validate({}).collateral == D(0)
    assert "collateral must be >= 0" in reasons(DepositSpec, {"collateral": "-1"})
    assert WsFaultSpec.model_validate({"drop_connections": True}).drop_connections
    assert "give 'drop_connections'" in reasons(WsFaultSpec, {})
    assert "give 'drop_connections' and/or 'skip_nonce'" in reasons(LighterWsFaultSpec, {})
    assert "give 'drop_connections' and/or 'skip_order_book_seq_no'" in reasons(ParadexWsFaultSpec, {})
    assert ParadexWsFaultSpec.model_validate({"skip_order_book_seq_no": True}).skip_order_book_seq_no
