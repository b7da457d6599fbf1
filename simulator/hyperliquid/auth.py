"""Who signed an `/exchange` action, and may they act: the simulator VERIFIES Hyperliquid's signatures.

Unlike the other simulated venues, every `POST /exchange` body is checked the way the venue checks it, with
hyperliquid-python-sdk 0.24.0's own functions (`hyperliquid/utils/signing.py`; line numbers in
../shared/reference/hyperliquid_funding_units.md "Signing"):

* L1 actions (`order`, `cancel`, `cancelByCloid`, `updateLeverage`, `scheduleCancel`, ...): the signer is recovered
  with `recover_agent_or_user_from_l1_action(action, signature, vaultAddress, nonce, expiresAfter, is_mainnet)`
  (l. 458): keccak of msgpack(action) || nonce || vault flag [|| expiresAfter], wrapped in the phantom agent
  `{source, connectionId}` and EIP-712 `Agent` (chainId 1337). The simulator is not mainnet: source "b", as the SDK
  signs for any URL but `https://api.hyperliquid.xyz`. The signer must be a known account (it acts for itself) or
  an agent (API wallet) approved for one (it acts for that account).
* `approveAgent` (user-signed, l. 412 `sign_agent`): recovered with `recover_user_from_user_signed_action` and the
  `HyperliquidTransaction:ApproveAgent` types; the signer must be a known account; the agent is then approved for it.

A signature that does not verify recovers SOME address, unknown to the venue: it is refused as the venue refuses
an unknown signer (`{"status":"err","response":"User or API Wallet 0x... does not exist."}`,
venue-data/hyperliquid/rest_exchange_err_wallet_does_not_exist.json); so are an unapproved agent and a wrong key.
A signature that cannot be read at all (r / s / v missing or not numbers) is answered like a body the venue
cannot deserialise (HTTP 422 "Failed to deserialize the JSON body into the target type").

Nonces (docs for-developers/api/nonces-and-api-wallets.md): per signer the 100 highest nonces are kept; a new
nonce must not be one of them ("Invalid nonce: duplicate nonce <n>", the venue's text as quoted in
nomeida/hyperliquid#61), must exceed the smallest of them once 100 are kept, and must lie in
(now - 2 days, now + 1 day) of the WALL clock (the SDK stamps nonces with `time.time()`, whatever the speed of the
simulation clock); the texts of those two refusals are not recorded ("Invalid nonce: nonce <n> too low" / "...
outside the allowed time window" are the simulator's). A nonce is used once the signer is known and the nonce
valid, whatever the action's outcome. `expiresAfter` in the past (wall clock) -> "Action expired" (not recorded).
Private keys never reach the simulator; addresses are logged, signatures are not.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hyperliquid.utils.signing import (
    recover_agent_or_user_from_l1_action,
    recover_user_from_user_signed_action,
)

log = logging.getLogger("perparb.simulator")

NONCES_KEPT = 100
NONCE_PAST_MS = 2 * 86_400_000
NONCE_FUTURE_MS = 86_400_000
APPROVE_AGENT_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
]
APPROVE_AGENT_PRIMARY = "HyperliquidTransaction:ApproveAgent"


class ActionRefused(Exception):
    """An `/exchange` action the venue refuses as a whole: `{"status":"err","response": text}` (HTTP 200)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class BadSignature(Exception):
    """A signature the venue cannot even deserialise (HTTP 422)."""


def wall_ms() -> int:
    """Wall-clock epoch milliseconds (nonces and expiries are checked on it)."""
    return time.time_ns() // 1_000_000


def _signature_parts(signature: Any) -> dict[str, Any]:
    if not isinstance(signature, dict):
        raise BadSignature("signature must be an object {r, s, v}")
    r, s, v = signature.get("r"), signature.get("s"), signature.get("v")
    if not isinstance(r, str) or not isinstance(s, str) or isinstance(v, bool) or not isinstance(v, int):
        raise BadSignature("signature needs hex strings r, s and an integer v")
    try:
        int(r, 16), int(s, 16)
    except ValueError:
        raise BadSignature("signature r / s are not hex") from None
    return {"r": r, "s": s, "v": v}


def recover_l1_signer(payload: dict[str, Any], *, is_mainnet: bool = False) -> str:
    """The address (lower-case) that signed the L1 action of an `/exchange` body (SDK recovery, module docstring).

    Raises:
        BadSignature: r / s / v unreadable, or a value the recovery refuses (e.g. v not 27 / 28).
    """
    signature = _signature_parts(payload.get("signature"))
    try:
        signer: str = recover_agent_or_user_from_l1_action(
            payload["action"],
            signature,
            payload.get("vaultAddress"),
            payload["nonce"],
            payload.get("expiresAfter"),
            is_mainnet,
        )
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadSignature(f"signature cannot be recovered: {type(exc).__name__}") from None
    return signer.lower()


def recover_approve_agent_signer(payload: dict[str, Any], *, is_mainnet: bool = False) -> str:
    """The address (lower-case) that signed an `approveAgent` action (user-signed, EIP-712
    `HyperliquidTransaction:ApproveAgent`). The SDK deletes an absent `agentName` after signing it as "": it is
    restored before recovery.

    Raises:
        BadSignature: as `recover_l1_signer`, or `signatureChainId` missing / not hex."""
    signature = _signature_parts(payload.get("signature"))
    action = dict(payload["action"])
    action.setdefault("agentName", "")
    try:
        int(str(action.get("signatureChainId")), 16)
        signer: str = recover_user_from_user_signed_action(
            action, signature, APPROVE_AGENT_TYPES, APPROVE_AGENT_PRIMARY, is_mainnet
        )
    except (ValueError, TypeError, OverflowError, KeyError) as exc:
        raise BadSignature(f"signature cannot be recovered: {type(exc).__name__}") from None
    return signer.lower()


@dataclass
class NonceBook:
    """The highest nonces used per signer (module docstring)."""

    kept: int = NONCES_KEPT
    clock_ms: Callable[[], int] = wall_ms
    _used: dict[str, list[int]] = field(default_factory=dict)

    def check(self, signer: str, nonce: int) -> None:
        """Refuse a nonce `signer` may not use now.

        Raises:
            ActionRefused: duplicate, below the kept window, or outside (now - 2 days, now + 1 day)."""
        used = self._used.get(signer, [])
        i = bisect.bisect_left(used, nonce)
        if i < len(used) and used[i] == nonce:
            raise ActionRefused(f"Invalid nonce: duplicate nonce {nonce}")
        if len(used) >= self.kept and nonce < used[0]:
            raise ActionRefused(f"Invalid nonce: nonce {nonce} too low (below the {self.kept} kept)")
        now = self.clock_ms()
        if not now - NONCE_PAST_MS < nonce < now + NONCE_FUTURE_MS:
            raise ActionRefused(f"Invalid nonce: nonce {nonce} outside the allowed time window")

    def use(self, signer: str, nonce: int) -> None:
        """Record `nonce` as used by `signer` (after `check`)."""
        used = self._used.setdefault(signer, [])
        bisect.insort(used, nonce)
        if len(used) > self.kept:
            del used[0]


@dataclass
class Agents:
    """Approved agents (API wallets): agent address -> the account it signs for, and their names."""

    by_agent: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def approve(self, user: str, agent: str, name: str = "") -> None:
        """Approve `agent` for `user` (an agent approved again moves to the new user; addresses lower-case).

        Raises:
            ValueError: an agent that is the user itself."""
        user, agent = user.lower(), agent.lower()
        if user == agent:
            raise ValueError(f"agent {agent} is the account itself")
        self.by_agent[agent] = user
        self.names[agent] = name
        log.info("hyperliquid agent %s approved for %s", agent, user)

    def user_of(self, agent: str) -> str | None:
        return self.by_agent.get(agent.lower())

    def of_user(self, user: str) -> list[str]:
        """The agents approved for `user`, sorted."""
        user = user.lower()
        return sorted(a for a, u in self.by_agent.items() if u == user)
