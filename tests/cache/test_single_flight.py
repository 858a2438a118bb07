"""Single-flight beyond the contract's stampede: errors and cancellations."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from core.cache import SingleFlight

pytestmark = pytest.mark.anyio


async def until(condition) -> None:
    with anyio.fail_after(5):
        while not condition():
            await asyncio.sleep(0.001)


async def test_waiters_share_the_leaders_error_and_the_next_call_loads_again():
    flight, calls, release = SingleFlight(), [], asyncio.Event()

    async def failing() -> bytes:
        calls.append(1)
        await release.wait()
        raise LookupError("database said no")

    tasks = [asyncio.create_task(flight.run("k", failing)) for _ in range(5)]
    await until(lambda: calls)
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results) and len(calls) == 1

    async def working() -> bytes:
        return b"ok"

    assert await flight.run("k", working) == b"ok"


async def test_a_cancelled_leader_does_not_fail_the_waiters():
    flight, calls, release = SingleFlight(), [], asyncio.Event()

    async def load() -> bytes:
        calls.append(1)
        await release.wait()
        return b"value"

    leader = asyncio.create_task(flight.run("k", load))
    await until(lambda: calls)
    waiters = [asyncio.create_task(flight.run("k", load)) for _ in range(3)]
    await asyncio.sleep(0.01)
    leader.cancel()  # the first client went away
    await until(lambda: len(calls) == 2)  # one waiter took over the load
    release.set()
    assert await asyncio.gather(*waiters) == [b"value"] * 3
    assert leader.cancelled() and len(calls) == 2


async def test_a_cancelled_waiter_does_not_cancel_the_load():
    flight, release = SingleFlight(), asyncio.Event()

    async def load() -> bytes:
        await release.wait()
        return b"value"

    leader = asyncio.create_task(flight.run("k", load))
    await asyncio.sleep(0.01)
    waiter = asyncio.create_task(flight.run("k", load))
    await asyncio.sleep(0.01)
    waiter.cancel()
    await asyncio.sleep(0.01)
    release.set()
    assert await leader == b"value"
    assert waiter.cancelled()
