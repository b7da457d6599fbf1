"""A counting proxy for the PostgreSQL wire protocol, used by benchmarks to measure real round trips.

It listens on 127.0.0.1 and forwards to the embedded server's Unix socket. A client round trip ends with a
`Sync` ('S', extended protocol), a `Flush` ('H': asyncpg prepares a statement with Parse/Describe/Flush and waits
for the answer before it binds) or is a simple `Query` ('Q'); counting those messages from the client gives the
number of request/response exchanges exactly, whatever the driver does (prepare, bind, begin, commit).

Hand-written: no library offers a protocol-aware counting proxy; only message framing is parsed (type byte +
int32 length), never contents.
"""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

SSL_REQUEST = 80877103
GSS_REQUEST = 80877104


class CountingProxy:
    """`async with CountingProxy(socket_path) as p:` then connect to 127.0.0.1:`p.port`; `p.round_trips`."""

    def __init__(self, unix_socket: Path, *, trace: bool = False) -> None:
        self.unix_socket = unix_socket
        self.round_trips = 0
        self.trace: list[list[str]] | None = [] if trace else None
        self._current: list[str] = []
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> CountingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        sreader, swriter = await asyncio.open_unix_connection(str(self.unix_socket))

        async def server_to_client() -> None:
            while data := await sreader.read(65536):
                cwriter.write(data)
                await cwriter.drain()
            cwriter.close()

        pump = asyncio.create_task(server_to_client())
        try:
            # untyped start-up phase: SSLRequest / GSSENCRequest / StartupMessage
            while True:
                head = await creader.readexactly(8)
                length, code = struct.unpack("!ii", head)
                rest = await creader.readexactly(length - 8)
                swriter.write(head + rest)
                await swriter.drain()
                if code not in (SSL_REQUEST, GSS_REQUEST):
                    break
            while True:
                head = await creader.readexactly(5)
                kind, length = head[:1], struct.unpack("!i", head[1:])[0]
                body = await creader.readexactly(length - 4)
                if self.trace is not None:
                    text = body[:50].decode(errors="replace") if kind in (b"Q", b"P") else ""
                    self._current.append(kind.decode() + (":" + text if text else ""))
                if kind in (b"S", b"Q", b"H"):
                    self.round_trips += 1
                    if self.trace is not None:
                        self.trace.append(self._current)
                        self._current = []
                swriter.write(head + body)
                await swriter.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            swriter.close()
            pump.cancel()


def unix_socket_of(pgdata: Path) -> Path:
    """The `.s.PGSQL.<port>` socket pgserver created in its data directory."""
    for p in pgdata.glob(".s.PGSQL.*"):
        if not p.name.endswith(".lock"):
            return p
    raise FileNotFoundError(f"no PostgreSQL socket in {pgdata}")
