"""Credential verification through the REAL SDKs against the in-process simulator.

Lighter: lighter-sdk `SignerClient.check_client()` (Go signer) against `GET /api/v1/apikeys`. Paradex: paradex-py's
`Paradex` (L1 key: /auth -> NOT_ONBOARDED -> /onboarding -> /auth) and `ParadexSubkey` (through the URL-rewriting
transport) against `/v1/auth/{public_key}`. Keys are throw-away keys made here; nothing leaves the machine.

Each Lighter test uses its own account index: the SDK's signer library remembers successful checks for the life of
the process (pinned by `test_lighter_sdk_remembers_a_successful_check_for_the_process`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import shutil
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import lighter
import pytest
import pytest_asyncio
from eth_account import Account
from lighter.signer_client import create_api_key
from paradex_py.account.utils import private_to_stark_key, resolve_l2_keypair
from paradex_py.api.api_client import ParadexApiClient
from pydantic import SecretStr

import simulator.auth
from exchange_clients import registry
from exchange_clients.base.auth import VerifyResult
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.credentials import ParadexCredentials
from perparb_core.settings import VenueConfig
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.configs import sim_config

pytestmark = pytest.mark.integration

SLOT = 3


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO) as handle:
        yield handle


def settings_for(handle: SimulatorHandle, *, timeout: float = 5.0) -> dict[str, VenueConfig]:
    """Each simulated venue's config (the venue's verification takes its own config)."""
    return {v: sim_config(handle, v, timeout=timeout, retries=0) for v in ("lighter", "paradex")}


async def verify_credentials(creds: BaseCredentials, configs: Mapping[str, VenueConfig]) -> VerifyResult:
    """`registry.verify_credentials` with the config of the credentials' venue."""
    return await registry.verify_credentials(creds, configs[creds.venue])


def paradex_root(handle: SimulatorHandle) -> str:
    return handle.url("paradex").removesuffix("/v1")


async def admin(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    async with aiohttp.ClientSession() as http, http.request(method, url, json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def register_lighter_key(handle: SimulatorHandle, account: int, slot: int, public_key: str) -> None:
    body = {"account_index": account, "api_key_index": slot, "public_key": public_key}
    await admin("POST", handle.url("lighter") + "/_sim/lighter/apikeys", body)


async def register_subkey(handle: SimulatorHandle, main_account: str, public_key: int) -> None:
    body = {"l2_address": main_account, "public_key": hex(public_key)}
    await admin("POST", paradex_root(handle) + "/_sim/paradex/subkeys", body)


def lighter_creds(account: int, private_key: str, slot: int = SLOT) -> LighterCredentials:
    return LighterCredentials(
        account_index=account, api_key_index=slot, api_private_key=SecretStr(private_key)
    )


def new_lighter_key() -> tuple[str, str]:
    private_key, public_key, error = create_api_key()
    assert error is None
    return private_key, public_key


def stark_private_key(seed: int) -> str:
    """A deterministic, full-size Stark private key (below 2^250, inside the curve order)."""
    return hex(int(hashlib.sha256(f"perparb test subkey {seed}".encode()).hexdigest(), 16) % 2**250)


# ------------------------------------------------------------------------------------------------- Lighter


async def test_lighter_registered_key_is_accepted(sim: SimulatorHandle) -> None:
    private_key, public_key = new_lighter_key()
    await register_lighter_key(sim, 7001, SLOT, public_key)

    result = await verify_credentials(lighter_creds(7001, private_key), settings_for(sim))

    assert result == VerifyResult(
        "lighter",
        True,
        f"API key 3 of account 7001 matches the public key registered on Lighter ({sim.url('lighter')})",
    )


async def test_lighter_other_key_for_the_same_slot_is_rejected(sim: SimulatorHandle) -> None:
    _, registered = new_lighter_key()
    private_key, own = new_lighter_key()
    await register_lighter_key(sim, 7002, SLOT, registered)

    result = await verify_credentials(lighter_creds(7002, private_key), settings_for(sim))

    assert result == VerifyResult(
        "lighter",
        False,
        "Lighter rejected API key 3 of account 7002: the private key does not match the public key registered on "
        f"Lighter (registered {registered[2:18]}..., this key's {own[2:18]}...)",
    )


async def test_lighter_unknown_account_is_rejected_with_the_venue_code(sim: SimulatorHandle) -> None:
    private_key, _ = new_lighter_key()

    result = await verify_credentials(lighter_creds(7_999_999, private_key), settings_for(sim))

    assert result == VerifyResult(
        "lighter", False, "Lighter rejected API key 3 of account 7999999: code 21100: account not found"
    )


async def test_lighter_empty_slot_of_a_known_account_is_rejected(sim: SimulatorHandle) -> None:
    _, public_key = new_lighter_key()
    private_key, _ = new_lighter_key()
    await register_lighter_key(sim, 7004, SLOT, public_key)

    result = await verify_credentials(lighter_creds(7004, private_key, slot=5), settings_for(sim))

    assert result == VerifyResult(
        "lighter", False, "Lighter rejected API key 5 of account 7004: no key is registered in that slot"
    )


async def test_lighter_simulator_down_is_reported_unavailable() -> None:
    handle = await start_simulator(DEMO_SCENARIO)
    settings = settings_for(handle)
    port = handle.url("lighter").rsplit(":", 1)[1]
    await handle.stop()
    private_key, _ = new_lighter_key()

    result = await verify_credentials(lighter_creds(7005, private_key), settings)

    assert result == VerifyResult(
        "lighter",
        False,
        f"Lighter unavailable at {handle.url('lighter')}: dial tcp 127.0.0.1:{port}: connect: connection refused",
    )


async def test_lighter_server_error_is_reported_unavailable(sim: SimulatorHandle) -> None:
    private_key, public_key = new_lighter_key()
    await register_lighter_key(sim, 7006, SLOT, public_key)
    await admin("POST", sim.url("lighter") + "/_sim/faults", {"http_status": 503, "count": 1})

    result = await verify_credentials(lighter_creds(7006, private_key), settings_for(sim))

    assert result == VerifyResult(
        "lighter", False, f"Lighter unavailable at {sim.url('lighter')}: code 503: Service Unavailable"
    )
    # the fault was used up: the same key now passes
    assert (await verify_credentials(lighter_creds(7006, private_key), settings_for(sim))).ok


async def test_lighter_rate_limit_is_reported(sim: SimulatorHandle) -> None:
    private_key, public_key = new_lighter_key()
    await register_lighter_key(sim, 7007, SLOT, public_key)
    await admin("POST", sim.url("lighter") + "/_sim/faults", {"http_status": 429, "count": 1})

    result = await verify_credentials(lighter_creds(7007, private_key), settings_for(sim))

    assert result == VerifyResult(
        "lighter",
        False,
        f"Lighter rate-limited the check of API key 3 of account 7007 at {sim.url('lighter')}: "
        "code 23000: Too Many Requests!",
    )


async def test_lighter_slow_venue_times_out(sim: SimulatorHandle) -> None:
    private_key, public_key = new_lighter_key()
    await register_lighter_key(sim, 7008, SLOT, public_key)
    await admin("POST", sim.url("lighter") + "/_sim/faults", {"latency_seconds": 1.5, "count": 1})

    result = await verify_credentials(lighter_creds(7008, private_key), settings_for(sim, timeout=0.3))

    assert result == VerifyResult(
        "lighter", False, f"Lighter unavailable at {sim.url('lighter')}: no answer within 0.3 s"
    )


async def test_lighter_sdk_remembers_a_successful_check_for_the_process(sim: SimulatorHandle) -> None:
    """SDK limitation, pinned so a change of lighter-sdk shows up: after one successful check of (account, slot,
    key), the signer library answers ok again without asking Lighter, even once the slot holds another key."""
    private_key, public_key = new_lighter_key()
    _, replacement = new_lighter_key()
    await register_lighter_key(sim, 7009, SLOT, public_key)
    assert (await verify_credentials(lighter_creds(7009, private_key), settings_for(sim))).ok

    await register_lighter_key(sim, 7009, SLOT, replacement)
    served = await admin("GET", f"{sim.url('lighter')}/api/v1/apikeys?account_index=7009")
    assert served["api_keys"][0]["public_key"] == replacement[2:]

    again = await verify_credentials(lighter_creds(7009, private_key), settings_for(sim))
    assert again.ok is True


async def test_lighter_sdk_error_is_reported_without_the_key(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    private_key, _ = new_lighter_key()

    def refuse(**kwargs: Any) -> None:
        raise Exception(
            f"error occurred when creating TxClient. err: bad key {kwargs['api_private_keys'][SLOT]}"
        )

    monkeypatch.setattr(lighter, "SignerClient", refuse)
    result = await verify_credentials(lighter_creds(7010, private_key), settings_for(sim))

    assert result == VerifyResult(
        "lighter",
        False,
        "lighter-sdk refused API key 3 of account 7010: error occurred when creating TxClient. err: bad key [redacted]",
    )


# ------------------------------------------------------------------------------------------------- Paradex


async def test_paradex_l1_account_is_onboarded_then_authenticated(sim: SimulatorHandle) -> None:
    eth = Account.create()
    creds = ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex()))

    first = await verify_credentials(creds, settings_for(sim))

    onboarded = await admin("GET", paradex_root(sim) + "/_sim/paradex/accounts")
    mine = [row for row in onboarded["results"] if row["ethereum_account"] == eth.address]
    assert len(mine) == 1
    l2_address = mine[0]["address"]
    assert first == VerifyResult(
        "paradex",
        True,
        f"Paradex accepted L1 account {eth.address}: JWT obtained for L2 account {l2_address} (onboarded now)",
    )
    second = await verify_credentials(creds, settings_for(sim))
    assert second == VerifyResult(
        "paradex",
        True,
        f"Paradex accepted L1 account {eth.address}: JWT obtained for L2 account {l2_address}",
    )


async def test_paradex_registered_subkey_is_accepted(sim: SimulatorHandle) -> None:
    main_account = "0x5ab100000000000000000000000000000000000000000000000000000000001"
    private_key = stark_private_key(1)
    public_key = private_to_stark_key(int(private_key, 16))
    await register_subkey(sim, main_account, public_key)
    creds = ParadexCredentials(l2_address=main_account, l2_private_key=SecretStr(private_key))

    result = await verify_credentials(creds, settings_for(sim))

    assert result == VerifyResult(
        "paradex", True, f"Paradex accepted subkey {hex(public_key)} of account {main_account}: JWT obtained"
    )


async def test_paradex_unregistered_subkey_is_rejected(sim: SimulatorHandle) -> None:
    main_account = "0x5ab100000000000000000000000000000000000000000000000000000000002"
    await register_subkey(sim, main_account, private_to_stark_key(int(stark_private_key(2), 16)))
    private_key = stark_private_key(3)
    public_key = hex(private_to_stark_key(int(private_key, 16)))
    creds = ParadexCredentials(l2_address=main_account, l2_private_key=SecretStr(private_key))

    result = await verify_credentials(creds, settings_for(sim))

    assert result == VerifyResult(
        "paradex",
        False,
        f"Paradex rejected subkey {public_key} of account {main_account}: HTTP 401 UNAUTHORIZED_ERROR: public key "
        f"{public_key} is neither the key nor an active subkey of account {main_account}",
    )


async def test_paradex_subkey_of_an_unknown_account_is_not_onboarded(sim: SimulatorHandle) -> None:
    main_account = "0x5ab100000000000000000000000000000000000000000000000000000000003"
    private_key = stark_private_key(4)
    public_key = hex(private_to_stark_key(int(private_key, 16)))
    creds = ParadexCredentials(l2_address=main_account, l2_private_key=SecretStr(private_key))

    result = await verify_credentials(creds, settings_for(sim))

    assert result == VerifyResult(
        "paradex",
        False,
        f"Paradex rejected subkey {public_key} of account {main_account}: HTTP 400 NOT_ONBOARDED: "
        "User has never called /onboarding endpoint",
    )


async def test_paradex_simulator_down_is_reported_unavailable() -> None:
    handle = await start_simulator(DEMO_SCENARIO)
    settings = settings_for(handle)
    await handle.stop()
    eth = Account.create()
    creds = ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex()))

    result = await verify_credentials(creds, settings)

    assert result == VerifyResult(
        "paradex",
        False,
        f"Paradex unavailable at {handle.url('paradex')}: ConnectError: [Errno 111] Connection refused",
    )


async def test_paradex_server_error_is_reported_unavailable(sim: SimulatorHandle) -> None:
    await admin("POST", paradex_root(sim) + "/_sim/faults", {"http_status": 503, "count": 1})
    eth = Account.create()
    creds = ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex()))

    result = await verify_credentials(creds, settings_for(sim))

    assert result == VerifyResult(
        "paradex",
        False,
        f"Paradex unavailable at {sim.url('paradex')}: HTTP 503 SERVICE_UNAVAILABLE: simulated fault: HTTP 503",
    )


# ------------------------------------------------------------------------------------------------- scenario files


async def test_keys_registered_by_scenario_files_are_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "scenario"
    (folder / "lighter").mkdir(parents=True)
    (folder / "paradex").mkdir()
    shutil.copy(DEMO_SCENARIO / "paradex" / "system_config.json", folder / "paradex" / "system_config.json")
    lighter_private, lighter_public = new_lighter_key()
    (folder / "lighter" / "apikeys.json").write_text(
        json.dumps(
            {
                "code": 200,
                "api_keys": [
                    {
                        "account_index": 7100,
                        "api_key_index": SLOT,
                        "nonce": 41,
                        "public_key": lighter_public[2:],
                        "transaction_time": 1_700_000_000_000_000,
                    }
                ],
            }
        )
    )
    main_account = "0x5ab100000000000000000000000000000000000000000000000000000000010"
    active, revoked = stark_private_key(10), stark_private_key(11)
    (folder / "paradex" / "subkeys.json").write_text(
        json.dumps(
            {
                "results": [
                    {
                        "account_id": main_account,
                        "public_key": hex(private_to_stark_key(int(active, 16))),
                        "state": "active",
                        "revoked_at": 0,
                    },
                    {
                        "account_id": main_account,
                        "public_key": hex(private_to_stark_key(int(revoked, 16))),
                        "state": "active",
                        "revoked_at": 1_700_000_000_000_000_000,
                    },
                ]
            }
        )
    )
    async with await start_simulator(folder) as handle:
        settings = settings_for(handle)
        nonce = await admin(
            "GET", f"{handle.url('lighter')}/api/v1/nextNonce?account_index=7100&api_key_index=3"
        )
        assert nonce == {"code": 200, "nonce": 41}
        assert (await verify_credentials(lighter_creds(7100, lighter_private), settings)).ok is True
        ok = await verify_credentials(
            ParadexCredentials(l2_address=main_account, l2_private_key=SecretStr(active)), settings
        )
        refused = await verify_credentials(
            ParadexCredentials(l2_address=main_account, l2_private_key=SecretStr(revoked)), settings
        )
    assert ok.ok is True
    assert refused.ok is False
    assert "HTTP 401 UNAUTHORIZED_ERROR" in refused.detail


# ------------------------------------------------------------------------------------------------- secrets


async def test_no_secret_reaches_results_logs_output_or_reprs(
    sim: SimulatorHandle,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Private keys (and the L2 key derived from an L1 key) and every JWT the simulator issued are absent from the
    results, their reprs, the credentials' reprs, every log record at DEBUG (SDK loggers included) and the
    process's stdout/stderr (the Go signer writes there directly)."""
    issued: list[str] = []
    original_jwt = simulator.paradex.auth.ParadexAuth._jwt

    def spy(self: simulator.paradex.auth.ParadexAuth, address: int, public_key: int) -> str:
        token = original_jwt(self, address, public_key)
        issued.append(token)
        return token

    monkeypatch.setattr(simulator.paradex.auth.ParadexAuth, "_jwt", spy)
    caplog.set_level(logging.DEBUG)
    settings = settings_for(sim)

    lighter_private, lighter_public = new_lighter_key()
    other_private, _ = new_lighter_key()
    await register_lighter_key(sim, 7200, SLOT, lighter_public)
    eth = Account.create()
    main_account = "0x5ab100000000000000000000000000000000000000000000000000000000020"
    sub_ok, sub_bad = stark_private_key(20), stark_private_key(21)
    await register_subkey(sim, main_account, private_to_stark_key(int(sub_ok, 16)))
    all_creds: list[LighterCredentials | ParadexCredentials] = [
        lighter_creds(7200, lighter_private),
        lighter_creds(7200, other_private),
        ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex())),
        ParadexCredentials(l2_address=main_account, l2_private_key=SecretStr(sub_ok)),
        ParadexCredentials(l2_address=main_account, l2_private_key=SecretStr(sub_bad)),
    ]
    results = [await verify_credentials(creds, settings) for creds in all_creds]

    assert [r.ok for r in results] == [True, False, True, True, False]
    assert len(issued) == 2  # the L1 account and the registered subkey
    # blocking SDK call: off the loop, which serves the simulator
    config = await asyncio.to_thread(
        ParadexApiClient(env="prod", api_base_url=sim.url("paradex")).fetch_system_config
    )
    derived_l2 = resolve_l2_keypair(
        config=config, l1_address=eth.address, l1_private_key=eth.key.hex()
    ).private_key
    key_texts = [lighter_private, other_private, eth.key.hex(), sub_ok, sub_bad, hex(derived_l2)]
    forbidden = {text.removeprefix("0x").lower() for text in key_texts}
    forbidden |= {str(int(text, 16)) for text in key_texts}  # decimal spelling of the same numbers
    forbidden |= set(issued) | {part for token in issued for part in token.split(".")[1:]}
    out, err = capfd.readouterr()
    haystacks = {
        "results": " ".join(r.detail for r in results),
        "result reprs": " ".join(repr(r) for r in results),
        "credential reprs": " ".join(repr(c) + str(c) for c in all_creds),
        "log text": caplog.text,
        "log messages": " ".join(record.getMessage() for record in caplog.records),
        "stdout/stderr": out + err,
    }
    assert caplog.records, "the SDKs and perparb logged nothing at DEBUG: the test would prove nothing"
    for where, text in haystacks.items():
        lowered = text.lower()
        leaked = [secret[:10] for secret in forbidden if secret.lower() in lowered]
        assert not leaked, f"secret(s) starting {leaked} found in {where}"
