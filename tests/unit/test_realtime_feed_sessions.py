"""The change feed's side of logout and of the bell's re-reads: a channel whose session ended gets no
more changes, and every channel hears "Subscribed to PostgreSQL" once per LISTEN connection."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from gauntlet.platform.api import realtime_protocol as p
from gauntlet.platform.api.realtime_feed import Binding, Change, ChangeFeed, Channel, PublishedTable
from gauntlet.platform.auth.tokens import Claims

TABLE = PublishedTable(
    schema="public",
    table="notifications",
    pk=("id",),
    owner="user_id",
    columns=({"name": "id", "type": "int8"}, {"name": "user_id", "type": "uuid"}),
    readers=frozenset({"authenticated"}),
)


class Socket:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.expired: list[str] = []

    def send(self, text: str) -> None:
        self.frames.append(json.loads(text))

    def token_expired(self, topic: str) -> None:
        self.expired.append(topic)


def feed_with(ended: set[str]) -> ChangeFeed:
    feed = ChangeFeed(db=None, dsn="", connect_timeout_s=1.0, session_ended=lambda s: s in ended)  # type: ignore[arg-type]
    feed._catalog, feed._catalog_at = {("public", "notifications"): TABLE}, time.monotonic()

    async def visible(table: PublishedTable, pk: dict[str, Any], callers: list[Claims]) -> list[dict[str, Any] | None]:
        return [{"id": 1, "user_id": c.sub} for c in callers]

    feed._visible = visible  # type: ignore[method-assign]
    return feed


def joined(feed: ChangeFeed, session_id: str, topic: str = "realtime:bell") -> tuple[Channel, Socket]:
    socket = Socket()
    claims = Claims(role="authenticated", sub="u1", exp=int(time.time()) + 3600, session_id=session_id)
    specs = p.parse_bindings({"config": {"postgres_changes": [{"event": "*", "table": "notifications"}]}})
    channel = Channel(socket, topic, claims, specs, ids=[7])
    feed._channels += 1  # subscribe() would also start the listener; not wanted here
    feed._bindings.setdefault("public", []).append(Binding(channel, 7, specs[0]))
    return channel, socket


def insert() -> Change:
    return Change("public", "notifications", "INSERT", {"id": 1}, "u1", "ts", time.monotonic())


def test_a_channel_whose_session_ended_gets_no_change_and_its_socket_is_told() -> None:
    ended: set[str] = set()
    feed = feed_with(ended)
    _, live = joined(feed, "s-live", "realtime:a")
    _, gone = joined(feed, "s-gone", "realtime:b")
    ended.add("s-gone")
    assert asyncio.run(feed.fan_out(insert())) == 1
    assert [f["event"] for f in live.frames] == ["postgres_changes"]
    assert gone.frames == [] and gone.expired == ["realtime:b"]


def test_subscribed_is_announced_once_per_listen_connection() -> None:
    feed = feed_with(set())
    channel, socket = joined(feed, "s1")
    feed.announce(channel)  # not listening yet: nothing to promise
    assert socket.frames == []
    feed.listening, feed.epoch = True, 1
    feed.announce(channel)
    feed.announce(channel)  # the join and the listener's connect both ask: one message
    assert [(f["event"], f["payload"]["message"]) for f in socket.frames] == [("system", "Subscribed to PostgreSQL")]
    feed.epoch = 2  # the listener was lost and came back: changes in between were not heard
    feed.announce(channel)
    assert len(socket.frames) == 2
