"""`GET /realtime/v1/notifications?access_token=JWT`: the signed-in user's unread count, live (server-sent events),
and `/realtime/v1/websocket`: Supabase Realtime's Phoenix-channel protocol (postgres_changes), served by
realtime_socket / realtime_feed (see there).

The bell badge of every page listens here. The stream sends `event: unread`
with `{"unread": n}` on connect and again whenever the count changes.
Changes are pushed, not polled: the notification RPCs (migration 220) run
`pg_notify('notifications', '{"user_id": ..., "event": ...}')` whenever a
user's notifications are created or read, and one LISTEN connection per API
process (through the pg_primary proxy, like every other connection) wakes
that user's streams, which then re-read the count as the user (RLS applies). When the LISTEN connection is
down (a drill cut the proxy) the streams poll every second instead, and even
while it is up they re-read every few seconds, so a lost NOTIFY costs seconds,
never a stale badge.

EventSource cannot send headers, hence the token in the query string (as
Supabase Realtime does); the stream ends when the token expires, and the
browser reconnects with a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI, Query, Request, WebSocket
from fastapi.responses import StreamingResponse

from gauntlet.platform.api import realtime_socket
from gauntlet.platform.api.deps import StateDep
from gauntlet.platform.api.errors import ApiError
from gauntlet.platform.api.realtime_feed import ChangeFeed
from gauntlet.platform.api.state import PlatformState
from gauntlet.platform.auth.tokens import Claims, InvalidToken, verify
from gauntlet.platform.db import UNAVAILABLE
from gauntlet.platform.queries import sql
from gauntlet.platform.web.routes import faults

log = logging.getLogger("gauntlet.platform.api.realtime")

router = APIRouter(prefix="/realtime/v1", tags=["realtime"])

CHANNEL = "notifications"  # what the notification RPCs of 220 pg_notify on
RETRY_MS = 1000  # how soon the browser reconnects after the stream ends
KEEPALIVE_S = 15.0  # a comment line now and then keeps proxies from closing an idle stream
RECHECK_S = 5.0  # re-read the count this often even when no NOTIFY came (a lost one costs this much)
POLL_S = 1.0  # while the LISTEN connection is down
RECONNECT_S = 1.0
MAX_STREAM_S = 300.0


@dataclass(eq=False)
class Subscription:
    """One open stream: woken to re-read the count, or told to end to make room for a newer one."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    evicted: bool = False


class NotificationHub:
    """One LISTEN connection per process, fanned out to the streams of each user.

    A user holds at most `per_user` streams at once: a new one ends the oldest (a closed tab's
    stream lingers until its next write; the newest page must win, not wait), so one account
    cannot make the process re-read the database for dozens of streams.
    """

    def __init__(self, dsn: str, connect_timeout_s: float, per_user: int = 5) -> None:
        self._dsn = dsn
        self._connect_timeout_s = connect_timeout_s
        self._per_user = max(1, per_user)
        self._subscribers: dict[str, list[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self.listening = False
        self.closing = asyncio.Event()
        self.evictions = 0

    def streams(self, user_id: str) -> int:
        return len(self._subscribers.get(user_id, ()))

    @contextlib.asynccontextmanager
    async def subscribe(self, user_id: str) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        mine = self._subscribers.setdefault(user_id, [])
        while len(mine) >= self._per_user:
            oldest = mine.pop(0)
            oldest.evicted = True
            oldest.wake.set()
            self.evictions += 1
        mine.append(subscription)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen_while_subscribed(), name="realtime-listen")
        try:
            yield subscription
        finally:
            waiters = self._subscribers.get(user_id, [])
            if subscription in waiters:
                waiters.remove(subscription)
            if not waiters:
                self._subscribers.pop(user_id, None)

    def _notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            user_id = str(json.loads(payload)["user_id"])
        except (ValueError, KeyError, TypeError):
            return  # not one of ours: nobody to wake
        for subscription in self._subscribers.get(user_id, ()):
            subscription.wake.set()

    def close_streams(self) -> None:
        """Make every stream end now (the server is stopping)."""
        self.closing.set()
        for waiters in self._subscribers.values():
            for subscription in waiters:
                subscription.wake.set()

    async def _listen_while_subscribed(self) -> None:
        # Runs while anyone listens; the connection is closed when the last stream ends.
        down = False  # log an outage once, not on every reconnect attempt
        while self._subscribers and not self.closing.is_set():
            try:
                await self._listen_once()
                down = False
            except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
                if not down:
                    log.warning(
                        "notifications listener down; streams poll",
                        extra={"action": "realtime_listen", "error": repr(exc)},
                    )
                down = True
            if self._subscribers and not self.closing.is_set():
                await asyncio.sleep(RECONNECT_S)

    async def _listen_once(self) -> None:
        """One LISTEN connection, held until it is lost, nobody listens any more, or the server stops."""
        conn = await asyncpg.connect(self._dsn, timeout=self._connect_timeout_s)
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, self._notify)
            self.listening = True
            # A NOTIFY sent while we were not listening is gone: wake every stream to re-read.
            for waiters in self._subscribers.values():
                for subscription in waiters:
                    subscription.wake.set()
            while self._subscribers and not lost.is_set() and not self.closing.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), timeout=1.0)
        finally:
            self.listening = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=1.0)


def hub(app: FastAPI, state: PlatformState) -> NotificationHub:
    found: NotificationHub | None = getattr(app.state, "notification_hub", None)
    if found is None:
        settings = state.settings
        found = NotificationHub(settings.primary_dsn, settings.connect_timeout_s, settings.realtime_streams_per_user)
        app.state.notification_hub = found
        _end_streams_on_shutdown(found)
    return found


def _end_streams_on_shutdown(target: NotificationHub) -> None:
    """End the event streams when the server is asked to stop.

    uvicorn waits for open responses before it shuts down, and an event stream never ends by
    itself: without this, stopping the API would wait for the supervisor's SIGKILL. We chain
    the handler uvicorn installed (only when there is one to chain, in the main thread).
    """
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            signal.signal(sig, _chained(loop, target, previous))


def _chained(loop: asyncio.AbstractEventLoop, target: NotificationHub, previous: Callable[..., Any]) -> Any:
    def handler(signum: int, frame: Any) -> None:
        with contextlib.suppress(RuntimeError):  # that loop is gone (an in-process test app): nothing to end
            loop.call_soon_threadsafe(target.close_streams)
        previous(signum, frame)

    return handler


async def unread_count(state: PlatformState, claims: Claims) -> int:
    """The caller's unread notifications, read on the primary as the caller (RLS applies)."""
    async with state.db.primary() as conn, conn.transaction(readonly=True):
        await conn.fetchrow(sql("rpc", "set_request_context"), claims.role, json.dumps(claims.as_jwt_claims()))
        return int(await conn.fetchval(sql("realtime", "unread_count")) or 0)


def _claims(secret: str, token: str) -> Claims:
    try:
        claims = verify(secret, token)
    except InvalidToken as exc:
        raise ApiError(401, "invalid_jwt", str(exc)) from exc
    if claims.role != "authenticated" or claims.sub is None:
        raise ApiError(401, "not_signed_in", "The notifications stream needs a signed-in user's access token")
    return claims


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


@router.get("/notifications")
async def notifications_stream(
    request: Request, state: StateDep, access_token: str = Query(min_length=1, max_length=4096)
) -> StreamingResponse:
    claims = _claims(state.settings.jwt_secret, access_token)
    assert claims.sub is not None
    user_id = claims.sub
    first = await unread_count(state, claims)  # fail here (a 4xx/503 the browser sees), not mid-stream
    frozen = faults(state.settings)["no_live_badge"]
    notifications = hub(request.app, state)
    ends_at = time.monotonic() + min(MAX_STREAM_S, max(1.0, (claims.exp or 0) - time.time()))

    async def stream() -> AsyncIterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        yield _event("unread", {"unread": first})
        last, last_sent = first, time.monotonic()
        async with notifications.subscribe(user_id) as subscription:
            wake = subscription.wake
            while time.monotonic() < ends_at and not notifications.closing.is_set():
                wait_s = RECHECK_S if notifications.listening else POLL_S
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=min(wait_s, max(0.0, ends_at - time.monotonic())))
                wake.clear()
                if subscription.evicted:
                    # A newer stream of this user took the place: say so (the page waits before it
                    # reconnects) and end.
                    yield _event("evicted", {"max_streams": state.settings.realtime_streams_per_user})
                    return
                if frozen:
                    pass  # fault switch: the badge never hears of a change (journeys must notice)
                else:
                    try:
                        count = await unread_count(state, claims)
                    except UNAVAILABLE:
                        count = last  # the database is away: keep the badge, try again next round
                    if count != last:
                        last, last_sent = count, time.monotonic()
                        yield _event("unread", {"unread": count})
                        continue
                if time.monotonic() - last_sent >= KEEPALIVE_S:
                    last_sent = time.monotonic()
                    yield ": keepalive\n\n"

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


def change_feed(app: FastAPI, state: PlatformState) -> tuple[ChangeFeed, realtime_socket.UserConnections]:
    """The process's one change feed (and its per-user connection counts), made on first use."""
    found: tuple[ChangeFeed, realtime_socket.UserConnections] | None = getattr(app.state, "realtime_feed", None)
    if found is None:
        settings = state.settings
        found = (
            ChangeFeed(state.db, settings.primary_dsn, settings.connect_timeout_s),
            realtime_socket.UserConnections(),
        )
        app.state.realtime_feed = found
    return found


@router.websocket("/websocket")
async def realtime_websocket(websocket: WebSocket) -> None:
    state: PlatformState = websocket.app.state.platform
    feed, users = change_feed(websocket.app, state)
    await realtime_socket.serve(websocket, feed, users, state.settings.jwt_secret)
