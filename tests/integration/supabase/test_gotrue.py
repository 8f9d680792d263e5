"""GoTrue through the official client: sign-up/in, refresh rotation with reuse detection, logout
scopes, get/update user, settings and health, and GoTrue's error fields."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from supabase import Client, create_client
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError

from gauntlet.stack.state import StackState
from tests.integration.supabase.conftest import PASSWORD, SupaUser

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _refresh(http: httpx.Client, token: str) -> httpx.Response:
    return http.post("/auth/v1/token", params={"grant_type": "refresh_token"}, json={"refresh_token": token})


def test_sign_up_get_user_refresh_and_update(anon_client: Client) -> None:
    email = f"supa-signup-{uuid.uuid4().hex[:10]}@example.test"
    signed = anon_client.auth.sign_up({"email": email, "password": PASSWORD, "options": {"data": {"handle_hint": "x"}}})
    assert signed.user is not None and signed.user.email == email and signed.session is not None
    me = anon_client.auth.get_user()
    assert me is not None and me.user.id == signed.user.id
    refreshed = anon_client.auth.refresh_session()
    assert refreshed.session is not None and refreshed.session.refresh_token != signed.session.refresh_token
    updated = anon_client.auth.update_user({"data": {"theme": "dark"}})
    assert updated.user.user_metadata["theme"] == "dark"
    with pytest.raises(AuthWeakPasswordError) as weak:
        anon_client.auth.update_user({"password": "1"})
    assert weak.value.status == 422 and weak.value.reasons


def test_refresh_token_reuse_revokes_the_family(gauntlet_stack: StackState, make_user: Callable[[], SupaUser]) -> None:
    user = make_user()
    session = user.client.auth.get_session()
    assert session is not None
    first = session.refresh_token
    with httpx.Client(base_url=gauntlet_stack.api_url, headers={"apikey": gauntlet_stack.anon_key}) as http:
        rotated = _refresh(http, first)
        assert rotated.status_code == 200, rotated.text
        child = rotated.json()["refresh_token"]
        reused = _refresh(http, first)
        assert reused.status_code == 400 and reused.json()["error_code"] == "refresh_token_already_used"
        # The whole family is gone: the child no longer works either, nor the access token on /user.
        assert _refresh(http, child).status_code == 400
        access = rotated.json()["access_token"]
        me = http.get("/auth/v1/user", headers={"Authorization": f"Bearer {access}"})
        assert me.status_code == 403 and me.json()["error_code"] == "session_not_found"


def test_sign_out_scopes(gauntlet_stack: StackState, make_user: Callable[[], SupaUser]) -> None:
    user = make_user()
    other = create_client(gauntlet_stack.api_url, gauntlet_stack.anon_key)
    other.auth.sign_in_with_password({"email": user.email, "password": PASSWORD})
    mine = user.client.auth.get_session()
    theirs = other.auth.get_session()
    assert mine is not None and theirs is not None
    with httpx.Client(base_url=gauntlet_stack.api_url, headers={"apikey": gauntlet_stack.anon_key}) as http:
        # others: every session but the caller's
        user.client.auth.sign_out({"scope": "others"})
        assert _refresh(http, theirs.refresh_token).status_code == 400
        assert user.client.auth.get_user() is not None
        # local (then global): the caller's own refresh token is revoked
        user.client.auth.sign_out({"scope": "local"})
        refused = _refresh(http, mine.refresh_token)
        assert refused.status_code == 400 and refused.json()["error_code"] == "refresh_token_not_found"
        me = http.get("/auth/v1/user", headers={"Authorization": f"Bearer {mine.access_token}"})
        assert me.status_code == 403
        assert http.post("/auth/v1/logout", params={"scope": "everything"}).status_code == 401
        bad_scope = http.post(
            "/auth/v1/logout", params={"scope": "everything"}, headers={"Authorization": f"Bearer {mine.access_token}"}
        )
        assert bad_scope.status_code == 400


def test_settings_health_and_error_shape(gauntlet_stack: StackState, make_user: Callable[[], SupaUser]) -> None:
    session = make_user().client.auth.get_session()
    assert session is not None
    with httpx.Client(base_url=gauntlet_stack.api_url, headers={"apikey": gauntlet_stack.anon_key}) as http:
        settings = http.get("/auth/v1/settings")
        assert settings.status_code == 200 and settings.json()["external"]["email"] is True
        health = http.get("/auth/v1/health")
        assert health.status_code == 200 and health.json()["name"] == "GoTrue"
        wrong = http.post(
            "/auth/v1/token", params={"grant_type": "password"}, json={"email": "nobody@example.test", "password": "x"}
        )
        body = wrong.json()
        assert wrong.status_code == 400 and body["error_code"] == "invalid_credentials" and body["msg"]
        huge = http.put(
            "/auth/v1/user",
            json={"data": {"k": "x" * 70_000}},
            headers={"Authorization": f"Bearer {session.access_token}"},
        )
        assert huge.status_code == 413 and huge.json()["error_code"] == "payload_too_large"


def test_update_user_metadata_limit(make_user: Callable[[], SupaUser]) -> None:
    user = make_user()
    with pytest.raises(AuthApiError) as over:
        user.client.auth.update_user({"data": {"blob": "x" * 20_000}})
    assert over.value.status == 422
    changed = user.client.auth.update_user({"email": f"moved-{uuid.uuid4().hex[:8]}@example.test"})
    assert changed.user.email and changed.user.email.startswith("moved-")
