"""The control API: pause, resume or flatten the run trading an account, through the database.

* `POST /api/v1/accounts/{account}/commands` with JSON `{"command": "pause"|"resume"|"flatten",
  "mode": "live"|"paper"|null, "reason": "..."|null}` and `Authorization: Bearer <PERPARB_API_TOKEN>`: records
  the command (`database.commands.issue_command`, `issued_by="api <client address>"`) and answers 201 with the
  command row (`COMMAND_FIELDS`). The run of the account picks it up within `COMMAND_POLL_SECONDS` (its rules:
  `database.commands`); `mode` null means the account's run in either mode.
* `GET /api/v1/accounts/{account}/commands?limit=` the account's newest commands (read-only: no token).
* `GET /api/v1/commands/{id}` one command as stored now (to follow it from `pending` to `done` / `expired`).

Refusals, JSON `{"error": ..., "detail": ...}`, checked in this order, before the body is read (after the path:
an account name the vault could never hold, `database.accounts.NAME_RE`, is FastAPI's 422 naming it):
* 403 `control_disabled`: the server has no token (`PERPARB_API_TOKEN` / `_FILE` unset): read-only;
* 401 `unauthorized` (with `WWW-Authenticate: Bearer`): no `Authorization: Bearer` header, or a wrong token. The
  comparison is constant-time (`hmac.compare_digest`); no answer, log line or error ever contains the token;
* 422 `invalid_request`: the body is not JSON or a field is wrong (the message names the field and the value);
* 404 `unknown_account`: the account is neither in the vault nor has it ever run.

Why a bearer header rather than a cookie: a browser never attaches it on its own, so another site cannot forge
a control request (no CSRF), and the API adds no CORS headers, so a cross-origin script cannot send one either.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import NAME_RE
from database.commands import CommandRow, get_command, issue_command, recent_commands
from perparb.dashboard import queries
from perparb_core.settings import ServiceConfig

log = logging.getLogger("perparb.control")

COMMAND_FIELDS = (
    "id",
    "account_name",
    "mode",
    "command",
    "issued_by",
    "reason",
    "status",
    "created_at",
    "expires_at",
    "run_id",
    "handled_at",
    "result",
)
ACCOUNT_PATTERN = NAME_RE.pattern
"""Account names as the vault accepts them (`database.accounts.NAME_RE`); another path answers 422 first."""


class CommandRequest(BaseModel):
    """The body of a control request (unknown fields are refused)."""

    model_config = ConfigDict(extra="forbid")

    command: Literal["pause", "resume", "flatten"]
    mode: Literal["live", "paper"] | None = None
    reason: str | None = Field(default=None, max_length=500)


class ControlError(Exception):
    """A refused control request: HTTP status, machine-readable `error`, human `detail`."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def command_json(row: CommandRow) -> dict[str, Any]:
    """A command row as JSON (times ISO-8601 UTC)."""
    out: dict[str, Any] = {}
    for name in COMMAND_FIELDS:
        value = getattr(row, name)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def check_token(config: ServiceConfig, authorization: str | None) -> None:
    """Accept the request only with the server's token.

    Raises:
        ControlError: 403 when the server has no token, 401 when the header is missing, not `Bearer ...`, or
            holds another token (constant-time comparison).
    """
    if config.api_token is None:
        raise ControlError(
            403,
            "control_disabled",
            "control actions are disabled: the server has no PERPARB_API_TOKEN (or PERPARB_API_TOKEN_FILE)",
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ControlError(401, "unauthorized", "send the API token as `Authorization: Bearer <token>`")
    expected = config.api_token.get_secret_value().encode()
    if not hmac.compare_digest(given.strip().encode(), expected):
        raise ControlError(401, "unauthorized", "the token is not this server's API token")


def _refusal(exc: ControlError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status, headers=headers)


def _shown(value: Any) -> str:
    """A refused value as the error shows it: its repr, at most 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _parse(raw: bytes) -> CommandRequest:
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ControlError(422, "invalid_request", f"the body is not JSON ({exc})") from None
    try:
        return CommandRequest.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']} (got {_shown(e.get('input'))})"
            for e in exc.errors()
        )
        raise ControlError(422, "invalid_request", problems) from None


def router(config: ServiceConfig) -> APIRouter:
    """The control endpoints (module docstring) for an app whose `state.engine` is the database."""
    api = APIRouter(tags=["control"])

    def engine_of(request: Request) -> AsyncEngine:
        engine: AsyncEngine = request.app.state.engine
        return engine

    @api.post(
        "/api/v1/accounts/{account}/commands",
        summary="Pause, resume or flatten the run of an account (needs the API token)",
        status_code=201,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": CommandRequest.model_json_schema()}},
            }
        },
        responses={
            201: {"description": "recorded: the command row"},
            401: {"description": "no or wrong bearer token"},
            403: {"description": "control disabled: the server has no API token"},
            404: {"description": "unknown account"},
            422: {"description": "bad body (names the field and value)"},
        },
    )
    async def issue(request: Request, account: Annotated[str, Path(pattern=ACCOUNT_PATTERN)]) -> JSONResponse:
        client = request.client.host if request.client else "unknown"
        try:
            check_token(config, request.headers.get("authorization"))
        except ControlError as exc:
            log.warning("control: refused a request from %s for account %s: %s", client, account, exc.error)
            return _refusal(exc)
        try:
            body = _parse(await request.body())
            async with engine_of(request).connect() as conn:
                known = await queries.account_known(conn, account)
            if not known:
                raise ControlError(
                    404, "unknown_account", f"account {account!r} is not in the vault and has never run"
                )
        except ControlError as exc:
            return _refusal(exc)
        row = await issue_command(
            engine_of(request),
            account,
            body.command,
            issued_by=f"api {client}",
            reason=body.reason,
            mode=body.mode,
        )
        log.info(
            "control: %s of account %s (mode %s) issued from %s: command %d",
            body.command,
            account,
            body.mode or "any",
            client,
            row.id,
        )
        return JSONResponse(command_json(row), status_code=201)

    @api.get("/api/v1/accounts/{account}/commands", summary="The newest commands of an account")
    async def list_commands(
        request: Request,
        account: Annotated[str, Path(pattern=ACCOUNT_PATTERN)],
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[dict[str, Any]]:
        rows = await recent_commands(engine_of(request), account, limit=limit)
        return [command_json(r) for r in rows]

    @api.get("/api/v1/commands/{command_id}", summary="One command as stored now")
    async def one_command(request: Request, command_id: Annotated[int, Path(ge=1)]) -> dict[str, Any]:
        try:
            row = await get_command(engine_of(request), command_id)
        except LookupError:
            raise HTTPException(404, f"no run command {command_id}") from None
        return command_json(row)

    return api


__all__ = ["COMMAND_FIELDS", "CommandRequest", "ControlError", "check_token", "command_json", "router"]
