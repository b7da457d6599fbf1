"""Hyperliquid credentials: the account's main address and the private key of an approved agent (API) wallet.

Hyperliquid's API wallets ("agent wallets") sign L1 actions (orders, cancels, leverage) on behalf of a master
account or sub-account once the master has approved them (`approveAgent`); they only sign: account data is read
with the account's own address (docs for-developers/api/nonces-and-api-wallets.md: "A common pitfall is to use
the agent wallet which leads to an empty result"). So an account stores:

* `account_address` (public, in clear): the master or sub-account address, `0x` + 40 hex;
* `agent_private_key` (secret, encrypted by the vault): the agent wallet's 32-byte secp256k1 key, hex;
* `agent_address` (public, derived from the key; stored in clear so listings show which agent signs).

The main wallet's own key may be given as the "agent" (it can sign for itself); `perparb accounts verify-account`
checks that the key's address is the account or an agent approved for it (`auth.py`). The same credentials
serve every perp dex: an account on "hyperliquid:xyz" stores the same two fields under that venue id.
"""

from __future__ import annotations

import functools
import re
from typing import Any, ClassVar

from pydantic import Field, SecretStr, field_validator, model_validator

from exchange_clients.base.credentials import HEX, BaseCredentials, hex_body
from exchange_clients.hyperliquid.common import VENUE, dex_of, venue_id

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class HyperliquidCredentials(BaseCredentials):
    """Hyperliquid credentials: `account_address` in clear, `agent_private_key` secret."""

    venue: str = VENUE
    env_fields: ClassVar[dict[str, str]] = {
        "account_address": "PERPARB_HYPERLIQUID_ACCOUNT_ADDRESS",
        "agent_private_key": "PERPARB_HYPERLIQUID_AGENT_PRIVATE_KEY",
    }
    account_address: str = Field(description="main (master or sub-account) address, 0x + 40 hex")
    agent_private_key: SecretStr = Field(description="agent (API) wallet private key, 32 bytes hex")
    agent_address: str | None = Field(
        default=None,
        description="the agent key's address (derived; stored in clear for listings, checked when given)",
    )

    @field_validator("venue")
    @classmethod
    def _check_venue(cls, value: str) -> str:
        try:
            dex_of(value)
        except ValueError:
            raise ValueError("venue must be 'hyperliquid' or 'hyperliquid:<dex>'") from None
        return value

    @field_validator("account_address")
    @classmethod
    def _check_address(cls, value: str) -> str:
        value = value.strip()
        if not ADDRESS.match(value):
            raise ValueError("account_address must be an address: 0x followed by 40 hex digits")
        return "0x" + value[2:].lower()

    @field_validator("agent_private_key")
    @classmethod
    def _check_key(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if not HEX.match(raw) or len(hex_body(raw)) != 64:
            raise ValueError("agent_private_key must be 32 bytes of hex (64 hex digits, optional 0x)")
        if not 0 < int(hex_body(raw), 16) < SECP256K1_ORDER:
            raise ValueError("agent_private_key is not a valid secp256k1 private key")
        return SecretStr("0x" + hex_body(raw).lower())

    @model_validator(mode="after")
    def _agent_address_matches(self) -> HyperliquidCredentials:
        derived = agent_address_of(self.agent_private_key.get_secret_value())
        if self.agent_address is None:
            object.__setattr__(self, "agent_address", derived)
        elif self.agent_address.strip().lower() != derived:
            raise ValueError("agent_address is not the address of agent_private_key")
        return self

    @property
    def dex(self) -> str:
        """The perp dex of these credentials' venue ("" for the first perp dex)."""
        return dex_of(self.venue)

    def public_fields(self) -> dict[str, Any]:
        return {"account_address": self.account_address, "agent_address": self.agent_address}

    def secret_fields(self) -> dict[str, str]:
        return {"agent_private_key": self.agent_private_key.get_secret_value()}


@functools.lru_cache(maxsize=64)
def agent_address_of(private_key: str) -> str:
    """Address of a secp256k1 private key (hex), lower-case. Pure; the key is never logged."""
    from eth_account import Account

    address: str = Account.from_key(private_key).address
    return address.lower()


@functools.cache
def credentials_type_for(dex: str) -> type[HyperliquidCredentials]:
    """The credentials model of perp dex `dex`: `HyperliquidCredentials` for "", else a subclass whose `venue`
    defaults to "hyperliquid:<dex>" (the account CLI builds credentials without naming the venue).

    Raises:
        ValueError: a dex name that cannot be one."""
    venue = venue_id(dex)
    if not dex:
        return HyperliquidCredentials
    defaults = {"venue": venue}

    class DexCredentials(HyperliquidCredentials):
        venue: str = defaults["venue"]

    DexCredentials.__name__ = DexCredentials.__qualname__ = f"HyperliquidCredentials_{dex}"
    return DexCredentials
