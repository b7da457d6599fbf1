"""Paradex's error answers in the simulator: `ParadexApiError` (HTTP status + the OpenAPI `ApiError` body
`{"error": <ErrorCode>, "message", "data": null}`) and the bodies of injected HTTP faults (`paradex_error_body`).
"""

from __future__ import annotations

from typing import Any


class ParadexApiError(Exception):
    """A request Paradex answers with an `ApiError` body. Carries the HTTP status and the body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.body: dict[str, Any] = {"error": code, "message": message, "data": None}
        super().__init__(f"{status} {code}: {message}")


_FAULT_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED_ERROR",
    403: "REQUEST_NOT_ALLOWED",
    404: "NOT_FOUND",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def paradex_error_body(status: int) -> dict[str, Any]:
    """Paradex-shaped error body (`responses.ApiError`) for an injected HTTP status.

    Codes come from the OpenAPI `responses.ErrorCode` enum except 429's `TOO_MANY_REQUESTS`: the enum has no
    rate-limit code and the 429 body is not recorded (paradex-py raises "Rate limit exceeded" on 429 without
    reading the body).
    """
    code = _FAULT_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "INVALID_REQUEST_PARAMETER")
    return {"error": code, "message": f"simulated fault: HTTP {status}", "data": None}
