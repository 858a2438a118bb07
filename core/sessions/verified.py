"""Sessions this process verified lately, so a request with a known access cookie costs a
dictionary lookup instead of a signature check, a deny-list read or a session query.

An entry is keyed by the sha256 of the access token (the token itself is never kept) and
holds the actor the provider found, and `/me`'s body, serialised once when first asked
for. It is trusted until the earlier of `recheck_seconds` after the check and the token's
own expiry (the provider's `claims["exp"]`, epoch seconds; without it nothing is kept), so
a cached decision never outlives its token and every other process refuses a revoked session
within `recheck_seconds`. A sign-out drops the user's entries in the process that handled
it at once (`forget_user`). At most `max_entries` are kept, the oldest dropped first.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator

import attrs

from core.auth import Actor
from core.cache import SingleFlight

MAX_ENTRIES = 10_000
# Asks the provider about a token it has not vouched for lately.
Check = Callable[[str], Awaitable[Actor | None]]


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def expiry_of(actor: Actor) -> float | None:
    exp = actor.claims.get("exp")
    return float(exp) if isinstance(exp, int | float) else None


@attrs.define
class Entry:
    actor: Actor
    until: float
    profile_body: bytes | None = None


class VerifiedSessions:
    def __init__(self, recheck_seconds: float, *, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.time) -> None:
        self.recheck_seconds = recheck_seconds
        self.max_entries = max_entries
        self.clock = clock
        # Ordered, so the oldest entry is found at once (a dict's first key is reached by
        # stepping over every key deleted before it).
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._by_user: dict[tuple[str, str], set[str]] = {}
        # Counts sign-outs: a check that started before one may have read the state it
        # ended, so its answer is used but not kept.
        self._sign_outs = 0
        self._flight = SingleFlight()

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> Iterator[str]:
        return iter(list(self._entries))

    async def actor(self, token: str, check: Check) -> Actor | None:
        """The actor of `token`: the one kept for it, else `check(token)`'s answer (one
        check per token at a time), kept when it names an expiry."""
        return await self.actor_by_key(token_key(token), token, check)

    async def actor_by_key(self, key: str, token: str, check: Check) -> Actor | None:
        """`actor(token, check)` for a caller that already has `token_key(token)`."""
        entry = self._live(key)
        if entry is not None:
            return entry.actor
        return await self._flight.run(key, lambda: self._check(key, token, check))

    def profile_body(self, key: str, actor: Actor) -> bytes | None:
        """`/me`'s body kept beside `actor` (the very actor this cache answered for the
        token whose `token_key` is `key`)."""
        entry = self._live(key)
        return entry.profile_body if entry is not None and entry.actor is actor else None

    def keep_profile_body(self, key: str, actor: Actor, body: bytes) -> None:
        entry = self._live(key)
        if entry is not None and entry.actor is actor:
            entry.profile_body = body

    def forget(self, token: str) -> None:
        self._drop(token_key(token))

    def forget_user(self, provider: str, user_id: str) -> None:
        """A sign-out: no session of the user is answered from here any more."""
        self._sign_outs += 1
        for key in list(self._by_user.get((provider, user_id), ())):
            self._drop(key)

    async def _check(self, key: str, token: str, check: Check) -> Actor | None:
        sign_outs = self._sign_outs
        actor = await check(token)
        if actor is not None and sign_outs == self._sign_outs:
            self._keep(key, actor)
        return actor

    def _live(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.until <= self.clock():
            self._drop(key)
            return None
        return entry

    def _keep(self, key: str, actor: Actor) -> None:
        expiry = expiry_of(actor)
        if expiry is None or self.recheck_seconds <= 0:
            return
        until = min(self.clock() + self.recheck_seconds, expiry)
        if until <= self.clock():
            return
        self._drop(key)
        self._entries[key] = Entry(actor, until)
        self._by_user.setdefault((actor.provider, actor.id), set()).add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        user = (entry.actor.provider, entry.actor.id)
        keys = self._by_user.get(user)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_user[user]


def verified_state_key(state_key: str) -> str:
    return f"{state_key}:verified"
