"""The platform's workers and live surfaces: the edge functions, the workers they drive, and Realtime.

DESIGN (edge functions, /realtime/v1/websocket) and the seeds' worker kernels.

- The worker functions (`queue-worker`, `rocker-discovery-run`) are the platform's backend: the
  service role's only; a user's token and anon are refused (401/403) and nothing is run.
- `hydrate-features` hydrates the caller's own features: a signed-in user gets its own top
  interests and is refused another user's; anon is refused.
- The queue worker (the `queue-worker` function and the worker processes, one code path) acks what
  it processed, with its effect (a `telemetry.signal` event writes its intent signal, once), and a
  failed item is not acked: it stays queued with its error and one failure counted, and is tried
  again only after the queue policy's backoff (seed 000: "Ack on success, fail with exponential
  backoff -> DLQ after 5"). The check's events are queued on the real topic with a key of this
  run (the direct DSN: `enqueue_event` is not on the RPC surface); whichever worker leases them
  (the function the check calls, or the stack's worker processes) runs the same code.
- The job worker (`worker-process`, seed 003 Task 11; the worker processes run the same jobs) and the
  outbox drain (`notifications-worker`) are the service role's only too. The job worker claims only
  the kinds it has a handler for: a job of another kind stays pending, unclaimed, for another
  worker. A handled job (`notifications.send`) is completed with its effect, once (the user's
  notification); a job whose payload cannot be used fails with its error and is retried only after
  the worker_jobs policy's backoff (60, 120, 240 s), and the failure after the last retry moves it
  to the DLQ with a dead_letter_queue row giving a reason. The check's jobs are the only ones it
  judges (enqueued with `worker_enqueue_job` as the service role, at a high priority); time is moved
  through the DSN (a failed job's run_at set to now).
- Realtime (Supabase's Phoenix protocol, `postgres_changes`): a subscriber receives the changes
  to rows it may select, in Supabase's payload shape, with the binding ids of its join reply
  (supabase-js routes a change by them), and nothing of rows it may not select (RLS as the
  subscriber). A filter (one condition, `column=eq.value`) delivers only matching rows. A channel whose token
  was refreshed (`access_token`, what supabase-js sends when its session refreshes) keeps its
  bindings' ids. A channel left (`phx_leave`) receives nothing more, and a topic joined again
  replaces its channel (each change arrives once). Only rules a real Supabase Realtime keeps too
  are judged: a single condition per filter, and no DELETE isolation (Supabase sends a DELETE's
  keys to every subscriber of the table). A fence replaces waiting: a change committed last (the subscriber's own row)
  arrives after anything committed before it would have.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gauntlet.acceptance.registry import check, expect, fail
from gauntlet.acceptance.surface import Answer, As, Surface, User

SEEDS_FUNCTIONS = (
    "000 Phase 4 Edge Functions (hydrate-features on login: the user's features; queue-worker, "
    "rocker-discovery-run: the platform's cron, called with the service role key, 001 F); 000 Phase 5 Security"
)
SEEDS_QUEUE = (
    "000 Phase 4 queue-worker: processes discovery.user-signup, telemetry.signal; ack on success, fail with "
    "exponential backoff -> DLQ after 5; 001 F/G Run worker once, verify worker effects"
)
SEEDS_REALTIME = (
    "003 Deployment checklist: realtime on notifications (supabase_realtime publication); DESIGN "
    "/realtime/v1/websocket: Supabase Realtime's postgres_changes under the subscriber's RLS"
)
SIGNAL_TOPIC = "telemetry.signal"
EVENT_PRIORITY = 1_000_000  # the check's events are leased before any backlog
SETTLE_S = 10.0  # how long a worker may take to lease and process the check's events
SUBSCRIBED_S = 10.0  # join -> "Subscribed to PostgreSQL"
CHANGE_S = 8.0  # a commit -> its postgres_changes frame


# -- edge functions ---------------------------------------------------------------------------------


# The platform's backend functions: the service role's only.
WORKER_FUNCTIONS = ("queue-worker", "rocker-discovery-run", "worker-process", "notifications-worker")


def _refused(answer: Answer) -> bool:
    return answer.status in (401, 403)


@check(
    "workers.functions_need_service_role",
    title="the worker functions (queue-worker, rocker-discovery-run, worker-process, notifications-worker) "
    "refuse a user's token and anon (401/403), and hydrate-features refuses anon",
    seeds=SEEDS_FUNCTIONS,
)
async def functions_need_service_role(t: Surface) -> None:
    user = await t.signup("fn-caller")
    callers: list[As] = [user, "anon"]
    seen = []
    for name in WORKER_FUNCTIONS:
        for caller in callers:
            answer = await t.request("POST", f"/functions/v1/{name}", as_=caller, json_body={"limit": 1})
            if not _refused(answer):
                seen.append(answer.describe())
    anon = await t.request("POST", "/functions/v1/hydrate-features", as_="anon", json_body={})
    if not _refused(anon):
        seen.append(anon.describe())
    expect(
        not seen,
        "calls of the platform's worker functions without the service role were not refused: "
        + "; ".join(seen)
        + ". Expected 401 or 403: only the service role runs the workers (a user or anon could drain "
        "and re-run the queues, fail and dead-letter other users' jobs, or drain the outbox), and "
        "hydrate-features needs a signed-in user",
    )


def _interest_ids(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("top_interests"), list):
        return []
    return [str(i.get("interest_id")) for i in body["top_interests"] if isinstance(i, dict)]


@check(
    "workers.hydrate_features_own_only",
    title="hydrate-features with a user's token hydrates that user (its top interests); naming another "
    "user's id is refused (403) or ignored, and shows nothing of that user's features",
    seeds=SEEDS_FUNCTIONS,
)
async def hydrate_features_own_only(t: Surface) -> None:
    owner, other = await t.signup("hydrate-owner"), await t.signup("hydrate-other")
    catalog = await t.rpc_ok("interest_catalog_browse", {"p_limit": 1}, as_=owner)
    if not catalog:
        fail("interest_catalog_browse answered no interests: cannot give the check's user an interest")
    interest = str(catalog[0]["id"])
    await t.rpc_ok("user_interests_upsert", {"p_interest_id": interest, "p_affinity": 0.9}, as_=owner)
    # Features are read from a replica: the new interest may take a moment to show (bounded).
    own: Answer | None = None
    for _ in range(10):
        own = await t.request("POST", "/functions/v1/hydrate-features", as_=owner, json_body={})
        if not own.ok or interest in _interest_ids(own.body):
            break
        await asyncio.sleep(0.3)
    assert own is not None
    expect(
        own.ok and isinstance(own.body, dict) and str(own.body.get("user_id")) == owner.id,
        f"{own.describe()}; expected 200 with the caller's features (user_id {owner.id})",
    )
    expect(
        interest in _interest_ids(own.body),
        f"hydrate-features as the user answered top_interests {_interest_ids(own.body)}; expected the interest "
        f"{interest} the user just added",
    )
    answer = await t.request("POST", "/functions/v1/hydrate-features", as_=other, json_body={"user_id": owner.id})
    # Refused (the reference answers 403), or the caller's own features (the id in the body ignored).
    own_instead = answer.ok and isinstance(answer.body, dict) and str(answer.body.get("user_id")) == other.id
    expect(
        (answer.status == 403 or own_instead) and interest not in answer.text and owner.id not in answer.text,
        f"another user's token naming the user ({answer.describe()}); expected 403 (or the caller's own "
        "features) and nothing of the user's features: a user hydrates (and reads) only its own features",
    )


# -- the queue worker -----------------------------------------------------------------------------


def _slug(t: Surface) -> str:
    return re.sub(r"[^a-z0-9]", "", t.run_id.lower())[:16]


QUEUE_WORKER = ("queue-worker", {"topic": SIGNAL_TOPIC, "limit": 5})
DISCOVERY_RUN = ("rocker-discovery-run", {"limit": 5})


# What a worker function's answer holds; the others answer {processed, errors}.
ANSWER_KEYS: dict[str, tuple[str, ...]] = {"worker-process": ("claimed", "completed", "failed", "dead_lettered")}


async def _run_worker(t: Surface, function: tuple[str, dict[str, Any]]) -> None:
    name, body = function
    keys = ANSWER_KEYS.get(name, ("processed", "errors"))
    answer = await t.request("POST", f"/functions/v1/{name}", as_="service", json_body=body)
    expect(
        answer.ok and isinstance(answer.body, dict) and all(key in answer.body for key in keys),
        f"{answer.describe()}; expected 200 with {{{', '.join(keys)}}} (001 F: Run worker once)",
    )


async def _settle(
    t: Surface,
    read: Callable[[], Awaitable[Any]],
    done: Callable[[Any], bool],
    function: tuple[str, dict[str, Any]] = QUEUE_WORKER,
    timeout_s: float = SETTLE_S,
) -> Any:
    """Run the worker function and read until `done(state)` or the timeout; the last state read."""
    deadline = time.monotonic() + timeout_s
    state = await read()
    while not done(state) and time.monotonic() < deadline:
        await _run_worker(t, function)
        state = await read()
        if not done(state):
            await asyncio.sleep(0.3)
            state = await read()
    return state


async def _enqueue_signal(conn: asyncpg.Connection, key: str, payload: dict[str, Any]) -> int:
    """A telemetry.signal event of the check's own (ahead of any backlog); its id."""
    event = await conn.fetchval(
        "insert into public.events_queue (topic, key, payload, priority) values ($1, $2, $3::jsonb, $4) returning id",
        SIGNAL_TOPIC,
        key,
        json.dumps(payload),
        EVENT_PRIORITY,
    )
    return int(event)


@check(
    "workers.queue_worker_acks_with_effect",
    title="the queue worker processes a telemetry.signal event: the event is acked (done, no failure) and its "
    "intent signal is written exactly once",
    seeds=SEEDS_QUEUE,
    needs=("dsn",),
)
async def queue_worker_acks_with_effect(t: Surface) -> None:
    user = await t.signup("signal")
    name = f"acc.{_slug(t)}.signal"
    key = f"acc-{t.run_id}-signal-{user.id}"
    payload = {"user_id": user.id, "name": name, "metadata": {"acceptance": t.run_id}}
    async with t.db() as conn:
        event = await _enqueue_signal(conn, key, payload)
        try:

            async def read() -> tuple[dict[str, Any], int]:
                row = await conn.fetchrow(
                    "select status, attempts, last_error from public.events_queue where id = $1", event
                )
                signals = await conn.fetchval(
                    "select count(*) from public.intent_signals where user_id = $1 and name = $2",
                    uuid.UUID(user.id),
                    name,
                )
                return dict(row or {}), int(signals)

            row, signals = await _settle(t, read, lambda s: s[0].get("status") in ("done", "error"))
            expect(
                row.get("status") == "done" and row.get("attempts") == 0 and signals == 1,
                f"telemetry.signal event {event} (payload {payload}) was left {row or 'deleted'} with {signals} "
                f"intent signal(s) {name!r} for its user after {SETTLE_S:.0f} s of queue-worker runs; expected the "
                "event done with no failure and exactly one intent signal (ack on success, with its effect)",
            )
        finally:
            await conn.execute("delete from public.events_queue where id = $1", event)
            await conn.execute(
                "delete from public.intent_signals where user_id = $1 and name = $2", uuid.UUID(user.id), name
            )


@check(
    "workers.queue_worker_failure_backs_off",
    title="an event the queue worker cannot process is not acked: it stays queued with its error and one "
    "failure counted, and is retried only after the queue policy's first backoff",
    seeds=SEEDS_QUEUE,
    needs=("dsn",),
)
async def queue_worker_failure_backs_off(t: Surface) -> None:
    key = f"acc-{t.run_id}-poison"
    payload = {"user_id": "not-a-user-id", "name": "acc.poison"}
    async with t.db() as conn:
        schedule = {
            int(r["failure"]): r["retry_in_s"]
            for r in await conn.fetch(
                "select failure, retry_in_s from public.queue_retry_schedule('public.events_queue'::regclass)"
            )
        }
        first = schedule.get(1)
        if first is None or int(first) < 5:
            fail(f"events_queue's retry schedule is {schedule}; this check needs a first backoff of at least 5 s")
        event = await _enqueue_signal(conn, key, payload)
        try:

            async def read() -> dict[str, Any]:
                row = await conn.fetchrow(
                    "select status, attempts, last_error, "
                    "extract(epoch from available_at - updated_at)::float8 as backoff_s "
                    "from public.events_queue where id = $1",
                    event,
                )
                return dict(row or {})

            # Settled: a failure counted, or acked/dead-lettered (a lease in flight is not settled).
            row = await _settle(
                t, read, lambda r: r.get("attempts", 0) > 0 or r.get("status") not in ("queued", "leased")
            )
            backoff = row.get("backoff_s")
            expect(
                row.get("status") == "queued"
                and row.get("attempts") == 1
                and bool(row.get("last_error"))
                and backoff is not None
                and abs(float(backoff) - int(first)) <= 1.0,
                f"telemetry.signal event {event} with a payload no worker can process ({payload}) was left "
                f"status {row.get('status')!r}, {row.get('attempts')} failure(s), error {row.get('last_error')!r}, "
                f"retry {backoff} s after its last failure; expected queued, 1 failure with its error, and the retry "
                f"{first} s later (the policy's first backoff): a failed item is neither acked nor retried at once",
            )
        finally:
            await conn.execute("delete from public.events_queue where id = $1", event)


# -- Realtime ---------------------------------------------------------------------------------------


def _ws_url(t: Surface) -> str:
    base = re.sub(r"^http", "ws", t.target.api_url.rstrip("/"))
    query = "vsn=1.0.0" + (f"&apikey={t.target.anon_key}" if t.target.anon_key else "")
    return f"{base}/realtime/v1/websocket?{query}"


Frame = dict[str, Any]


class _Socket:
    """One realtime connection: every frame it receives is kept, in order."""

    def __init__(self, ws: ClientConnection, label: str) -> None:
        self.ws = ws
        self.label = label
        self.frames: list[Frame] = []
        self._refs = itertools.count(1)
        self._join_refs: dict[str, str] = {}
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for text in self.ws:
                try:
                    frame = json.loads(text)
                except ValueError:
                    frame = {"unparsed": str(text)[:200]}
                if isinstance(frame, dict):
                    self.frames.append(frame)
                    self._arrived.set()

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader
        with contextlib.suppress(Exception):
            await self.ws.close()

    async def wait_for(self, match: Callable[[Frame], bool], timeout_s: float) -> Frame | None:
        """The first frame (already received or arriving within the timeout) that matches."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        while True:
            for frame in self.frames[seen:]:
                if match(frame):
                    return frame
            seen = len(self.frames)
            left = deadline - time.monotonic()
            if left <= 0 or self._reader.done():
                return None
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=left)

    async def send(self, topic: str, event: str, payload: dict[str, Any]) -> str:
        """Send one message; its ref."""
        ref = str(next(self._refs))
        if event == "phx_join":
            self._join_refs[topic] = ref
        join_ref = self._join_refs.get(topic)  # the channel's join (none on topic phoenix)
        message = {"topic": topic, "event": event, "payload": payload, "ref": ref, "join_ref": join_ref}
        await self.ws.send(json.dumps(message))
        return ref

    async def push(self, topic: str, event: str, payload: dict[str, Any]) -> Frame:
        """Send one message and wait for its reply."""
        ref = await self.send(topic, event, payload)
        reply = await self.wait_for(lambda f: f.get("event") == "phx_reply" and f.get("ref") == ref, CHANGE_S)
        if reply is None:
            fail(f"realtime ({self.label}): no reply to {event} on {topic} within {CHANGE_S:.0f} s")
        return reply

    async def join(self, topic: str, bindings: list[dict[str, Any]], token: str | None) -> list[int]:
        """Join `realtime:{topic}` with postgres_changes bindings; the binding ids of the join reply.

        Waits for "Subscribed to PostgreSQL" (changes committed before it are not heard).
        """
        full = f"realtime:{topic}"
        payload: dict[str, Any] = {
            "config": {
                "broadcast": {"ack": False, "self": False},
                "presence": {"key": ""},
                "postgres_changes": bindings,
                "private": False,
            }
        }
        if token:
            payload["access_token"] = token
        reply = await self.push(full, "phx_join", payload)
        body = reply.get("payload") or {}
        response = body.get("response") or {}
        if body.get("status") != "ok" or not isinstance(response.get("postgres_changes"), list):
            fail(f"realtime ({self.label}): joining {full} with {bindings} answered {body}; expected status ok")
        ids = [int(b["id"]) for b in response["postgres_changes"]]
        subscribed = await self.wait_for(
            lambda f: (
                f.get("topic") == full and f.get("event") == "system" and (f.get("payload") or {}).get("status") == "ok"
            ),
            SUBSCRIBED_S,
        )
        if subscribed is None:
            fail(f"realtime ({self.label}): no 'Subscribed to PostgreSQL' on {full} within {SUBSCRIBED_S:.0f} s")
        return ids

    def changes(self, topic: str) -> list[Frame]:
        full = f"realtime:{topic}"
        return [f for f in self.frames if f.get("topic") == full and f.get("event") == "postgres_changes"]


@contextlib.asynccontextmanager
async def _socket(t: Surface, label: str) -> AsyncIterator[_Socket]:
    try:
        ws = await connect(_ws_url(t), open_timeout=10, max_size=2**22)
    except (OSError, InvalidStatus, TimeoutError) as exc:
        fail(f"realtime: could not open {t.target.api_url}/realtime/v1/websocket ({type(exc).__name__}: {exc})")
    sock = _Socket(ws, label)
    try:
        yield sock
    finally:
        await sock.close()


def _data(frame: Frame) -> dict[str, Any]:
    data = (frame.get("payload") or {}).get("data")
    return data if isinstance(data, dict) else {}


def _record(frame: Frame) -> dict[str, Any]:
    data = _data(frame)
    record = data.get("record") or data.get("old_record") or {}
    return record if isinstance(record, dict) else {}


def _of(frames: list[Frame], kind: str, notification: int) -> Frame | None:
    for frame in frames:
        data = _data(frame)
        if data.get("type") == kind and str(_record(frame).get("id")) == str(notification):
            return frame
    return None


async def _notify_self(t: Surface, user: User, title: str) -> int:
    sent = await t.rpc_ok("notif_send", {"p_user_id": user.id, "p_channel": "snackbar", "p_title": title}, as_=user)
    if not isinstance(sent, dict) or not sent.get("sent") or sent.get("notification_id") is None:
        fail(f"notif_send to itself as user {user.email} answered {sent}; expected a sent notification")
    return int(sent["notification_id"])


async def _delete_notifications(t: Surface, ids: list[int]) -> None:
    if ids:
        await t.request("DELETE", f"/rest/v1/notifications?id=in.({','.join(map(str, ids))})", as_="service")


def _brief(frames: list[Frame]) -> list[str]:
    out = []
    for frame in frames:
        data = _data(frame)
        record = _record(frame)
        out.append(f"{data.get('type')} id={record.get('id')} user_id={record.get('user_id')}")
    return out


NOTIFICATIONS = {"event": "*", "schema": "public", "table": "notifications"}


@check(
    "workers.realtime_changes_follow_rls",
    title="a realtime subscriber to notifications receives the INSERT, UPDATE and DELETE of its own rows in "
    "Supabase's postgres_changes shape with its binding ids, and never another user's rows (nor anon any)",
    seeds=SEEDS_REALTIME,
)
async def realtime_changes_follow_rls(t: Surface) -> None:
    owner, other = await t.signup("rt-owner"), await t.signup("rt-other")
    tag = f"acc-{t.run_id}-rls-{uuid.uuid4().hex[:6]}"
    created: list[int] = []
    try:
        async with _socket(t, "other user and anon") as other_sock, _socket(t, "owner") as owner_sock:
            # anon subscribes first, then the owner, then the other user: whoever comes first in the
            # server's order of subscribers, each must get only what it may select.
            anon_topic, owner_topic, other_topic = f"{tag}-anon", f"{tag}-owner", f"{tag}-other"
            await other_sock.join(anon_topic, [NOTIFICATIONS], t.target.anon_key or None)
            owner_ids = await owner_sock.join(owner_topic, [NOTIFICATIONS], owner.token)
            await other_sock.join(other_topic, [NOTIFICATIONS], other.token)

            title = f"{tag}-mine"
            notification = await _notify_self(t, owner, title)
            created.append(notification)
            insert = await owner_sock.wait_for(
                lambda f: f.get("topic") == f"realtime:{owner_topic}" and _of([f], "INSERT", notification) is not None,
                CHANGE_S,
            )
            if insert is None:
                fail(
                    f"the owner's channel (all of notifications) got no INSERT of its notification {notification} "
                    f"within {CHANGE_S:.0f} s; it got {_brief(owner_sock.changes(owner_topic))}. Expected its own "
                    "new row (it may select it)"
                )
            data, ids = _data(insert), (insert.get("payload") or {}).get("ids")
            record = data.get("record") or {}
            columns = data.get("columns")
            expect(
                data.get("schema") == "public"
                and data.get("table") == "notifications"
                and record.get("user_id") == owner.id
                and record.get("title") == title
                and isinstance(columns, list)
                and {"name": "user_id", "type": "uuid"} in columns
                and isinstance(data.get("commit_timestamp"), str)
                and bool(data.get("commit_timestamp"))
                and "errors" in data
                and isinstance(ids, list)
                and bool(ids)
                and set(ids) <= set(owner_ids),
                f"the owner's INSERT frame was {json.dumps(insert)[:800]}; expected Supabase's postgres_changes "
                f"payload: data {{schema public, table notifications, type INSERT, commit_timestamp, columns "
                f"[{{name, type}}...], errors, record (the row: user_id {owner.id}, title {title!r})}} and ids from "
                f"the join reply {owner_ids}",
            )
            await t.rpc_ok("notif_mark_read", {"p_id": notification}, as_=owner)
            update = await owner_sock.wait_for(
                lambda f: (_of([f], "UPDATE", notification) is not None) and bool(_record(f).get("read_at")),
                CHANGE_S,
            )
            expect(
                update is not None,
                f"after notif_mark_read({notification}) the owner's channel got "
                f"{_brief(owner_sock.changes(owner_topic))}; expected an UPDATE of the row with read_at set "
                f"within {CHANGE_S:.0f} s",
            )
            deleted = await t.request("DELETE", f"/rest/v1/notifications?id=eq.{notification}", as_="service")
            expect(deleted.ok, f"{deleted.describe()}; expected the service role to delete the check's notification")
            delete = await owner_sock.wait_for(lambda f: _of([f], "DELETE", notification) is not None, CHANGE_S)
            expect(
                delete is not None,
                f"after the service role deleted notification {notification} the owner's channel got "
                f"{_brief(owner_sock.changes(owner_topic))}; expected a DELETE with old_record.id {notification}",
            )
            # The fence: the other user's own row, committed last.
            fence = await _notify_self(t, other, f"{tag}-fence")
            created.append(fence)
            got_fence = await other_sock.wait_for(lambda f: _of([f], "INSERT", fence) is not None, CHANGE_S)
            expect(
                got_fence is not None,
                f"the other user's channel got no INSERT of its own notification {fence} within {CHANGE_S:.0f} s "
                f"(it got {_brief(other_sock.changes(other_topic))}); expected its own new row",
            )
            # DELETEs are left out: Supabase sends a DELETE's keys to every subscriber of the table.
            leaked = [
                f
                for f in other_sock.changes(other_topic)
                if _data(f).get("type") in ("INSERT", "UPDATE") and _record(f).get("user_id") != other.id
            ]
            leaked += [f for f in other_sock.changes(anon_topic) if _data(f).get("type") in ("INSERT", "UPDATE")]
            expect(
                not leaked,
                f"the other user's channel and an anon channel on notifications received rows they may not select: "
                f"{[json.dumps(f)[:300] for f in leaked[:3]]}; expected none of the owner's rows (RLS: a "
                "notification is its user's only, anon selects none)",
            )
    finally:
        await _delete_notifications(t, created)


@check(
    "workers.realtime_filter_and_token_refresh",
    title="a realtime binding filtered on a column (title=eq.X) receives only the rows matching it, one filtered "
    "on the owner (user_id=eq.<me>) all of the user's, and after an access_token refresh the changes still "
    "carry the join reply's binding ids",
    seeds=SEEDS_REALTIME,
)
async def realtime_filter_and_token_refresh(t: Surface) -> None:
    user = await t.signup("rt-filter")
    tag = f"acc-{t.run_id}-filter-{uuid.uuid4().hex[:6]}"
    wanted, unwanted = f"{tag}-wanted", f"{tag}-other-title"
    created: list[int] = []
    try:
        async with _socket(t, "user") as sock:
            by_title, mine = f"{tag}-title", f"{tag}-mine"
            title_ids = await sock.join(by_title, [{**NOTIFICATIONS, "filter": f"title=eq.{wanted}"}], user.token)
            mine_ids = await sock.join(mine, [{**NOTIFICATIONS, "filter": f"user_id=eq.{user.id}"}], user.token)
            # What supabase-js sends on every channel when its session's token is refreshed (no reply is
            # awaited: Supabase answers none); a heartbeat's reply then says the server read it.
            await sock.send(f"realtime:{by_title}", "access_token", {"access_token": user.token})
            await sock.send(f"realtime:{mine}", "access_token", {"access_token": user.token})
            await sock.push("phoenix", "heartbeat", {})
            created.append(await _notify_self(t, user, unwanted))
            target = await _notify_self(t, user, wanted)
            created.append(target)
            # The fence: the owner-filtered channel got the wanted row, committed last.
            seen = await sock.wait_for(
                lambda f: f.get("topic") == f"realtime:{mine}" and _of([f], "INSERT", target) is not None,
                CHANGE_S,
            )
            got_mine = [f for f in sock.changes(mine) if _data(f).get("type") == "INSERT"]
            expect(
                seen is not None and [_record(f).get("title") for f in got_mine] == [unwanted, wanted],
                f"the channel filtered on user_id=eq.<the user> received INSERTs {_brief(got_mine)} within "
                f"{CHANGE_S:.0f} s; expected the user's two new notifications, {unwanted!r} then {wanted!r}",
            )
            got = [f for f in sock.changes(by_title) if _data(f).get("type") == "INSERT"]
            titles = [_record(f).get("title") for f in got]
            expect(
                titles == [wanted],
                f"the channel filtered on title=eq.{wanted} received INSERTs titled {titles}; expected exactly "
                f"{[wanted]} (the row matching the filter, not the other one)",
            )
            refused = [
                f
                for f in sock.frames
                if f.get("event") in ("phx_reply", "system", "phx_close")
                and (f.get("payload") or {}).get("status") == "error"
            ]
            expect(not refused, f"the realtime socket got error frames {refused[:3]}; expected none")
            for frames, ids, topic in ((got, title_ids, by_title), (got_mine, mine_ids, mine)):
                carried = sorted({i for f in frames for i in (f.get("payload") or {}).get("ids") or []})
                expect(
                    bool(carried) and set(carried) <= set(ids),
                    f"after an access_token refresh, channel {topic}'s changes carried binding ids {carried}; its "
                    f"join reply gave {ids}. Expected the join reply's ids (supabase-js drops a change whose ids "
                    "match none of its bindings)",
                )
    finally:
        await _delete_notifications(t, created)


@check(
    "workers.realtime_leave_and_rejoin",
    title="after phx_leave a realtime channel receives no more changes, and a channel joined again (the same "
    "topic, as supabase-js rejoins) receives each change once, with the new join's binding ids",
    seeds=SEEDS_REALTIME,
)
async def realtime_leave_and_rejoin(t: Surface) -> None:
    user = await t.signup("rt-leave")
    tag = f"acc-{t.run_id}-leave-{uuid.uuid4().hex[:6]}"
    mine = {**NOTIFICATIONS, "filter": f"user_id=eq.{user.id}"}
    created: list[int] = []
    try:
        async with _socket(t, "user") as sock:
            left, rejoined, fence = f"{tag}-left", f"{tag}-rejoined", f"{tag}-fence"
            await sock.join(left, [mine], user.token)
            await sock.join(rejoined, [mine], user.token)
            rejoin_ids = await sock.join(rejoined, [mine], user.token)
            await sock.join(fence, [mine], user.token)
            reply = await sock.push(f"realtime:{left}", "phx_leave", {})
            expect(
                (reply.get("payload") or {}).get("status") == "ok",
                f"phx_leave on a joined channel answered {reply}; expected status ok",
            )
            after_leave = len(sock.frames)
            target = await _notify_self(t, user, f"{tag}-change")
            created.append(target)
            seen = await sock.wait_for(
                lambda f: f.get("topic") == f"realtime:{fence}" and _of([f], "INSERT", target) is not None,
                CHANGE_S,
            )
            expect(
                seen is not None,
                f"channel {fence} (user_id=eq.<the user>) got no INSERT of the user's notification {target} within "
                f"{CHANGE_S:.0f} s ({_brief(sock.changes(fence))}); expected the user's own new row",
            )
            late = [
                f
                for f in sock.frames[after_leave:]
                if f.get("topic") == f"realtime:{left}" and f.get("event") == "postgres_changes"
            ]
            expect(
                not late,
                f"channel {left} received {_brief(late)} after its phx_leave was answered; expected nothing more "
                "(a client that removed a channel must stop receiving its changes)",
            )
            got = [f for f in sock.changes(rejoined) if _of([f], "INSERT", target) is not None]
            ids = [(f.get("payload") or {}).get("ids") for f in got]
            expect(
                len(got) == 1 and isinstance(ids[0], list) and bool(ids[0]) and set(ids[0]) <= set(rejoin_ids),
                f"channel {rejoined}, joined twice, received the INSERT of notification {target} {len(got)} time(s) "
                f"with binding ids {ids}; expected once, with the second join reply's ids {rejoin_ids} (a rejoin "
                "replaces the channel)",
            )
    finally:
        await _delete_notifications(t, created)


@check(
    "workers.discovery_run_processes_items",
    title="rocker-discovery-run processes a ready discovery item: the item is acked (done, no failure) and its "
    "category's gap is upserted into marketplace_gaps",
    seeds="000 Phase 4 rocker-discovery-run: processes discovery items, checks inventory -> gap_level, upserts "
    "marketplace_gaps; 001 cron every 5 minutes",
    needs=("dsn",),
)
async def discovery_run_processes_items(t: Surface) -> None:
    reason = f"acc-{t.run_id}-discovery-run"
    async with t.db() as conn:
        row = await conn.fetchrow(
            """
            insert into public.marketplace_discovery_queue (interest_id, category_id, reason, priority)
            select m.interest_id, m.category_id, $1, $2
              from public.marketplace_interest_map m order by random() limit 1
            returning id, category_id, now() as queued_at
            """,
            reason,
            EVENT_PRIORITY,
        )
        if row is None:
            fail("marketplace_interest_map is empty: cannot queue a discovery item")
        item, category, queued_at = int(row["id"]), row["category_id"], row["queued_at"]
        try:

            async def read() -> tuple[dict[str, Any], Any]:
                state = await conn.fetchrow(
                    "select status, attempts, last_error from public.marketplace_discovery_queue where id = $1", item
                )
                gap = await conn.fetchval(
                    "select updated_at from public.marketplace_gaps where category_id = $1", category
                )
                return dict(state or {}), gap

            state, gap = await _settle(
                t,
                read,
                lambda s: s[0].get("attempts", 0) > 0 or s[0].get("status") not in ("queued", "processing"),
                DISCOVERY_RUN,
            )
            expect(
                state.get("status") == "done" and state.get("attempts") == 0 and gap is not None and gap >= queued_at,
                f"discovery item {item} (category {category}) was left {state or 'deleted'} after {SETTLE_S:.0f} s of "
                f"rocker-discovery-run runs, and the category's marketplace_gaps row was last upserted at {gap} "
                f"(the item was queued at {queued_at}); expected the item done with no failure and the category's "
                "gap upserted since",
            )
        finally:
            await conn.execute("delete from public.marketplace_discovery_queue where id = $1", item)


# -- the job worker (worker-process) -------------------------------------------------------------

SEEDS_JOBS = (
    "003 Task 11 supabase/functions/worker-process: claims jobs, processes, retries, DLQ (worker_jobs: backoff "
    "60/120/240 s, 3 retries then 'dlq' with a dead_letter_queue row); Task 9 notifications-worker drains the "
    "outbox; DESIGN POST /functions/v1/{worker-process,notifications-worker}"
)
JOB_PRIORITY = 1_000_000  # the check's jobs are claimed before any backlog
WORKER_PROCESS = ("worker-process", {"limit": 5})
EARNINGS_JOBS = ("worker-process", {"kinds": ["earnings.recompute"], "limit": 5})


async def _enqueue_job(t: Surface, kind: str, payload: dict[str, Any]) -> int:
    rows = await t.rpc_ok(
        "worker_enqueue_job", {"p_kind": kind, "p_payload": payload, "p_priority": JOB_PRIORITY}, as_="service"
    )
    expect(
        isinstance(rows, list) and len(rows) == 1 and isinstance(rows[0], dict) and "id" in rows[0],
        f"worker_enqueue_job({kind}) returned {rows!r}; expected one row {{id, created}}",
    )
    return int(rows[0]["id"])


async def _job_state(conn: Any, job: int) -> dict[str, Any]:
    row = await conn.fetchrow(
        "select status, attempts, last_error, lease_token is not null as leased, "
        "extract(epoch from run_at - updated_at)::float8 as backoff_s from public.worker_jobs where id = $1",
        job,
    )
    return dict(row or {})


@check(
    "workers.worker_process_runs_jobs",
    title="worker-process completes a handled job (notifications.send) with its effect, once, and leaves a job of "
    "a kind it has no handler for pending and unclaimed",
    seeds=SEEDS_JOBS,
    needs=("dsn",),
)
async def worker_process_runs_jobs(t: Surface) -> None:
    user = await t.signup("jobs")
    title = f"acc {t.run_id} job"
    payload = {"user_id": user.id, "channel": "snackbar", "title": title, "kind": "acceptance"}
    job = await _enqueue_job(t, "notifications.send", payload)
    other_kind = f"acc.{_slug(t)}.unhandled"
    other = await _enqueue_job(t, other_kind, {"user_id": user.id})
    async with t.db() as conn:
        try:

            async def read() -> tuple[dict[str, Any], int]:
                sent = await conn.fetchval(
                    "select count(*) from public.notifications where user_id = $1 and title = $2",
                    uuid.UUID(user.id),
                    title,
                )
                return await _job_state(conn, job), int(sent)

            state, sent = await _settle(
                t,
                read,
                lambda s: s[0].get("attempts", 0) > 0 or s[0].get("status") not in ("pending", "running"),
                WORKER_PROCESS,
            )
            expect(
                state.get("status") == "completed" and state.get("attempts") == 0 and sent == 1,
                f"notifications.send job {job} (payload {payload}) was left {state or 'deleted'} with {sent} "
                f"notification(s) {title!r} for its user after {SETTLE_S:.0f} s of worker-process runs; expected the "
                "job completed with no failure and exactly one notification (its effect, with its completion)",
            )
            unhandled = await _job_state(conn, other)
            expect(
                unhandled.get("status") == "pending" and unhandled.get("attempts") == 0 and not unhandled.get("leased"),
                f"job {other} of kind {other_kind!r}, which no worker handles, was left {unhandled or 'deleted'} "
                "by the worker runs; expected it pending, unclaimed and never failed: a worker claims only the kinds "
                "it has a handler for (p_kinds), so other workers' jobs are not taken from them",
            )
        finally:
            await conn.execute("delete from public.worker_jobs where id = any($1::bigint[])", [job, other])
            await conn.execute(
                "delete from public.notifications where user_id = $1 and title = $2", uuid.UUID(user.id), title
            )


def _failures_counted(n: int) -> Callable[[dict[str, Any]], bool]:
    """Settled: the job's n-th failure counted, or the job left the pending and running states."""
    return lambda state: state.get("attempts", 0) >= n or state.get("status") not in ("pending", "running")


@check(
    "workers.worker_process_failure_backs_off",
    title="a job worker-process cannot run (its payload's user id is not a uuid) is failed with its error and retried "
    "only after the worker_jobs policy's backoff, each time; the failure after the last retry moves it to the DLQ",
    seeds=SEEDS_JOBS,
    needs=("dsn",),
)
async def worker_process_failure_backs_off(t: Surface) -> None:
    payload = {"user_id": f"not-a-user-{t.run_id}"}
    async with t.db() as conn:
        schedule = {
            int(r["failure"]): r["retry_in_s"]
            for r in await conn.fetch(
                "select failure, retry_in_s from public.queue_retry_schedule('public.worker_jobs'::regclass)"
            )
        }
        if not schedule or schedule.get(1) is None or int(schedule[1]) < 5:
            fail(f"worker_jobs' retry schedule is {schedule}; this check needs a first backoff of at least 5 s")
        job = await _enqueue_job(t, "earnings.recompute", payload)
        try:

            async def read() -> dict[str, Any]:
                return await _job_state(conn, job)

            for failure in sorted(schedule):
                wait = schedule[failure]
                state = await _settle(t, read, _failures_counted(failure), EARNINGS_JOBS)
                seen = (
                    f"earnings.recompute job {job} with a payload no worker can run ({payload}) was left status "
                    f"{state.get('status')!r}, {state.get('attempts')} failure(s), error {state.get('last_error')!r}"
                )
                if wait is not None:
                    backoff = state.get("backoff_s")
                    expect(
                        state.get("status") == "pending"
                        and state.get("attempts") == failure
                        and bool(state.get("last_error"))
                        and backoff is not None
                        and abs(float(backoff) - int(wait)) <= 1.0,
                        f"{seen}, retry {backoff} s after failure {failure}; expected pending, {failure} failure(s) "
                        f"with its error, and the retry {wait} s later (the policy's backoff): a failed job is neither "
                        "completed nor retried at once",
                    )
                    # The backoff passed.
                    await conn.execute(
                        "update public.worker_jobs set run_at = now() where id = $1 and status = 'pending'", job
                    )
                    continue
                letter = await conn.fetchrow(
                    "select kind, reason, attempts from public.dead_letter_queue where job_id = $1", job
                )
                expect(
                    state.get("status") == "dlq"
                    and state.get("attempts") == failure
                    and letter is not None
                    and bool(letter["reason"]),
                    f"{seen}, dead letter {dict(letter) if letter else None} after failure {failure}; expected it in "
                    f"the DLQ ('dlq', {failure} failures) with a dead_letter_queue row giving the reason "
                    f"({failure - 1} retries, then the DLQ)",
                )
        finally:
            await conn.execute("delete from public.dead_letter_queue where job_id = $1", job)
            await conn.execute("delete from public.worker_jobs where id = $1", job)
