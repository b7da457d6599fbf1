"""Credential verification: does a venue accept these credentials? (issue #3, `perparb accounts verify-account`)

Each venue package has a read-only check through its own SDK:

* Lighter (`exchange_clients.lighter.auth.verify_lighter_credentials`): lighter-sdk `SignerClient.check_client()`,
  which compares the key registered on Lighter (`GET /api/v1/apikeys`) with the one derived from the private key.
* Paradex (`exchange_clients.paradex.auth.verify_paradex_credentials`): paradex-py's auth flow (`POST /auth/{key}`,
  onboarding first for a new L1-key account) until a JWT is obtained.

`verify_credentials` picks the venue function from the credentials' type. No verification raises for a venue
answer or a network failure: the outcome is a `VerifyResult`. Its `detail` never holds a private key, JWT or auth
token (each venue function scrubs the secrets of its credentials from whatever text it reports).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from exchange_clients.base.credentials import LighterCredentials, ParadexCredentials, VenueCredentials

if TYPE_CHECKING:
    from perparb.settings import Settings

REDACTED = "[redacted]"
_JWT = re.compile(
    r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
)  # header.payload.signature, base64url JSON


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of one credential verification.

    Attributes:
        venue: "lighter" or "paradex".
        ok: True when the venue accepted the credentials.
        detail: one human-readable line: what was checked and, on failure, the venue's error (code and message)
            or why the venue could not be reached ("... unavailable at <url>: ..."). Never a secret.
    """

    venue: str
    ok: bool
    detail: str


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret, and anything shaped like a JWT, replaced by "[redacted]".

    Hex secrets are matched case-insensitively with and without their `0x` prefix, so an SDK message that
    echoes a key in another spelling is caught too. Secrets shorter than 8 characters are ignored (they would
    redact ordinary words). A JWT is three base64url parts joined by dots, the first starting `eyJ` (`{"`).
    """
    out = _JWT.sub(REDACTED, text)
    for secret in secrets:
        for variant in _variants(secret):
            out = re.sub(re.escape(variant), REDACTED, out, flags=re.IGNORECASE)
    return out


def _variants(secret: str) -> list[str]:
    value = secret.strip()
    if len(value) < 8:
        return []
    bare = value[2:] if value.lower().startswith("0x") else value
    variants = {value, bare}
    if len(bare) >= 8:
        variants.add("0x" + bare)
    # longest first, so "0x<key>" is replaced whole before "<key>"
    return sorted(variants, key=len, reverse=True)


async def verify_credentials(creds: VenueCredentials, settings: Settings) -> VerifyResult:
    """Verify `creds` against their venue (base URL and timeout from `settings`).

    Returns:
        The venue function's `VerifyResult`.

    Raises:
        TypeError: `creds` is not a known credentials type (a programming error, not a venue answer).
    """
    if isinstance(creds, LighterCredentials):
        from exchange_clients.lighter.auth import verify_lighter_credentials

        return await verify_lighter_credentials(creds, settings)
    if isinstance(creds, ParadexCredentials):
        from exchange_clients.paradex.auth import verify_paradex_credentials

        return await verify_paradex_credentials(creds, settings)
    raise TypeError(f"no credential verification for {type(creds).__name__}")
