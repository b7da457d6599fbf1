"""Hyperliquid credential verification: is the agent key the account, or an agent approved for it?

`POST /info {"type":"userRole","user":"<agent address>"}` (weight 60; docs info-endpoint.md "Query a user's
role") answers `{"role":"agent","data":{"user":"0x<master>"}}` for an approved agent (API wallet), `{"role":
"user"}` for an account, `{"role":"missing"}` for an unknown address (also "vault", "subAccount"). The agent's
address is derived locally from its private key (eth-account); only the two addresses are sent. Read-only: no
signature is made, nothing is changed on the venue.

| answer for the agent address                               | result                                            |
|------------------------------------------------------------|---------------------------------------------------|
| agent of `account_address`                                 | ok                                                |
| agent of another account                                   | rejected: approved for 0x..., not the account     |
| agent address == `account_address` and role user/subAccount | ok (the account's own key)                      |
| missing / user (another address) / vault                   | rejected: not an agent of the account             |
| HTTP error, timeout, unreadable body                       | "Hyperliquid unavailable at <url>: ..." (not ok)  |

The detail never holds the private key (scrubbed anyway). Never raises for a venue answer.
"""

from __future__ import annotations

import logging

from exchange_clients.base.auth import VerifyResult, scrub
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.scope import venue_scope
from exchange_clients.hyperliquid.common import HyperliquidError
from exchange_clients.hyperliquid.config import HyperliquidConfig
from exchange_clients.hyperliquid.credentials import HyperliquidCredentials
from exchange_clients.hyperliquid.http import HyperliquidHttp
from perparb_core.settings import VenueConfig

log = logging.getLogger(__name__)


def describe_role(body: object, *, account: str, agent: str) -> tuple[bool, str]:
    """(ok, detail) for a `userRole` answer about `agent` (table in the module docstring). Pure."""
    if not isinstance(body, dict) or not isinstance(body.get("role"), str):
        return False, f"unreadable userRole answer {str(body)[:120]!r}"
    role = body["role"]
    data = body.get("data")
    if role == "agent":
        master = str(data.get("user", "")).lower() if isinstance(data, dict) else ""
        if master == account:
            return True, f"agent {agent} is approved for account {account}"
        return False, f"agent {agent} is approved for account {master or '?'}, not for {account}"
    if agent == account and role in ("user", "subAccount"):
        return True, f"the key is account {account}'s own key (role {role})"
    return False, f"agent {agent} is not an approved agent of account {account} (role {role!r})"


async def verify_hyperliquid_credentials(creds: BaseCredentials, config: VenueConfig) -> VerifyResult:
    """Check that `creds.agent_private_key` signs for `creds.account_address` on Hyperliquid at `config.rest_url`.

    Returns:
        `VerifyResult(venue=config.venue, ok, detail)`; never raises for a venue answer or a network failure.

    Raises:
        TypeError: not Hyperliquid credentials or config (a programming error, not a venue answer).
    """
    if not isinstance(creds, HyperliquidCredentials):
        raise TypeError(f"Hyperliquid verification needs HyperliquidCredentials, got {type(creds).__name__}")
    if not isinstance(config, HyperliquidConfig):
        raise TypeError(f"Hyperliquid verification needs a HyperliquidConfig, got {type(config).__name__}")
    secret = creds.agent_private_key.get_secret_value()

    def result(ok: bool, detail: str) -> VerifyResult:
        clean = scrub(detail, [secret])
        log.info("%s credential check (%s): %s", config.venue, "ok" if ok else "failed", clean)
        return VerifyResult(config.venue, ok, clean)

    agent = creds.agent_address or ""
    http = HyperliquidHttp(config, venue_scope(config))
    try:
        body = await http.info({"type": "userRole", "user": agent})
    except HyperliquidError as exc:
        return result(False, f"Hyperliquid unavailable at {config.rest_url}: {exc}")
    finally:
        await http.close()
    ok, detail = describe_role(body, account=creds.account_address, agent=agent)
    return result(ok, detail + f" ({config.rest_url})")
