"""One `/realtime/v1/websocket` connection: Phoenix channels (serializer 1.0.0) over a Starlette WebSocket.

Limits (docs/security.md): `MAX_CHANNELS` joined topics per connection, `MAX_CONNECTIONS_PER_USER`
connections per signed-in user (a socket belongs to the user of its first signed-in join; a token
of another user on it is refused), frames of at most 64 KiB and join payloads of 16 KiB
(realtime_protocol), a socket with no heartbeat for `HEARTBEAT_TIMEOUT_S` is closed, and one whose
outgoing queue reaches `SEND_QUEUE_MAX` frames (a client that does not read) is closed (1008).
Every refusal is a `phx_reply` with status error and a `reason`; nothing a client sends ends in a
500 or an unhandled exception. The reasons of the two caps start with Supabase's codes
(`ChannelRateLimitReached`, `ConnectionRateLimitReached`), so supabase clients back off.

A token whose GoTrue session has ended (logout, platform/auth/live_sessions.py) is refused like
a bad one: at the handshake as `apikey` (403), in a join or an `access_token` event (error reply
`session_not_found: ...`); a joined channel whose session ends gets `system` error and `phx_close`
before the next change reaches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gauntlet.platform.api import realtime_protocol as p
from gauntlet.platform.api.realtime_feed import CatalogUnavailable, ChangeFeed, Channel, PublishedTable
from gauntlet.platform.auth.live_sessions import LiveSessions
from gauntlet.platform.auth.tokens import ANON, Claims, InvalidToken, verify

log = logging.getLogger("gauntlet.platform.api.realtime")


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


MAX_CHANNELS = _env_int("GAUNTLET_REALTIME_CHANNELS_PER_CONNECTION", 100)
MAX_CONNECTIONS_PER_USER = _env_int("GAUNTLET_REALTIME_CONNECTIONS_PER_USER", 10)
SEND_QUEUE_MAX = 1000
HEARTBEAT_TIMEOUT_S = float(_env_int("GAUNTLET_REALTIME_HEARTBEAT_TIMEOUT_S", 60))
WATCH_EVERY_S = 1.0
SLOW_CONSUMER = 1008
SESSION_ENDED = "session_not_found: the token's session has ended (logout); sign in again"


class UserConnections:
    """Signed-in users' open sockets, for the per-user cap."""

    def __init__(self) -> None:
        self._by_user: dict[str, set[RealtimeConnection]] = {}

    def claim(self, user: str, conn: RealtimeConnection, limit: int) -> bool:
        mine = self._by_user.setdefault(user, set())
        if conn in mine:
            return True
        if len(mine) >= limit:
            return False
        mine.add(conn)
        return True

    def release(self, user: str, conn: RealtimeConnection) -> None:
        mine = self._by_user.get(user)
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self._by_user[user]

    def count(self, user: str) -> int:
        return len(self._by_user.get(user, ()))


class RealtimeConnection:
    def __init__(
        self,
        websocket: WebSocket,
        feed: ChangeFeed,
        users: UserConnections,
        secret: str,
        apikey: Claims,
        sessions: LiveSessions,
    ) -> None:
        self._ws = websocket
        self._feed = feed
        self._users = users
        self._secret = secret
        self._sessions = sessions
        self._apikey = apikey
        self._channels: dict[str, Channel] = {}
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=SEND_QUEUE_MAX)
        self._closing: tuple[int, str] | None = None
        self._wake_closer = asyncio.Event()
        self._user: str | None = None
        self._last_heartbeat = time.monotonic()
        self._expired: set[str] = set()

    # --- what the feed calls ---

    def send(self, text: str) -> None:
        if self._closing is not None:
            return
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.close(SLOW_CONSUMER, "slow consumer: too many unsent messages")

    def token_expired(self, topic: str) -> None:
        self._expired.add(topic)
        self._wake_closer.set()

    def close(self, code: int, reason: str) -> None:
        if self._closing is None:
            self._closing = (code, reason)
        self._wake_closer.set()

    # --- the connection's life ---

    async def run(self) -> None:
        reader = asyncio.create_task(self._read_loop(), name="realtime-read")
        writer = asyncio.create_task(self._write_loop(), name="realtime-write")
        watcher = asyncio.create_task(self._watch(), name="realtime-watch")
        try:
            await asyncio.wait({reader, writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, writer, watcher):
                task.cancel()
            for task in (reader, writer, watcher):
                with contextlib.suppress(BaseException):
                    await task
            for channel in list(self._channels.values()):
                self._feed.unsubscribe(channel)
            self._channels.clear()
            if self._user is not None:
                self._users.release(self._user, self)
            if self._ws.application_state == WebSocketState.CONNECTED:
                code, reason = self._closing or (1000, "")
                with contextlib.suppress(Exception):
                    await self._ws.close(code, reason)

    async def _write_loop(self) -> None:
        while True:
            text = await self._outbox.get()
            await self._ws.send_text(text)

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_closer.wait(), timeout=WATCH_EVERY_S)
            self._wake_closer.clear()
            if self._closing is not None:
                return
            if time.monotonic() - self._last_heartbeat > HEARTBEAT_TIMEOUT_S:
                self._closing = (1000, "heartbeat timeout")
                return
            now = time.time()
            for topic, channel in list(self._channels.items()):
                if self._sessions.known_ended(channel.claims.session_id):
                    self._drop_channel(topic, SESSION_ENDED)
                elif topic in self._expired or (channel.claims.exp is not None and channel.claims.exp <= now):
                    self._drop_channel(topic, "Token has expired")
            self._expired.clear()

    async def _read_loop(self) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self.send(
                    p.reply_error(
                        p.PHOENIX_TOPIC, None, "binary frames are not supported (serializer 1.0.0 is JSON text)"
                    )
                )
                continue
            try:
                await self._handle(text)
            except Exception:  # a bug must cost one reply, not the connection
                log.exception("realtime: message handling failed")
                self.send(p.reply_error(p.PHOENIX_TOPIC, None, "internal error"))

    # --- messages ---

    async def _handle(self, text: str) -> None:
        try:
            msg = p.parse_message(text)
        except p.ProtocolError as exc:
            self.send(p.reply_error(p.PHOENIX_TOPIC, None, str(exc)))
            return
        if msg.topic == p.PHOENIX_TOPIC:
            if msg.event == "heartbeat":
                self._last_heartbeat = time.monotonic()
                self.send(p.reply_ok(p.PHOENIX_TOPIC, msg.ref))
            else:
                self.send(p.reply_error(p.PHOENIX_TOPIC, msg.ref, f"unknown event {msg.event!r} on topic phoenix"))
            return
        if msg.event == "phx_join":
            await self._join(msg)
            return
        channel = self._channels.get(msg.topic)
        if channel is None:
            self.send(p.reply_error(msg.topic, msg.ref, "unmatched topic", msg.join_ref))
            return
        if msg.event == "phx_leave":
            self._feed.unsubscribe(channel)
            del self._channels[msg.topic]
            self.send(p.reply_ok(msg.topic, msg.ref, join_ref=msg.join_ref))
        elif msg.event == "access_token":
            await self._refresh_token(channel, msg)
        elif msg.ref is not None:
            self.send(
                p.reply_error(
                    msg.topic,
                    msg.ref,
                    f"{msg.event} is not supported by this server (postgres_changes only)",
                    msg.join_ref,
                )
            )

    async def _claims_of(self, token: object) -> Claims:
        if token is None:
            claims = self._apikey
        elif not isinstance(token, str) or not token or len(token) > 4096:
            raise p.ProtocolError("access_token must be a JWT string")
        else:
            try:
                claims = verify(self._secret, token)
            except InvalidToken as exc:
                raise p.ProtocolError(f"InvalidJWTToken: {exc}") from exc
        if not await self._sessions.alive(claims.session_id):
            raise p.ProtocolError(SESSION_ENDED)
        return claims

    def _bind_user(self, claims: Claims) -> None:
        if claims.sub is None:
            return
        if self._user is not None:
            if self._user != claims.sub:
                raise p.ProtocolError("this connection belongs to another user: open a new connection for this token")
            return
        if not self._users.claim(claims.sub, self, MAX_CONNECTIONS_PER_USER):
            raise p.ProtocolError(
                "ConnectionRateLimitReached: too many realtime connections for this user "
                f"(max {MAX_CONNECTIONS_PER_USER})"
            )
        self._user = claims.sub

    async def _join(self, msg: p.ClientMessage) -> None:
        topic, ref, join_ref = msg.topic, msg.ref, msg.join_ref
        try:
            if not topic.startswith(p.TOPIC_PREFIX):
                raise p.ProtocolError("unmatched topic")
            if len(json.dumps(msg.payload, separators=(",", ":"))) > p.MAX_JOIN_PAYLOAD_BYTES:
                raise p.ProtocolError(f"join payload is larger than {p.MAX_JOIN_PAYLOAD_BYTES} bytes")
            if topic not in self._channels and len(self._channels) >= MAX_CHANNELS:
                raise p.ProtocolError(
                    f"ChannelRateLimitReached: too many channels on this connection (max {MAX_CHANNELS})"
                )
            claims = await self._claims_of(msg.payload.get("access_token"))
            specs = p.parse_bindings(msg.payload)
            try:
                catalog = await self._feed.catalog() if specs else {}
            except CatalogUnavailable as exc:
                raise p.ProtocolError("Realtime is unavailable: the database cannot be reached") from exc
            for spec in specs:
                _check_binding(spec, catalog)
            self._bind_user(claims)
        except p.ProtocolError as exc:
            self.send(p.reply_error(topic, ref, str(exc), join_ref))
            return
        previous = self._channels.pop(topic, None)
        if previous is not None:
            self._feed.unsubscribe(previous)  # a rejoin replaces the channel
        channel = Channel(self, topic, claims, specs)
        self._channels[topic] = channel
        self._expired.discard(topic)
        self._feed.subscribe(channel)
        bindings = [spec.reply(i) for spec, i in zip(specs, channel.ids, strict=True)]
        self.send(p.reply_ok(topic, ref, {"postgres_changes": bindings}, join_ref))
        self._feed.announce(channel)  # now if the feed listens, else once it does

    async def _refresh_token(self, channel: Channel, msg: p.ClientMessage) -> None:
        try:
            claims = await self._claims_of(msg.payload.get("access_token"))
            self._bind_user(claims)
        except p.ProtocolError as exc:
            self.send(p.reply_error(msg.topic, msg.ref, str(exc), msg.join_ref))
            self._drop_channel(msg.topic, str(exc))
            return
        self._feed.unsubscribe(channel)
        renewed = Channel(
            self, channel.topic, claims, channel.specs, ids=list(channel.ids), announced=channel.announced
        )
        self._channels[channel.topic] = renewed
        self._feed.subscribe(renewed)
        self.send(p.reply_ok(msg.topic, msg.ref, join_ref=msg.join_ref))

    def _drop_channel(self, topic: str, reason: str) -> None:
        channel = self._channels.pop(topic, None)
        if channel is None:
            return
        self._feed.unsubscribe(channel)
        self.send(p.system(topic, "error", reason))
        self.send(p.encode(topic, "phx_close", {}))


def _check_binding(spec: p.BindingSpec, catalog: dict[tuple[str, str], PublishedTable]) -> None:
    filter_text = spec.filter.text if spec.filter else ""
    described = f"[event: {spec.event}, schema: {spec.schema}, table: {spec.table or '*'}, filter: {filter_text}]"
    if spec.table is None:
        tables = [t for (schema, _), t in catalog.items() if schema == spec.schema]
    else:
        found = catalog.get((spec.schema, spec.table))
        tables = [found] if found is not None else []
    if not tables:
        raise p.ProtocolError(
            f"Unable to subscribe to changes with given parameters: the table is not published for realtime {described}"
        )
    if spec.table is not None:
        columns = tables[0].column_names
        unknown = sorted((spec.filter.columns if spec.filter else frozenset()) - columns)
        unknown += sorted(set(spec.select or ()) - columns)
        if unknown:
            raise p.ProtocolError(f"Unable to subscribe to changes: unknown column(s) {', '.join(unknown)} {described}")


async def serve(
    websocket: WebSocket, feed: ChangeFeed, users: UserConnections, secret: str, sessions: LiveSessions
) -> None:
    """Handshake checks, then the connection until either side ends it."""
    params = websocket.query_params
    vsn = params.get("vsn", p.VSN)
    apikey_text = params.get("apikey")
    apikey: Claims = ANON
    refused: str | None = None
    if vsn != p.VSN:
        refused = f"unsupported protocol version {vsn[:20]!r}: this server speaks vsn={p.VSN}"
    elif apikey_text is not None:
        try:
            apikey = verify(secret, apikey_text[:4096])
        except InvalidToken as exc:
            refused = f"invalid apikey: {exc}"
        else:
            if not await sessions.alive(apikey.session_id):
                refused = f"invalid apikey: {SESSION_ENDED}"
    if refused is not None:
        # Refused before the upgrade: the client sees HTTP 403 (Supabase answers a bad apikey so too).
        log.info("realtime: handshake refused", extra={"reason": refused})
        await websocket.close(1008, refused[:120])
        return
    await websocket.accept()
    connection = RealtimeConnection(websocket, feed, users, secret, apikey, sessions)
    with contextlib.suppress(WebSocketDisconnect):
        await connection.run()
