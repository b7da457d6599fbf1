"""Issue #17: a paper run of `configs/backpack.example.yaml` (Backpack, Lighter and Paradex with the shipped rules)
enters and exits on the simulator, Backpack on either side.

The demo scenario's designed rates (fraction per hour; demo_assets.json): ETH Backpack +0.0045 % vs Paradex
-0.0010 % (short Backpack), SOL Lighter -0.0020 % vs Backpack +0.0025 % (short Backpack), BTC Backpack -0.0010 % vs
Lighter +0.0012 % (long Backpack). The run stops with `on_stop: close` (the only change to the file): every
position is closed through the two-leg executor and the venues are flat.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from lighter.signer_client import create_api_key
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import add_account
from exchange_clients.backpack.credentials import BackpackCredentials, new_key_pair
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.credentials import ParadexCredentials
from strategies.config import FundingArbitrageConfig, load_config
from tests.conftest import PROJECT
from tests.integration.strategy_support import paper_run_positions, test_vault

pytestmark = pytest.mark.integration

EXAMPLE = PROJECT / "configs" / "backpack.example.yaml"


async def test_backpack_config_enters_and_exits_on_paper(engine: AsyncEngine) -> None:
    example = load_config(EXAMPLE)
    assert isinstance(example, FundingArbitrageConfig) and set(example.venues) == {
        "backpack",
        "lighter",
        "paradex",
    }
    config = example.model_copy(update={"on_stop": "close"})
    vault = test_vault()
    private_key, _public, err = create_api_key()
    assert err is None
    eth = Account.create()
    key, secret = new_key_pair()
    for creds in (
        LighterCredentials(account_index=4545, api_key_index=3, api_private_key=SecretStr(private_key)),
        ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex())),
        BackpackCredentials(api_key=key, api_secret=SecretStr(secret)),
    ):
        await add_account(engine, vault, name="paper-backpack", creds=creds)
    _run, rows = await paper_run_positions(engine, vault, config, "paper-backpack")
    legs = {(r.symbol, r.long_venue, r.short_venue) for r in rows}
    assert ("ETH", "paradex", "backpack") in legs, rows  # Backpack the short leg
    assert any(r.long_venue == "backpack" for r in rows) or ("SOL", "lighter", "backpack") in legs, rows
    assert {(r.status, r.exit_reason) for r in rows} == {("closed", "stop")}, rows
    assert all(r.quantity == 0 for r in rows), rows
