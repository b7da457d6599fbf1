"""The web dashboard `perparb serve` shows at `/`: server-rendered pages over the project's database.

`mount_dashboard(app, config)` adds to the service's FastAPI app:
* the pages and charts (`pages`: opportunities, rates and spreads, runs and one run, alerts, saved backtests);
* the control API (`control`: pause / resume / flatten an account's run; bearer token `PERPARB_API_TOKEN`);
* the static files shipped in this package (`static/`: the stylesheet, the table-sorting script, the control
  script), at `/static/`. Nothing is loaded from another host: the pages carry a Content-Security-Policy that
  allows only this server (`pages.SECURITY_HEADERS`);
* error pages: on a page (any path outside `/api/`, `/metrics`, the docs and the static files), a bad query value
  answers an HTML 422 naming the field and the value, an unknown object 404, a database outage 503; the API keeps
  its JSON errors.

Read-only by default: the only write is a `run_commands` row, through the control API, with the token.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from database.session import CONNECTION_ERRORS, database_error
from perparb.dashboard import control, pages
from perparb_core.errors import DatabaseError
from perparb_core.settings import ServiceConfig

log = logging.getLogger("perparb.dashboard")

STATIC = Path(__file__).parent / "static"
NOT_PAGES = ("/api/", "/metrics", "/docs", "/redoc", "/openapi.json", "/static")


def is_page(path: str) -> bool:
    """True for a dashboard page or chart path (errors there are HTML)."""
    return not path.startswith(NOT_PAGES)


def _field_errors(exc: RequestValidationError) -> list[str]:
    """One line per invalid parameter: `field: message (got 'value')`."""
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body")]
        field = ".".join(loc) or "request"
        value = e.get("input")
        got = "" if value is None else f" (got {value!r})"
        out.append(f"{field}: {e.get('msg', 'invalid')}{got}")
    return out


async def _call(handler: Callable[[Request, Exception], Any], request: Request, exc: Exception) -> Response:
    """Run an exception handler registered before ours (sync or async)."""
    result = handler(request, exc)
    response: Response = await result if inspect.isawaitable(result) else result
    return response


def mount_dashboard(app: FastAPI, config: ServiceConfig) -> None:
    """Add the dashboard, the control API, the static files and the page error handlers to `app`."""
    app.include_router(control.router(config))
    app.include_router(pages.router(config))
    app.mount("/static", StaticFiles(directory=STATIC), name="dashboard-static")

    previous_database = app.exception_handlers.get(DatabaseError)
    previous_any = app.exception_handlers.get(Exception)

    async def page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, pages.PageError)
        return pages.error_page(request, exc.status, exc.messages, config)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if is_page(request.url.path):
            return pages.error_page(request, 422, _field_errors(exc), config)
        return await request_validation_exception_handler(request, exc)

    async def database_unavailable(request: Request, exc: Exception) -> Response:
        if is_page(request.url.path):
            return pages.error_page(request, 503, [str(exc)], config)
        assert previous_database is not None
        return await _call(previous_database, request, exc)

    async def internal_error(request: Request, exc: Exception) -> Response:
        if is_page(request.url.path):
            if isinstance(exc, CONNECTION_ERRORS):
                engine = getattr(request.app.state, "engine", None)
                url = engine.url.render_as_string(hide_password=True) if engine is not None else "(not open)"
                return pages.error_page(request, 503, [str(database_error(exc, url))], config)
            log.exception("dashboard error on %s %s", request.method, request.url.path)
            return pages.error_page(
                request, 500, [f"internal error ({type(exc).__name__}); see the server log"], config
            )
        assert previous_any is not None
        return await _call(previous_any, request, exc)

    app.add_exception_handler(pages.PageError, page_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DatabaseError, database_unavailable)
    app.add_exception_handler(Exception, internal_error)


__all__ = ["STATIC", "is_page", "mount_dashboard"]
