"""Supabase frontend: what the seeds' web client does through supabase-js, as table reads and a realtime channel.

Each signed-in user opens `/realtime/v1/websocket` (Phoenix protocol 1.0.0, the frames supabase's
client sends) and joins `postgres_changes` on its own notifications, then, like the pages: reads
its notifications (newest 20) and the unread badge (`count=exact`, HEAD), the feature flags, its
profile, its interests, its cart and its earnings through `/rest/v1/{table}` (PostgREST grammar,
RLS as the user), and heartbeats the socket as the client does every 25 s. The join and each
heartbeat round trip are measured as requests of type WS (`realtime:join`, `realtime:heartbeat`),
and every change the channel delivered on the way is checked to be the user's own.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import websocket  # websocket-client: blocking, cooperative under Locust's gevent
from locust import task

from gauntlet.load.profiles import surface as s
from gauntlet.load.profiles.base import RUNTIME, RockerUser

REST = "/rest/v1/"
REALTIME_PATH = "/realtime/v1/websocket"
WS_TIMEOUT_S = 10.0

# request names (the catalog lists them for the profile's SLOs)
NOTIFICATIONS = "rest:notifications"
UNREAD = "rest:notifications:unread_count"
FLAGS = "rest:feature_flags"
PROFILE = "rest:profiles"
INTERESTS = "rest:user_interests"
CART = "rest:shopping_cart_items"
EARNINGS = "rest:earnings_ledger"
WS_JOIN = "realtime:join"
WS_HEARTBEAT = "realtime:heartbeat"
REQUESTS = frozenset({NOTIFICATIONS, UNREAD, FLAGS, PROFILE, INTERESTS, CART, EARNINGS, WS_JOIN, WS_HEARTBEAT})


def _rows(body: Any) -> s.Problem:
    return None if isinstance(body, list) else f"expected a JSON array of rows, got {type(body).__name__}"


class SupabaseFrontendUser(RockerUser):
    weight = 1

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.ws: websocket.WebSocket | None = None
        self.ref = 0
        self.changes = 0

    def on_start(self) -> None:
        super().on_start()
        if self.token is not None:
            self._open_channel()

    def on_stop(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    # -- realtime --------------------------------------------------------------------------------

    def _fire(self, name: str, started: float, length: int, error: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000.0,
            response_length=length,
            exception=error,
            context={},
        )

    def _push(self, topic: str, event: str, payload: dict[str, Any]) -> str:
        assert self.ws is not None
        self.ref += 1
        ref = str(self.ref)
        self.ws.send(json.dumps({"topic": topic, "event": event, "payload": payload, "ref": ref, "join_ref": ref}))
        return ref

    def _await_reply(self, ref: str) -> dict[str, Any]:
        """Read frames until the reply to `ref`; changes on the way are counted and checked."""
        assert self.ws is not None
        deadline = time.monotonic() + WS_TIMEOUT_S
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("event") == "postgres_changes":
                data = message["payload"]["data"]
                owner = (data.get("record") or {}).get("user_id")
                if owner is not None and owner != self.user_id:
                    raise AssertionError(f"received another user's row: {owner}")
                self.changes += 1
            elif message.get("event") == "phx_reply" and message.get("ref") == ref:
                reply: dict[str, Any] = message["payload"]
                return reply
        raise TimeoutError(f"no reply to ref {ref} within {WS_TIMEOUT_S} s")

    def _open_channel(self) -> None:
        host = self.host or ""
        api_key = RUNTIME.config["api_key"] if RUNTIME.config else None
        url = host.replace("http://", "ws://").replace("https://", "wss://") + REALTIME_PATH + "?vsn=1.0.0"
        if api_key:
            url += f"&apikey={quote(api_key)}"
        started = time.perf_counter()
        try:
            self.ws = websocket.create_connection(url, timeout=WS_TIMEOUT_S)
            binding = {
                "event": "*",
                "schema": "public",
                "table": "notifications",
                "filter": f"user_id=eq.{self.user_id}",
            }
            ref = self._push(
                "realtime:notifications",
                "phx_join",
                {"config": {"postgres_changes": [binding]}, "access_token": self.token},
            )
            reply = self._await_reply(ref)
            if reply.get("status") != "ok":
                raise RuntimeError(f"join refused: {reply.get('response')}")
            self._fire(WS_JOIN, started, 0, None)
        except Exception as exc:
            self._fire(WS_JOIN, started, 0, exc)
            if self.ws is not None:
                self.ws.close()
            self.ws = None

    @task(2)
    def heartbeat(self) -> None:
        if self.ws is None:
            if self.signed_in():
                self._open_channel()
            return
        started = time.perf_counter()
        error: Exception | None
        try:
            reply = self._await_reply(self._push("phoenix", "heartbeat", {}))
            error = None if reply.get("status") == "ok" else RuntimeError(str(reply))
        except Exception as exc:
            error = exc
            self.ws.close()
            self.ws = None
        self._fire(WS_HEARTBEAT, started, 0, error)

    # -- table reads ------------------------------------------------------------------------------

    def _read(self, table: str, query: str, name: str) -> None:
        if self.signed_in():
            self.call("GET", f"{REST}{table}?{query}", name, validator=_rows)

    @task(4)
    def notifications(self) -> None:
        self._read(
            "notifications",
            "select=id,channel,kind,title,body,created_at,read_at&order=id.desc&limit=20",
            NOTIFICATIONS,
        )

    @task(4)
    def unread_badge(self) -> None:
        if not self.signed_in():
            return
        headers = {**self._headers(auth=True), "Prefer": "count=exact"}
        self._send("HEAD", f"{REST}notifications?select=id&read_at=is.null", UNREAD, None, None, headers, (200, 206))

    @task(2)
    def feature_flags(self) -> None:
        self._read("feature_flags", "select=key,value,rollout_pct", FLAGS)

    @task(1)
    def profile(self) -> None:
        self._read("profiles", f"select=*&user_id=eq.{self.user_id}", PROFILE)

    @task(1)
    def interests(self) -> None:
        self._read("user_interests", "select=interest_id,affinity,source", INTERESTS)

    @task(1)
    def cart(self) -> None:
        self._read("shopping_cart_items", "select=*", CART)

    @task(1)
    def earnings(self) -> None:
        self._read("earnings_ledger", "select=*", EARNINGS)
