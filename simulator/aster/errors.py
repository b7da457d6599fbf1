"""Aster's error bodies in the simulator: `{"code": <negative int>, "msg": <text>}` with the HTTP status the venue
uses (asterdex/api-docs@265e024 V3 "Error Codes", "HTTP Return Codes"; Binance's futures API, which Aster copies:
400 for request errors, 401 for -2015 / -1022 style auth failures is a guess (Binance answers 400 / 401), 429 for
rate limits, 5xx for its own failures).

| code  | msg (the docs' text)                                   | HTTP |
|-------|--------------------------------------------------------|------|
| -1000 | An unknown error occured while processing the request. | 500  |
| -1001 | Internal error; unable to process your request. Please try again. | 503 |
| -1003 | Too many requests; ...                                 | 429  |
| -1021 | Timestamp for this request is outside of the recvWindow. | 400 |
| -1022 | Signature for this request is not valid.               | 401  |
| -1102 | Mandatory parameter '%s' was not sent, was empty/null, or malformed. | 400 |
| -1121 | Invalid symbol.                                        | 400  |
| -2013 | Order does not exist.                                  | 400  |
| -2014 | API-key format invalid.                                | 401  |
| -2015 | Invalid API-key, IP, or permissions for action.        | 401  |
| -1125 | This listenKey does not exist.                         | 400  |
| -4225 | Nonce Expired (V3 docs' Noop example answer)           | 400  |
"""

from __future__ import annotations

from typing import Any

MESSAGES = {
    -1000: "An unknown error occured while processing the request.",
    -1001: "Internal error; unable to process your request. Please try again.",
    -1003: "Too many requests; current limit is 2400 requests per minute. Please use the websocket for live "
    "updates to avoid polling the API.",
    -1021: "Timestamp for this request is outside of the recvWindow.",
    -1022: "Signature for this request is not valid.",
    -1121: "Invalid symbol.",
    -1125: "This listenKey does not exist.",
    -2011: "Unknown order sent.",
    -2013: "Order does not exist.",
    -2014: "API-key format invalid.",
    -2015: "Invalid API-key, IP, or permissions for action.",
    -4225: "Nonce Expired",
}


class AsterApiError(Exception):
    """An error answer of the simulated Aster: `status` and the body `{"code", "msg"}`."""

    def __init__(self, status: int, code: int, msg: str | None = None) -> None:
        self.status = status
        self.code = code
        self.msg = msg or MESSAGES.get(code, "error")
        super().__init__(f"HTTP {status} {code} {self.msg}")

    @property
    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}


def bad_param(name: str) -> AsterApiError:
    """-1102 for a missing or malformed parameter."""
    return AsterApiError(
        400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def aster_error_body(status: int) -> dict[str, Any]:
    """The body of an injected HTTP fault (`simulator.faults`): 429 -> -1003, 5xx -> -1001, 401/403 -> -2015,
    other 4xx -> -1000."""
    if status == 429:
        code = -1003
    elif status >= 500:
        code = -1001
    elif status in (401, 403):
        code = -2015
    else:
        code = -1000
    return {"code": code, "msg": MESSAGES[code]}
