"""Auth through the GoTrue-compatible surface: sign-up, password grant, refresh, sign-out, tokens and sessions.

Seeds 000 (auth and reserved handles) and DESIGN (a GoTrue-compatible subset issuing JWTs).

Every rule here is one a supabase-js client relies on and that GoTrue and PostgREST keep on a
real deployment too: a token that does not verify is refused (401), sign-out ends the sessions
(GoTrue's /user answers 403 session_not_found, their refresh tokens are not found), a rotated
refresh token cannot mint a second child, the admin API is the service role's, an e-mail address
is one account whatever its case, a changed password replaces the old one, a short one is refused.
Each check signs up its own users and judges only their sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from gauntlet.acceptance.registry import check, expect, fail
from gauntlet.acceptance.surface import Answer, Surface, User

SEEDS = "000 Auth (GoTrue-compatible sign-up, password and refresh grants, sessions); DESIGN platform surface"
SIGNED_OUT = (401, 403)  # GoTrue's /user answers 403 session_not_found; 401 is as good a refusal


@dataclass(frozen=True)
class Session:
    """A signed-in user with the session's refresh token (Surface.signup keeps only the access token)."""

    user: User
    refresh_token: str


def _session(answer: Answer, email: str, password: str) -> Session:
    body = answer.body
    expect(
        answer.ok
        and isinstance(body, dict)
        and isinstance(body.get("access_token"), str)
        and isinstance(body.get("refresh_token"), str)
        and isinstance(body.get("user"), dict),
        f"{_said(answer)}; expected 200 with a GoTrue session (access_token, refresh_token, user)",
    )
    user = User(id=str(body["user"]["id"]), email=email, token=str(body["access_token"]), password=password)
    return Session(user, str(body["refresh_token"]))


async def _signup_answer(t: Surface, email: str, password: str) -> Answer:
    return await t.request(
        "POST",
        "/auth/v1/signup",
        as_="anon",
        json_body={"email": email, "password": password, "data": {"acceptance": t.run_id}},
        label=f"sign-up of {email}",
    )


async def _signup(t: Surface, tag: str) -> Session:
    email, password = t.new_email(tag).lower(), secrets.token_urlsafe(18)
    return _session(await _signup_answer(t, email, password), email, password)


async def _login(t: Surface, email: str, password: str, what: str) -> Answer:
    return await t.request(
        "POST",
        "/auth/v1/token?grant_type=password",
        as_="anon",
        json_body={"email": email, "password": password},
        label=f"password sign-in of {email} with {what}",
    )


async def _refresh(t: Surface, refresh_token: str, what: str) -> Answer:
    return await t.request(
        "POST",
        "/auth/v1/token?grant_type=refresh_token",
        as_="anon",
        json_body={"refresh_token": refresh_token},
        label=f"refresh_token grant with {what}",
    )


async def _me(t: Surface, token: str, what: str) -> Answer:
    return await t.request(
        "GET",
        "/auth/v1/user",
        as_="anon",
        headers={"Authorization": f"Bearer {token}"},
        label=f"GET /auth/v1/user {what}",
    )


def _user_id(answer: Answer) -> str | None:
    body = answer.body
    if not isinstance(body, dict):
        return None
    user = body.get("user", body)  # a session carries `user`; GET /user is the user itself
    return str(user["id"]) if isinstance(user, dict) and "id" in user else None


def _said(answer: Answer) -> str:
    """What an answer said, with a session's tokens left out (they would fill the message and the report)."""
    body = answer.body
    if isinstance(body, dict) and "access_token" in body:
        return f"{answer.call} answered {answer.status} with a session of user {_user_id(answer)}"
    return answer.describe()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _forgeries(token: str) -> dict[str, str]:
    """Tokens carrying the user's own claims that the platform did not sign, by what was done to them."""
    header, payload, signature = token.split(".")
    signing_input = f"{header}.{payload}"
    other_secret = hmac.new(secrets.token_bytes(32), signing_input.encode(), hashlib.sha256).digest()
    claims: dict[str, Any] = json.loads(_unb64(payload))
    claims["exp"] = int(claims.get("exp", 0)) + 3600
    longer = _b64(json.dumps(claims, separators=(",", ":")).encode())
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}, separators=(",", ":")).encode())
    return {
        "signed with another secret": f"{signing_input}.{_b64(other_secret)}",
        "with alg none and no signature": f"{none_header}.{payload}.",
        "with its exp moved an hour on under the original signature": f"{header}.{longer}.{signature}",
    }


@check(
    "auth.forged_tokens_refused",
    title="a JWT the platform did not sign (another secret, alg none, a payload changed under the original "
    "signature) is refused with 401 by /auth/v1/user and by an RPC, never served as its user or as anon",
    seeds=SEEDS,
)
async def forged_tokens_refused(t: Surface) -> None:
    session = await _signup(t, "forged")
    genuine = await _me(t, session.user.token, "with the user's own access token")
    expect(
        genuine.ok and _user_id(genuine) == session.user.id,
        f"{_said(genuine)}; expected 200 with user {session.user.id}",
    )
    for what, forged in _forgeries(session.user.token).items():
        me = await _me(t, forged, f"with the user's access token {what}")
        expect(
            me.status == 401,
            f"{_said(me)}; expected 401: a token whose signature does not verify must not sign anyone in",
        )
        rpc = await t.request(
            "POST",
            "/rest/v1/rpc/interest_catalog_browse",
            as_="anon",
            json_body={"p_limit": 1},
            headers={"Authorization": f"Bearer {forged}"},
            label=f"rpc interest_catalog_browse with the user's access token {what}",
        )
        expect(
            rpc.status == 401,
            f"{_said(rpc)}; expected 401 (PostgREST refuses an invalid JWT; it is not served as anon or as "
            "the user it names)",
        )


@check(
    "auth.logout_ends_sessions",
    title="POST /auth/v1/logout (no scope: global) ends every session of the user at once: their access tokens are "
    "refused by /auth/v1/user and their refresh tokens are not found",
    seeds=SEEDS,
)
async def logout_ends_sessions(t: Surface) -> None:
    first = await _signup(t, "logout")
    login = await _login(t, first.user.email, first.user.password, "the right password")
    second = _session(login, first.user.email, first.user.password)
    for name, session in (("sign-up", first), ("second sign-in", second)):
        me = await _me(t, session.user.token, f"with the {name}'s access token")
        expect(me.ok, f"{_said(me)}; expected 200 before any sign-out")
    out = await t.request(
        "POST",
        "/auth/v1/logout",
        as_="anon",
        headers={"Authorization": f"Bearer {first.user.token}"},
        label=f"POST /auth/v1/logout (no scope) as {first.user.email}'s sign-up session",
    )
    expect(out.status == 204, f"{_said(out)}; expected 204")
    for name, session in (("sign-up", first), ("second sign-in", second)):
        me = await _me(t, session.user.token, f"with the {name}'s access token after the sign-out")
        expect(
            me.status in SIGNED_OUT,
            f"{_said(me)}; expected 403 session_not_found (or 401): a sign-out without a scope is global and "
            "ends every session of the user at once",
        )
        again = await _refresh(t, session.refresh_token, f"the {name}'s refresh token after the sign-out")
        expect(
            400 <= again.status < 500,
            f"{_said(again)}; expected 400 (refresh token not found): the sign-out ended that session",
        )


@check(
    "auth.refresh_token_single_use",
    title="a refresh token mints one child: presented again it is refused and its family revoked (or, in GoTrue's "
    "grace for a lost answer, it gets the same current child back), never a second new token",
    seeds=SEEDS,
)
async def refresh_token_single_use(t: Surface) -> None:
    session = await _signup(t, "refresh")
    first = await _refresh(t, session.refresh_token, "the sign-up's refresh token")
    child = _session(first, session.user.email, session.user.password)
    expect(
        child.user.id == session.user.id and child.refresh_token != session.refresh_token,
        f"{_said(first)}; expected the same user {session.user.id} and a new refresh token (rotation)",
    )
    me = await _me(t, child.user.token, "with the refreshed access token")
    expect(me.ok and _user_id(me) == session.user.id, f"{_said(me)}; expected 200 with user {session.user.id}")
    reuse = await _refresh(t, session.refresh_token, "the sign-up's refresh token, already used")
    if reuse.ok:
        again = reuse.body.get("refresh_token") if isinstance(reuse.body, dict) else None
        expect(
            again == child.refresh_token,
            f"{_said(reuse)} and a refresh token that is not the live child's: a used refresh token minted a "
            "second new token; a refresh token is single-use (refused, or GoTrue's grace answer with the current "
            "child)",
        )
        return
    expect(
        400 <= reuse.status < 500,
        f"{_said(reuse)}; expected 400 refresh_token_already_used (or the current child)",
    )
    family = await _refresh(t, child.refresh_token, "the child refresh token after its parent was reused")
    expect(
        400 <= family.status < 500,
        f"{_said(family)}; expected 400: reusing a rotated refresh token revokes its whole family, the child too",
    )


@check(
    "auth.admin_users_service_only",
    title="POST /auth/v1/admin/users refuses a user's token and anon (401/403) and creates no account",
    seeds=SEEDS,
)
async def admin_users_service_only(t: Surface) -> None:
    session = await _signup(t, "admin-caller")
    email, password = t.new_email("admin-made").lower(), secrets.token_urlsafe(18)
    body = {"email": email, "password": password, "email_confirm": True}
    for who in (session.user, "anon"):
        made = await t.request("POST", "/auth/v1/admin/users", as_=who, json_body=body)
        expect(
            made.status in (401, 403),
            f"{_said(made)}; expected 401 or 403: the admin API is for the service role only",
        )
    login = await _login(t, email, password, "the password the refused admin calls gave")
    expect(
        login.status == 400,
        f"{_said(login)}; expected 400 invalid_credentials: the refused admin calls must not have made {email}",
    )


@check(
    "auth.email_case_insensitive",
    title="an e-mail address is one account whatever its case: a sign-up with the upper-cased address is refused, "
    "and sign-in with it reaches the original user with the original password only",
    seeds=SEEDS,
)
async def email_case_insensitive(t: Surface) -> None:
    original = await _signup(t, "case")
    upper, other = original.user.email.upper(), secrets.token_urlsafe(18)
    dup = await _signup_answer(t, upper, other)
    expect(
        not dup.ok,
        f"{_said(dup)}; expected 422 user_already_exists: {upper} is {original.user.email}, already registered",
    )
    login = await _login(t, upper, original.user.password, "the original password")
    expect(
        login.ok and _user_id(login) == original.user.id,
        f"{_said(login)}; expected 200 as user {original.user.id} (e-mail addresses are case-insensitive)",
    )
    stolen = await _login(t, upper, other, "the refused duplicate sign-up's password")
    expect(stolen.status == 400, f"{_said(stolen)}; expected 400 invalid_credentials")


@check(
    "auth.password_change_replaces_old",
    title="after PUT /auth/v1/user sets a new password, a sign-in with the old one is refused (400) "
    "and the new one signs the same user in",
    seeds=SEEDS,
)
async def password_change_replaces_old(t: Surface) -> None:
    session = await _signup(t, "new-password")
    new = secrets.token_urlsafe(18)
    changed = await t.request("PUT", "/auth/v1/user", as_=session.user, json_body={"password": new})
    expect(changed.ok, f"{_said(changed)}; expected 200")
    old = await _login(t, session.user.email, session.user.password, "the old password")
    expect(
        old.status == 400,
        f"{_said(old)}; expected 400 invalid_credentials: the password was changed, the old one must not sign in",
    )
    fresh = await _login(t, session.user.email, new, "the new password")
    expect(
        fresh.ok and _user_id(fresh) == session.user.id,
        f"{_said(fresh)}; expected 200 as user {session.user.id}",
    )


@check(
    "auth.password_change_ends_other_sessions",
    title="a new password set through PUT /auth/v1/user ends the user's other sessions (access and refresh tokens) "
    "and keeps the caller's, as GoTrue's LogoutAllExceptMe",
    seeds=SEEDS,
)
async def password_change_ends_other_sessions(t: Surface) -> None:
    caller = await _signup(t, "password-sessions")
    email, password = caller.user.email, caller.user.password
    other = _session(await _login(t, email, password, "the right password"), email, password)
    rule = "a password change ends every other session of the user (a stolen session dies with the old password)"
    await _expect_signed_in(t, other, "the other session", signed_in=True, rule="before the password change")
    changed = await t.request(
        "PUT", "/auth/v1/user", as_=caller.user, json_body={"password": secrets.token_urlsafe(18)}
    )
    expect(changed.ok, f"{_said(changed)}; expected 200")
    await _expect_signed_in(t, other, "the other session", signed_in=False, rule=rule)
    ended = await _refresh(t, other.refresh_token, "the other session's refresh token after the password change")
    expect(400 <= ended.status < 500, f"{_said(ended)}; expected 400 (refresh token not found): {rule}")
    await _expect_signed_in(
        t, caller, "the caller's session", signed_in=True, rule="the session that changed the password is kept"
    )


@check(
    "auth.weak_password_refused",
    title="a sign-up with a 5-character password is refused (422 weak_password) and makes no account",
    seeds=SEEDS,
)
async def weak_password_refused(t: Surface) -> None:
    email, weak = t.new_email("weak").lower(), secrets.token_urlsafe(8)[:5]
    answer = await _signup_answer(t, email, weak)
    if answer.ok:
        fail(f"{_said(answer)}; expected 422 weak_password: passwords have at least 6 characters")
    expect(answer.status == 422, f"{_said(answer)}; expected 422 weak_password")
    login = await _login(t, email, weak, "the refused weak password")
    expect(login.status == 400, f"{_said(login)}; expected 400 invalid_credentials: no account was made")


async def _logout(t: Surface, session: Session, scope: str, what: str) -> None:
    out = await t.request(
        "POST",
        f"/auth/v1/logout?scope={scope}",
        as_="anon",
        headers={"Authorization": f"Bearer {session.user.token}"},
        label=f"POST /auth/v1/logout?scope={scope} as {what}",
    )
    expect(out.status == 204, f"{_said(out)}; expected 204")


async def _expect_signed_in(t: Surface, session: Session, what: str, *, signed_in: bool, rule: str) -> None:
    me = await _me(t, session.user.token, f"with {what}'s access token")
    if signed_in:
        expect(me.ok and _user_id(me) == session.user.id, f"{_said(me)}; expected 200: {rule}")
    else:
        expect(me.status in SIGNED_OUT, f"{_said(me)}; expected 403 session_not_found (or 401): {rule}")


@check(
    "auth.logout_scopes",
    title="POST /auth/v1/logout?scope=local ends only the caller's session, and ?scope=others ends every other "
    "session of the user and keeps the caller's",
    seeds=SEEDS,
)
async def logout_scopes(t: Surface) -> None:
    first = await _signup(t, "scopes")
    email, password = first.user.email, first.user.password
    second = _session(await _login(t, email, password, "the right password"), email, password)
    await _logout(t, second, "local", "the second session")
    local = "a sign-out with scope local ends the caller's session only"
    await _expect_signed_in(t, second, "the second session", signed_in=False, rule=local)
    await _expect_signed_in(t, first, "the first session", signed_in=True, rule=local)
    third = _session(await _login(t, email, password, "the right password"), email, password)
    await _logout(t, first, "others", "the first session")
    others = "a sign-out with scope others ends every session but the caller's"
    await _expect_signed_in(t, third, "the third session", signed_in=False, rule=others)
    await _expect_signed_in(t, first, "the first session", signed_in=True, rule=others)
    ended = await _refresh(t, third.refresh_token, "the third session's refresh token after scope others")
    expect(400 <= ended.status < 500, f"{_said(ended)}; expected 400: {others}")


@check(
    "auth.user_metadata_merges",
    title="PUT /auth/v1/user merges `data` into user_metadata: new keys are added, a null value removes its key, "
    "the other keys are kept",
    seeds=SEEDS,
)
async def user_metadata_merges(t: Surface) -> None:
    session = await _signup(t, "metadata")
    answer = await t.request(
        "PUT", "/auth/v1/user", as_=session.user, json_body={"data": {"acc_kept": 1, "acc_dropped": "x"}}
    )
    expect(answer.ok, f"{_said(answer)}; expected 200")
    answer = await t.request(
        "PUT", "/auth/v1/user", as_=session.user, json_body={"data": {"acc_added": True, "acc_dropped": None}}
    )
    expect(answer.ok, f"{_said(answer)}; expected 200")
    me = await _me(t, session.user.token, "after two metadata updates")
    metadata = me.body.get("user_metadata") if isinstance(me.body, dict) else None
    expected = {"acceptance": t.run_id, "acc_kept": 1, "acc_added": True}
    seen = {key: metadata.get(key) for key in (*expected, "acc_dropped")} if isinstance(metadata, dict) else None
    expect(
        seen == {**expected, "acc_dropped": None} and isinstance(metadata, dict) and "acc_dropped" not in metadata,
        f"after PUT /auth/v1/user data {{acc_kept: 1, acc_dropped: 'x'}} then {{acc_added: true, acc_dropped: null}} "
        f"on a user signed up with {{acceptance: {t.run_id!r}}}, {_said(me)}; expected user_metadata to hold "
        f"{expected} and no acc_dropped: data is merged key by key, a null removes its key",
    )
