"""Pure parts of Supabase Realtime: frames, filters, bindings, and the fan-out rules (with a stubbed read)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from realtime.message import ServerMessageAdapter, SuccessReplyMessage

from gauntlet.platform.api import realtime_protocol as p
from gauntlet.platform.api.realtime_feed import Binding, Change, ChangeFeed, Channel, PublishedTable, parse_change
from gauntlet.platform.auth.tokens import ANON, Claims


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        ("user_id=eq.abc", {"user_id": "abc"}, True),
        ("user_id=eq.abc", {"user_id": "abd"}, False),
        ("user_id=neq.abc", {"user_id": None}, False),
        ("id=gt.5", {"id": 10}, True),
        ("id=gt.5", {"id": 4}, False),
        ("id=lte.10", {"id": 10}, True),
        ("id=in.(1,2,3)", {"id": 2}, True),
        ("id=not.in.(1,2,3)", {"id": 2}, False),
        ("read_at=is.null", {"read_at": None}, True),
        ("read_at=not.is.null", {"read_at": "2026-01-01"}, True),
        ("done=is.true", {"done": True}, True),
        ("id=eq.x", {"id": 1}, False),
        ("id=gte.1,kind=eq.dm", {"id": 1, "kind": "dm"}, True),
        ("id=gte.1,kind=eq.dm", {"id": 1, "kind": "email"}, False),
        ("missing=eq.1", {}, False),
    ],
)
def test_filters_match_like_sql(text: str, record: dict[str, Any], expected: bool) -> None:
    assert p.parse_filter(text).matches(record) is expected


@pytest.mark.parametrize(
    "text", ["", "user_id", "user_id=zz.1", "1col=eq.1", "id=in.1,2", "x=is.maybe", "a=eq.1," * 9, "a=eq." + "x" * 2000]
)
def test_bad_filters_are_refused(text: str) -> None:
    with pytest.raises(p.ProtocolError):
        p.parse_filter(text)


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "[]",
        '{"topic": 1, "event": "x"}',
        '{"topic": "t", "event": ""}',
        '{"topic": "t", "event": "e", "payload": 3}',
        '{"topic": "t", "event": "e", "ref": {"a": 1}}',
        "[" * 100_000,
    ],
)
def test_bad_frames_are_protocol_errors(text: str) -> None:
    with pytest.raises(p.ProtocolError):
        p.parse_message(text)


def test_a_join_is_parsed_and_its_reply_is_what_the_client_compares() -> None:
    msg = p.parse_message(
        json.dumps(
            {
                "topic": "realtime:n",
                "event": "phx_join",
                "ref": "1",
                "join_ref": "1",
                "payload": {
                    "config": {
                        "postgres_changes": [{"event": "INSERT", "schema": "public", "table": "t", "filter": "a=eq.1"}]
                    }
                },
            }
        )
    )
    (spec,) = p.parse_bindings(msg.payload)
    assert spec.reply(7) == {"id": 7, "event": "INSERT", "schema": "public", "table": "t", "filter": "a=eq.1"}
    reply = ServerMessageAdapter.validate_json(p.reply_ok(msg.topic, msg.ref, {"postgres_changes": [spec.reply(7)]}))
    assert isinstance(reply.payload, SuccessReplyMessage) and reply.payload.status == "ok"
    with pytest.raises(p.ProtocolError):
        p.parse_bindings({"config": {"postgres_changes": [{"event": "TRUNCATE", "table": "t"}]}})
    with pytest.raises(p.ProtocolError):
        p.parse_bindings({"config": {"postgres_changes": [{"table": "t"}] * 21}})


def test_server_frames_validate_against_the_official_client_models() -> None:
    data = p.change_payload(
        schema="public",
        table="t",
        change="UPDATE",
        commit_timestamp="2026-01-01T00:00:00Z",
        columns=[{"name": "id", "type": "int8"}],
        record={"id": 1},
        old_record={"id": 1},
    )
    for frame in (
        p.change_message("realtime:n", json.dumps(data), [3]),
        p.reply_error("realtime:n", "2", "nope"),
        p.system("realtime:n", "ok", "Subscribed to PostgreSQL"),
        p.reply_ok("phoenix", "9"),
    ):
        ServerMessageAdapter.validate_json(frame)
    assert json.loads(p.change_message("realtime:n", json.dumps(data), [3]))["payload"]["ids"] == [3]


def test_notify_payloads_parse_or_are_ignored() -> None:
    change = parse_change('{"s": "public", "t": "n", "op": "DELETE", "pk": {"id": 1}, "owner": "u", "ts": "x"}')
    assert change is not None and change.op == "DELETE" and change.owner == "u"
    assert parse_change("{") is None
    assert parse_change('{"s": "public", "t": "n", "op": "TRUNCATE", "pk": {}}') is None


class _Socket:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.expired: list[str] = []

    def send(self, text: str) -> None:
        self.frames.append(json.loads(text))

    def token_expired(self, topic: str) -> None:
        self.expired.append(topic)


def _user(sub: str, exp: int | None = None) -> Claims:
    return Claims(role="authenticated", sub=sub, exp=exp or int(time.time()) + 3600)


def _feed(rows: dict[str | None, dict[str, Any] | None]) -> tuple[ChangeFeed, list[str | None]]:
    """A feed whose visibility read answers rows[sub] (what that caller may select)."""
    feed = ChangeFeed(db=None, dsn="", connect_timeout_s=1.0)  # type: ignore[arg-type]
    table = PublishedTable(
        schema="public",
        table="notifications",
        pk=("id",),
        owner="user_id",
        columns=({"name": "id", "type": "int8"}, {"name": "user_id", "type": "uuid"}, {"name": "kind", "type": "text"}),
        readers=frozenset({"authenticated", "service_role"}),
    )
    feed._catalog, feed._catalog_at = {("public", "notifications"): table}, time.monotonic()
    reads: list[str | None] = []

    async def visible(table: PublishedTable, pk: dict[str, Any], callers: list[Claims]) -> list[dict[str, Any] | None]:
        reads.extend(c.sub for c in callers)
        return [rows.get(c.sub) for c in callers]

    feed._visible = visible  # type: ignore[method-assign]
    return feed, reads


def _channel(feed: ChangeFeed, claims: Claims, *bindings: dict[str, Any]) -> tuple[Channel, _Socket]:
    socket = _Socket()
    channel = Channel(socket, "realtime:x", claims, p.parse_bindings({"config": {"postgres_changes": list(bindings)}}))
    feed._channels += 1  # subscribe() would also start the listener; the fan-out is what is tested
    channel.ids[:] = [100 + i for i in range(len(channel.specs))]
    for spec, i in zip(channel.specs, channel.ids, strict=True):
        feed._bindings.setdefault(spec.schema, []).append(Binding(channel, i, spec))
    return channel, socket


def _change(op: str, owner: str) -> Change:
    return Change("public", "notifications", op, {"id": 1}, owner, "ts", time.monotonic())  # type: ignore[arg-type]


def test_rows_go_only_to_those_whose_own_read_returns_them_one_read_per_identity() -> None:
    row = {"id": 1, "user_id": "a", "kind": "dm"}
    feed, reads = _feed({"a": row, "b": None})
    _, a1 = _channel(feed, _user("a"), {"event": "*", "table": "notifications"})
    _, a2 = _channel(
        feed,
        _user("a"),
        {"event": "INSERT", "table": "notifications"},
        {"event": "*", "table": "notifications", "filter": "kind=eq.dm"},
    )
    _, b = _channel(feed, _user("b"), {"event": "*", "table": "notifications"})
    _, b_filtered = _channel(feed, _user("b"), {"event": "*", "table": "notifications", "filter": "user_id=eq.b"})
    _, anon = _channel(feed, ANON, {"event": "*", "table": "notifications"})
    asyncio.run(feed.fan_out(_change("INSERT", "a")))
    # one read per identity (a's two channels share one); b_filtered was decided from the owner alone
    assert sorted(map(str, reads)) == ["None", "a", "b"]
    assert [f["payload"]["data"]["record"] for f in a1.frames] == [row]
    assert a2.frames[0]["payload"]["ids"] == [100, 101]
    assert b.frames == [] and b_filtered.frames == [] and anon.frames == []


def test_deletes_go_to_the_owner_and_service_role_with_the_key_only() -> None:
    feed, reads = _feed({})
    _, owner = _channel(feed, _user("a"), {"event": "DELETE", "table": "notifications"})
    _, other = _channel(feed, _user("b"), {"event": "*", "table": "notifications"})
    _, service = _channel(feed, Claims(role="service_role"), {"event": "*", "table": "notifications"})
    _, anon = _channel(feed, ANON, {"event": "*", "table": "notifications"})
    _, wrong_event = _channel(feed, _user("a"), {"event": "INSERT", "table": "notifications"})
    _, unfilterable = _channel(feed, _user("a"), {"event": "*", "table": "notifications", "filter": "kind=eq.dm"})
    asyncio.run(feed.fan_out(_change("DELETE", "a")))
    assert reads == []
    assert owner.frames[0]["payload"]["data"]["old_record"] == {"id": 1}
    assert "record" not in owner.frames[0]["payload"]["data"]
    assert len(service.frames) == 1
    assert other.frames == anon.frames == wrong_event.frames == unfilterable.frames == []


def test_an_expired_token_gets_nothing_and_its_channel_is_flagged() -> None:
    feed, _ = _feed({"a": {"id": 1, "user_id": "a"}})
    _, socket = _channel(feed, _user("a", exp=int(time.time()) - 1), {"event": "*", "table": "notifications"})
    asyncio.run(feed.fan_out(_change("INSERT", "a")))
    assert socket.frames == [] and socket.expired == ["realtime:x"]
