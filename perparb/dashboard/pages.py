"""The dashboard's pages (server-rendered HTML, Jinja2) and chart documents (SVG, `charts`).

Pages, each read-only:
* `/` the opportunity ranking (`funding_rate_service.service.get_opportunities`, the default ranking and the
  filters of `perparb opportunities`), each leg's data age against `PERPARB_MAX_DATA_AGE_SECONDS`, the markets
  left out as stale, and each venue's collection health;
* `/rates?symbol=&days=` funding-rate history of one base asset per venue and the spread of every venue pair
  (hourly means, settled rows preferred: `funding_rate_service.repository.hourly_history`);
* `/runs` strategy runs (`strategies.status.list_runs`); `/runs/{id}` one run: positions with their PnL
  decomposition and liquidation distance (`queries.position_view`), its equity chart (`run_equity`), recent
  events, alerts and the account's commands, and the control actions (`control`, token required);
* `/alerts?status=&level=&event=&limit=`; `/backtests` and `/backtests/{id}` reports saved with
  `perparb backtest --save` (text and PNG).

Charts: `/charts/rates.svg?symbol=&days=`, `/charts/spread.svg?symbol=&long=&short=&days=`,
`/charts/equity/{run_id}.svg`; `/backtests/{id}/plot.png`. A chart with no data answers 404.

Errors: a bad query value answers 422 and an unknown run, report or symbol 404, as an HTML page naming the field
and the value (`PageError`; FastAPI's own validation errors are rendered the same way by `mount_dashboard`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from backtest import store
from database.commands import recent_commands
from exchange_clients.registry import venue_names
from funding_rate_service import repository
from funding_rate_service.service import build_query, get_opportunities
from perparb.dashboard import charts, queries
from perparb.dashboard.format import FILTERS
from perparb_core.errors import ConfigError
from perparb_core.settings import ServiceConfig
from strategies.status import list_runs

TEMPLATES = Path(__file__).parent / "templates"
MAX_DAYS = 90
MAX_PAIRS = 15
"""Most venue pairs charted on the rates page (the best mean spreads first)."""

SECURITY_HEADERS = {
    # pages load only this server's scripts, styles and images: no inline script, nothing from another host
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

NAV = (
    ("/", "Opportunities"),
    ("/rates", "Rates"),
    ("/runs", "Runs"),
    ("/alerts", "Alerts"),
    ("/backtests", "Backtests"),
)

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(FILTERS)


class PageError(Exception):
    """A page that cannot be shown: HTTP `status` and the lines telling why (each naming a field and value)."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.status = status
        self.messages = list(messages)


MAX_PARAM_CHARS = 500


def _text(value: str | None, field: str) -> str | None:
    """A query value stripped; None when absent or empty (an empty form field means "no filter")."""
    if value is None:
        return None
    if len(value) > MAX_PARAM_CHARS:
        raise PageError(422, f"{field}: {value[:40]!r}... is longer than {MAX_PARAM_CHARS} characters")
    return value.strip() or None


def _number(value: str | None, field: str, *, positive: bool = False) -> float | None:
    """A finite number (None when empty); `positive`: > 0."""
    text = _text(value, field)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise PageError(422, f"{field}: {text!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise PageError(422, f"{field}: {text!r} is not a finite number")
    if positive and number <= 0:
        raise PageError(422, f"{field}: {text!r} must be greater than 0")
    return number


def _integer(value: str | None, field: str, *, low: int, high: int, default: int) -> int:
    """A whole number in [low, high]; `default` when empty."""
    text = _text(value, field)
    if text is None:
        return default
    try:
        number = int(text)
    except ValueError:
        raise PageError(422, f"{field}: {text!r} is not a whole number") from None
    if not low <= number <= high:
        raise PageError(422, f"{field}: {number} is outside {low}..{high}")
    return number


def _choice(value: str | None, field: str, choices: Sequence[str]) -> str | None:
    """One of `choices`, or None when empty."""
    text = _text(value, field)
    if text is not None and text not in choices:
        raise PageError(422, f"{field}: {text!r} is not one of {', '.join(choices)}")
    return text


def _flag(value: str | None, field: str) -> bool:
    """A checkbox: "true", "1", "on", "yes" -> True; empty, "false", "0", "off", "no" -> False."""
    text = (_text(value, field) or "false").lower()
    if text in ("true", "1", "on", "yes"):
        return True
    if text in ("false", "0", "off", "no"):
        return False
    raise PageError(422, f"{field}: {text!r} is not true or false")


def render(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200, config: ServiceConfig
) -> HTMLResponse:
    """`template` rendered with `context` plus the navigation, as an HTML response with `SECURITY_HEADERS`."""
    html = env.get_template(template).render(
        **context,
        nav=NAV,
        path=request.url.path,
        control_enabled=config.api_token is not None,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, status: int, messages: Sequence[str], config: ServiceConfig) -> HTMLResponse:
    """The error page: the status and each message."""
    titles = {404: "Not found", 422: "Invalid request", 503: "Database unavailable"}
    return render(
        request,
        "error.html",
        {"status": status, "title": titles.get(status, "Error"), "messages": list(messages)},
        status=status,
        config=config,
    )


def _svg(data: bytes) -> Response:
    return Response(data, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def _venue_list(value: str | None, field: str) -> list[str] | None:
    if not value:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    known = venue_names()
    bad = [n for n in names if n not in known]
    if bad:
        raise PageError(422, f"{field}: unknown venue {bad[0]!r}; known: {', '.join(known)}")
    return names or None


def _required(value: str | None, field: str) -> str:
    text = _text(value, field)
    if text is None:
        raise PageError(422, f"{field}: required")
    return text


def _symbol(value: str, field: str = "symbol") -> str:
    text = value.strip().upper()
    if not text or len(text) > 32 or not all(c.isalnum() or c in "-_.:" for c in text):
        raise PageError(422, f"{field}: {value!r} is not a base asset symbol (letters and digits, e.g. ETH)")
    return text


def pair_spreads(
    history: dict[tuple[str, str], list[tuple[datetime, Decimal]]], symbol: str
) -> list[dict[str, Any]]:
    """Every venue pair of `symbol` with aligned hours, oriented so that its mean spread over the window is >= 0
    (the direction worth holding): [{long, short, points [(hour, spread_hourly)], mean, last, hours}], best mean
    first. `spread_hourly = rate(short) - rate(long)` (DESIGN.md)."""
    by_venue = {venue: dict(points) for (venue, sym), points in history.items() if sym == symbol}
    out = []
    for a, b in itertools.combinations(sorted(by_venue), 2):
        hours = sorted(set(by_venue[a]) & set(by_venue[b]))
        if not hours:
            continue
        points = [(h, by_venue[b][h] - by_venue[a][h]) for h in hours]  # long a, short b
        mean = sum((s for _, s in points), Decimal(0)) / len(points)
        long, short = a, b
        if mean < 0:
            long, short, mean = b, a, -mean
            points = [(h, -s) for h, s in points]
        out.append(
            {
                "long": long,
                "short": short,
                "points": points,
                "mean": mean,
                "last": points[-1][1],
                "hours": len(points),
            }
        )
    return sorted(out, key=lambda p: (-p["mean"], p["long"], p["short"]))


def router(config: ServiceConfig) -> APIRouter:
    """The pages and charts (module docstring) for an app whose `state.engine` is the database."""
    pages = APIRouter(include_in_schema=False)

    def engine_of(request: Request) -> AsyncEngine:
        engine: AsyncEngine = request.app.state.engine
        return engine

    def page(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
        return render(request, template, context, config=config)

    # ------------------------------------------------------------------------------------------ opportunities

    @pages.get("/", response_class=HTMLResponse)
    async def opportunities(
        request: Request,
        symbols: str | None = None,
        venues: str | None = None,
        min_apr: str | None = None,
        horizon_hours: str | None = None,
        maker: str | None = None,
        limit: str | None = None,
    ) -> HTMLResponse:
        names = _venue_list(_text(venues, "venues"), "venues")
        wanted_text = _text(symbols, "symbols")
        wanted = [_symbol(x, "symbols") for x in wanted_text.split(",") if x.strip()] if wanted_text else None
        min_apr_value = _number(min_apr, "min_apr")
        horizon = _number(horizon_hours, "horizon_hours", positive=True)
        use_maker = _flag(maker, "maker")
        rows_wanted = _integer(limit, "limit", low=1, high=1000, default=50)
        try:
            query = build_query(
                config.ranking,
                min_apr=min_apr_value,
                horizon_hours=horizon,
                venues=names,
                exclude=None,
                require=None,
                symbols=wanted or None,
                min_volume_usd=None,
                min_oi_usd=None,
                maker=use_maker,
                slippage_bps=None,
                limit=rows_wanted,
            )
        except (ConfigError, ValidationError, ValueError) as exc:
            raise PageError(422, str(exc)) from None
        async with engine_of(request).connect() as conn:
            result = await get_opportunities(conn, query)
            health = await repository.venue_health(conn, list(config.venues))
        now = result.as_of
        max_age = config.ranking.max_data_age_seconds
        rows = [
            {
                "o": o,
                "long_age": (now - o.long_ts).total_seconds(),
                "short_age": (now - o.short_ts).total_seconds(),
            }
            for o in result.opportunities
        ]
        venues_health = [
            {
                "h": h,
                "age": None if h.newest_data_ts is None else (now - h.newest_data_ts).total_seconds(),
            }
            for h in health
        ]
        return page(
            request,
            "opportunities.html",
            {
                "title": "Opportunities",
                "rows": rows,
                "stale": result.stale,
                "health": venues_health,
                "as_of": now,
                "max_age": max_age,
                "horizon_hours": float(query.horizon_hours),
                "fee_kind": "maker" if use_maker else "taker",
                "form": {
                    "symbols": wanted_text or "",
                    "venues": _text(venues, "venues") or "",
                    "min_apr": "" if min_apr_value is None else min_apr_value,
                    "horizon_hours": "" if horizon is None else horizon,
                    "maker": use_maker,
                    "limit": rows_wanted,
                },
            },
        )

    # ------------------------------------------------------------------------------------------------ rates

    async def _history(
        request: Request, symbol: str, days: int
    ) -> tuple[dict[tuple[str, str], list[tuple[datetime, Decimal]]], datetime]:
        async with engine_of(request).connect() as conn:
            now = await queries.db_now(conn)
            history = await repository.hourly_history(
                conn, symbols=[symbol], since=now - timedelta(days=days)
            )
        return history, now

    @pages.get("/rates", response_class=HTMLResponse)
    async def rates(request: Request, symbol: str | None = None, days: str | None = None) -> HTMLResponse:
        window = _integer(days, "days", low=1, high=MAX_DAYS, default=7)
        symbol = _text(symbol, "symbol")
        async with engine_of(request).connect() as conn:
            listed = await queries.symbols(conn)
        if not symbol:
            return page(
                request, "rates.html", {"title": "Rates", "symbols": listed, "symbol": None, "days": window}
            )
        sym = _symbol(symbol)
        history, now = await _history(request, sym, window)
        if not history:
            known = {s for s, _ in listed}
            if sym not in known:
                raise PageError(404, f"symbol: no funding rates stored for {symbol!r}")
        venues = sorted(v for (v, _s) in history)
        pairs = pair_spreads(history, sym)
        return page(
            request,
            "rates.html",
            {
                "title": f"Rates {sym}",
                "symbols": listed,
                "symbol": sym,
                "days": window,
                "venues": venues,
                "latest": {v: history[(v, sym)][-1] for v in venues},
                "pairs": pairs[:MAX_PAIRS],
                "more_pairs": max(0, len(pairs) - MAX_PAIRS),
                "now": now,
            },
        )

    @pages.get("/charts/rates.svg")
    async def rates_svg(request: Request, symbol: str | None = None, days: str | None = None) -> Response:
        sym = _symbol(_required(symbol, "symbol"))
        window = _integer(days, "days", low=1, high=MAX_DAYS, default=7)
        history, _ = await _history(request, sym, window)
        series = {venue: points for (venue, s), points in history.items() if s == sym}
        if not series:
            raise PageError(404, f"symbol: no funding rates for {symbol!r} in the last {window} days")
        return _svg(await asyncio.to_thread(charts.rates_chart, sym, series))

    @pages.get("/charts/spread.svg")
    async def spread_svg(
        request: Request,
        symbol: str | None = None,
        long: str | None = None,
        short: str | None = None,
        days: str | None = None,
    ) -> Response:
        sym = _symbol(_required(symbol, "symbol"))
        long = _required(long, "long")
        short = _required(short, "short")
        _venue_list(long, "long")
        _venue_list(short, "short")
        if long == short:
            raise PageError(422, f"long, short: both are {long!r}; a spread needs two venues")
        window = _integer(days, "days", low=1, high=MAX_DAYS, default=7)
        history, _ = await _history(request, sym, window)
        a, b = dict(history.get((long, sym), [])), dict(history.get((short, sym), []))
        points = [(h, b[h] - a[h]) for h in sorted(set(a) & set(b))]
        if not points:
            raise PageError(
                404, f"symbol: no hour of the last {window} days has {sym} rates on both {long} and {short}"
            )
        return _svg(await asyncio.to_thread(charts.spread_chart, sym, long, short, points))

    # ------------------------------------------------------------------------------------------------- runs

    @pages.get("/runs", response_class=HTMLResponse)
    async def runs(request: Request, account: str | None = None, limit: str | None = None) -> HTMLResponse:
        account = _text(account, "account")
        recent = _integer(limit, "limit", low=1, high=1000, default=100)
        async with engine_of(request).connect() as conn:
            listed = await list_runs(conn, account=account, recent_runs=recent)
            ids = [r["id"] for r in listed]
            equity = await queries.latest_equity(conn, ids)
            counts = await queries.open_position_counts(conn, ids)
        return page(
            request,
            "runs.html",
            {"title": "Runs", "runs": listed, "equity": equity, "counts": counts, "account": account or ""},
        )

    @pages.get("/runs/{run_id}", response_class=HTMLResponse)
    async def run(request: Request, run_id: Annotated[int, PathParam(ge=1)]) -> HTMLResponse:
        async with engine_of(request).connect() as conn:
            row = await queries.run_row(conn, run_id)
            if row is None:
                raise PageError(404, f"run_id: no run {run_id}")
            listed = [
                r
                for r in await list_runs(conn, account=row.account_name, recent_runs=1000)
                if r["id"] == run_id
            ]
            positions = await queries.run_positions(conn, run_id)
            events = await queries.run_events(conn, run_id)
            alerts = await queries.alerts(conn, run_id=run_id, account=row.account_name, limit=50)
            equity = await queries.latest_equity(conn, [run_id])
        commands = await recent_commands(engine_of(request), row.account_name, limit=20)
        return page(
            request,
            "run.html",
            {
                "title": f"Run {run_id}",
                "run": row,
                "info": listed[0] if listed else None,
                "open_positions": [p for p in positions if p.live],
                "closed_positions": [p for p in positions if not p.live],
                "events": events,
                "alerts": alerts,
                "commands": commands,
                "latest": equity.get(run_id),
            },
        )

    @pages.get("/charts/equity/{run_id}.svg")
    async def equity_svg(request: Request, run_id: Annotated[int, PathParam(ge=1)]) -> Response:
        async with engine_of(request).connect() as conn:
            rows = await queries.run_equity(conn, run_id)
        if not rows:
            raise PageError(404, f"run_id: run {run_id} has no equity rows")
        return _svg(await asyncio.to_thread(charts.equity_chart, run_id, rows))

    # ----------------------------------------------------------------------------------------------- alerts

    @pages.get("/alerts", response_class=HTMLResponse)
    async def alerts(
        request: Request,
        status: str | None = None,
        level: str | None = None,
        event: str | None = None,
        account: str | None = None,
        limit: str | None = None,
    ) -> HTMLResponse:
        status = _choice(status, "status", queries.ALERT_STATUSES)
        level = _choice(level, "level", queries.ALERT_LEVELS)
        event = _text(event, "event")
        account = _text(account, "account")
        rows_wanted = _integer(limit, "limit", low=1, high=1000, default=200)
        async with engine_of(request).connect() as conn:
            rows = await queries.alerts(
                conn, status=status, level=level, event=event, account=account, limit=rows_wanted
            )
            events = await queries.alert_events(conn)
        return page(
            request,
            "alerts.html",
            {
                "title": "Alerts",
                "alerts": rows,
                "events": events,
                "statuses": queries.ALERT_STATUSES,
                "levels": queries.ALERT_LEVELS,
                "form": {
                    "status": status or "",
                    "level": level or "",
                    "event": event or "",
                    "account": account or "",
                    "limit": rows_wanted,
                },
            },
        )

    # -------------------------------------------------------------------------------------------- backtests

    @pages.get("/backtests", response_class=HTMLResponse)
    async def backtests(request: Request, limit: str | None = None) -> HTMLResponse:
        rows_wanted = _integer(limit, "limit", low=1, high=1000, default=100)
        async with engine_of(request).connect() as conn:
            reports = await store.list_reports(conn, limit=rows_wanted)
        return page(request, "backtests.html", {"title": "Backtests", "reports": reports})

    @pages.get("/backtests/{report_id}", response_class=HTMLResponse)
    async def backtest(request: Request, report_id: Annotated[int, PathParam(ge=1)]) -> HTMLResponse:
        async with engine_of(request).connect() as conn:
            report = await store.get_report(conn, report_id)
        if report is None:
            raise PageError(404, f"report_id: no saved backtest report {report_id}")
        return page(request, "backtest.html", {"title": f"Backtest {report.head.name}", "report": report})

    @pages.get("/backtests/{report_id}/plot.png")
    async def backtest_plot(request: Request, report_id: Annotated[int, PathParam(ge=1)]) -> Response:
        async with engine_of(request).connect() as conn:
            png = await store.report_plot(conn, report_id)
        if png is None:
            raise PageError(404, f"report_id: report {report_id} does not exist or has no plot")
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    return pages


__all__ = ["MAX_DAYS", "SECURITY_HEADERS", "PageError", "error_page", "pair_spreads", "render", "router"]
