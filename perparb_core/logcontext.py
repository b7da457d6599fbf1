"""Context fields of log records: which run, account, venue and symbol a line is about.

`log_context(run=..., account=...)` sets fields for the current task and the tasks it starts (contextvars); a
call may also pass `extra={"venue": ..., "symbol": ...}`. `ContextFilter`, installed on the handler by the app
(`perparb.runtime.configure_logging`), copies the fields onto every record (None when unknown), and takes the
venue from the logger's name when it is a venue package's logger (`exchange_clients.<venue>....`,
`simulator.<venue>....`). The JSON log format prints them as fields; the text format ignores them.

Raises nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
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


def _venue_of_logger(name: str) -> str | None:
    for prefix in _VENUE_PACKAGES:
        if name.startswith(prefix):
            part = name[len(prefix) :].split(".", 1)[0]
            return None if part in _NOT_VENUES or not part else part
    return None


class ContextFilter(logging.Filter):
    """Sets `run`, `account`, `venue`, `symbol` on each record (see the module docstring); never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _context.get() or {}
        for name in FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, fields.get(name))
        if getattr(record, "venue", None) is None:
            record.venue = _venue_of_logger(record.name)
        return True
