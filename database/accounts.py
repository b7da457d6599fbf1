"""Accounts and their venue credentials in PostgreSQL, secrets encrypted by the vault.

Every operation is one transaction that also writes its `audit_log` row (who, what, which account; never a
secret), so an operation is either recorded and done or neither. Secrets are validated (typed credentials in
`exchange_clients.base.credentials`) BEFORE anything is written, encrypted with AES-256-GCM bound to
"<account>|<venue>|credentials", and only decrypted by `load_account` for the code that signs with them.

Errors (`AccountError` subclasses) name the account, venue and field at fault and never contain a secret.
"""

from __future__ import annotations

import getpass
import json
import re
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr, ValidationError
from sqlalchemy import and_, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from database.leases import lease_free
from database.models import Position, StrategyOrder, StrategyRun, table_of
from database.vault import Vault, VaultError
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.registry import UnknownVenueError, credentials_type
from perparb_core.errors import PerparbError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


class AccountError(PerparbError):
    """An account operation was refused; the message says why (never with a secret)."""


class AccountNotFoundError(AccountError):
    pass


class AccountExistsError(AccountError):
    pass


class CredentialsError(AccountError):
    """Credentials invalid, missing for a venue, or not decryptable."""


def actor() -> str:
    """Who is acting, for the audit log: OS user @ host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def validate_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise AccountError(
            f"account name {name!r} is invalid: 1-64 characters, letters, digits, '_', '.', '-', starting with a "
            "letter or digit"
        )
    return name


def parse_credentials(venue: str, fields: dict[str, Any]) -> BaseCredentials:
    """Build typed credentials for `venue` (its `VenueSpec.credentials_type`) from raw fields, or raise
    CredentialsError naming the bad fields (values are never echoed) or the unknown venue."""
    try:
        cls = credentials_type(venue)
    except UnknownVenueError as exc:
        raise CredentialsError(str(exc)) from None
    try:
        return cls(**{k: v for k, v in fields.items() if v not in (None, "")})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'credentials'}: {e['msg']}" for e in exc.errors()
        )
        raise CredentialsError(f"invalid {venue} credentials: {problems}") from None


def _aad(account: str, venue: str, purpose: str) -> str:
    return f"{account}|{venue}|{purpose}"


def mask(value: str) -> str:
    """A secret shown as its length only."""
    return f"<secret, {len(value)} chars>"


def redact_proxy_url(url: str) -> str:
    """Proxy URL without its password (user kept), for listings."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def _audit(
    conn: AsyncConnection,
    action: str,
    account: str | None,
    venue: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        text(
            "INSERT INTO audit_log (actor, action, account_name, venue, detail) "
            "VALUES (:actor, :action, :account, :venue, CAST(:detail AS jsonb))"
        ),
        {
            "actor": actor(),
            "action": action,
            "account": account,
            "venue": venue,
            "detail": json.dumps(detail) if detail is not None else None,
        },
    )


async def _account_id(conn: AsyncConnection, name: str, *, lock: bool = False) -> int | None:
    sql = "SELECT id FROM accounts WHERE name = :name" + (" FOR UPDATE" if lock else "")
    return (await conn.execute(text(sql), {"name": name})).scalar_one_or_none()


async def add_account(
    engine: AsyncEngine, vault: Vault, *, name: str, creds: BaseCredentials, description: str | None = None
) -> None:
    """Create account `name` with `creds`, or add a venue to an existing account.

    Raises:
        AccountError: invalid name.
        AccountExistsError: the account already has credentials for this venue (use update_credentials), or
            another process created the same account/venue at the same moment.
    """
    validate_name(name)
    blob = vault.encrypt(
        json.dumps(creds.secret_fields()).encode(), aad=_aad(name, creds.venue, "credentials")
    )
    try:
        async with engine.begin() as conn:
            account_id = await _account_id(conn, name, lock=True)
            created = account_id is None
            if created:
                account_id = (
                    await conn.execute(
                        text("INSERT INTO accounts (name, description) VALUES (:n, :d) RETURNING id"),
                        {"n": name, "d": description},
                    )
                ).scalar_one()
            await conn.execute(
                text(
                    "INSERT INTO account_credentials (account_id, venue, public_data, secret_ciphertext, key_id) "
                    "VALUES (:a, :v, CAST(:p AS jsonb), :s, :k)"
                ),
                {
                    "a": account_id,
                    "v": creds.venue,
                    "p": json.dumps(creds.public_fields()),
                    "s": blob,
                    "k": vault.current_id,
                },
            )
            await _audit(
                conn, "add_account" if created else "add_venue", name, creds.venue, creds.public_fields()
            )
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", "") or str(exc.orig)
        if "account_venue" in constraint:
            raise AccountExistsError(
                f"account {name!r} already has {creds.venue} credentials; use update-credentials to replace them"
            ) from None
        if "accounts_name" in constraint:
            raise AccountExistsError(
                f"account {name!r} was created by another process at the same time"
            ) from None
        raise


async def update_credentials(engine: AsyncEngine, vault: Vault, *, name: str, creds: BaseCredentials) -> None:
    """Replace the `creds.venue` credentials of `name`.

    Raises:
        AccountNotFoundError / CredentialsError: no such account, or no credentials for that venue yet.
    """
    blob = vault.encrypt(
        json.dumps(creds.secret_fields()).encode(), aad=_aad(name, creds.venue, "credentials")
    )
    async with engine.begin() as conn:
        account_id = await _account_id(conn, name, lock=True)
        if account_id is None:
            raise AccountNotFoundError(f"no account named {name!r}")
        result = await conn.execute(
            text(
                "UPDATE account_credentials SET public_data = CAST(:p AS jsonb), secret_ciphertext = :s, key_id = :k, "
                "rotated_at = now() WHERE account_id = :a AND venue = :v"
            ),
            {
                "a": account_id,
                "v": creds.venue,
                "p": json.dumps(creds.public_fields()),
                "s": blob,
                "k": vault.current_id,
            },
        )
        if result.rowcount == 0:
            raise CredentialsError(
                f"account {name!r} has no {creds.venue} credentials; use add-account to add them"
            )
        await conn.execute(text("UPDATE accounts SET updated_at = now() WHERE id = :a"), {"a": account_id})
        await _audit(conn, "update_credentials", name, creds.venue, creds.public_fields())


@dataclass(frozen=True)
class AccountSummary:
    """What `list_accounts` shows: public identifiers only, secrets masked."""

    name: str
    description: str | None
    active: bool
    created_at: datetime
    last_used_at: datetime | None
    venues: dict[str, dict[str, Any]]
    proxies: int

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "venues": self.venues,
            "proxies": self.proxies,
        }


async def list_accounts(engine: AsyncEngine) -> list[AccountSummary]:
    """Every account with its venues' public identifiers, key id and last use. Secrets: never read."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    """
                    SELECT a.name, a.description, a.is_active, a.created_at, a.last_used_at,
                           COALESCE(jsonb_object_agg(c.venue, jsonb_build_object(
                               'public', c.public_data, 'key_id', c.key_id, 'secret', '********',
                               'created_at', c.created_at, 'rotated_at', c.rotated_at,
                               'last_used_at', c.last_used_at)) FILTER (WHERE c.venue IS NOT NULL), '{}'::jsonb),
                           (SELECT count(*) FROM account_proxies p WHERE p.account_id = a.id)
                    FROM accounts a LEFT JOIN account_credentials c ON c.account_id = a.id
                    GROUP BY a.id ORDER BY a.name
                    """
                )
            )
        ).all()
    return [AccountSummary(r[0], r[1], r[2], r[3], r[4], dict(r[5]), int(r[6])) for r in rows]


_RUNS = table_of(StrategyRun)
_POSITIONS = table_of(Position)
_ORDERS = table_of(StrategyOrder)
_LIVE_POSITION = ("opening", "open", "closing")
_FINAL_ORDER = ("filled", "canceled", "rejected")


async def settle_dead_runs(conn: AsyncConnection, account: str) -> tuple[list[int], int]:
    """Runs of `account` still marked `running` whose process is gone (no session holds their lease: a crash or
    `kill -9`) are marked `crashed`; the paper positions and orders of a dead paper run end with its in-process
    simulator: positions `closed` with exit reason `paper_session_ended`, orders not final `canceled`. A run
    whose lease is held is alive and left alone. Runs inside `conn`'s transaction (the leases checked stay taken
    until it ends, so no run starts meanwhile).

    Returns:
        (ids of the runs marked crashed, paper positions closed).
    """
    running = (
        await conn.execute(
            select(_RUNS.c.id, _RUNS.c.mode, _RUNS.c.venues).where(
                and_(_RUNS.c.account_name == account, _RUNS.c.status == "running")
            )
        )
    ).all()
    dead: list[int] = []
    dead_paper = False
    for run in running:
        venues = [str(v) for v in (run.venues or [])]
        if all([await lease_free(conn, run.mode, account, v) for v in venues]):
            dead.append(run.id)
            dead_paper = dead_paper or run.mode == "paper"
    if dead:
        await conn.execute(
            update(_RUNS)
            .where(_RUNS.c.id.in_(dead))
            .values(status="crashed", stopped_at=func.now(), stop_reason="process gone (its lease was free)")
        )
    closed = 0
    paper_alive = any(r.mode == "paper" and r.id not in dead for r in running)
    if not paper_alive:
        result = await conn.execute(
            update(_POSITIONS)
            .where(
                and_(
                    _POSITIONS.c.account_name == account,
                    _POSITIONS.c.mode == "paper",
                    _POSITIONS.c.status.in_(_LIVE_POSITION),
                )
            )
            .values(
                status="closed",
                closed_at=func.now(),
                exit_reason="paper_session_ended",
                exit_detail="the simulator of the paper run that held it has stopped",
                updated_at=func.now(),
            )
        )
        closed = result.rowcount or 0
        paper_runs = select(_RUNS.c.id).where(and_(_RUNS.c.account_name == account, _RUNS.c.mode == "paper"))
        await conn.execute(
            update(_ORDERS)
            .where(and_(_ORDERS.c.run_id.in_(paper_runs), _ORDERS.c.status.not_in(_FINAL_ORDER)))
            .values(status="canceled", error="paper session ended", updated_at=func.now())
        )
    return dead, closed


async def account_has_live_state(conn: AsyncConnection, account: str) -> str | None:
    """Why `account` must not be removed (a run that is alive, or an open position on a real venue), or None.
    Dead runs and the positions of dead paper runs are settled first (`settle_dead_runs`)."""
    await settle_dead_runs(conn, account)
    run = (
        await conn.execute(
            select(_RUNS.c.id)
            .where(and_(_RUNS.c.account_name == account, _RUNS.c.status == "running"))
            .limit(1)
        )
    ).scalar()
    if run is not None:
        return f"run {run} is running on it (stop it first)"
    pos = (
        await conn.execute(
            select(_POSITIONS.c.id, _POSITIONS.c.symbol, _POSITIONS.c.mode)
            .where(and_(_POSITIONS.c.account_name == account, _POSITIONS.c.status.in_(_LIVE_POSITION)))
            .limit(1)
        )
    ).first()
    if pos is not None:
        return f"position {pos.id} ({pos.symbol}, {pos.mode}) is still open (close it first)"
    return None


async def remove_account(engine: AsyncEngine, *, name: str) -> None:
    """Delete an account, its credentials and proxies (one transaction, audited).

    Refused while a strategy run of the account is `running` or one of its positions is live (opening, open,
    closing; live or paper): `account_has_live_state` is checked under the account row's lock.

    Raises:
        AccountNotFoundError.
        AccountError: "cannot remove account 'x': run 7 is running on it (stop it first)" (or an open position).
    """
    async with engine.begin() as conn:
        account_id = await _account_id(conn, name, lock=True)
        if account_id is None:
            raise AccountNotFoundError(f"no account named {name!r}")
        reason = await account_has_live_state(conn, name)
        if reason is not None:
            raise AccountError(f"cannot remove account {name!r}: {reason}")
        venues = (
            (
                await conn.execute(
                    text("SELECT venue FROM account_credentials WHERE account_id = :a"), {"a": account_id}
                )
            )
            .scalars()
            .all()
        )
        await conn.execute(text("DELETE FROM accounts WHERE id = :a"), {"a": account_id})
        await _audit(conn, "remove_account", name, None, {"venues": sorted(venues)})


@dataclass(frozen=True)
class ProxyConfig:
    """A decrypted proxy of an account. `url` is secret-bearing: its repr hides the password."""

    id: int
    scheme: str
    url: SecretStr
    priority: int
    status: str


@dataclass(frozen=True)
class AccountCredentials:
    """Everything a strategy needs to trade as `name`: typed credentials per venue and proxies.

    Secrets are `SecretStr` inside the credential objects; `repr()` never shows them.
    """

    name: str
    venues: dict[str, BaseCredentials]
    proxies: list[ProxyConfig] = field(default_factory=list)

    def for_venue(self, venue: str) -> BaseCredentials:
        """Raises CredentialsError when the account has no credentials for `venue`."""
        try:
            return self.venues[venue]
        except KeyError:
            raise CredentialsError(
                f"account {self.name!r} has no credentials for {venue}; it has: {sorted(self.venues) or 'none'}"
            ) from None


async def load_account(
    engine: AsyncEngine, vault: Vault, name: str, *, touch: bool = True
) -> AccountCredentials:
    """Decrypt the credentials (and proxies) of account `name`; records the use (`last_used_at`).

    Raises:
        AccountNotFoundError: unknown account.
        CredentialsError: "cannot decrypt credentials of account 'X' for lighter: the master key does not match
            key id K", or an authentication failure (altered data).
    """
    async with engine.begin() as conn:
        account = (
            await conn.execute(text("SELECT id, is_active FROM accounts WHERE name = :n"), {"n": name})
        ).one_or_none()
        if account is None:
            raise AccountNotFoundError(f"no account named {name!r}")
        rows = (
            await conn.execute(
                text(
                    "SELECT venue, public_data, secret_ciphertext FROM account_credentials WHERE account_id = :a "
                    "ORDER BY venue"
                ),
                {"a": account.id},
            )
        ).all()
        venues: dict[str, BaseCredentials] = {}
        for venue, public, blob in rows:
            what = f"credentials of account {name!r} for {venue}"
            try:
                secret = json.loads(
                    vault.decrypt(bytes(blob), aad=_aad(name, venue, "credentials"), what=what)
                )
            except VaultError as exc:
                raise CredentialsError(str(exc)) from None
            venues[venue] = parse_credentials(venue, {**public, **secret})
        proxies = []
        for pid, scheme, blob, priority, status in (
            await conn.execute(
                text(
                    "SELECT id, scheme, url_ciphertext, priority, status FROM account_proxies WHERE account_id = :a "
                    "ORDER BY priority, id"
                ),
                {"a": account.id},
            )
        ).all():
            try:
                url = vault.decrypt(
                    bytes(blob), aad=_aad(name, "proxy", str(pid)), what=f"proxy {pid} of {name!r}"
                )
            except VaultError as exc:
                raise CredentialsError(str(exc)) from None
            proxies.append(ProxyConfig(pid, scheme, SecretStr(url.decode()), priority, status))
        if touch:
            await conn.execute(
                text("UPDATE accounts SET last_used_at = now() WHERE id = :a"), {"a": account.id}
            )
            await conn.execute(
                text("UPDATE account_credentials SET last_used_at = now() WHERE account_id = :a"),
                {"a": account.id},
            )
    return AccountCredentials(name=name, venues=venues, proxies=proxies)


async def rotate_key(engine: AsyncEngine, old: Vault, new: Vault) -> int:
    """Re-encrypt every credential and proxy secret from `old`'s keyring to `new`'s current key in ONE
    transaction (audited). Returns the number of secrets re-encrypted.

    Raises:
        CredentialsError: a secret cannot be decrypted with `old` (nothing is changed).
    """
    count = 0
    async with engine.begin() as conn:
        creds = (
            await conn.execute(
                text(
                    "SELECT c.id, a.name, c.venue, c.secret_ciphertext FROM account_credentials c "
                    "JOIN accounts a ON a.id = c.account_id ORDER BY c.id FOR UPDATE OF c"
                )
            )
        ).all()
        for cid, name, venue, blob in creds:
            aad = _aad(name, venue, "credentials")
            try:
                plain = old.decrypt(bytes(blob), aad=aad, what=f"credentials of account {name!r} for {venue}")
            except VaultError as exc:
                raise CredentialsError(str(exc)) from None
            await conn.execute(
                text(
                    "UPDATE account_credentials SET secret_ciphertext = :s, key_id = :k, rotated_at = now() "
                    "WHERE id = :id"
                ),
                {"s": new.encrypt(plain, aad=aad), "k": new.current_id, "id": cid},
            )
            count += 1
        proxies = (
            await conn.execute(
                text(
                    "SELECT p.id, a.name, p.url_ciphertext FROM account_proxies p JOIN accounts a ON a.id = p.account_id "
                    "ORDER BY p.id FOR UPDATE OF p"
                )
            )
        ).all()
        for pid, name, blob in proxies:
            aad = _aad(name, "proxy", str(pid))
            try:
                plain = old.decrypt(bytes(blob), aad=aad, what=f"proxy {pid} of {name!r}")
            except VaultError as exc:
                raise CredentialsError(str(exc)) from None
            await conn.execute(
                text("UPDATE account_proxies SET url_ciphertext = :s, key_id = :k WHERE id = :id"),
                {"s": new.encrypt(plain, aad=aad), "k": new.current_id, "id": pid},
            )
            count += 1
        await _audit(
            conn,
            "rotate_key",
            None,
            None,
            {"from_key_id": old.current_id, "to_key_id": new.current_id, "secrets": count},
        )
    return count


async def count_key_usage(engine: AsyncEngine, key_id: str) -> int:
    """Number of stored secrets encrypted under `key_id`."""
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM account_credentials WHERE key_id = :k) + "
                        "(SELECT count(*) FROM account_proxies WHERE key_id = :k)"
                    ),
                    {"k": key_id},
                )
            ).scalar_one()
        )


def parse_proxy_url(url: str) -> str:
    """Validate a proxy URL (scheme http/https/socks5/socks5h, host, optional port). Returns the scheme.

    Raises:
        AccountError: naming the problem (the URL's password is never echoed).
    """
    parts = urlsplit(url)
    if parts.scheme not in PROXY_SCHEMES:
        raise AccountError(f"proxy url scheme {parts.scheme!r} is not one of {list(PROXY_SCHEMES)}")
    if not parts.hostname:
        raise AccountError("proxy url has no host")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise AccountError("proxy url has an invalid port") from None
    return parts.scheme


async def add_proxy(engine: AsyncEngine, vault: Vault, *, name: str, url: str, priority: int = 0) -> int:
    """Add a proxy to account `name`; returns its id. Raises AccountNotFoundError / AccountError."""
    scheme = parse_proxy_url(url)
    async with engine.begin() as conn:
        account_id = await _account_id(conn, name, lock=True)
        if account_id is None:
            raise AccountNotFoundError(f"no account named {name!r}")
        pid = (
            await conn.execute(
                text(
                    "INSERT INTO account_proxies (account_id, scheme, url_ciphertext, key_id, priority) "
                    "VALUES (:a, :s, '\\x00', :k, :p) RETURNING id"
                ),
                {"a": account_id, "s": scheme, "k": vault.current_id, "p": priority},
            )
        ).scalar_one()
        blob = vault.encrypt(url.encode(), aad=_aad(name, "proxy", str(pid)))
        await conn.execute(
            text("UPDATE account_proxies SET url_ciphertext = :b WHERE id = :id"), {"b": blob, "id": pid}
        )
        await _audit(conn, "add_proxy", name, None, {"proxy_id": pid, "scheme": scheme, "priority": priority})
    return pid


async def list_proxies(engine: AsyncEngine, vault: Vault, *, name: str) -> list[dict[str, Any]]:
    """Proxies of `name` with passwords redacted. Raises AccountNotFoundError / CredentialsError."""
    account = await load_account(engine, vault, name, touch=False)
    return [
        {
            "id": p.id,
            "scheme": p.scheme,
            "url": redact_proxy_url(p.url.get_secret_value()),
            "priority": p.priority,
            "status": p.status,
        }
        for p in account.proxies
    ]


async def remove_proxy(engine: AsyncEngine, *, name: str, proxy_id: int) -> None:
    """Remove proxy `proxy_id` of account `name`. Raises AccountNotFoundError."""
    async with engine.begin() as conn:
        account_id = await _account_id(conn, name, lock=True)
        if account_id is None:
            raise AccountNotFoundError(f"no account named {name!r}")
        result = await conn.execute(
            text("DELETE FROM account_proxies WHERE id = :p AND account_id = :a"),
            {"p": proxy_id, "a": account_id},
        )
        if result.rowcount == 0:
            raise AccountNotFoundError(f"account {name!r} has no proxy {proxy_id}")
        await _audit(conn, "remove_proxy", name, None, {"proxy_id": proxy_id})
