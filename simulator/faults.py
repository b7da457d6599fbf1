"""Fault injection and the local admin API (`/_sim/...`) of each simulated venue.

Admin API (served by every venue's server, answered only to loopback clients):

    POST /_sim/faults  {"http_status": 500, "count": 3}
        the next 3 non-admin requests (REST calls and WebSocket handshakes) are answered with HTTP 500 and the
        venue's error body (`error_body(status)` of the venue module; `"body"` overrides it). For 429 a
        `Retry-After` header is added (`"retry_after_seconds"`, default 1). `count` omitted = until cleared.
    POST /_sim/faults  {"latency_seconds": 0.5, "count": 2}
        the next 2 non-admin requests are answered after 0.5 s (then normally, or with the status fault).
    POST /_sim/faults  {"clear": true}
        removes every fault.
    GET  /_sim/faults  -> the active faults; GET /_sim/health -> {"status": "ok", "venue": ..., ...}

    POST /_sim/faults  {"http_status": 500, "count": 1, "method": "POST", "path": "/v1/orders", "skip": 1}
        only requests with this method and a path starting with `path` are affected, and the first `skip` of
        them pass untouched (e.g. the SECOND order placement fails: a fault aimed at a hedge after an entry).
A status fault and a latency fault may be active together (one POST may set both; they then share `count`);
a new POST replaces the fault of the same kind. Counts are consumed per request, latency first.

The full fault injection of a later issue (dropped WebSocket frames, stale data, partial fills...) grows here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulator.admin import ADMIN_PREFIX, local_only, validation_reasons

log = logging.getLogger("perparb.simulator")

ErrorBody = Callable[[int], Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FaultSpec(BaseModel):
    """Body of `POST /_sim/faults`. Exactly one of: a status and/or latency fault, or `clear: true`."""

    model_config = ConfigDict(extra="forbid")

    http_status: int | None = Field(default=None, ge=400, le=599)
    latency_seconds: float | None = Field(default=None, ge=0, le=300)
    count: int | None = Field(default=None, ge=1)
    retry_after_seconds: int = Field(default=1, ge=0)
    body: Any = None
    method: str | None = Field(default=None, description="only requests with this HTTP method")
    path: str | None = Field(default=None, description="only requests whose path starts with this")
    skip: int = Field(default=0, ge=0, description="let this many matching requests pass first")
    clear: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> FaultSpec:
        has_fault = self.http_status is not None or self.latency_seconds is not None
        if self.clear and has_fault:
            raise ValueError("'clear' cannot be combined with a fault")
        if not self.clear and not has_fault:
            raise ValueError("give 'http_status' and/or 'latency_seconds', or 'clear': true")
        return self


@dataclass
class StatusFault:
    """Answer requests with `status` (venue error body, or `body` when given); `remaining` None = forever."""

    status: int
    remaining: int | None
    retry_after_seconds: int
    body: Any = None
    match: RequestMatch | None = None


@dataclass
class LatencyFault:
    """Delay requests by `seconds`; `remaining` None = forever."""

    seconds: float
    remaining: int | None
    match: RequestMatch | None = None


@dataclass
class RequestMatch:
    """Which requests a fault applies to: `method` (None = any), path prefix (None = any), after `skip`
    matching requests have passed."""

    method: str | None
    path: str | None
    skip: int

    def applies(self, method: str, path: str) -> bool:
        if self.method is not None and method.upper() != self.method.upper():
            return False
        if self.path is not None and not path.startswith(self.path):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        return True


class FaultInjector:
    """The faults of one venue server. Not thread-safe: used from the server's event loop only.

    Args:
        venue: the venue's name (`SimVenueProtocol.name`; shown by the admin API and the log).
        error_body: venue-shaped error body for an HTTP status (Lighter `{"code","message"}`, Paradex
            `{"error","message","data"}`).
    """

    def __init__(self, venue: str, error_body: ErrorBody) -> None:
        self.venue = venue
        self.error_body = error_body
        self.status_fault: StatusFault | None = None
        self.latency_fault: LatencyFault | None = None

    def configure(self, spec: FaultSpec) -> None:
        """Apply a validated `POST /_sim/faults` body."""
        if spec.clear:
            self.clear()
            return
        match = None
        if spec.method is not None or spec.path is not None or spec.skip:
            match = RequestMatch(spec.method, spec.path, spec.skip)
        if spec.http_status is not None:
            self.status_fault = StatusFault(
                spec.http_status, spec.count, spec.retry_after_seconds, spec.body, match
            )
        if spec.latency_seconds is not None:
            latency_match = None if match is None else RequestMatch(match.method, match.path, match.skip)
            self.latency_fault = LatencyFault(spec.latency_seconds, spec.count, latency_match)
        log.info("%s faults: %s", self.venue, self.snapshot())

    def clear(self) -> None:
        """Remove every fault."""
        self.status_fault = None
        self.latency_fault = None

    def take(self, method: str = "GET", path: str = "/") -> tuple[float, StatusFault | None]:
        """Consume one request's worth of faults: (delay in seconds, status fault to answer with or None).
        Faults with a request match apply only to matching requests (see the module docstring)."""
        delay = 0.0
        latency = self.latency_fault
        if latency is not None and (latency.match is None or latency.match.applies(method, path)):
            delay = latency.seconds
            self.latency_fault = _consume(latency)
        status = self.status_fault
        if status is not None and (status.match is None or status.match.applies(method, path)):
            self.status_fault = _consume(status)
        else:
            status = None
        return delay, status

    def snapshot(self) -> dict[str, Any]:
        """JSON view of the active faults."""
        out: dict[str, Any] = {"status": None, "latency": None}
        if self.status_fault is not None:
            out["status"] = {
                "http_status": self.status_fault.status,
                "remaining": self.status_fault.remaining,
                "retry_after_seconds": self.status_fault.retry_after_seconds,
            }
        if self.latency_fault is not None:
            out["latency"] = {
                "seconds": self.latency_fault.seconds,
                "remaining": self.latency_fault.remaining,
            }
        return out

    def response_for(self, fault: StatusFault) -> web.Response:
        """The HTTP answer of a status fault: venue error body, `Retry-After` on 429."""
        body = fault.body if fault.body is not None else self.error_body(fault.status)
        headers = {"Retry-After": str(fault.retry_after_seconds)} if fault.status == 429 else None
        return web.json_response(body, status=fault.status, headers=headers)


def _consume(fault: Any) -> Any:
    if fault.remaining is None:
        return fault
    fault.remaining -= 1
    return fault if fault.remaining > 0 else None


def fault_middleware(injector: FaultInjector) -> Callable[..., Awaitable[web.StreamResponse]]:
    """aiohttp middleware applying `injector` to every request outside `/_sim/`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        delay, status = injector.take(request.method, request.path)
        if delay > 0:
            await asyncio.sleep(delay)
        if status is not None:
            log.info(
                "%s fault: %s %s -> HTTP %d", injector.venue, request.method, request.path_qs, status.status
            )
            return injector.response_for(status)
        return await handler(request)

    return middleware


def add_admin_routes(
    app: web.Application, injector: FaultInjector, health: Callable[[], dict[str, Any]]
) -> None:
    """Register `/_sim/faults` (GET, POST) and `/_sim/health` (GET) on `app`.

    Non-loopback clients get HTTP 403. A bad fault body gets HTTP 400 `{"error": "<reason>"}`.
    """

    async def post_faults(request: web.Request) -> web.Response:
        try:
            raw = await request.json()
        except json.JSONDecodeError as exc:
            return web.json_response({"error": f"body is not JSON: {exc.msg}"}, status=400)
        try:
            spec = FaultSpec.model_validate(raw)
        except ValidationError as exc:
            return web.json_response({"error": validation_reasons(exc)}, status=400)
        injector.configure(spec)
        return web.json_response({"faults": injector.snapshot()})

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response({"faults": injector.snapshot()})

    async def get_health(request: web.Request) -> web.Response:
        return web.json_response(
            {"status": "ok", "venue": injector.venue, **health(), "faults": injector.snapshot()}
        )

    app.router.add_post(ADMIN_PREFIX + "faults", local_only(post_faults))
    app.router.add_get(ADMIN_PREFIX + "faults", local_only(get_faults))
    app.router.add_get(ADMIN_PREFIX + "health", local_only(get_health))
