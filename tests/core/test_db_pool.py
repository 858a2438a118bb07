"""Reads waiting for a pooled PostgreSQL connection get one in the order they asked: a
read that awaited something else first (the cache, the session check) cannot overtake one
already waiting, so no wait grows without bound under load."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg

from core.config import DatabaseSection
from core.db import close_pool, make_engine, open_pool

POOL_SIZE = 2
READERS = 40


@contextlib.asynccontextmanager
async def _pooled_engine(url: str, size: int) -> AsyncIterator:
    section = DatabaseSection(url=url, pool_min_size=size, pool_max_size=size)
    engine = make_engine(section)
    await open_pool(engine, section)
    try:
        yield engine
    finally:
        await close_pool(engine)


async def _read_in_turn(engine, reader: int, arrivals: list[asyncio.Event],
                        asked: list[int], served: list[int]) -> None:
    """Reader n arrives as reader n - 2 * POOL_SIZE gives its connection back: scheduled
    right behind the connection's return, as a request whose cache lookup just answered."""
    if reader >= 2 * POOL_SIZE:
        await arrivals[reader - 2 * POOL_SIZE].wait()
    asked.append(reader)
    connection = await engine.connection()
    served.append(reader)
    await connection.fetchval("SELECT 1")
    returning = asyncio.ensure_future(engine.release(connection))
    await asyncio.sleep(0)  # the release has started: the connection is on its way back
    arrivals[reader].set()
    await returning


async def _orders(url: str) -> tuple[list[int], list[int]]:
    async with _pooled_engine(url, POOL_SIZE) as engine:
        arrivals = [asyncio.Event() for _ in range(READERS)]
        asked: list[int] = []
        served: list[int] = []
        await asyncio.gather(*(_read_in_turn(engine, reader, arrivals, asked, served)
                               for reader in range(READERS)))
        return asked, served


def test_waiting_reads_are_served_first_come_first_served(postgres_url):
    asked, served = asyncio.run(_orders(postgres_url))
    assert sorted(served) == list(range(READERS))
    assert served == asked


async def _reset_after_release(url: str) -> tuple[str, bool]:
    async with _pooled_engine(url, 1) as engine:
        connection = await engine.connection()
        await connection.execute("BEGIN")
        await connection.execute("SET LOCAL application_name = 'inside'")
        await engine.release(connection)  # a transaction left open
        again = await engine.connection()
        try:
            name = await again.fetchval("SHOW application_name")
            return name, again.is_in_transaction()
        finally:
            await engine.release(again)


def test_a_transaction_left_open_is_rolled_back_before_the_next_read(postgres_url):
    name, in_transaction = asyncio.run(_reset_after_release(postgres_url))
    assert name != "inside" and not in_transaction


async def _released_in_one_step(url: str) -> tuple[bool, int, bool]:
    async with _pooled_engine(url, 1) as engine:
        connection = await engine.connection()
        await connection.fetchval("SELECT 1")
        releasing = engine.release(connection)
        try:
            releasing.send(None)  # the caller's one step, no turn of the loop
        except StopIteration:
            in_one_step = True
        else:  # it waits for a task of its own, which still gives the connection back
            in_one_step = False
            releasing.close()
            await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}))
        try:
            await connection.fetchval("SELECT 1")
            detached = False
        except asyncpg.InterfaceError:
            detached = True
        return in_one_step, engine.pool.get_idle_size(), detached


def test_a_clean_connection_is_back_in_the_pool_within_its_release(postgres_url):
    """No task of its own for a release with nothing to wait for: the caller's own step
    gives the connection back, and the caller's handle to it is cut as asyncpg's is."""
    in_one_step, idle, detached = asyncio.run(_released_in_one_step(postgres_url))
    assert in_one_step
    assert idle == 1
    assert detached
