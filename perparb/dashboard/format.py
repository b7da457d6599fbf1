"""Number and time formats of the dashboard (Jinja2 filters). Humans read percent here, code and JSON never do.

* `pct(fraction)` "12.34 %" (a fraction, 0.1234); `apr(rate_hourly)` the hourly rate as APR percent
  (x 8760 x 100, DESIGN.md units); `usd(x)` "1,234.56" / "-12.00" (USD, two decimals); `usd_short(x)` "50.0 M"; `qty(x)` a base quantity
  without trailing zeros; `age(seconds)` "42 s", "5.0 min", "2.1 h", "3.0 d"; `when(datetime)` "2026-03-01 12:00:00"
  UTC; `sort_key(x)` the raw number a sortable cell carries (`data-sort`), "" when unknown.
* `tone(x)` "pos" / "neg" / "" by sign, for colouring PnL cells.

Every filter shows `DASH` for None (unknown is never shown as zero).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

DASH = "–"
HOURS_PER_YEAR = 8760


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def pct(value: Any, digits: int = 2) -> str:
    """A fraction as percent: 0.1234 -> "12.34 %"."""
    v = _float(value)
    return DASH if v is None else f"{v * 100:,.{digits}f} %"


def apr(rate_hourly: Any, digits: int = 2) -> str:
    """A rate per hour (fraction) as APR percent: 0.00001 -> "8.76 %"."""
    v = _float(rate_hourly)
    return DASH if v is None else pct(v * HOURS_PER_YEAR, digits)


def usd(value: Any, digits: int = 2) -> str:
    """USD with thousands separators and `digits` decimals: -1234.5 -> "-1,234.50"."""
    v = _float(value)
    return DASH if v is None else f"{v:,.{digits}f}"


def usd_short(value: Any) -> str:
    """USD rounded to its size: 1234 -> "1.2 k", 50_000_000 -> "50.0 M", 2.5e9 -> "2.5 B", 950 -> "950"."""
    v = _float(value)
    if v is None:
        return DASH
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= div:
            return f"{v / div:,.1f} {unit}"
    return f"{v:,.0f}"


def qty(value: Any) -> str:
    """A quantity or price as stored, without exponent or trailing zeros."""
    if value is None:
        return DASH
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{d.normalize():f}"


def age(seconds: Any) -> str:
    """An age in seconds, human-sized."""
    v = _float(seconds)
    if v is None:
        return DASH
    if abs(v) < 120:
        return f"{v:.0f} s"
    if abs(v) < 7200:
        return f"{v / 60:.1f} min"
    if abs(v) < 172800:
        return f"{v / 3600:.1f} h"
    return f"{v / 86400:.1f} d"


def when(value: datetime | None) -> str:
    """An aware datetime as "YYYY-MM-DD HH:MM:SS" in UTC."""
    if value is None:
        return DASH
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def sort_key(value: Any) -> str:
    """The `data-sort` attribute of a numeric cell: the plain number, "" when unknown (sorted last)."""
    v = _float(value)
    return "" if v is None else repr(v)


def tone(value: Any) -> str:
    """CSS class by sign: "pos" (> 0), "neg" (< 0), "" (zero or unknown)."""
    v = _float(value)
    if v is None or v == 0:
        return ""
    return "pos" if v > 0 else "neg"


def pretty_json(value: Any) -> str:
    """JSON indented for reading (keys in stored order)."""
    return json.dumps(value, indent=2, default=str)


FILTERS = {
    "pct": pct,
    "apr": apr,
    "usd": usd,
    "usd_short": usd_short,
    "qty": qty,
    "age": age,
    "when": when,
    "sort_key": sort_key,
    "tone": tone,
    "pretty_json": pretty_json,
}

__all__ = [
    "DASH",
    "FILTERS",
    "age",
    "apr",
    "pct",
    "pretty_json",
    "qty",
    "sort_key",
    "tone",
    "usd",
    "usd_short",
    "when",
]
