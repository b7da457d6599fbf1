"""Venue-neutral pieces of the SYNTHETIC demo scenario (`simulator/scenarios/make_demo.py`): the assets, read from
`demo_assets.json`, and the number formatting and random paths every venue's demo writer uses
(`simulator/<venue>/demo.py`, registered as `SimVenueProtocol.write_demo`).

Everything is made up (fixed seed, anchor `END_S` = 2026-11-20T00:00:00Z); only the formats are real.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

SEED = 20261120
END_S = 1_795_132_800  # 2026-11-20T00:00:00Z: the newest history row
HOURS = 72
ASSETS_FILE = Path(__file__).resolve().parent / "demo_assets.json"

D = Decimal


@dataclass(frozen=True)
class Listing:
    """An asset as listed on one venue of the demo: its rate (fraction per hour, + = longs pay shorts), and the
    venue's market id or funding period where the venue has one."""

    rate_hourly: Decimal
    market_id: int | None = None
    period_hours: int = 1


@dataclass(frozen=True)
class DemoAsset:
    """One base asset of the demo. `listings` by venue name; `reference_rates_hourly` are other venues' rates a
    venue republishes (fraction per hour)."""

    symbol: str
    price: Decimal
    size_decimals: int
    price_decimals: int
    open_interest_base: Decimal
    volume_24h_usd: Decimal
    reference_rates_hourly: Mapping[str, Decimal] = field(default_factory=dict)
    listings: Mapping[str, Listing] = field(default_factory=dict)


def load_assets(path: Path = ASSETS_FILE) -> list[DemoAsset]:
    """The demo's assets, in the file's order."""
    rows: list[dict[str, Any]] = json.loads(path.read_text())["assets"]
    return [
        DemoAsset(
            symbol=r["symbol"],
            price=D(r["price"]),
            size_decimals=int(r["size_decimals"]),
            price_decimals=int(r["price_decimals"]),
            open_interest_base=D(r["open_interest_base"]),
            volume_24h_usd=D(r["volume_24h_usd"]),
            reference_rates_hourly={k: D(v) for k, v in r["reference_rates_hourly"].items()},
            listings={
                venue: Listing(
                    rate_hourly=D(item["rate_hourly"]),
                    market_id=item.get("market_id"),
                    period_hours=int(item.get("period_hours", 1)),
                )
                for venue, item in r["listings"].items()
            },
        )
        for r in rows
    ]


def q(value: Decimal, places: int, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    return value.quantize(D(1).scaleb(-places), rounding=rounding)


def s(value: Decimal, places: int, rounding: str = ROUND_HALF_EVEN) -> str:
    text = format(q(value, places, rounding), "f")
    return text[1:] if text.startswith("-") and D(text) == 0 else text


def plain(value: Decimal) -> str:
    """Shortest plain text of a decimal ("0.5", "12", "0.000125")."""
    text = format(value.normalize(), "f")
    return "0" if D(text) == 0 else text


def felt(label: str) -> str:
    """Deterministic 251-bit hex field element (synthetic contract address / class hash)."""
    digest = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big") >> 5
    return f"0x{digest:063x}"


def l1_address(label: str) -> str:
    return "0x" + hashlib.sha256(label.encode()).hexdigest()[:40]


def rate_path(rng: random.Random, current: Decimal, steps: int, *, noise: Decimal) -> list[Decimal]:
    """`steps` values of a mean-reverting walk ending exactly at `current` (oldest first)."""
    values = [current]
    x = current
    for _ in range(steps - 1):
        x = x + (current - x) * D("0.15") + D(rng.gauss(0, 1)).quantize(D("0.0001")) * noise
        values.append(x)
    values.reverse()
    values[-1] = current
    return values


def dump(body: Any) -> str:
    """Readable but compact JSON: top-level keys one per line, list rows one per line."""
    if isinstance(body, dict):
        parts = []
        for key, value in body.items():
            if isinstance(value, list) and value and isinstance(value[0], (dict, list)):
                rows = ",\n  ".join(json.dumps(v, separators=(",", ":")) for v in value)
                parts.append(f"{json.dumps(key)}:[\n  {rows}\n]")
            else:
                parts.append(f"{json.dumps(key)}:{json.dumps(value, separators=(',', ':'))}")
        return "{\n" + ",\n".join(parts) + "\n}\n"
    return json.dumps(body) + "\n"
