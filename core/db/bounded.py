"""Piccolo's PostgreSQL and SQLite engines, and their transactions, with every wait bounded
and every fault leaving as `ServiceUnavailable`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
from piccolo.querystring import QueryString

from core.db.faults import FaultGuard, left_unanswered
from core.db.turns import Turns

# asyncpg's own default, for a pool started without `max_size`.
DEFAULT_POOL_MAX_SIZE = 10


class ForeignLoopError(RuntimeError):
    """A pooled connection asked for from a loop other than the pool's.

    Piccolo binds one engine per table class for the whole process, so an app alive on one
    loop reaches the engine of an app started later on another. asyncpg's connections are
    not thread-safe: driving one from two loop threads corrupts it (and has crashed the
    interpreter), so the request is refused before it touches the pool."""


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection given back to the pool without asyncpg's reset statement.

    asyncpg sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    on every release: a second round trip for a one-statement read, during which the
    connection is neither serving nor back in the pool. itube leaves none of that state on
    a pooled connection: no session-level SET (settings come with the connection), no
    LISTEN, no advisory lock (the migration lock holds a connection of its own and closes
    it), no cursor outside a transaction. A transaction left open is still rolled back:
    asyncpg does that before the reset statement, whatever the statement is."""

    def get_reset_query(self) -> str:
        return ""

    def has_state_to_undo(self) -> bool:
        """In a transaction, which a reset rolls back, or with listeners, which it removes."""
        return bool(self.is_in_transaction() or self._top_xact is not None or self._listeners
                    or self._log_listeners)

    async def reset(self, *, timeout: float | None = None) -> None:
        """Only a connection with something to undo goes through asyncpg's reset (its
        deadline and bookkeeping cost every statement ~2 µs)."""
        if self.has_state_to_undo():
            await super().reset(timeout=timeout)


def releases_at_once(pool: asyncpg.Pool, proxy: Any) -> bool:
    """Whether asyncpg's release of `pool`'s connection `proxy` would finish without waiting:
    a `PooledConnection` with nothing to undo, from an open pool, not due to be replaced
    (too many queries, an expired generation) nor cancelling a statement.

    `Pool.release` runs every release in a task of its own (`asyncio.shield`), so that a
    cancelled caller still gives the connection back: for each statement a task, two turns
    of the loop and a wake-up of the caller's whole chain of coroutines. A release that
    waits for nothing cannot be interrupted, so such a release runs in the caller
    (asyncpg 0.32's `PoolConnectionHolder.release`, whose every wait is in the cases
    excluded here); any other takes asyncpg's way."""
    connection, holder = proxy._con, proxy._holder
    if (not isinstance(connection, PooledConnection) or holder._in_use is None
            or holder._pool is not pool):
        return False
    return bool(pool._initialized and not pool._closed and pool._reset is None
                and holder._generation == pool._generation
                and not connection.is_closed() and not connection.has_state_to_undo()
                and connection._protocol.queries_count < holder._max_queries
                and not connection._protocol._is_cancelling())


class BoundedPostgresEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine with every wait bounded: a pooled connection within
    `acquire_timeout`, statements within asyncpg's `command_timeout`. A connection left
    waiting for an answer is dropped, never reset: a reset would wait on the same silent
    server. Faults leave as `ServiceUnavailable`."""

    def __init__(self, config: dict[str, Any], *, acquire_timeout: float) -> None:
        self.acquire_timeout = acquire_timeout
        self.guard = FaultGuard()
        self._turns = Turns(DEFAULT_POOL_MAX_SIZE, acquire_timeout)
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        super().__init__(config=config, log_queries=False)

    async def start_connection_pool(self, **kwargs: Any) -> None:
        if self.pool is None:
            self._turns = Turns(kwargs.get("max_size", DEFAULT_POOL_MAX_SIZE),
                                self.acquire_timeout)
            self._pool_loop = asyncio.get_running_loop()
        await super().start_connection_pool(connection_class=PooledConnection, **kwargs)

    async def connection(self) -> Any:
        """A pooled connection (a new one when no pool runs), within the acquire timeout.

        Callers take turns first come, first served: asyncpg's pool hands a released
        connection to whichever caller asks next, so under load a newcomer overtakes the
        caller woken for it, and that one queues again at the back: its wait has no bound
        but the acquire timeout. Turns taken in order, as many as the pool's connections,
        keep the order (`Turns`: a turn always finds a connection free). Only the wait
        for a turn has a deadline: a turn finds a connection free, and at most reconnects
        one the pool dropped, which `connect_timeout_seconds` bounds."""
        if self.pool is None:
            return await self.get_new_connection()
        if asyncio.get_running_loop() is not self._pool_loop:
            raise ForeignLoopError(
                "the database pool belongs to another event loop: apps alive side by side "
                "in one process must share one loop (docs/decisions.md)"
            )
        await self._turns.take()
        try:
            return await self.pool.acquire()
        except BaseException:
            self._turns.give_back()
            raise

    @property
    def waiting(self) -> int:
        """Callers waiting for a pooled connection now (the pool-waiting metric)."""
        return self._turns.waiting

    async def release(self, connection: Any) -> None:
        if self.pool is None:
            await connection.close(timeout=self.acquire_timeout)
            return
        try:
            if releases_at_once(self.pool, connection):
                # Nothing in it waits, so no cancellation can interrupt it: no shield needed.
                connection._con._on_release()
                await connection._holder.release(None)
            else:
                await self.pool.release(connection)
        finally:
            self._turns.give_back()

    def drop(self, connection: Any) -> None:
        """Close at once; a pooled connection's slot goes back to the pool, to reconnect.
        Closing rolls back whatever transaction the server had open on it."""
        connection.terminate()
        if self.pool is not None:
            self._turns.give_back()

    async def _run_in_pool(self, query: str, args: Sequence[Any] | None = None) -> Any:
        connection = await self.connection()
        try:
            result = await connection.fetch(query, *(args or ()))
        except BaseException as error:
            if left_unanswered(error):
                self.drop(connection)
            else:
                await self.release(connection)
            raise
        await self.release(connection)
        return result

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True) -> Any:
        with self.guard.translating():
            return await super().run_querystring(querystring, in_pool)

    async def run_ddl(self, ddl: str, in_pool: bool = True) -> Any:
        with self.guard.translating():
            return await super().run_ddl(ddl, in_pool)

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _BoundedPostgresTransaction(engine=self, allow_nested=allow_nested)


class _BoundedPostgresTransaction(PostgresTransaction):
    """Piccolo's transaction on the bounded engine. Unlike Piccolo's, a failed BEGIN or
    COMMIT gives the connection back, so faults cannot drain the pool."""

    engine: BoundedPostgresEngine

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        with self.engine.guard.translating():
            self.connection = await self.engine.connection()
            try:
                self.transaction = self.connection.transaction()
                await self.begin()
            except BaseException:
                self.engine.drop(self.connection)
                raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exc_type: Any, error: BaseException | None, tb: Any) -> bool:
        if self._parent is not None:
            return error is None
        try:
            with self.engine.guard.translating():
                await self._finish(error)
        finally:
            self.engine.current_transaction.reset(self.context)
        return error is None

    async def _finish(self, error: BaseException | None) -> None:
        if error is not None and left_unanswered(error):
            self.engine.drop(self.connection)
            return
        try:
            if error is not None and not self._rolled_back:
                await self.rollback()
            elif error is None and not (self._committed or self._rolled_back):
                await self.commit()
        except BaseException:
            self.engine.drop(self.connection)
            raise
        await self.engine.release(self.connection)


class BoundedSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine whose faults ("database is locked" once the lock wait is
    over) leave as `ServiceUnavailable`."""

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        self.guard = FaultGuard()
        super().__init__(path=path, **connection_kwargs)

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False) -> Any:
        with self.guard.translating():
            return await super().run_querystring(querystring, in_pool)

    async def run_ddl(self, ddl: str, in_pool: bool = False) -> Any:
        with self.guard.translating():
            return await super().run_ddl(ddl, in_pool)

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _GuardedSQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


class _GuardedSQLiteTransaction(SQLiteTransaction):
    """Piccolo's transaction on the guarded engine. Unlike Piccolo's, a BEGIN or COMMIT
    refused for a lock closes the connection instead of leaving it open."""

    engine: BoundedSQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        with self.engine.guard.translating():
            self.connection = await self.get_connection()
            try:
                await self.begin()
            except BaseException:
                await self.connection.close()
                raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exc_type: Any, error: BaseException | None, tb: Any) -> bool:
        if self._parent is not None:
            return error is None
        try:
            with self.engine.guard.translating():
                try:
                    if error is not None and not self._rolled_back:
                        await self.rollback()
                    elif error is None and not (self._committed or self._rolled_back):
                        await self.commit()
                finally:
                    await self.connection.close()
        finally:
            self.engine.current_transaction.reset(self.context)
        return error is None
