"""Issue #17: a paper run of `configs/aster_lighter_paradex.example.yaml` (Lighter, Paradex and Aster, the
shipped signal and entry rules) enters and exits on the simulator, with Aster as a leg.

The demo scenario's designed rates (simulator/scenarios/demo_assets.json, fraction per hour): ETH Lighter +0.0030 %,
Paradex -0.0010 %, Aster -0.0020 % (8-hour settlements): the widest spread is long Aster / short Lighter; SOL Lighter
-0.0020 %, Paradex +0.0015 %, Aster +0.0005 % (4-hour settlements): long Lighter / short Paradex. BTC's spreads stay
below the 8 % entry threshold. As in test_example_paper_exits.py, no exit rule can fire within seconds, so the run
stops with `on_stop: close`, the only change to the file: every position is closed through the two-leg executor.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from lighter.signer_client import create_api_key
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import add_account
from exchange_clients.aster.credentials import AsterCredentials
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.credentials import ParadexCredentials
from strategies.config import FundingArbitrageConfig, load_config
from tests.conftest import PROJECT
from tests.integration.strategy_support import paper_run_positions, test_vault

pytestmark = pytest.mark.integration

EXAMPLE = PROJECT / "configs" / "aster_lighter_paradex.example.yaml"


async def test_three_venue_config_enters_and_exits_on_paper_with_aster(engine: AsyncEngine) -> None:
    example = load_config(EXAMPLE)
    assert isinstance(example, FundingArbitrageConfig) and example.venues == ["lighter", "paradex", "aster"]
    shipped = load_config(PROJECT / "configs" / "funding_arbitrage.example.yaml")
    # the shipped (research-chosen) parameters, but for the open-interest floor, which Aster cannot pass (it
    # publishes no open interest: unknown never passes a floor)
    mine, theirs = (
        example.model_dump(exclude={"name", "venues"}),
        shipped.model_dump(exclude={"name", "venues"}),
    )
    assert (mine["entry"].pop("min_open_interest_usd"), theirs["entry"].pop("min_open_interest_usd")) == (
        0,
        500000,
    )
    assert mine == theirs
    config = example.model_copy(update={"on_stop": "close"})
    vault = test_vault()
    private_key, _public, err = create_api_key()
    assert err is None
    eth, user, signer = Account.create(), Account.create(), Account.create()
    for creds in (
        LighterCredentials(account_index=4545, api_key_index=3, api_private_key=SecretStr(private_key)),
        ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex())),
        AsterCredentials(user_address=user.address, signer_private_key=SecretStr(signer.key.hex())),
    ):
        await add_account(engine, vault, name="paper-three", creds=creds)
    _run, rows = await paper_run_positions(engine, vault, config, "paper-three")
    by_symbol = {r.symbol: r for r in rows}
    assert (by_symbol["ETH"].long_venue, by_symbol["ETH"].short_venue) == ("aster", "lighter"), rows
    assert (by_symbol["SOL"].long_venue, by_symbol["SOL"].short_venue) == ("lighter", "paradex"), rows
    assert "BTC" not in by_symbol
    assert {(r.status, r.exit_reason) for r in rows} == {("closed", "stop")}, rows
    assert all(r.quantity == 0 for r in rows), rows
