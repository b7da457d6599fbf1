"""Credential verification results and secret scrubbing, shared by every venue (`perparb accounts verify-account`).

Each venue package provides a check through its own SDK (`VenueSpec.verify_credentials`, dispatched by
`exchange_clients.registry.verify_credentials`). No verification raises for a venue answer or a network failure:
the outcome is a `VerifyResult`. Its `detail` never holds a private key, JWT or auth
token (each venue function scrubs the secrets of its credentials from whatever text it reports).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

REDACTED = "[redacted]"
_JWT = re.compile(
    r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
)  # header.payload.signature, base64url JSON


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of one credential verification.

    Attributes:
        venue: the venue id.
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
