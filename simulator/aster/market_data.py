"""Public market-data bodies of the simulated Aster (`GET /fapi/v1/...` and `/fapi/v3/...`, no signature).

| endpoint                     | answer                                                                            |
|------------------------------|-----------------------------------------------------------------------------------|
| `ping`, `time`               | `{}`, `{"serverTime": <sim ms>}`                                                  |
| `exchangeInfo`               | the file, `serverTime` restamped                                                  |
| `fundingInfo[?symbol]`       | the file (`fundingIntervalHours` per symbol); unknown symbol -> 400 -1121         |
| `premiumIndex[?symbol]`      | traded markets from the engine: `markPrice` / `indexPrice` / `estimatedSettlePrice` = the mark, `lastFundingRate` = the rate in force x the interval (fraction per interval), `nextFundingTime` = the next settlement, `time` = now; other file rows restamped. An object with `symbol`, a list without |
| `ticker/24hr[?symbol]`       | the file, `lastPrice` the engine's mark for traded markets, `closeTime` now       |
| `fundingRate?symbol&startTime&endTime&limit` | the file's rows of `symbol` with `fundingTime` in [startTime, endTime] (inclusive), ascending; with `startTime` the first `limit` from it, else the newest `limit` (default 100, at most 1000) |
| `depth?symbol&limit`         | the engine's book, `limit` levels a side (default 500; 5/10/20/50/100/500/1000), `lastUpdateId` = the book's change counter (the depth stream's `u`) |

Errors: a missing or unknown symbol -> 400 `{"code": -1121, "msg": "Invalid symbol."}`; a bad `limit` -> -4021.
"""

from __future__ import annotations

from typing import Any

from simulator.aster.errors import AsterApiError, bad_param
from simulator.aster.scenario import AsterData
from simulator.aster.trading import AsterTrading
from simulator.aster.wire import dec_text
from simulator.engine import Side
from simulator.engine.funding import HOUR_MS

DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)


class AsterMarketData:
    """Public bodies from the scenario's files and the engine (module table)."""

    def __init__(self, data: AsterData, trading: AsterTrading) -> None:
        self.data = data
        self.trading = trading
        self.engine = trading.engine

    def _known(self, symbol: str) -> str:
        name = symbol.upper()
        if name not in self.data.symbols() and name not in self.engine.markets:
            raise AsterApiError(400, -1121)
        return name

    def time(self) -> dict[str, Any]:
        return {"serverTime": self.engine.clock.now_ms()}

    def exchange_info(self) -> dict[str, Any]:
        body = dict(self.data.exchange_info or {"timezone": "UTC", "rateLimits": [], "symbols": []})
        body["serverTime"] = self.engine.clock.now_ms()
        return body

    def funding_info(self, symbol: str | None) -> list[dict[str, Any]]:
        rows = self.data.funding_info or []
        if symbol:
            name = self._known(symbol)
            return [r for r in rows if r.get("symbol") == name]
        return rows

    def premium_row(self, name: str) -> dict[str, Any]:
        state = self.engine.markets.get(name)
        now = self.engine.clock.now_ms()
        recorded = dict(self.data.premium(name) or {"symbol": name})
        if state is None:
            recorded["time"] = now
            return recorded
        interval = state.spec.settlement_interval_hours
        period = interval * HOUR_MS
        mark = dec_text(state.mark_price)
        return {
            "symbol": name,
            "markPrice": mark,
            "indexPrice": mark,
            "estimatedSettlePrice": mark,
            "lastFundingRate": f"{state.rate_hourly * interval:.8f}",
            "interestRate": recorded.get("interestRate", "0.00010000"),
            "nextFundingTime": now - now % period + period,
            "time": now,
        }

    def premium_index(self, symbol: str | None) -> Any:
        self.engine.sync()
        if symbol:
            return self.premium_row(self._known(symbol))
        names = list(dict.fromkeys([*self.data.symbols(), *self.engine.markets]))
        return [self.premium_row(n) for n in names]

    def ticker(self, symbol: str | None) -> Any:
        now = self.engine.clock.now_ms()
        rows = []
        for row in self.data.ticker_24hr or []:
            out = dict(row)
            state = self.engine.markets.get(str(row.get("symbol")))
            if state is not None:
                out["lastPrice"] = dec_text(state.mark_price)
            out["closeTime"] = now
            rows.append(out)
        if symbol:
            name = self._known(symbol)
            found = next((r for r in rows if r.get("symbol") == name), None)
            if found is None:
                raise AsterApiError(400, -1121)
            return found
        return rows

    def funding_rate(self, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = params.get("symbol")
        if not symbol:
            raise bad_param("symbol")
        name = self._known(symbol)
        try:
            start = int(params["startTime"]) if params.get("startTime") else None
            end = int(params["endTime"]) if params.get("endTime") else None
            limit = int(params.get("limit", "100"))
        except ValueError:
            raise AsterApiError(
                400, -1130, "Data sent for parameter 'startTime/endTime/limit' is not valid."
            ) from None
        limit = max(1, min(limit, 1000))
        rows = sorted(self.data.funding_rate.get(name, []), key=lambda r: r["fundingTime"])
        rows = [
            r
            for r in rows
            if (start is None or r["fundingTime"] >= start) and (end is None or r["fundingTime"] <= end)
        ]
        return rows[:limit] if start is not None else rows[-limit:]

    def depth(self, params: dict[str, str]) -> dict[str, Any]:
        symbol = params.get("symbol")
        if not symbol:
            raise bad_param("symbol")
        name = symbol.upper()
        state = self.engine.markets.get(name)
        if state is None:
            raise AsterApiError(400, -1121)
        try:
            limit = int(params.get("limit", "500"))
        except ValueError:
            raise AsterApiError(400, -4021, f"'{params.get('limit')}' is not valid depth limit.") from None
        if limit not in DEPTH_LIMITS:
            raise AsterApiError(400, -4021, f"'{limit}' is not valid depth limit.")
        self.engine.sync()
        book = state.book
        now = self.engine.clock.now_ms()
        return {
            "lastUpdateId": book.seq,
            "E": now,
            "T": now,
            "bids": [[dec_text(p), dec_text(s)] for p, s in book.levels(Side.BUY, limit)],
            "asks": [[dec_text(p), dec_text(s)] for p, s in book.levels(Side.SELL, limit)],
        }
