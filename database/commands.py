"""Commands to a running strategy run, through the database (`run_commands`): pause, resume, flatten, reduce.

Who writes them: `perparb pause|resume|flatten --account NAME`, the dashboard's control actions (with the API
token) and the risk guardian (`strategies.risk`). Who reads them: the runner of the account
(`strategies.runner`), which polls between cycles, while it waits for the next cycle (every
`COMMAND_POLL_SECONDS`) and before every entry. Because the channel is a table, a command works from any process
on any machine that shares the database, and survives the runner's restart.

Rules:
* `pause` / `resume` never expire: one issued while no run trades the account decides whether its next run starts
  paused (`entries_paused_at_start`: the latest pause or resume of the account decides).
* `flatten` / `reduce` act now or never: they expire after `ACT_NOW_SECONDS` if no run picks them up, so a flatten
  typed while nothing runs never closes a later run's positions by surprise.
* A command is claimed under `FOR UPDATE SKIP LOCKED`, so two runs of one account (live and paper) never both act
  on a command without a mode.

Why hand-written: the command channel is a handful of SQL statements on this project's own table; a message
queue would add a server for what PostgreSQL already does transactionally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from database.models import RunCommand, StrategyRun, table_of
from perparb_core.errors import ConfigError

Command = Literal["pause", "resume", "flatten", "reduce"]
COMMANDS: tuple[Command, ...] = ("pause", "resume", "flatten", "reduce")
ACT_NOW = frozenset({"flatten", "reduce"})
ACT_NOW_SECONDS = 600.0
"""How long a flatten or reduce waits for a run to pick it up before it expires, seconds."""
NEVER = datetime(9999, 12, 31, tzinfo=timezone.utc)
COMMAND_POLL_SECONDS = 1.0
"""How often a waiting runner reads its pending commands, seconds."""

RUN_COMMANDS = table_of(RunCommand)


@dataclass(frozen=True, slots=True)
class CommandRow:
    """A row of `run_commands` (see the model for the fields)."""

    id: int
    account_name: str
    mode: str | None
    command: str
    issued_by: str
    reason: str | None
    status: str
    created_at: datetime
    expires_at: datetime
    run_id: int | None
    handled_at: datetime | None
    result: str | None


def _row(r: object) -> CommandRow:
    return CommandRow(**{f: getattr(r, f) for f in CommandRow.__dataclass_fields__})


async def issue_command(
    engine: AsyncEngine,
    account: str,
    command: str,
    *,
    issued_by: str,
    reason: str | None = None,
    mode: str | None = None,
    now: datetime | None = None,
) -> CommandRow:
    """Record a command for the run of `account` (`mode` live/paper, or None for either) and return its row.

    Raises:
        ConfigError: `command` is not one of COMMANDS, or `mode` is not live/paper/None.
    """
    if command not in COMMANDS:
        raise ConfigError(f"command: {command!r} is not one of {', '.join(COMMANDS)}")
    if mode not in (None, "live", "paper"):
        raise ConfigError(f"mode: {mode!r} is not live or paper")
    at = now or datetime.now(timezone.utc)
    expires = at + timedelta(seconds=ACT_NOW_SECONDS) if command in ACT_NOW else NEVER
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                RUN_COMMANDS.insert()
                .values(
                    account_name=account,
                    mode=mode,
                    command=command,
                    issued_by=issued_by[:128],
                    reason=reason,
                    created_at=at,
                    expires_at=expires,
                )
                .returning(*RUN_COMMANDS.c)
            )
        ).one()
    return _row(row)


def _mine(account: str, mode: str) -> object:
    c = RUN_COMMANDS.c
    return and_(c.account_name == account, or_(c.mode.is_(None), c.mode == mode))


async def claim_pending(
    conn: AsyncConnection, account: str, mode: str, now: datetime | None = None
) -> list[CommandRow]:
    """The pending, unexpired commands of `account` for a run in `mode`, oldest first, locked for the rest of
    `conn`'s transaction (skipping rows another run holds). Expired act-now commands are marked `expired` on the
    way. The caller marks each claimed row `complete`d in the same transaction."""
    c = RUN_COMMANDS.c
    at = now or datetime.now(timezone.utc)
    await conn.execute(
        update(RUN_COMMANDS)
        .where(_mine(account, mode), c.status == "pending", c.expires_at < at)  # type: ignore[arg-type]
        .values(status="expired", handled_at=at, result="no run picked it up in time")
    )
    rows = await conn.execute(
        select(RUN_COMMANDS)
        .where(_mine(account, mode), c.status == "pending")  # type: ignore[arg-type]
        .order_by(c.id)
        .with_for_update(skip_locked=True)
    )
    return [_row(r) for r in rows]


async def complete(
    conn: AsyncConnection, command_id: int, run_id: int | None, result: str, now: datetime | None = None
) -> None:
    """Mark a claimed command done by `run_id`, with what it did."""
    await conn.execute(
        update(RUN_COMMANDS)
        .where(RUN_COMMANDS.c.id == command_id)
        .values(
            status="done", run_id=run_id, handled_at=now or datetime.now(timezone.utc), result=result[:2000]
        )
    )


async def entries_paused_at_start(conn: AsyncConnection, account: str, mode: str) -> CommandRow | None:
    """The latest handled pause of `account` (for `mode`) when no resume followed it, else None: a run that
    starts now starts paused when this is not None."""
    c = RUN_COMMANDS.c
    row = (
        await conn.execute(
            select(RUN_COMMANDS)
            .where(_mine(account, mode), c.status == "done", c.command.in_(("pause", "resume")))  # type: ignore[arg-type]
            .order_by(c.id.desc())
            .limit(1)
        )
    ).first()
    if row is None or row.command != "pause":
        return None
    return _row(row)


async def get_command(engine: AsyncEngine, command_id: int) -> CommandRow:
    """The command `command_id` as stored now. Raises LookupError when there is none."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(RUN_COMMANDS).where(RUN_COMMANDS.c.id == command_id))).first()
    if row is None:
        raise LookupError(f"no run command {command_id}")
    return _row(row)


async def recent_commands(
    engine: AsyncEngine, account: str | None = None, limit: int = 50
) -> list[CommandRow]:
    """The newest commands (of `account`, or all), newest first."""
    c = RUN_COMMANDS.c
    query = select(RUN_COMMANDS).order_by(c.id.desc()).limit(limit)
    if account is not None:
        query = query.where(c.account_name == account)
    async with engine.connect() as conn:
        return [_row(r) for r in await conn.execute(query)]


@dataclass(frozen=True, slots=True)
class RunningRun:
    """A run recorded `running`: `heartbeat_at` tells whether it is alive (it heartbeats every cycle)."""

    id: int
    mode: str
    config_name: str
    heartbeat_at: datetime
    status: str
    stop_reason: str | None


async def running_runs(engine: AsyncEngine, account: str, mode: str | None = None) -> list[RunningRun]:
    """The runs of `account` (in `mode`, or any) recorded `running`, newest first."""
    r = table_of(StrategyRun).c
    query = (
        select(r.id, r.mode, r.config_name, r.heartbeat_at, r.status, r.stop_reason)
        .where(r.account_name == account, r.status == "running")
        .order_by(r.id.desc())
    )
    if mode is not None:
        query = query.where(r.mode == mode)
    async with engine.connect() as conn:
        return [RunningRun(*row) for row in await conn.execute(query)]


async def run_status(engine: AsyncEngine, run_id: int) -> RunningRun:
    """A run's status now (see `RunningRun`). Raises LookupError when there is no such run."""
    r = table_of(StrategyRun).c
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(r.id, r.mode, r.config_name, r.heartbeat_at, r.status, r.stop_reason).where(
                    r.id == run_id
                )
            )
        ).first()
    if row is None:
        raise LookupError(f"no run {run_id}")
    return RunningRun(*row)
