"""Writes: the transaction for a read-then-change step, and telling a refused write (a
duplicate above all) on either engine."""

from __future__ import annotations

import sqlite3
from typing import Any

import asyncpg
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

# What either engine raises when a constraint refuses a write; `is_unique_violation` says
# whether it was a unique one (a duplicate), which callers usually turn into a conflict.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


def write_transaction(table: type[Table]) -> Any:
    """A transaction on `table`'s engine for statements that read and change rows as one
    step. SQLite takes its write lock at BEGIN, so concurrent writers queue instead of
    failing halfway."""
    engine = table._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


def is_unique_violation(exc: BaseException) -> bool:
    """Did a unique constraint refuse the write, on either engine?"""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc).upper()
