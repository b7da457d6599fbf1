"""Lighter-compatible server (REST `/api/v1/...` and"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulator.formats import aggregate_levels, decimal_or_none, fixed
from simulator.lighter.errors import InvalidParam
from simulator.lighter.scenario import NETWORK_ID_SETTING, lighter_data
from simulator.scenario import HOUR_MS, Scenario, SimClock

ORDER_BOOK_LIMIT_MAX = 250  # lighter-sdk OrderApi.order_book_orders: Field(le=250, ge=1)
OPEN_INTEREST_LIMIT = "72057594037927936.000000"  # 2^56, as in ws_update_market_stats_market0.json
DEFAULT_CLAMP_SMALL = "0.0500"
DEFAULT_CLAMP_BIG = "4.0000"
DEFAULT_BASE_INTEREST = "0.0100"
PERCENT = Decimal(100)
EIGHT = Decimal(8)


def opt_int(query: Any, name: str) -> int | None:
    """Integer query parameter, None when absent/empty. Raises `InvalidParam` when not an integer."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidParam(f"{name}={raw!r} is not an integer") from None


def req_int(query: Any, name: str) -> int:
    """Required integer query parameter. Raises `InvalidParam` when absent or not an integer."""
    value = opt_int(query, name)
    if value is None:
        raise InvalidParam(f"{name} is required")
    return value


class LighterMarketData:
    """Lighter response bodies from a scenario and the clock. Pure (no I/O); shared by REST and WebSocket.

    Args:
        scenario: the loaded scenario (its `lighter` bodies are never mutated).
        clock: the simulator clock (restamps, `funding_timestamp`).
    """

    def __init__(self, scenario: Scenario, clock: SimClock) -> None:
        self.scenario = scenario
        self.data = lighter_data(scenario)
        self.clock = clock

    # ------------------------------------------------------------------------------------------ REST

    def status(self) -> dict[str, Any]:
        """`GET /` body: `{status, network_id, timestamp}` (timestamp in seconds, from the clock)."""
        return {
            "status": 200,
            "network_id": self.scenario.settings.venue_setting(NETWORK_ID_SETTING, 1),
            "timestamp": self.clock.now_s(),
        }

    def order_book_details(self, market_id: int | None, filter_: str | None) -> dict[str, Any]:
        """`GET /api/v1/orderBookDetails` body.

        Raises:
            InvalidParam: unknown `filter`, or a `market_id` that no perp/spot row has.
        """
        if filter_ not in (None, "", "all", "perp", "spot"):
            raise InvalidParam(f"filter={filter_!r}")
        body = dict(self.data.order_book_details or {"code": 200, "order_book_details": []})
        for key, kind in (("order_book_details", "perp"), ("spot_order_book_details", "spot")):
            if key not in body:
                continue
            rows = list(body[key] or [])
            if filter_ not in (None, "", "all", kind):
                rows = []
            if market_id is not None:
                rows = [row for row in rows if row.get("market_id") == market_id]
            body[key] = rows
        if market_id is not None and not any(
            body.get(k) for k in ("order_book_details", "spot_order_book_details")
        ):
            raise InvalidParam(f"market_id={market_id} unknown")
        return body

    def funding_rates(self) -> dict[str, Any]:
        """`GET /api/v1/funding-rates` body (the file verbatim; no file = no rows)."""
        return (
            self.data.funding_rates
            if self.data.funding_rates is not None
            else {"code": 200, "funding_rates": []}
        )

    def fundings(
        self, market_id: int, resolution: str, start_s: int, end_s: int, count_back: int
    ) -> dict[str, Any]:
        """`GET /api/v1/fundings` body: rows with `start_s <= timestamp <= end_s`, the newest `count_back` of
        them, ascending by timestamp (as the venue answers). Rows are served as recorded (`rate` percent per
        hour, unsigned; `direction` gives the sign).

        Raises:
            InvalidParam: resolution other than "1h", `count_back < 1`, `start > end`, or a market that is
                neither in orderBookDetails nor has a fundings file.
        """
        if resolution != "1h":
            raise InvalidParam(f"resolution={resolution!r} (the simulator serves hourly history only)")
        if count_back < 1 or start_s > end_s:
            raise InvalidParam(f"count_back={count_back} start={start_s} end={end_s}")
        body = self.data.fundings.get(market_id)
        if body is None:
            if market_id not in self.data.known_market_ids():
                raise InvalidParam(f"market_id={market_id} unknown")
            return {"code": 200, "resolution": resolution, "fundings": []}
        rows = sorted(
            (r for r in body["fundings"] if start_s <= r["timestamp"] <= end_s), key=lambda r: r["timestamp"]
        )
        return {**body, "resolution": resolution, "fundings": rows[-count_back:]}

    def order_book_orders(self, market_id: int, limit: int) -> dict[str, Any]:
        """`GET /api/v1/orderBookOrders` body: the first `limit` orders of each side, `total_*` = rows sent.

        Unknown market -> code 200 and empty sides (recorded in `rest_orderBookOrders_errors.json`).

        Raises:
            InvalidParam: `limit` outside 1..250 (`limit=0` -> 20001 is recorded).
        """
        if not 1 <= limit <= ORDER_BOOK_LIMIT_MAX:
            raise InvalidParam(f"limit={limit}")
        body = self.data.order_book_orders.get(market_id)
        if body is None:
            return {"code": 200, "total_asks": 0, "asks": [], "total_bids": 0, "bids": []}
        asks = body["asks"][:limit]
        bids = body["bids"][:limit]
        out = {"code": 200, **body, "asks": asks, "bids": bids}
        out["total_asks"] = len(asks)
        out["total_bids"] = len(bids)
        return out

    # ------------------------------------------------------------------------------------------ WS

    def _size_places(self, market_id: int) -> int | None:
        detail = self.data.detail(market_id)
        places = detail.get("size_decimals") if detail else None
        return places if isinstance(places, int) and not isinstance(places, bool) else None

    def book_levels(self, market_id: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """(asks, bids) price levels aggregated from `orderBookOrders_<market_id>.json` ([] when absent)."""
        body = self.data.order_book_orders.get(market_id)
        if body is None:
            return [], []
        places = self._size_places(market_id)
        return (
            aggregate_levels(body["asks"], ascending=True, size_places=places),
            aggregate_levels(body["bids"], ascending=False, size_places=places),
        )

    def _current_rate_percent(self, market_id: int) -> Decimal | None:
        """Lighter's own `funding-rates` row (fraction per 8 h) as percent per hour: rate / 8 * 100."""
        for row in self.funding_rates().get("funding_rates", []):
            if (
                isinstance(row, dict)
                and row.get("exchange") == "lighter"
                and row.get("market_id") == market_id
            ):
                rate = decimal_or_none(row.get("rate"), "rate", context=f"funding-rates market {market_id}")
                if rate is not None:
                    return rate / EIGHT * PERCENT
        return None

    def _last_settled_percent(self, market_id: int) -> Decimal | None:
        """Newest well-formed `fundings` row as signed percent per hour (direction "short" -> negative)."""
        body = self.data.fundings.get(market_id)
        if body is None:
            return None
        for row in sorted(body["fundings"], key=lambda r: r["timestamp"], reverse=True):
            rate = decimal_or_none(row.get("rate"), "rate", context=f"fundings market {market_id}")
            direction = row.get("direction")
            if rate is None or direction not in ("long", "short"):
                continue
            return rate if direction == "long" else -rate
        return None

    def market_stats(self, market_id: int) -> dict[str, Any] | None:
        """One `market_stats` entry (shape of `venue-data/lighter/ws_update_market_stats_market0.json`).

        Built from the orderBookDetails row, the `lighter` row of funding-rates, the fundings history and the
        order book file:
        - prices (text, `price_decimals`): `mark_price`/`index_price` from the row, else `last_trade_price`;
          best bid/ask from the aggregated book (else the mark price), `mid_price` = their mean;
        - `current_funding_rate`: funding-rates `rate` (fraction per 8 h) / 8 * 100 = percent per hour, 4 dp;
          `funding_rate` (last settled): newest fundings row, signed percent per hour; falls back to current;
          `funding_timestamp`: the last hour boundary + 1 ms (Lighter settles at HH:00:00.001);
        - `open_interest`: open interest in USD = orderBookDetails `open_interest` (base units) * mark price,
          6 dp. Inferred from recordings: WS ETH `86574362.97` at mark 1914 (= 45k ETH) against REST ETH
          `open_interest` 39559 (base) — the WS value is quote notional, the REST value base units;
        - 24 h volumes and price range: the row's floats.

        Returns None when the market is unknown or has no usable price.
        """
        detail = self.data.detail(market_id)
        if detail is None:
            return None
        ctx = f"orderBookDetails market {market_id}"
        raw_places = detail.get("price_decimals")
        places = raw_places if isinstance(raw_places, int) else 2
        last = decimal_or_none(detail.get("last_trade_price"), "last_trade_price", context=ctx)
        mark = decimal_or_none(detail.get("mark_price"), "mark_price", context=ctx) or last
        if mark is None:
            return None
        index = decimal_or_none(detail.get("index_price"), "index_price", context=ctx) or mark
        asks, bids = self.book_levels(market_id)
        best_ask = Decimal(asks[0]["price"]) if asks else mark
        best_bid = Decimal(bids[0]["price"]) if bids else mark
        oi_base = decimal_or_none(detail.get("open_interest"), "open_interest", context=ctx)
        current = self._current_rate_percent(market_id)
        settled = self._last_settled_percent(market_id)
        if current is None:
            current = settled
        if settled is None:
            settled = current
        stats: dict[str, Any] = {
            "symbol": detail["symbol"],
            "market_id": market_id,
            "index_price": fixed(index, places),
            "mark_price": fixed(mark, places),
            "mid_price": fixed((best_ask + best_bid) / 2, places),
            "best_ask_price": fixed(best_ask, places),
            "best_bid_price": fixed(best_bid, places),
        }
        if oi_base is not None:
            stats["open_interest"] = fixed(oi_base * mark, 6)
        stats["open_interest_limit"] = OPEN_INTEREST_LIMIT
        stats["funding_clamp_small"] = detail.get("funding_clamp_small") or DEFAULT_CLAMP_SMALL
        stats["funding_clamp_big"] = detail.get("funding_clamp_big") or DEFAULT_CLAMP_BIG
        stats["last_trade_price"] = fixed(last if last is not None else mark, places)
        if current is not None and settled is not None:
            stats["current_funding_rate"] = fixed(current, 4)
            stats["funding_rate"] = fixed(settled, 4)
        stats["funding_timestamp"] = self.clock.now_ms() // HOUR_MS * HOUR_MS + 1
        for key in (
            "daily_base_token_volume",
            "daily_quote_token_volume",
            "daily_price_low",
            "daily_price_high",
            "daily_price_change",
        ):
            if key in detail:
                stats[key] = detail[key]
        stats["base_interest_rate"] = detail.get("base_interest_rate") or DEFAULT_BASE_INTEREST
        return stats

    def market_stats_all(self) -> dict[str, dict[str, Any]]:
        """`market_stats` map of `market_stats/all`: str(market_id) -> entry, for every perp with a price."""
        out: dict[str, dict[str, Any]] = {}
        for row in self.data.perp_details():
            stats = self.market_stats(row["market_id"])
            if stats is not None:
                out[str(row["market_id"])] = stats
        return out
