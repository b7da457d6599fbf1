"""Benchmark: order-book delta application (issue #5 targets: >= 200,000 level updates/s, p99 < 200 us per
message). Replays seeded Lighter-format `update/order_book` frames (decoded JSON, ~1.4k levels per side after
the snapshot, 1-20 level changes per frame, about a third deletes) through `lighter.websocket.order_book.apply_frame`,
i.e. parsing the decimal strings + sequence check + book update, as the WebSocket layer will do per message.

Run: .venv/bin/python bench/bench_order_book.py [--messages 50000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exchange_clients.base.order_book_manager import OrderBookManager
from exchange_clients.lighter.websocket.order_book import apply_frame


def frames(n: int, seed: int = 3) -> tuple[dict, list[dict], int]:
    rnd = random.Random(seed)
    mid = 300000  # price in cents
    snap_bids = [{"price": f"{(mid - i) / 100:.2f}", "size": "1.0000"} for i in range(1, 1401)]
    snap_asks = [{"price": f"{(mid + i) / 100:.2f}", "size": "1.0000"} for i in range(1, 1401)]
    nonce = 1000
    snapshot = {
        "channel": "order_book:0",
        "type": "subscribed/order_book",
        "order_book": {"bids": snap_bids, "asks": snap_asks, "nonce": nonce, "begin_nonce": 0},
    }
    out, levels = [], 0
    for _ in range(n):
        k = rnd.randint(1, 20)
        bids, asks = [], []
        for _ in range(k):
            off = rnd.randint(1, 200)
            size = "0.0000" if rnd.random() < 0.33 else f"{rnd.uniform(0.01, 50):.4f}"
            if rnd.random() < 0.5:
                bids.append({"price": f"{(mid - off) / 100:.2f}", "size": size})
            else:
                asks.append({"price": f"{(mid + off) / 100:.2f}", "size": size})
        levels += k
        begin, nonce = nonce, nonce + rnd.randint(1, 90)
        out.append(
            {
                "channel": "order_book:0",
                "type": "update/order_book",
                "order_book": {"bids": bids, "asks": asks, "nonce": nonce, "begin_nonce": begin},
            }
        )
    return snapshot, out, levels


def main(n: int) -> None:
    snapshot, updates, levels = frames(n)
    manager = OrderBookManager()
    apply_frame(manager, snapshot)
    lat = []
    perf = time.perf_counter_ns
    t0 = perf()
    for f in updates:
        a = perf()
        ok = apply_frame(manager, f)
        lat.append(perf() - a)
        assert ok
    total = (perf() - t0) / 1e9
    lat.sort()
    book = manager.books["0"]
    assert book.is_synced
    print(f"order-book deltas: {n} messages, {levels} level updates in {total:.3f} s")
    print(
        f"  {levels / total:,.0f} level updates/s   target >= 200,000: {'met' if levels / total >= 200_000 else 'NOT met'}"
    )
    print(
        f"  per message p50 {statistics.median(lat) / 1000:.1f} us   p99 {lat[int(0.99 * len(lat))] / 1000:.1f} us   "
        f"max {lat[-1] / 1000:.1f} us   target p99 < 200 us: {'met' if lat[int(0.99 * len(lat))] < 200_000 else 'NOT met'}"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=50_000)
    main(ap.parse_args().messages)
