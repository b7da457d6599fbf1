"""Backpack credentials: an API key pair (ED25519).

Backpack API keys are ED25519 key pairs created in the Backpack UI: the public key, base64 (the `X-API-Key`
header), and the secret, the base64 32-byte seed that signs every request (bpx-py `BaseAccount`:
`Ed25519PrivateKey.from_private_bytes(base64.b64decode(secret_key))`; docs "Authentication"). So an account stores:

* `api_key` (public, in clear): the base64 ED25519 public key;
* `api_secret` (secret, encrypted by the vault): the base64 ED25519 seed.

The model checks that the secret's public key IS `api_key` (a pasted pair that does not belong together is refused
at once, naming the field, never echoing a value).
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from exchange_clients.base.credentials import BaseCredentials

KEY_BYTES = 32


def _b64_32(value: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{name} must be base64 (an ED25519 key as Backpack shows it)") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"{name} must decode to {KEY_BYTES} bytes, got {len(raw)}")
    return raw


@functools.lru_cache(maxsize=64)
def public_key_of(api_secret: str) -> str:
    """The base64 ED25519 public key of a base64 seed. Pure; the secret is never logged.

    Raises:
        ValueError: not a base64 32-byte seed."""
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    seed = _b64_32(api_secret, "api_secret")
    public = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


class BackpackCredentials(BaseCredentials):
    """Backpack credentials: `api_key` in clear, `api_secret` secret."""

    venue: Literal["backpack"] = "backpack"
    env_fields: ClassVar[dict[str, str]] = {
        "api_key": "PERPARB_BACKPACK_API_KEY",
        "api_secret": "PERPARB_BACKPACK_API_SECRET",
    }
    api_key: str = Field(description="API public key (base64 ED25519, the X-API-Key header)")
    api_secret: SecretStr = Field(description="API secret (base64 ED25519 seed, 32 bytes)")

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, value: str) -> str:
        _b64_32(value, "api_key")
        return value.strip()

    @field_validator("api_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        _b64_32(raw, "api_secret")
        return SecretStr(raw)

    @model_validator(mode="after")
    def _pair(self) -> BackpackCredentials:
        if public_key_of(self.api_secret.get_secret_value()) != self.api_key:
            raise ValueError("api_key is not the public key of api_secret")
        return self

    def public_fields(self) -> dict[str, Any]:
        return {"api_key": self.api_key}

    def secret_fields(self) -> dict[str, str]:
        return {"api_secret": self.api_secret.get_secret_value()}


def new_key_pair() -> tuple[str, str]:
    """A fresh (api_key, api_secret) pair, base64 (tests, paper mode). The secret is returned, never logged."""
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    secret = base64.b64encode(seed).decode()
    return public_key_of(secret), secret
