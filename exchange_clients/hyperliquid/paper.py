"""Paper-mode hooks of Hyperliquid: make an account's agent approved and its account funded on the simulator.

The simulator verifies Hyperliquid's signatures (`simulator/hyperliquid/auth.py`): an action must be signed by the
account itself or by an agent (API wallet) approved for it, as on the venue. The vault holds the account's address
and the agent's private key (`HyperliquidCredentials`); the agent's ADDRESS is derived from the key locally
(`credentials.agent_address`). So, through the simulator's admin API (`SimulatorAdmin.post`, loopback only):

* `POST /_sim/accounts {"address": <account>, "dex": <the credentials' perp dex>, "collateral"}` creates the
  account's clearinghouse on that perp dex ("" = the first; a HIP-3 dex holds its own collateral) and deposits the
  paper collateral in USDC;
* `POST /_sim/hyperliquid/agents {"user": <account>, "agent": <agent address>}` approves the agent for the account
  (what `approveAgent`, signed by the account's main key, does on the venue: the main key is not in the vault), unless
  the key is the account's own key.

Only the two addresses are sent; the private key never leaves the process. Only the simulator is contacted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.spec import SimulatorAdmin
from exchange_clients.hyperliquid.credentials import HyperliquidCredentials
from perparb_core.errors import ConfigError
from perparb_core.settings import VenueConfig


async def prepare_paper_account(
    creds: BaseCredentials, config: VenueConfig, admin: SimulatorAdmin, collateral: Decimal
) -> dict[str, Any]:
    """Fund the account on the simulator with `collateral` USDC on its perp dex and approve its agent.

    Returns:
        {"address": the account address, "agent": the agent address, "dex": the perp dex ("" = first)}.

    Raises:
        ConfigError: `creds` are not Hyperliquid credentials.
        PaperError (from `admin.post`): the simulator refused an admin call (e.g. a HIP-3 dex the scenario lacks).
    """
    if not isinstance(creds, HyperliquidCredentials):
        raise ConfigError(
            f"hyperliquid paper account needs Hyperliquid credentials, got {type(creds).__name__}"
        )
    address, agent, dex = creds.account_address, creds.agent_address or "", creds.dex
    await admin.post("/_sim/accounts", {"address": address, "dex": dex, "collateral": str(collateral)})
    if agent and agent != address:
        await admin.post("/_sim/hyperliquid/agents", {"user": address, "agent": agent})
    return {"address": address, "agent": agent, "dex": dex}
