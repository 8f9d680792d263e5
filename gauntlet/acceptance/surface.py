"""How an acceptance check reaches the platform: its public HTTP surface, and a direct DSN only when it must.

Every call goes through the API the way a client would: `rpc(...)` as a signed-in
user (with that user's access token), as the service role (the service key) or
as anon. Users are signed up through `POST /auth/v1/signup`, each with an
address under `acceptance.gauntlet.invalid` that carries the run's id, so two
runs never share a user and their rows are easy to find. A check that must move
time (a lease's expiry, "8 days inactive") or read an invariant the surface
does not show asks for `db()`, which raises NeedsDsn on a target without a DSN:
the check is then skipped and says why, never passed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
import httpx

from gauntlet.acceptance.registry import CheckFailed, NeedsDsn

EMAIL_DOMAIN = "acceptance.gauntlet.invalid"  # .invalid: never a real mailbox
HTTP_TIMEOUT_S = 15.0
# A 429 on sign-up or an RPC is waited out (Retry-After) at most this often before the check fails.
MAX_RATE_LIMIT_WAITS = 3
MAX_RETRY_AFTER_S = 10.0


@dataclass(frozen=True, kw_only=True)
class Target:
    """What the acceptance phase runs against."""

    api_url: str
    service_key: str
    anon_key: str = ""
    dsn: str | None = None  # direct to the primary (not through a fault proxy); only `needs=("dsn",)` checks use it

    @property
    def label(self) -> str:
        return self.api_url


@dataclass(frozen=True)
class User:
    id: str
    email: str
    token: str
    password: str = field(repr=False, default="")


As = User | Literal["service", "anon"]


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, the decoded JSON body (None when it is not JSON), and the raw text."""

    call: str  # "rpc feed_fusion_home as user acc-...": how failure messages name the call
    status: int
    body: Any
    text: str
    headers: httpx.Headers

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str | None:
        """The error code of an error body (`{"code": ...}`), else None."""
        return str(self.body.get("code")) if isinstance(self.body, dict) and "code" in self.body else None

    def describe(self) -> str:
        """How a failure message shows the answer: its start, with any token in it hidden (reports are shared)."""
        return f"{self.call} answered {self.status}: {hide_tokens(self.text)[:300]}"


# A JWT (header.payload.signature, base64url) and the token fields of GoTrue's session answers.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_TOKEN_FIELD = re.compile(r'("(?:access_token|refresh_token|provider_token|provider_refresh_token)"\s*:\s*)"[^"]*"')


def hide_tokens(text: str) -> str:
    """`text` with every JWT and every session token field's value replaced by `<hidden>`."""
    return _JWT.sub("<hidden>", _TOKEN_FIELD.sub(r'\1"<hidden>"', text))


class Surface:
    """The platform as a check sees it. One per acceptance run; checks share it (it is safe to)."""

    def __init__(self, target: Target, http: httpx.AsyncClient, run_id: str) -> None:
        self.target = target
        self.run_id = run_id
        self._http = http
        self._serial = itertools.count(1)

    # -- HTTP ------------------------------------------------------------------------------------

    def _headers(self, as_: As) -> dict[str, str]:
        apikey = self.target.anon_key or self.target.service_key
        if as_ == "service":
            return {"Authorization": f"Bearer {self.target.service_key}", "apikey": self.target.service_key}
        if as_ == "anon":
            return {"apikey": self.target.anon_key} if self.target.anon_key else {}
        return {"Authorization": f"Bearer {as_.token}", "apikey": apikey}

    @staticmethod
    def _who(as_: As) -> str:
        return as_ if isinstance(as_, str) else f"user {as_.email}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        as_: As,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        label: str = "",
        wait_out_429: bool = True,
    ) -> Answer:
        """One HTTP call; a 429 is waited out (its Retry-After, bounded) and retried a few times, unless told not to.

        `headers` are sent besides (and over) the caller's Authorization and apikey headers.
        """
        call = label or f"{method} {path} as {self._who(as_)}"
        sent = {**self._headers(as_), **(headers or {})}
        for attempt in range(MAX_RATE_LIMIT_WAITS + 1 if wait_out_429 else 1):
            try:
                response = await self._http.request(method, path, json=json_body, headers=sent)
            except httpx.HTTPError as exc:
                raise CheckFailed(
                    f"{call}: no answer from {self.target.api_url} ({type(exc).__name__}: {exc})"
                ) from exc
            if response.status_code != 429 or attempt == MAX_RATE_LIMIT_WAITS or not wait_out_429:
                break
            await asyncio.sleep(_retry_after(response))
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        return Answer(call, response.status_code, body, response.text, response.headers)

    async def rpc(self, function: str, args: dict[str, Any] | None = None, *, as_: As) -> Answer:
        """POST /rest/v1/rpc/{function} with named arguments, as a user, the service role or anon."""
        return await self.request(
            "POST",
            f"/rest/v1/rpc/{function}",
            as_=as_,
            json_body=args or {},
            label=f"rpc {function}({_brief(args)}) as {self._who(as_)}",
        )

    async def rpc_ok(self, function: str, args: dict[str, Any] | None = None, *, as_: As) -> Any:
        """The decoded result of an RPC that must succeed; a non-2xx answer fails the check, naming the call."""
        answer = await self.rpc(function, args, as_=as_)
        if not answer.ok:
            raise CheckFailed(answer.describe())
        return answer.body

    async def view(self, name: str) -> list[dict[str, Any]]:
        """GET /rest/v1/{view} as the service role (the observability views)."""
        answer = await self.request("GET", f"/rest/v1/{name}", as_="service")
        if not answer.ok or not isinstance(answer.body, list):
            raise CheckFailed(answer.describe())
        return answer.body

    # -- users -----------------------------------------------------------------------------------

    def new_email(self, tag: str) -> str:
        return f"acc-{self.run_id}-{tag}-{next(self._serial)}@{EMAIL_DOMAIN}"

    async def signup(self, tag: str, data: dict[str, Any] | None = None) -> User:
        """A new user, signed up through POST /auth/v1/signup, with its access token."""
        email, password = self.new_email(tag), secrets.token_urlsafe(18)
        answer = await self.request(
            "POST",
            "/auth/v1/signup",
            as_="anon",
            json_body={"email": email, "password": password, "data": {"acceptance": self.run_id, **(data or {})}},
            label=f"sign-up of {email}",
        )
        if not answer.ok or not isinstance(answer.body, dict):
            hint = (
                " (the sign-up rate limit: the acceptance checks sign up about 100 users a run; raise the "
                "deployment's limit for sign-ups, e.g. Supabase's Authentication > Rate Limits, or "
                "GAUNTLET_RATE_LIMIT_MULTIPLIER on the embedded stack)"
                if answer.status == 429
                else ""
            )
            raise CheckFailed(answer.describe() + hint)
        return User(
            id=str(answer.body["user"]["id"]), email=email, token=str(answer.body["access_token"]), password=password
        )

    async def onboarded_user(self, tag: str, interests: int = 3) -> User:
        """A user who passed onboarding: handle, display name, acquisition source, `interests` interests."""
        user = await self.signup(tag)
        catalog = await self.rpc_ok("interest_catalog_browse", {"p_limit": max(interests, 1)}, as_=user)
        for row in catalog[:interests]:
            await self.rpc_ok("user_interests_upsert", {"p_interest_id": row["id"], "p_affinity": 0.8}, as_=user)
        await self.rpc_ok(
            "update_profile",
            {
                "p_handle": f"acc_{user.id.replace('-', '')[:20]}",
                "p_display_name": f"Acceptance {tag}",
                "p_acquisition_source": "acceptance",
            },
            as_=user,
        )
        await self.rpc_ok("complete_onboarding", {}, as_=user)
        return user

    # -- the database, for what the surface cannot do ---------------------------------------------

    @asynccontextmanager
    async def db(self) -> AsyncIterator[asyncpg.Connection]:
        """A direct connection to the primary (moving time, reading invariants). No DSN: NeedsDsn (skipped)."""
        if not self.target.dsn:
            raise NeedsDsn("this check moves time or reads an invariant in the database: give the target a DSN")
        conn: asyncpg.Connection = await asyncpg.connect(self.target.dsn, timeout=5)
        try:
            yield conn
        finally:
            await conn.close()


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(MAX_RETRY_AFTER_S, max(0.2, float(response.headers.get("retry-after", "1"))))
    except ValueError:
        return 1.0


def _brief(args: dict[str, Any] | None) -> str:
    text = json.dumps(args or {}, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
