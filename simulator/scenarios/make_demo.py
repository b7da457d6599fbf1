"""Write the SYNTHETIC demo scenario (`simulator/scenarios/demo/`) deterministically.

    python -m simulator.scenarios.make_demo [OUT_DIR]

Everything is made up (fixed seed 20261120, anchor 2026-11-20T00:00:00Z) but shaped exactly like the venues'
bodies: same keys and JSON types as the recordings in ../shared/venue-data (and, for fields newer than the
recordings, the types of lighter-sdk's models / Paradex's OpenAPI). The output is committed; rerunning this
script reproduces it byte for byte.

Designed content (fraction per hour; positive = longs pay shorts):

| asset | Lighter id | Lighter rate | Paradex rate (period) | note |
|---|---|---|---|---|
| ETH | 0 | +0.0030 %/h | -0.0010 %/h (8 h) | clear spread: long Paradex, short Lighter |
| BTC | 1 | +0.0012 %/h | +0.0008 %/h (8 h) | small spread |
| SOL | 2 | -0.0020 %/h | +0.0015 %/h (8 h) | clear spread: long Lighter, short Paradex |
| DOGE | 3 | +0.0025 %/h | +0.0025 %/h (8 h) | no spread |
| WIF | 5 | +0.0060 %/h | – | Lighter only |
| XRP | 7 | +0.0010 %/h | +0.0012 %/h (8 h) | |
| LINK | 8 | +0.0005 %/h | -0.0005 %/h (8 h) | |
| AVAX | 9 | +0.0040 %/h | +0.0010 %/h (8 h) | clear spread |
| TON | 12 | -0.0010 %/h | – | Lighter only |
| SUI | 16 | +0.0012 %/h | +0.0012 %/h (8 h) | no spread |
| HYPE | 24 | +0.0012 %/h | +0.0050 %/h (1 h) | Paradex market with funding_period_hours 1 |
| TAO | – | – | +0.0020 %/h (8 h) | Paradex only |

Raw units written (see DESIGN.md "Units"): Lighter `funding-rates.rate` = fraction per 8 h (hourly × 8) for
lighter and the binance/bybit/hyperliquid reference rows; Lighter `fundings.rate` = unsigned percent per hour
with 4 decimals + `direction`; Paradex `funding_rate` = fraction per `funding_period_hours`,
`funding_rate_8h` = rate × 8 / period. History: 72 hourly Lighter `fundings` rows and 72 h of Paradex
`funding/data` samples every 15 min, each ending at the current rate.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal
from pathlib import Path
from typing import Any

SEED = 20261120
END_S = 1_795_132_800  # 2026-11-20T00:00:00Z: the newest history row
HOURS = 72
PARADEX_STEP_MIN = 15
OUT = Path(__file__).resolve().parent / "demo"

D = Decimal


@dataclass(frozen=True)
class Asset:
    """One base asset of the demo. Rates are fractions per hour; None = not listed on that venue."""

    symbol: str
    price: Decimal
    lighter_id: int | None
    size_decimals: int
    price_decimals: int
    lighter_rate: Decimal | None
    paradex_rate: Decimal | None
    paradex_period: int
    oi_base: Decimal
    volume_usd: Decimal
    refs: dict[str, Decimal] = field(default_factory=dict)


# fmt: off
ASSETS: list[Asset] = [
    # symbol, price, Lighter id, size dp, price dp, Lighter rate/h, Paradex rate/h, Paradex period (h),
    # open interest (base), 24 h volume (USD), reference rates/h of other venues
    Asset("ETH", D("3600.25"), 0, 4, 2, D("0.000030"), D("-0.000010"), 8, D("41250.5"), D("1650000000"),
          {"binance": D("0.0000125"), "bybit": D("0.0000110"), "hyperliquid": D("0.0000125")}),
    Asset("BTC", D("97012.4"), 1, 5, 1, D("0.000012"), D("0.000008"), 8, D("1180.42"), D("2350000000"),
          {"binance": D("0.0000100"), "bybit": D("0.0000095"), "hyperliquid": D("0.0000125")}),
    Asset("SOL", D("210.455"), 2, 3, 3, D("-0.000020"), D("0.000015"), 8, D("812000.5"), D("420000000"),
          {"binance": D("-0.0000050"), "hyperliquid": D("0.0000020")}),
    Asset("DOGE", D("0.381245"), 3, 0, 6, D("0.000025"), D("0.000025"), 8, D("210000000"), D("98000000"),
          {"binance": D("0.0000125")}),
    Asset("WIF", D("2.10455"), 5, 1, 5, D("0.000060"), None, 8, D("9500000.5"), D("31000000")),
    Asset("XRP", D("2.451230"), 7, 0, 6, D("0.000010"), D("0.000012"), 8, D("52000000"), D("120000000"),
          {"bybit": D("0.0000100"), "hyperliquid": D("0.0000110")}),
    Asset("LINK", D("23.51234"), 8, 1, 5, D("0.000005"), D("-0.000005"), 8, D("1450000.5"), D("45000000")),
    Asset("AVAX", D("41.2012"), 9, 2, 4, D("0.000040"), D("0.000010"), 8, D("905000.25"), D("38000000")),
    Asset("TON", D("5.41012"), 12, 1, 5, D("-0.000010"), None, 8, D("3100000.5"), D("12000000")),
    Asset("SUI", D("4.60123"), 16, 1, 5, D("0.000012"), D("0.000012"), 8, D("8800000.5"), D("64000000")),
    Asset("HYPE", D("27.8012"), 24, 2, 4, D("0.000012"), D("0.000050"), 1, D("2950000.25"), D("87000000"),
          {"hyperliquid": D("0.0000380")}),
    Asset("TAO", D("480.12"), None, 3, 2, None, D("0.000020"), 8, D("21000.5"), D("15000000")),
]
# fmt: on


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


# ---------------------------------------------------------------------------------------------- Lighter


def lighter_details(a: Asset, rng: random.Random) -> dict[str, Any]:
    assert a.lighter_id is not None
    change = round(rng.uniform(-4, 4), 6)
    low = float(q(a.price * D("0.965"), a.price_decimals))
    high = float(q(a.price * D("1.021"), a.price_decimals))
    volume_base = float(q(a.volume_usd / a.price, a.size_decimals))
    min_base = max(D(10) / a.price, D(1).scaleb(-a.size_decimals))  # at least 10 USDC, at least one lot
    return {
        "symbol": a.symbol,
        "market_id": a.lighter_id,
        "market_type": "perp",
        "base_asset_id": a.lighter_id + 100,
        "quote_asset_id": 3,
        "status": "active",
        "taker_fee": "0.0000",
        "maker_fee": "0.0000",
        "liquidation_fee": "1.0000",
        "min_base_amount": s(min_base, a.size_decimals, ROUND_UP),
        "min_quote_amount": "10.000000",
        "order_quote_limit": "",
        "supported_size_decimals": a.size_decimals,
        "supported_price_decimals": a.price_decimals,
        "supported_quote_decimals": 6,
        "size_decimals": a.size_decimals,
        "price_decimals": a.price_decimals,
        "quote_multiplier": 1,
        "default_initial_margin_fraction": 500 if a.symbol in ("BTC", "ETH") else 1000,
        "min_initial_margin_fraction": 200 if a.symbol in ("BTC", "ETH") else 500,
        "maintenance_margin_fraction": 120 if a.symbol in ("BTC", "ETH") else 300,
        "closeout_margin_fraction": 80 if a.symbol in ("BTC", "ETH") else 200,
        "last_trade_price": float(a.price),
        "daily_trades_count": rng.randint(20_000, 1_500_000),
        "daily_base_token_volume": float(volume_base),
        "daily_quote_token_volume": float(q(a.volume_usd * D("1.0000007"), 6)),
        "daily_price_low": low,
        "daily_price_high": high,
        "daily_price_change": change,
        "open_interest": float(a.oi_base),
        "daily_chart": {},
        "market_config": {
            "market_margin_mode": 0,
            "insurance_fund_account_index": 281474976710655,
            "liquidation_mode": 0,
            "force_reduce_only": False,
            "funding_fee_discounts_enabled": False,
            "trading_hours": "",
            "hidden": False,
            "rfq_enabled": False,
        },
        "strategy_index": 0,
        "is_maker_fee_enabled": False,
        "is_taker_fee_enabled": False,
        "funding_clamp_small": "0.0500",
        "funding_clamp_big": "4.0000",
        "base_interest_rate": "0.0100",
        "created_at": "2025-01-15T00:00:00Z",
        "mark_price": s(a.price, a.price_decimals),
        "index_price": s(a.price * D("1.0002"), a.price_decimals),
        "multiplier": "1",
        "market_flags": 0,
        "funding_premium_multiplier": 1,
        "start_timestamp": 0,
        "end_timestamp": 0,
        "settlement_type": 0,
        "settlement_price": 0,
        "settlement_cap": 0,
        "outcome": 0,
        "default_price": 0,
        "operator_account_index": 0,
        "is_frozen": False,
    }


def lighter_fundings(a: Asset, rng: random.Random) -> dict[str, Any]:
    assert a.lighter_rate is not None
    rows = []
    path = rate_path(rng, a.lighter_rate, HOURS, noise=D("0.000004"))
    for i, rate in enumerate(path):
        rate = q(rate, 6)  # Lighter quotes 4 decimals of percent = 6 decimals of fraction
        ts = END_S - (HOURS - 1 - i) * 3600
        rows.append(
            {
                "timestamp": ts,
                "value": plain(q(abs(rate) * a.price, 6)),
                "rate": s(abs(rate) * 100, 4),
                "direction": "long" if rate >= 0 else "short",
            }
        )
    return {"code": 200, "resolution": "1h", "fundings": rows}


def lighter_book(a: Asset, rng: random.Random) -> dict[str, Any]:
    assert a.lighter_id is not None
    step = max(D(1).scaleb(-a.price_decimals), q(a.price * D("0.0002"), a.price_decimals))
    lot = D(1).scaleb(-a.size_decimals)
    base_notional = D(2000)
    sides: dict[str, list[dict[str, Any]]] = {"asks": [], "bids": []}
    order_seq = {
        "asks": 281_475_000_000_000 + a.lighter_id * 10_000,
        "bids": 562_949_000_000_000 + a.lighter_id * 10_000,
    }
    for side, sign in (("asks", 1), ("bids", -1)):
        for level in range(10):
            price = q(a.price + sign * step * (level + 1), a.price_decimals)
            for _ in range(2 if level in (0, 3, 6) else 1):
                order_seq[side] += rng.randint(1, 900)
                size = max(lot, q(base_notional * D(rng.uniform(0.2, 3.0)) / a.price, a.size_decimals))
                filled = q(size * D(rng.choice([0, 0, 0.25, 0.5])), a.size_decimals, ROUND_DOWN)
                sides[side].append(
                    {
                        "order_index": order_seq[side],
                        "order_id": str(order_seq[side]),
                        "owner_account_index": rng.randint(1_000, 400_000),
                        "initial_base_amount": s(size, a.size_decimals),
                        "remaining_base_amount": s(
                            size - filled if size - filled > 0 else size, a.size_decimals
                        ),
                        "price": s(price, a.price_decimals),
                        "order_expiry": (END_S + 28 * 86400) * 1000 + rng.randint(0, 999),
                        "transaction_time": END_S * 1_000_000 - rng.randint(1_000_000, 900_000_000),
                    }
                )
    return {
        "code": 200,
        "total_asks": len(sides["asks"]),
        "asks": sides["asks"],
        "total_bids": len(sides["bids"]),
        "bids": sides["bids"],
    }


def lighter_funding_rates() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for a in ASSETS:
        if a.lighter_id is None or a.lighter_rate is None:
            continue
        rows.append(
            {
                "market_id": a.lighter_id,
                "exchange": "lighter",
                "symbol": a.symbol,
                "rate": float(a.lighter_rate * 8),
            }
        )
    for a in ASSETS:
        if a.lighter_id is None:
            continue
        for exchange, hourly in sorted(a.refs.items()):
            rows.append(
                {
                    "market_id": a.lighter_id,
                    "exchange": exchange,
                    "symbol": a.symbol,
                    "rate": float(hourly * 8),
                }
            )
    return {"code": 200, "funding_rates": rows}


# ---------------------------------------------------------------------------------------------- Paradex


def paradex_symbol(a: Asset) -> str:
    return f"{a.symbol}-USD-PERP"


def paradex_tick(a: Asset) -> Decimal:
    return D(1).scaleb(-min(a.price_decimals, 5))


def paradex_market(a: Asset, rng: random.Random) -> dict[str, Any]:
    major = a.symbol in ("BTC", "ETH", "SOL")
    return {
        "symbol": paradex_symbol(a),
        "base_currency": a.symbol,
        "quote_currency": "USD",
        "settlement_currency": "USDC",
        "order_size_increment": plain(D(1).scaleb(-a.size_decimals)),
        "price_tick_size": plain(paradex_tick(a)),
        "min_notional": "10",
        "open_at": 1_735_689_600_000 + rng.randint(0, 10_000_000),
        "expiry_at": 0,
        "asset_kind": "PERP",
        "market_kind": "cross",
        "position_limit": plain(q(D(2_000_000) / a.price, a.size_decimals)),
        "price_bands_width": "0.05",
        "max_slippage": "0.05",
        "max_open_orders": 100,
        "max_funding_rate": "0.02" if major else "0.05",
        "delta1_cross_margin_params": {
            "imf_base": "0.02" if major else "0.1",
            "imf_shift": "0",
            "imf_factor": "0",
            "mmf_factor": "0.5",
        },
        "price_feed_id": hashlib.sha256(f"feed-{a.symbol}".encode()).hexdigest()[:44],
        "oracle_ewma_factor": "0.2",
        "max_order_size": plain(q(D(500_000) / a.price, a.size_decimals)),
        "max_funding_rate_change": "0.0005",
        "max_tob_spread": "0.2",
        "interest_rate": "0.01",
        "clamp_rate": "0.05",
        "funding_period_hours": a.paradex_period,
        "funding_multiplier": 1,
        "tags": [],
        "fee_config": {"api_fee": {"maker_fee": {"fee": "0.00003"}, "taker_fee": {"fee": "0.0002"}}},
    }


def paradex_period_rate(a: Asset) -> Decimal:
    assert a.paradex_rate is not None
    return a.paradex_rate * a.paradex_period


def paradex_summary(a: Asset, rng: random.Random) -> dict[str, Any]:
    tick = paradex_tick(a)
    mark = q(a.price * D("1.0001"), 8)
    bid = q(a.price - tick * 2, 5)
    ask = q(a.price + tick * 2, 5)
    return {
        "symbol": paradex_symbol(a),
        "mark_price": plain(mark),
        "underlying_price": plain(q(a.price * D("1.00015"), 8)),
        "last_traded_price": plain(q(a.price, 5)),
        "bid": plain(bid),
        "bid_size": plain(q(D(rng.uniform(0.5, 5)) * 2000 / a.price, a.size_decimals)),
        "ask": plain(ask),
        "ask_size": plain(q(D(rng.uniform(0.5, 5)) * 2000 / a.price, a.size_decimals)),
        "volume_24h": plain(q(a.volume_usd / 7, 6)),
        "total_volume": plain(q(a.volume_usd * 220, 6)),
        "open_interest": plain(q(a.oi_base / 3, a.size_decimals)),
        "funding_rate": s(paradex_period_rate(a), 14),
        "future_funding_rate": s(paradex_period_rate(a) * D("0.97"), 14),
        "price_change_rate_24h": plain(q(D(rng.uniform(-0.05, 0.05)), 6)),
        "created_at": END_S * 1000,
    }


def paradex_funding_data(a: Asset, rng: random.Random) -> dict[str, Any]:
    steps = HOURS * 60 // PARADEX_STEP_MIN
    period = D(a.paradex_period)
    path = rate_path(rng, paradex_period_rate(a), steps, noise=D("0.000003") * period)
    index = q(a.price * D("0.04"), 12)
    rows = []
    step_h = D(PARADEX_STEP_MIN) / 60
    for i, rate in enumerate(path):
        created = (END_S - (steps - 1 - i) * PARADEX_STEP_MIN * 60) * 1000 + (
            0 if i == steps - 1 else rng.randint(0, 999)
        )
        premium = rate * a.price
        index = index + premium * step_h / period
        rows.append(
            {
                "market": paradex_symbol(a),
                "funding_index": s(index, 12),
                "funding_premium": s(premium, 12),
                "funding_rate": s(rate, 14),
                "funding_rate_8h": s(rate * 8 / period, 8, ROUND_DOWN),
                "funding_period_hours": a.paradex_period,
                "created_at": created,
                "impact_premium_rate": s(rate * D(rng.uniform(0.6, 1.4)), 16),
            }
        )
    rows.reverse()  # the venue answers newest first
    return {"next": None, "prev": None, "results": rows}


def paradex_orderbook(a: Asset, rng: random.Random) -> dict[str, Any]:
    tick = paradex_tick(a)
    bid0 = q(a.price - tick * 2, 5)
    ask0 = q(a.price + tick * 2, 5)
    step = max(tick, q(a.price * D("0.0002"), 5))
    lot = D(1).scaleb(-a.size_decimals)

    def size() -> str:
        return plain(max(lot, q(D(rng.uniform(0.2, 4)) * 2000 / a.price, a.size_decimals)))

    return {
        "market": paradex_symbol(a),
        "seq_no": rng.randint(1_000_000, 90_000_000),
        "last_updated_at": END_S * 1000,
        "asks": [[plain(ask0 + step * i), size()] for i in range(15)],
        "bids": [[plain(bid0 - step * i), size()] for i in range(15)],
    }


def paradex_system_config() -> dict[str, Any]:
    return {
        "starknet_gateway_url": "https://sim.invalid/gateway",
        "starknet_fullnode_rpc_url": "https://sim.invalid/rpc/v0_7",
        "starknet_chain_id": "PRIVATE_SN_PARACLEAR_MAINNET",
        "block_explorer_url": "https://sim.invalid/explorer/",
        "paraclear_address": felt("perparb-sim paraclear"),
        "paraclear_decimals": 8,
        "paraclear_account_proxy_hash": felt("perparb-sim account proxy class"),
        "paraclear_account_hash": felt("perparb-sim account class"),
        "oracle_address": felt("perparb-sim oracle"),
        "bridged_tokens": [
            {
                "name": "USDC",
                "symbol": "USDC",
                "decimals": 6,
                "l1_token_address": l1_address("perparb-sim l1 usdc"),
                "l1_bridge_address": l1_address("perparb-sim l1 bridge"),
                "l2_token_address": felt("perparb-sim l2 usdc"),
                "l2_bridge_address": felt("perparb-sim l2 bridge"),
            }
        ],
        "l1_core_contract_address": l1_address("perparb-sim l1 core"),
        "l1_operator_address": l1_address("perparb-sim l1 operator"),
        "l1_chain_id": "1",
        "liquidation_fee": "0.2",
    }


# ---------------------------------------------------------------------------------------------- output


def _dump(body: Any) -> str:
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


README = """# Demo scenario (SYNTHETIC)

Everything in this folder is **made up** by `simulator/scenarios/make_demo.py` (fixed seed, fixed anchor
2026-11-20T00:00:00Z): prices, open interest, volumes, fees, order books, funding rates and their history.
No number here is a market observation. Only the *formats* are real: every file has the same keys and JSON
types as the venues' recorded bodies in `../shared/venue-data` (checked by
`tests/conformance/test_simulator_shapes.py`).

Regenerate (byte-identical): `python -m simulator.scenarios.make_demo`.

`scenario.json` sets `shift_history_to_now`: when the simulator starts, the whole funding history is moved by
whole hours so its newest row falls within the last hour, and the demo never looks stale.

Content: 12 assets — ETH, BTC, SOL, DOGE, XRP, LINK, AVAX, SUI, HYPE on both venues, WIF and TON on Lighter
only, TAO on Paradex only; HYPE-USD-PERP has `funding_period_hours` 1. Designed spreads (fraction per hour):
ETH Lighter +0.0030 %/h vs Paradex -0.0010 %/h, SOL Lighter -0.0020 %/h vs Paradex +0.0015 %/h, AVAX +0.0040 %/h
vs +0.0010 %/h, HYPE Lighter +0.0012 %/h vs Paradex +0.0050 %/h; DOGE and SUI have none. Lighter's
`funding-rates` also carries binance / bybit / hyperliquid reference rows. See make_demo.py for the full table.
"""


def build(out: Path) -> None:
    """Write the demo scenario into `out` (created)."""
    rng = random.Random(SEED)
    lighter_dir = out / "lighter"
    paradex_dir = out / "paradex"
    lighter_dir.mkdir(parents=True, exist_ok=True)
    paradex_dir.mkdir(parents=True, exist_ok=True)
    files: dict[Path, Any] = {}
    lighter_assets = [a for a in ASSETS if a.lighter_id is not None]
    paradex_assets = [a for a in ASSETS if a.paradex_rate is not None]
    details = [lighter_details(a, rng) for a in sorted(lighter_assets, key=lambda a: a.lighter_id or 0)]
    files[lighter_dir / "orderBookDetails.json"] = {
        "code": 200,
        "order_book_details": details,
        "spot_order_book_details": [],
    }
    files[lighter_dir / "funding-rates.json"] = lighter_funding_rates()
    for a in lighter_assets:
        files[lighter_dir / f"fundings_{a.lighter_id}.json"] = lighter_fundings(a, rng)
        files[lighter_dir / f"orderBookOrders_{a.lighter_id}.json"] = lighter_book(a, rng)
    files[paradex_dir / "system_config.json"] = paradex_system_config()
    files[paradex_dir / "markets.json"] = {"results": [paradex_market(a, rng) for a in paradex_assets]}
    files[paradex_dir / "markets_summary.json"] = {
        "results": [paradex_summary(a, rng) for a in paradex_assets]
    }
    for a in paradex_assets:
        files[paradex_dir / f"funding_data_{paradex_symbol(a)}.json"] = paradex_funding_data(a, rng)
        files[paradex_dir / f"orderbook_{paradex_symbol(a)}.json"] = paradex_orderbook(a, rng)
    files[out / "scenario.json"] = {
        "description": "SYNTHETIC demo scenario generated by simulator/scenarios/make_demo.py (made-up numbers)",
        "synthetic": True,
        "restamp": True,
        "shift_history_to_now": True,
        "push_interval_seconds": 1.0,
    }
    for path, body in files.items():
        path.write_text(_dump(body), encoding="utf-8")
    (out / "README.md").write_text(README, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Entry point: `python -m simulator.scenarios.make_demo [OUT_DIR]`."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else OUT
    build(out)
    print(f"demo scenario written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
