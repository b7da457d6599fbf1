"""Aster credentials: an API wallet (V3, EIP-712) or a legacy API key (V1, HMAC-SHA256).

Aster has two signing schemes (asterdex/api-docs@265e024 "Difference between V1 and V3 interfaces.md"):

* V3 "API wallet / agent" (the one new accounts get: "Starting from March 25, 2026, V1 new API Key creation is no
  longer supported"): requests carry `user` (the main account's wallet address), `signer` (the API wallet's
  address), `nonce` (µs) and `signature`, an EIP-712 signature by the API wallet's private key. Stored:
  `user_address` (public), `signer_private_key` (secret) and `signer_address` (public, derived from the key).
* V1 "API key" (existing keys keep working): header `X-MBX-APIKEY` and `signature` = HMAC-SHA256 of the
  parameters with the secret key. Stored: `api_key` and `api_secret`, both secret (the key identifies the
  account to anyone who holds it).

Exactly one scheme must be complete. Validation errors name the field, never its value.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from exchange_clients.base.credentials import HEX, BaseCredentials, hex_body

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
API_TOKEN = re.compile(r"^[A-Za-z0-9]{16,128}$")
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class AsterCredentials(BaseCredentials):
    """Aster credentials: V3 (`user_address` + `signer_private_key`) or V1 (`api_key` + `api_secret`)."""

    venue: Literal["aster"] = "aster"
    env_fields: ClassVar[dict[str, str]] = {
        "user_address": "PERPARB_ASTER_USER_ADDRESS",
        "signer_private_key": "PERPARB_ASTER_SIGNER_PRIVATE_KEY",
        "api_key": "PERPARB_ASTER_API_KEY",
        "api_secret": "PERPARB_ASTER_API_SECRET",
    }
    user_address: str | None = Field(default=None, description="V3: main account wallet address, 0x + 40 hex")
    signer_private_key: SecretStr | None = Field(default=None, description="V3: API wallet private key, hex")
    signer_address: str | None = Field(
        default=None, description="V3: the API wallet's address (derived from the key; checked when given)"
    )
    api_key: SecretStr | None = Field(default=None, description="V1: API key (X-MBX-APIKEY)")
    api_secret: SecretStr | None = Field(default=None, description="V1: API secret key (HMAC-SHA256)")

    @field_validator("user_address", "signer_address")
    @classmethod
    def _check_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not ADDRESS.match(value):
            raise ValueError("must be an address: 0x followed by 40 hex digits")
        return "0x" + value[2:].lower()

    @field_validator("signer_private_key")
    @classmethod
    def _check_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not HEX.match(raw) or len(hex_body(raw)) != 64:
            raise ValueError("signer_private_key must be 32 bytes of hex (64 hex digits, optional 0x)")
        if not 0 < int(hex_body(raw), 16) < SECP256K1_ORDER:
            raise ValueError("signer_private_key is not a valid secp256k1 private key")
        return SecretStr("0x" + hex_body(raw).lower())

    @field_validator("api_key", "api_secret")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not API_TOKEN.match(raw):
            raise ValueError("must be 16-128 letters or digits")
        return SecretStr(raw)

    @model_validator(mode="after")
    def _one_scheme(self) -> AsterCredentials:
        v3 = self.signer_private_key is not None or self.user_address is not None
        v1 = self.api_key is not None or self.api_secret is not None
        if v3 and v1:
            raise ValueError(
                "give either the V3 API wallet (user_address, signer_private_key) or the V1 API key "
                "(api_key, api_secret), not both"
            )
        if v3:
            if self.user_address is None or self.signer_private_key is None:
                raise ValueError("V3 needs both user_address and signer_private_key")
            derived = signer_address_of(self.signer_private_key.get_secret_value())
            if self.signer_address is None:
                object.__setattr__(self, "signer_address", derived)
            elif self.signer_address != derived:
                raise ValueError("signer_address is not the address of signer_private_key")
        elif v1:
            if self.api_key is None or self.api_secret is None:
                raise ValueError("V1 needs both api_key and api_secret")
            if self.signer_address is not None:
                raise ValueError("signer_address belongs to a V3 API wallet, not to a V1 API key")
        else:
            raise ValueError(
                "give user_address + signer_private_key (V3 API wallet) or api_key + api_secret (V1)"
            )
        return self

    @property
    def scheme(self) -> str:
        """ "v3" (API wallet, EIP-712) or "v1" (API key, HMAC)."""
        return "v3" if self.signer_private_key is not None else "v1"

    def public_fields(self) -> dict[str, Any]:
        if self.scheme == "v3":
            return {"user_address": self.user_address, "signer_address": self.signer_address}
        return {}

    def secret_fields(self) -> dict[str, str]:
        if self.signer_private_key is not None:
            return {"signer_private_key": self.signer_private_key.get_secret_value()}
        assert self.api_key is not None and self.api_secret is not None  # _one_scheme
        return {"api_key": self.api_key.get_secret_value(), "api_secret": self.api_secret.get_secret_value()}

    @property
    def account_label(self) -> str:
        """What names the account in messages and logs: the user address (V3), or "API key #<8 hex>" (V1), a
        SHA-256 fingerprint of the key (no character of the key itself)."""
        if self.user_address is not None:
            return self.user_address
        assert self.api_key is not None
        return "API key #" + hashlib.sha256(self.api_key.get_secret_value().encode()).hexdigest()[:8]


@functools.lru_cache(maxsize=64)
def signer_address_of(private_key: str) -> str:
    """Address of a secp256k1 private key (hex), lower-case. Pure; the key is never logged."""
    from eth_account import Account

    address: str = Account.from_key(private_key).address
    return address.lower()
