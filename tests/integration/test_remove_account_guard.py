"""`database.accounts.remove_account` refuses an account with a running strategy run or a live position
(`database.accounts.account_has_live_state`, checked under the account row's lock) and removes it otherwise."""

from __future__ import annotations

import pytest
from lighter.signer_client import create_api_key
from pydantic import SecretStr
from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import AccountError, add_account, remove_account
from database.vault import Vault, new_key
from exchange_clients.lighter.credentials import LighterCredentials
from strategies.state import POSITIONS, RUNS

pytestmark = pytest.mark.integration


async def _account(engine: AsyncEngine, name: str) -> None:
    private_key, _public, error = create_api_key()
    assert error is None
    creds = LighterCredentials(account_index=51_000, api_key_index=3, api_private_key=SecretStr(private_key))
    await add_account(engine, Vault.from_key(new_key()), name=name, creds=creds)


async def _accounts(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT name FROM accounts ORDER BY name"))).scalars())


async def test_refused_while_running_or_holding_a_position(engine: AsyncEngine) -> None:
    await _account(engine, "carol")
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
                    venues=["lighter"],
                    status="running",
                    host="box",
                    pid=1,
                )
                .returning(RUNS.c.id)
            )
        ).scalar_one()
    with pytest.raises(AccountError) as refused:
        await remove_account(engine, name="carol")
    assert (
        str(refused.value) == f"cannot remove account 'carol': run {run_id} is running on it (stop it first)"
    )

    async with engine.begin() as conn:
        await conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(status="stopped"))
        position_id = (
            await conn.execute(
                insert(POSITIONS)
                .values(
                    run_id=run_id,
                    account_name="carol",
                    mode="paper",
                    config_name="c",
                    symbol="ETH",
                    long_venue="lighter",
                    short_venue="paradex",
                    status="closing",
                    target_quantity="1",
                    notional_usd="3600",
                    entry_spread_hourly="0.00001",
                    round_trip_cost="0.001",
                )
                .returning(POSITIONS.c.id)
            )
        ).scalar_one()
    with pytest.raises(AccountError) as refused:
        await remove_account(engine, name="carol")
    assert str(refused.value) == (
        f"cannot remove account 'carol': position {position_id} (ETH, paper) is still open (close it first)"
    )
    assert await _accounts(engine) == ["carol"]  # nothing was deleted, and no audit row for a removal
    async with engine.connect() as conn:
        removals = (
            await conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'remove_account'"))
        ).scalar_one()
    assert removals == 0

    async with engine.begin() as conn:
        await conn.execute(update(POSITIONS).where(POSITIONS.c.id == position_id).values(status="closed"))
    await remove_account(engine, name="carol")
    assert await _accounts(engine) == []


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
