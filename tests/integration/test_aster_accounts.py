"""Aster accounts: the V3 API wallet (user address in clear, wallet key encrypted) and the V1 API key (both parts
encrypted), through the vault and the generic account CLI (`--from-env`, `--from-file`, `--interactive`); no secret
in any table, log, error, repr or CLI output; `verify-account` against the simulated Aster, which verifies the
signatures (a wrong key is refused with the venue's -1022 / -2015)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from eth_account import Account
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from database import accounts as acc
from database.vault import Vault, encode_key, new_key
from exchange_clients.aster.credentials import AsterCredentials
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator
from tests.integration.test_accounts import accounts_engine, all_table_text, cli_env, run, secret_forms

pytestmark = pytest.mark.integration
__all__ = ["accounts_engine"]


def wallet() -> tuple[str, str]:
    key = "0x" + secrets.token_hex(32)
    return key, Account.from_key(key).address.lower()


def api_pair() -> tuple[str, str]:
    return secrets.token_hex(32), secrets.token_hex(32)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with await start_simulator(DEMO_SCENARIO, venues=["aster"]) as handle:
        yield handle


async def admin(sim: SimulatorHandle, path: str, body: object) -> object:
    async with aiohttp.ClientSession() as s, s.post(sim.venues["aster"].root_url + path, json=body) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_no_aster_secret_anywhere(
    accounts_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    vault = Vault.from_key(new_key())
    key, signer = wallet()
    api_key, api_secret = api_pair()
    user = "0x" + secrets.token_hex(20)
    with caplog.at_level(logging.DEBUG):
        await acc.add_account(
            accounts_engine,
            vault,
            name="ana",
            creds=AsterCredentials(user_address=user, signer_private_key=SecretStr(key)),
        )
        await acc.add_account(
            accounts_engine,
            vault,
            name="ben",
            creds=AsterCredentials(api_key=SecretStr(api_key), api_secret=SecretStr(api_secret)),
        )
        loaded = await acc.load_account(accounts_engine, vault, "ana")
        loaded_v1 = await acc.load_account(accounts_engine, vault, "ben")
        errors = []
        for fields in (
            {"user_address": user, "signer_private_key": key[:-2]},
            {"user_address": user, "signer_private_key": "zz" + key[4:]},
            {"api_key": api_key, "api_secret": api_secret + "!"},
            {"api_key": api_key},
        ):
            try:
                acc.parse_credentials("aster", fields)
            except acc.CredentialsError as exc:
                errors.append(str(exc) + repr(exc))
    creds = loaded.for_venue("aster")
    assert isinstance(creds, AsterCredentials) and creds.signer_private_key is not None
    assert creds.signer_private_key.get_secret_value() == key and creds.signer_address == signer
    v1 = loaded_v1.for_venue("aster")
    assert isinstance(v1, AsterCredentials) and v1.api_secret is not None
    assert v1.api_secret.get_secret_value() == api_secret
    assert len(errors) == 4
    summary = {a.name: a for a in await acc.list_accounts(accounts_engine)}
    assert summary["ana"].venues["aster"]["public"] == {"user_address": user, "signer_address": signer}
    haystacks = {
        "tables": await all_table_text(accounts_engine),
        "logs": caplog.text.lower(),
        "errors": " ".join(errors).lower(),
        "repr": (repr(loaded) + str(loaded) + repr(creds) + repr(loaded_v1) + repr(v1)).lower(),
        "list": json.dumps([a.to_json_dict() for a in await acc.list_accounts(accounts_engine)]).lower(),
    }
    for where, hay in haystacks.items():
        for secret in (key, api_key, api_secret):
            for form in secret_forms(secret):
                assert form not in hay, f"secret found in {where}"
    assert user in haystacks["tables"] and signer in haystacks["list"]


async def test_account_cli_and_verification_against_the_simulator(
    accounts_engine: AsyncEngine, db_url: str, tmp_path: Path, sim: SimulatorHandle
) -> None:
    key, signer = wallet()
    stray_key, _stray = wallet()
    api_key, api_secret = api_pair()
    user = "0x" + secrets.token_hex(20)
    await admin(sim, "/_sim/aster/agents", {"user": user, "signer": signer})
    await admin(sim, "/_sim/accounts", {"user": user, "collateral": "2500"})
    answer = await admin(sim, "/_sim/aster/apikeys", {"api_key": api_key, "api_secret": api_secret})
    assert isinstance(answer, dict)
    env = cli_env(
        db_url, tmp_path, PERPARB_MASTER_KEY=encode_key(new_key()), PERPARB_ASTER_URL=sim.url("aster")
    )
    transcript = []
    code, out, err = await run(
        {**env, "PERPARB_ASTER_USER_ADDRESS": user, "PERPARB_ASTER_SIGNER_PRIVATE_KEY": key},
        "accounts",
        "add-account",
        "--name",
        "cora",
        "--venue",
        "aster",
        "--from-env",
        cwd=tmp_path,
    )
    transcript.append(out + err)
    assert code == 0, err
    keyfile = tmp_path / "aster.json"
    keyfile.write_text(json.dumps({"api_key": api_key, "api_secret": api_secret}))
    os.chmod(keyfile, 0o600)
    code, out, err = await run(
        env,
        "accounts",
        "add-account",
        "--name",
        "dan",
        "--venue",
        "aster",
        "--from-file",
        str(keyfile),
        cwd=tmp_path,
    )
    transcript.append(out + err)
    assert code == 0, err
    # --interactive: the four fields prompted, the secret ones hidden; a wallet key not registered for the user
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "perparb",
        "accounts",
        "add-account",
        "--name",
        "eve",
        "--venue",
        "aster",
        "--interactive",
        env=env,
        cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out_b, err_b = await asyncio.wait_for(
        proc.communicate(f"{user}\n{stray_key}\n\n\n".encode()), timeout=120
    )
    transcript.append((out_b + err_b).decode())
    assert proc.returncode == 0, transcript[-1]
    assert "aster signer_private_key" in transcript[-1]
    code, out, err = await run(
        {**env, "PERPARB_ASTER_USER_ADDRESS": user, "PERPARB_ASTER_SIGNER_PRIVATE_KEY": key[:-3]},
        "accounts",
        "add-account",
        "--name",
        "fay",
        "--venue",
        "aster",
        "--from-env",
        cwd=tmp_path,
    )
    transcript.append(out + err)
    assert code == 2 and "signer_private_key" in err

    code, out, err = await run(env, "accounts", "verify-account", "--name", "cora", "--json", cwd=tmp_path)
    transcript.append(out + err)
    assert code == 0, out + err
    (result,) = json.loads(out)
    assert result["ok"] and "equity 2500" in result["detail"]
    code, out, err = await run(env, "accounts", "verify-account", "--name", "dan", "--json", cwd=tmp_path)
    transcript.append(out + err)
    assert code == 0 and json.loads(out)[0]["ok"], out + err
    code, out, err = await run(env, "accounts", "verify-account", "--name", "eve", cwd=tmp_path)
    transcript.append(out + err)
    assert code == 1 and "failed" in out and "-2015" in out
    everything = "\n".join(transcript).lower()
    for secret in (key, stray_key, api_key, api_secret):
        for form in secret_forms(secret):
            assert form not in everything
