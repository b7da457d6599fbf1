"""`perparb status`: runs (stale heartbeats flagged), positions with their PnL decomposition and last monitor
figures, grid order summaries and recent events, from rows seeded directly; the same dicts as JSON and tables."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from strategies.state import EVENTS, ORDERS, POSITIONS, RUNS, client_order_id
from strategies.status import STALE_NOTE, gather_status

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]

MONITOR = {
    "at": "2025-01-01T00:00:00+00:00",
    "long": {"quantity": "0.5", "unrealized_pnl": "-1.5", "liquidation_distance": "0.42"},
    "short": {"quantity": "-0.5", "unrealized_pnl": "1.25", "liquidation_distance": "0.38"},
    "delta": "0",
    "liquidation_distance": "0.38",
    "spread_hourly_now": "0.00002",
    "spread_hourly_entry": "0.00003",
}


async def _run(
    conn: Any, account: str, mode: str, strategy: str, status: str, age_s: int, config: dict
) -> int:
    return (
        await conn.execute(
            insert(RUNS)
            .values(
                account_name=account,
                strategy=strategy,
                config_name=f"{strategy}-cfg",
                config=config,
                mode=mode,
                venues=["lighter"] if strategy == "grid" else ["lighter", "paradex"],
                status=status,
                host="box",
                pid=4242,
                heartbeat_at=text(f"now() - interval '{age_s} seconds'"),
                stop_reason=None if status == "running" else "signal",
            )
            .returning(RUNS.c.id)
        )
    ).scalar_one()


@pytest_asyncio.fixture(scope="module")
async def ids(engine: AsyncEngine) -> dict[str, int]:
    async with engine.begin() as conn:
        grid = await _run(conn, "alice", "paper", "grid", "running", 60, {"loop_interval_seconds": "2"})
        fa = await _run(
            conn, "alice", "live", "funding_arbitrage", "running", 0, {"loop_interval_seconds": "10"}
        )
        old = await _run(conn, "bob", "live", "funding_arbitrage", "stopped", 3600, {})
        common = {"mode": "live", "config_name": "funding_arbitrage-cfg", "long_venue": "lighter"}
        open_id = (
            await conn.execute(
                insert(POSITIONS)
                .values(
                    run_id=fa,
                    account_name="alice",
                    symbol="ETH",
                    short_venue="paradex",
                    status="open",
                    target_quantity="0.5",
                    quantity="0.5",
                    notional_usd="1800",
                    entry_spread_hourly="0.00003",
                    round_trip_cost="0.001",
                    opened_at=text("now()"),
                    funding_long="-1.25",
                    funding_short="3.5",
                    fees="0.72",
                    basis_pnl="0.1",
                    monitor=MONITOR,
                    **common,
                )
                .returning(POSITIONS.c.id)
            )
        ).scalar_one()
        closed_id = (
            await conn.execute(
                insert(POSITIONS)
                .values(
                    run_id=old,
                    account_name="bob",
                    symbol="BTC",
                    short_venue="paradex",
                    status="closed",
                    target_quantity="0.01",
                    quantity="0.01",
                    notional_usd="950",
                    entry_spread_hourly="0.00004",
                    round_trip_cost="0.001",
                    closed_at=text("now()"),
                    exit_reason="spread_flipped",
                    funding_long="2",
                    funding_short="11.5",
                    fees="1.16",
                    basis_pnl="0",
                    realized_pnl="12.34",
                    monitor=MONITOR,
                    **common,
                )
                .returning(POSITIONS.c.id)
            )
        ).scalar_one()
        seq = iter(range(1, 100))
        for run_id, side, status, level, filled, fee in (
            (grid, "buy", "open", 0, "0", "0"),
            (grid, "buy", "open", 1, "0", "0"),
            (grid, "sell", "partially_filled", 3, "0.004", "0.0004"),
            (grid, "buy", "filled", 2, "0.01", "0.01"),
            (grid, "sell", "canceled", 4, "0", "0"),
            (fa, "buy", "filled", None, "0.5", "0.36"),
        ):
            await conn.execute(
                insert(ORDERS).values(
                    run_id=run_id,
                    account_name="alice",
                    venue="lighter",
                    symbol="ETH",
                    client_order_id=client_order_id(run_id, next(seq)),
                    purpose="grid" if run_id == grid else "entry",
                    side=side,
                    order_type="limit",
                    time_in_force="post_only",
                    price="3600",
                    quantity="0.01",
                    status=status,
                    filled_quantity=filled,
                    fee=fee,
                    grid_level=level,
                )
            )
        for run_id, level, kind, message in (
            (old, "info", "stop", "stopping (signal)"),
            (fa, "info", "entry", "opened ETH"),
            (grid, "warn", "pause", "mark outside the pause band"),
        ):
            await conn.execute(insert(EVENTS).values(run_id=run_id, level=level, kind=kind, message=message))
    return {"grid": grid, "fa": fa, "old": old, "open": open_id, "closed": closed_id}


def _runs_view(data: dict[str, Any]) -> list[tuple]:
    return [
        (
            r["id"],
            r["account"],
            r["mode"],
            r["strategy"],
            r["status"],
            r["loop_interval_seconds"],
            r["stale"],
            r["note"],
        )
        for r in data["runs"]
    ]


async def test_status_dicts(engine: AsyncEngine, ids: dict[str, int]) -> None:
    async with engine.connect() as conn:
        data = await gather_status(conn, events=2)
    assert _runs_view(data) == [
        (ids["old"], "bob", "live", "funding_arbitrage", "stopped", "10", False, None),
        (ids["fa"], "alice", "live", "funding_arbitrage", "running", "10", False, None),
        (ids["grid"], "alice", "paper", "grid", "running", "2", True, STALE_NOTE),
    ]
    grid_run = data["runs"][2]
    assert 59 < grid_run["heartbeat_age_seconds"] < 120
    [open_pos] = data["positions"]["open"]
    assert {
        k: open_pos[k] for k in ("id", "run_id", "symbol", "long_venue", "short_venue", "status", "quantity")
    } == {
        "id": ids["open"],
        "run_id": ids["fa"],
        "symbol": "ETH",
        "long_venue": "lighter",
        "short_venue": "paradex",
        "status": "open",
        "quantity": "0.5",
    }
    assert open_pos["pnl"] == {
        "funding_long": "-1.25",
        "funding_short": "3.5",
        "fees": "0.72",
        "basis": "0.1",
        "realized": None,
    }
    assert open_pos["monitor"] == {
        "at": "2025-01-01T00:00:00+00:00",
        "unrealized_pnl_long": "-1.5",
        "unrealized_pnl_short": "1.25",
        "liquidation_distance_long": "0.42",
        "liquidation_distance_short": "0.38",
        "delta": "0",
        "spread_hourly_now": "0.00002",
        "spread_hourly_entry": "0.00003",
    }
    [closed] = data["positions"]["closed"]
    assert (closed["id"], closed["exit_reason"], closed["monitor"]) == (ids["closed"], "spread_flipped", None)
    assert closed["pnl"] == {
        "funding_long": "2",
        "funding_short": "11.5",
        "fees": "1.16",
        "basis": "0",
        "realized": "12.34",
    }
    [grid] = data["grids"]
    assert {k: v for k, v in grid.items() if k != "last_fill_at"} == {
        "run_id": ids["grid"],
        "account": "alice",
        "mode": "paper",
        "config_name": "grid-cfg",
        "venue": "lighter",
        "symbol": "ETH",
        "open_buys": 2,
        "open_sells": 1,
        "open_levels": [0, 1, 3],
        "filled_orders": 1,
        "filled_quantity": "0.014",
        "fees": "0.0104",
    }
    assert grid["last_fill_at"] is not None
    assert [(e["run_id"], e["level"], e["kind"], e["message"]) for e in data["events"]] == [
        (ids["grid"], "warn", "pause", "mark outside the pause band"),
        (ids["fa"], "info", "entry", "opened ETH"),
    ]


async def test_status_of_one_account(engine: AsyncEngine, ids: dict[str, int]) -> None:
    async with engine.connect() as conn:
        data = await gather_status(conn, account="bob", events=10)
    assert [r["id"] for r in data["runs"]] == [ids["old"]]
    assert data["positions"]["open"] == [] and [p["id"] for p in data["positions"]["closed"]] == [
        ids["closed"]
    ]
    assert data["grids"] == []
    assert [e["message"] for e in data["events"]] == ["stopping (signal)"]


async def _cli(db_url: str, *args: str, cwd: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env.update({"DATABASE_URL": db_url, "PYTHONPATH": str(PROJECT)})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "perparb",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_status_cli_json_and_tables(
    engine: AsyncEngine, db_url: str, ids: dict[str, int], tmp_path: Path
) -> None:
    code, out, err = await _cli(db_url, "status", "--json", "--events", "3", cwd=tmp_path)
    assert code == 0, err
    data = json.loads(out)
    async with engine.connect() as conn:
        direct = await gather_status(conn, events=3)
    assert _runs_view(data) == _runs_view(direct)
    assert data["positions"] == direct["positions"] and data["grids"] == direct["grids"]
    assert [e["id"] for e in data["events"]] == [e["id"] for e in direct["events"]]
    code, out, err = await _cli(db_url, "status", cwd=tmp_path)
    assert code == 0, err
    assert STALE_NOTE in out
    for needle in ("open positions", "closed positions", "grids", "recent events", "spread_flipped", "12.34"):
        assert needle in out, needle
