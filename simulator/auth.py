"""Authentication helpers shared by the simulated venues.

Each venue's own state (keys, accounts, tokens) and endpoints live in `simulator/<venue>/auth.py`; this module holds
what they share: the venue-shaped refusal `SimAuthError` and the loopback-only admin wrappers of their key
registries (`local_only`, `admin_body`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from simulator.faults import _is_loopback


class SimAuthError(Exception):
    """A request the venue refuses: HTTP `status` with the venue-shaped `body`."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        super().__init__(f"{status} {body}")


Handler = Callable[[web.Request], Awaitable[web.Response]]
SpecT = TypeVar("SpecT", bound=BaseModel)


def local_only(handler: Handler) -> Handler:
    """Wrap an admin handler: non-loopback clients get HTTP 403 `{"error": "admin API is local-only"}`."""

    async def wrapped(request: web.Request) -> web.Response:
        if not _is_loopback(request):
            return web.json_response({"error": "admin API is local-only"}, status=403)
        return await handler(request)

    return wrapped


async def admin_body(request: web.Request, model: type[SpecT]) -> SpecT | web.Response:
    """The request's JSON body validated by `model`, or an HTTP 400 `{"error": <reasons>}` response."""
    try:
        raw = await request.json()
    except json.JSONDecodeError as exc:
        return web.json_response({"error": f"body is not JSON: {exc.msg}"}, status=400)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<body>'}: {e['msg']}" for e in exc.errors())
        return web.json_response({"error": reasons}, status=400)
