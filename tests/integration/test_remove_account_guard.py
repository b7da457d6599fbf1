"""`database.accounts.remove_account` refuses an account with a running strategy run or a live position
(`database.accounts.account_has_live_state`, checked under the account row's lock) and removes it otherwise."""

from __future__ import annotations

import pytest
from lighter.signer_client import create_api_key
from pydantic import SecretStr
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import AccountError, add_account, remove_account
from database.vault import Vault, new_key
from exchange_clients.lighter.credentials import LighterCredentials
from strategies.state import POSITIONS, RUNS, Lease

pytestmark = pytest.mark.integration


async def _account(engine: AsyncEngine, name: str) -> None:
    private_key, _public, error = create_api_key()
    assert error is None
    creds = LighterCredentials(account_index=51_000, api_key_index=3, api_private_key=SecretStr(private_key))
    await add_account(engine, Vault.from_key(new_key()), name=name, creds=creds)


async def _accounts(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT name FROM accounts ORDER BY name"))).scalars())


def _position(run_id: int, mode: str, status: str = "open") -> dict[str, object]:
    return {
        "run_id": run_id,
        "account_name": "carol",
        "mode": mode,
        "config_name": "c",
        "symbol": "ETH",
        "long_venue": "lighter",
        "short_venue": "paradex",
        "status": status,
        "target_quantity": "1",
        "notional_usd": "3600",
        "entry_spread_hourly": "0.00001",
        "round_trip_cost": "0.001",
    }


async def test_refused_while_a_run_is_alive_or_a_real_position_is_open(engine: AsyncEngine) -> None:
    """A run is alive while its process holds its lease. When the process dies without saying so (kill -9), the
    run is marked crashed and its paper positions end with its simulator; a position on a real venue still
    blocks until it is closed."""
    await _account(engine, "carol")
    lease = await Lease.acquire(engine, "carol", ["lighter", "paradex"], "paper")  # the run's process
    async with engine.begin() as conn:
        run_id = (
            await conn.execute(
                insert(RUNS)
                .values(
                    account_name="carol",
                    strategy="funding_arbitrage",
                    config_name="c",
                    config={},
                    mode="paper",
                    venues=["lighter", "paradex"],
                    status="running",
                    host="box",
                    pid=1,
                )
                .returning(RUNS.c.id)
            )
        ).scalar_one()
        paper_id = (
            await conn.execute(
                insert(POSITIONS).values(**_position(run_id, "paper")).returning(POSITIONS.c.id)
            )
        ).scalar_one()
        live_run = (
            await conn.execute(
                insert(RUNS)
                .values(
                    account_name="carol",
                    strategy="funding_arbitrage",
                    config_name="c",
                    config={},
                    mode="live",
                    venues=["lighter", "paradex"],
                    status="stopped",
                    host="box",
                    pid=1,
                )
                .returning(RUNS.c.id)
            )
        ).scalar_one()
        live_id = (
            await conn.execute(
                insert(POSITIONS).values(**_position(live_run, "live", "closing")).returning(POSITIONS.c.id)
            )
        ).scalar_one()
    try:
        with pytest.raises(AccountError) as refused:
            await remove_account(engine, name="carol")
        assert (
            str(refused.value)
            == f"cannot remove account 'carol': run {run_id} is running on it (stop it first)"
        )
    finally:
        await lease.release()  # the process dies without recording anything

    with pytest.raises(AccountError) as refused:
        await remove_account(engine, name="carol")
    assert str(refused.value) == (
        f"cannot remove account 'carol': position {live_id} (ETH, live) is still open (close it first)"
    )
    assert await _accounts(engine) == ["carol"]  # nothing was deleted, and no audit row for a removal
    async with engine.connect() as conn:
        removals = (
            await conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'remove_account'"))
        ).scalar_one()
        # the refusal rolled back: the dead run and its paper position are settled only by a removal that happens
        run_status = (await conn.execute(select(RUNS.c.status).where(RUNS.c.id == run_id))).scalar_one()
    assert removals == 0 and run_status == "running"

    async with engine.begin() as conn:
        await conn.execute(update(POSITIONS).where(POSITIONS.c.id == live_id).values(status="closed"))
    await remove_account(engine, name="carol")
    assert await _accounts(engine) == []
    async with engine.connect() as conn:
        run = (await conn.execute(select(RUNS.c.status, RUNS.c.stop_reason).where(RUNS.c.id == run_id))).one()
        paper = (
            await conn.execute(
                select(POSITIONS.c.status, POSITIONS.c.exit_reason).where(POSITIONS.c.id == paper_id)
            )
        ).one()
    assert tuple(run) == ("crashed", "process gone (its lease was free)")
    assert tuple(paper) == ("closed", "paper_session_ended")


async def test_another_accounts_live_state_does_not_block(engine: AsyncEngine) -> None:
    await _account(engine, "dan")
    async with engine.begin() as conn:
        await conn.execute(
            insert(RUNS).values(
                account_name="erin",
                strategy="grid",
                config_name="g",
                config={},
                mode="live",
                venues=["lighter"],
                status="running",
                host="box",
                pid=2,
            )
        )
    await remove_account(engine, name="dan")
    assert "dan" not in await _accounts(engine)
