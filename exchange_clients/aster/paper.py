"""Paper-mode hooks of Aster: make an account's own keys valid on the simulator and fund it.

* V3 API wallet: `POST /_sim/aster/agents` {user, signer} registers the API wallet's ADDRESS as an agent of the
  user (the simulator then verifies the EIP-712 signatures it makes; the private key never leaves the process);
* V1 API key: `POST /_sim/aster/apikeys` {api_key, api_secret}: the simulator needs the secret to verify the HMAC
  signatures (an HMAC cannot be verified otherwise); it answers the account's user address. It is sent to the
  in-process simulator on loopback only, never logged;
then the user is funded with `POST /_sim/accounts` {user, collateral}. Only the simulator is contacted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange_clients.aster.credentials import AsterCredentials
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.spec import SimulatorAdmin
from perparb_core.errors import ConfigError
from perparb_core.settings import VenueConfig


async def prepare_paper_account(
    creds: BaseCredentials, config: VenueConfig, admin: SimulatorAdmin, collateral: Decimal
) -> dict[str, Any]:
    """Register the account's keys on the simulator and fund it with `collateral` USDT.

    Returns:
        {"user": the funded account's address, "scheme": "v3" | "v1"}.

    Raises:
        ConfigError: `creds` are not Aster credentials. PaperError: an admin call was refused.
    """
    if not isinstance(creds, AsterCredentials):
        raise ConfigError(f"aster paper account needs Aster credentials, got {type(creds).__name__}")
    if creds.scheme == "v3":
        assert creds.user_address is not None and creds.signer_address is not None
        await admin.post("/_sim/aster/agents", {"user": creds.user_address, "signer": creds.signer_address})
        user = creds.user_address
    else:
        assert creds.api_key is not None and creds.api_secret is not None
        answer = await admin.post(
            "/_sim/aster/apikeys",
            {"api_key": creds.api_key.get_secret_value(), "api_secret": creds.api_secret.get_secret_value()},
        )
        user = str(answer["user"])
    await admin.post("/_sim/accounts", {"user": user, "collateral": str(collateral)})
    return {"user": user, "scheme": creds.scheme}
