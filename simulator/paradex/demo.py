"""Paradex's part of the SYNTHETIC demo scenario (`simulator/scenarios/make_demo.py`): `system/config`, `markets`,
`markets/summary`, and per market 72 h of `funding/data` samples every 15 min and one order book, in Paradex's own
formats (same keys and JSON types as the recordings in ../shared/venue-data/paradex). Raw units written:
`funding_rate` = fraction per `funding_period_hours`, `funding_rate_8h` = rate x 8 / period.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from simulator.paradex.scenario import VENUE
from simulator.scenarios.demo_tools import (
    END_S,
    HOURS,
    D,
    DemoAsset,
    Listing,
    felt,
    l1_address,
    plain,
    q,
    rate_path,
    s,
)

STEP_MIN = 15
"""Minutes between two `funding/data` samples."""


def _listing(a: DemoAsset) -> Listing:
    return a.listings[VENUE]


def market_symbol(a: DemoAsset) -> str:
    return f"{a.symbol}-USD-PERP"


def tick_of(a: DemoAsset) -> Decimal:
    return D(1).scaleb(-min(a.price_decimals, 5))


def market(a: DemoAsset, rng: random.Random) -> dict[str, Any]:
    major = a.symbol in ("BTC", "ETH", "SOL")
    return {
        "symbol": market_symbol(a),
        "base_currency": a.symbol,
        "quote_currency": "USD",
        "settlement_currency": "USDC",
        "order_size_increment": plain(D(1).scaleb(-a.size_decimals)),
        "price_tick_size": plain(tick_of(a)),
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
        "funding_period_hours": _listing(a).period_hours,
        "funding_multiplier": 1,
        "tags": [],
        "fee_config": {"api_fee": {"maker_fee": {"fee": "0.00003"}, "taker_fee": {"fee": "0.0002"}}},
    }


def period_rate(a: DemoAsset) -> Decimal:
    return _listing(a).rate_hourly * _listing(a).period_hours


def summary(a: DemoAsset, rng: random.Random) -> dict[str, Any]:
    tick = tick_of(a)
    mark = q(a.price * D("1.0001"), 8)
    bid = q(a.price - tick * 2, 5)
    ask = q(a.price + tick * 2, 5)
    return {
        "symbol": market_symbol(a),
        "mark_price": plain(mark),
        "underlying_price": plain(q(a.price * D("1.00015"), 8)),
        "last_traded_price": plain(q(a.price, 5)),
        "bid": plain(bid),
        "bid_size": plain(q(D(rng.uniform(0.5, 5)) * 2000 / a.price, a.size_decimals)),
        "ask": plain(ask),
        "ask_size": plain(q(D(rng.uniform(0.5, 5)) * 2000 / a.price, a.size_decimals)),
        "volume_24h": plain(q(a.volume_24h_usd / 7, 6)),
        "total_volume": plain(q(a.volume_24h_usd * 220, 6)),
        "open_interest": plain(q(a.open_interest_base / 3, a.size_decimals)),
        "funding_rate": s(period_rate(a), 14),
        "future_funding_rate": s(period_rate(a) * D("0.97"), 14),
        "price_change_rate_24h": plain(q(D(rng.uniform(-0.05, 0.05)), 6)),
        "created_at": END_S * 1000,
    }


def funding_data(a: DemoAsset, rng: random.Random) -> dict[str, Any]:
    steps = HOURS * 60 // STEP_MIN
    period = D(_listing(a).period_hours)
    path = rate_path(rng, period_rate(a), steps, noise=D("0.000003") * period)
    index = q(a.price * D("0.04"), 12)
    rows = []
    step_h = D(STEP_MIN) / 60
    for i, rate in enumerate(path):
        created = (END_S - (steps - 1 - i) * STEP_MIN * 60) * 1000 + (
            0 if i == steps - 1 else rng.randint(0, 999)
        )
        premium = rate * a.price
        index = index + premium * step_h / period
        rows.append(
            {
                "market": market_symbol(a),
                "funding_index": s(index, 12),
                "funding_premium": s(premium, 12),
                "funding_rate": s(rate, 14),
                "funding_rate_8h": s(rate * 8 / period, 8, ROUND_DOWN),
                "funding_period_hours": _listing(a).period_hours,
                "created_at": created,
                "impact_premium_rate": s(rate * D(rng.uniform(0.6, 1.4)), 16),
            }
        )
    rows.reverse()  # the venue answers newest first
    return {"next": None, "prev": None, "results": rows}


def orderbook(a: DemoAsset, rng: random.Random) -> dict[str, Any]:
    tick = tick_of(a)
    bid0 = q(a.price - tick * 2, 5)
    ask0 = q(a.price + tick * 2, 5)
    step = max(tick, q(a.price * D("0.0002"), 5))
    lot = D(1).scaleb(-a.size_decimals)

    def size() -> str:
        return plain(max(lot, q(D(rng.uniform(0.2, 4)) * 2000 / a.price, a.size_decimals)))

    return {
        "market": market_symbol(a),
        "seq_no": rng.randint(1_000_000, 90_000_000),
        "last_updated_at": END_S * 1000,
        "asks": [[plain(ask0 + step * i), size()] for i in range(15)],
        "bids": [[plain(bid0 - step * i), size()] for i in range(15)],
    }


def system_config() -> dict[str, Any]:
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


def write_demo(folder: Path, assets: Sequence[DemoAsset], rng: random.Random) -> dict[Path, Any]:
    """The files of Paradex's demo folder (path -> body), drawing from `rng` in a fixed order."""
    listed = [a for a in assets if VENUE in a.listings]
    files: dict[Path, Any] = {folder / "system_config.json": system_config()}
    files[folder / "markets.json"] = {"results": [market(a, rng) for a in listed]}
    files[folder / "markets_summary.json"] = {"results": [summary(a, rng) for a in listed]}
    for a in listed:
        files[folder / f"funding_data_{market_symbol(a)}.json"] = funding_data(a, rng)
        files[folder / f"orderbook_{market_symbol(a)}.json"] = orderbook(a, rng)
    return files
