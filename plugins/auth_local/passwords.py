"""argon2id password hashes, computed in a worker thread (each costs tens of ms of CPU)."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hash and verify with argon2id; the default costs are argon2-cffi's (RFC 9106's
    low-memory profile: 3 passes over 64 MiB in 4 lanes)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._decoy: str | None = None

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`. With no account (`stored` None) a decoy
        hash is checked anyway, so the answer takes as long for an unknown e-mail."""
        if stored is None:
            if self._decoy is None:
                self._decoy = await self.hash("decoy password for unknown accounts")
            await anyio.to_thread.run_sync(self._matches, self._decoy, password)
            return False
        return await anyio.to_thread.run_sync(self._matches, stored, password)

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)

    def _matches(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
