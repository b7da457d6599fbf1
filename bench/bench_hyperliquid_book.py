"""Benchmark: Hyperliquid `l2Book` snapshot processing (issue #13 target: >= 20,000 snapshots/s of 20 levels
per side). Hyperliquid pushes WHOLE snapshots (no deltas, no sequence id; websocket/order_book.py), so the cost
per push is: parse 40 decimal strings, replace both sides of the book. Replays seeded decoded frames shaped like
venue-data/hyperliquid/ws_l2Book_BTC_2026-09_trimmed.json (20 levels a side, as sent by default) through the
stream's frame handler (`HyperliquidMarketDataStream.on_frame` -> `apply_l2book`), the path every push takes,
then checks the book against the last frame. Two runs: consecutive pushes that differ in a few levels (what the
venue sends: a snapshot repeats most of the previous one), and the worst case where every size is new on every
push (an active market); the target applies to both (exit code 1 when either misses it).

Run: .venv/bin/python bench/bench_hyperliquid_book.py [--messages 50000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exchange_clients.hyperliquid.websocket.manager import HyperliquidMarketDataStream

LEVELS = 20
TARGET = 20_000


def frames(n: int, *, churn: int | None, seed: int = 13) -> list[dict]:
    """`n` pushes. `churn` levels (of 40) change from one push to the next (new size, or the book moves a tick
    every ~10 pushes, shifting every price), as consecutive real snapshots do; None = every size is new on every
    push (worst case: nothing parsed before repeats)."""
    rnd = random.Random(seed)

    def size() -> str:
        return f"{rnd.uniform(0.001, 20):.5f}"

    mid = 84_143
    bid_sz = [size() for _ in range(LEVELS)]
    ask_sz = [size() for _ in range(LEVELS)]
    out = []
    for i in range(n):
        if churn is None:
            bid_sz = [size() for _ in range(LEVELS)]
            ask_sz = [size() for _ in range(LEVELS)]
        else:
            if rnd.random() < 0.1:
                mid += rnd.choice((-1, 1))
            for _ in range(churn):
                sizes = bid_sz if rnd.random() < 0.5 else ask_sz
                sizes[rnd.randrange(LEVELS)] = size()
        bids = [{"px": f"{mid - k}.0", "sz": bid_sz[k], "n": 1 + k % 7} for k in range(LEVELS)]
        asks = [{"px": f"{mid + 1 + k}.0", "sz": ask_sz[k], "n": 1 + k % 5} for k in range(LEVELS)]
        out.append(
            {
                "channel": "l2Book",
                "data": {"coin": "BTC", "time": 1_790_232_236_546 + i, "levels": [bids, asks]},
            }
        )
    return out


def run(pushes: list[dict]) -> tuple[float, list[int]]:
    stream = HyperliquidMarketDataStream("ws://127.0.0.1:1/ws", ["BTC"])
    lat = []
    perf = time.perf_counter_ns
    t0 = perf()
    for f in pushes:
        a = perf()
        stream.on_frame(f)
        lat.append(perf() - a)
    total = (perf() - t0) / 1e9
    book = stream.book("BTC")
    last = pushes[-1]["data"]["levels"]
    assert book.is_synced and book.sequence == pushes[-1]["data"]["time"]
    assert book.best_bid() == (Decimal(last[0][0]["px"]), Decimal(last[0][0]["sz"]))
    assert book.depth(LEVELS)[1][-1][0] == Decimal(last[1][-1]["px"])
    lat.sort()
    return total, lat


def main(n: int) -> int:
    code = 0
    for label, churn in (
        ("realistic: 4 of 40 levels change per push", 4),
        ("worst case: all 40 sizes new", None),
    ):
        total, lat = run(frames(n, churn=churn))
        rate = n / total
        print(
            f"hyperliquid l2Book snapshots ({label}): {n} pushes of {LEVELS} levels a side in {total:.3f} s"
        )
        print(f"  {rate:,.0f} snapshots/s   target >= {TARGET:,}: {'met' if rate >= TARGET else 'NOT met'}")
        print(
            f"  per push p50 {statistics.median(lat) / 1000:.1f} us   p99 {lat[int(0.99 * len(lat))] / 1000:.1f} us"
            f"   max {lat[-1] / 1000:.1f} us"
        )
        if rate < TARGET:
            code = 1
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    raise SystemExit(main(parser.parse_args().messages))
