"""Typed per-venue credentials, validated before anything is stored, that never show their secrets.

Secrets are `pydantic.SecretStr`: `repr()`, `str()`, logs and tracebacks show `'**********'`; the value is read
only with `.get_secret_value()` at the point of use (the SDK call). Validation errors name the field and never
echo a secret value (`hide_input_in_errors`).

Formats (sources):
* Lighter API private key: 40 bytes as hex, with or without `0x` (lighter-sdk 1.1.8 `create_api_key()` returns
  `0x` + 80 hex digits; `SignerClient.validate_api_private_keys`); `account_index` >= 0; `api_key_index` 0..254
  (indices 0-1 are reserved by the web/mobile apps, PROTOCOL_NOTES §1.3 / Lighter docs "API keys").
* Paradex L1 address: Ethereum address `0x` + 40 hex; L1 private key: 32 bytes hex. L2 address and L2 (Stark)
  private key: Starknet felts, `0x` + 1..64 hex digits, below the Stark prime
  (paradex-py `ParadexSubkey(l2_private_key, l2_address)`). An L1-key account needs `l1_address` and
  `l1_private_key` (the L2 key is derived by the SDK); a subkey account needs `l2_private_key` and the MAIN
  account's `l2_address`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

STARK_PRIME = 2**251 + 17 * 2**192 + 1
_HEX = re.compile(r"^(0x)?[0-9a-fA-F]+$")


def _hex_body(value: str) -> str:
    return value[2:] if value.lower().startswith("0x") else value


class _Creds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class LighterCredentials(_Creds):
    """Lighter API-key credentials: public identifiers in clear, the API private key secret."""

    venue: Literal["lighter"] = "lighter"
    account_index: int = Field(ge=0, description="Lighter account index")
    api_key_index: int = Field(ge=0, le=254, description="API key slot")
    api_private_key: SecretStr = Field(description="40-byte hex API private key")

    @field_validator("api_private_key")
    @classmethod
    def _check_key(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if not _HEX.match(raw) or len(_hex_body(raw)) != 80:
            raise ValueError("api_private_key must be 40 bytes of hex (80 hex digits, optional 0x)")
        return SecretStr("0x" + _hex_body(raw).lower())

    def public_fields(self) -> dict[str, Any]:
        return {"account_index": self.account_index, "api_key_index": self.api_key_index}

    def secret_fields(self) -> dict[str, str]:
        return {"api_private_key": self.api_private_key.get_secret_value()}


class ParadexCredentials(_Creds):
    """Paradex credentials: an L1-key account (l1_address + l1_private_key) or an L2 subkey
    (l2_private_key + the main account's l2_address)."""

    venue: Literal["paradex"] = "paradex"
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
        if not _is_felt(value):
            raise ValueError(
                "l2_address must be a Starknet felt: 0x followed by 1-64 hex digits, below the Stark prime"
            )
        return "0x" + _hex_body(value).lower()

    @field_validator("l1_private_key")
    @classmethod
    def _check_l1_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not _HEX.match(raw) or len(_hex_body(raw)) != 64:
            raise ValueError("l1_private_key must be 32 bytes of hex (64 hex digits, optional 0x)")
        return SecretStr("0x" + _hex_body(raw).lower())

    @field_validator("l2_private_key")
    @classmethod
    def _check_l2_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not _is_felt(raw if raw.lower().startswith("0x") else "0x" + raw) or int(_hex_body(raw), 16) == 0:
            raise ValueError("l2_private_key must be a non-zero Starknet felt in hex (below the Stark prime)")
        return SecretStr("0x" + _hex_body(raw).lower())

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


def _is_felt(value: str) -> bool:
    return bool(re.fullmatch(r"0x[0-9a-fA-F]{1,64}", value)) and int(value, 16) < STARK_PRIME


VenueCredentials = LighterCredentials | ParadexCredentials
CREDENTIAL_TYPES: dict[str, type[LighterCredentials] | type[ParadexCredentials]] = {
    "lighter": LighterCredentials,
    "paradex": ParadexCredentials,
}
