"""Issue #17: a paper run of a config listing all five venues (the shipped funding-arbitrage example with its venue
list widened) enters and exits on the simulator.

The demo scenario's designed rates (simulator/scenarios/demo_assets.json, fraction per hour) put the widest ETH,
BTC and SOL spreads on the venues added last (e.g. BTC: Backpack -0.0010 %, Hyperliquid +0.0045 %), so the run
must trade them. Each position is checked against those designed rates: the long leg is on a venue whose rate is
below the short leg's. As in test_example_paper_exits.py, no exit rule can fire within seconds, so the run stops
with `on_stop: close`: every position is closed through the two-leg executor.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from eth_account import Account
from lighter.signer_client import create_api_key
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import add_account
from exchange_clients.aster.credentials import AsterCredentials
from exchange_clients.backpack.credentials import BackpackCredentials, new_key_pair
from exchange_clients.hyperliquid.credentials import HyperliquidCredentials
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.credentials import ParadexCredentials
from simulator.protocol import installed_protocols
from strategies.config import FundingArbitrageConfig, load_config
from tests.conftest import PROJECT
from tests.integration.strategy_support import paper_run_positions, test_vault

pytestmark = pytest.mark.integration

FIVE = ["aster", "backpack", "hyperliquid", "lighter", "paradex"]


def designed_rates() -> dict[tuple[str, str], Decimal]:
    """(venue, asset) -> the demo scenario's designed hourly rate."""
    assets = json.loads((PROJECT / "simulator" / "scenarios" / "demo_assets.json").read_text())["assets"]
    return {
        (venue, asset["symbol"]): Decimal(listing["rate_hourly"])
        for asset in assets
        for venue, listing in asset["listings"].items()
    }


async def test_a_five_venue_config_enters_and_exits_on_paper(engine: AsyncEngine) -> None:
    assert (
        sorted(installed_protocols()) == FIVE
    )  # every installed venue is simulated, so paper can trade them all
    shipped = load_config(PROJECT / "configs" / "funding_arbitrage.example.yaml")
    assert isinstance(shipped, FundingArbitrageConfig)
    # Aster publishes no open interest, and an unknown figure never passes a floor: the floor goes, as in
    # configs/aster_lighter_paradex.example.yaml; everything else is the shipped (research-chosen) config
    config = shipped.model_copy(
        update={
            "venues": FIVE,
            "on_stop": "close",
            "entry": shipped.entry.model_copy(update={"min_open_interest_usd": Decimal(0)}),
        }
    )
    vault = test_vault()
    private_key, _public, err = create_api_key()
    assert err is None
    eth, aster_user, aster_signer = Account.create(), Account.create(), Account.create()
    hl_owner, hl_agent = Account.create(), Account.create()
    bp_key, bp_secret = new_key_pair()
    for creds in (
        LighterCredentials(account_index=4646, api_key_index=3, api_private_key=SecretStr(private_key)),
        ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex())),
        AsterCredentials(
            user_address=aster_user.address, signer_private_key=SecretStr(aster_signer.key.hex())
        ),
        BackpackCredentials(api_key=bp_key, api_secret=SecretStr(bp_secret)),
        HyperliquidCredentials(
            account_address=hl_owner.address, agent_private_key=SecretStr(hl_agent.key.hex())
        ),
    ):
        await add_account(engine, vault, name="paper-five", creds=creds)
    _run, rows = await paper_run_positions(engine, vault, config, "paper-five")
    assert len(rows) >= 2, rows
    rates = designed_rates()
    for r in rows:
        assert rates[(r.long_venue, r.symbol)] < rates[(r.short_venue, r.symbol)], (
            r
        )  # the profitable direction
        assert r.target_quantity > 0, r
    used = {r.long_venue for r in rows} | {r.short_venue for r in rows}
    assert used - {"lighter", "paradex"}, rows  # the venues added by issues #13 and #17 are traded
    assert {(r.status, r.exit_reason) for r in rows} == {("closed", "stop")}, rows
    assert all(r.quantity == 0 for r in rows), rows
