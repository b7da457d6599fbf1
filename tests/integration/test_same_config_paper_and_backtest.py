"""Issue #7: the same config FILE runs in the backtester and, against the simulator, in paper mode, without edits.

`configs/funding_arbitrage.example.yaml` (Lighter + Paradex, BTC/ETH/SOL, persistence 3 h):
* backtest: the simulator's settled history is backfilled into the database (`perparb backfill` code path), then
  replayed with `--history db` semantics (`load_history_db`) through the config's decision code;
* paper: `run_strategy(..., RunOptions(paper=True))` starts the simulator in process, makes the account's keys
  valid there, and runs the same strategy code for a few cycles; the demo's spreads clear the example's
  thresholds, so it opens delta-neutral positions with equal legs.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account
from lighter.signer_client import create_api_key
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backtest.engine import run_backtest
from backtest.loader import load_history_db
from backtest.report import build_report
from database.accounts import add_account
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.credentials import ParadexCredentials
from exchange_clients.registry import create_funding_adapter
from funding_rate_service.backfill import backfill
from perparb.settings import Settings
from simulator.server import DEMO_SCENARIO, start_simulator
from strategies import state
from strategies.config import FundingArbitrageConfig, load_config
from strategies.runner import RunOptions, run_strategy
from tests.configs import sim_config
from tests.conftest import PROJECT
from tests.integration.strategy_support import test_vault

pytestmark = pytest.mark.integration

EXAMPLE = PROJECT / "configs" / "funding_arbitrage.example.yaml"


async def test_example_config_backtests_and_paper_trades_unchanged(engine: AsyncEngine) -> None:
    config = load_config(EXAMPLE)
    assert isinstance(config, FundingArbitrageConfig)

    # backtest: history of the (simulated) venues in the database, replayed through the config
    async with await start_simulator(DEMO_SCENARIO) as sim:
        for venue in config.venues:
            adapter = create_funding_adapter(sim_config(sim, venue))
            try:
                summary = await backfill(engine, adapter, days=7, symbols=config.symbol_set)
            finally:
                await adapter.close()
            assert summary.stored > 0, summary
    async with engine.connect() as conn:
        history = await load_history_db(conn, venues=config.venues)
    result = run_backtest(config, history)
    report = build_report(result)
    assert report.venues == ["lighter", "paradex"] and set(report.assets) <= {"BTC", "ETH", "SOL"}
    assert report.run_hours > 24 and report.entries == report.exits  # every position closed at the end

    # paper: the same file, the same strategy code, the in-process simulator
    vault = test_vault()
    private_key, _public, err = create_api_key()
    assert err is None
    eth = Account.create()
    await add_account(
        engine,
        vault,
        name="rehearsal",
        creds=LighterCredentials(account_index=4242, api_key_index=3, api_private_key=SecretStr(private_key)),
    )
    await add_account(
        engine,
        vault,
        name="rehearsal",
        creds=ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex())),
    )
    run = await run_strategy(
        config,
        "rehearsal",
        engine=engine,
        vault=vault,
        settings=Settings(_env_file=None).trading_config(),  # type: ignore[call-arg]  # mainnet URLs: paper must not use them
        options=RunOptions(paper=True, max_cycles=2, interval_seconds=0.5),
    )
    assert (run.status, run.cycles) == ("stopped", 2)
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                select(state.RUNS.c.mode, state.RUNS.c.config).where(state.RUNS.c.id == run.run_id)
            )
        ).one()
        opened = (
            await conn.execute(
                select(
                    state.POSITIONS.c.symbol,
                    state.POSITIONS.c.quantity,
                    state.POSITIONS.c.status,
                    state.POSITIONS.c.exit_reason,
                ).where(state.POSITIONS.c.run_id == run.run_id)
            )
        ).all()
        kinds = (
            (await conn.execute(select(state.EVENTS.c.kind).where(state.EVENTS.c.run_id == run.run_id)))
            .scalars()
            .all()
        )
    assert stored.mode == "paper" and stored.config == config.model_dump(mode="json")
    assert "scan" in kinds and opened, kinds
    # the paper run kept its positions at stop (on_stop: keep), but its simulator ended with it: so did they
    for p in opened:
        assert p.quantity > Decimal(0) and p.symbol in config.symbol_set
        assert (p.status, p.exit_reason) == ("closed", "paper_session_ended")
    assert "paper_session_ended" in kinds
    async with engine.connect() as conn:
        assert await state.live_positions(conn, "rehearsal", "paper") == []
