"""Backpack credential verification: does the venue accept requests signed with this key pair?

`GET /api/v1/account` (instruction accountQuery), signed by bpx-py with the account's secret: read-only, nothing is
changed on the venue. The key pair itself is checked locally first (the credentials model refuses a secret whose
public key is not `api_key`).

| answer                                      | result                                                      |
|---------------------------------------------|-------------------------------------------------------------|
| 200 account settings                        | ok (with the account's leverage limit)                      |
| 401/403, `UNAUTHORIZED`, `INVALID_SIGNATURE` | rejected, with the venue's code and message                |
| other 4xx                                   | rejected, with the venue's code and message                 |
| 5xx, timeout, connection error, bad body    | "Backpack unavailable at <url>: ..." (not ok)               |

The detail never holds the secret (scrubbed anyway). Never raises for a venue answer.
"""

from __future__ import annotations

import logging

from exchange_clients.backpack.client.utils.signing import BackpackSigner
from exchange_clients.backpack.common import BackpackAuthError, BackpackError, BackpackRejectedError
from exchange_clients.backpack.config import BackpackConfig
from exchange_clients.backpack.credentials import BackpackCredentials
from exchange_clients.backpack.http import BackpackHttp
from exchange_clients.base.auth import VerifyResult, scrub
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.scope import venue_scope
from perparb_core.settings import VenueConfig

log = logging.getLogger(__name__)


async def verify_backpack_credentials(creds: BaseCredentials, config: VenueConfig) -> VerifyResult:
    """Check that Backpack at `config.rest_url` accepts requests signed with `creds`.

    Returns:
        `VerifyResult("backpack", ok, detail)`; never raises for a venue answer or a network failure.

    Raises:
        TypeError: not Backpack credentials or config (a programming error, not a venue answer).
    """
    if not isinstance(creds, BackpackCredentials):
        raise TypeError(f"Backpack verification needs BackpackCredentials, got {type(creds).__name__}")
    if not isinstance(config, BackpackConfig):
        raise TypeError(f"Backpack verification needs a BackpackConfig, got {type(config).__name__}")
    secret = creds.api_secret.get_secret_value()

    def result(ok: bool, detail: str) -> VerifyResult:
        clean = scrub(detail, [secret])
        log.info("%s credential check (%s): %s", config.venue, "ok" if ok else "failed", clean)
        return VerifyResult(config.venue, ok, clean)

    signer = BackpackSigner(creds.api_key, secret, config.rest_url, config.window_ms)
    http = BackpackHttp(config, venue_scope(config))
    try:
        body = await http.signed_read(signer.builder("GET", "get_account"), what="GET /api/v1/account")
    except (BackpackAuthError, BackpackRejectedError) as exc:
        return result(False, f"key {creds.api_key} refused: {exc} ({config.rest_url})")
    except BackpackError as exc:
        return result(False, f"Backpack unavailable at {config.rest_url}: {exc}")
    finally:
        await http.close()
    if not isinstance(body, dict):
        return result(
            False, f"Backpack unavailable at {config.rest_url}: unreadable account body {str(body)[:80]!r}"
        )
    return result(
        True,
        f"key {creds.api_key} accepted (leverage limit {body.get('leverageLimit')!s}) ({config.rest_url})",
    )
