"""`plain-mixed`: the `mixed` profile's request mix written as a plain Locust locustfile (no Gauntlet code).

The baseline `benchmarks/bench_load.py` compares Gauntlet's `mixed` profile
with: the same user classes and weights (for_you 40, following 20, shop 15,
suggestions 15, onboarding 10), the same routes, methods, headers and JSON
bodies, the same flow (sign up and log in, follow the feed cursor for 2-5
pages, open two items, sometimes hide one or add a listing to the cart;
onboarding signs up a new person per task) and the same status and body
checks, done the usual Locust way with `catch_response`. Only Locust's own
statistics; no think time. So `mixed / plain-mixed` is what Gauntlet adds:
its measurement and its profile framework.

Kept in step by hand with `load/profiles/` (`feed.py`, `onboarding.py`,
`suggestions.py`, `base.py`, `surface.py`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from typing import Any

from locust import FastHttpUser, constant, task

SIGNUP_PATH = "/auth/v1/signup"
TOKEN_PATH = "/auth/v1/token?grant_type=password"
RPC = "/rest/v1/rpc/"
PASSWORD = "gauntlet-Load-pw-1"
SEARCH_TERMS = ("horse", "saddle", "boots", "training", "trailer", "feed", "tack", "show")
ACQUISITION_SOURCES = ("friend", "search", "social", "event", "ad")
_emails = (f"plain-bench-{n}@load.gauntlet.test" for n in itertools.count(1))


def rows_of(body: Any) -> list[dict[str, Any]] | None:
    """A set-returning RPC's rows: a JSON array of objects, or an object holding one (rows, items, data)."""
    if isinstance(body, dict):
        for key in ("rows", "items", "data"):
            if isinstance(body.get(key), list):
                body = body[key]
                break
    if isinstance(body, list) and all(isinstance(row, dict) for row in body):
        return body
    return None


def item_id(row: dict[str, Any]) -> str | None:
    for key in ("id", "item_id"):
        value = row.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def item_kind(row: dict[str, Any]) -> str:
    for key in ("kind", "item_type", "type"):
        value = row.get(key)
        if isinstance(value, str) and value:
            return value
    return "post"


def next_cursor(body: Any) -> Any:
    if isinstance(body, dict):
        for key in ("next_cursor", "cursor"):
            if body.get(key):
                return body[key]
    rows = rows_of(body)
    if rows:
        for key in ("next_cursor", "cursor"):
            if rows[-1].get(key):
                return rows[-1][key]
    return None


def check_session(body: Any) -> str | None:
    user = body.get("user") if isinstance(body, dict) else None
    token = body.get("access_token") if isinstance(body, dict) else None
    user_id = user.get("id") if isinstance(user, dict) else None
    if isinstance(token, str) and token and isinstance(user_id, str) and user_id:
        return None
    return "no access_token and user.id in the auth answer"


def check_rows(body: Any) -> str | None:
    return None if rows_of(body) is not None else "expected a JSON array of rows"


def check_feed_page(body: Any) -> str | None:
    rows = rows_of(body)
    if rows is None:
        return "expected a JSON array of feed rows"
    if any("id" not in row and "item_id" not in row for row in rows):
        return "a feed item has no id"
    return None


def check_catalog(body: Any) -> str | None:
    rows = rows_of(body)
    if rows is None:
        return "expected a JSON array of interests"
    if len([row for row in rows if item_id(row) is not None]) < 3:
        return "the interest catalog returned fewer than 3 interests: onboarding needs 3"
    return None


def check_boolean(body: Any) -> str | None:
    if isinstance(body, bool) or (isinstance(body, dict) and isinstance(body.get("available"), bool)):
        return None
    return "expected a boolean"


def check_object(body: Any) -> str | None:
    return None if isinstance(body, dict) else "expected a JSON object"


def check_onboarding_complete(body: Any) -> str | None:
    if isinstance(body, dict) and body.get("onboarding_complete") is True:
        return None
    return "complete_onboarding did not answer onboarding_complete: true"


class PlainMixedUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.rng = random.Random()
        self.headers: dict[str, str] = {}
        self.user_id: str | None = None

    def post(
        self, path: str, name: str, body: Any, check: Any = None, ok: tuple[int, ...] = (200, 204)
    ) -> tuple[bool, Any]:
        """POST JSON; fail the request unless the status is in `ok` and `check` accepts the body."""
        with self.client.post(path, name=name, json=body, headers=self.headers, catch_response=True) as resp:
            if resp.status_code not in ok:
                resp.failure(f"HTTP {resp.status_code}")
                return False, None
            if check is None:
                resp.success()
                return True, None
            try:
                data = json.loads(resp.content.decode("utf-8")) if resp.content else None
            except ValueError:
                resp.failure(f"HTTP {resp.status_code} but the body is not JSON")
                return False, None
            problem = check(data)
            if problem is not None:
                resp.failure(problem)
                return False, None
            resp.success()
            return True, data

    def rpc(self, function: str, args: dict[str, Any], check: Any = None) -> tuple[bool, Any]:
        return self.post(RPC + function, "rpc:" + function, args, check)

    def sign_up(self, email: str) -> bool:
        self.headers = {}
        body = {"email": email, "password": PASSWORD}
        ok, data = self.post(SIGNUP_PATH, "auth:signup", body, check_session, (200, 201))
        if ok:
            self.user_id = data["user"]["id"]
            self.headers = {"Authorization": f"Bearer {data['access_token']}"}
        return ok

    def log_in(self, email: str) -> bool:
        self.headers = {}
        ok, data = self.post(TOKEN_PATH, "auth:token", {"email": email, "password": PASSWORD}, check_session, (200,))
        if ok:
            self.user_id = data["user"]["id"]
            self.headers = {"Authorization": f"Bearer {data['access_token']}"}
        return ok

    def sign_in(self) -> bool:
        email = next(_emails)
        return self.sign_up(email) and self.log_in(email)

    def on_start(self) -> None:
        self.sign_in()


class PlainFeedUser(PlainMixedUser):
    abstract = True
    lane = "for_you"
    hide_chance = 0.15
    cart_chance = 0.10

    @task
    def scroll(self) -> None:
        if self.user_id is None and not self.sign_in():
            return
        cursor: Any = None
        seen: list[dict[str, Any]] = []
        for _ in range(self.rng.randint(2, 5)):
            args = {"p_lane": self.lane, "p_cursor": cursor, "p_limit": 20}
            ok, body = self.rpc("feed_fusion_home", args, check_feed_page)
            if not ok:
                break
            rows = rows_of(body) or []
            seen.extend(rows)
            cursor = next_cursor(body)
            if not rows or cursor is None:
                break
        if not seen:
            return
        for row in self.rng.sample(seen, k=min(2, len(seen))):
            if item_kind(row) == "listing":
                self.rpc("listing_detail", {"p_listing_id": item_id(row)}, check_object)
            else:
                metadata = {"item_id": item_id(row), "kind": item_kind(row), "lane": self.lane}
                self.rpc("emit_signal", {"p_name": "feed.item_open", "p_metadata": metadata})
        if self.rng.random() < self.hide_chance:
            row = self.rng.choice(seen)
            self.rpc("feed_hide", {"p_item_kind": item_kind(row), "p_item_id": item_id(row)})
        if self.rng.random() < self.cart_chance:
            listings = [row for row in seen if item_kind(row) == "listing"]
            if listings:
                listing_id = item_id(self.rng.choice(listings))
                self.rpc("cart_add", {"p_listing_id": listing_id, "p_quantity": 1}, check_object)


class PlainHomeForYouUser(PlainFeedUser):
    lane = "for_you"
    weight = 40


class PlainFollowingUser(PlainFeedUser):
    lane = "following"
    weight = 20


class PlainShopUser(PlainFeedUser):
    lane = "shop"
    weight = 15
    cart_chance = 0.35


class PlainSuggestionsUser(PlainMixedUser):
    weight = 15

    @task(5)
    def suggestions(self) -> None:
        if self.user_id is not None or self.sign_in():
            self.rpc("marketplace_suggestions_for_user", {"p_user_id": self.user_id, "p_limit": 12}, check_rows)

    @task(1)
    def search_interests(self) -> None:
        if self.user_id is not None or self.sign_in():
            self.rpc("interest_catalog_search", {"p_query": self.rng.choice(SEARCH_TERMS)}, check_rows)


class PlainOnboardingUser(PlainMixedUser):
    weight = 10

    def on_start(self) -> None:
        pass  # every task is a new person

    @task
    def onboard(self) -> None:
        email = next(_emails)
        if not self.sign_up(email):
            return
        handle = "u_" + hashlib.blake2b(email.encode("utf-8"), digest_size=8).hexdigest()
        if self.rng.random() < 0.3:
            self.rpc("check_handle_available", {"p_handle": "admin"}, check_boolean)
        if not self.rpc("check_handle_available", {"p_handle": handle}, check_boolean)[0]:
            return
        ok, catalog = self.rpc("interest_catalog_browse", {}, check_catalog)
        if not ok:
            return
        ids = [i for i in (item_id(row) for row in rows_of(catalog) or []) if i is not None]
        for interest_id in self.rng.sample(ids, k=min(len(ids), self.rng.randint(3, 6))):
            affinity = round(self.rng.uniform(0.4, 1.0), 2)
            if not self.rpc("user_interests_upsert", {"p_interest_id": interest_id, "p_affinity": affinity})[0]:
                return
        profile = {
            "p_handle": handle,
            "p_display_name": f"Load {handle[-6:]}",
            "p_acquisition_source": self.rng.choice(ACQUISITION_SOURCES),
        }
        if not self.rpc("update_profile", profile, check_object)[0]:
            return
        if not self.rpc("complete_onboarding", {}, check_onboarding_complete)[0]:
            return
        self.rpc("marketplace_suggestions_for_user", {"p_user_id": self.user_id, "p_limit": 12}, check_rows)


__all__ = ["PlainFollowingUser", "PlainHomeForYouUser", "PlainOnboardingUser", "PlainShopUser", "PlainSuggestionsUser"]
