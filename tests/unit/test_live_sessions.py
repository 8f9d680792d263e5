"""LiveSessions: which sessions' access tokens are still accepted, and how rarely the store is asked."""

from __future__ import annotations

import asyncio

from gauntlet.platform.auth.live_sessions import LiveSessions, LookupUnavailable


class Store:
    """The session table as the lookup sees it, counting the questions."""

    def __init__(self, *live: str) -> None:
        self.live = set(live)
        self.asked: list[str] = []
        self.down = False
        self.gate: asyncio.Event | None = None

    async def lookup(self, session_id: str) -> bool:
        self.asked.append(session_id)
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise LookupUnavailable("database unreachable")
        return session_id in self.live


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_token_without_a_session_is_accepted_without_asking() -> None:
    store = Store()
    sessions = LiveSessions(store.lookup)
    assert asyncio.run(sessions.alive(None)) is True
    assert store.asked == []


def test_a_live_session_is_asked_once_per_ttl() -> None:
    store, clock = Store("s1"), Clock()
    sessions = LiveSessions(store.lookup, alive_ttl_s=5.0, clock=clock)

    async def run() -> list[bool]:
        answers = [await sessions.alive("s1"), await sessions.alive("s1")]
        clock.now += 4.9
        answers.append(await sessions.alive("s1"))
        clock.now += 0.2  # past the TTL: asked again
        answers.append(await sessions.alive("s1"))
        return answers

    assert asyncio.run(run()) == [True, True, True, True]
    assert store.asked == ["s1", "s1"]


def test_a_session_ended_here_is_refused_at_once_without_asking() -> None:
    store = Store("s1")
    sessions = LiveSessions(store.lookup)

    async def run() -> tuple[bool, bool]:
        first = await sessions.alive("s1")
        sessions.ended(["s1"])  # the logout route of this process
        return first, await sessions.alive("s1")

    assert asyncio.run(run()) == (True, False)
    assert store.asked == ["s1"]  # the cached "alive" did not outlive the logout
    assert sessions.known_ended("s1") and not sessions.known_ended("s2") and not sessions.known_ended(None)


def test_a_session_gone_from_the_store_is_refused_and_remembered() -> None:
    store = Store()
    sessions = LiveSessions(store.lookup)

    async def run() -> list[bool]:
        return [await sessions.alive("gone"), await sessions.alive("gone")]

    assert asyncio.run(run()) == [False, False]
    assert store.asked == ["gone"]
    assert sessions.known_ended("gone")


def test_an_unreachable_store_fails_open_and_caches_nothing() -> None:
    store = Store()
    store.down = True
    sessions = LiveSessions(store.lookup)

    async def run() -> list[bool]:
        answers = [await sessions.alive("s1")]
        store.down = False  # back: the session is not in it, so the token is refused now
        answers.append(await sessions.alive("s1"))
        return answers

    assert asyncio.run(run()) == [True, False]
    assert store.asked == ["s1", "s1"]
    assert sessions.unavailable == 1


def test_concurrent_misses_of_one_session_share_one_lookup() -> None:
    store = Store("s1")
    sessions = LiveSessions(store.lookup)

    async def run() -> list[bool]:
        store.gate = asyncio.Event()
        waiting = [asyncio.create_task(sessions.alive("s1")) for _ in range(20)]
        await asyncio.sleep(0)
        store.gate.set()
        return list(await asyncio.gather(*waiting))

    assert asyncio.run(run()) == [True] * 20
    assert store.asked == ["s1"]


def test_a_logout_during_a_lookup_wins() -> None:
    store = Store("s1")
    sessions = LiveSessions(store.lookup)

    async def run() -> tuple[bool, bool]:
        store.gate = asyncio.Event()
        asking = asyncio.create_task(sessions.alive("s1"))
        await asyncio.sleep(0)
        sessions.ended(["s1"])  # the store still said "alive" when it was asked
        store.gate.set()
        return await asking, await sessions.alive("s1")

    assert asyncio.run(run()) == (False, False)


def test_memory_is_bounded() -> None:
    store = Store(*(f"s{i}" for i in range(10)))
    sessions = LiveSessions(store.lookup, max_alive=3, max_ended=2)

    async def run() -> None:
        for i in range(10):
            await sessions.alive(f"s{i}")

    asyncio.run(run())
    sessions.ended(["e1", "e2", "e3"])
    assert len(sessions._alive) == 3 and list(sessions._alive) == ["s7", "s8", "s9"]
    assert not sessions.known_ended("e1") and sessions.known_ended("e3")
