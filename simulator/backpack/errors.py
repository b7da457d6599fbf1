"""Backpack's error bodies in the simulator: `{"code": <ApiErrorCode>, "message": <text>}`.

Recorded: HTTP 400 `{"code":"INVALID_CLIENT_REQUEST","message":"Invalid market symbol"}` for an unknown symbol on
`/api/v1/depth` (venue-data/backpack/rest_error_invalid_market_symbol.json); a closed market on `/depth` answers 404
`{"code":"RESOURCE_NOT_FOUND","message":"Not Found"}` (same source note). The other codes are names of Backpack's
`ApiErrorCode` enum (UNAUTHORIZED, INVALID_SIGNATURE, INVALID_ORDER, INSUFFICIENT_MARGIN, TOO_MANY_REQUESTS,
SERVER_ERROR, MAINTENANCE, ...); their HTTP statuses and messages beyond the recorded ones are the simulator's
guesses (401 for UNAUTHORIZED / INVALID_SIGNATURE).
"""

from __future__ import annotations

from typing import Any

STATUS_CODES = {
    400: "INVALID_CLIENT_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "RESOURCE_NOT_FOUND",
    429: "TOO_MANY_REQUESTS",
    500: "SERVER_ERROR",
    502: "SERVER_ERROR",
    503: "MAINTENANCE",
    504: "TIMEOUT",
}
MESSAGES = {
    429: "Too many requests",
    500: "Internal server error",
    503: "Service under maintenance",
    404: "Not Found",
}


class BackpackApiError(Exception):
    """A refusal answered with Backpack's body. `status` HTTP status, `code` ApiErrorCode, `message` text."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def backpack_error_body(status: int) -> dict[str, Any]:
    """The venue body of an injected HTTP fault of `status`."""
    return {
        "code": STATUS_CODES.get(status, "SERVER_ERROR" if status >= 500 else "INVALID_CLIENT_REQUEST"),
        "message": MESSAGES.get(status, f"HTTP {status}"),
    }


def invalid(message: str) -> BackpackApiError:
    """400 INVALID_CLIENT_REQUEST."""
    return BackpackApiError(400, "INVALID_CLIENT_REQUEST", message)


def not_found(message: str = "Not Found") -> BackpackApiError:
    """404 RESOURCE_NOT_FOUND."""
    return BackpackApiError(404, "RESOURCE_NOT_FOUND", message)
