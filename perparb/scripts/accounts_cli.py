"""Account and vault commands: `perparb accounts <command>` and `python -m perparb.scripts.<name>`.

Secrets enter only through the environment (`--from-env`, variable names in `.env.example`), a JSON file
(`--from-file`) or hidden prompts (`--interactive`), never through command-line arguments (they would end up in
shell history and `ps`). No command prints a secret; errors name the field, never its value. Exit codes: 0 ok,
1 verification failed, 2 refused (bad input, unknown account, vault problem).
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import typer
from dotenv import dotenv_values
from rich.console import Console
from rich.table import Table

from database import accounts as acc
from database.vault import (
    Vault,
    VaultError,
    encode_key,
    finish_rotation,
    init_vault,
    key_id_of,
    new_key,
    next_key_path,
    read_key_file,
    write_key_file,
)
from exchange_clients import registry
from exchange_clients.base.credentials import BaseCredentials
from perparb.settings import Settings, enable_configured_sub_venues, venue_env_prefix
from perparb_core.errors import ConfigError, PerparbError
from perparb_core.files import read_text_file

app = typer.Typer(
    help="Accounts, venue credentials and the vault.", no_args_is_help=True, add_completion=False
)


@app.callback()
def _enable_sub_venues() -> None:
    """Before any command: the sub-venues the settings list (e.g. `PERPARB_HYPERLIQUID_DEXES=xyz` ->
    "hyperliquid:xyz") are installed venues, so `--venue` accepts them."""
    try:
        enable_configured_sub_venues()
    except ConfigError as exc:
        fail(str(exc))


console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)
T = TypeVar("T")


def env_vars(venue: str) -> dict[str, str]:
    """Credential field -> environment variable of `venue` (`--from-env`; its credentials model says which)."""
    return dict(registry.credentials_type(venue).env_fields)


def secret_fields(venue: str) -> set[str]:
    """The credential fields of `venue` that are secrets (prompted hidden)."""
    model = registry.credentials_type(venue)
    return {name for name, f in model.model_fields.items() if "SecretStr" in str(f.annotation)}


CREDENTIAL_ENV_VARS = frozenset(
    var for spec in registry.venue_specs().values() for var in spec.credentials_type.env_fields.values()
)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    """The process settings, with logging configured as every perparb command does (warnings and errors on
    stderr, third-party chatter at DEBUG only)."""
    from pydantic import ValidationError

    from perparb.runtime import configure_logging

    try:
        settings = Settings()
        configure_logging(settings, quiet=True)
        return settings
    except ValidationError as exc:
        fail(
            "invalid settings: "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        )
        raise


def _vault(settings: Settings) -> Vault:
    try:
        env_key = settings.master_key.get_secret_value() if settings.master_key else None
        return Vault.load(env_key=env_key, key_file=settings.key_file)
    except VaultError as exc:
        fail(str(exc))
        raise


def _run(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run `fn(engine)` on the configured database (migrated first), mapping account errors to exit 2."""
    from perparb.runtime import open_engine

    async def main() -> T:
        async with open_engine(settings) as engine:
            return await fn(engine)

    try:
        return asyncio.run(main())
    except PerparbError as exc:  # account, vault, database and venue errors: one line, exit 2
        fail(str(exc))
        raise


def _check_venue(venue: str) -> str:
    known = registry.venue_names()
    if venue not in known:
        fail(f"--venue: unknown venue {venue!r}; known: {', '.join(known)}")
    return venue


def read_credentials(
    venue: str, *, from_env: bool, from_file: Path | None, interactive: bool
) -> BaseCredentials:
    """Credentials of `venue` from exactly one source. Raises typer.Exit(2) with a message naming the field."""
    if sum([from_env, from_file is not None, interactive]) != 1:
        fail("give exactly one of --from-env, --from-file PATH, --interactive")
    names = env_vars(venue)
    fields: dict[str, Any] = {}
    if from_env:
        env = {**{k: v for k, v in dotenv_values(".env").items() if v is not None}, **os.environ}
        fields = {f: env.get(var) for f, var in names.items()}
        if not any(fields.values()):
            fail(f"none of {', '.join(names.values())} is set")
    elif from_file is not None:
        try:
            text = read_text_file(from_file, what="credentials file (a JSON object)")
            mode = from_file.stat().st_mode
        except ConfigError as exc:
            fail(f"--from-file: {exc}")
            raise
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            fail(f"--from-file: {from_file} is not JSON (line {exc.lineno})")
        if not isinstance(data, dict):
            fail(f"--from-file: {from_file} must hold a JSON object with the fields {sorted(names)}")
        unknown = sorted(set(data) - set(names))
        if unknown:
            fail(f"--from-file: unknown field(s) {unknown} for {venue}; expected {sorted(names)}")
        if stat.S_IMODE(mode) & 0o077:
            err.print(f"[yellow]warning:[/] {from_file} is readable by others; delete it or `chmod 600` it")
        fields = data
    else:
        for f in names:
            fields[f] = typer.prompt(
                f"{venue} {f}", default="", hide_input=f in secret_fields(venue), show_default=False
            )
    try:
        return acc.parse_credentials(venue, fields)
    except acc.CredentialsError as exc:
        fail(str(exc))
        raise


# --------------------------------------------------------------------------------------------------- vault


@app.command("init-vault")
def init_vault_cmd(
    show_key: bool = typer.Option(False, "--show-key", help="also print the new key (to store it elsewhere)"),
) -> None:
    """Create the master key file (mode 0600). Prints its key id, and the key itself only with --show-key."""
    settings = _settings()
    if settings.master_key:
        fail("PERPARB_MASTER_KEY is set: the vault already has a key; unset it to create a key file")
    try:
        kid = init_vault(settings.key_file)
    except VaultError as exc:
        fail(str(exc))
        return
    console.print(
        f"vault key {kid} written to {settings.key_file} (mode 0600). Back it up apart from the database."
    )
    if show_key:
        key = Vault.load(env_key=None, key_file=settings.key_file).keys[kid]
        console.print(f"PERPARB_MASTER_KEY={encode_key(key)}", highlight=False, soft_wrap=True)


@app.command("rotate-key")
def rotate_key_cmd(
    print_new_key: bool = typer.Option(
        False, "--print-new-key", help="with PERPARB_MASTER_KEY: print the new key (you must then replace it)"
    ),
) -> None:
    """Re-encrypt every secret under a new master key in one transaction, then swap the key files."""
    settings = _settings()
    old = _vault(settings)
    key = new_key()
    new = Vault.from_key(key)
    if old.from_env:
        if not print_new_key:
            fail(
                "the master key comes from PERPARB_MASTER_KEY: rerun with --print-new-key and replace the variable"
            )
        count = _run(settings, lambda engine: acc.rotate_key(engine, old, new))
        console.print(f"{count} secrets re-encrypted under key {new.current_id}. Set:")
        console.print(f"PERPARB_MASTER_KEY={encode_key(key)}", highlight=False, soft_wrap=True)
        return
    pending = next_key_path(settings.key_file)
    if pending.exists():
        # An earlier rotation stopped. If its transaction committed, secrets already use the pending key:
        # finish that rotation first. Otherwise the pending key encrypted nothing and is discarded.
        pending_id = key_id_of(read_key_file(pending))
        used = _run(settings, lambda engine: acc.count_key_usage(engine, pending_id))
        if used:
            finish_rotation(settings.key_file, old.current_id)
            console.print(f"completed an interrupted rotation to key {pending_id}")
            old = _vault(settings)
        else:
            pending.unlink()
    try:
        write_key_file(pending, key)
    except (VaultError, OSError) as exc:
        fail(f"cannot write the new key: {exc}")
    count = _run(settings, lambda engine: acc.rotate_key(engine, old, new))
    finish_rotation(settings.key_file, old.current_id)
    console.print(
        f"{count} secrets re-encrypted from key {old.current_id} to {new.current_id}; the old key is kept as "
        f"{settings.key_file.name}.retired-{old.current_id} for backups taken before now."
    )


# ------------------------------------------------------------------------------------------------ accounts


@app.command("add-account")
def add_account_cmd(
    name: str = typer.Option(..., help="account name (letters, digits, _ . -)"),
    venue: str = typer.Option(..., help="venue id (perparb accounts venues lists them)"),
    description: str | None = typer.Option(None, help="free text"),
    from_env: bool = typer.Option(False, "--from-env", help="read the venue's PERPARB_* variables"),
    from_file: Path | None = typer.Option(None, "--from-file", help="JSON object with the credential fields"),
    interactive: bool = typer.Option(False, "--interactive", help="prompt (secret input hidden)"),
    simulator: bool = typer.Option(
        False,
        "--simulator",
        help="a TEST account on a running `perparb sim`: fresh keys are made, registered and funded there",
    ),
    sim_url: str | None = typer.Option(
        None, "--sim-url", help="--simulator: the venue's REST URL on the simulator (default: its fixed port)"
    ),
    collateral_usd: float = typer.Option(
        100_000, "--collateral-usd", min=0.01, help="--simulator: USDC deposited"
    ),
) -> None:
    """Add an account with one venue's credentials, or add a venue to an existing account. With --simulator, the
    credentials are new random keys made valid and funded on a running `perparb sim` (nothing else is touched);
    trade it by pointing PERPARB_<VENUE>_URL at the simulator."""
    _check_venue(venue)
    try:
        acc.validate_name(name)
    except acc.AccountError as exc:
        fail(str(exc))
    settings = _settings()
    vault = _vault(settings)
    if simulator:
        if from_env or from_file is not None or interactive:
            fail("--simulator makes its own keys: give no --from-env, --from-file or --interactive")
        creds, rest = _simulator_account(settings, venue, sim_url, Decimal(str(collateral_usd)))
    else:
        creds = read_credentials(venue, from_env=from_env, from_file=from_file, interactive=interactive)
    _run(
        settings,
        lambda engine: acc.add_account(engine, vault, name=name, creds=creds, description=description),
    )
    console.print(f"account {name!r}: {venue} credentials stored (key {vault.current_id})")
    if simulator:
        prefix = venue_env_prefix(venue)
        console.print(
            f"  a test account on the simulator at {rest}, funded with {collateral_usd:g} USDC; trade it with "
            f"{prefix}URL={rest} (or `perparb run ... --paper`, which starts its own simulator)",
            highlight=False,
        )


def _simulator_account(
    settings: Settings, venue: str, sim_url: str | None, collateral: Decimal
) -> tuple[BaseCredentials, str]:
    """New test credentials of `venue`, registered and funded on the running simulator (its venue hooks).

    Returns (credentials, the simulator's REST URL of the venue). Fails (exit 2) with one line when the venue
    offers no test accounts or the simulator cannot be reached."""
    from simulator.protocol import installed_protocols
    from strategies.paper import SimAdmin

    spec = registry.get_spec(venue)
    protocol = installed_protocols().get(venue)
    if spec.paper is None or spec.paper.new_credentials is None or protocol is None:
        fail(f"--simulator: {venue} has no simulator test accounts")
        raise AssertionError  # unreachable
    new_credentials = spec.paper.new_credentials
    prepare = spec.paper.prepare_account
    rest = (sim_url or f"http://127.0.0.1:{protocol.default_port}{protocol.rest_path}").rstrip("/")
    root = rest.split("://", 1)[0] + "://" + rest.split("://", 1)[1].split("/", 1)[0]
    config = settings.venue_config(venue).pointed_at(rest, None)
    creds = new_credentials()

    async def go() -> None:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            await prepare(creds, config, SimAdmin(http, rest, root), collateral)

    try:
        asyncio.run(go())
    except OSError as exc:
        fail(f"--simulator: no simulator answers at {root} ({type(exc).__name__}); start `perparb sim` first")
    except PerparbError as exc:
        fail(f"--simulator: {exc}")
    return creds, rest


@app.command("update-credentials")
def update_credentials_cmd(
    name: str = typer.Option(...),
    venue: str = typer.Option(...),
    from_env: bool = typer.Option(False, "--from-env"),
    from_file: Path | None = typer.Option(None, "--from-file"),
    interactive: bool = typer.Option(False, "--interactive"),
) -> None:
    """Replace one venue's credentials of an account."""
    _check_venue(venue)
    creds = read_credentials(venue, from_env=from_env, from_file=from_file, interactive=interactive)
    settings = _settings()
    vault = _vault(settings)
    _run(settings, lambda engine: acc.update_credentials(engine, vault, name=name, creds=creds))
    console.print(f"account {name!r}: {venue} credentials replaced")


@app.command("list-accounts")
def list_accounts_cmd(as_json: bool = typer.Option(False, "--json", help="JSON list ([] when none)")) -> None:
    """Accounts, venues, public identifiers, key id and last use. Secrets are always masked."""
    settings = _settings()
    rows = _run(settings, acc.list_accounts)
    if as_json:
        sys.stdout.write(json.dumps([r.to_json_dict() for r in rows], indent=2, default=str) + "\n")
        return
    if not rows:
        err.print("no accounts yet: `perparb accounts add-account --help`")
        return
    table = Table(title="accounts")
    for col in ("name", "venue", "public identifiers", "secret", "key id", "last used", "proxies"):
        table.add_column(col)
    for r in rows:
        for venue, info in sorted(r.venues.items()) or [("-", {})]:
            public = ", ".join(f"{k}={v}" for k, v in (info.get("public") or {}).items() if v is not None)
            table.add_row(
                r.name,
                venue,
                public,
                info.get("secret", "-"),
                info.get("key_id", "-"),
                str(info.get("last_used_at") or r.last_used_at or "never"),
                str(r.proxies),
            )
    console.print(table)


@app.command("remove-account")
def remove_account_cmd(
    name: str = typer.Option(...),
    yes: bool = typer.Option(False, "--yes", help="confirm the deletion"),
) -> None:
    """Delete an account with its credentials and proxies (needs --yes)."""
    if not yes:
        fail(f"this deletes account {name!r} and its credentials; repeat with --yes")
    settings = _settings()
    _run(settings, lambda engine: acc.remove_account(engine, name=name))
    console.print(f"account {name!r} removed")


@app.command("verify-account")
def verify_account_cmd(
    name: str = typer.Option(...),
    venue: str | None = typer.Option(None, help="only this venue"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Decrypt the credentials and authenticate at each venue (exit 1 if one fails). Read-only, except where a
    venue's authentication itself changes something (e.g. onboarding a new account): the output says so."""
    if venue:
        _check_venue(venue)
    settings = _settings()
    vault = _vault(settings)

    async def go(engine: Any) -> list[Any]:
        account = await acc.load_account(engine, vault, name)
        venues = [venue] if venue else sorted(account.venues)
        return [
            await registry.verify_credentials(account.for_venue(v), settings.venue_config(v)) for v in venues
        ]

    results = _run(settings, go)
    if as_json:
        sys.stdout.write(
            json.dumps(
                [
                    {
                        "venue": r.venue,
                        "ok": r.ok,
                        "detail": r.detail,
                        "side_effect": registry.get_spec(r.venue).verify_side_effect or None,
                    }
                    for r in results
                ]
            )
            + "\n"
        )
    else:
        for r in results:
            mark = "[green]ok[/]" if r.ok else "[red]failed[/]"
            console.print(f"{name} {r.venue}: {mark} {r.detail}", highlight=False)
            effect = registry.get_spec(r.venue).verify_side_effect
            if effect:
                console.print(f"  [dim]note: not read-only on {r.venue}: {effect}[/]", highlight=False)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


# ------------------------------------------------------------------------------------------------- proxies


@app.command("add-proxy")
def add_proxy_cmd(
    name: str = typer.Option(...),
    priority: int = typer.Option(0, help="lower is tried first"),
    from_env: bool = typer.Option(False, "--from-env", help="read the URL from PERPARB_PROXY_URL"),
) -> None:
    """Add an HTTP/SOCKS proxy to an account. The URL (it may hold a password) is prompted for, hidden, or read
    from PERPARB_PROXY_URL with --from-env; it is stored encrypted."""
    url = os.environ.get("PERPARB_PROXY_URL", "") if from_env else typer.prompt("proxy url", hide_input=True)
    if not url:
        fail("no proxy url given (PERPARB_PROXY_URL is empty)")
    settings = _settings()
    vault = _vault(settings)
    pid = _run(settings, lambda engine: acc.add_proxy(engine, vault, name=name, url=url, priority=priority))
    console.print(f"proxy {pid} added to {name!r}: {acc.redact_proxy_url(url)}", highlight=False)


@app.command("list-proxies")
def list_proxies_cmd(name: str = typer.Option(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """Proxies of an account, passwords redacted."""
    settings = _settings()
    vault = _vault(settings)
    rows = _run(settings, lambda engine: acc.list_proxies(engine, vault, name=name))
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    for r in rows:
        console.print(f"{r['id']}  {r['url']}  priority={r['priority']}  {r['status']}", highlight=False)


@app.command("remove-proxy")
def remove_proxy_cmd(name: str = typer.Option(...), proxy_id: int = typer.Option(..., "--id")) -> None:
    """Remove a proxy of an account."""
    settings = _settings()
    _run(settings, lambda engine: acc.remove_proxy(engine, name=name, proxy_id=proxy_id))
    console.print(f"proxy {proxy_id} removed from {name!r}")


def run_command(command: str) -> None:
    """Entry point of `python -m perparb.scripts.<name>`: the named command with this process's arguments."""
    try:
        app([command, *sys.argv[1:]], prog_name=f"python -m perparb.scripts.{command.replace('-', '_')}")
    except PerparbError as exc:
        fail(" ".join(str(exc).split()))
