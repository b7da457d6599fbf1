"""Saved backtest reports (table `backtest_reports`): `perparb backtest --save` writes one, the dashboard reads them.

* `save_report(engine, report, ...)` stores one finished report in ONE transaction (a single INSERT: the row is
  there whole or not at all) and returns its id.
* `list_reports(conn, limit=...)` the newest first, without the text and the PNG (`SavedReportSummary`).
* `get_report(conn, report_id)` one report with its text (`SavedReport`); `report_plot(conn, report_id)` its PNG.

What a row holds: `config` = the strategy config as replayed (its JSON dump, venues replaced by `--venues` when
given), `summary` = the report's JSON (`BacktestReport.to_json_dict`: USD as floats, APRs and fractions as float
fractions, times ISO-8601 UTC), `report_text` = the human tables as `perparb backtest` prints them (plain text,
`backtest.report.report_text`), `plot_png` = the equity-curve PNG when `--plot` was given (else NULL), and the
replayed window (`window_start`, `window_end`: the first and last decision times).

JSON in PostgreSQL has no NaN or infinity: such a float in the summary is stored as null (`json_safe`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backtest.report import BacktestReport
from database.models import BacktestReport as BacktestReportRow
from database.models import table_of

REPORTS = table_of(BacktestReportRow)
NAME_MAX = 128
"""Longest report name (the column's width)."""


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float (NaN, +-inf) replaced by None, recursively through dicts and lists
    (PostgreSQL's JSONB refuses them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def default_name(report: BacktestReport) -> str:
    """`<config> <first day>..<last day>` (UTC dates of the replayed window)."""
    return f"{report.config_name} {report.start:%Y-%m-%d}..{report.end:%Y-%m-%d}"


async def save_report(
    engine: AsyncEngine,
    report: BacktestReport,
    *,
    config: dict[str, Any],
    strategy: str,
    text: str,
    name: str | None = None,
    plot_png: bytes | None = None,
) -> int:
    """Store `report` (one transaction) and return the new row's id.

    Args:
        config: the replayed strategy config as JSON (`model_dump(mode="json")`); strategy: its `strategy`.
        text: the human report (`backtest.report.report_text`). name: default `default_name(report)`.
        plot_png: the equity-curve PNG bytes, or None.

    Raises:
        ValueError: `name` is empty or longer than `NAME_MAX` characters, or `plot_png` is not a PNG.
        sqlalchemy errors: the database refused the row or is unreachable (nothing is stored).
    """
    chosen = default_name(report) if name is None else name.strip()
    if not chosen:
        raise ValueError("--name: the report name is empty")
    if len(chosen) > NAME_MAX:
        raise ValueError(f"--name: {chosen[:40]!r}... is longer than {NAME_MAX} characters")
    if plot_png is not None and not plot_png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("plot: not a PNG image")
    async with engine.begin() as conn:
        row_id = (
            await conn.execute(
                REPORTS.insert()
                .values(
                    name=chosen,
                    config_name=report.config_name[:64],
                    strategy=strategy[:32],
                    window_start=report.start,
                    window_end=report.end,
                    config=json_safe(config),
                    summary=json_safe(report.to_json_dict()),
                    report_text=text,
                    plot_png=plot_png,
                )
                .returning(REPORTS.c.id)
            )
        ).scalar_one()
    return int(row_id)


@dataclass(frozen=True, slots=True)
class SavedReportSummary:
    """One saved report as listed: the headline figures from its summary (USD floats, APRs float fractions,
    None when the report had none)."""

    id: int
    created_at: datetime
    name: str
    config_name: str
    strategy: str
    window_start: datetime
    window_end: datetime
    net_pnl_usd: float | None
    net_apr_on_budget: float | None
    max_drawdown_usd: float | None
    entries: int | None
    has_plot: bool


@dataclass(frozen=True, slots=True)
class SavedReport:
    """One saved report: its listing, the replayed config, the whole summary JSON and the human text."""

    head: SavedReportSummary
    config: dict[str, Any]
    summary: dict[str, Any]
    report_text: str


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _head(r: Any) -> SavedReportSummary:
    summary = r.summary or {}
    entries = summary.get("entries")
    return SavedReportSummary(
        id=r.id,
        created_at=r.created_at,
        name=r.name,
        config_name=r.config_name,
        strategy=r.strategy,
        window_start=r.window_start,
        window_end=r.window_end,
        net_pnl_usd=_float(summary.get("net_pnl_usd")),
        net_apr_on_budget=_float(summary.get("net_apr_on_budget")),
        max_drawdown_usd=_float(summary.get("max_drawdown_usd")),
        entries=entries if isinstance(entries, int) else None,
        has_plot=bool(r.has_plot),
    )


def _listing_columns() -> list[Any]:
    c = REPORTS.c
    return [
        c.id,
        c.created_at,
        c.name,
        c.config_name,
        c.strategy,
        c.window_start,
        c.window_end,
        c.summary,
        c.plot_png.is_not(None).label("has_plot"),
    ]


async def list_reports(conn: AsyncConnection, *, limit: int = 100) -> list[SavedReportSummary]:
    """The `limit` newest saved reports, newest first (never reads the text or the PNG)."""
    rows = await conn.execute(
        select(*_listing_columns()).order_by(REPORTS.c.created_at.desc(), REPORTS.c.id.desc()).limit(limit)
    )
    return [_head(r) for r in rows]


async def get_report(conn: AsyncConnection, report_id: int) -> SavedReport | None:
    """Report `report_id` with its config, summary and text; None when there is none."""
    row = (
        await conn.execute(
            select(*_listing_columns(), REPORTS.c.config, REPORTS.c.report_text).where(
                REPORTS.c.id == report_id
            )
        )
    ).first()
    if row is None:
        return None
    return SavedReport(
        head=_head(row), config=row.config or {}, summary=row.summary or {}, report_text=row.report_text
    )


async def report_plot(conn: AsyncConnection, report_id: int) -> bytes | None:
    """The PNG of report `report_id`; None when the report does not exist or was saved without `--plot`."""
    value = (
        await conn.execute(select(REPORTS.c.plot_png).where(REPORTS.c.id == report_id))
    ).scalar_one_or_none()
    return None if value is None else bytes(value)


__all__ = [
    "NAME_MAX",
    "SavedReport",
    "SavedReportSummary",
    "default_name",
    "get_report",
    "json_safe",
    "list_reports",
    "report_plot",
    "save_report",
]
