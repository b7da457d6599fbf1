"""Lighter trading REST routes of the simulator (`add_trading_routes`): `sendTx`, `sendTxBatch`, `account`,
`accountActiveOrders`, `accountInactiveOrders`, `trades`, `recentTrades`, `positionFunding`, with Lighter's auth
token checks (`check_auth`); the bodies come from `LighterTrading` (`simulator.lighter.accounts`,
`simulator.lighter.transactions`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from simulator.formats import json_response
from simulator.lighter.errors import INVALID_PARAM, INVALID_TX_INFO, LighterRequestError

if TYPE_CHECKING:
    from simulator.lighter.trading import LighterTrading

log = logging.getLogger("perparb.simulator")


PAGE_MAX = 100


def _req_int(
    query: Any, name: str, *, required: bool = True, lo: int | None = None, hi: int | None = None
) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        if required:
            raise LighterRequestError(INVALID_PARAM, detail=f"{name} is required")
        return None
    try:
        value = int(raw)
    except ValueError:
        raise LighterRequestError(INVALID_PARAM, detail=f"{name}={raw!r}") from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise LighterRequestError(INVALID_PARAM, detail=f"{name}={value}")
    return value


def _int(query: Any, name: str, **kwargs: Any) -> int:
    value = _req_int(query, name, required=True, **kwargs)
    assert value is not None
    return value


def check_auth(request: web.Request, account_index: int) -> None:
    """Require a Lighter auth token (`authorization` header or `auth` query) naming `account_index`.

    The token (`"{deadline}:{account}:{api_key}:{hex signature}"`, lighter-sdk `create_auth_token_with_expiry`) is
    parsed, not verified: neither the signature nor the wall-clock deadline is checked.

    Raises:
        LighterRequestError: 20001 when it is missing, malformed or names another account.
    """
    token = request.headers.get("authorization") or request.query.get("auth")
    if not token:
        raise LighterRequestError(INVALID_PARAM, detail="auth token required")
    parts = token.split(":")
    if len(parts) != 4 or not parts[1].isdigit():
        raise LighterRequestError(INVALID_PARAM, detail="malformed auth token")
    if int(parts[1]) != account_index:
        raise LighterRequestError(INVALID_PARAM, detail="auth token of another account")


Build = Callable[[web.Request], Awaitable[dict[str, Any]]]


def _handler(build: Build) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        try:
            body = await build(request)
        except LighterRequestError as exc:
            log.info(
                "lighter %s %s -> %d %d (%s)",
                request.method,
                request.path_qs,
                exc.status,
                exc.code,
                exc.detail,
            )
            return json_response(exc.body, status=exc.status)
        return json_response(body)

    return handler


def add_trading_routes(app: web.Application, trading: LighterTrading) -> None:
    """Register the trading REST endpoints (table in the module docstring) on the Lighter `app`."""

    async def send_tx(request: web.Request) -> dict[str, Any]:
        form = await request.post()
        raw_type, raw_info = form.get("tx_type"), form.get("tx_info")
        if not isinstance(raw_type, str) or not isinstance(raw_info, str):
            raise LighterRequestError(INVALID_PARAM, detail="tx_type and tx_info are required")
        try:
            tx_type = int(raw_type)
        except ValueError:
            raise LighterRequestError(INVALID_PARAM, detail=f"tx_type={raw_type!r}") from None
        return trading.send_tx(tx_type, raw_info)

    async def send_tx_batch(request: web.Request) -> dict[str, Any]:
        form = await request.post()
        raw_types, raw_infos = form.get("tx_types"), form.get("tx_infos")
        if not isinstance(raw_types, str) or not isinstance(raw_infos, str):
            raise LighterRequestError(INVALID_PARAM, detail="tx_types and tx_infos are required")
        try:
            types, infos = json.loads(raw_types), json.loads(raw_infos)
        except ValueError:
            raise LighterRequestError(INVALID_TX_INFO, detail="tx_types / tx_infos are not JSON") from None
        if not isinstance(types, list) or not isinstance(infos, list):
            raise LighterRequestError(INVALID_TX_INFO, detail="tx_types / tx_infos must be JSON arrays")
        return trading.send_tx_batch(types, infos)

    async def account(request: web.Request) -> dict[str, Any]:
        q = request.query
        by, value = q.get("by"), q.get("value")
        if not by or value is None:
            raise LighterRequestError(INVALID_PARAM, detail="by and value are required")
        return trading.accounts_body(by, value)

    async def active_orders(request: web.Request) -> dict[str, Any]:
        index = _int(request.query, "account_index")
        check_auth(request, index)
        return trading.active_orders(index, _req_int(request.query, "market_id", required=False))

    async def inactive_orders(request: web.Request) -> dict[str, Any]:
        q = request.query
        index = _int(q, "account_index")
        check_auth(request, index)
        return trading.inactive_orders(
            index,
            _int(q, "limit", lo=1, hi=PAGE_MAX),
            _req_int(q, "market_id", required=False),
            q.get("cursor"),
        )

    async def trades(request: web.Request) -> dict[str, Any]:
        q = request.query
        if q.get("sort_by") not in ("block_height", "timestamp", "trade_id"):
            raise LighterRequestError(INVALID_PARAM, detail=f"sort_by={q.get('sort_by')!r}")
        sort_dir = q.get("sort_dir") or "desc"
        if sort_dir not in ("asc", "desc"):
            raise LighterRequestError(INVALID_PARAM, detail=f"sort_dir={sort_dir!r}")
        index = _req_int(q, "account_index", required=False)
        if index is not None:
            check_auth(request, index)
        return trading.trades_body(
            account_index=index,
            market_id=_req_int(q, "market_id", required=False),
            limit=_int(q, "limit", lo=1, hi=PAGE_MAX),
            sort_dir=sort_dir,
            cursor=q.get("cursor"),
        )

    async def recent_trades(request: web.Request) -> dict[str, Any]:
        q = request.query
        return trading.recent_trades(_int(q, "market_id"), _int(q, "limit", lo=1, hi=PAGE_MAX))

    async def position_funding(request: web.Request) -> dict[str, Any]:
        q = request.query
        index = _int(q, "account_index")
        if request.headers.get("authorization") or q.get("auth"):
            check_auth(request, index)
        ids: set[int] | None = None
        raw_ids = [part for value in q.getall("market_ids", []) for part in value.split(",") if part.strip()]
        if raw_ids:
            try:
                ids = {int(part) for part in raw_ids}
            except ValueError:
                raise LighterRequestError(INVALID_PARAM, detail=f"market_ids={raw_ids!r}") from None
        side = q.get("side")
        if side not in (None, "", "all", "long", "short"):
            raise LighterRequestError(INVALID_PARAM, detail=f"side={side!r}")
        return trading.position_funding(
            index,
            limit=_int(q, "limit", lo=1, hi=PAGE_MAX),
            market_ids=ids,
            side=side,
            start_s=_req_int(q, "start_timestamp", required=False),
            end_s=_req_int(q, "end_timestamp", required=False),
            cursor=q.get("cursor"),
        )

    app.router.add_post("/api/v1/sendTx", _handler(send_tx))
    app.router.add_post("/api/v1/sendTxBatch", _handler(send_tx_batch))
    app.router.add_get("/api/v1/account", _handler(account))
    app.router.add_get("/api/v1/accountActiveOrders", _handler(active_orders))
    app.router.add_get("/api/v1/accountInactiveOrders", _handler(inactive_orders))
    app.router.add_get("/api/v1/trades", _handler(trades))
    app.router.add_get("/api/v1/recentTrades", _handler(recent_trades))
    app.router.add_get("/api/v1/positionFunding", _handler(position_funding))
