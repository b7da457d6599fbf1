"""REST API (FastAPI). Same queries as the CLI (`funding_rate_service.service`), so both give the same numbers.

Endpoints (OpenAPI docs at `/docs`, served offline: Swagger UI ships in `fastapi-offline`; schema at
`/openapi.json`):
* `GET /api/v1/funding-rates?symbol=&venues=` latest rate per market (fractions);
* `GET /api/v1/funding-rates/{venue}/{symbol}/history?start=&end=&kind=&limit=` stored samples, oldest first;
* `GET /api/v1/opportunities?...` ranked opportunities, same filters as `perparb opportunities`;
* `GET /api/v1/health` per venue: last successful collection, last run status/error, age of the newest data.

Binds 127.0.0.1 by default (`perparb serve`): reading needs no authentication; the app's control actions (pause,
resume, flatten, added by `perparb.dashboard`) need the bearer token of `ServiceConfig.api_token`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware.trustedhost import TrustedHostMiddleware

from database import migrate
from database.session import CONNECTION_ERRORS, create_engine, database_error, resolve_database_url
from exchange_clients.registry import venue_names
from funding_rate_service import repository
from funding_rate_service.service import build_query, get_opportunities, get_rates
from perparb_core.errors import DatabaseError
from perparb_core.models import FundingKind, utcnow
from perparb_core.settings import ServiceConfig

log = logging.getLogger("perparb.api")


def _split(value: str | None) -> list[str] | None:
    if not value:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    return names or None


def _venues(value: str | None, param: str) -> list[str] | None:
    names = _split(value)
    known = venue_names()
    for n in names or []:
        if n not in known:
            raise HTTPException(422, f"{param}: unknown venue {n!r}; known: {known}")
    return names


def create_app(config: ServiceConfig, *, engine: AsyncEngine | None = None) -> FastAPI:
    """Build the app. With `engine` given (tests), it is used as is; else one is opened on `config.database`
    (migrated to head) for the app's lifetime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is not None:
            yield
            return
        url = resolve_database_url(config.database)
        migrate.upgrade(url)
        app.state.engine = create_engine(url)
        try:
            yield
        finally:
            await app.state.engine.dispose()

    # /docs loads Swagger UI from the package (fastapi-offline), never from a CDN, with its online validator badge
    # (an image from validator.swagger.io) off: it works on a closed network. No /redoc: the ReDoc bundle fetches
    # its logo from cdn.redoc.ly.
    app = FastAPIOffline(
        redoc_url=None,
        title="perparb funding-rate service",
        version="1",
        description="Funding rates (fractions per hour, 8 h and APR; + = longs pay shorts) and cross-venue "
        "opportunities net of round-trip costs.",
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},
    )
    if engine is not None:
        app.state.engine = engine
    if "*" not in config.allowed_hosts:
        # a page on another site must not reach a local API through DNS rebinding: only our own names answer
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(config.allowed_hosts))

    def _engine(request: Request) -> AsyncEngine:
        engine: AsyncEngine = request.app.state.engine
        return engine

    @app.get("/api/v1/funding-rates", summary="Latest funding rate per market")
    async def funding_rates(
        request: Request,
        symbol: Annotated[str | None, Query(description="base asset, e.g. ETH")] = None,
        venues: Annotated[str | None, Query(description="comma-separated venues")] = None,
    ) -> list[dict[str, Any]]:
        names = _venues(venues, "venues")
        async with _engine(request).connect() as conn:
            return await get_rates(
                conn, symbol=symbol, venues=names, max_age_seconds=config.ranking.max_data_age_seconds
            )

    @app.get(
        "/api/v1/funding-rates/{venue}/{symbol}/history", summary="Stored funding-rate history of one market"
    )
    async def funding_rate_history(
        request: Request,
        venue: str,
        symbol: str,
        start: Annotated[datetime | None, Query(description="ISO time, default end - 7 d")] = None,
        end: Annotated[datetime | None, Query(description="ISO time, default now")] = None,
        kind: Annotated[Literal["predicted", "settled"] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=50000)] = 5000,
    ) -> dict[str, Any]:
        _venues(venue, "venue")
        end = end or utcnow()
        start = start or end - timedelta(days=7)
        if start.tzinfo is None or end.tzinfo is None:
            raise HTTPException(422, "start and end must carry a timezone (e.g. 2026-11-01T00:00:00Z)")
        if start >= end:
            raise HTTPException(422, f"start {start.isoformat()} must be before end {end.isoformat()}")
        async with _engine(request).connect() as conn:
            rows = await repository.rate_history(
                conn,
                venue=venue,
                venue_symbol_or_symbol=symbol,
                start=start,
                end=end,
                kind=FundingKind(kind) if kind else None,
                limit=limit,
            )
        if rows is None:
            raise HTTPException(404, f"unknown market {symbol!r} on {venue}")
        return {
            "venue": venue,
            "symbol": symbol,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "samples": [
                {
                    "ts": r.ts.isoformat(),
                    "kind": r.kind,
                    "rate_hourly": float(r.rate_hourly),
                    "rate_8h": float(r.rate_hourly * 8),
                    "apr": float(r.rate_hourly * 8760),
                    "raw_rate": float(r.raw_rate),
                    "raw_period_hours": float(r.raw_period_hours),
                    "mark_price": None if r.mark_price is None else float(r.mark_price),
                    "open_interest_usd": None if r.open_interest_usd is None else float(r.open_interest_usd),
                    "source": r.source,
                }
                for r in rows
            ],
        }

    @app.get("/api/v1/opportunities", summary="Ranked cross-venue opportunities, net of round-trip costs")
    async def opportunities(
        request: Request,
        min_apr: Annotated[float | None, Query(description="minimum net APR, fraction")] = None,
        horizon_hours: Annotated[float | None, Query(gt=0)] = None,
        venues: str | None = None,
        exclude: str | None = None,
        require: str | None = None,
        symbols: str | None = None,
        min_volume_usd: Annotated[float | None, Query(ge=0)] = None,
        min_oi_usd: Annotated[float | None, Query(ge=0)] = None,
        maker: bool = False,
        slippage_bps: Annotated[float | None, Query(ge=0)] = None,
        limit: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        try:
            query = build_query(
                config.ranking,
                min_apr=min_apr,
                horizon_hours=horizon_hours,
                venues=_venues(venues, "venues"),
                exclude=_venues(exclude, "exclude"),
                require=_venues(require, "require"),
                symbols=_split(symbols),
                min_volume_usd=min_volume_usd,
                min_oi_usd=min_oi_usd,
                maker=maker,
                slippage_bps=slippage_bps,
                limit=limit,
            )
        except (ValidationError, ValueError) as exc:
            raise HTTPException(422, str(exc)) from None
        async with _engine(request).connect() as conn:
            result = await get_opportunities(conn, query)
        return {
            "opportunities": [o.to_json_dict() for o in result.opportunities],
            "stale": [
                {"venue": s.venue, "symbol": s.symbol, "age_seconds": s.age_seconds} for s in result.stale
            ],
        }

    @app.exception_handler(DatabaseError)
    async def database_unavailable(request: Request, exc: DatabaseError) -> JSONResponse:
        return JSONResponse({"error": "database_unavailable", "detail": str(exc)}, status_code=503)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, CONNECTION_ERRORS):
            return JSONResponse(
                {"error": "database_unavailable", "detail": str(database_error(exc, _url(request)))},
                status_code=503,
            )
        log.exception("API error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal_error", "detail": type(exc).__name__}, status_code=500)

    def _url(request: Request) -> str:
        engine = getattr(request.app.state, "engine", None)
        return engine.url.render_as_string(hide_password=True) if engine is not None else "(not open)"

    @app.get(
        "/api/v1/health",
        summary="Per-component health: the database, and each venue's collection and data age",
        responses={503: {"description": "the database is unavailable (JSON, per-component status)"}},
    )
    async def health(request: Request) -> Any:
        now = utcnow()
        try:
            async with _engine(request).connect() as conn:
                rows = await repository.venue_health(conn, list(config.venues))
        except CONNECTION_ERRORS as exc:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "now": now.isoformat(),
                    "components": {
                        "database": {"ok": False, "error": str(database_error(exc, _url(request)))},
                        "venues": {v: {"ok": None, "data_age_seconds": None} for v in config.venues},
                    },
                },
                status_code=503,
            )
        venues = {}
        for h in rows:
            age = None if h.newest_data_ts is None else (now - h.newest_data_ts).total_seconds()
            venues[h.venue] = {
                "last_success_at": h.last_success_at.isoformat() if h.last_success_at else None,
                "last_run_at": h.last_run_at.isoformat() if h.last_run_at else None,
                "last_status": h.last_status,
                "last_error": h.last_error,
                "markets": h.markets,
                "data_age_seconds": None if age is None else round(age, 3),
                "stale": age is None or age > config.ranking.max_data_age_seconds,
            }
        ok = all(not v["stale"] and v["last_status"] == "ok" for v in venues.values())
        return {
            "status": "ok" if ok else "degraded",
            "now": now.isoformat(),
            "components": {"database": {"ok": True, "error": None}},
            "venues": venues,
        }

    return app
