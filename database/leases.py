"""Lease keys: which PostgreSQL advisory lock guards an account's trading on a venue.

A strategy run holds one session-level advisory lock per (mode, account, venue) for its whole life
(`strategies.state.Lease`), so no second run on any machine sharing the database trades the same account. The
lock dies with its connection: a killed process frees it. That makes a lock that can be taken a proof that no
run holds it, which the account store uses to recognise runs that died without saying so.

Why here: both the strategies (taking the leases) and the account store (checking them before removing an
account) need the same keys, and the account store sits below the strategies.
"""

from __future__ import annotations

import zlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

LEASE_CLASS = 0x70706172  # 'ppar': the first key of every perparb lease (pg_locks.classid)


def lease_key(mode: str, account: str, venue: str) -> int:
    """The second key (a signed 32-bit int) of the lease of (`mode` "live"|"paper", `account`, `venue`)."""
    raw = zlib.crc32(f"{mode}:{account}:{venue}".encode())
    return raw - (1 << 32) if raw >= (1 << 31) else raw


async def lease_free(conn: AsyncConnection, mode: str, account: str, venue: str) -> bool:
    """True when no session holds the lease: it is taken for the rest of `conn`'s transaction
    (`pg_try_advisory_xact_lock`), so no run can start on it before the transaction ends."""
    taken = await conn.execute(
        text("SELECT pg_try_advisory_xact_lock(:c, :k)"),
        {"c": LEASE_CLASS, "k": lease_key(mode, account, venue)},
    )
    return bool(taken.scalar_one())
