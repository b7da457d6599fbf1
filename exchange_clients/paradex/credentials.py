"""Paradex credentials: an L1-key account or an L2 subkey.

Formats (sources): L1 address: Ethereum address `0x` + 40 hex; L1 private key: 32 bytes hex. L2 address and L2
(Stark) private key: Starknet felts, `0x` + 1..64 hex digits, below the Stark prime (paradex-py
`ParadexSubkey(l2_private_key, l2_address)`). An L1-key account needs `l1_address` and `l1_private_key` (the L2
key is derived by the SDK); a subkey account needs `l2_private_key` and the MAIN account's `l2_address`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from exchange_clients.base.credentials import HEX, BaseCredentials, hex_body

STARK_PRIME = 2**251 + 17 * 2**192 + 1


class ParadexCredentials(BaseCredentials):
    """Paradex credentials: an L1-key account (l1_address + l1_private_key) or an L2 subkey
    (l2_private_key + the main account's l2_address)."""

    venue: Literal["paradex"] = "paradex"
    env_fields: ClassVar[dict[str, str]] = {
        "l1_address": "PERPARB_PARADEX_L1_ADDRESS",
        "l1_private_key": "PERPARB_PARADEX_L1_PRIVATE_KEY",
        "l2_address": "PERPARB_PARADEX_L2_ADDRESS",
        "l2_private_key": "PERPARB_PARADEX_L2_PRIVATE_KEY",
    }
    l1_address: str | None = Field(default=None, description="Ethereum address 0x + 40 hex")
    l2_address: str | None = Field(default=None, description="Starknet account address (felt)")
    l1_private_key: SecretStr | None = None
    l2_private_key: SecretStr | None = None

    @field_validator("l1_address")
    @classmethod
    def _check_l1_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
            raise ValueError("l1_address must be an Ethereum address: 0x followed by 40 hex digits")
        return value

    @field_validator("l2_address")
    @classmethod
    def _check_l2_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not is_felt(value):
            raise ValueError(
                "l2_address must be a Starknet felt: 0x followed by 1-64 hex digits, below the Stark prime"
            )
        return "0x" + hex_body(value).lower()

    @field_validator("l1_private_key")
    @classmethod
    def _check_l1_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not HEX.match(raw) or len(hex_body(raw)) != 64:
            raise ValueError("l1_private_key must be 32 bytes of hex (64 hex digits, optional 0x)")
        return SecretStr("0x" + hex_body(raw).lower())

    @field_validator("l2_private_key")
    @classmethod
    def _check_l2_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not is_felt(raw if raw.lower().startswith("0x") else "0x" + raw) or int(hex_body(raw), 16) == 0:
            raise ValueError("l2_private_key must be a non-zero Starknet felt in hex (below the Stark prime)")
        return SecretStr("0x" + hex_body(raw).lower())

    @model_validator(mode="after")
    def _check_kind(self) -> ParadexCredentials:
        if self.l1_private_key is not None:
            if self.l1_address is None:
                raise ValueError("l1_address is required with l1_private_key")
        elif self.l2_private_key is not None:
            if self.l2_address is None:
                raise ValueError("l2_address (the main account's) is required with l2_private_key")
        else:
            raise ValueError("give l1_private_key (with l1_address) or l2_private_key (with l2_address)")
        return self

    @property
    def is_subkey(self) -> bool:
        return self.l1_private_key is None

    def public_fields(self) -> dict[str, Any]:
        return {"l1_address": self.l1_address, "l2_address": self.l2_address}

    def secret_fields(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.l1_private_key is not None:
            out["l1_private_key"] = self.l1_private_key.get_secret_value()
        if self.l2_private_key is not None:
            out["l2_private_key"] = self.l2_private_key.get_secret_value()
        return out


def is_felt(value: str) -> bool:
    """`0x` + 1..64 hex digits, below the Stark prime (a Starknet field element)."""
    return bool(re.fullmatch(r"0x[0-9a-fA-F]{1,64}", value)) and int(value, 16) < STARK_PRIME
