"""The grid strategy (`strategies.grid`) end to end: real PostgreSQL, the in-process simulator through the real
SDKs, driven by `strategies.runner.run_strategy`.

Lighter demo ETH (`simulator/scenarios/demo/lighter/orderBookOrders_0.json`): best bid 3599.53, best ask 3600.97,
mid 3600.25, tick 0.01, step 0.0001, fees 0; the recorded book moves with the admin mark (best ask = mark + 0.72,
best bid = mark - 0.72), and maker quotes that move through a resting order fill it at the order's price.
Paradex demo ETH-USD-PERP pinned at 3600: best bid 3599.28, best ask 3600.72, maker fee 0.00003.
Hyperliquid demo ETH pinned at 3600: best bid 3599.2, best ask 3600.8 (tick 0.1, 2 bps either side of the mid), maker
fee 0.00015; its market maker's quotes move with the mark and fill a resting order they cross at the order's price.

The ladder used throughout: lower 3580, upper 3620, 5 levels -> 3580 3590 [3600 empty: nearest the mid] 3610 3620,
0.1 ETH a level, take profit one step (10 USD).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import load_account
from database.vault import Vault
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.trading import Side
from exchange_clients.registry import create_client
from perparb_core.settings import RateLimitConfig
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from strategies import state
from strategies.base import RunContext
from strategies.config import GridConfig, parse_config
from strategies.runner import RunOptions, RunSummary, run_strategy
from strategies.state import ORDERS, client_order_id
from tests.configs import sim_config
from tests.integration.strategy_support import set_market, sim_account, sim_settings, test_vault, until

pytestmark = pytest.mark.integration

D = Decimal
LADDER = {
    ("buy", D("3580"), D("0.1")),
    ("buy", D("3590"), D("0.1")),
    ("sell", D("3610"), D("0.1")),
    ("sell", D("3620"), D("0.1")),
}
OPTIONS: dict[str, object] = {}
FAST = RateLimitConfig(rate_per_second=100.0, burst=20)  # the grid places many orders per cycle


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, push_interval_seconds=0.1) as handle:
        yield handle


@pytest.fixture(scope="module")
def vault() -> Vault:
    return test_vault()


def config(name: str, venue: str = "lighter", **changes: Any) -> GridConfig:
    data: dict[str, Any] = {
        "strategy": "grid",
        "name": name,
        "venue": venue,
        "symbol": "ETH",
        "lower_price": "3580",
        "upper_price": "3620",
        "levels": 5,
        "quantity_per_level": "0.1",
        "max_position": "1",
        "leverage": "5",
    }
    data.update(changes)
    cfg = parse_config(data)
    assert isinstance(cfg, GridConfig)
    return cfg


def market(venue: str) -> str:
    return "ETH-USD-PERP" if venue == "paradex" else "ETH"


MAKER_FEE = {"lighter": D(0), "paradex": D("0.00003"), "hyperliquid": D("0.00015")}


async def active(client: BaseExchangeClient) -> set[tuple[str, Decimal, Decimal]]:
    return {
        (o.side.value, o.price, o.quantity)
        for o in await client.get_active_orders("ETH")
        if o.price is not None
    }


async def active_ids(client: BaseExchangeClient) -> dict[str, tuple[str, Decimal, Decimal]]:
    return {
        o.client_order_id: (o.side.value, o.price, o.quantity)
        for o in await client.get_active_orders("ETH")
        if o.client_order_id and o.price is not None
    }


async def db_open(engine: AsyncEngine, account: str) -> dict[str, tuple[str, Decimal, Decimal]]:
    """Client id -> (side, price, quantity) of the account's grid orders the database holds as live."""
    async with engine.connect() as conn:
        rows = await state.open_orders(conn, account, "live")
    return {r.client_order_id: (r.side, r.price, r.quantity) for r in rows if r.purpose == "grid"}


async def grid_state(engine: AsyncEngine, account: str, name: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        found = await state.load_state(conn, account, "live", name)
    assert found is not None
    return found


async def events(engine: AsyncEngine, run_id: int, kind: str | None = None) -> list[tuple[str, str]]:
    sql = "SELECT kind, message FROM strategy_events WHERE run_id = :r ORDER BY id"
    async with engine.connect() as conn:
        rows = (await conn.execute(text(sql), {"r": run_id})).all()
    return [(k, m) for k, m in rows if kind is None or k == kind]


_RUNNING: list[Background] = []


@pytest_asyncio.fixture(autouse=True)
async def _stop_background_runs() -> AsyncIterator[None]:
    """A failed test must not leave its run trading: stop (then cancel) every run it launched."""
    yield
    while _RUNNING:
        bg = _RUNNING.pop()
        if bg.task is not None and not bg.task.done():
            bg.stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(bg.task), 15)
            except (asyncio.TimeoutError, Exception):
                bg.task.cancel()


class Background:
    """A run in a task, with its context once started and a stop event."""

    def __init__(self) -> None:
        self.ctx: RunContext | None = None
        self.stop = asyncio.Event()
        self.task: asyncio.Task[RunSummary] | None = None

    @property
    def client(self) -> BaseExchangeClient:
        assert self.ctx is not None
        return self.ctx.clients[self.ctx.config.venue]

    async def finish(self, timeout: float = 15.0) -> RunSummary:
        assert self.task is not None
        self.stop.set()
        return await asyncio.wait_for(self.task, timeout)


async def launch(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, cfg: GridConfig, account: str
) -> Background:
    bg = Background()
    _RUNNING.append(bg)

    def started(ctx: RunContext) -> None:
        bg.ctx = ctx

    bg.task = asyncio.create_task(
        run_strategy(
            cfg,
            account,
            engine=engine,
            vault=vault,
            settings=sim_settings(sim, rate_limit=FAST),
            options=RunOptions(interval_seconds=0.1, client_options=OPTIONS),
            stop=bg.stop,
            on_started=started,
        )
    )
    await until(lambda: _done_or(bg), timeout=15, what="run started")
    assert bg.ctx is not None, bg.task.exception() if bg.task.done() else "not started"
    return bg


async def _done_or(bg: Background) -> bool:
    return bg.ctx is not None or (bg.task is not None and bg.task.done())


async def run_cycles(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, cfg: GridConfig, account: str, cycles: int
) -> RunSummary:
    return await run_strategy(
        cfg,
        account,
        engine=engine,
        vault=vault,
        settings=sim_settings(sim, rate_limit=FAST),
        options=RunOptions(max_cycles=cycles, interval_seconds=0.1, client_options=OPTIONS),
    )


def equals(
    client: BaseExchangeClient, expected: set[tuple[str, Decimal, Decimal]]
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await active(client) == expected

    return check


async def position(client: BaseExchangeClient) -> Decimal:
    snap = await client.get_position_snapshot("ETH")
    return snap.quantity if snap is not None else D(0)


# ------------------------------------------------------------------------------------------------ lifecycle


@pytest.mark.parametrize("venue", ["lighter", "paradex", "hyperliquid"])
async def test_lifecycle_fill_counter_and_round_trip(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, venue: str
) -> None:
    account = f"grid-life-{venue}"
    await sim_account(engine, vault, sim, account, venues=(venue,))
    if venue != "lighter":
        await set_market(sim, venue, market(venue), mark="3636", rate_hourly="0")
    await set_market(sim, venue, market(venue), mark="3600.25" if venue == "lighter" else "3600")
    cfg = config(f"life-{venue}", venue, on_stop="close")
    bg = await launch(engine, vault, sim, cfg, account)
    client = bg.client
    assert bg.ctx is not None
    run_id = bg.ctx.run.id

    # the ladder: 2 BUYs below the mid, 2 SELLs above, the level nearest the mid (3600) empty
    await until(equals(client, LADDER), what="ladder placed")
    saved = await grid_state(engine, account, cfg.name)
    assert D(saved["anchor"]) == (D("3600.25") if venue == "lighter" else D("3600"))
    assert [(s["level"], s["side"], D(s["price"])) for s in saved["slots"]] == [
        (0, "buy", D(3580)),
        (1, "buy", D(3590)),
        (3, "sell", D(3610)),
        (4, "sell", D(3620)),
    ]
    buy_3590 = next(cid for cid, o in (await active_ids(client)).items() if o == ("buy", D(3590), D("0.1")))

    # the mark falls to 3588: the maker's asks cross the BUY at 3590, which fills; its counter SELL rests at 3600
    await set_market(sim, venue, market(venue), mark="3588")
    after_buy = (LADDER - {("buy", D(3590), D("0.1"))}) | {("sell", D(3600), D("0.1"))}
    await until(equals(client, after_buy), what="counter SELL at 3600")
    assert await position(client) == D("0.1")

    # back up to 3605: the bids cross the SELL at 3600 (not the one at 3610): round trip done, BUY 3590 back
    await set_market(sim, venue, market(venue), mark="3605")
    await until(equals(client, LADDER), what="BUY 3590 re-placed")
    assert await position(client) == D(0)

    saved = await grid_state(engine, account, cfg.name)
    assert (saved["round_trips"], D(saved["realized_pnl"])) == (1, D("1.0"))  # (3600 - 3590) x 0.1
    # maker fees: Lighter 0; Paradex 0.00003 x (3590 + 3600) x 0.1 = 0.02157; Hyperliquid 0.00015 x ... = 0.10785
    assert D(saved["fees"]) == MAKER_FEE[venue] * (3590 + 3600) * D("0.1")
    assert saved["slots"][1]["phase"] == "home"
    async with engine.connect() as conn:
        filled = (
            await conn.execute(
                select(
                    ORDERS.c.client_order_id,
                    ORDERS.c.side,
                    ORDERS.c.price,
                    ORDERS.c.avg_fill_price,
                    ORDERS.c.grid_level,
                )
                .where(ORDERS.c.run_id == run_id, ORDERS.c.status == "filled")
                .order_by(ORDERS.c.id)
            )
        ).all()
        fills = (
            await conn.execute(
                text("SELECT count(*) FROM fills f JOIN orders o ON o.id = f.order_id WHERE o.run_id = :r"),
                {"r": run_id},
            )
        ).scalar_one()
    assert [(c, s, p, a, lvl) for c, s, p, a, lvl in filled] == [
        (buy_3590, "buy", D(3590), D(3590), 1),
        (filled[1][0], "sell", D(3600), D(3600), 1),
    ]
    assert fills == 2
    assert [k for k, _ in await events(engine, run_id) if k in ("fill", "round_trip")] == [
        "fill",
        "round_trip",
    ]
    assert await db_open(engine, account) == await active_ids(client)

    summary = await bg.finish()
    assert (summary.status, summary.reason) == ("stopped", "signal")
    # on_stop close: ladder cancelled, flat, grid finished (the next run starts a new ladder)
    async with engine.connect() as conn:
        assert await state.open_orders(conn, account, "live") == []
    assert (await grid_state(engine, account, cfg.name))["stopped"] is True
    check = await fresh_client(engine, vault, sim, account, venue)
    try:
        assert await active(check) == set()
        assert await position(check) == D(0)
    finally:
        await check.disconnect()


async def fresh_client(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle, account: str, venue: str
) -> BaseExchangeClient:
    creds = await load_account(engine, vault, account)
    client = create_client(creds.venues[venue], sim_config(sim, venue, rate_limit=FAST), markets=["ETH"])
    await client.connect()
    return client


# -------------------------------------------------------------------------------------------------- restart


async def test_restart_adopts_the_ladder_rejects_unsent_rows_and_cancels_strays(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle
) -> None:
    account = "grid-restart"
    await sim_account(engine, vault, sim, account, venues=("lighter",))
    cfg = config("restart", on_stop="keep")

    # run 1 places the ladder and stops with on_stop keep: the orders stay resting
    first = await run_cycles(engine, vault, sim, cfg, account, cycles=2)
    assert (first.status, first.reason) == ("stopped", "max_cycles 2")
    check = await fresh_client(engine, vault, sim, account, "lighter")
    try:
        ladder_ids = await active_ids(check)
        assert set(ladder_ids.values()) == LADDER and len(ladder_ids) == 4
        assert await db_open(engine, account) == ladder_ids
        assert {state.run_of_client_order_id(c) for c in ladder_ids} == {first.run_id}
    finally:
        await check.disconnect()

    # run 2 (a new run): the same four orders, none placed twice, the anchor kept
    second = await run_cycles(engine, vault, sim, cfg, account, cycles=3)
    assert second.run_id != first.run_id
    check = await fresh_client(engine, vault, sim, account, "lighter")
    try:
        assert await active_ids(check) == ladder_ids
        assert await db_open(engine, account) == ladder_ids
        async with engine.connect() as conn:
            placed_by_second = (
                await conn.execute(select(ORDERS.c.id).where(ORDERS.c.run_id == second.run_id))
            ).all()
        assert placed_by_second == []
        assert D((await grid_state(engine, account, cfg.name))["anchor"]) == D("3600.25")

        # a crash: the BUY at 3590 is gone from the venue (cancelled while no run watched), a later run had
        # written a pending row for that level and died before sending it, and an order carrying a client id of
        # run 2 that no row knows rests on the venue
        buy_3590 = next(c for c, o in ladder_ids.items() if o == ("buy", D(3590), D("0.1")))
        await check.cancel_order("ETH", client_order_id=buy_3590)
        unsent = client_order_id(second.run_id, 5000)
        async with engine.begin() as conn:
            await state.insert_orders(
                conn,
                [
                    {
                        "run_id": second.run_id,
                        "account_name": account,
                        "venue": "lighter",
                        "symbol": "ETH",
                        "client_order_id": unsent,
                        "purpose": "grid",
                        "side": "buy",
                        "order_type": "limit",
                        "time_in_force": "post_only",
                        "price": D(3590),
                        "quantity": D("0.1"),
                        "reduce_only": False,
                        "grid_level": 1,
                    }
                ],
            )
        stray = client_order_id(second.run_id, 5001)
        await check.place_limit_order(
            "ETH", Side.BUY, D("0.1"), D(3500), post_only=True, client_order_id=stray
        )
        await until(lambda: _has(check, stray), what="stray resting")
    finally:
        await check.disconnect()

    third = await run_cycles(engine, vault, sim, cfg, account, cycles=3)
    check = await fresh_client(engine, vault, sim, account, "lighter")
    try:
        now_ids = await active_ids(check)
        # the ladder exactly once: the three untouched orders plus ONE new BUY at 3590 from run 3; stray gone
        assert sorted(now_ids.values()) == sorted(LADDER)
        assert {c: o for c, o in now_ids.items() if c in ladder_ids} == {
            c: o for c, o in ladder_ids.items() if c != buy_3590
        }
        (new_buy,) = [c for c in now_ids if c not in ladder_ids]
        assert state.run_of_client_order_id(new_buy) == third.run_id
        assert stray not in now_ids
        assert await db_open(engine, account) == now_ids
    finally:
        await check.disconnect()
    async with engine.connect() as conn:
        rows = {
            r.client_order_id: (r.status, r.error)
            for r in (
                await conn.execute(
                    select(ORDERS.c.client_order_id, ORDERS.c.status, ORDERS.c.error).where(
                        ORDERS.c.client_order_id.in_([unsent, buy_3590, stray])
                    )
                )
            ).all()
        }
    assert rows == {unsent: ("rejected", "never reached the venue"), buy_3590: ("canceled", None)}
    kinds = await events(engine, third.run_id)
    assert [m for k, m in kinds if k == "stray"] == [
        f"venue order {stray} (buy 0.1000 at 3500.00) of run {second.run_id} has no order row: cancelling"
    ]
    assert any(k == "reconcile" and unsent in m and "never reached the venue" in m for k, m in kinds)


async def _has(client: BaseExchangeClient, cid: str) -> bool:
    return cid in await active_ids(client)


# --------------------------------------------------------------------------------------------------- limits


async def test_max_position_caps_the_ladder_and_close_flattens(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle
) -> None:
    account = "grid-maxpos"
    await sim_account(engine, vault, sim, account, venues=("lighter",))
    cfg = config("maxpos", max_position="0.15", on_stop="close")
    bg = await launch(engine, vault, sim, cfg, account)
    client = bg.client
    assert bg.ctx is not None
    # 0.1 BUY + 0.1 SELL rest (nearest first); a second order on either side could reach 0.2 > 0.15
    await until(
        equals(client, {("buy", D(3590), D("0.1")), ("sell", D(3610), D("0.1"))}), what="capped ladder"
    )
    await asyncio.sleep(0.5)
    assert await active(client) == {("buy", D(3590), D("0.1")), ("sell", D(3610), D("0.1"))}
    capped = [m for k, m in await events(engine, bg.ctx.run.id, "max_position")]
    assert sorted(m.split(":")[0] for m in capped) == ["level 0", "level 4"]

    # BUY 3590 fills: position 0.1; its counter SELL 3600 fits (0.1 + 0.1 resting sells - 0.1 = 0.1), BUY 3580
    # would make 0.2 and SELL 3620 0.2 of resting sells against 0.1 long: both still held back
    await set_market(sim, "lighter", "ETH", mark="3588")
    await until(equals(client, {("sell", D(3600), D("0.1")), ("sell", D(3610), D("0.1"))}), what="counter")
    await asyncio.sleep(0.5)
    assert await active(client) == {("sell", D(3600), D("0.1")), ("sell", D(3610), D("0.1"))}
    assert await position(client) == D("0.1")

    summary = await bg.finish()
    assert summary.status == "stopped"
    async with engine.connect() as conn:
        closes = (
            await conn.execute(
                select(
                    ORDERS.c.side,
                    ORDERS.c.quantity,
                    ORDERS.c.reduce_only,
                    ORDERS.c.status,
                    ORDERS.c.order_type,
                ).where(ORDERS.c.run_id == bg.ctx.run.id, ORDERS.c.purpose == "close")
            )
        ).all()
    assert [tuple(c) for c in closes] == [("sell", D("0.1"), True, "filled", "market")]
    check = await fresh_client(engine, vault, sim, account, "lighter")
    try:
        assert (await position(check), await active(check)) == (D(0), set())
    finally:
        await check.disconnect()


async def test_pause_prices_hold_new_orders(engine: AsyncEngine, vault: Vault, sim: SimulatorHandle) -> None:
    account = "grid-pause"
    await sim_account(engine, vault, sim, account, venues=("lighter",))
    cfg = config("pause", pause_price_low="3595", on_stop="cancel")
    bg = await launch(engine, vault, sim, cfg, account)
    client = bg.client
    assert bg.ctx is not None
    await until(equals(client, LADDER), what="ladder placed")

    # 3588 < pause_price_low: the BUY at 3590 fills, but its counter is NOT placed while paused
    await set_market(sim, "lighter", "ETH", mark="3588")
    without_buy = LADDER - {("buy", D(3590), D("0.1"))}

    async def paused() -> bool:
        return (await grid_state(engine, account, cfg.name))["paused"] is True

    await until(paused, what="paused")
    await asyncio.sleep(0.6)  # several cycles
    assert await active(client) == without_buy
    assert (await grid_state(engine, account, cfg.name))["slots"][1]["phase"] == "counter"

    # back inside the range: the counter SELL at 3600 is placed
    await set_market(sim, "lighter", "ETH", mark="3598")
    await until(equals(client, without_buy | {("sell", D(3600), D("0.1"))}), what="counter after resume")
    assert [k for k, _ in await events(engine, bg.ctx.run.id) if k in ("pause", "resume")] == [
        "pause",
        "resume",
    ]

    # on_stop cancel: ladder cancelled, the 0.1 long kept
    await bg.finish()
    check = await fresh_client(engine, vault, sim, account, "lighter")
    try:
        assert (await active(check), await position(check)) == (set(), D("0.1"))
    finally:
        await check.disconnect()


async def test_stop_price_cancels_flattens_and_ends_the_run(
    engine: AsyncEngine, vault: Vault, sim: SimulatorHandle
) -> None:
    account = "grid-stop"
    await sim_account(engine, vault, sim, account, venues=("lighter",))
    cfg = config("stop", stop_price_low="3570", on_stop="keep")
    bg = await launch(engine, vault, sim, cfg, account)
    client = bg.client
    assert bg.ctx is not None
    await until(equals(client, LADDER), what="ladder placed")

    # a fall to 3560 fills both BUYs (0.2 long), then the mid is below the stop price
    await set_market(sim, "lighter", "ETH", mark="3560")
    assert bg.task is not None
    summary = await asyncio.wait_for(bg.task, 15)
    assert (summary.status, summary.reason) == ("stopped", "strategy finished")
    saved = await grid_state(engine, account, cfg.name)
    assert saved["stopped"] is True
    assert all(s["phase"] == "home" for s in saved["slots"])
    async with engine.connect() as conn:
        closes = (
            await conn.execute(
                select(
                    ORDERS.c.side,
                    ORDERS.c.quantity,
                    ORDERS.c.reduce_only,
                    ORDERS.c.status,
                    ORDERS.c.avg_fill_price,
                ).where(ORDERS.c.run_id == bg.ctx.run.id, ORDERS.c.purpose == "close")
            )
        ).all()
        assert await state.open_orders(conn, account, "live") == []
    assert len(closes) == 1
    side, qty, reduce_only, status, price = closes[0]
    assert (side, qty, reduce_only, status) == ("sell", D("0.2"), True, "filled")
    # realised: the two lots bought at 3590 and 3580 sold at the close price
    assert D(saved["realized_pnl"]) == (price - 3590) * D("0.1") + (price - 3580) * D("0.1")
    assert [k for k, _ in await events(engine, bg.ctx.run.id) if k in ("stop_price", "stopped")] == [
        "stop_price",
        "stopped",
    ]
    check = await fresh_client(engine, vault, sim, account, "lighter")
    try:
        assert (await active(check), await position(check)) == (set(), D(0))
    finally:
        await check.disconnect()
