"""Small helpers of the Backpack client: decimal wire text and epoch conversions."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def decimal_wire(value: Decimal) -> str:
    """The wire text of a price or size: no exponent, no trailing zeros ("3600.50" -> "3600.5")."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def epoch_ms(ts: datetime) -> int:
    """Aware datetime -> epoch ms.

    Raises:
        ValueError: a naive datetime."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}; pass an aware UTC datetime")
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
