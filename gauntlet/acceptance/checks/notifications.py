"""Notifications (seeds 003 "Notifications (Task 9)"; migration 220).

Channel consent, quiet hours, the daily cap (from local midnight), idempotency keys, mark-all-read.

Every check works on its own fresh users, sending to themselves (a client may send
only to itself), so other users' notifications never change what it sees.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from gauntlet.acceptance.registry import check, expect
from gauntlet.acceptance.surface import Surface, User

SEEDS = "003 Acceptance: Notifications (Task 9)"
CHANNELS = ("snackbar", "dm", "email", "push")


async def _send(t: Surface, user: User, channel: str, title: str, **extra: Any) -> dict[str, Any]:
    body = await t.rpc_ok(
        "notif_send",
        {"p_user_id": user.id, "p_channel": channel, "p_title": title, "p_kind": "acceptance", **extra},
        as_=user,
    )
    expect(
        isinstance(body, dict) and "sent" in body,
        f"notif_send({channel}, {title!r}) returned {body!r}; expected {{sent, reason, ...}}",
    )
    return dict(body)


async def _unread(t: Surface, user: User) -> int:
    count = await t.rpc_ok("notif_unread_count", {}, as_=user)
    expect(isinstance(count, int), f"notif_unread_count returned {count!r}; expected an integer")
    return int(count)


def _offset_for_local_hour(hour: int, now: datetime) -> int:
    """Hours east of UTC, in [-12, 11], of a zone in which the local time now is `hour`:MM."""
    return (hour - now.hour + 12) % 24 - 12


def _zone(offset: int) -> str:
    """The fixed-offset IANA zone `offset` hours east of UTC (Etc/GMT+N is UTC-N)."""
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def _zone_for_local_hour(hour: int, now: datetime) -> str:
    """A fixed-offset IANA zone in which the local time now is `hour`:MM."""
    return _zone(_offset_for_local_hour(hour, now))


@check(
    "notifications.quiet_hours_block_sends",
    title="a send inside the user's quiet hours (local time, also across midnight) is refused on every channel",
    seeds=SEEDS,
)
async def quiet_hours_block_sends(t: Surface) -> None:
    user = await t.signup("notif-quiet")
    now = datetime.now(UTC)
    # Two windows, each holding the user's local time now: one within a day, one across midnight.
    # They never overlap, so a platform that ignored the user's time zone gets at least one wrong.
    windows = (
        ("11:00", "14:00", _zone_for_local_hour(12, now), "11:00-14:00 at local 12:xx"),
        ("22:00", "07:00", _zone_for_local_hour(2, now), "22:00-07:00 (across midnight) at local 02:xx"),
    )
    for start, end, zone, label in windows:
        await t.rpc_ok(
            "ai_consent_set",
            {"p_quiet_hours_start": start, "p_quiet_hours_end": end, "p_timezone": zone},
            as_=user,
        )
        for channel in ("snackbar", "email"):
            result = await _send(t, user, channel, f"quiet {label}")
            expect(
                result.get("sent") is False and result.get("reason") == "quiet_hours",
                f"quiet hours {label} (time zone {zone}): notif_send on {channel} returned {result}; "
                "the seeds say quiet hours block sends (sent = false, reason quiet_hours)",
            )
    unread = await _unread(t, user)
    expect(unread == 0, f"after sends refused for quiet hours, notif_unread_count is {unread}; expected 0")
    # Outside quiet hours the same send goes through.
    await t.rpc_ok(
        "ai_consent_set",
        {"p_quiet_hours_start": "03:00", "p_quiet_hours_end": "05:00", "p_timezone": _zone_for_local_hour(12, now)},
        as_=user,
    )
    result = await _send(t, user, "snackbar", "outside quiet hours")
    expect(
        result.get("sent") is True,
        f"with quiet hours 03:00-05:00 and local time 12:xx, notif_send returned {result}; expected sent = true",
    )


@check(
    "notifications.daily_cap_stops_at_n",
    title="with a daily cap of N, the Nth send of the day goes out and the N+1th is refused (all channels count)",
    seeds=SEEDS,
)
async def daily_cap_stops_at_n(t: Surface) -> None:
    user = await t.signup("notif-cap")
    cap = 3
    consent = await t.rpc_ok("ai_consent_set", {"p_daily_cap": cap, "p_timezone": "UTC"}, as_=user)
    expect(
        isinstance(consent, dict) and consent.get("daily_cap") == cap,
        f"ai_consent_set(p_daily_cap={cap}) returned {consent!r}",
    )
    for number, channel in enumerate(CHANNELS[:cap], start=1):
        result = await _send(t, user, channel, f"cap {number}/{cap}")
        expect(
            result.get("sent") is True,
            f"send {number} of a daily cap of {cap} (channel {channel}) returned {result}; expected sent = true",
        )
    over = await _send(t, user, CHANNELS[cap], f"cap {cap + 1}/{cap}")
    expect(
        over.get("sent") is False and over.get("reason") == "daily_cap",
        f"send {cap + 1} with a daily cap of {cap} (earlier sends on {list(CHANNELS[:cap])}, this one on "
        f"{CHANNELS[cap]}) returned {over}; the seeds say the daily cap stops at N (reason daily_cap)",
    )
    unread = await _unread(t, user)
    expect(unread == cap, f"after {cap} sends and one refused, notif_unread_count is {unread}; expected {cap}")


@check(
    "notifications.mark_all_read_updates_unread_count",
    title="notif_mark_all_read marks every unread notification read and notif_unread_count drops to 0",
    seeds=SEEDS,
)
async def mark_all_read_updates_unread_count(t: Surface) -> None:
    user = await t.signup("notif-markall")
    for number, channel in enumerate(("snackbar", "dm", "email"), start=1):
        result = await _send(t, user, channel, f"unread {number}")
        expect(result.get("sent") is True, f"notif_send {number} ({channel}) returned {result}")
    before = await _unread(t, user)
    expect(before == 3, f"after 3 sends to a fresh user, notif_unread_count is {before}; expected 3")
    marked = await t.rpc_ok("notif_mark_all_read", {}, as_=user)
    expect(marked == 3, f"notif_mark_all_read returned {marked!r} with 3 unread; expected 3")
    after = await _unread(t, user)
    expect(
        after == 0,
        f"after notif_mark_all_read (which returned {marked!r}), notif_unread_count is {after}; the seeds say "
        "mark-all updates the unread count (expected 0)",
    )
    rows = await t.rpc_ok("notif_list", {"p_limit": 10}, as_=user)
    unread_rows = [r.get("id") for r in rows if r.get("read_at") is None]
    expect(not unread_rows, f"after notif_mark_all_read, notif_list still shows unread notifications {unread_rows}")
    again = await t.rpc_ok("notif_mark_all_read", {}, as_=user)
    expect(again == 0, f"a second notif_mark_all_read returned {again!r}; expected 0 (nothing left unread)")


@check(
    "notifications.daily_cap_counts_from_local_midnight",
    title="the daily cap counts the sends since the user's local midnight (ai_consent.timezone), not since UTC "
    "midnight (sends moved back through SQL)",
    seeds=SEEDS,
    needs=("dsn",),
)
async def daily_cap_counts_from_local_midnight(t: Surface) -> None:
    user = await t.signup("notif-cap-local")
    async with t.db() as conn:
        now: datetime = (await conn.fetchval("select now()")).astimezone(UTC)
    # A zone at least an hour off UTC where it is now midday (or evening), so the user's local
    # midnight is 12-19 h ago and never the same instant as UTC midnight.
    offset = _offset_for_local_hour(12, now) or _offset_for_local_hour(18, now)
    zone = _zone(offset)
    shift = timedelta(hours=offset)
    midnight = datetime.combine((now + shift).date(), time(0), tzinfo=UTC) - shift  # local midnight, as UTC
    cap = 2
    consent = await t.rpc_ok("ai_consent_set", {"p_daily_cap": cap, "p_timezone": zone}, as_=user)
    expect(
        isinstance(consent, dict) and consent.get("daily_cap") == cap and consent.get("timezone") == zone,
        f"ai_consent_set(p_daily_cap={cap}, p_timezone={zone!r}) returned {consent!r}",
    )
    # Two sends, then moved back: one to 10 minutes before the user's local midnight (yesterday,
    # local), one to 10 minutes after it (today, local). Only the second counts against today's cap.
    moved = {
        "yesterday": midnight - timedelta(minutes=10),
        "today": midnight + timedelta(minutes=10),
    }
    async with t.db() as conn:
        for label, at in moved.items():
            sent = await _send(t, user, "snackbar", f"cap local {label}")
            expect(sent.get("sent") is True, f"send {label!r} (daily cap {cap}, nothing sent yet) returned {sent}")
            updated = await conn.execute(
                "update public.notifications set created_at = $3 where user_id = $1 and id = $2",
                user.id,
                int(sent["notification_id"]),
                at,
            )
            expect(
                updated == "UPDATE 1",
                f"moving notification {sent['notification_id']} of {user.email} to {at.isoformat()} "
                f"updated {updated!r}",
            )
    where = (
        f"time zone {zone} (local midnight {midnight.isoformat()} UTC, now {now.isoformat()}), daily cap {cap}, "
        f"one earlier notification at {moved['yesterday'].isoformat()} (yesterday, local) and one at "
        f"{moved['today'].isoformat()} (today, local)"
    )
    first = await _send(t, user, "email", "cap local 1")
    expect(
        first.get("sent") is True and first.get("sent_today") == cap,
        f"{where}: the next send returned {first}; the day starts at the user's local midnight, so one "
        f"notification counts and this one goes out as number {cap} of the day",
    )
    over = await _send(t, user, "dm", "cap local 2")
    expect(
        over.get("sent") is False and over.get("reason") == "daily_cap",
        f"{where}, then one more sent: the send after that returned {over}; the seeds say the daily cap stops "
        f"at N ({cap} today, local, so reason daily_cap)",
    )


@check(
    "notifications.channel_consent_respected",
    title="notif_send refuses a channel the user switched off in ai_consent.channels (reason channel_off) and "
    "sends on the channels left on",
    seeds=SEEDS + "; 003 Consent: channel preferences",
)
async def channel_consent_respected(t: Surface) -> None:
    user = await t.signup("notif-channels")
    allowed = ("email", "snackbar")
    consent = await t.rpc_ok("ai_consent_set", {"p_channels": list(allowed)}, as_=user)
    expect(
        isinstance(consent, dict) and sorted(consent.get("channels") or []) == list(allowed),
        f"ai_consent_set(p_channels={list(allowed)}) returned {consent!r}; expected channels {list(allowed)}",
    )
    for channel in CHANNELS:
        result = await _send(t, user, channel, f"consent {channel}")
        if channel in allowed:
            expect(
                result.get("sent") is True,
                f"with channels {list(allowed)} on, notif_send on {channel} returned {result}; expected sent = true",
            )
        else:
            expect(
                result.get("sent") is False and result.get("reason") == "channel_off",
                f"with only {list(allowed)} on in ai_consent.channels, notif_send on {channel} returned {result}; "
                "the seeds say notif_send respects consent (channel preferences): sent = false, reason channel_off",
            )
    rows = await t.rpc_ok("notif_list", {"p_limit": 10}, as_=user)
    channels = sorted(str(r.get("channel")) for r in rows)
    expect(
        channels == list(allowed),
        f"after one send on each channel with only {list(allowed)} on, notif_list shows channels {channels}; "
        f"expected {list(allowed)}",
    )


@check(
    "notifications.idempotency_key_sends_once",
    title="notif_send repeated with the same p_idempotency_key sends nothing again (reason duplicate, the first "
    "notification's id); a new key sends",
    seeds=SEEDS + "; 003 Idempotency on all write paths",
)
async def idempotency_key_sends_once(t: Surface) -> None:
    user = await t.signup("notif-idem")
    key = f"acc-{t.run_id}-notif-{user.id}"
    first = await _send(t, user, "snackbar", "idempotent 1", p_idempotency_key=key)
    expect(
        first.get("sent") is True and first.get("notification_id") is not None,
        f"notif_send with a new idempotency key returned {first}; expected sent = true",
    )
    again = await _send(t, user, "snackbar", "idempotent 1", p_idempotency_key=key)
    expect(
        again.get("sent") is False
        and again.get("reason") == "duplicate"
        and again.get("notification_id") == first["notification_id"],
        f"notif_send repeated with the same idempotency key returned {again} (the first returned {first}); "
        "the seeds promise idempotency on all write paths: sent = false, reason duplicate, the first "
        "notification's id",
    )
    other = await _send(t, user, "snackbar", "idempotent 2", p_idempotency_key=key + "-other")
    expect(
        other.get("sent") is True and other.get("notification_id") != first["notification_id"],
        f"notif_send with a second, different idempotency key returned {other}; expected a new notification",
    )
    unread = await _unread(t, user)
    expect(
        unread == 2,
        f"after 3 sends with 2 distinct idempotency keys, notif_unread_count is {unread}; expected 2 (one per key)",
    )
