"""Lighter API-key credentials.

Formats (sources): API private key: 40 bytes as hex, with or without `0x` (lighter-sdk 1.1.8 `create_api_key()`
returns `0x` + 80 hex digits; `SignerClient.validate_api_private_keys`); `account_index` >= 0; `api_key_index`
0..254 (indices 0-1 are reserved by the web/mobile apps, PROTOCOL_NOTES §1.3 / Lighter docs "API keys").
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from exchange_clients.base.credentials import HEX, BaseCredentials, hex_body


class LighterCredentials(BaseCredentials):
    """Lighter API-key credentials: public identifiers in clear, the API private key secret."""

    venue: Literal["lighter"] = "lighter"
    env_fields: ClassVar[dict[str, str]] = {
        "account_index": "PERPARB_LIGHTER_ACCOUNT_INDEX",
        "api_key_index": "PERPARB_LIGHTER_API_KEY_INDEX",
        "api_private_key": "PERPARB_LIGHTER_API_PRIVATE_KEY",
    }
    account_index: int = Field(ge=0, description="Lighter account index")
    api_key_index: int = Field(ge=0, le=254, description="API key slot")
    api_private_key: SecretStr = Field(description="40-byte hex API private key")

    @field_validator("api_private_key")
    @classmethod
    def _check_key(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if not HEX.match(raw) or len(hex_body(raw)) != 80:
            raise ValueError("api_private_key must be 40 bytes of hex (80 hex digits, optional 0x)")
        return SecretStr("0x" + hex_body(raw).lower())

    def public_fields(self) -> dict[str, Any]:
        return {"account_index": self.account_index, "api_key_index": self.api_key_index}

    def secret_fields(self) -> dict[str, str]:
        return {"api_private_key": self.api_private_key.get_secret_value()}
