"""Operator alerts: recorded in the database with the event they report, delivered in the background.

Flow: a process that notices something an operator must know calls `raise_alert(conn, ...)` inside the
transaction that records it (a position opened, a hedge used, a venue down...). The row is the outbox: a
background `AlertDispatcher` in every long-running process (`perparb run`, `collect`, `serve`) claims due rows
and delivers them through apprise (one `PERPARB_ALERT_URLS` setting gives Telegram, Discord, Slack, email and
webhooks). So:

* an alert is never lost to a crash or an outage of the receiver: it stays `pending` and is retried with
  exponential backoff (`AlertConfig.retry_base_seconds` x 2^(attempt-1), at most `MAX_BACKOFF_SECONDS`) until
  `AlertConfig.max_attempts`, then `failed` with the reason;
* delivery never blocks trading: the trading path only inserts a row; apprise runs in the dispatcher's own
  thread pool (`DELIVERY_THREADS` threads, never the event loop's default executor, which the venue SDKs' signing
  uses) under `AlertConfig.timeout_seconds`; a receiver that hangs holds one delivery thread, nothing else;
* duplicates are suppressed: an alert whose (event, subject) was raised within `AlertConfig.dedupe_seconds` is
  recorded `suppressed` (kept for the record, not sent). The check runs under a transaction-level advisory lock
  on (event, subject), so two processes raising the same alert at once still send one;
* with no URL configured the row is recorded `unrouted`.

Alert URLs carry tokens: they are `SecretStr`, never logged, never stored; a delivery error is stored as its kind
only (time-out, refused), never with the URL.

Why apprise (not hand-written webhooks): the issue asks for every common channel from one URL setting, which is
exactly apprise's job; its synchronous API is why delivery runs in a dedicated thread pool.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from database.models import Alert, table_of
from perparb_core import metrics
from perparb_core.errors import ConfigError
from perparb_core.settings import AlertConfig

log = logging.getLogger("perparb.alerts")

ALERTS = table_of(Alert)

ALERT_EVENTS: Mapping[str, tuple[str, str]] = {
    "position_opened": ("info", "a delta-neutral position opened (both legs filled)"),
    "position_closed": ("info", "a position closed, with its realised PnL"),
    "hedge_used": ("warn", "an entry's lagging leg was hedged"),
    "unwind_used": ("warn", "an entry's leading leg was unwound after the hedge failed"),
    "leg_unbalanced": ("error", "a leg is left unbalanced (hedge and unwind failed): naked exposure"),
    "liquidation_warning": ("warn", "a leg's distance to liquidation fell below the warning level"),
    "insufficient_margin": ("warn", "an entry was refused for lack of free margin on a venue"),
    "venue_outage": ("error", "a venue failed consecutive collection or trading cycles"),
    "venue_recovered": ("info", "a venue answered again after an outage"),
    "data_stale": ("warn", "a venue's newest stored data is older than the staleness limit"),
    "run_crashed": ("error", "a strategy run ended with an error"),
    "lease_lost": ("error", "a run lost its account lease (another process may trade the account)"),
    "risk_triggered": ("error", "a risk-guardian limit was breached and its action taken"),
    "command_handled": ("info", "a pause, resume, flatten or reduce command was carried out"),
}
"""event -> (default level, meaning). The `event` column holds one of these keys."""

LEVELS = ("info", "warn", "error")
MAX_BACKOFF_SECONDS = 900.0
DELIVERY_THREADS = 2
CLAIM_BATCH = 20
_LOCK_CLASS = 0x70706161  # 'ppaa': advisory-lock class of alert de-duplication


@dataclass(frozen=True, slots=True)
class AlertRow:
    """A row of `alerts` (see `database.models.Alert`)."""

    id: int
    created_at: datetime
    event: str
    subject: str
    level: str
    title: str
    message: str
    account_name: str | None
    run_id: int | None
    detail: dict[str, Any] | None
    status: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None


def _row(r: Any) -> AlertRow:
    return AlertRow(**{f: getattr(r, f) for f in AlertRow.__dataclass_fields__})


async def raise_alert(
    conn: AsyncConnection,
    config: AlertConfig,
    event: str,
    subject: str,
    message: str,
    *,
    title: str | None = None,
    level: str | None = None,
    account: str | None = None,
    run_id: int | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AlertRow:
    """Record an alert in `conn`'s transaction and return its row (status `pending`, `suppressed` or
    `unrouted`). `subject` identifies what it is about (e.g. "alice/lighter/ETH", "run 12", "paradex"): the key of
    duplicate suppression with `event`. `message` and `detail` must hold no secret.

    Raises:
        ConfigError: `event` is not one of ALERT_EVENTS, or `level` not one of LEVELS.
    """
    if event not in ALERT_EVENTS:
        raise ConfigError(f"alert event: {event!r} is not one of {', '.join(ALERT_EVENTS)}")
    level = level or ALERT_EVENTS[event][0]
    if level not in LEVELS:
        raise ConfigError(f"alert level: {level!r} is not one of {', '.join(LEVELS)}")
    at = now or datetime.now(timezone.utc)
    subject = subject[:160]
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(:c, :k)"),
        {"c": _LOCK_CLASS, "k": _signed32(zlib.crc32(f"{event}\x00{subject}".encode()))},
    )
    c = ALERTS.c
    duplicate = (
        await conn.execute(
            select(c.id)
            .where(
                c.event == event,
                c.subject == subject,
                c.status != "suppressed",
                c.created_at > at - timedelta(seconds=config.dedupe_seconds),
            )
            .limit(1)
        )
    ).first()
    status = "suppressed" if duplicate is not None else ("pending" if config.urls else "unrouted")
    row = (
        await conn.execute(
            ALERTS.insert()
            .values(
                created_at=at,
                event=event,
                subject=subject,
                level=level,
                title=(title or f"perparb {event.replace('_', ' ')}: {subject}")[:200],
                message=message[:4000],
                account_name=account,
                run_id=run_id,
                detail=detail,
                status=status,
                next_attempt_at=at,
            )
            .returning(*ALERTS.c)
        )
    ).one()
    if status != "pending":
        metrics.ALERTS.labels(event=event, status=status).inc()
    log.log(
        logging.ERROR if level == "error" else logging.WARNING if level == "warn" else logging.INFO,
        "alert %s %s (%s): %s",
        event,
        subject,
        status,
        message,
    )
    return _row(row)


async def recent_alerts(
    engine: AsyncEngine, *, limit: int = 100, run_id: int | None = None
) -> list[AlertRow]:
    """The newest alerts (of `run_id`, or all), newest first."""
    query = select(ALERTS).order_by(ALERTS.c.id.desc()).limit(limit)
    if run_id is not None:
        query = query.where(ALERTS.c.run_id == run_id)
    async with engine.connect() as conn:
        return [_row(r) for r in await conn.execute(query)]


def _signed32(raw: int) -> int:
    return raw - (1 << 32) if raw >= (1 << 31) else raw


# ------------------------------------------------------------------------------------------------ delivery


class AlertSender(Protocol):
    """Delivers one alert synchronously (called in a delivery thread). Raises on failure; the message of the
    exception is stored, so it must not carry a secret."""

    def __call__(self, title: str, body: str, level: str) -> None: ...


class DeliveryError(Exception):
    """A delivery attempt failed (the message is safe to store)."""


SECRET_BEARING_LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry")
"""Loggers that may print a receiver's URL (apprise at DEBUG prints it whole; urllib3 prints request paths):
their level is pinned at WARNING (`pin_secret_bearing_loggers`) and their records pass `UrlRedactor`."""


def url_secrets(url: str) -> set[str]:
    """The parts of an apprise URL that may be credentials: host (Telegram's bot token sits there), user,
    password, every path segment and query value of 4 characters or more (shorter ones are not secrets and would
    redact ordinary words)."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    parts = urlsplit(url)
    found = {parts.hostname or "", parts.username or "", parts.password or ""}
    found |= {unquote(seg) for seg in parts.path.split("/")}
    found |= {value for _key, value in parse_qsl(parts.query)}
    found |= {seg for seg in parts.netloc.replace("@", ":").split(":")}
    return {f for f in found if len(f) >= 4}


class UrlRedactor(logging.Filter):
    """Replaces every secret part of the alert URLs (`url_secrets`) with *** in a record's message."""

    def __init__(self, secrets: set[str]) -> None:
        super().__init__()
        self.secrets = sorted(secrets, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        redacted = text
        for secret in self.secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != text:
            record.msg, record.args = redacted, None
        return True


def pin_secret_bearing_loggers(secrets: set[str]) -> None:
    """Pin `SECRET_BEARING_LOGGERS` at WARNING and redact `secrets` from their records (idempotent)."""
    for name in SECRET_BEARING_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        for old in [f for f in logger.filters if isinstance(f, UrlRedactor)]:
            secrets = secrets | set(old.secrets)
            logger.removeFilter(old)
        logger.addFilter(UrlRedactor(secrets))


def apprise_sender(config: AlertConfig) -> AlertSender:
    """A sender for `config.urls` through apprise. Each URL gets apprise's connect/read timeouts at the
    delivery budget unless the URL sets its own (`cto`, `rto`). The URLs' secret parts are kept out of the logs
    (`pin_secret_bearing_loggers`).

    Raises:
        ConfigError: a URL apprise does not understand (named by its scheme only: the rest may be a token).
    """
    import apprise

    pin_secret_bearing_loggers(
        {part for secret in config.urls for part in url_secrets(secret.get_secret_value().strip())}
    )
    app = apprise.Apprise()
    for secret in config.urls:
        url = secret.get_secret_value().strip()
        if not url:
            continue
        sep = "&" if "?" in url else "?"
        extra = [f"{k}={config.timeout_seconds:g}" for k in ("cto", "rto") if f"{k}=" not in url]
        if not app.add(url + (sep + "&".join(extra) if extra else "")):
            scheme = url.split("://", 1)[0] if "://" in url else "(no scheme)"
            raise ConfigError(f"PERPARB_ALERT_URLS: apprise does not understand a URL of scheme {scheme!r}")
    kinds = {
        "info": apprise.NotifyType.INFO,
        "warn": apprise.NotifyType.WARNING,
        "error": apprise.NotifyType.FAILURE,
    }

    def send(title: str, body: str, level: str) -> None:
        if not app.notify(body=body, title=title, notify_type=kinds.get(level, apprise.NotifyType.INFO)):
            raise DeliveryError("a receiver refused the alert or could not be reached")

    return send


class AlertDispatcher:
    """Claims due `pending` alerts and delivers them (see the module docstring).

    `sender`: the delivery function (default `apprise_sender(config)`; tests pass their own). `run(stop)` loops
    every `poll_seconds` until `stop` is set; `deliver_due()` is one pass. Several dispatchers (processes) may
    run against one database: a claimed row's `next_attempt_at` moves past the delivery budget, so no other
    dispatcher takes it meanwhile.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        config: AlertConfig,
        *,
        sender: AlertSender | None = None,
        poll_seconds: float = 1.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.sender = sender if sender is not None else apprise_sender(config)
        self.poll_seconds = poll_seconds
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._pool = ThreadPoolExecutor(max_workers=DELIVERY_THREADS, thread_name_prefix="perparb-alerts")
        self._inflight: set[asyncio.Future[None]] = set()

    def backoff_seconds(self, attempts: int) -> float:
        """Delay before attempt `attempts + 1`, seconds."""
        return float(min(MAX_BACKOFF_SECONDS, self.config.retry_base_seconds * 2 ** max(0, attempts - 1)))

    async def deliver_due(self) -> int:
        """Deliver the alerts due now; returns how many were attempted. Never raises for a delivery failure
        (recorded on the row); database errors propagate."""
        now = self.clock()
        lease = timedelta(seconds=self.config.timeout_seconds + 30)
        c = ALERTS.c
        async with self.engine.begin() as conn:
            due = (
                select(c.id)
                .where(c.status == "pending", c.next_attempt_at <= now)
                .order_by(c.id)
                .limit(CLAIM_BATCH)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            claimed = [
                _row(r)
                for r in await conn.execute(
                    update(ALERTS)
                    .where(c.id.in_(due))
                    .values(attempts=c.attempts + 1, next_attempt_at=now + lease)
                    .returning(*ALERTS.c)
                )
            ]
        if claimed:
            await asyncio.gather(*(self._deliver(a) for a in claimed))
        return len(claimed)

    async def _deliver(self, alert: AlertRow) -> None:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self.sender, alert.title, alert.message, alert.level)
        error: str | None = None
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout=self.config.timeout_seconds)
        except asyncio.TimeoutError:
            error = f"timed out after {self.config.timeout_seconds:g} s"
            self._inflight.add(future)  # the thread is still in the sender; keep a reference until it returns
            future.add_done_callback(self._inflight.discard)
        except DeliveryError as exc:
            error = str(exc)
        except Exception as exc:  # a sender's unexpected failure is a failed attempt, recorded by kind only
            error = f"{type(exc).__name__}"
        now = self.clock()
        c = ALERTS.c
        if error is None:
            values: dict[str, Any] = {"status": "sent", "delivered_at": now, "last_error": None}
        elif alert.attempts >= self.config.max_attempts:
            values = {"status": "failed", "last_error": error}
        else:
            values = {
                "next_attempt_at": now + timedelta(seconds=self.backoff_seconds(alert.attempts)),
                "last_error": error,
            }
        async with self.engine.begin() as conn:
            await conn.execute(update(ALERTS).where(c.id == alert.id).values(**values))
        if "status" in values:
            metrics.ALERTS.labels(event=alert.event, status=values["status"]).inc()
        if error is not None:
            log.warning(
                "alert %s (%s %s) not delivered, attempt %d of %d: %s",
                alert.id,
                alert.event,
                alert.subject,
                alert.attempts,
                self.config.max_attempts,
                error,
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver due alerts every `poll_seconds` until `stop` is set. A database error is logged and retried
        on the next pass (alerts wait in the table)."""
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception as exc:  # the dispatcher must outlive a database outage
                log.warning("alert dispatcher: %s: %s", type(exc).__name__, exc)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
            except asyncio.TimeoutError:
                pass

    def close(self) -> None:
        """Release the delivery threads (a thread stuck in a hanging receiver is abandoned, not joined)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
