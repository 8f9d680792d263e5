"""Notifications with consent (seeds 003/004): quiet hours, daily cap, mark read, unread count, the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from gauntlet.fixtures.roles import acting_as
from tests.integration.platform2.builders import new_user, rpc

pytestmark = pytest.mark.integration


async def _send(
    conn: asyncpg.Connection, user: uuid.UUID, channel: str = "push", key: str | None = None
) -> dict[str, object]:
    result: dict[str, object] = await rpc(
        conn,
        None,
        "select public.notif_send(p_user_id => $1, p_channel => $2, p_title => 'Hello', p_idempotency_key => $3)",
        user,
        channel,
        key,
    )
    return result


async def _quiet_hours_around_now(conn: asyncpg.Connection, user: uuid.UUID, zone: str, inside: bool) -> None:
    local = dt.datetime.now(ZoneInfo(zone))
    start = local + (dt.timedelta(hours=-1) if inside else dt.timedelta(hours=1))
    end = start + dt.timedelta(hours=2)
    await rpc(
        conn,
        user,
        "select public.ai_consent_set(p_quiet_hours_start => $1, p_quiet_hours_end => $2, p_timezone => $3)",
        start.time().replace(microsecond=0),
        end.time().replace(microsecond=0),
        zone,
    )


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/Anchorage"])
async def test_quiet_hours_block_sends_in_the_users_time_zone(conn: asyncpg.Connection, zone: str) -> None:
    user = await new_user(conn)
    await _quiet_hours_around_now(conn, user, zone, inside=True)
    for channel in ("snackbar", "dm", "email", "push"):
        result = await _send(conn, user, channel)
        assert result["sent"] is False and result["reason"] == "quiet_hours", channel
    assert await conn.fetchval("select count(*) from public.notifications where user_id = $1", user) == 0
    await _quiet_hours_around_now(conn, user, zone, inside=False)
    assert (await _send(conn, user))["sent"] is True


async def test_quiet_hours_may_wrap_midnight(conn: asyncpg.Connection) -> None:
    cases = [
        ("23:30", "22:00", "07:00", True), ("06:59", "22:00", "07:00", True), ("07:00", "22:00", "07:00", False),
        ("12:00", "22:00", "07:00", False), ("09:00", "09:00", "17:00", True), ("17:00", "09:00", "17:00", False),
        ("12:00", "08:00", "08:00", False),
    ]  # fmt: skip
    for at, start, end, quiet in cases:
        got = await conn.fetchval(
            "select public._in_quiet_hours($1::text::time, $2::text::time, $3::text::time)", at, start, end
        )
        assert got is quiet, (at, start, end)


async def test_the_daily_cap_stops_at_n(conn: asyncpg.Connection) -> None:
    user = await new_user(conn)
    await rpc(conn, user, "select public.ai_consent_set(p_daily_cap => 3)")
    results = [await _send(conn, user, channel) for channel in ("push", "email", "snackbar", "dm", "push")]
    assert [r["sent"] for r in results] == [True, True, True, False, False]
    assert [r["reason"] for r in results[3:]] == ["daily_cap", "daily_cap"]
    assert results[2]["sent_today"] == 3 and results[4]["daily_cap"] == 3
    assert await conn.fetchval("select count(*) from public.notifications where user_id = $1", user) == 3
    # Yesterday's notifications do not count against today.
    await conn.execute("update public.notifications set created_at = created_at - interval '1 day' where user_id = $1",
                       user)  # fmt: skip
    assert (await _send(conn, user))["sent"] is True


async def test_concurrent_sends_cannot_overshoot_the_cap(conn: asyncpg.Connection, db_dsn: str) -> None:
    user = await new_user(conn)
    await rpc(conn, user, "select public.ai_consent_set(p_daily_cap => 3)")
    connections = [await asyncpg.connect(db_dsn) for _ in range(8)]
    try:
        results = await asyncio.gather(*(_send(c, user) for c in connections))
    finally:
        for c in connections:
            await c.close()
    assert sum(1 for r in results if r["sent"]) == 3
    assert await conn.fetchval("select count(*) from public.notifications where user_id = $1", user) == 3


async def test_a_channel_turned_off_is_not_sent(conn: asyncpg.Connection) -> None:
    user = await new_user(conn)
    consent = await rpc(conn, user, "select public.ai_consent_set(p_channels => array['push', 'snackbar'])")
    assert consent["channels"] == ["push", "snackbar"]
    assert (await _send(conn, user, "email"))["reason"] == "channel_off"
    assert (await _send(conn, user, "push"))["sent"] is True


async def test_an_idempotency_key_sends_once(conn: asyncpg.Connection) -> None:
    user = await new_user(conn)
    first = await _send(conn, user, key="order-shipped-42")
    again = await _send(conn, user, key="order-shipped-42")
    assert first["sent"] is True and again["sent"] is False and again["reason"] == "duplicate"
    assert again["notification_id"] == first["notification_id"]
    assert await conn.fetchval("select count(*) from public.notifications where user_id = $1", user) == 1


async def test_mark_read_and_mark_all_update_the_unread_count(conn: asyncpg.Connection) -> None:
    user, other = await new_user(conn), await new_user(conn)
    ids = [int(str((await _send(conn, user))["notification_id"])) for _ in range(4)]
    await _send(conn, other)
    assert await rpc(conn, user, "select public.notif_unread_count()") == 4
    assert await rpc(conn, user, "select public.notif_mark_read($1)", ids[0]) is True
    assert await rpc(conn, user, "select public.notif_mark_read($1)", ids[0]) is False  # already read
    assert await rpc(conn, other, "select public.notif_mark_read($1)", ids[1]) is False  # not theirs
    assert await rpc(conn, user, "select public.notif_unread_count()") == 3
    assert await rpc(conn, user, "select public.notif_mark_all_read()") == 3
    assert await rpc(conn, user, "select public.notif_unread_count()") == 0
    assert await rpc(conn, other, "select public.notif_unread_count()") == 1
    async with acting_as(conn, "authenticated", user):
        listed = await conn.fetch("select * from public.notif_list(p_limit => 3)")
        older = await conn.fetch("select * from public.notif_list(p_limit => 3, p_before_id => $1)", listed[-1]["id"])
    assert [r["id"] for r in listed] + [r["id"] for r in older] == sorted(ids, reverse=True)
    assert all(r["read_at"] is not None for r in listed)


async def test_read_state_changes_are_announced_for_the_live_badge(conn: asyncpg.Connection, db_dsn: str) -> None:
    user = await new_user(conn)
    heard: list[str] = []
    listener = await asyncpg.connect(db_dsn)
    try:
        await listener.add_listener("notifications", lambda *args: heard.append(args[-1]))
        sent = await _send(conn, user)
        await rpc(conn, user, "select public.notif_mark_all_read()")
        for _ in range(50):
            if len(heard) >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await listener.close()
    assert f'"id": {sent["notification_id"]}' in heard[0] and str(user) in heard[0] and '"created"' in heard[0]
    assert '"read"' in heard[1]


async def test_a_client_may_notify_only_itself(conn: asyncpg.Connection) -> None:
    user, other = await new_user(conn), await new_user(conn)
    assert (await rpc(conn, user, "select public.notif_send(null, 'snackbar', 'Saved')"))["sent"] is True
    with pytest.raises(asyncpg.PostgresError) as refused:
        await rpc(conn, user, "select public.notif_send($1, 'dm', 'Hi')", other)
    assert refused.value.sqlstate == "42501"


async def test_bad_consent_is_refused(conn: asyncpg.Connection) -> None:
    user = await new_user(conn)
    for call in (
        "select public.ai_consent_set(p_timezone => 'Mars/Olympus')",
        "select public.ai_consent_set(p_quiet_hours_start => '22:00')",
        "select public.ai_consent_set(p_daily_cap => -1)",
        "select public.ai_consent_set(p_channels => array['fax'])",
    ):
        with pytest.raises(asyncpg.PostgresError) as refused:
            await rpc(conn, user, call)
        assert refused.value.sqlstate == "22023", call
    defaults = await rpc(conn, user, "select public.ai_consent_get()")
    assert defaults["daily_cap"] == 20 and defaults["timezone"] == "UTC" and len(defaults["channels"]) == 4


async def test_the_outbox_is_drained_once_even_when_replayed(conn: asyncpg.Connection) -> None:
    user = await new_user(conn)
    ids = {int(str((await _send(conn, user, ch))["notification_id"])) for ch in ("push", "email", "dm")}
    async with acting_as(conn, "service_role"):
        drained = await conn.fetch("select * from public.notif_outbox_drain(100)")
        again = await conn.fetch("select * from public.notif_outbox_drain(100)")
    mine = [r for r in drained if r["user_id"] == user]
    assert {r["notification_id"] for r in mine} == ids and all(r["delivered"] for r in mine)
    assert not [r for r in again if r["user_id"] == user]
    delivered_at = await conn.fetch("select id, delivered_at from public.notifications where user_id = $1", user)
    # A redelivered outbox item (a worker crashed before its ack was seen) delivers nothing twice.
    await conn.execute(
        "update public.events_queue set status = 'queued' where topic = 'notifications.deliver' and key = any($1)",
        [str(i) for i in ids],
    )
    async with acting_as(conn, "service_role"):
        replayed = await conn.fetch("select * from public.notif_outbox_drain(100)")
    assert {r["notification_id"] for r in replayed if r["user_id"] == user} == ids
    assert not any(r["delivered"] for r in replayed if r["user_id"] == user)
    assert await conn.fetch("select id, delivered_at from public.notifications where user_id = $1", user) == (
        delivered_at
    )
    # Publishing the same notification again adds no outbox row (UNIQUE (topic, key)).
    assert (
        await conn.fetchval(
            "select count(*) from public.events_queue where topic = 'notifications.deliver' and key = any($1)",
            [str(i) for i in ids],
        )
        == 3
    )


async def test_notifications_are_partitioned_by_month(conn: asyncpg.Connection) -> None:
    kind = await conn.fetchval("select relkind from pg_class where oid = 'public.notifications'::regclass")
    assert kind == b"p" or kind == "p"
    month = dt.datetime.now(dt.UTC).strftime("%Y%m")
    parts = {
        r["relname"]
        for r in await conn.fetch(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
            "where i.inhparent = 'public.notifications'::regclass"
        )
    }
    assert {"notifications_default", f"notifications_p{month}"} <= parts
