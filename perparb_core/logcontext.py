"""Context fields of log records: which run, account, venue and symbol a line is about.

`log_context(run=..., account=...)` sets fields for the current task and the tasks it starts (contextvars); a
call may also pass `extra={"venue": ..., "symbol": ...}`. `ContextFilter`, installed on the handler by the app
(`perparb.runtime.configure_logging`), copies the fields onto every record (None when unknown), and takes the
venue from the logger's name when it is a venue package's logger (`exchange_clients.<venue>....`,
`simulator.<venue>....`, or a name with an installed venue as a later component: `perparb.<venue>.client`). The JSON log format prints them as fields; the text format ignores them.

Raises nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

FIELDS = ("run", "account", "venue", "symbol")
_context: ContextVar[dict[str, Any] | None] = ContextVar("perparb_log_context", default=None)
_VENUE_PACKAGES = ("exchange_clients.", "simulator.")
_NOT_VENUES = frozenset({"base", "registry", "engine", "protocol", "server", "scenario", "faults"})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` (of FIELDS) to every record logged inside the block, in this task and its children."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"log_context: unknown field(s) {sorted(unknown)}; known: {FIELDS}")
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict[str, Any]:
    """The fields set for the current task."""
    return dict(_context.get() or {})


def _venue_of_logger(name: str, venues: frozenset[str]) -> str | None:
    parts = name.split(".")
    for prefix in _VENUE_PACKAGES:
        if name.startswith(prefix):
            part = parts[1] if len(parts) > 1 else ""
            if part and part not in _NOT_VENUES:
                return part
    for part in parts[1:]:  # "perparb.<venue>.client": a component that is an installed venue's name
        if part in venues:
            return part
    return None


class ContextFilter(logging.Filter):
    """Sets `run`, `account`, `venue`, `symbol` on each record (see the module docstring); never drops one.
    `venues`: the installed venues' names, recognised as a component of a logger's name after the first."""

    def __init__(self, venues: Iterable[str] = ()) -> None:
        super().__init__()
        self.venues = frozenset(venues)

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _context.get() or {}
        for name in FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, fields.get(name))
        if getattr(record, "venue", None) is None:
            record.venue = _venue_of_logger(record.name, self.venues)
        return True
