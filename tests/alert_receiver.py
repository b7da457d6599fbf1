"""A local webhook receiver for alert tests: apprise's `json://127.0.0.1:PORT/hook` posts here.

    async with AlertReceiver() as rx:
        config = AlertConfig(urls=(SecretStr(rx.url),), ...)
        ...
        payloads = await rx.wait_for(lambda p: p["title"].startswith("perparb position opened"))

`mode`: "ok" answers 200; "fail" answers 500; "hang" accepts the request and never answers (until the receiver
closes). Every request body (apprise's JSON: version, title, message, type, attachments) is kept in `received`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web


class AlertReceiver:
    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.received: list[dict[str, Any]] = []
        self.hanging = 0
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()
        self.port = 0

    @property
    def url(self) -> str:
        """The apprise URL of this receiver (short timeouts so a failing test does not wait long)."""
        return f"json://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        if self.mode == "hang":
            self.hanging += 1
            await self._release.wait()
            return web.Response(status=200)
        self.received.append(json.loads(body))
        return web.Response(
            status=200 if self.mode == "ok" else 500, text="ok" if self.mode == "ok" else "no"
        )

    async def __aenter__(self) -> AlertReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 20.0, count: int = 1
    ) -> list[dict[str, Any]]:
        """The received payloads that `match`, once there are `count` of them (AssertionError after `timeout`)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            found = [p for p in self.received if match(p)]
            if len(found) >= count:
                return found
            assert loop.time() < end, f"no alert matched in {timeout} s; received {self.received}"
            await asyncio.sleep(0.05)
