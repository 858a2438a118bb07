"""A TCP proxy a test puts between the app and a server (PostgreSQL, Redis, the AWS
emulator) to make that server fail without touching it, then heal:

- `forward()`: bytes pass both ways (the initial mode);
- `refuse()`: the port refuses new connections and every open one is reset, as when the
  server is down;
- `black_hole()`: connections are accepted and read, and nothing is passed on or answered,
  as when the server (or the network) froze;
- `resume()`: forward again. Connections that were black-holed are reset (what they sent
  is lost, so their protocol state is broken); new ones go through.

It runs its own event loop in a thread, so it serves an in-process app and a server
process alike.

    with FaultProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/db"
        proxy.black_hole()
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any

FORWARD, REFUSE, BLACK_HOLE = "forward", "refuse", "black hole"
CHUNK = 65536


class _Link:
    """One client connection and, unless it arrived black-holed, its upstream one."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.silenced = False

    def reset(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.transport.abort()  # RST, as from a server that went away


class FaultProxy:
    """`host:port` here forwards to `upstream_host:upstream_port` until told otherwise."""

    def __init__(self, upstream_host: str, upstream_port: int, host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self.port = 0
        self.mode = FORWARD
        self.accepted = 0
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def close(self) -> None:
        self._call(self._shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- modes (called from the test's thread) --------------------------------------------

    def forward(self) -> None:
        self.resume()

    def refuse(self) -> None:
        self._call(self._refuse())

    def black_hole(self) -> None:
        self._call(self._black_hole())

    def resume(self) -> None:
        self._call(self._resume())

    # -- on the proxy's loop ------------------------------------------------------------

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _refuse(self) -> None:
        self.mode = REFUSE
        await self._stop_listening()
        self._reset(self._links)

    async def _black_hole(self) -> None:
        self.mode = BLACK_HOLE
        if self._server is None:
            await self._listen()
        for link in self._links:
            link.silenced = True

    async def _resume(self) -> None:
        self.mode = FORWARD
        if self._server is None:
            await self._listen()
        self._reset([link for link in self._links if link.silenced])

    async def _shut(self) -> None:
        await self._stop_listening()
        self._reset(self._links)
        # The reset links' tasks end on their own; give them a moment to.
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        if others:
            await asyncio.wait(others, timeout=1)

    def _reset(self, links: Any) -> None:
        for link in list(links):
            link.reset()
            self._links.discard(link)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(writer)
        self._links.add(link)
        try:
            if self.mode == BLACK_HOLE:
                link.silenced = True
                await self._pump(link, reader, None)
                return
            try:
                upstream_reader, link.upstream = await asyncio.open_connection(*self.upstream)
            except OSError:
                link.reset()
                return
            await asyncio.gather(
                self._pump(link, reader, link.upstream),
                self._pump(link, upstream_reader, writer),
            )
        finally:
            self._links.discard(link)
            link.reset()

    @staticmethod
    async def _pump(
        link: _Link, source: asyncio.StreamReader, target: asyncio.StreamWriter | None
    ) -> None:
        """Copy `source` to `target` until either end closes; drop what a silenced link
        reads. Either side closing closes the link."""
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(CHUNK):
                if link.silenced or target is None:
                    continue
                target.write(data)
                await target.drain()
        link.reset()
