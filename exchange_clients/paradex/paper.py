"""Paper-mode hooks of Paradex: make an account's own keys valid on the simulator and fund it.

* L1-key account: a `ParadexSession` is opened once against the simulator, which onboards the L1 key and gives the
  L2 address (paradex-py's own auth flow, PROTOCOL_NOTES §2.3); the session is closed and the L2 address funded
  with `POST /_sim/accounts` {address, collateral}.
* Subkey account (`l2_address` of the main account + `l2_private_key`): the subkey's public key
  (`paradex_py.account.utils.private_to_stark_key`) is registered with `POST /_sim/paradex/subkeys`
  {l2_address, public_key}, which makes the main account known; the main account is then funded.

Only the simulator is contacted (`config` points at it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.spec import SimulatorAdmin
from exchange_clients.paradex.credentials import ParadexCredentials
from perparb_core.errors import ConfigError
from perparb_core.settings import VenueConfig


async def prepare_paper_account(
    creds: BaseCredentials, config: VenueConfig, admin: SimulatorAdmin, collateral: Decimal
) -> dict[str, Any]:
    """Onboard or register the account on the simulator and fund it with `collateral` USDC.

    Returns:
        {"address": the funded L2 account address}.

    Raises:
        ConfigError: `creds` are not Paradex credentials.
        ParadexError subclasses: the simulator refused the onboarding. PaperError: an admin call was refused.
    """
    if not isinstance(creds, ParadexCredentials):
        raise ConfigError(f"paradex paper account needs Paradex credentials, got {type(creds).__name__}")
    if creds.is_subkey:
        from paradex_py.account.utils import private_to_stark_key

        assert creds.l2_private_key is not None and creds.l2_address is not None  # checked by the model
        public_key = private_to_stark_key(int(creds.l2_private_key.get_secret_value(), 16))
        await admin.post(
            "/_sim/paradex/subkeys", {"l2_address": creds.l2_address, "public_key": hex(public_key)}
        )
        address = creds.l2_address
    else:
        from exchange_clients.paradex.client.session import ParadexSession

        session = ParadexSession(creds, config)
        await session.open()  # onboards the L1 key on the simulator
        try:
            address = session.account_address
        finally:
            await session.close()
    await admin.post("/_sim/accounts", {"address": address, "collateral": str(collateral)})
    return {"address": address}
