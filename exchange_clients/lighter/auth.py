"""Lighter credential verification through lighter-sdk's `SignerClient.check_client()`.

`check_client()` (Go `CheckClient` in the bundled signer library) sends `GET {url}/api/v1/apikeys?account_index=N`
and passes iff the entry of the key's slot has `public_key` (hex without 0x) equal to the key derived locally from
the API private key (PROTOCOL_NOTES §1.3, "checked against the SDK"). It is blocking Go code doing HTTP, so it
runs in a worker thread; the `SignerClient` itself must be built inside the running loop (its aiohttp-based
`ApiClient` needs one) and its `ApiClient` is closed afterwards.

Errors the Go code reports, and what the result says (`detail`):

| Go error (then " on api key N") | result |
|---|---|
| `None` | ok |
| `private key does not match the one on Lighter. ownPubKey: <hex> response: <hex>` | rejected: key mismatch (both public keys shown, shortened) |
| `failed to get Api Keys. err: no api key returned for index N` | rejected: no key in that slot |
| `failed to get Api Keys. err: {"code":21100,"message":"account not found"}` (any non-200 JSON body) | rejected with Lighter's code and message; code 5xx -> unavailable, 23000 -> rate limited |
| `failed to get Api Keys. err: Get "<url>": dial tcp ...: connection refused` (transport error) | unavailable |

SDK caveat (lighter-sdk 1.1.8, measured against the simulator): the signer library remembers a *successful*
check of (account, slot, private key) for the life of the process, whatever the URL: checking the same key again
in the same process answers ok without contacting Lighter, even if the key was since replaced or the venue is
down. Failed checks are not remembered. A one-shot `perparb accounts verify-account` process is not affected;
a long-running process re-verifying the same key is.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import weakref
from typing import Any

import lighter

from exchange_clients.base.auth import VerifyResult, scrub
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.lighter.common import VENUE
from exchange_clients.lighter.credentials import LighterCredentials
from perparb_core.settings import VenueConfig

log = logging.getLogger(__name__)

_KEY_SUFFIX = re.compile(r" on api key \d+$")
_FETCH_PREFIX = "failed to get Api Keys. err: "
_MISMATCH_PREFIX = "private key does not match the one on Lighter"
_MISMATCH_KEYS = re.compile(r"ownPubKey: (?P<own>[0-9a-fA-F]*) response: (?P<registered>\S*)")
_NO_KEY_PREFIX = "no api key returned for index"
_TRANSPORT = re.compile(r'^(?:Get|Post) "[^"]*": (?P<cause>.*)$', re.DOTALL)
RATE_LIMIT_CODE = 23000  # {"code":23000,"message":"Too Many Requests!"} (simulator/lighter_api.py)

# The Go signer keeps one client per (account, slot) in a process-wide map: verifications are serialised so two
# checks of the same slot cannot swap each other's keys. One lock per event loop (asyncio locks bind to a loop).
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def signer_lock() -> asyncio.Lock:
    """The lock serialising every use of the Go signer's per-(account, slot) client map on this loop."""
    loop = asyncio.get_running_loop()
    lock = _LOCKS.get(loop)
    if lock is None:
        lock = _LOCKS[loop] = asyncio.Lock()
    return lock


async def verify_lighter_credentials(creds: BaseCredentials, config: VenueConfig) -> VerifyResult:
    """Check that Lighter at `config.rest_url` has the public key of `creds.api_private_key` in slot
    `creds.api_key_index` of account `creds.account_index`.

    Args:
        creds: the account index, API key slot and API private key (secret).
        config: `rest_url` (REST root, e.g. "https://mainnet.zklighter.elliot.ai") and `http.timeout_seconds`
            (budget of the whole check).

    Returns:
        `VerifyResult(venue="lighter", ok, detail)`; `detail` names the account and slot and, on failure,
        Lighter's code and message, or "Lighter unavailable at <url>: <cause>". Never raises for a venue answer,
        a network failure or an SDK error, and never reports the private key.

    Raises:
        TypeError: `creds` are not `LighterCredentials` (a programming error, not a venue answer).
    """
    if not isinstance(creds, LighterCredentials):
        raise TypeError(f"Lighter verification needs LighterCredentials, got {type(creds).__name__}")
    url = config.rest_url
    timeout = config.http.timeout_seconds
    where = f"API key {creds.api_key_index} of account {creds.account_index}"
    secret = creds.api_private_key.get_secret_value()

    def result(ok: bool, detail: str) -> VerifyResult:
        clean = scrub(detail, [secret])
        log.info("lighter credential check (%s): %s", "ok" if ok else "failed", clean)
        return VerifyResult(VENUE, ok, clean)

    async with signer_lock():
        try:
            client = lighter.SignerClient(
                url=url, account_index=creds.account_index, api_private_keys={creds.api_key_index: secret}
            )
        except Exception as exc:  # the SDK raises bare Exception(<Go error>) from CreateClient
            return result(False, f"lighter-sdk refused {where}: {_one_line(exc)}")
        try:
            error = await asyncio.wait_for(asyncio.to_thread(client.check_client), timeout=timeout)
        except asyncio.TimeoutError:
            return result(False, f"Lighter unavailable at {url}: no answer within {timeout:g} s")
        except Exception as exc:  # anything the SDK wrapper raises around the Go call
            return result(False, f"lighter-sdk check of {where} failed: {_one_line(exc)}")
        finally:
            await client.close()
    if error is None:
        return result(True, f"{where} matches the public key registered on Lighter ({url})")
    return result(
        False,
        describe_check_error(
            str(error), url=url, account_index=creds.account_index, api_key_index=creds.api_key_index
        ),
    )


def describe_check_error(error: str, *, url: str, account_index: int, api_key_index: int) -> str:
    """One line for a `check_client()` error string (table in the module docstring). Pure; no secret handling.

    Args:
        error: the string `SignerClient.check_client()` returned.
        url: the Lighter REST root checked; account_index, api_key_index: the slot checked.
    """
    where = f"API key {api_key_index} of account {account_index}"
    message = _KEY_SUFFIX.sub("", error.strip())
    if message.startswith(_MISMATCH_PREFIX):
        keys = _MISMATCH_KEYS.search(message)
        shown = ""
        if keys:
            shown = f" (registered {_short(keys['registered'])}, this key's {_short(keys['own'])})"
        return f"Lighter rejected {where}: the private key does not match the public key registered on Lighter{shown}"
    if not message.startswith(_FETCH_PREFIX):
        return f"Lighter rejected {where}: {_one_line(message)}"
    cause = message[len(_FETCH_PREFIX) :]
    if cause.startswith(_NO_KEY_PREFIX):
        return f"Lighter rejected {where}: no key is registered in that slot"
    transport = _TRANSPORT.match(cause)
    if transport:
        return f"Lighter unavailable at {url}: {_one_line(transport['cause'])}"
    body = _json_object(cause)
    if body is None:
        if cause.lstrip().startswith("<"):
            return f"Lighter unavailable at {url}: non-JSON answer {_one_line(cause)[:120]!r}"
        return f"Lighter rejected {where}: {_one_line(cause)}"
    code, text = body.get("code"), _one_line(str(body.get("message", "")))
    if code == RATE_LIMIT_CODE:
        return f"Lighter rate-limited the check of {where} at {url}: code {code}: {text}"
    if isinstance(code, int) and 500 <= code <= 599:
        return f"Lighter unavailable at {url}: code {code}: {text}"
    return f"Lighter rejected {where}: code {code}: {text}"


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _short(public_key: str) -> str:
    return public_key if len(public_key) <= 16 else public_key[:16] + "..."


def _one_line(value: object) -> str:
    return " ".join(str(value).split())
