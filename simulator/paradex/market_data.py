"""Paradex market data of the simulator (`ParadexMarketData`): the REST bodies built from the scenario's files, with
the engine's books laid over for traded markets (trading: `simulator.paradex.trading`; both mounted by
`simulator.paradex.app.build_paradex_app`).

Speaks the protocol of `../shared/reference/PROTOCOL_NOTES.md` §2.2 and §2.5 and of the official OpenAPI /
OpenRPC files (`reference/specs/`), so paradex-py 0.8.2 (`ParadexApiClient(env="prod", api_base_url=url)`,
`ParadexWebsocketClient(env="prod", ws_url_override=ws_url)`) talks to it as to the venue.

REST (bodies from the scenario's `paradex/` folder, see `simulator.scenario`):

| path | params | answer |
|---|---|---|
| `GET /v1/system/config` | – | the file verbatim |
| `GET /v1/system/time`, `/v1/system/state` | – | `{server_time: "<ms>"}` (clock), `{status: "ok"}` |
| `GET /v1/markets` | `market?` | the file, filtered |
| `GET /v1/markets/summary` | `market` REQUIRED (`ALL` or a symbol) | the file, filtered, `created_at` restamped |
| `GET /v1/funding/data` | `market` REQUIRED, `start_at?`, `end_at?` (ms), `page_size?` (1..5000, default 100), `cursor?` | newest first, paged |
| `GET /v1/orderbook/{market}` | `depth?` (default 20) | the trading engine's book for a traded market, else the file; `depth` levels a side, `last_updated_at` restamped |
| `GET /v1/bbo/{market}` | – | best levels of the engine's book (traded market), else of the order book file (or the summary's bid/ask) |

For a market the trading engine trades, `markets/summary` rows (REST and WebSocket) take `mark_price`, `bid`,
`ask`, `bid_size`, `ask_size` from the engine, and `funding_rate` once it was changed through the admin API.

Errors (`{"error": <ErrorCode>, "message": str, "data": null}`; status from the OpenAPI's declared error response,
code from its `responses.ErrorCode` enum; the venue's exact messages are not recorded): `market` missing ->
400 `VALIDATION_ERROR`; unknown market -> 400 `MARKET_NOT_FOUND` (404 on `/markets`, whose spec declares 404);
bad `page_size`/`start_at`/`end_at`/`cursor`/`depth` -> 400 `INVALID_REQUEST_PARAMETER`; no `system_config.json`
-> 404 `NOT_FOUND`. A known market without a `funding_data_<M>.json` or `orderbook_<M>.json` answers empty.

Pagination of `/funding/data`: `next`/`prev` are opaque cursors (base64url of JSON `{m, o, s, e}`: market,
offset, window); a cursor carries its window, so `start_at`/`end_at` are ignored when a cursor is given.
`next` is null on the last page, `prev` null on the first.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from simulator.formats import dumps
from simulator.paradex.errors import ParadexApiError
from simulator.paradex.scenario import paradex_data
from simulator.scenario import Scenario, SimClock

if TYPE_CHECKING:
    from simulator.paradex.trading import ParadexTrading


PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 5000
ORDERBOOK_DEPTH_DEFAULT = 20


def opt_int(query: Any, name: str) -> int | None:
    """Integer query parameter, None when absent. Raises ParadexApiError 400 INVALID_REQUEST_PARAMETER."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ParadexApiError(
            400, "INVALID_REQUEST_PARAMETER", f"{name} must be an integer, got {raw!r}"
        ) from None


def encode_cursor(market: str, offset: int, start_at: int | None, end_at: int | None) -> str:
    """Opaque page cursor of `/funding/data` (base64url JSON)."""
    raw = dumps({"m": market, "o": offset, "s": start_at, "e": end_at})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, int, int | None, int | None]:
    """(market, offset, start_at, end_at) of a cursor made by `encode_cursor`.

    Raises:
        ParadexApiError: 400 INVALID_REQUEST_PARAMETER for anything else.
    """
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        market, offset, start, end = data["m"], data["o"], data["s"], data["e"]
    except (binascii.Error, ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "invalid cursor") from None
    if (
        not isinstance(market, str)
        or not isinstance(offset, int)
        or offset < 0
        or not all(v is None or isinstance(v, int) for v in (start, end))
    ):
        raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "invalid cursor")
    return market, offset, start, end


class ParadexMarketData:
    """Paradex response bodies from a scenario and the clock. Pure (no I/O); shared by REST and WebSocket."""

    def __init__(self, scenario: Scenario, clock: SimClock, trading: ParadexTrading | None = None) -> None:
        self.scenario = scenario
        self.data = paradex_data(scenario)
        self.clock = clock
        self.restamp = scenario.settings.restamp
        self.trading = trading

    def _require_known(self, market: str, *, status: int = 400) -> None:
        if market not in self.data.known_markets():
            raise ParadexApiError(status, "MARKET_NOT_FOUND", f"market {market} not found")

    def system_config(self) -> dict[str, Any]:
        """`GET /v1/system/config` body. Raises `ParadexApiError` 404 when the scenario has none."""
        if self.data.system_config is None:
            raise ParadexApiError(
                404, "NOT_FOUND", "system config not in the scenario (paradex/system_config.json)"
            )
        return self.data.system_config

    def system_time(self) -> dict[str, Any]:
        """`GET /v1/system/time` body: `server_time` as a string of epoch ms (as the venue sends it)."""
        return {"server_time": str(self.clock.now_ms())}

    def system_state(self) -> dict[str, Any]:
        """`GET /v1/system/state` body."""
        return {"status": "ok"}

    def markets(self, market: str | None) -> dict[str, Any]:
        """`GET /v1/markets` body, filtered by `market`. Raises `ParadexApiError` 404 for an unknown market."""
        body = self.data.markets if self.data.markets is not None else {"results": []}
        if not market:
            return body
        rows = [row for row in body["results"] if row.get("symbol") == market]
        if not rows:
            raise ParadexApiError(404, "MARKET_NOT_FOUND", f"market {market} not found")
        return {**body, "results": rows}

    def _stamp(self, row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "created_at": self.clock.now_ms()} if self.restamp else dict(row)

    def summary_rows(self, market: str) -> list[dict[str, Any]]:
        """Summary rows for `market` (`ALL` = every row), `created_at` restamped. [] when none.

        For a market the trading engine trades, `mark_price`, `bid`/`ask` (+ sizes) come from the engine, and
        `funding_rate` too once changed through the admin API (`ParadexTrading.summary_overrides`).
        """
        body = self.data.markets_summary or {"results": []}
        rows = [self._stamp(r) for r in body["results"] if market == "ALL" or r.get("symbol") == market]
        if self.trading is not None:
            for row in rows:
                symbol = row.get("symbol")
                if isinstance(symbol, str):
                    row.update(self.trading.summary_overrides(symbol))
        return rows

    def markets_summary(self, market: str | None) -> dict[str, Any]:
        """`GET /v1/markets/summary` body.

        Raises:
            ParadexApiError: 400 VALIDATION_ERROR without `market`; 400 MARKET_NOT_FOUND for an unknown one.
        """
        if not market:
            raise ParadexApiError(400, "VALIDATION_ERROR", "market is required (a symbol or ALL)")
        if market != "ALL":
            self._require_known(market)
        body = self.data.markets_summary or {"results": []}
        return {**body, "results": self.summary_rows(market)}

    def funding_data(
        self,
        market: str | None,
        start_at: int | None,
        end_at: int | None,
        page_size: int | None,
        cursor: str | None,
    ) -> dict[str, Any]:
        """`GET /v1/funding/data` body: rows with `start_at <= created_at <= end_at` (ms, each bound optional),
        newest first, `page_size` per page (default 100, 1..5000), opaque `next`/`prev` cursors.

        Rows are served as recorded (`funding_rate` per the market's `funding_period_hours`).

        Raises:
            ParadexApiError: 400 VALIDATION_ERROR without `market`; 400 MARKET_NOT_FOUND for an unknown market;
                400 INVALID_REQUEST_PARAMETER for a bad page size, window or cursor.
        """
        if not market:
            raise ParadexApiError(400, "VALIDATION_ERROR", "market is required")
        self._require_known(market)
        size = PAGE_SIZE_DEFAULT if page_size is None else page_size
        if not 1 <= size <= PAGE_SIZE_MAX:
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", f"page_size must be 1..{PAGE_SIZE_MAX}")
        offset = 0
        if cursor:
            cur_market, offset, start_at, end_at = decode_cursor(cursor)
            if cur_market != market:
                raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "cursor belongs to another market")
        if start_at is not None and end_at is not None and start_at > end_at:
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "start_at is after end_at")
        body = self.data.funding_data.get(market)
        rows = [] if body is None else body["results"]
        selected = [
            r
            for r in rows
            if (start_at is None or r["created_at"] >= start_at)
            and (end_at is None or r["created_at"] <= end_at)
        ]
        selected.sort(key=lambda r: r["created_at"], reverse=True)
        page = selected[offset : offset + size]
        nxt = (
            encode_cursor(market, offset + size, start_at, end_at) if offset + size < len(selected) else None
        )
        prev = encode_cursor(market, max(0, offset - size), start_at, end_at) if offset > 0 else None
        return {"next": nxt, "prev": prev, "results": page}

    def latest_funding(self, market: str) -> dict[str, Any] | None:
        """Newest funding-data row of `market`, `created_at` restamped (WS `funding_data` push), or None."""
        body = self.data.funding_data.get(market)
        if body is None or not body["results"]:
            return None
        return self._stamp(max(body["results"], key=lambda r: r["created_at"]))

    def orderbook(self, market: str, depth: int | None) -> dict[str, Any]:
        """`GET /v1/orderbook/{market}` body: `depth` levels a side, `last_updated_at` restamped. A market the
        trading engine trades answers the engine's book (`ParadexTrading.book_body`), others the scenario file.

        Raises:
            ParadexApiError: 400 MARKET_NOT_FOUND for an unknown market; 400 INVALID_REQUEST_PARAMETER for
                depth < 1.
        """
        self._require_known(market)
        depth = ORDERBOOK_DEPTH_DEFAULT if depth is None else depth
        if depth < 1:
            raise ParadexApiError(400, "INVALID_REQUEST_PARAMETER", "depth must be positive")
        if self.trading is not None and (live := self.trading.book_body(market, depth)) is not None:
            return live
        body = self.data.orderbooks.get(market)
        now = self.clock.now_ms()
        if body is None:
            return {"market": market, "seq_no": 0, "last_updated_at": now, "asks": [], "bids": []}
        out = {**body, "asks": body["asks"][:depth], "bids": body["bids"][:depth]}
        if self.restamp:
            out["last_updated_at"] = now
        return out

    def bbo(self, market: str) -> dict[str, Any]:
        """`GET /v1/bbo/{market}` body (`responses.BBOResp`): the engine's best levels for a traded market, else
        the book file's best levels, else the summary's bid/ask (sizes "0" when unknown).

        Raises:
            ParadexApiError: 400 MARKET_NOT_FOUND for an unknown market.
        """
        self._require_known(market)
        if self.trading is not None and (live := self.trading.bbo_body(market)) is not None:
            return live
        book = self.orderbook(market, 1)
        out: dict[str, Any] = {"market": market, "seq_no": book.get("seq_no", 0)}
        summary = next(iter(self.summary_rows(market)), {})
        for side, key in (("asks", "ask"), ("bids", "bid")):
            if book[side]:
                out[key], out[f"{key}_size"] = str(book[side][0][0]), str(book[side][0][1])
            else:
                out[key], out[f"{key}_size"] = str(summary.get(key, "")), str(summary.get(f"{key}_size", "0"))
        out["last_updated_at"] = self.clock.now_ms()
        return out
