"""Benchmark: normalise-and-store one collection cycle of 2 venues × 300 markets.

Builds venue-format payloads (Lighter orderBookDetails + funding-rates, Paradex markets + markets/summary) for
300 markets each, then times, per cycle: the real parsers (normalisation) and `collector.store_fetches` (one
transaction) on a real embedded PostgreSQL, reached through a wire-protocol proxy that counts round trips.
The engine is configured as `perparb collect` configures it (no pre-ping). Each cycle uses new timestamps so every sample is really inserted. Targets (issue #2): < 100 ms per cycle and
at most 5 round trips.

Run: .venv/bin/python bench/bench_collector.py [--markets 300] [--cycles 30]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pgwire import CountingProxy, unix_socket_of
from database import migrate
from database.session import create_engine, embedded_server_url, stop_embedded
from exchange_clients.lighter.funding_adapter import fetchers as lf
from exchange_clients.paradex.funding_adapter import fetchers as pf
from funding_rate_service.collector import VenueFetch, store_fetches
from perparb_core.models import utcnow


def payloads(n: int, seed: int = 7) -> tuple[dict, dict, dict, dict]:
    rnd = random.Random(seed)
    obd, fr, pm, ps = [], [], [], []
    for i in range(n):
        sym = f"A{i:03d}"
        price = round(rnd.uniform(0.1, 50000), 2)
        obd.append(
            {
                "symbol": sym,
                "market_id": i,
                "status": "active",
                "taker_fee": "0.0000",
                "maker_fee": "0.0000",
                "liquidation_fee": "1.0000",
                "min_base_amount": "0.0050",
                "min_quote_amount": "10.000000",
                "order_quote_limit": "",
                "supported_size_decimals": 4,
                "supported_price_decimals": 2,
                "supported_quote_decimals": 6,
                "size_decimals": 4,
                "price_decimals": 2,
                "quote_multiplier": 1,
                "default_initial_margin_fraction": 500,
                "min_initial_margin_fraction": 200,
                "maintenance_margin_fraction": 120,
                "closeout_margin_fraction": 80,
                "last_trade_price": price,
                "daily_trades_count": 1000,
                "daily_base_token_volume": 1000.5,
                "daily_quote_token_volume": 1e7,
                "daily_price_low": price * 0.9,
                "daily_price_high": price * 1.1,
                "daily_price_change": 0.5,
                "open_interest": round(rnd.uniform(1, 1e5), 4),
                "daily_chart": {},
                "market_config": {
                    "market_margin_mode": 0,
                    "insurance_fund_account_index": 281474976710655,
                    "liquidation_mode": 0,
                    "force_reduce_only": False,
                    "trading_hours": "",
                },
            }
        )
        fr.append({"market_id": i, "exchange": "lighter", "symbol": sym, "rate": rnd.uniform(-1e-4, 1e-4)})
        psym = f"{sym}-USD-PERP"
        pm.append(
            {
                "symbol": psym,
                "base_currency": sym,
                "quote_currency": "USD",
                "settlement_currency": "USDC",
                "order_size_increment": "0.001",
                "price_tick_size": "0.1",
                "min_notional": "100",
                "open_at": 1698756879745,
                "expiry_at": 0,
                "asset_kind": "PERP",
                "position_limit": "60",
                "price_bands_width": "0.05",
                "max_open_orders": 100,
                "max_funding_rate": "0.02",
                "funding_period_hours": 8,
                "delta1_cross_margin_params": {
                    "imf_base": "0.02",
                    "imf_shift": "180000",
                    "imf_factor": "0.00007",
                    "mmf_factor": "0.5",
                },
                "fee_config": {"api_fee": {"maker_fee": {"fee": "0.00003"}, "taker_fee": {"fee": "0.0002"}}},
            }
        )
        ps.append(
            {
                "symbol": psym,
                "mark_price": str(price),
                "last_traded_price": str(price),
                "bid": str(price),
                "ask": str(price),
                "volume_24h": "2611476.26",
                "total_volume": "589169794.97",
                "created_at": 0,
                "underlying_price": str(price),
                "open_interest": "152.777",
                "funding_rate": f"{rnd.uniform(-1e-3, 1e-3):.14f}",
                "price_change_rate_24h": "-0.03",
            }
        )
    return (
        {"code": 200, "order_book_details": obd},
        {"code": 200, "funding_rates": fr},
        {"results": pm},
        {"results": ps},
    )


def normalise(bodies: tuple[dict, dict, dict, dict], now) -> list[VenueFetch]:  # type: ignore[no-untyped-def]
    obd, fr, pm, ps = bodies
    for row in ps["results"]:
        row["created_at"] = int(now.timestamp() * 1000)
    lm = lf.parse_order_book_details(obd, now)
    lr = lf.parse_funding_rates(fr, {m.venue_market_id: m for m in lm.markets}, now)
    pmk = pf.parse_markets(pm, now)
    psr = pf.parse_markets_summary(ps, {m.venue_symbol: m for m in pmk.markets}, now)
    markets_p = pf.attach_stats(pmk.markets, psr.samples)
    return [
        VenueFetch(
            "lighter", now, now, lm.markets, lr.samples, lr.reference_rates, lm.rejections + lr.rejections
        ),
        VenueFetch("paradex", now, now, markets_p, psr.samples, [], pmk.rejections + psr.rejections),
    ]


async def main(n: int, cycles: int) -> None:
    warnings.simplefilter("ignore")
    tmp = Path(tempfile.mkdtemp(prefix="ppb", dir="/tmp"))
    url = embedded_server_url(tmp / "pg")
    migrate.upgrade(url)
    bodies = payloads(n)
    sock = unix_socket_of(tmp / "pg")
    norm_ms, store_ms, total_ms, trips = [], [], [], []
    async with CountingProxy(sock) as proxy:
        engine = create_engine(
            f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/postgres", pre_ping=False
        )
        base = utcnow()
        for c in range(cycles + 3):  # 3 warm-up cycles: connection, prepared-statement cache
            now = base + timedelta(seconds=c)
            t0 = time.perf_counter()
            fetches = normalise(bodies, now)
            t1 = time.perf_counter()
            before = proxy.round_trips
            summary = await store_fetches(engine, fetches, kind="collect")
            t2 = time.perf_counter()
            assert sum(v.stored for v in summary.venues) == 2 * n, summary.to_json_dict()
            if c >= 3:
                norm_ms.append((t1 - t0) * 1000)
                store_ms.append((t2 - t1) * 1000)
                total_ms.append((t2 - t0) * 1000)
                trips.append(proxy.round_trips - before)
        await engine.dispose()
    stop_embedded(tmp / "pg")  # get_server(cleanup_mode=None).cleanup() would leave it running
    shutil.rmtree(tmp, ignore_errors=True)

    def q(xs: list[float], p: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]

    print(
        f"normalise-and-store, 2 venues x {n} markets ({2 * n} samples/cycle), {cycles} cycles after warm-up"
    )
    print(f"  normalise  p50 {statistics.median(norm_ms):7.1f} ms   p95 {q(norm_ms, 0.95):7.1f} ms")
    print(f"  store      p50 {statistics.median(store_ms):7.1f} ms   p95 {q(store_ms, 0.95):7.1f} ms")
    print(
        f"  total      p50 {statistics.median(total_ms):7.1f} ms   p95 {q(total_ms, 0.95):7.1f} ms   "
        f"target < 100 ms: {'met' if statistics.median(total_ms) < 100 else 'NOT met'} (p50)"
    )
    print(
        f"  database round trips per cycle: {max(trips)} (min {min(trips)})   target <= 5: "
        f"{'met' if max(trips) <= 5 else 'NOT met'}"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--markets", type=int, default=300)
    ap.add_argument("--cycles", type=int, default=30)
    args = ap.parse_args()
    asyncio.run(main(args.markets, args.cycles))
