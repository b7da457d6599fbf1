"""Authentication helpers shared by the simulated venues.

Each venue's own state (keys, accounts, tokens) and endpoints live in `simulator/<venue>/auth.py`; this module holds
what they share: the venue-shaped refusal `SimAuthError` (the admin helpers of their key registries are
`simulator.admin`).
"""

from __future__ import annotations

from typing import Any


class SimAuthError(Exception):
    """A request the venue refuses: HTTP `status` with the venue-shaped `body`."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        super().__init__(f"{status} {body}")
