"""The web app `perparb serve` runs: the funding-rate service's REST API, `/metrics` and the dashboard.

`create_web_app(settings)` builds the service's FastAPI app (`funding_rate_service.api.app.create_app`) and adds:
* `GET /metrics`: the Prometheus exposition of this process (`perparb_core.metrics`), the market-wide series
  refreshed from the database first (`funding_rate_service.market_metrics.refresh`); a database outage answers
  the process's series as they stand (the data-age series then keep their last value) rather than an error, so
  Prometheus still scrapes the rest;
* with alert URLs configured, a background alert dispatcher (`database.alerts.AlertDispatcher`) for the app's
  lifetime;
* the dashboard at `/` and the control API (`perparb.dashboard.mount_dashboard`): read-only pages, and pause /
  resume / flatten of an account's run with the bearer token `config.api_token` (refused without it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

from database.alerts import AlertDispatcher
from database.session import CONNECTION_ERRORS
from funding_rate_service import market_metrics
from funding_rate_service.api.app import create_app
from perparb.dashboard import mount_dashboard
from perparb_core.settings import ServiceConfig

log = logging.getLogger("perparb.web")


def create_web_app(config: ServiceConfig, *, engine: AsyncEngine | None = None) -> FastAPI:
    """The app `perparb serve` runs (see the module docstring). `engine`: tests pass theirs."""
    app = create_app(config, engine=engine)
    service_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(the_app: FastAPI) -> AsyncIterator[None]:
        async with service_lifespan(the_app):
            if not config.alerts.urls:
                yield
                return
            dispatcher = AlertDispatcher(the_app.state.engine, config.alerts)
            stop = asyncio.Event()
            task = asyncio.create_task(dispatcher.run(stop), name="perparb-alert-dispatcher")
            try:
                yield
            finally:
                stop.set()
                try:
                    await asyncio.wait_for(task, timeout=config.alerts.timeout_seconds + 5)
                except asyncio.TimeoutError:
                    task.cancel()
                dispatcher.close()

    app.router.lifespan_context = lifespan

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        try:
            async with request.app.state.engine.connect() as conn:
                await market_metrics.refresh(conn, config.ranking, config.venues)
        except CONNECTION_ERRORS as exc:
            log.warning("metrics: database unavailable, market series not refreshed: %s", type(exc).__name__)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    mount_dashboard(app, config)
    return app
