"""Accounts journeys use, and the platform's HTTP surface for arranging them (not timed as user actions).

`signup_to_notification` signs up a fresh user every run. `returning_user` and
`seller` need users that already exist: they are created once per target
(signed up and onboarded through the same auth and RPC surface the pages
use), remembered in `accounts.json` under the artifacts directory, and reused
by later runs, so a monitor running every minute does not create a user per
run. Pre-populate that file to run against a deployment with known accounts.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from gauntlet.journeys.framework import JourneyCheckFailed
from gauntlet.settings import harness_settings

PASSWORD_BYTES = 12
# Arranging content makes dozens of calls as one user: on a platform with edge rate limits the
# bucket can run dry, and Retry-After says when to go on.
RATE_LIMIT_RETRIES = 10
RATE_LIMIT_MAX_WAIT_S = 3.0


@dataclass(frozen=True, slots=True)
class Account:
    email: str
    password: str
    user_id: str = ""


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: str
    access_token: str


def _retry_after_s(response: httpx.Response) -> float | None:
    """Seconds to wait before retrying a rate-limited call, or None when it was not rate limited."""
    if response.status_code != 429:
        return None
    try:
        return max(0.1, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def fresh_email(kind: str) -> str:
    """A unique address on a reserved test domain (RFC 2606), naming the journey that made it."""
    return f"gauntlet-{kind}-{uuid.uuid4().hex[:12]}@example.test"


def fresh_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def fresh_handle() -> str:
    return f"gj_{uuid.uuid4().hex[:12]}"


class AccountStore:
    """Journey accounts per target and role, in one small JSON file readable only by its owner."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, dict[str, str]]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # a torn file: accounts are re-created, nothing else depends on it
        return data if isinstance(data, dict) else {}

    def get(self, target: str, role: str) -> Account | None:
        raw = self._load().get(target.rstrip("/"), {}).get(role)
        if not raw or not raw.get("email") or not raw.get("password"):
            return None
        return Account(raw["email"], raw["password"], raw.get("user_id", ""))

    def put(self, target: str, role: str, account: Account) -> None:
        data = self._load()
        data.setdefault(target.rstrip("/"), {})[role] = asdict(account)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        tmp.replace(self.path)


class PlatformClient:
    """The auth and RPC calls journeys make outside the page (arranging accounts, sending a notification)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def _json(self, response: httpx.Response, what: str) -> Any:
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text[:200]
            raise JourneyCheckFailed(f"{what}: HTTP {response.status_code}: {message}")
        return response.json() if response.content else None

    def signup(self, account: Account) -> SignedIn:
        body = self._json(
            self.http.post("/auth/v1/signup", json={"email": account.email, "password": account.password}),
            f"sign up {account.email}",
        )
        return SignedIn(body["user"]["id"], body["access_token"])

    def login(self, account: Account) -> SignedIn:
        body = self._json(
            self.http.post(
                "/auth/v1/token", params={"grant_type": "password"},
                json={"email": account.email, "password": account.password},
            ),
            f"log in {account.email}",
        )  # fmt: skip
        return SignedIn(body["user"]["id"], body["access_token"])

    def rpc(self, function: str, args: dict[str, Any] | None = None, *, token: str) -> Any:
        """Call an RPC as the token's holder; a 429 is waited out (briefly), as a polite client would."""
        for _ in range(RATE_LIMIT_RETRIES):
            response = self.http.post(
                f"/rest/v1/rpc/{function}", json=args or {}, headers={"Authorization": f"Bearer {token}"}
            )
            wait_s = _retry_after_s(response)
            if wait_s is None or wait_s > RATE_LIMIT_MAX_WAIT_S:
                break
            time.sleep(wait_s)
        return self._json(response, function)

    def onboard(self, user: SignedIn, *, interests: int = 3) -> None:
        """Finish onboarding the way the page does: handle, name, source, interests, complete."""
        self.rpc(
            "update_profile",
            {"p_handle": fresh_handle(), "p_display_name": "Journey Rider", "p_acquisition_source": "other"},
            token=user.access_token,
        )
        for row in self.rpc("interest_catalog_browse", {"p_limit": interests}, token=user.access_token):
            self.rpc("user_interests_upsert", {"p_interest_id": row["id"], "p_affinity": 0.8}, token=user.access_token)
        self.rpc("complete_onboarding", token=user.access_token)


def ensure_account(client: PlatformClient, store: AccountStore, target: str, role: str) -> tuple[Account, SignedIn]:
    """The stored account for `role`, signed in, if it still logs in; else a new onboarded one (stored)."""
    known = store.get(target, role)
    if known is not None:
        try:
            return known, client.login(known)
        except JourneyCheckFailed:
            pass  # the target was reset (a fresh stack): make a new account
    pooled = _pooled_account(role)
    if pooled is not None:  # a target's accounts file: sign in and onboard, never sign up
        account, user = pooled, client.login(pooled)
    else:
        account = Account(fresh_email(role), fresh_password())
        user = client.signup(account)
    client.onboard(user)
    account = Account(account.email, account.password, user.user_id)
    store.put(target, role, account)
    return account, user


# The target's accounts file (set by `gauntlet journey run --target FILE` from its accounts_file): journeys
# that need an existing user take one from the end of it (the load and drills use it from the start).
ACCOUNTS_ENV = "GAUNTLET_JOURNEY_ACCOUNTS"
_ROLES = ("returning_user", "seller")


def _pooled_account(role: str) -> Account | None:
    path = harness_settings().journey_accounts
    if path is None:
        return None
    from gauntlet.load.profiles.accounts import load_accounts

    accounts = load_accounts(path)
    index = _ROLES.index(role) if role in _ROLES else len(_ROLES)
    chosen = accounts[-1 - index % len(accounts)]
    return Account(chosen.email, chosen.password)
