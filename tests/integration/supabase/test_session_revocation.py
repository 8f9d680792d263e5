"""Logout bites on access tokens: after `auth.sign_out()` the old access token is refused (401
session_not_found, GoTrue's fields) by PostgREST tables, RPCs, functions and Realtime, not only by
`/auth/v1/user`; scope `others` spares the caller's own token, and so does a password change."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets
from postgrest.exceptions import APIError
from supabase import Client, create_client
from supabase_auth.types import Session

from gauntlet.stack.state import StackState
from tests.integration.supabase.conftest import PASSWORD, SupaUser

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _access_token(user: SupaUser) -> str:
    session = user.client.auth.get_session()
    assert session is not None
    return session.access_token


def _refresh(http: httpx.Client, token: str) -> httpx.Response:
    return http.post("/auth/v1/token", params={"grant_type": "refresh_token"}, json={"refresh_token": token})


def _second_session(stack: StackState, user: SupaUser) -> tuple[Client, Session]:
    """The user signed in again from another client (another device): that client and its session."""
    other = create_client(stack.api_url, stack.anon_key)
    other.auth.sign_in_with_password({"email": user.email, "password": PASSWORD})
    session = other.auth.get_session()
    assert session is not None
    return other, session


def _calls(http: httpx.Client, token: str) -> dict[str, httpx.Response]:
    """One call of each kind a frontend makes with an access token."""
    auth = {"Authorization": f"Bearer {token}"}
    return {
        "table": http.get("/rest/v1/notifications", params={"select": "id"}, headers=auth),
        "rpc": http.post("/rest/v1/rpc/notif_unread_count", json={}, headers=auth),
        "function": http.post("/functions/v1/hydrate-features", json={}, headers=auth),
    }


def _assert_refused(responses: dict[str, httpx.Response]) -> None:
    for kind, response in responses.items():
        assert response.status_code == 401, (kind, response.status_code, response.text)
        body = response.json()
        assert body["error_code"] == "session_not_found" and body["code"] == "session_not_found", (kind, body)
        assert body["msg"] and body["message"], (kind, body)


async def _join(stack: StackState, token: str) -> dict[str, Any]:
    url = stack.api_url.replace("http://", "ws://") + f"/realtime/v1/websocket?vsn=1.0.0&apikey={stack.anon_key}"
    config = {"postgres_changes": [{"event": "*", "schema": "public", "table": "notifications"}]}
    async with websockets.connect(url) as ws:
        join = {"config": config, "access_token": token}
        await ws.send(json.dumps({"topic": "realtime:bell", "event": "phx_join", "payload": join, "ref": "1"}))
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if message["event"] == "phx_reply":
                return message


def test_after_sign_out_the_old_access_token_is_refused_everywhere(
    gauntlet_stack: StackState, make_user: Callable[[], SupaUser]
) -> None:
    user = make_user()
    token = _access_token(user)
    with httpx.Client(base_url=gauntlet_stack.api_url, headers={"apikey": gauntlet_stack.anon_key}) as http:
        before = _calls(http, token)
        assert {k: r.status_code for k, r in before.items()} == {"table": 200, "rpc": 200, "function": 200}
        assert asyncio.run(_join(gauntlet_stack, token))["payload"]["status"] == "ok"

        user.client.auth.sign_out()  # the official client: POST /auth/v1/logout (scope global)

        _assert_refused(_calls(http, token))
        refused = asyncio.run(_join(gauntlet_stack, token))["payload"]
        assert refused["status"] == "error" and refused["response"]["reason"].startswith("session_not_found")
        assert http.get("/auth/v1/user", headers={"Authorization": f"Bearer {token}"}).status_code == 403
        # Through the official client too: a client still holding the old token gets PostgREST's error.
        stale = create_client(gauntlet_stack.api_url, gauntlet_stack.anon_key)
        stale.postgrest.auth(token)
        with pytest.raises(APIError) as error:
            stale.table("notifications").select("id").execute()
        assert error.value.code == "session_not_found"
        # Anon (the apikey alone) is not affected.
        assert http.get("/rest/v1/interest_catalog", params={"select": "id", "limit": "1"}).status_code == 200


def test_scope_others_refuses_the_other_sessions_tokens_only(
    gauntlet_stack: StackState, make_user: Callable[[], SupaUser]
) -> None:
    user = make_user()
    _, theirs = _second_session(gauntlet_stack, user)
    mine = _access_token(user)
    with httpx.Client(base_url=gauntlet_stack.api_url, headers={"apikey": gauntlet_stack.anon_key}) as http:
        user.client.auth.sign_out({"scope": "others"})
        _assert_refused(_calls(http, theirs.access_token))
        kept = _calls(http, mine)
        assert {k: r.status_code for k, r in kept.items()} == {"table": 200, "rpc": 200, "function": 200}


def test_a_password_change_ends_the_other_sessions_and_keeps_the_callers(
    gauntlet_stack: StackState, make_user: Callable[[], SupaUser]
) -> None:
    """As GoTrue since v2.79 (User.UpdatePassword -> LogoutAllExceptMe): a stolen session dies with the old password."""
    user = make_user()
    other, theirs = _second_session(gauntlet_stack, user)
    with httpx.Client(base_url=gauntlet_stack.api_url, headers={"apikey": gauntlet_stack.anon_key}) as http:
        user.client.auth.update_user({"data": {"theme": "dark"}})  # no new password: nothing ends
        assert other.auth.get_user() is not None
        user.client.auth.update_user({"password": PASSWORD + "-new"})
        _assert_refused(_calls(http, theirs.access_token))
        me = http.get("/auth/v1/user", headers={"Authorization": f"Bearer {theirs.access_token}"})
        assert me.status_code == 403 and me.json()["error_code"] == "session_not_found"
        refused = _refresh(http, theirs.refresh_token)
        assert refused.status_code == 400 and refused.json()["error_code"] == "refresh_token_not_found"
        kept = _calls(http, _access_token(user))
        assert {k: r.status_code for k, r in kept.items()} == {"table": 200, "rpc": 200, "function": 200}
    mine = user.client.auth.get_user()
    assert mine is not None and mine.user.id == user.id
    assert user.client.auth.refresh_session().session is not None


def test_a_reused_refresh_token_ends_the_session_for_its_access_tokens(
    gauntlet_stack: StackState, make_user: Callable[[], SupaUser]
) -> None:
    user = make_user()
    session = user.client.auth.get_session()
    assert session is not None
    with httpx.Client(base_url=gauntlet_stack.api_url, headers={"apikey": gauntlet_stack.anon_key}) as http:
        rotated = _refresh(http, session.refresh_token)
        assert rotated.status_code == 200, rotated.text
        assert _refresh(http, session.refresh_token).status_code == 400  # reused: the family is revoked
        _assert_refused(_calls(http, rotated.json()["access_token"]))


def test_a_joined_channel_is_closed_when_its_session_ends(
    gauntlet_stack: StackState, make_user: Callable[[], SupaUser]
) -> None:
    user = make_user()
    token = _access_token(user)
    url = gauntlet_stack.api_url.replace("http://", "ws://") + "/realtime/v1/websocket?vsn=1.0.0"
    config = {"postgres_changes": [{"event": "*", "schema": "public", "table": "notifications"}]}

    async def run() -> list[dict[str, Any]]:
        async with websockets.connect(url) as ws:
            join = {"config": config, "access_token": token}
            await ws.send(json.dumps({"topic": "realtime:bell", "event": "phx_join", "payload": join, "ref": "1"}))
            after: list[dict[str, Any]] = []
            while True:
                message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if message["event"] == "phx_reply":
                    assert message["payload"]["status"] == "ok", message
                    await asyncio.to_thread(user.client.auth.sign_out)
                    after = []
                    continue
                after.append(message)
                if message["event"] == "phx_close":
                    return after

    messages = asyncio.run(run())
    errors = [m for m in messages if m["event"] == "system" and m["payload"]["status"] == "error"]
    assert errors and errors[-1]["payload"]["message"].startswith("session_not_found"), messages
