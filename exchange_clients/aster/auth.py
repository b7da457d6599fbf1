"""Aster credential verification: a signed, read-only `GET balance` with the account's scheme.

V3 (API wallet): `GET /fapi/v3/balance` signed by the API wallet for `user`; V1 (API key): `GET /fapi/v2/balance`
with `X-MBX-APIKEY` and the HMAC signature. The venue refuses a bad key or signature with `{"code": -1022,
"msg": "Signature for this request is not valid."}`, an unknown key with -2015 / -2014, a signer that is not an
agent of the user with its own code (V3 docs "Error Codes"): any such answer is a failed check, with the code and
message in the detail. Nothing is changed on the venue.

| answer                                        | result                                             |
|-----------------------------------------------|----------------------------------------------------|
| a balance list                                | ok: "balance read for <account> (<n> assets, USDT equity ...)" |
| `{"code","msg"}` refusal (4xx)                | not ok: the code and message                       |
| HTTP error, timeout, unreadable body          | "Aster unavailable at <url>: ..." (not ok)         |

The detail never holds a secret (scrubbed anyway). Never raises for a venue answer.
"""

from __future__ import annotations

import logging

from exchange_clients.aster.client.client import signer_for
from exchange_clients.aster.client.utils.converters import parse_balance
from exchange_clients.aster.common import AsterError, AsterUnavailableError
from exchange_clients.aster.config import AsterConfig
from exchange_clients.aster.credentials import AsterCredentials
from exchange_clients.aster.http import AsterHttp
from exchange_clients.base.auth import VerifyResult, scrub
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.scope import venue_scope
from perparb_core.settings import VenueConfig

log = logging.getLogger(__name__)


async def verify_aster_credentials(creds: BaseCredentials, config: VenueConfig) -> VerifyResult:
    """Check that `creds` sign for their account on Aster at `config.rest_url` (a signed balance read).

    Returns:
        `VerifyResult(venue="aster", ok, detail)`; never raises for a venue answer or a network failure.

    Raises:
        TypeError: not Aster credentials or config (a programming error, not a venue answer).
    """
    if not isinstance(creds, AsterCredentials):
        raise TypeError(f"Aster verification needs AsterCredentials, got {type(creds).__name__}")
    if not isinstance(config, AsterConfig):
        raise TypeError(f"Aster verification needs an AsterConfig, got {type(config).__name__}")
    secrets = creds.secret_values()

    def result(ok: bool, detail: str) -> VerifyResult:
        clean = scrub(detail, secrets)
        log.info("%s credential check (%s): %s", config.venue, "ok" if ok else "failed", clean)
        return VerifyResult(config.venue, ok, clean)

    http = AsterHttp(config, venue_scope(config), signer_for(creds, config))
    label = f"{creds.scheme.upper()} {creds.account_label}"
    try:
        body = await http.signed_read("balance")
    except AsterUnavailableError as exc:
        return result(False, f"Aster unavailable at {config.rest_url}: {exc}")
    except AsterError as exc:
        return result(False, f"Aster refused {label}: {exc} ({config.rest_url})")
    finally:
        await http.close()
    try:
        balance = parse_balance(body, venue=config.venue)
    except ValueError as exc:
        return result(False, f"Aster unavailable at {config.rest_url}: unreadable balance answer: {exc}")
    n = len(body) if isinstance(body, list) else 0
    return result(
        True, f"balance read for {label} ({n} assets, equity {balance.equity} USDT; {config.rest_url})"
    )
