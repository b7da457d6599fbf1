"""A database seeded for the dashboard tests: funding history and latest rates on three venues, collection health,
strategy runs with positions (monitor JSON), events, alerts, equity curves, commands, and a saved backtest made by
the real backtester from the seeded history.

Every figure a test asserts is derived here from named constants, so a test can state what the page must show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backtest.engine import run_backtest
from backtest.loader import load_history_db
from backtest.plots import write_plots
from backtest.report import build_report, report_text
from backtest.store import save_report
from database.models import Alert, RunCommand, RunEquity, table_of
from funding_rate_service import repository
from funding_rate_service.repository import RunRecord
from perparb_core.models import FundingKind, FundingRateSample, MarketInfo
from strategies.config import parse_config
from strategies.state import EVENTS, POSITIONS, RUNS

ALERTS = table_of(Alert)
EQUITY = table_of(RunEquity)
COMMANDS = table_of(RunCommand)

VENUES = ("hyperliquid", "lighter", "paradex")
HISTORY_HOURS = 72
EQUITY_ROWS = 120

# latest (predicted) rates, fractions per hour, and their ages in seconds at seeding time
LATEST = {
    ("lighter", "ETH"): (D("0.00001"), 30),
    ("paradex", "ETH"): (D("0.00006"), 600),  # older than half the 900 s staleness limit: "aging"
    ("hyperliquid", "ETH"): (D("0.00002"), 10),
    ("lighter", "BTC"): (D("0.00002"), 20),
    ("paradex", "BTC"): (D("-0.00001"), 40),
    ("lighter", "SOL"): (D("0.00003"), 15),
    ("paradex", "SOL"): (D("0.0001"), 7200),  # stale: left out of the ranking, listed as stale
}
# settled history: a constant base per market plus a small sine, so spreads are known in sign
HISTORY_BASE = {
    ("lighter", "ETH"): D("0.00001"),
    ("paradex", "ETH"): D("0.00005"),
    ("hyperliquid", "ETH"): D(
        "0.000034"
    ),  # spreads 0.00004, 0.000024, 0.000016: no tie for the sine to break
    ("lighter", "BTC"): D("0.00002"),
    ("paradex", "BTC"): D("-0.00001"),
}
VENUE_SYMBOL = {
    ("lighter", "ETH"): "ETH",
    ("lighter", "BTC"): "BTC",
    ("lighter", "SOL"): "SOL",
    ("paradex", "ETH"): "ETH-USD-PERP",
    ("paradex", "BTC"): "BTC-USD-PERP",
    ("paradex", "SOL"): "SOL-USD-PERP",
    ("hyperliquid", "ETH"): "ETH",
}
SETTLED_SOURCE = {
    "lighter": "lighter:fundings",
    "paradex": "paradex:funding/data",
    "hyperliquid": "hyperliquid:fundingHistory",
}
FEES = {"lighter": D(0), "paradex": D("0.0002"), "hyperliquid": D("0.00045")}
PERIOD = {"lighter": D(1), "paradex": D(8), "hyperliquid": D(1)}

BACKTEST_CONFIG = {
    "strategy": "funding_arbitrage",
    "name": "dash-replay",
    "venues": ["lighter", "paradex"],
    "entry": {"min_net_apr": "0.10", "horizon_hours": "168"},
    "exit": {"exit_signal_apr": "0.03"},
    "sizing": {"target_notional_usd": "5000"},
    "costs": {"fee_overrides": {"lighter": {"taker": "0"}, "paradex": {"taker": "0.0002"}}},
}

# run 1: alice, paper, running; its open ETH position (long lighter, short paradex) and a closed BTC one
OPEN_POSITION = {
    "symbol": "ETH",
    "quantity": D(2),
    "notional_usd": D(6000),
    "funding_long": D("-1.2"),
    "funding_short": D("4.5"),
    "fees": D("2.4"),
    "basis_pnl": D(0),
    "upnl_long": D(20),
    "upnl_short": D(-22),
    "liq_long": D("0.42"),
    "liq_short": D("0.08"),
    "mark_long": D(3010),
    "mark_short": D(3011),
}
OPEN_TOTAL = D("-1.2") + D("4.5") + D(0) - D("2.4") + D(20) + D(-22)  # -1.1
CLOSED_REALISED = D("12.5")


@dataclass
class Seeded:
    """Ids and figures of what `seed` wrote."""

    now: datetime
    runs: dict[str, int] = field(default_factory=dict)  # "alice" (running), "bob" (crashed), "carol" (stale)
    open_position_id: int = 0
    closed_position_id: int = 0
    alert_ids: dict[str, int] = field(default_factory=dict)
    report_id: int = 0
    report_net_pnl: float = 0.0
    equity_last: D = D(0)


def _markets() -> list[MarketInfo]:
    return [
        MarketInfo(
            venue=v,
            venue_symbol=VENUE_SYMBOL[(v, s)],
            symbol=s,
            venue_market_id=VENUE_SYMBOL[(v, s)],
            funding_period_hours=PERIOD[v],
            taker_fee=FEES[v],
            maker_fee=D(0),
        )
        for (v, s) in VENUE_SYMBOL
    ]


def _sample(
    venue: str, symbol: str, kind: FundingKind, ts: datetime, hourly: D, **extra: Any
) -> FundingRateSample:
    return FundingRateSample(
        venue=venue,
        venue_symbol=VENUE_SYMBOL[(venue, symbol)],
        symbol=symbol,
        kind=kind,
        ts=ts,
        raw_rate=hourly * PERIOD[venue],
        raw_period_hours=PERIOD[venue],
        rate_hourly=hourly,
        source=SETTLED_SOURCE[venue] if kind == FundingKind.SETTLED else f"{venue}:test-latest",
        **extra,
    )


PHASE = {"lighter": 0.0, "paradex": 2.0, "hyperliquid": 4.0}


def history_rate(venue: str, symbol: str, i: int) -> D:
    """The settled hourly rate of hour `i` (0 = the oldest of HISTORY_HOURS): the base plus a sine of +-0.000004
    (3.5 % APR), shifted per venue so that spreads move."""
    return HISTORY_BASE[(venue, symbol)] + D(str(round(0.000004 * math.sin(i / 6 + PHASE[venue]), 9)))


async def seed_rates(engine: AsyncEngine, now: datetime) -> None:
    top = now.replace(minute=0, second=0, microsecond=0)
    samples = []
    for (venue, symbol), _base in HISTORY_BASE.items():
        for i in range(HISTORY_HOURS):
            ts = top - timedelta(hours=HISTORY_HOURS - i)
            samples.append(_sample(venue, symbol, FundingKind.SETTLED, ts, history_rate(venue, symbol, i)))
    for (venue, symbol), (rate, age) in LATEST.items():
        samples.append(
            _sample(
                venue,
                symbol,
                FundingKind.PREDICTED,
                now - timedelta(seconds=age),
                rate,
                mark_price=D(3000) if symbol == "ETH" else D(60000) if symbol == "BTC" else D(150),
                open_interest_usd=D(50_000_000) if venue != "hyperliquid" else D(120_000_000),
                volume_24h_usd=D(80_000_000),
            )
        )
    runs = [
        RunRecord("lighter", "collect", now - timedelta(seconds=62), now - timedelta(seconds=60), "ok", 3, 0),
        RunRecord("paradex", "collect", now - timedelta(seconds=62), now - timedelta(seconds=61), "ok", 3, 0),
        RunRecord(
            "hyperliquid",
            "collect",
            now - timedelta(seconds=70),
            now - timedelta(seconds=65),
            "failed",
            0,
            0,
            "hyperliquid: timeout after 10 s",
        ),
    ]
    async with engine.begin() as conn:
        await repository.store_cycle(
            conn, markets=_markets(), samples=samples, reference_rates=[], runs=runs, now=now
        )


def _monitor(at: datetime) -> dict[str, Any]:
    p = OPEN_POSITION

    def leg(qty: D, mark: D, upnl: D, liq: D) -> dict[str, Any]:
        return {
            "quantity": str(qty),
            "entry_price": "3000",
            "mark_price": str(mark),
            "unrealized_pnl": str(upnl),
            "funding_accrued": None,
            "liquidation_price": str(mark * (1 - liq) if qty > 0 else mark * (1 + liq)),
            "liquidation_distance": str(liq),
            "leverage": "3",
        }

    return {
        "at": at.isoformat(),
        "long": leg(p["quantity"], p["mark_long"], p["upnl_long"], p["liq_long"]),
        "short": leg(-p["quantity"], p["mark_short"], p["upnl_short"], p["liq_short"]),
        "delta": "0",
        "liquidation_distance": str(min(p["liq_long"], p["liq_short"])),
        "spread_hourly_now": "0.00005",
        "spread_hourly_entry": "0.00004",
        "signal": {},
    }


async def seed_runs(engine: AsyncEngine, now: datetime, out: Seeded) -> None:
    async with engine.begin() as conn:

        async def run(account: str, mode: str, status: str, heartbeat_age: float, **kw: Any) -> int:
            row_id = (
                await conn.execute(
                    RUNS.insert()
                    .values(
                        account_name=account,
                        strategy="funding_arbitrage",
                        config_name=f"{account}-arb",
                        config={
                            "loop_interval_seconds": 600
                        },  # stale after 30 min: a slow test never ages alice
                        mode=mode,
                        venues=["lighter", "paradex"],
                        status=status,
                        host="testhost",
                        pid=4242,
                        started_at=now - timedelta(hours=3),
                        heartbeat_at=now - timedelta(seconds=heartbeat_age),
                        **kw,
                    )
                    .returning(RUNS.c.id)
                )
            ).scalar_one()
            return int(row_id)

        out.runs["bob"] = await run(
            "bob", "live", "crashed", 7200, stopped_at=now - timedelta(hours=2), stop_reason="lease lost"
        )
        out.runs["carol"] = await run("carol", "paper", "running", 3600)  # heartbeat 1 h old: stale
        out.runs["alice"] = await run("alice", "paper", "running", 2)
        alice = out.runs["alice"]
        p = OPEN_POSITION
        out.open_position_id = (
            await conn.execute(
                POSITIONS.insert()
                .values(
                    run_id=alice,
                    account_name="alice",
                    mode="paper",
                    config_name="alice-arb",
                    symbol="ETH",
                    long_venue="lighter",
                    short_venue="paradex",
                    status="open",
                    target_quantity=p["quantity"],
                    quantity=p["quantity"],
                    notional_usd=p["notional_usd"],
                    entry_spread_hourly=D("0.00004"),
                    round_trip_cost=D("0.0008"),
                    entry_long_price=D(3000),
                    entry_short_price=D(3000),
                    opened_at=now - timedelta(hours=2),
                    funding_long=p["funding_long"],
                    funding_short=p["funding_short"],
                    fees=p["fees"],
                    basis_pnl=p["basis_pnl"],
                    monitor=_monitor(now - timedelta(seconds=5)),
                )
                .returning(POSITIONS.c.id)
            )
        ).scalar_one()
        out.closed_position_id = (
            await conn.execute(
                POSITIONS.insert()
                .values(
                    run_id=alice,
                    account_name="alice",
                    mode="paper",
                    config_name="alice-arb",
                    symbol="BTC",
                    long_venue="paradex",
                    short_venue="lighter",
                    status="closed",
                    target_quantity=D("0.1"),
                    quantity=D(0),
                    notional_usd=D(6000),
                    entry_spread_hourly=D("0.00003"),
                    round_trip_cost=D("0.0008"),
                    opened_at=now - timedelta(hours=3),
                    closed_at=now - timedelta(hours=2, minutes=30),
                    exit_reason="signal_decay",
                    funding_long=D("3.1"),
                    funding_short=D("11.0"),
                    fees=D("1.6"),
                    basis_pnl=D(0),
                    realized_pnl=CLOSED_REALISED,
                    monitor=_monitor(now - timedelta(hours=2, minutes=31)),  # history: never shown as state
                )
                .returning(POSITIONS.c.id)
            )
        ).scalar_one()
        for i, (level, kind, message) in enumerate(
            [
                (
                    "info",
                    "entry",
                    f"position {out.closed_position_id}: BTC long paradex / short lighter opened",
                ),
                ("info", "exit", f"position {out.closed_position_id}: closed (signal_decay), realised 12.5"),
                (
                    "info",
                    "entry",
                    f"position {out.open_position_id}: ETH long lighter / short paradex opened",
                ),
                ("warn", "monitor", f"position {out.open_position_id}: short leg 8.0 % from liquidation"),
            ]
        ):
            await conn.execute(
                EVENTS.insert().values(
                    run_id=alice,
                    at=now - timedelta(minutes=60 - 10 * i),
                    level=level,
                    kind=kind,
                    message=message,
                )
            )
        await conn.execute(
            EVENTS.insert().values(
                run_id=out.runs["bob"],
                at=now - timedelta(hours=2),
                level="error",
                kind="crash",
                message="lease lost",
            )
        )

        async def alert(key: str, **values: Any) -> None:
            out.alert_ids[key] = int(
                (await conn.execute(ALERTS.insert().values(**values).returning(ALERTS.c.id))).scalar_one()
            )

        await alert(
            "opened",
            created_at=now - timedelta(minutes=40),
            event="position_opened",
            subject="alice/ETH",
            level="info",
            title="ETH position opened",
            message="long lighter / short paradex, 2 ETH",
            account_name="alice",
            run_id=alice,
            status="sent",
            attempts=1,
            delivered_at=now - timedelta(minutes=40),
        )
        await alert(
            "liquidation",
            created_at=now - timedelta(minutes=20),
            event="liquidation_warning",
            subject="alice/paradex/ETH",
            level="warn",
            title="ETH short leg near liquidation",
            message="liquidation distance 8.0 % < 10 %",
            account_name="alice",
            run_id=alice,
            status="failed",
            attempts=5,
            last_error="HTTP 500 from the receiver",
        )
        await alert(
            "outage",
            created_at=now - timedelta(minutes=10),
            event="venue_outage",
            subject="hyperliquid",
            level="error",
            title="hyperliquid unavailable",
            message="3 failed cycles",
            status="unrouted",
        )
        # equity: a rising curve, one row a minute
        rows = []
        for i in range(EQUITY_ROWS):
            funding = D(i) / 10
            realised = D("12.5") if i > 30 else D(0)
            unrealised = D(str(round(math.sin(i / 9) * 3, 4)))
            rows.append(
                {
                    "run_id": alice,
                    "at": now - timedelta(minutes=EQUITY_ROWS - i),
                    "funding_usd": funding,
                    "realised_usd": realised,
                    "unrealised_usd": unrealised,
                    "equity_usd": funding + realised + unrealised,
                    "open_positions": 1,
                    "notional_usd": D(12000),
                    "net_delta_usd": D(2),
                }
            )
        await conn.execute(EQUITY.insert(), rows)
        out.equity_last = rows[-1]["equity_usd"]
        await conn.execute(
            COMMANDS.insert().values(
                account_name="alice",
                mode="paper",
                command="pause",
                issued_by="cli tester@testhost",
                reason="seeded",
                status="done",
                created_at=now - timedelta(minutes=30),
                expires_at=datetime(9999, 12, 31, tzinfo=timezone.utc),
                run_id=alice,
                handled_at=now - timedelta(minutes=30),
                result="entries paused",
            )
        )


async def seed_backtest(engine: AsyncEngine, out: Seeded, plot_dir: Path) -> None:
    """Replay the seeded settled history with the real backtester and save it (with its equity PNG)."""
    cfg = parse_config(BACKTEST_CONFIG)
    async with engine.connect() as conn:
        history = await load_history_db(conn, venues=cfg.venues)
    result = run_backtest(cfg, history)
    report = build_report(result)
    paths = write_plots(result, report, plot_dir)
    out.report_id = await save_report(
        engine,
        report,
        config=cfg.model_dump(mode="json"),
        strategy=cfg.strategy,
        text=report_text(report),
        name="seeded replay",
        plot_png=paths[0].read_bytes(),
    )
    out.report_net_pnl = float(report.net_pnl_usd)


async def seed(engine: AsyncEngine, plot_dir: Path) -> Seeded:
    """Empty the tables the dashboard reads, then write everything above. Returns the ids."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "TRUNCATE funding_rate_samples, market_states, reference_funding_rates, collection_runs, markets, "
                "venues, alerts, run_commands, run_equity, backtest_reports, strategy_events, fills, orders, "
                "funding_payments, positions, strategy_runs RESTART IDENTITY CASCADE"
            )
        )
        now = (await conn.execute(text("SELECT now()"))).scalar_one()
    out = Seeded(now=now)
    await seed_rates(engine, now)
    await seed_runs(engine, now, out)
    await seed_backtest(engine, out, plot_dir)
    return out
