"""Backpack accounts: the API key in clear and its secret encrypted, through the vault and the generic account CLI
(`--from-env`, `--from-file`), no secret in any table, log, error, repr or CLI output; `verify-account` signs a
read-only `GET /api/v1/account` with the key (bpx-py) against the simulator, which verifies the ED25519 signature."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from database import accounts as acc
from database.vault import Vault, encode_key, new_key
from exchange_clients.backpack.credentials import BackpackCredentials, new_key_pair
from simulator.server import DEMO_SCENARIO, start_simulator
from tests.integration.test_accounts import accounts_engine, all_table_text, cli_env, run

pytestmark = pytest.mark.integration
__all__ = ["accounts_engine"]


def forms(secret: str) -> list[str]:
    """Every spelling of a base64 secret a leak could take: itself, its first half, the raw seed in hex."""
    raw = base64.b64decode(secret).hex()
    return [secret.lower(), secret.lower()[:22], raw, raw[:32]]


async def test_no_backpack_secret_anywhere(
    accounts_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    vault = Vault.from_key(new_key())
    key, secret = new_key_pair()
    _other_key, other_secret = new_key_pair()
    with caplog.at_level(logging.DEBUG):
        await acc.add_account(
            accounts_engine,
            vault,
            name="bo",
            creds=BackpackCredentials(api_key=key, api_secret=SecretStr(secret)),
        )
        loaded = await acc.load_account(accounts_engine, vault, "bo")
        errors = []
        for bad in (
            secret[:-4],
            "!!" + secret[2:],
            other_secret,
        ):  # malformed, not base64, not the key's pair
            try:
                acc.parse_credentials("backpack", {"api_key": key, "api_secret": bad})
            except acc.CredentialsError as exc:
                errors.append(str(exc) + repr(exc))
    creds = loaded.for_venue("backpack")
    assert isinstance(creds, BackpackCredentials) and creds.api_secret.get_secret_value() == secret
    assert len(errors) == 3 and all("api_secret" in e or "api_key" in e for e in errors)
    summary = {a.name: a for a in await acc.list_accounts(accounts_engine)}["bo"]
    assert summary.venues["backpack"]["public"] == {"api_key": key}
    haystacks = {
        "tables": await all_table_text(accounts_engine),
        "logs": caplog.text.lower(),
        "errors": " ".join(errors).lower(),
        "repr": (repr(loaded) + str(loaded) + repr(creds) + str(creds)).lower(),
    }
    for where, hay in haystacks.items():
        for secret_form in forms(secret) + forms(other_secret):
            assert secret_form not in hay, f"secret found in {where}"
    assert key.lower() in haystacks["tables"]


async def test_account_cli_and_verification_against_the_simulator(db_url: str, tmp_path: Path) -> None:
    key, secret = new_key_pair()
    stranger_key, stranger_secret = new_key_pair()
    async with await start_simulator(DEMO_SCENARIO, venues=["backpack"]) as sim:
        async with aiohttp.ClientSession() as http:
            r = await http.post(
                sim.venues["backpack"].root_url + "/_sim/accounts",
                json={"api_key": key, "collateral": "5000"},
            )
            assert r.status == 200
        env = cli_env(
            db_url,
            tmp_path,
            PERPARB_MASTER_KEY=encode_key(new_key()),
            PERPARB_BACKPACK_URL=sim.url("backpack"),
        )
        transcript = []
        code, out, err = await run(
            {**env, "PERPARB_BACKPACK_API_KEY": key, "PERPARB_BACKPACK_API_SECRET": secret},
            "accounts",
            "add-account",
            "--name",
            "bea",
            "--venue",
            "backpack",
            "--from-env",
            cwd=tmp_path,
        )
        transcript.append(out + err)
        assert code == 0, err
        keyfile = tmp_path / "bp.json"
        keyfile.write_text(json.dumps({"api_key": stranger_key, "api_secret": stranger_secret}))
        os.chmod(keyfile, 0o600)
        code, out, err = await run(
            env,
            "accounts",
            "add-account",
            "--name",
            "cid",
            "--venue",
            "backpack",
            "--from-file",
            str(keyfile),
            cwd=tmp_path,
        )
        transcript.append(out + err)
        assert code == 0, err
        code, out, err = await run(
            {**env, "PERPARB_BACKPACK_API_KEY": key, "PERPARB_BACKPACK_API_SECRET": stranger_secret},
            "accounts",
            "add-account",
            "--name",
            "dan",
            "--venue",
            "backpack",
            "--from-env",
            cwd=tmp_path,
        )
        transcript.append(out + err)
        assert code == 2 and "api_key is not the public key of api_secret" in err
        code, out, err = await run(env, "accounts", "verify-account", "--name", "bea", "--json", cwd=tmp_path)
        transcript.append(out + err)
        assert code == 0, out + err
        (result,) = json.loads(out)
        assert result["ok"] and "accepted (leverage limit 10)" in result["detail"]
        code, out, err = await run(env, "accounts", "verify-account", "--name", "cid", cwd=tmp_path)
        transcript.append(out + err)
        assert code == 1 and "UNAUTHORIZED" in out and "API key not found" in out  # unknown to the venue
    everything = "\n".join(transcript).lower()
    for secret_form in forms(secret) + forms(stranger_secret):
        assert secret_form not in everything
