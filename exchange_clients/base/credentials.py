"""Credentials: the venue-neutral base every venue's credentials model derives from.

Each venue package defines its own model (`exchange_clients/<venue>/credentials.py`) and registers it in its
`VenueSpec` (`credentials_type`); the registry maps a venue id to it (`registry.credentials_type(venue)`).

Secrets are `pydantic.SecretStr`: `repr()`, `str()`, logs and tracebacks show `'**********'`; the value is read
only with `.get_secret_value()` at the point of use (the SDK call). Validation errors name the field and never
echo a secret value (`hide_input_in_errors`).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

HEX = re.compile(r"^(0x)?[0-9a-fA-F]+$")


def hex_body(value: str) -> str:
    """`value` without a leading `0x`/`0X`."""
    return value[2:] if value.lower().startswith("0x") else value


class BaseCredentials(BaseModel):
    """One account's credentials on one venue: public identifiers in clear, secrets as `SecretStr`.

    Subclasses set `venue` (a `Literal` field with the venue id as default) and implement `public_fields` and
    `secret_fields`; the vault encrypts exactly what `secret_fields` returns and stores `public_fields` in clear.

    `env_fields` maps each field to the environment variable `perparb accounts add-account --from-env` reads.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    venue: str
    env_fields: ClassVar[dict[str, str]] = {}

    def public_fields(self) -> dict[str, Any]:
        """Identifiers safe to show and store in clear (account index, address)."""
        raise NotImplementedError

    def secret_fields(self) -> dict[str, str]:
        """Secrets by field name (encrypted by the vault; never logged)."""
        raise NotImplementedError

    def secret_values(self) -> list[str]:
        """Every secret value, for scrubbing text that might echo one."""
        return list(self.secret_fields().values())
