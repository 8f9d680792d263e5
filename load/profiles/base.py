"""RockerUser: a signed-in (or signing-up) person on the platform, as a Locust FastHttpUser.

Every request goes through `call`, which names it by RPC or route, marks it
failed when the status *or the body* is wrong, and in the open-model `rate`
scenario first waits for its scheduled arrival (so the pace is the
schedule's, not the server's).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from locust import FastHttpUser
from locust.contrib.fasthttp import ResponseContextManager

from gauntlet.load.pacing import ArrivalPacer
from gauntlet.load.plan import UserConfig
from gauntlet.load.profiles import surface as s
from gauntlet.load.profiles.accounts import Account, fresh_accounts
from gauntlet.load.profiles.catalog import MIXED_WEIGHTS, AccountSource
from gauntlet.load.profiles.cookies import QuietCookieJar

DEFAULT_THINK_TIME_S = (0.5, 2.0)
_NO_CONTEXT: dict[str, Any] = {}  # shared and never written: Locust copies it into each request's context
_RPC_ROUTES: dict[str, tuple[str, str]] = {}  # function -> (path, request name), built once per function
_RPC_OK = (200, 204)  # a void SQL function may answer 204 No Content, as PostgREST does


@dataclass
class GeneratorRuntime:
    """What every user in this load-generator process shares."""

    config: UserConfig | None = None
    pacer: ArrivalPacer | None = None
    fixture_accounts: Iterator[Account] | None = None
    fresh: Iterator[Account] = field(default_factory=lambda: fresh_accounts("run", "local"))

    def think_time_s(self, rng: random.Random) -> float:
        if self.pacer is not None:
            return 0.0  # the arrival schedule is the pace
        low, high = self.config["think_time_s"] if self.config else DEFAULT_THINK_TIME_S
        return low if high <= low else rng.uniform(low, high)

    def next_account(self, source: AccountSource) -> tuple[Account, bool]:
        """An account and whether it already exists (a fixture) or must sign up first."""
        if source == "fixtures" and self.fixture_accounts is not None:
            return next(self.fixture_accounts), True
        return next(self.fresh), False


RUNTIME = GeneratorRuntime()


def _fail(resp: ResponseContextManager, problem: str) -> None:
    resp.failure(problem)  # type: ignore[no-untyped-call]


def _judge(
    resp: ResponseContextManager, validator: s.Validator | None, ok_statuses: tuple[int, ...]
) -> tuple[bool, Any]:
    """Mark the response failed unless its status is expected and `validator` accepts its body.

    Without a validator (writes whose answer carries nothing the user needs) the
    status alone decides and the body is not decoded: it runs for every request.
    """
    status = resp.status_code
    if status == 0:
        error = getattr(resp, "error", None)
        _fail(resp, f"no response: {type(error).__name__}: {error}" if error else "no response")
        return False, None
    if status not in ok_statuses:
        content = resp.content if isinstance(resp.content, bytes) else b""
        _fail(resp, s.describe_http_failure(status, content.decode("utf-8", errors="replace")))
        return False, None
    if validator is None:
        resp.success()  # type: ignore[no-untyped-call]
        return True, None
    body: Any = None
    content = resp.content
    if status != 204 and content:
        try:
            body = json.loads(content.decode("utf-8"))
        except ValueError:
            _fail(resp, f"HTTP {status} but the body is not JSON")
            return False, None
    problem = validator(body)
    if problem is not None:
        _fail(resp, problem)
        return False, None
    resp.success()  # type: ignore[no-untyped-call]
    return True, body


class RockerUser(FastHttpUser):
    """Base of every profile's user class; not run by itself."""

    abstract = True
    accounts: ClassVar[AccountSource] = "fixtures"
    network_timeout = 30.0
    connection_timeout = 10.0

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.rng = random.Random()
        self.token: str | None = None
        self.user_id: str | None = None
        self.email: str | None = None
        self._session_headers: dict[str, str] | None = None
        self._unpaced = False  # a warm-up request that takes no arrival (see on_start)
        # Locust's session and its user agent share one jar: replace it in both.
        self.client.cookiejar = self.client.client.cookiejar = QuietCookieJar()

    def wait_time(self) -> float:
        return RUNTIME.think_time_s(self.rng)

    def on_start(self) -> None:
        pacer = RUNTIME.pacer
        if pacer is None or not (RUNTIME.config and RUNTIME.config.get("sign_in_first")):
            if self.accounts == "fixtures":
                self.sign_in()
            return
        # Breakpoint steps: sign in outside the arrival schedule, then tell the pacer this slot is ready.
        self._unpaced = True
        try:
            if self.accounts == "fixtures":
                self.sign_in()
        finally:
            self._unpaced = False
            pacer.slot_ready()

    # -- requests ---------------------------------------------------------------------------------

    def _headers(self, *, auth: bool) -> dict[str, str]:
        if auth and self._session_headers is not None:
            return self._session_headers
        headers: dict[str, str] = {}
        api_key = RUNTIME.config["api_key"] if RUNTIME.config else None
        if api_key:
            headers["apikey"] = api_key
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
            self._session_headers = headers
        return headers

    def call(
        self,
        method: str,
        path: str,
        name: str,
        *,
        body: Any = None,
        validator: s.Validator | None = None,
        auth: bool = True,
        ok_statuses: tuple[int, ...] = (200,),
    ) -> tuple[bool, Any]:
        """Send one request; (True, decoded body) when status and body are right, else (False, None)."""
        return self._send(method, path, name, body, validator, self._headers(auth=auth), ok_statuses)

    def _send(
        self,
        method: str,
        path: str,
        name: str,
        body: Any,
        validator: s.Validator | None,
        headers: dict[str, str],
        ok_statuses: tuple[int, ...],
    ) -> tuple[bool, Any]:
        context = _NO_CONTEXT
        pacer = RUNTIME.pacer
        if pacer is not None and not self._unpaced:
            context = {"lateness_ms": pacer.take() * 1000.0}
        with self.client.request(
            method, path, name=name, json=body, headers=headers, catch_response=True, context=context
        ) as resp:
            return _judge(resp, validator, ok_statuses)

    def rpc(self, function: str, args: dict[str, Any], validator: s.Validator | None = None) -> tuple[bool, Any]:
        route = _RPC_ROUTES.get(function)
        if route is None:
            route = _RPC_ROUTES[function] = (s.rpc_path(function), s.rpc_name(function))
        headers = self._session_headers
        if headers is None:
            headers = self._headers(auth=True)
        return self._send("POST", route[0], route[1], args, validator, headers, _RPC_OK)

    # -- sessions ---------------------------------------------------------------------------------

    def _take_session(self, body: Any, email: str) -> None:
        session = s.session_of(body)
        assert session is not None  # the validator checked it
        self.token, self.user_id = session
        self.email = email
        self._session_headers = None

    def sign_up(self, account: Account) -> bool:
        ok, body = self.call(
            "POST",
            s.SIGNUP_PATH,
            s.AUTH_SIGNUP,
            body={"email": account.email, "password": account.password},
            validator=s.check_session,
            auth=False,
            ok_statuses=(200, 201),
        )
        if ok:
            self._take_session(body, account.email)
        return ok

    def log_in(self, account: Account) -> bool:
        ok, body = self.call(
            "POST",
            s.TOKEN_PATH,
            s.AUTH_TOKEN,
            body={"email": account.email, "password": account.password},
            validator=s.check_session,
            auth=False,
        )
        if ok:
            self._take_session(body, account.email)
        return ok

    def sign_in(self) -> bool:
        """Log in as a fixture account; without fixtures, sign up a fresh one, then log in."""
        account, exists = RUNTIME.next_account(self.accounts)
        if not exists and not self.sign_up(account):
            return False
        return self.log_in(account)

    def signed_in(self) -> bool:
        """True when this user has a session, trying once more to get one if it has not."""
        return self.token is not None or self.sign_in()


def weight_of(class_name: str) -> int:
    return MIXED_WEIGHTS[class_name]
