"""Which GoTrue sessions are still alive, as this API process sees them: the check that makes logout
bite on access tokens.

An access token carries its session's id (`session_id`, migration 800). Once that session has
ended (`POST /auth/v1/logout`, or a reused refresh token revoking its family) the token is refused
by PostgREST tables, RPCs and Realtime (platform/api/deps.py, realtime_socket.py), not only by
`/auth/v1/user`. Keeping that cheap:

- a live answer is remembered for `ALIVE_TTL_S`: one indexed lookup (auth.sessions' primary key)
  per session per few seconds, however many requests the session makes, and concurrent misses of
  one session share a lookup;
- an ended answer is remembered for good (a session id never comes back), up to `MAX_ENDED`;
- the process that ends a session (the logout route) marks it at once, so its own next request is
  refused without waiting; another API process learns within `ALIVE_TTL_S`;
- while the database cannot be reached the answer is "alive" and nothing is cached (fail open: the
  token's signature and expiry still bound it, and the request itself needs the database anyway).

Pure bookkeeping; the lookup is injected, so the rules are unit-tested without a database.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

ALIVE_TTL_S = 5.0
MAX_ALIVE = 100_000
MAX_ENDED = 100_000


class LookupUnavailable(Exception):
    """The session store cannot be asked right now (the lookup raises it; the answer is then 'alive')."""


Lookup = Callable[[str], Awaitable[bool]]


class LiveSessions:
    def __init__(
        self,
        lookup: Lookup,
        *,
        alive_ttl_s: float = ALIVE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        max_alive: int = MAX_ALIVE,
        max_ended: int = MAX_ENDED,
    ) -> None:
        self._lookup = lookup
        self._ttl = alive_ttl_s
        self._clock = clock
        self._max_alive = max(1, max_alive)
        self._max_ended = max(1, max_ended)
        self._alive: OrderedDict[str, float] = OrderedDict()  # session id -> when it was seen alive
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._pending: dict[str, asyncio.Future[bool]] = {}
        self.lookups = 0
        self.unavailable = 0

    def known_ended(self, session_id: str | None) -> bool:
        """True when this process already knows the session ended (no I/O)."""
        return session_id is not None and session_id in self._ended

    def ended(self, session_ids: Iterable[str]) -> None:
        """Sessions that just ended (logout, refresh-token reuse): refused from now on."""
        for session_id in session_ids:
            self._alive.pop(session_id, None)
            self._ended[session_id] = None
            self._ended.move_to_end(session_id)
        while len(self._ended) > self._max_ended:
            self._ended.popitem(last=False)

    async def alive(self, session_id: str | None) -> bool:
        """Whether a token of this session may still be used; a token without a session id always may."""
        if session_id is None:
            return True
        if session_id in self._ended:
            return False
        seen = self._alive.get(session_id)
        if seen is not None and self._clock() - seen < self._ttl:
            return True
        pending = self._pending.get(session_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[session_id] = future
        try:
            answer = await self._ask(session_id)
            future.set_result(answer)
            return answer
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self._pending[session_id]

    async def _ask(self, session_id: str) -> bool:
        self.lookups += 1
        try:
            answer = await self._lookup(session_id)
        except LookupUnavailable:
            self.unavailable += 1
            return True
        if session_id in self._ended:  # ended while we asked
            return False
        if answer:
            self._alive[session_id] = self._clock()
            self._alive.move_to_end(session_id)
            while len(self._alive) > self._max_alive:
                self._alive.popitem(last=False)
        else:
            self.ended([session_id])
        return answer
