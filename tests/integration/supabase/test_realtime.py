"""Supabase Realtime (postgres_changes) through the official async client, and raw Phoenix frames for the edges.

RLS isolation: A and B subscribe to all of `notifications` without a filter, so only the server's
visibility re-read (as each subscriber) keeps A's rows away from B.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
import websockets
from realtime.types import PostgresChangesPayload, RealtimePostgresChangesListenEvent
from supabase import AsyncClient, acreate_client

from gauntlet.stack.state import StackState
from tests.integration.supabase.conftest import PASSWORD, SupaUser
from tests.integration.supabase.rows import row

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _ws_url(stack: StackState, apikey: str | None = None) -> str:
    base = stack.api_url.replace("http://", "ws://") + "/realtime/v1/websocket?vsn=1.0.0"
    return base + (f"&apikey={apikey}" if apikey else "")


async def _signed_in(stack: StackState, user: SupaUser) -> AsyncClient:
    client = await acreate_client(stack.api_url, stack.anon_key)
    await client.auth.sign_in_with_password({"email": user.email, "password": PASSWORD})
    return client


async def _subscribe(client: AsyncClient, topic: str, table: str, got: list[dict[str, Any]], **kw: Any) -> None:
    states: list[Any] = []
    channel = client.channel(topic)

    def received(change: PostgresChangesPayload) -> None:
        got.append(dict[str, Any](change))  # kept as the plain JSON it came as

    channel.on_postgres_changes(RealtimePostgresChangesListenEvent.All, received, table=table, schema="public", **kw)
    await channel.subscribe(lambda state, _err: states.append(state))
    assert [str(s.value) for s in states] == ["SUBSCRIBED"], states


async def _until(check: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


def test_owner_receives_insert_update_delete_and_another_user_never_does(
    gauntlet_stack: StackState, make_user: Callable[[], SupaUser]
) -> None:
    a, b = make_user(), make_user()
    title = f"rt-{uuid.uuid4().hex[:8]}"

    async def run() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        client_a, client_b = await _signed_in(gauntlet_stack, a), await _signed_in(gauntlet_stack, b)
        got_a: list[dict[str, Any]] = []
        got_b: list[dict[str, Any]] = []
        got_a_filtered: list[dict[str, Any]] = []
        try:
            await _subscribe(client_a, "a-all", "notifications", got_a)
            await _subscribe(client_a, "a-mine", "notifications", got_a_filtered, filter=f"user_id=eq.{a.id}")
            await _subscribe(client_b, "b-all", "notifications", got_b)
            send = {"p_user_id": a.id, "p_channel": "snackbar", "p_title": title}
            notification_id = row((await client_a.rpc("notif_send", send).execute()).data)["notification_id"]
            assert await _until(lambda: any(m["data"]["type"] == "INSERT" for m in got_a))
            await client_a.rpc("notif_mark_read", {"p_id": notification_id}).execute()
            assert await _until(
                lambda: any(m["data"]["type"] == "UPDATE" and m["data"]["record"]["read_at"] for m in got_a)
            )
            conn = await asyncpg.connect(gauntlet_stack.primary_dsn)
            try:
                await conn.execute("DELETE FROM public.notifications WHERE id = $1", notification_id)
            finally:
                await conn.close()
            assert await _until(lambda: any(m["data"]["type"] == "DELETE" for m in got_a))
            # A fence instead of a wait: B's own row, committed after all of A's, reaches B after
            # anything of A's would have (changes fan out in commit order).
            fence = {"p_user_id": b.id, "p_channel": "snackbar", "p_title": f"{title}-fence"}
            await client_b.rpc("notif_send", fence).execute()
            assert await _until(lambda: any(m["data"]["record"].get("title") == f"{title}-fence" for m in got_b))
        finally:
            await client_a.remove_all_channels()
            await client_b.remove_all_channels()
        return got_a, got_a_filtered, got_b

    got_a, got_a_filtered, got_b = asyncio.run(run())
    insert = next(m for m in got_a if m["data"]["type"] == "INSERT")
    assert insert["data"]["record"]["title"] == title
    assert insert["data"]["record"]["user_id"] == a.id
    assert {"name": "user_id", "type": "uuid"} in insert["data"]["columns"]
    delete = next(m for m in got_a if m["data"]["type"] == "DELETE")
    assert set(delete["data"]["old_record"]) == {"id", "created_at"}
    assert {m["data"]["type"] for m in got_a_filtered} >= {"INSERT", "UPDATE", "DELETE"}
    # B's own rows only: its fence's INSERT, and an UPDATE if the delivery worker marked it delivered in time
    # (a DELETE carries no user_id, so one of A's would count here).
    from_a = [m for m in got_b if m["data"]["record"].get("user_id") != b.id]
    assert from_a == [], f"B received A's rows: {from_a}"


def test_anon_subscribes_but_sees_only_what_anon_may_select(
    gauntlet_stack: StackState, make_user: Callable[[], SupaUser]
) -> None:
    a = make_user()
    key = f"rt_{uuid.uuid4().hex[:10]}"

    async def run() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        anon = await acreate_client(gauntlet_stack.api_url, gauntlet_stack.anon_key)
        notes: list[dict[str, Any]] = []
        flags: list[dict[str, Any]] = []
        fence: list[dict[str, Any]] = []
        try:
            await _subscribe(anon, "anon-notes", "notifications", notes)
            await _subscribe(anon, "anon-flags", "feature_flags", flags, filter=f"key=eq.{key}")
            await _subscribe(anon, "anon-fence", "feature_flags", fence, filter=f"key=eq.{key}-fence")
            conn = await asyncpg.connect(gauntlet_stack.primary_dsn)
            try:
                await conn.execute(
                    "INSERT INTO public.notifications (user_id, channel, title) VALUES ($1, 'snackbar', 'x')",
                    uuid.UUID(a.id),
                )
                await conn.execute("INSERT INTO public.feature_flags (key) VALUES ($1)", key)
                # The row is re-read when fanned out: delete it only once the INSERT was delivered.
                assert await _until(lambda: len(flags) >= 1)
                await conn.execute("DELETE FROM public.feature_flags WHERE key = $1", key)
                # A fence instead of a wait: committed last, it arrives after anything else would.
                await conn.execute("INSERT INTO public.feature_flags (key) VALUES ($1)", f"{key}-fence")
            finally:
                await conn.close()
            assert await _until(lambda: len(fence) >= 1)
        finally:
            await anon.remove_all_channels()
        return notes, flags

    notes, flags = asyncio.run(run())
    assert notes == []
    assert [m["data"]["type"] for m in flags] == ["INSERT", "DELETE"]
    assert flags[0]["data"]["record"]["key"] == key
    assert flags[1]["data"]["old_record"] == {"key": key}


async def _recv(ws: Any, timeout_s: float = 5.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
    return message


def _join(topic: str, ref: str, table: str = "notifications", **payload: Any) -> str:
    config = {"postgres_changes": [{"event": "*", "schema": "public", "table": table}]}
    return json.dumps({"topic": topic, "event": "phx_join", "payload": {"config": config, **payload}, "ref": ref})


def test_protocol_edges_get_error_replies_and_the_socket_lives_on(gauntlet_stack: StackState) -> None:
    async def run() -> None:
        async with websockets.connect(_ws_url(gauntlet_stack, gauntlet_stack.anon_key)) as ws:
            await ws.send("{not json")
            reply = await _recv(ws)
            assert reply["topic"] == "phoenix" and reply["payload"]["status"] == "error"
            assert "JSON" in reply["payload"]["response"]["reason"]

            await ws.send(json.dumps([None, "1", "realtime:x", "phx_join", {}]))  # serializer 2.0.0
            assert (await _recv(ws))["payload"]["status"] == "error"

            await ws.send(b"\x00\x01")
            assert (await _recv(ws))["payload"]["status"] == "error"

            await ws.send(json.dumps({"topic": "realtime:nope", "event": "phx_leave", "payload": {}, "ref": "2"}))
            reply = await _recv(ws)
            assert (reply["ref"], reply["payload"]["response"]["reason"]) == ("2", "unmatched topic")

            await ws.send(json.dumps({"topic": "realtime:x", "event": "phx_join", "payload": {"pad": "x" * 70_000}}))
            assert "larger than" in (await _recv(ws))["payload"]["response"]["reason"]

            await ws.send(_join("realtime:t", "3", table="no_such_table"))
            reply = await _recv(ws)
            assert reply["ref"] == "3" and "not published" in reply["payload"]["response"]["reason"]

            await ws.send(_join("realtime:t", "4", access_token="not-a-jwt"))
            reply = await _recv(ws)
            assert reply["payload"]["status"] == "error" and "InvalidJWTToken" in reply["payload"]["response"]["reason"]

            bad = [{"event": "*", "table": "notifications", "filter": "x=zz.1"}]
            bad_filter = {"config": {"postgres_changes": bad}}
            await ws.send(json.dumps({"topic": "realtime:t", "event": "phx_join", "payload": bad_filter, "ref": "5"}))
            assert (await _recv(ws))["payload"]["status"] == "error"

            for i in range(100):
                await ws.send(_join(f"realtime:c{i}", f"j{i}"))
            replies = [await _recv(ws) for _ in range(200)]  # each join: a reply and a system message
            assert all(r["payload"]["status"] == "ok" for r in replies if r["event"] == "phx_reply")
            await ws.send(_join("realtime:one-too-many", "over"))
            reply = await _recv(ws)
            assert reply["ref"] == "over"
            assert reply["payload"]["response"]["reason"].startswith("ChannelRateLimitReached")

            await ws.send(json.dumps({"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": "hb"}))
            reply = await _recv(ws)
            assert (reply["topic"], reply["ref"], reply["payload"]["status"]) == ("phoenix", "hb", "ok")

    asyncio.run(run())


def test_a_bad_apikey_is_refused_at_the_handshake(gauntlet_stack: StackState) -> None:
    async def run() -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(_ws_url(gauntlet_stack, "garbage")):
                pass
        assert refused.value.response.status_code == 403

    asyncio.run(run())


def test_connections_per_user_are_capped(gauntlet_stack: StackState, make_user: Callable[[], SupaUser]) -> None:
    user = make_user()
    session = user.client.auth.get_session()
    assert session is not None
    token = session.access_token

    async def run() -> list[str]:
        sockets = [await websockets.connect(_ws_url(gauntlet_stack, gauntlet_stack.anon_key)) for _ in range(11)]
        try:
            reasons = []
            for i, ws in enumerate(sockets):
                await ws.send(_join("realtime:mine", str(i), access_token=token))
                reply = await _recv(ws)
                reasons.append(reply["payload"]["status"] + ":" + reply["payload"]["response"].get("reason", ""))
            await sockets[0].close()
            # The server frees the place when it sees the close: ask again until it has (bounded).
            deadline, status = time.monotonic() + 5.0, "error"
            while status != "ok" and time.monotonic() < deadline:
                await sockets[10].send(_join("realtime:mine", "again", access_token=token))
                status = (await _recv(sockets[10]))["payload"]["status"]
            reasons.append(status)
            return reasons
        finally:
            for ws in sockets:
                await ws.close()

    reasons = asyncio.run(run())
    assert reasons[:10] == ["ok:"] * 10
    assert reasons[10].startswith("error:ConnectionRateLimitReached")
    assert reasons[11] == "ok"  # a closed socket gives its place back
