"""Accounts and the vault on a real PostgreSQL: round trip with key rotation, validation before storage, no
secret in any table / log / exception / repr / CLI output, wrong master key, concurrent creation."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sys
from pathlib import Path

import lighter
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from database import accounts as acc
from database.vault import Vault, init_vault, key_id_of, new_key, read_key_file, retired_key_path
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.credentials import ParadexCredentials

pytestmark = pytest.mark.integration
PROJECT = Path(__file__).resolve().parents[2]


def lighter_key() -> str:
    private, _public, error = lighter.signer_client.create_api_key()
    assert error is None
    return private


def paradex_creds() -> ParadexCredentials:
    return ParadexCredentials(
        l1_address="0x" + secrets.token_hex(20), l1_private_key="0x" + secrets.token_hex(32)
    )


@pytest.fixture
async def accounts_engine(clean_engine: AsyncEngine) -> AsyncEngine:
    async with clean_engine.begin() as conn:
        await conn.execute(text("TRUNCATE accounts, account_credentials, account_proxies, audit_log CASCADE"))
    return clean_engine


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


async def all_table_text(engine: AsyncEngine) -> str:
    """Every row of every table, as PostgreSQL renders it (bytea as hex), concatenated."""
    async with engine.connect() as conn:
        tables = (
            (await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
            .scalars()
            .all()
        )
        parts = []
        for t in tables:
            parts += (await conn.execute(text(f'SELECT t::text FROM "{t}" t'))).scalars().all()
    return "\n".join(parts).lower()


def secret_forms(secret: str) -> list[str]:
    body = secret.lower().removeprefix("0x")
    return [body, body[:32], body.encode().hex()[:40]]


async def test_round_trip_with_rotation(accounts_engine: AsyncEngine, tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    init_vault(key_file)
    vault = Vault.load(env_key=None, key_file=key_file)
    lk = lighter_key()
    l_creds = LighterCredentials(account_index=281, api_key_index=3, api_private_key=lk)
    p_creds = paradex_creds()
    await acc.add_account(accounts_engine, vault, name="alice", creds=l_creds, description="main book")
    await acc.add_account(accounts_engine, vault, name="alice", creds=p_creds)  # a second venue
    await acc.add_proxy(accounts_engine, vault, name="alice", url="socks5://bob:pr0xypass@10.0.0.1:1080")

    (summary,) = await acc.list_accounts(accounts_engine)
    assert summary.name == "alice" and set(summary.venues) == {"lighter", "paradex"}
    assert summary.venues["lighter"]["public"] == {"account_index": 281, "api_key_index": 3}
    assert summary.venues["lighter"]["secret"] == "********"
    assert summary.venues["paradex"]["key_id"] == vault.current_id and summary.proxies == 1

    loaded = await acc.load_account(accounts_engine, vault, "alice")
    assert loaded.for_venue("lighter") == l_creds and loaded.for_venue("paradex") == p_creds
    assert loaded.proxies[0].url.get_secret_value() == "socks5://bob:pr0xypass@10.0.0.1:1080"
    assert (await acc.list_proxies(accounts_engine, vault, name="alice"))[0][
        "url"
    ] == "socks5://bob:***@10.0.0.1:1080"

    new = Vault.from_key(new_key())
    assert await acc.rotate_key(accounts_engine, vault, new) == 3
    async with accounts_engine.connect() as conn:
        ids = set((await conn.execute(text("SELECT key_id FROM account_credentials"))).scalars())
    assert ids == {new.current_id}
    with pytest.raises(acc.CredentialsError, match=f"does not match key id {new.current_id}"):
        await acc.load_account(accounts_engine, vault, "alice")
    again = await acc.load_account(accounts_engine, new, "alice")
    assert (
        again.for_venue("lighter").api_private_key.get_secret_value()
        == l_creds.api_private_key.get_secret_value()
    )
    assert again.for_venue("paradex") == p_creds and again.proxies[0].url == loaded.proxies[0].url

    await acc.remove_account(accounts_engine, name="alice")
    assert await count(accounts_engine, "accounts") == 0
    assert await count(accounts_engine, "account_credentials") == 0
    async with accounts_engine.connect() as conn:
        actions = (await conn.execute(text("SELECT action FROM audit_log ORDER BY id"))).scalars().all()
    assert actions == ["add_account", "add_venue", "add_proxy", "rotate_key", "remove_account"]


@pytest.mark.parametrize(
    ("venue", "fields", "field_named"),
    [
        (
            "lighter",
            {"account_index": 1, "api_key_index": 3, "api_private_key": "0xabc123"},
            "api_private_key",
        ),
        (
            "lighter",
            {"account_index": 1, "api_key_index": 300, "api_private_key": "0x" + "ab" * 40},
            "api_key_index",
        ),
        ("paradex", {"l1_address": "0x1234", "l1_private_key": "0x" + "11" * 32}, "l1_address"),
        ("paradex", {"l2_address": "0xZZ", "l2_private_key": "0x123"}, "l2_address"),
        ("paradex", {"l2_address": "0x" + "f" * 64, "l2_private_key": "0x123"}, "l2_address"),
        ("binance", {"key": "x"}, "unknown venue"),
    ],
)
async def test_validation_before_storage(
    accounts_engine: AsyncEngine, venue: str, fields: dict, field_named: str
) -> None:
    with pytest.raises(acc.CredentialsError) as exc:
        acc.parse_credentials(venue, fields)
    assert field_named in str(exc.value)
    for v in fields.values():  # the bad value itself is never echoed
        if isinstance(v, str) and len(v) > 8:
            assert v not in str(exc.value)
    assert await count(accounts_engine, "accounts") == 0


async def test_duplicate_and_unknown_accounts(accounts_engine: AsyncEngine) -> None:
    vault = Vault.from_key(new_key())
    creds = LighterCredentials(account_index=1, api_key_index=3, api_private_key=lighter_key())
    await acc.add_account(accounts_engine, vault, name="bob", creds=creds)
    before = await count(accounts_engine, "audit_log")
    with pytest.raises(acc.AccountExistsError, match="already has lighter credentials"):
        await acc.add_account(accounts_engine, vault, name="bob", creds=creds)
    with pytest.raises(acc.AccountError, match="invalid"):
        await acc.add_account(accounts_engine, vault, name="bad name!", creds=creds)
    with pytest.raises(acc.AccountNotFoundError, match="no account named 'nobody'"):
        await acc.load_account(accounts_engine, vault, "nobody")
    loaded = await acc.load_account(accounts_engine, vault, "bob")
    with pytest.raises(acc.CredentialsError, match="has no credentials for paradex"):
        loaded.for_venue("paradex")
    assert await count(accounts_engine, "account_credentials") == 1
    assert await count(accounts_engine, "audit_log") == before  # refused operations write nothing


async def test_no_secret_anywhere(accounts_engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    vault = Vault.from_key(new_key())
    lk = lighter_key()
    pc = paradex_creds()
    pk = pc.l1_private_key.get_secret_value()  # type: ignore[union-attr]
    with caplog.at_level(logging.DEBUG):
        l_creds = LighterCredentials(account_index=7, api_key_index=4, api_private_key=lk)
        await acc.add_account(accounts_engine, vault, name="carol", creds=l_creds)
        await acc.add_account(accounts_engine, vault, name="carol", creds=pc)
        loaded = await acc.load_account(accounts_engine, vault, "carol")
        errors = []
        for bad in (lk[:-2], pk + "00"):
            try:
                acc.parse_credentials(
                    "lighter", {"account_index": 1, "api_key_index": 3, "api_private_key": bad}
                )
            except acc.CredentialsError as exc:
                errors.append(str(exc) + repr(exc))
        try:
            await acc.load_account(accounts_engine, Vault.from_key(new_key()), "carol")
        except acc.CredentialsError as exc:
            errors.append(str(exc) + repr(exc))
    haystacks = {
        "tables": await all_table_text(accounts_engine),
        "logs": caplog.text.lower(),
        "errors": " ".join(errors).lower(),
        "repr": (
            repr(loaded) + str(loaded) + repr(loaded.for_venue("lighter")) + repr(loaded.for_venue("paradex"))
        ).lower(),
        "list": json.dumps([a.to_json_dict() for a in await acc.list_accounts(accounts_engine)]).lower(),
    }
    assert len(errors) == 3
    for where, hay in haystacks.items():
        for secret in (lk, pk):
            for form in secret_forms(secret):
                assert form not in hay, f"secret found in {where}"
    assert "carol" in haystacks["tables"]  # the search really looked at the rows


async def test_wrong_master_key_fails_clearly_and_writes_nothing(accounts_engine: AsyncEngine) -> None:
    right = Vault.from_key(new_key())
    await acc.add_account(
        accounts_engine,
        right,
        name="dave",
        creds=LighterCredentials(account_index=1, api_key_index=3, api_private_key=lighter_key()),
    )
    audit_before = await count(accounts_engine, "audit_log")
    wrong = Vault.from_key(new_key())
    with pytest.raises(acc.CredentialsError) as exc:
        await acc.load_account(accounts_engine, wrong, "dave")
    assert str(exc.value) == (
        f"cannot decrypt credentials of account 'dave' for lighter: the master key does not match key id "
        f"{right.current_id}"
    )
    with pytest.raises(acc.CredentialsError):
        await acc.rotate_key(accounts_engine, wrong, Vault.from_key(new_key()))
    async with accounts_engine.connect() as conn:
        row = (await conn.execute(text("SELECT last_used_at FROM accounts WHERE name = 'dave'"))).scalar_one()
        ids = set((await conn.execute(text("SELECT key_id FROM account_credentials"))).scalars())
    assert row is None and ids == {right.current_id}
    assert await count(accounts_engine, "audit_log") == audit_before


# --------------------------------------------------------------------------------------------- the commands


def cli_env(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env.update(
        {"DATABASE_URL": db_url, "PERPARB_DATA_DIR": str(tmp_path), "PYTHONPATH": str(PROJECT), **extra}
    )
    return env


async def run(env: dict[str, str], *args: str, cwd: Path, module: str = "perparb") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_commands_round_trip_without_leaking(
    accounts_engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    lk = lighter_key()
    env = cli_env(db_url, tmp_path)
    code, out, err = await run(env, "accounts", "init-vault", cwd=tmp_path)
    assert code == 0, err
    key_file = tmp_path / "master.key"
    kid = key_id_of(read_key_file(key_file))
    assert kid in out and oct(key_file.stat().st_mode & 0o777) == "0o600"
    code, out, err = await run(env, "accounts", "list-accounts", "--json", cwd=tmp_path)
    assert code == 0 and json.loads(out) == []

    env_add = {
        **env,
        "PERPARB_LIGHTER_ACCOUNT_INDEX": "12",
        "PERPARB_LIGHTER_API_KEY_INDEX": "3",
        "PERPARB_LIGHTER_API_PRIVATE_KEY": lk,
    }
    transcript = []
    code, out, err = await run(
        env_add,
        "--name",
        "erin",
        "--venue",
        "lighter",
        "--from-env",
        cwd=tmp_path,
        module="perparb.scripts.add_account",
    )
    transcript.append(out + err)
    assert code == 0, err
    pfile = tmp_path / "paradex.json"
    pc = paradex_creds()
    pk = pc.l1_private_key.get_secret_value()  # type: ignore[union-attr]
    pfile.write_text(json.dumps({"l1_address": pc.l1_address, "l1_private_key": pk}))
    os.chmod(pfile, 0o600)
    code, out, err = await run(
        env,
        "accounts",
        "add-account",
        "--name",
        "erin",
        "--venue",
        "paradex",
        "--from-file",
        str(pfile),
        cwd=tmp_path,
    )
    transcript.append(out + err)
    assert code == 0, err
    # errors: bad key, duplicate, unknown account, no --yes
    bad = {**env_add, "PERPARB_LIGHTER_API_PRIVATE_KEY": lk[:-4]}
    code, out, err = await run(
        bad, "accounts", "add-account", "--name", "frank", "--venue", "lighter", "--from-env", cwd=tmp_path
    )
    transcript.append(out + err)
    assert code == 2 and "api_private_key" in err
    code, out, err = await run(
        env_add, "accounts", "add-account", "--name", "erin", "--venue", "lighter", "--from-env", cwd=tmp_path
    )
    transcript.append(out + err)
    assert code == 2 and "already has lighter credentials" in err
    code, out, err = await run(env, "accounts", "remove-account", "--name", "erin", cwd=tmp_path)
    assert code == 2 and "--yes" in err

    code, out, err = await run(env, "accounts", "list-accounts", "--json", cwd=tmp_path)
    transcript.append(out + err)
    (listed,) = json.loads(out)
    assert listed["name"] == "erin" and set(listed["venues"]) == {"lighter", "paradex"}
    assert listed["venues"]["lighter"]["public"] == {"account_index": 12, "api_key_index": 3}
    code, out, err = await run(env, "accounts", "list-accounts", cwd=tmp_path)
    transcript.append(out + err)
    assert "erin" in out and "********" in out

    code, out, err = await run(env, "accounts", "rotate-key", cwd=tmp_path)
    transcript.append(out + err)
    assert code == 0, err
    assert retired_key_path(key_file, kid).exists()
    new_kid = key_id_of(read_key_file(key_file))
    assert new_kid != kid and new_kid in out
    loaded = await acc.load_account(accounts_engine, Vault.load(env_key=None, key_file=key_file), "erin")
    assert loaded.for_venue("lighter").api_private_key.get_secret_value() == lk.lower()

    code, out, err = await run(env, "accounts", "remove-account", "--name", "erin", "--yes", cwd=tmp_path)
    assert code == 0, err
    everything = "\n".join(transcript).lower()
    for secret in (lk, pk):
        for form in secret_forms(secret):
            assert form not in everything


async def test_two_processes_adding_the_same_account(
    accounts_engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    env = cli_env(
        db_url, tmp_path, PERPARB_MASTER_KEY=__import__("database.vault").vault.encode_key(new_key())
    )
    envs = [
        {
            **env,
            "PERPARB_LIGHTER_ACCOUNT_INDEX": str(i),
            "PERPARB_LIGHTER_API_KEY_INDEX": "3",
            "PERPARB_LIGHTER_API_PRIVATE_KEY": lighter_key(),
        }
        for i in range(2)
    ]
    results = await asyncio.gather(
        *(
            run(
                e,
                "accounts",
                "add-account",
                "--name",
                "grace",
                "--venue",
                "lighter",
                "--from-env",
                cwd=tmp_path,
            )
            for e in envs
        )
    )
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[0] == 2)
    assert "already has lighter credentials" in loser[2] or "created by another process" in loser[2]
    assert await count(accounts_engine, "accounts") == 1
    assert await count(accounts_engine, "account_credentials") == 1


async def test_interrupted_rotation_is_completed(
    accounts_engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    """The re-encryption committed but the process died before swapping the key files: the vault still reads
    every secret (it holds the pending key), and the next rotate-key finishes the swap, then rotates."""
    from database.vault import next_key_path, write_key_file

    key_file = tmp_path / "master.key"
    old_id = init_vault(key_file)
    old = Vault.load(env_key=None, key_file=key_file)
    lk = lighter_key()
    await acc.add_account(
        accounts_engine,
        old,
        name="heidi",
        creds=LighterCredentials(account_index=5, api_key_index=3, api_private_key=lk),
    )
    pending_key = new_key()
    write_key_file(next_key_path(key_file), pending_key)
    await acc.rotate_key(accounts_engine, old, Vault.from_key(pending_key))  # committed; files not swapped
    interrupted = Vault.load(env_key=None, key_file=key_file)
    assert (await acc.load_account(accounts_engine, interrupted, "heidi")).for_venue(
        "lighter"
    ).api_private_key.get_secret_value() == lk

    code, out, err = await run(cli_env(db_url, tmp_path), "accounts", "rotate-key", cwd=tmp_path)
    assert code == 0, err
    assert "completed an interrupted rotation" in out
    assert retired_key_path(key_file, old_id).exists()
    assert retired_key_path(key_file, key_id_of(pending_key)).exists()
    assert not next_key_path(key_file).exists()
    final = Vault.load(env_key=None, key_file=key_file)
    assert final.current_id not in (old_id, key_id_of(pending_key))
    assert (await acc.load_account(accounts_engine, final, "heidi")).for_venue(
        "lighter"
    ).api_private_key.get_secret_value() == lk


async def test_verify_account_against_the_simulator(
    accounts_engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    """add -> verify (Lighter check_client against `apikeys`, Paradex auth/onboarding, through the real SDKs
    against the simulator) -> a key the venue does not know fails verification with the venue's error."""
    import httpx

    from simulator.server import DEMO_SCENARIO, start_simulator

    private, public, _ = lighter.signer_client.create_api_key()
    pc = paradex_creds()
    pk = pc.l1_private_key.get_secret_value()  # type: ignore[union-attr]
    async with await start_simulator(DEMO_SCENARIO) as sim:
        async with httpx.AsyncClient() as client:
            r = await client.post(
                f"{sim.url('lighter')}/_sim/lighter/apikeys",
                json={"account_index": 77, "api_key_index": 3, "public_key": public},
            )
            assert r.status_code in (200, 201), r.text
        env = cli_env(
            db_url,
            tmp_path,
            PERPARB_LIGHTER_URL=sim.url("lighter"),
            PERPARB_PARADEX_URL=sim.url("paradex"),
            PERPARB_MASTER_KEY=__import__("database.vault").vault.encode_key(new_key()),
        )
        transcript = []
        for venue, extra in (
            (
                "lighter",
                {
                    "PERPARB_LIGHTER_ACCOUNT_INDEX": "77",
                    "PERPARB_LIGHTER_API_KEY_INDEX": "3",
                    "PERPARB_LIGHTER_API_PRIVATE_KEY": private,
                },
            ),
            (
                "paradex",
                {"PERPARB_PARADEX_L1_ADDRESS": pc.l1_address or "", "PERPARB_PARADEX_L1_PRIVATE_KEY": pk},
            ),
        ):
            code, out, err = await run(
                {**env, **extra},
                "accounts",
                "add-account",
                "--name",
                "ivan",
                "--venue",
                venue,
                "--from-env",
                cwd=tmp_path,
            )
            assert code == 0, err
        code, out, err = await run(
            env, "accounts", "verify-account", "--name", "ivan", "--json", cwd=tmp_path
        )
        transcript.append(out + err)
        assert code == 0, out + err
        assert {(r["venue"], r["ok"]) for r in json.loads(out)} == {("lighter", True), ("paradex", True)}
        # verification is read-only except where the venue's own authentication changes something: it says so
        effects = {r["venue"]: r["side_effect"] for r in json.loads(out)}
        assert effects["lighter"] is None and "onboarded" in effects["paradex"]

        other, _pub, _ = lighter.signer_client.create_api_key()  # a key Lighter does not know for that slot
        code, out, err = await run(
            {
                **env,
                "PERPARB_LIGHTER_ACCOUNT_INDEX": "77",
                "PERPARB_LIGHTER_API_KEY_INDEX": "3",
                "PERPARB_LIGHTER_API_PRIVATE_KEY": other,
            },
            "accounts",
            "update-credentials",
            "--name",
            "ivan",
            "--venue",
            "lighter",
            "--from-env",
            cwd=tmp_path,
        )
        assert code == 0, err
        code, out, err = await run(
            env, "accounts", "verify-account", "--name", "ivan", "--venue", "lighter", cwd=tmp_path
        )
        transcript.append(out + err)
        assert code == 1 and "failed" in out
    everything = "\n".join(transcript).lower()
    for secret in (private, other, pk):
        for form in secret_forms(secret):
            assert form not in everything


async def test_interactive_prompts_hide_the_secret(
    accounts_engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    lk = lighter_key()
    env = cli_env(
        db_url, tmp_path, PERPARB_MASTER_KEY=__import__("database.vault").vault.encode_key(new_key())
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "perparb",
        "accounts",
        "add-account",
        "--name",
        "judy",
        "--venue",
        "lighter",
        "--interactive",
        env=env,
        cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(f"42\n3\n{lk}\n".encode()), timeout=120)
    text_out = (out + err).decode()
    assert proc.returncode == 0, text_out
    assert "lighter api_private_key" in text_out  # the prompt was shown
    for form in secret_forms(lk):
        assert form not in text_out.lower()
    (summary,) = await acc.list_accounts(accounts_engine)
    assert summary.venues["lighter"]["public"] == {"account_index": 42, "api_key_index": 3}
