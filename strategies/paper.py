"""Paper mode: the account's venues replaced by the simulator, started in this process.

`perparb run FILE --account NAME --paper` (`strategies.runner`, `RunOptions(paper=True)`) calls
`start_paper_venues`: it starts `simulator.server.start_simulator` on loopback (scenario folder, default the
shipped demo one, `simulator/scenarios/demo`; clock at `speed` simulated seconds per real second), makes the
account's own credentials valid there and funds each venue account with `collateral_usd` USDC. The run then
builds its clients with the returned `settings`, whose four venue URLs point at the simulator, so the SAME
strategy code trades simulated venues. **Nothing of a paper run touches a real venue**: no URL of the returned
settings leaves 127.0.0.1, and the account's keys are only ever sent to the in-process simulator.

How the account's credentials are made valid on the simulator (admin API, `simulator/README.md`):

* Lighter (`POST /_sim/lighter/apikeys` {account_index, api_key_index, public_key}): the client's connect runs
  lighter-sdk's `check_client()`, which compares the key registered for the slot with the public key the signer
  derives from the API private key (PROTOCOL_NOTES §1.3). The vault holds only the private key and lighter-sdk
  1.1.8 exports no "public key of this private key" function; but its `CheckClient`, on a mismatch, answers
  `private key does not match the one on Lighter. ownPubKey: <80 hex> response: <80 hex>`
  (`exchange_clients.lighter.auth`). So a placeholder key is registered on the simulator, `check_client()` is run
  against the simulator, and `ownPubKey` is registered in its place. That failed check is not cached by the
  signer library (only successful ones are), so the client's own check at connect then passes.
  The account is funded with `POST /_sim/accounts` {account_index, collateral}.
* Paradex, L1-key account: a `ParadexSession` is opened once against the simulator, which onboards the L1 key
  and gives the L2 address; the session is closed and the L2 address funded with `POST /_sim/accounts`
  {address, collateral}.
* Paradex, subkey account (`l2_address` of the main account + `l2_private_key`): the subkey's public key
  (`paradex_py.account.utils.private_to_stark_key`) is registered with `POST /_sim/paradex/subkeys`
  {l2_address, public_key}, which makes the main account known; the main account is then funded.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import lighter

from database.accounts import AccountCredentials
from exchange_clients.base.credentials import LighterCredentials, ParadexCredentials
from exchange_clients.base.errors import PerparbError
from perparb.settings import Settings
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator

log = logging.getLogger(__name__)

PAPER_VENUES = ("lighter", "paradex")
_PLACEHOLDER_KEY = "00" * 40  # 40 bytes: a valid shape, and no private key derives it
_DERIVED: dict[tuple[int, int, str], str] = {}  # (account, slot, sha256 of the private key) -> public key
_OWN_PUBKEY = re.compile(r"ownPubKey: (?P<own>[0-9a-fA-F]{80})\b")


class PaperError(PerparbError):
    """Paper venues could not be prepared (venue not simulated, credentials the simulator cannot accept)."""


@dataclass
class PaperVenues:
    """The running paper venues.

    Attributes:
        settings: a copy of the caller's settings whose `lighter_url`, `paradex_url`, `lighter_ws_url` and
            `paradex_ws_url` point at the in-process simulator (everything else unchanged).
        sim: the simulator handle (admin: `sim.url("lighter") + "/_sim/..."`, `sim.clock`, fault injectors).
        accounts: per venue, the simulator account funded: {"lighter": {"account_index": int},
            "paradex": {"address": "0x..."}}.
    """

    settings: Settings
    sim: SimulatorHandle
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def now(self) -> datetime:
        """The simulator clock (`sim.clock.now_us()`) as an aware UTC datetime; runs at the paper `speed`."""
        return datetime.fromtimestamp(self.sim.clock.now_us() / 1_000_000, tz=timezone.utc)

    async def stop(self) -> None:
        """Stop the simulator (listeners, WebSockets, engines). Idempotent."""
        await self.sim.stop()


def paper_settings(settings: Settings, sim: SimulatorHandle) -> Settings:
    """`settings` with the four venue URLs replaced by the simulator's (no other field changes)."""
    return settings.model_copy(
        update={
            "lighter_url": sim.url("lighter"),
            "paradex_url": sim.url("paradex"),
            "lighter_ws_url": sim.ws_url("lighter"),
            "paradex_ws_url": sim.ws_url("paradex"),
        }
    )


def _paradex_root(sim: SimulatorHandle) -> str:
    return sim.url("paradex").removesuffix("/v1")


async def _admin(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    """POST an admin call to the simulator. Raises PaperError with the simulator's answer on a non-200."""
    async with http.post(url, json=body) as resp:
        text = await resp.text()
        if resp.status != 200:
            path = url.split("/_sim/", 1)[-1]
            raise PaperError(f"simulator refused /_sim/{path}: HTTP {resp.status} {text[:200]}")
        return await resp.json() if text else None


async def lighter_public_key(
    creds: LighterCredentials, sim: SimulatorHandle, http: aiohttp.ClientSession
) -> str:
    """The public key (80 hex digits, no 0x) of `creds.api_private_key`, derived by lighter-sdk's signer.

    Registers a placeholder key in the slot on the simulator, runs `check_client()` against it and reads
    `ownPubKey` from the mismatch error (see the module docstring). Only the simulator is contacted.

    The signer library remembers a successful check for the life of the process, after which a mismatch is no
    longer reported: so a key derived once is remembered here too (by a SHA-256 of the private key; the key
    itself is not kept) and later paper runs in the same process reuse it.

    Raises:
        PaperError: lighter-sdk refused the private key, or its answer carried no public key.
    """
    fingerprint = (
        creds.account_index,
        creds.api_key_index,
        hashlib.sha256(creds.api_private_key.get_secret_value().encode()).hexdigest(),
    )
    known = _DERIVED.get(fingerprint)
    if known is not None:
        return known
    await _admin(
        http,
        sim.url("lighter") + "/_sim/lighter/apikeys",
        {
            "account_index": creds.account_index,
            "api_key_index": creds.api_key_index,
            "public_key": _PLACEHOLDER_KEY,
        },
    )
    # The Go signer keeps one client per (account, slot) per process: serialise with credential checks.
    from exchange_clients.lighter.auth import _loop_lock

    async with _loop_lock():
        try:
            signer = lighter.SignerClient(
                url=sim.url("lighter"),
                account_index=creds.account_index,
                api_private_keys={creds.api_key_index: creds.api_private_key.get_secret_value()},
            )
        except Exception as exc:  # the SDK raises bare Exception(<Go error>) from CreateClient
            raise PaperError(
                f"lighter-sdk refused API key {creds.api_key_index} of account {creds.account_index}: "
                f"{type(exc).__name__}"
            ) from None
        try:
            error = await asyncio.to_thread(signer.check_client)
        finally:
            await signer.close()
    match = _OWN_PUBKEY.search(str(error or ""))
    if match is None:
        raise PaperError(
            f"could not derive the public key of Lighter API key {creds.api_key_index} of account "
            f"{creds.account_index} from lighter-sdk (check answered {'ok' if error is None else 'otherwise'})"
        )
    _DERIVED[fingerprint] = match["own"].lower()
    return _DERIVED[fingerprint]


async def _prepare_lighter(
    creds: LighterCredentials, sim: SimulatorHandle, http: aiohttp.ClientSession, collateral: Decimal
) -> dict[str, Any]:
    public_key = await lighter_public_key(creds, sim, http)
    await _admin(
        http,
        sim.url("lighter") + "/_sim/lighter/apikeys",
        {
            "account_index": creds.account_index,
            "api_key_index": creds.api_key_index,
            "public_key": public_key,
        },
    )
    await _admin(
        http,
        sim.url("lighter") + "/_sim/accounts",
        {"account_index": creds.account_index, "collateral": str(collateral)},
    )
    return {"account_index": creds.account_index}


async def _prepare_paradex(
    creds: ParadexCredentials,
    sim: SimulatorHandle,
    settings: Settings,
    http: aiohttp.ClientSession,
    collateral: Decimal,
) -> dict[str, Any]:
    root = _paradex_root(sim)
    if creds.is_subkey:
        from paradex_py.account.utils import private_to_stark_key

        assert creds.l2_private_key is not None and creds.l2_address is not None
        public_key = private_to_stark_key(int(creds.l2_private_key.get_secret_value(), 16))
        await _admin(
            http,
            root + "/_sim/paradex/subkeys",
            {"l2_address": creds.l2_address, "public_key": hex(public_key)},
        )
        address = creds.l2_address
    else:
        from exchange_clients.paradex.client.session import ParadexSession

        session = ParadexSession(creds, settings)
        await session.open()  # onboards the L1 key on the simulator
        try:
            address = session.account_address
        finally:
            await session.close()
    await _admin(http, root + "/_sim/accounts", {"address": address, "collateral": str(collateral)})
    return {"address": address}


async def start_paper_venues(
    account: AccountCredentials,
    venues: list[str],
    settings: Settings,
    *,
    scenario: Path | None,
    speed: float,
    collateral_usd: Decimal,
) -> PaperVenues:
    """Start the simulator in process and make `account` trade there on `venues` (see the module docstring).

    Args:
        account: the account as loaded from the vault (credentials for every venue of `venues`).
        venues: venues the run trades; each must be simulated ("lighter", "paradex").
        settings: the run's settings; the returned copy differs only in the four venue URLs.
        scenario: simulator scenario folder (None = `simulator.server.DEMO_SCENARIO`).
        speed: simulated seconds per real second (> 0; 3600 = one funding hour per second).
        collateral_usd: USDC deposited into each venue account (> 0).

    Returns:
        `PaperVenues` (settings, sim, now(), stop()). The caller must `await stop()`.

    Raises:
        PaperError: a venue the simulator does not provide, non-positive collateral, credentials it cannot accept.
        ValueError: speed <= 0. ScenarioError: unusable scenario folder.
        CredentialsError: the account lacks credentials for one of `venues`.
        Venue errors of the Paradex session (onboarding against the simulator).
    """
    unknown = [v for v in venues if v not in PAPER_VENUES]
    if unknown:
        raise PaperError(f"paper mode simulates {list(PAPER_VENUES)}, not {unknown}")
    if collateral_usd <= 0:
        raise PaperError(f"paper collateral must be positive, got {collateral_usd}")
    if speed <= 0:
        raise ValueError(f"paper speed must be positive, got {speed}")
    creds = {v: account.for_venue(v) for v in venues}
    sim = await start_simulator(scenario or DEMO_SCENARIO, speed=speed)
    paper = PaperVenues(settings=paper_settings(settings, sim), sim=sim)
    try:
        async with aiohttp.ClientSession() as http:
            steps: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {}
            for venue, c in creds.items():
                if isinstance(c, LighterCredentials):
                    steps[venue] = lambda c=c: _prepare_lighter(c, sim, http, collateral_usd)
                elif isinstance(c, ParadexCredentials):
                    steps[venue] = lambda c=c: _prepare_paradex(c, sim, paper.settings, http, collateral_usd)
                else:  # pragma: no cover - CREDENTIAL_TYPES has only the two
                    raise PaperError(f"no paper set-up for {venue} credentials")
            for venue, step in steps.items():
                paper.accounts[venue] = await step()
    except BaseException:
        await sim.stop()
        raise
    log.info(
        "paper venues for account %r: %s on the in-process simulator (%s, speed %gx), %s USDC each",
        account.name,
        venues,
        (scenario or DEMO_SCENARIO).name,
        speed,
        collateral_usd,
    )
    return paper
