"""Paper-mode hooks of Lighter: make an account's own API key valid on the simulator and fund it.

The client's connect runs lighter-sdk's `check_client()`, which compares the key registered for the slot with the
public key the signer derives from the API private key (PROTOCOL_NOTES §1.3). The vault holds only the private
key and lighter-sdk 1.1.8 exports no "public key of this private key" function; but its `CheckClient`, on a
mismatch, answers `private key does not match the one on Lighter. ownPubKey: <80 hex> response: <80 hex>`
(`exchange_clients.lighter.auth`). So a placeholder key is registered on the simulator
(`POST /_sim/lighter/apikeys` {account_index, api_key_index, public_key}), `check_client()` is run against the
simulator, and `ownPubKey` is registered in its place. That failed check is not cached by the signer library
(only successful ones are), so the client's own check at connect then passes. The account is then funded with
`POST /_sim/accounts` {account_index, collateral}. Only the simulator is contacted.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from decimal import Decimal
from typing import Any

import lighter

from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.spec import SimulatorAdmin
from exchange_clients.lighter.auth import signer_lock
from exchange_clients.lighter.credentials import LighterCredentials
from perparb_core.errors import ConfigError, VenueAuthError
from perparb_core.settings import VenueConfig

_PLACEHOLDER_KEY = "00" * 40  # 40 bytes: a valid shape, and no private key derives it
_DERIVED: dict[tuple[int, int, str], str] = {}  # (account, slot, sha256 of the private key) -> public key
_OWN_PUBKEY = re.compile(r"ownPubKey: (?P<own>[0-9a-fA-F]{80})\b")


async def public_key_of(creds: LighterCredentials, config: VenueConfig, admin: SimulatorAdmin) -> str:
    """The public key (80 hex digits, no 0x) of `creds.api_private_key`, derived by lighter-sdk's signer against
    the simulator at `config.rest_url` (see the module docstring).

    The signer library remembers a successful check for the life of the process, after which a mismatch is no
    longer reported: so a key derived once is remembered here too (by a SHA-256 of the private key; the key
    itself is not kept) and later paper runs in the same process reuse it.

    Raises:
        VenueAuthError: lighter-sdk refused the private key, or its answer carried no public key.
        PaperError (from `admin.post`): the simulator refused the admin call.
    """
    fingerprint = (
        creds.account_index,
        creds.api_key_index,
        hashlib.sha256(creds.api_private_key.get_secret_value().encode()).hexdigest(),
    )
    known = _DERIVED.get(fingerprint)
    if known is not None:
        return known
    await admin.post(
        "/_sim/lighter/apikeys",
        {
            "account_index": creds.account_index,
            "api_key_index": creds.api_key_index,
            "public_key": _PLACEHOLDER_KEY,
        },
    )
    # The Go signer keeps one client per (account, slot) per process: serialise with credential checks.
    async with signer_lock():
        try:
            signer = lighter.SignerClient(
                url=config.rest_url,
                account_index=creds.account_index,
                api_private_keys={creds.api_key_index: creds.api_private_key.get_secret_value()},
            )
        except Exception:  # the SDK raises bare Exception(<Go error>) from CreateClient
            raise VenueAuthError(
                "lighter",
                f"lighter-sdk refused API key {creds.api_key_index} of account {creds.account_index}",
            ) from None
        try:
            error = await asyncio.to_thread(signer.check_client)
        finally:
            await signer.close()
    match = _OWN_PUBKEY.search(str(error or ""))
    if match is None:
        raise VenueAuthError(
            "lighter",
            f"could not derive the public key of API key {creds.api_key_index} of account "
            f"{creds.account_index} from lighter-sdk (check answered {'ok' if error is None else 'otherwise'})",
        )
    _DERIVED[fingerprint] = match["own"].lower()
    return _DERIVED[fingerprint]


async def prepare_paper_account(
    creds: BaseCredentials, config: VenueConfig, admin: SimulatorAdmin, collateral: Decimal
) -> dict[str, Any]:
    """Register the account's own key on the simulator and fund it with `collateral` USDC.

    Returns:
        {"account_index": int}.

    Raises:
        ConfigError: `creds` are not Lighter credentials.
        VenueAuthError: lighter-sdk refused the key. PaperError: the simulator refused an admin call.
    """
    if not isinstance(creds, LighterCredentials):
        raise ConfigError(f"lighter paper account needs Lighter credentials, got {type(creds).__name__}")
    public_key = await public_key_of(creds, config, admin)
    await admin.post(
        "/_sim/lighter/apikeys",
        {
            "account_index": creds.account_index,
            "api_key_index": creds.api_key_index,
            "public_key": public_key,
        },
    )
    await admin.post("/_sim/accounts", {"account_index": creds.account_index, "collateral": str(collateral)})
    return {"account_index": creds.account_index}
