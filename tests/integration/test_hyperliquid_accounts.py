"""Hyperliquid accounts: the main address in clear and the agent key encrypted, through the vault and the generic
account CLI (`--from-env`, `--from-file`, `--interactive`), for the main dex and a HIP-3 dex; no secret in any
table, log, error, repr or CLI output; `verify-account` checks the agent's approval (`userRole`) against a local
stub of Hyperliquid (only the internet is mocked)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from eth_account import Account
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from database import accounts as acc
from database.vault import Vault, encode_key, new_key
from exchange_clients.hyperliquid.credentials import HyperliquidCredentials, credentials_type_for
from tests.integration.test_accounts import accounts_engine, all_table_text, cli_env, run, secret_forms

pytestmark = pytest.mark.integration
__all__ = ["accounts_engine"]  # the fixture, imported for this module


def new_agent() -> tuple[str, str]:
    key = "0x" + secrets.token_hex(32)
    return key, Account.from_key(key).address.lower()


async def test_no_hyperliquid_secret_anywhere(
    accounts_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    vault = Vault.from_key(new_key())
    key, agent = new_agent()
    account = "0x" + secrets.token_hex(20)
    with caplog.at_level(logging.DEBUG):
        for dex in ("", "xyz"):
            stored = credentials_type_for(dex)(
                account_address=account.upper().replace("0X", "0x"), agent_private_key=SecretStr(key)
            )
            await acc.add_account(accounts_engine, vault, name="hana", creds=stored)
        loaded = await acc.load_account(accounts_engine, vault, "hana")
        errors = []
        for bad in (key[:-2], key + "00", "0x" + "00" * 32, "zz" + key[4:]):
            try:
                acc.parse_credentials("hyperliquid", {"account_address": account, "agent_private_key": bad})
            except acc.CredentialsError as exc:
                errors.append(str(exc) + repr(exc))
    assert loaded.for_venue("hyperliquid:xyz").venue == "hyperliquid:xyz"
    summary = {a.name: a for a in await acc.list_accounts(accounts_engine)}["hana"]
    assert summary.venues["hyperliquid"]["public"] == {"account_address": account, "agent_address": agent}
    creds = loaded.for_venue("hyperliquid")
    assert isinstance(creds, HyperliquidCredentials) and creds.agent_private_key.get_secret_value() == key
    assert len(errors) == 4 and all("agent_private_key" in e for e in errors)
    haystacks = {
        "tables": await all_table_text(accounts_engine),
        "logs": caplog.text.lower(),
        "errors": " ".join(errors).lower(),
        "repr": (repr(loaded) + str(loaded) + repr(creds) + str(creds)).lower(),
        "list": json.dumps([a.to_json_dict() for a in await acc.list_accounts(accounts_engine)]).lower(),
    }
    for where, hay in haystacks.items():
        for form in secret_forms(key):
            assert form not in hay, f"secret found in {where}"
    assert account in haystacks["tables"] and agent in haystacks["list"]  # public fields in clear


class UserRole:
    """POST /info {"type":"userRole","user"}: `agents` maps an agent address to its master."""

    def __init__(self) -> None:
        self.agents: dict[str, str] = {}
        self.asked: list[str] = []

    async def info(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("type") != "userRole":
            return web.Response(status=422, text="Failed to deserialize the JSON body into the target type")
        self.asked.append(body["user"])
        master = self.agents.get(body["user"])
        return web.json_response(
            {"role": "agent", "data": {"user": master}} if master else {"role": "missing"}
        )


@pytest_asyncio.fixture
async def role_server() -> AsyncIterator[tuple[UserRole, str]]:
    stub = UserRole()
    app = web.Application()
    app.router.add_post("/info", stub.info)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield stub, str(server.make_url("")).rstrip("/")
    await server.close()


async def test_account_cli_and_verification(
    accounts_engine: AsyncEngine, db_url: str, tmp_path: Path, role_server: tuple[UserRole, str]
) -> None:
    stub, url = role_server
    key, agent = new_agent()
    other_key, other_agent = new_agent()
    account = "0x" + secrets.token_hex(20)
    env = cli_env(
        db_url,
        tmp_path,
        PERPARB_MASTER_KEY=encode_key(new_key()),
        PERPARB_HYPERLIQUID_URL=url,
        PERPARB_HYPERLIQUID_DEXES="xyz",
    )
    transcript = []
    # --from-env (main dex)
    code, out, err = await run(
        {**env, "PERPARB_HYPERLIQUID_ACCOUNT_ADDRESS": account, "PERPARB_HYPERLIQUID_AGENT_PRIVATE_KEY": key},
        "accounts",
        "add-account",
        "--name",
        "kai",
        "--venue",
        "hyperliquid",
        "--from-env",
        cwd=tmp_path,
    )
    transcript.append(out + err)
    assert code == 0, err
    # --from-file (the HIP-3 dex: its own venue id, same wallet)
    keyfile = tmp_path / "hl.json"
    keyfile.write_text(json.dumps({"account_address": account, "agent_private_key": key}))
    os.chmod(keyfile, 0o600)
    code, out, err = await run(
        env,
        "accounts",
        "add-account",
        "--name",
        "kai",
        "--venue",
        "hyperliquid:xyz",
        "--from-file",
        str(keyfile),
        cwd=tmp_path,
    )
    transcript.append(out + err)
    assert code == 0, err
    # --interactive: the key prompt is hidden
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "perparb",
        "accounts",
        "add-account",
        "--name",
        "lea",
        "--venue",
        "hyperliquid",
        "--interactive",
        env=env,
        cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out_b, err_b = await asyncio.wait_for(proc.communicate(f"{account}\n{other_key}\n".encode()), timeout=120)
    transcript.append((out_b + err_b).decode())
    assert proc.returncode == 0, transcript[-1]
    assert "hyperliquid agent_private_key" in transcript[-1]
    # a bad key is refused naming the field, never echoing it
    code, out, err = await run(
        {
            **env,
            "PERPARB_HYPERLIQUID_ACCOUNT_ADDRESS": account,
            "PERPARB_HYPERLIQUID_AGENT_PRIVATE_KEY": key[:-3],
        },
        "accounts",
        "add-account",
        "--name",
        "max",
        "--venue",
        "hyperliquid",
        "--from-env",
        cwd=tmp_path,
    )
    transcript.append(out + err)
    assert code == 2 and "agent_private_key" in err

    code, out, err = await run(env, "accounts", "list-accounts", "--json", cwd=tmp_path)
    transcript.append(out + err)
    kai = {a["name"]: a for a in json.loads(out)}["kai"]
    assert set(kai["venues"]) == {"hyperliquid", "hyperliquid:xyz"}
    assert kai["venues"]["hyperliquid:xyz"]["public"] == {"account_address": account, "agent_address": agent}

    stub.agents[agent] = account  # approved for kai's account; lea's agent is not approved
    code, out, err = await run(env, "accounts", "verify-account", "--name", "kai", "--json", cwd=tmp_path)
    transcript.append(out + err)
    assert code == 0, out + err
    results = {r["venue"]: r for r in json.loads(out)}
    assert {v: r["ok"] for v, r in results.items()} == {"hyperliquid": True, "hyperliquid:xyz": True}
    assert "approved for account" in results["hyperliquid"]["detail"]
    code, out, err = await run(env, "accounts", "verify-account", "--name", "lea", cwd=tmp_path)
    transcript.append(out + err)
    assert code == 1 and "failed" in out and "not an approved agent" in out
    stub.agents[other_agent] = "0x" + "11" * 20  # approved, but for another account
    code, out, err = await run(env, "accounts", "verify-account", "--name", "lea", cwd=tmp_path)
    transcript.append(out + err)
    assert code == 1 and "0x" + "11" * 20 in out
    assert set(stub.asked) == {agent, other_agent}  # only addresses are sent
    everything = "\n".join(transcript).lower()
    for secret in (key, other_key):
        for form in secret_forms(secret):
            assert form not in everything
