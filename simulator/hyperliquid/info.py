"""`POST /info` in the simulator (`InfoMixin` of `HyperliquidTrading`): market data from the scenario's files and
the engine, account data from the engine (docs for-developers/api/info-endpoint.md, info-endpoint/perpetuals.md).

| `type`                       | answer                                                                          |
|------------------------------|---------------------------------------------------------------------------------|
| `meta` / `metaAndAssetCtxs` (`dex`) | the file; each traded coin's ctx carries the engine's `markPx` (= `oraclePx`), `midPx`, `impactPxs` (best bid / ask) and `funding` (the rate in force, fraction per hour) |
| `perpDexs`                   | the file (`[null]` when absent)                                                 |
| `predictedFundings`          | the file with `HlPerp` restated (engine rate, next whole hour) and, with `restamp`, every other venue's `nextFundingTime` moved to its next interval boundary on the simulator clock; built from the engine when absent |
| `fundingHistory` (`coin`, `startTime`, `endTime`) | the file's rows with `time` in [start, end], oldest first, at most 500 |
| `l2Book` (`coin`)            | the engine's book: 20 levels a side `{px, sz, n}`, `time`; `null` for an unknown coin (ws_post_info_l2Book_null_2026-09.json) |
| `allMids` (`dex`)            | coin -> mid of the engine's book                                                |
| `exchangeStatus`             | `{"specialStatuses": null, "time"}`                                             |
| `spotMeta`, `spotClearinghouseState` | empty (spot is not simulated; the SDK's `Info()` reads `spotMeta` at start) |
| `clearinghouseState`, `openOrders`, `frontendOpenOrders` (`user`, `dex`) | `simulator.hyperliquid.account`  |
| `orderStatus` (`user`, `oid` int or cloid), `historicalOrders`, `userFills`, `userFillsByTime`, `userFunding` | idem |
| `userRole` (`user`)          | `{"role":"agent","data":{"user"}}`, `{"role":"user"}` or `{"role":"missing"}`  |
| `extraAgents` (`user`)       | `[{name, address, validUntil}]` of the user's approved agents                    |

`dex` "" or absent is the first perp dex; an unknown `type`, a missing or malformed `user` / `coin`, or an unknown
`dex` is answered HTTP 422 with the venue's plain text ("Failed to deserialize the JSON body into the target type").
Rates are fractions per hour (+ = longs pay), prices USD, sizes base units, times epoch ms.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from simulator.engine import Side
from simulator.hyperliquid.state import HyperliquidState, parse_address
from simulator.hyperliquid.wire import num

HOUR_MS = 3_600_000
BOOK_LEVELS = 20
HISTORY_MAX = 500
DESERIALIZE = "Failed to deserialize the JSON body into the target type"


class BadInfoRequest(Exception):
    """A request the venue cannot deserialise (HTTP 422)."""


def _opt_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInfoRequest(f"{key} must be an integer (ms)")
    return value


class InfoMixin(HyperliquidState):
    """`POST /info` (module docstring)."""

    def info(self, body: Any) -> tuple[int, Any]:
        """Answer one `/info` request: (HTTP status, JSON body, or the venue's plain text for 422)."""
        try:
            return 200, self._info(body)
        except BadInfoRequest:
            return 422, DESERIALIZE

    def _dex(self, body: dict[str, Any]) -> str:
        dex = body.get("dex") or ""
        if not isinstance(dex, str) or (dex and dex not in self.data.meta_and_ctxs):
            raise BadInfoRequest(f"unknown dex {dex!r}")
        return dex

    def _user(self, body: dict[str, Any]) -> str:
        try:
            return parse_address(body.get("user"))
        except ValueError as exc:
            raise BadInfoRequest(str(exc)) from None

    def _info(self, body: Any) -> Any:
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise BadInfoRequest("body must be an object with a type")
        kind = body["type"]
        market = self._market_info(kind, body)
        if market is not _NOT_MARKET:
            return market
        if kind in ("spotMeta",):
            return {"universe": [], "tokens": []}
        if kind == "spotClearinghouseState":
            self._user(body)
            return {"balances": []}
        user = self._user(body)
        if kind == "clearinghouseState":
            return self.clearinghouse_state(user, self._dex(body))
        if kind in ("openOrders", "frontendOpenOrders"):
            return self.open_orders_body(user, self._dex(body), frontend=kind == "frontendOpenOrders")
        if kind == "orderStatus":
            return self.order_status_body(user, body.get("oid"))
        if kind == "historicalOrders":
            return self.historical_orders_body(user)
        if kind == "userFills":
            return self.user_fills_body(user)
        if kind == "userFillsByTime":
            start = _opt_int(body, "startTime")
            return self.user_fills_body(user, start if start is not None else 0, _opt_int(body, "endTime"))
        if kind == "userFunding":
            start = _opt_int(body, "startTime")
            return self.user_funding_body(user, start if start is not None else 0, _opt_int(body, "endTime"))
        if kind == "userRole":
            master = self.agents.user_of(user)
            if master is not None:
                return {"role": "agent", "data": {"user": master}}
            return {"role": "user"} if self.is_known(user) else {"role": "missing"}
        if kind == "extraAgents":
            return [
                {"name": self.agents.names.get(a, ""), "address": a, "validUntil": None}
                for a in self.agents.of_user(user)
            ]
        raise BadInfoRequest(f"info type {kind!r} is not served")

    def _market_info(self, kind: str, body: dict[str, Any]) -> Any:
        if kind == "meta":
            return copy.deepcopy(self.data.meta_and_ctxs.get(self._dex(body), [{"universe": []}])[0])
        if kind == "metaAndAssetCtxs":
            return self.meta_and_ctxs_body(self._dex(body))
        if kind == "perpDexs":
            return copy.deepcopy(self.data.perp_dexs) if self.data.perp_dexs is not None else [None]
        if kind == "predictedFundings":
            return self.predicted_fundings_body()
        if kind == "fundingHistory":
            coin = body.get("coin")
            start = _opt_int(body, "startTime")
            if not isinstance(coin, str) or start is None:
                raise BadInfoRequest("fundingHistory needs coin and startTime")
            end = _opt_int(body, "endTime")
            rows = [
                r
                for r in self.data.funding_history.get(coin, [])
                if r["time"] >= start and (end is None or r["time"] <= end)
            ]
            return copy.deepcopy(rows[:HISTORY_MAX])
        if kind == "l2Book":
            coin = body.get("coin")
            if not isinstance(coin, str):
                raise BadInfoRequest("l2Book needs a coin")
            return self.l2_book(coin)
        if kind == "allMids":
            dex = self._dex(body)
            return {c.name: num(self.mid(c.name)) for c in self.coins.values() if c.dex == dex}
        if kind == "exchangeStatus":
            return {"specialStatuses": None, "time": self.clock.now_ms()}
        return _NOT_MARKET

    # ------------------------------------------------------------------------------------------------ market data

    def mid(self, coin: str) -> Decimal:
        """Mid of the engine's book (the mark when a side is empty)."""
        state = self.engine.markets[coin]
        bid, ask = state.book.best_bid(), state.book.best_ask()
        if bid is None or ask is None:
            return state.mark_price
        return (bid + ask) / 2

    def book_levels(self, coin: str, depth: int = BOOK_LEVELS) -> list[list[dict[str, Any]]]:
        """`[bids, asks]` of the engine's book, best first, at most `depth` levels a side, each `{px, sz, n}`
        (n = orders at the level)."""
        book = self.engine.markets[coin].book
        out: list[list[dict[str, Any]]] = []
        for side in (Side.BUY, Side.SELL):
            levels: list[dict[str, Any]] = []
            sizes: dict[Decimal, tuple[Decimal, int]] = {}
            for order in book.orders(side):
                price = order.price
                assert price is not None
                if price not in sizes:
                    if len(sizes) == depth:
                        break
                    sizes[price] = (Decimal(0), 0)
                size, n = sizes[price]
                sizes[price] = (size + order.remaining, n + 1)
            for price, (size, n) in sizes.items():
                levels.append({"px": num(price), "sz": num(size), "n": n})
            out.append(levels)
        return out

    def l2_book(self, coin: str) -> dict[str, Any] | None:
        """`l2Book` body of `coin` (None for a coin the engine does not trade)."""
        if coin not in self.engine.markets:
            return None
        self.engine.sync()
        return {"coin": coin, "time": self.clock.now_ms(), "levels": self.book_levels(coin)}

    def ctx_overrides(self, coin: str) -> dict[str, Any]:
        """The asset-context fields the engine owns (module table)."""
        state = self.engine.markets[coin]
        bid, ask = state.book.best_bid(), state.book.best_ask()
        mark = num(state.mark_price)
        out: dict[str, Any] = {"funding": num(state.rate_hourly), "markPx": mark, "oraclePx": mark}
        if bid is not None and ask is not None:
            out["midPx"] = num((bid + ask) / 2)
            out["impactPxs"] = [num(bid), num(ask)]
        return out

    def asset_ctx(self, coin: str) -> dict[str, Any]:
        """The asset context of a traded `coin`: its file ctx restated from the engine (`ctx_overrides`)."""
        found = self.coins[coin]
        for row, ctx in zip(self.data.universe(found.dex), self.data.ctxs(found.dex), strict=True):
            if row["name"] == coin:
                return {**ctx, **self.ctx_overrides(coin)}
        return self.ctx_overrides(coin)

    def meta_and_ctxs_body(self, dex: str) -> list[Any]:
        """`metaAndAssetCtxs` of `dex`: the file, each traded coin's ctx restated from the engine."""
        self.engine.sync()
        body = copy.deepcopy(self.data.meta_and_ctxs.get(dex, [{"universe": []}, []]))
        for row, ctx in zip(body[0]["universe"], body[1], strict=True):
            if row["name"] in self.engine.markets:
                ctx.update(self.ctx_overrides(row["name"]))
        return body

    def next_hour_ms(self) -> int:
        """The next whole UTC hour of the simulator clock (the venue's next settlement)."""
        return (self.clock.now_ms() // HOUR_MS + 1) * HOUR_MS

    def predicted_fundings_body(self) -> list[Any]:
        """`predictedFundings` (module table). First perp dex only, as on the venue."""
        self.engine.sync()
        nxt = self.next_hour_ms()

        def hl_perp(coin: str) -> dict[str, Any]:
            rate = self.engine.markets[coin].rate_hourly
            return {"fundingRate": num(rate), "nextFundingTime": nxt, "fundingIntervalHours": 1}

        main = [c.name for c in self.coins.values() if not c.dex]
        if self.data.predicted_fundings is None:
            return [[coin, [["HlPerp", hl_perp(coin)]]] for coin in main]
        body = copy.deepcopy(self.data.predicted_fundings)
        restamp = self.scenario.settings.restamp
        now = self.clock.now_ms()
        for entry in body:
            if not (isinstance(entry, list) and len(entry) == 2):
                continue
            for venue in entry[1] if isinstance(entry[1], list) else []:
                if not (isinstance(venue, list) and len(venue) == 2 and isinstance(venue[1], dict)):
                    continue
                if venue[0] == "HlPerp" and entry[0] in self.engine.markets:
                    venue[1] = hl_perp(entry[0])
                    continue
                hours = venue[1].get("fundingIntervalHours")
                if restamp and isinstance(hours, int) and hours > 0:
                    period = hours * HOUR_MS
                    venue[1]["nextFundingTime"] = (now // period + 1) * period
        return body


_NOT_MARKET: Any = object()
