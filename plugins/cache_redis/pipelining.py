"""Auto pipelining: the commands issued in one event-loop iteration reach Redis as one
pipeline, one write and one read for all of them, instead of a round trip each. Under
concurrent requests most of a command's CPU is the client's per-round-trip work (taking a
pooled connection, timers, the write, the wake-up), so sharing it is what saves CPU."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

Queued = tuple[tuple[Any, ...], asyncio.Future[Any]]


class AutoPipeline:
    """Sends each loop iteration's commands together over one pooled connection. A reply
    that is an error (a WRONGTYPE) fails its own command only; a failure of the connection
    fails every command of its batch. A batch of several runs in a task of its own, so a
    caller that is cancelled leaves the others of its batch their answers."""

    def __init__(self, client: aioredis.Redis):
        self.client = client
        # The commands joining the batch this iteration's first command leads, if any.
        self._forming: list[Queued] | None = None
        self._batches: set[asyncio.Task[None]] = set()

    async def execute(self, *args: Any) -> Any:
        """Send a command (`"GET", key`) with the others of this iteration; its reply."""
        if self._forming is None:
            return await self._lead(args)
        reply = asyncio.get_running_loop().create_future()
        self._forming.append((args, reply))
        return await reply

    async def _lead(self, args: tuple[Any, ...]) -> Any:
        """The first command of an iteration lets the loop run the others' turns once, then
        goes alone as a plain command (no pipeline, no task: a lone call costs one more turn
        of the loop, nothing else) or with them as one pipeline."""
        followers: list[Queued] = []
        self._forming = followers
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            self._forming = None
            if followers:  # theirs go without this one
                self._start(followers)
            raise
        self._forming = None
        if not followers:
            return await self.client.execute_command(*args)
        reply = asyncio.get_running_loop().create_future()
        self._start([(args, reply), *followers])
        return await reply

    def _start(self, queued: list[Queued]) -> None:
        batch = asyncio.ensure_future(self._send(queued))
        self._batches.add(batch)  # a task nothing references may be collected mid-flight
        batch.add_done_callback(self._batches.discard)

    async def _send(self, queued: list[Queued]) -> None:
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for args, _ in queued:
                    pipe.execute_command(*args)
                replies = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:
            for _, reply in queued:
                reply.cancel()
            raise
        except Exception as exc:  # the connection failed: so did every command on it
            for _, reply in queued:
                if not reply.done():
                    reply.set_exception(exc)
            return
        for (_, reply), answer in zip(queued, replies, strict=True):
            if reply.done():  # its caller was cancelled
                continue
            if isinstance(answer, Exception):
                reply.set_exception(answer)
            else:
                reply.set_result(answer)

    async def close(self) -> None:
        """Wait for the batches in flight (each ends within the socket timeout)."""
        if self._batches:
            await asyncio.gather(*self._batches, return_exceptions=True)
