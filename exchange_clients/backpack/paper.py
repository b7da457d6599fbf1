"""Paper-mode hooks of Backpack: make an account's own key valid on the simulator and fund it.

The account's PUBLIC key is registered and funded with one admin call, `POST /_sim/accounts {"api_key":
"<base64 public key>", "collateral": "<USDC>"}`; from then on the simulator verifies the account's ED25519
signatures exactly as for any request. The secret never leaves this process. Only the simulator is contacted
(`admin` points at it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange_clients.backpack.credentials import BackpackCredentials
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.spec import SimulatorAdmin
from perparb_core.errors import ConfigError
from perparb_core.settings import VenueConfig


async def prepare_paper_account(
    creds: BaseCredentials, config: VenueConfig, admin: SimulatorAdmin, collateral: Decimal
) -> dict[str, Any]:
    """Register the account's public key on the simulator and fund it with `collateral` USDC.

    Returns:
        {"api_key": the registered public key}.

    Raises:
        ConfigError: `creds` are not Backpack credentials. PaperError: the admin call was refused.
    """
    if not isinstance(creds, BackpackCredentials):
        raise ConfigError(f"backpack paper account needs Backpack credentials, got {type(creds).__name__}")
    await admin.post("/_sim/accounts", {"api_key": creds.api_key, "collateral": str(collateral)})
    return {"api_key": creds.api_key}
