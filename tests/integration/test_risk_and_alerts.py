"""Issue #14 on the simulator: the risk guardian's fault tests, the operator commands acting on a live run, and every
alert event raised by the code path that owns it and delivered (through apprise) to a local webhook receiver.

* a price move that brings the Lighter leg near liquidation: `liquidation_warning`, then the limit with action
  `reduce` closes the position (both venues flat, the database consistent);
* a run of cycles failing on a venue error: the limit with action `pause_entries` pauses the run (a `pause`
  command issued by "risk guardian"); no entry while paused; `resume` lets the next entry through;
* `flatten` (a command row, as `perparb flatten` writes it) closes both legs and stops the run;
* the two-leg executor's hedge, unwind and naked-leg paths, a refused entry for lack of margin, a run that
  crashes and one whose lease connection is killed from the database side, and the collector's venue outage,
  recovery and stale data each raise their alert.

`ALERT_SCENARIOS` maps every alert event of `database.alerts.ALERT_EVENTS` to the test that raises and receives it;
`test_every_alert_event_has_a_scenario` keeps the two in step.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from database import commands
from database.alerts import ALERT_EVENTS, ALERTS, AlertDispatcher
from database.vault import Vault
from exchange_clients.registry import create_funding_adapter
from funding_rate_service.collector import run_cycle
from funding_rate_service.watch import CollectionWatch
from perparb_core.settings import AlertConfig, RankingConfig, TradingConfig
from simulator.server import SimulatorHandle
from strategies import state
from strategies.runner import RunOptions, RunSummary, run_strategy
from tests.alert_receiver import AlertReceiver
from tests.configs import sim_config
from tests.integration import test_arb_faults as faults
from tests.integration.strategy_support import admin, set_market, sim_account, sim_settings, until
from tests.integration.test_arb_faults import assert_safe, venue_state
from tests.integration.test_funding_arbitrage import config, positions

pytestmark = pytest.mark.integration

D = Decimal
PX = "ETH-USD-PERP"
sim = faults.sim  # a fresh simulator per test: ETH at 3600 on both venues, rates set for an entry
vault = faults.vault
PAIR = ("lighter", "paradex")  # long / short leg of these tests (the fault matrix covers the other pairs)


@pytest.fixture
def pair() -> tuple[str, str]:
    """The venue pair `faults.sim` prepares (long, short)."""
    return PAIR


ALERT_SCENARIOS = {
    "position_opened": "test_a_price_move_near_liquidation_warns_then_reduces",
    "position_closed": "test_a_price_move_near_liquidation_warns_then_reduces",
    "liquidation_warning": "test_a_price_move_near_liquidation_warns_then_reduces",
    "risk_triggered": "test_a_price_move_near_liquidation_warns_then_reduces",
    "command_handled": "test_failed_cycles_pause_entries_until_resumed",
    "hedge_used": "test_hedge_unwind_and_naked_leg_alerts",
    "unwind_used": "test_hedge_unwind_and_naked_leg_alerts",
    "leg_unbalanced": "test_hedge_unwind_and_naked_leg_alerts",
    "insufficient_margin": "test_an_entry_refused_for_margin_alerts",
    "run_crashed": "test_a_crashed_run_and_a_lost_lease_alert",
    "lease_lost": "test_a_crashed_run_and_a_lost_lease_alert",
    "venue_outage": "test_the_collector_alerts_outage_recovery_and_stale_data",
    "venue_recovered": "test_the_collector_alerts_outage_recovery_and_stale_data",
    "data_stale": "test_the_collector_alerts_outage_recovery_and_stale_data",
}


def test_every_alert_event_has_a_scenario() -> None:
    assert set(ALERT_SCENARIOS) == set(ALERT_EVENTS)
    assert all(name in globals() for name in ALERT_SCENARIOS.values())


@pytest_asyncio.fixture
async def receiver(engine: AsyncEngine) -> AsyncIterator[AlertReceiver]:
    """A webhook receiver with a dispatcher delivering this module's alerts to it while the test runs."""
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE alerts RESTART IDENTITY"))
    async with AlertReceiver() as rx:
        dispatcher = AlertDispatcher(engine, alert_config(rx), poll_seconds=0.1)
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run(stop))
        try:
            yield rx
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
            dispatcher.close()


def alert_config(rx: AlertReceiver) -> AlertConfig:
    return AlertConfig(urls=(SecretStr(rx.url),), dedupe_seconds=600, timeout_seconds=5)


def settings_with_alerts(sim: SimulatorHandle, rx: AlertReceiver) -> TradingConfig:
    return sim_settings(sim).model_copy(update={"alerts": alert_config(rx)})


async def received(rx: AlertReceiver, event: str, subject: str = "", timeout: float = 20) -> dict[str, Any]:
    """The first payload of `event` (and `subject`, when given) the receiver got."""
    title = f"perparb {event.replace('_', ' ')}: {subject}"
    (first, *_) = await rx.wait_for(lambda p: p["title"].startswith(title), timeout=timeout)
    return first


def start(
    engine: AsyncEngine,
    vault: Vault,
    settings: TradingConfig,
    account: str,
    interval: float = 0.3,
    **cfg: Any,
) -> tuple[asyncio.Task[RunSummary], asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_strategy(
            config(**cfg),
            account,
            engine=engine,
            vault=vault,
            settings=settings,
            options=RunOptions(interval_seconds=interval),
            stop=stop,
        )
    )
    return task, stop


async def run_id_of(engine: AsyncEngine, account: str) -> int:
    async with engine.connect() as conn:
        return max(await state.run_ids_of(conn, account, "live"))


async def events(engine: AsyncEngine, run_id: int, kind: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    select(state.EVENTS).where(state.EVENTS.c.run_id == run_id, state.EVENTS.c.kind == kind)
                )
            ).all()
        )


async def open_position(engine: AsyncEngine, account: str, task: asyncio.Task[Any]) -> state.PositionRow:
    async def opened() -> bool:
        assert not task.done(), task
        return any(p.status == "open" for p in await positions(engine, account))

    await until(opened, 30, "position open")
    return next(p for p in await positions(engine, account) if p.status == "open")


# ------------------------------------------------------------------------------------------- risk guardian


async def test_a_price_move_near_liquidation_warns_then_reduces(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, receiver: AlertReceiver
) -> None:
    """200 USDC on each venue, 1000 USD per leg at 10x: the Lighter long leg starts ~0.17 of its mark from
    liquidation. Lighter's mark then falls to 3 % above that leg's liquidation price: the warning (below 0.10)
    and the limit (below 0.08, action reduce) fire; the position is closed with exit reason `risk`."""
    ids = await sim_account(engine, vault, sim, "k-liq", collateral="200")
    task, stop = start(
        engine,
        vault,
        settings_with_alerts(sim, receiver),
        "k-liq",
        sizing={"leverage": 10},
        exit={"min_liquidation_distance": "0.001"},  # the strategy's own exit rule stays out of the way
        risk={
            "min_liquidation_distance": {"limit": "0.08", "action": "reduce"},
            "liquidation_warning": "0.10",
        },
    )
    try:
        p = await open_position(engine, "k-liq", task)
        opened = await received(receiver, "position_opened", f"k-liq/position {p.id}")
        assert opened["type"] == "info" and f"position {p.id} open" in opened["message"]

        async def monitored() -> dict[str, Any] | None:
            async with engine.connect() as conn:
                row = (
                    await conn.execute(select(state.POSITIONS.c.monitor).where(state.POSITIONS.c.id == p.id))
                ).scalar_one()
            return row if row and row.get("long") and row["long"].get("liquidation_price") else None

        await until(monitored, 20, "a monitor snapshot with the long leg's liquidation price")
        monitor = await monitored()
        assert monitor is not None
        start_distance = D(monitor["long"]["liquidation_distance"])
        assert start_distance > D("0.10"), monitor  # healthy at entry: no warning, no breach
        liquidation = D(monitor["long"]["liquidation_price"])
        await set_market(sim, "lighter", "ETH", mark=str((liquidation * D("1.03")).quantize(D("0.01"))))

        warning = await received(receiver, "liquidation_warning", "k-liq/lighter/ETH")
        assert warning["type"] == "warning" and "from liquidation" in warning["message"]
        risk = await received(receiver, "risk_triggered", "k-liq/min_liquidation_distance")
        assert "action reduce" in risk["message"] and risk["type"] == "failure"
        closed = await received(receiver, "position_closed", f"k-liq/position {p.id}")
        assert "realised" in closed["message"]
    finally:
        stop.set()
        summary = await asyncio.wait_for(task, 60)
    assert summary.status == "stopped"
    (after, *others) = await positions(engine, "k-liq")
    assert (after.status, after.exit_reason) == (
        "closed",
        "risk",
    ) and not others  # no re-entry: prices diverge
    assert await assert_safe(engine, sim, ids, "k-liq", PAIR) is None
    run_id = await run_id_of(engine, "k-liq")
    (triggered,) = [e for e in await events(engine, run_id, "risk") if e.detail and e.detail.get("action")]
    assert triggered.detail["limit"] == "min_liquidation_distance"
    async with engine.connect() as conn:
        curve = (
            await conn.execute(text("SELECT count(*) FROM run_equity WHERE run_id = :r"), {"r": run_id})
        ).scalar_one()
    assert curve >= 1


async def test_failed_cycles_pause_entries_until_resumed(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, receiver: AlertReceiver
) -> None:
    """The exit of an open position meets Lighter's account endpoint failing: cycles fail in a row, the limit
    (2, action pause_entries) pauses the run. The close completes once the venue answers; favourable rates then
    find the run paused (no entry, an `entry_skipped` saying so) until `resume`."""
    ids = await sim_account(engine, vault, sim, "k-pause")
    task, stop = start(
        engine,
        vault,
        settings_with_alerts(sim, receiver),
        "k-pause",
        interval=1.0,
        risk={"max_consecutive_failed_cycles": {"limit": 2, "action": "pause_entries"}},
    )
    try:
        first = await open_position(engine, "k-pause", task)
        run_id = await run_id_of(engine, "k-pause")
        await admin(
            sim,
            "lighter",
            "/_sim/faults",
            {"http_status": 500, "count": 24, "method": "GET", "path": "/api/v1/account", "skip": 1},
        )
        await set_market(sim, "lighter", "ETH", rate_hourly="0.00001")
        await set_market(sim, "paradex", PX, rate_hourly="-0.00001")
        risk = await received(receiver, "risk_triggered", "k-pause/max_consecutive_failed_cycles", timeout=60)
        assert "action pause_entries" in risk["message"]
        handled = await received(receiver, "command_handled", "k-pause/command")
        assert "pause from risk guardian" in handled["message"] and "entries paused" in handled["message"]
        async with engine.connect() as conn:
            paused = await commands.entries_paused_at_start(conn, "k-pause", "live")
        assert paused is not None and paused.issued_by == "risk guardian" and paused.run_id == run_id

        async def closed() -> bool:
            assert not task.done(), task
            return all(p.status == "closed" for p in await positions(engine, "k-pause"))

        await until(closed, 60, "the exit completed once the venue answered")
        await set_market(sim, "lighter", "ETH", rate_hourly="-0.0005")
        await set_market(sim, "paradex", PX, rate_hourly="0.0005")

        async def said_paused() -> bool:
            skipped = await events(engine, run_id, "entry_skipped")
            return any("entries paused (paused by risk guardian" in e.message for e in skipped)

        await until(said_paused, 30, "an entry refused because entries are paused")
        assert [p.id for p in await positions(engine, "k-pause")] == [first.id]  # nothing new while paused
        await commands.issue_command(engine, "k-pause", "resume", issued_by="test operator")
        resumed = await received(receiver, "command_handled", "k-pause/command", timeout=20)
        assert resumed  # the pause's alert; the resume's follows

        async def reentered() -> bool:
            assert not task.done(), task
            return any(p.status == "open" and p.id != first.id for p in await positions(engine, "k-pause"))

        await until(reentered, 40, "an entry after resume")
    finally:
        stop.set()
        summary = await asyncio.wait_for(task, 60)
    assert summary.status == "stopped"
    done = [c for c in await commands.recent_commands(engine, "k-pause") if c.status == "done"]
    assert [(c.command, c.issued_by) for c in reversed(done)] == [
        ("pause", "risk guardian"),
        ("resume", "test operator"),
    ]
    assert await assert_safe(engine, sim, ids, "k-pause", PAIR) is not None


async def test_flatten_leaves_both_venues_flat_and_stops_the_run(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, receiver: AlertReceiver
) -> None:
    ids = await sim_account(engine, vault, sim, "k-flat")
    task, stop = start(engine, vault, settings_with_alerts(sim, receiver), "k-flat", interval=30.0)
    try:
        p = await open_position(engine, "k-flat", task)
        venues = await venue_state(sim, ids, PAIR)
        assert venues["long_qty"] > 0 and venues["short_qty"] < 0
        cmd = await commands.issue_command(
            engine, "k-flat", "flatten", issued_by="test operator", reason="end of the test"
        )
        # the run waits 30 s between cycles: the command is read within about a second, not at the next cycle
        summary = await asyncio.wait_for(task, 30)
    finally:
        stop.set()
        if not task.done():
            await asyncio.wait_for(task, 60)
    assert (summary.status, summary.reason) == ("stopped", "flatten from test operator: end of the test")
    assert await assert_safe(engine, sim, ids, "k-flat", PAIR) is None
    venues = await venue_state(sim, ids, PAIR)
    assert (venues["long_qty"], venues["short_qty"]) == (0, 0)
    (after,) = await positions(engine, "k-flat")
    assert (after.id, after.status, after.exit_reason) == (p.id, "closed", "stop")
    done = await commands.get_command(engine, cmd.id)
    assert done.status == "done" and done.run_id == summary.run_id and "flattening" in (done.result or "")
    (flattened,) = await events(engine, summary.run_id, "flattened")
    assert flattened.level == "info" and "0 position(s) left open" in flattened.message
    handled = await received(receiver, "command_handled", "k-flat/command")
    assert "flatten from test operator (end of the test)" in handled["message"]


# ---------------------------------------------------------------------------------- executor alert paths


async def test_hedge_unwind_and_naked_leg_alerts(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, receiver: AlertReceiver
) -> None:
    settings = settings_with_alerts(sim, receiver)
    # the second leg rejected once: hedged
    await sim_account(engine, vault, sim, "k-hedge")
    await admin(sim, "paradex", "/_sim/engine/faults", {"reject_next": 1})
    await asyncio.wait_for(
        run_strategy(
            config(),
            "k-hedge",
            engine=engine,
            vault=vault,
            settings=settings,
            options=RunOptions(max_cycles=1),
        ),
        60,
    )
    (hp,) = await positions(engine, "k-hedge")
    hedge = await received(receiver, "hedge_used", f"k-hedge/position {hp.id}")
    assert hedge["type"] == "warning" and "hedging" in hedge["message"]
    # entry and both hedge attempts rejected: the first leg is unwound
    await sim_account(engine, vault, sim, "k-unwind")
    await admin(sim, "paradex", "/_sim/engine/faults", {"reject_next": 3})
    await asyncio.wait_for(
        run_strategy(
            config(execution={"hedge_attempts": 2}),
            "k-unwind",
            engine=engine,
            vault=vault,
            settings=settings,
            options=RunOptions(max_cycles=1),
        ),
        60,
    )
    (up,) = await positions(engine, "k-unwind")
    unwind = await received(receiver, "unwind_used", f"k-unwind/position {up.id}")
    assert "unwinding" in unwind["message"]
    # the same, and Lighter's order endpoint failing after the leverage change and the entry (two sendTx): the
    # unwind cannot be sent, a naked leg, the most urgent alert there is (the next cycle's settle would retry it;
    # this run stops after one cycle)
    await sim_account(engine, vault, sim, "k-naked")
    await admin(sim, "paradex", "/_sim/engine/faults", {"reject_next": 3})
    await admin(
        sim,
        "lighter",
        "/_sim/faults",
        {"http_status": 500, "count": 40, "method": "POST", "path": "/api/v1/sendTx", "skip": 2},
    )
    await asyncio.wait_for(
        run_strategy(
            config(execution={"hedge_attempts": 2}),
            "k-naked",
            engine=engine,
            vault=vault,
            settings=settings,
            options=RunOptions(max_cycles=1),
        ),
        120,
    )
    (np_,) = await positions(engine, "k-naked")
    assert np_.status == "opening"  # left for the next cycle's settle, said loudly
    leg = await received(receiver, "leg_unbalanced", f"k-naked/position {np_.id}")
    assert leg["type"] == "failure" and "NAKED LEG" in leg["message"]


async def test_an_entry_refused_for_margin_alerts(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, receiver: AlertReceiver
) -> None:
    """50 USDC per venue cannot margin 1000 USD at 2x: the entry is refused before any order, with an alert
    naming the venue; the de-duplication window keeps later cycles from repeating it."""
    ids = await sim_account(engine, vault, sim, "k-poor", collateral="50")
    await asyncio.wait_for(
        run_strategy(
            config(),
            "k-poor",
            engine=engine,
            vault=vault,
            settings=settings_with_alerts(sim, receiver),
            options=RunOptions(max_cycles=3, interval_seconds=0.2),
        ),
        60,
    )
    payload = await received(receiver, "insufficient_margin", "k-poor/lighter")
    assert re.search(
        r"lighter: margin 49\d\.\d\d needed, 40\.00 usable of 50\.00 available", payload["message"]
    )
    assert payload["type"] == "warning"
    assert await positions(engine, "k-poor") == []
    assert await assert_safe(engine, sim, ids, "k-poor", PAIR) is None
    async with engine.connect() as conn:
        statuses = (
            (
                await conn.execute(
                    select(ALERTS.c.status)
                    .where(ALERTS.c.event == "insufficient_margin")
                    .order_by(ALERTS.c.id)
                )
            )
            .scalars()
            .all()
        )
    assert statuses[0] == "sent" and set(statuses[1:]) <= {"suppressed"} and len(statuses) == 3


async def test_a_crashed_run_and_a_lost_lease_alert(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, receiver: AlertReceiver
) -> None:
    settings = settings_with_alerts(sim, receiver)
    await sim_account(engine, vault, sim, "k-crash")
    with pytest.raises(Exception, match=r"sizing\.leverage: 60"):
        await run_strategy(
            config(sizing={"leverage": 60}), "k-crash", engine=engine, vault=vault, settings=settings
        )
    crashed = await received(receiver, "run_crashed", "k-crash/run")
    assert "failed: ConfigError: sizing.leverage: 60" in crashed["message"] and crashed["type"] == "failure"

    await sim_account(engine, vault, sim, "k-lease")
    task, stop = start(engine, vault, settings, "k-lease", entry={"min_net_apr": 100}, interval=0.2)
    try:

        async def labelled() -> bool:
            assert not task.done(), task
            async with engine.connect() as conn:
                return bool(
                    (
                        await conn.execute(
                            text(
                                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'perparb run %'"
                            )
                        )
                    ).scalar()
                )

        await until(labelled, 30, "the lease connection labelled")
        run_id = await run_id_of(engine, "k-lease")
        async with engine.connect() as conn:
            killed = (
                (
                    await conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE :l"
                        ),
                        {"l": f"perparb run {run_id} %"},
                    )
                )
                .scalars()
                .all()
            )
        assert killed == [True]
        with pytest.raises(state.LeaseLostError):
            await asyncio.wait_for(task, 30)
    finally:
        stop.set()
    lost = await received(receiver, "lease_lost", f"k-lease/run {run_id}")
    assert lost["type"] == "failure" and "LeaseLostError" in lost["message"]


# ----------------------------------------------------------------------------------------------- collector


async def test_the_collector_alerts_outage_recovery_and_stale_data(
    engine: AsyncEngine, sim: SimulatorHandle, receiver: AlertReceiver
) -> None:
    """Paradex's markets endpoint fails for a while: after 2 failed cycles a `venue_outage`, then (its newest row
    older than the 1.5 s limit) `data_stale`; once it answers, `venue_recovered`. Lighter, healthy, raises none."""
    adapters = [create_funding_adapter(sim_config(sim, v)) for v in ("lighter", "paradex")]
    watch = CollectionWatch(
        engine,
        RankingConfig(max_data_age_seconds=1.5),
        AlertConfig(urls=(SecretStr(receiver.url),), dedupe_seconds=600, timeout_seconds=5),
        ["lighter", "paradex"],
        outage_cycles=2,
    )
    try:

        async def cycle() -> Any:
            summary = await run_cycle(engine, adapters, venue_timeout_seconds=10)
            await watch(summary)
            return summary

        assert (await cycle()).to_json_dict()["failed_venues"] == []
        await admin(sim, "paradex", "/_sim/faults", {"http_status": 500, "count": 1000, "method": "GET"})
        for _ in range(2):
            assert (await cycle()).to_json_dict()["failed_venues"] == ["paradex"]
        outage = await received(receiver, "venue_outage", "paradex")
        assert "2 collection cycles in a row failed" in outage["message"] and outage["type"] == "failure"
        await asyncio.sleep(1.6)
        await cycle()
        stale = await received(receiver, "data_stale", "paradex")
        assert re.search(
            r"paradex: newest row \d+ s old \(limit 1\.5 s\): its markets are not ranked", stale["message"]
        )
        await admin(sim, "paradex", "/_sim/faults", {"clear": True})
        assert (await cycle()).to_json_dict()["failed_venues"] == []
        recovered = await received(receiver, "venue_recovered", "paradex")
        assert recovered["type"] == "info"
    finally:
        for adapter in adapters:
            await adapter.close()
    titles = [p["title"] for p in receiver.received]
    assert not any(t.endswith(": lighter") for t in titles), titles


async def test_a_dead_alert_receiver_does_not_slow_the_trading_loop(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle
) -> None:
    """The same eight-cycle run (an entry, then monitoring: alerts raised on the way) with a dispatcher whose
    receiver accepts connections and never answers, and with one whose receiver answers at once: the run's
    cycles take the same time; the dead receiver's alerts wait, `pending`, for their retry."""

    async def timed(account: str, mode: str) -> tuple[float, AlertReceiver]:
        await sim_account(engine, vault, sim, account)
        async with AlertReceiver(mode=mode) as rx:
            cfg = AlertConfig(urls=(SecretStr(rx.url),), timeout_seconds=30, retry_base_seconds=60)
            dispatcher = AlertDispatcher(engine, cfg, poll_seconds=0.05)
            stop = asyncio.Event()
            task = asyncio.create_task(dispatcher.run(stop))
            started = asyncio.get_running_loop().time()
            summary = await asyncio.wait_for(
                run_strategy(
                    config(),
                    account,
                    engine=engine,
                    vault=vault,
                    settings=sim_settings(sim).model_copy(update={"alerts": cfg}),
                    options=RunOptions(max_cycles=8, interval_seconds=0.2),
                ),
                120,
            )
            elapsed = asyncio.get_running_loop().time() - started
            assert summary.cycles == 8
            stop.set()
            task.cancel()  # a dispatcher stuck on a hanging receiver is abandoned, not awaited
            dispatcher.close()
            return elapsed, rx

    healthy, ok_rx = await timed("k-alive", "ok")
    dead, dead_rx = await timed("k-dead", "hang")
    print(f"8 cycles: {healthy:.2f} s with a live receiver, {dead:.2f} s with one that hangs")
    assert ok_rx.received and not dead_rx.received and dead_rx.hanging >= 1
    assert dead < healthy * 1.5 + 2.0, (healthy, dead)
    async with engine.connect() as conn:
        waiting = (
            (
                await conn.execute(
                    select(ALERTS.c.status).where(
                        ALERTS.c.account_name == "k-dead", ALERTS.c.event == "position_opened"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert waiting == ["pending"]
