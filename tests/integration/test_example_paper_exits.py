"""Issue #11: a paper run of `configs/funding_arbitrage.example.yaml` (the shipped signal and entry rules) enters
and exits on the simulator.

The demo scenario's 72 h of designed spreads give ETH (Lighter +0.0030 %/h vs Paradex -0.0010 %/h) and SOL
(Lighter -0.0020 %/h vs Paradex +0.0015 %/h) an EWMA signal above the 8 % entry threshold with a stable daily
mean: the first cycle opens both. None of the example's exit rules can fire within seconds at real-time speed
(168 h minimum hold, 168 h half-life, 24 h staleness; they are tested on histories in
tests/unit/test_backtest_cases.py), so the run stops with `on_stop: close`, the only change to the file: both
positions are closed through the two-leg executor and the venues are flat.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from lighter.signer_client import create_api_key
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import add_account
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.credentials import ParadexCredentials
from strategies import state
from strategies.config import FundingArbitrageConfig, load_config
from tests.conftest import PROJECT
from tests.integration.strategy_support import paper_run_positions, test_vault

pytestmark = pytest.mark.integration

EXAMPLE = PROJECT / "configs" / "funding_arbitrage.example.yaml"


async def test_example_config_enters_and_exits_on_paper(engine: AsyncEngine) -> None:
    example = load_config(EXAMPLE)
    assert isinstance(example, FundingArbitrageConfig) and example.on_stop == "keep"
    config = example.model_copy(update={"on_stop": "close"})
    vault = test_vault()
    private_key, _public, err = create_api_key()
    assert err is None
    eth = Account.create()
    await add_account(
        engine,
        vault,
        name="paper-example",
        creds=LighterCredentials(account_index=4343, api_key_index=3, api_private_key=SecretStr(private_key)),
    )
    await add_account(
        engine,
        vault,
        name="paper-example",
        creds=ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex())),
    )
    run, rows = await paper_run_positions(engine, vault, config, "paper-example")
    async with engine.connect() as conn:
        entries = (
            (
                await conn.execute(
                    select(state.EVENTS.c.message).where(
                        (state.EVENTS.c.run_id == run.run_id) & (state.EVENTS.c.kind == "entry")
                    )
                )
            )
            .scalars()
            .all()
        )
    by_symbol = {r.symbol: r for r in rows}
    # the designed directions, entered on the signal
    assert (by_symbol["ETH"].long_venue, by_symbol["ETH"].short_venue) == ("paradex", "lighter"), rows
    assert (by_symbol["SOL"].long_venue, by_symbol["SOL"].short_venue) == ("lighter", "paradex"), rows
    assert all("signal APR" in m for m in entries) and len(entries) == len(rows)
    # and closed on the simulator at stop
    assert {(r.status, r.exit_reason) for r in rows} == {("closed", "stop")}, rows
    assert all(r.quantity == 0 for r in rows), rows
