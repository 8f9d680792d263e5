"""The platform surface the profiles drive: routes, RPC names, and what a correct answer looks like.

One place to change when the platform's migrations settle a name. Request
names in statistics are `rpc:<function>` or `auth:<route>`, so results group
by what the platform does, not by URL. Validators are pure: they get the
HTTP status and the decoded body and return a problem (str) or None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

SIGNUP_PATH = "/auth/v1/signup"
TOKEN_PATH = "/auth/v1/token?grant_type=password"
HEALTH_PATH = "/functions/v1/health"
RPC_PREFIX = "/rest/v1/rpc/"

AUTH_SIGNUP = "auth:signup"
AUTH_TOKEN = "auth:token"
HEALTH = "fn:health"

# -> {"lane", "items": [{"kind": post|listing|event, "id", ...}], "next_cursor", "has_more", ...}
FEED = "feed_fusion_home"
CHECK_HANDLE = "check_handle_available"
CATALOG_BROWSE = "interest_catalog_browse"
CATALOG_SEARCH = "interest_catalog_search"
INTEREST_UPSERT = "user_interests_upsert"
# Handle and acquisition source; the gate in complete_onboarding requires both.
PROFILE_UPDATE = "update_profile"
COMPLETE_ONBOARDING = "complete_onboarding"
SUGGESTIONS = "marketplace_suggestions_for_user"
# Opening an item is recorded as an intent signal (seed 000: emit_signal(name, metadata)).
EMIT_SIGNAL = "emit_signal"
# Opening a listing shows its page (migration 620); other items are recorded as an intent signal.
LISTING_DETAIL = "listing_detail"  # (p_listing_id) -> {id, title, price_cents, in_cart, ...}
FEED_HIDE = "feed_hide"  # (p_item_kind post|listing|event, p_item_id)
CART_ADD = "cart_add"  # (p_listing_id, p_quantity)

LANES = ("for_you", "following", "shop")
FEED_PAGE_SIZE = 20
SUGGESTIONS_LIMIT = 12

Problem = str | None
Validator = Callable[[Any], Problem]


def rpc_name(function: str) -> str:
    return f"rpc:{function}"


def rpc_path(function: str) -> str:
    return RPC_PREFIX + function


def describe_http_failure(status: int, text: str | None) -> str:
    """A short, stable failure message: Locust groups errors by their text."""
    snippet = " ".join((text or "").split())[:160]
    return f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"


def session_of(body: Any) -> tuple[str, str] | None:
    """(access token, user id) from a GoTrue-style token or signup answer."""
    if not isinstance(body, Mapping):
        return None
    token = body.get("access_token")
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, Mapping) else None
    if isinstance(token, str) and token and isinstance(user_id, str) and user_id:
        return token, user_id
    return None


def check_session(body: Any) -> Problem:
    if session_of(body) is None:
        return "no access_token and user.id in the auth answer"
    return None


def rows_of(body: Any) -> list[dict[str, Any]] | None:
    """The rows of a set-returning RPC: a JSON array of objects, or an object holding one."""
    if isinstance(body, dict):
        for key in ("rows", "items", "data"):
            if isinstance(body.get(key), list):
                body = body[key]
                break
    if not isinstance(body, list):
        return None
    # Decoded JSON: objects are dicts (a plain loop and an exact type check: this runs for every row).
    for row in body:
        if type(row) is not dict:
            return None
    return body


def next_cursor_of(body: Any) -> Any:
    """The cursor for the next page, or None at the end of the lane."""
    if isinstance(body, Mapping):
        for key in ("next_cursor", "cursor"):
            if body.get(key):
                return body[key]
    rows = rows_of(body)
    if rows:
        last = rows[-1]
        for key in ("next_cursor", "cursor"):
            if last.get(key):
                return last[key]
    return None


def item_id_of(row: Mapping[str, Any]) -> str | None:
    for key in ("id", "item_id"):
        value = row.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def item_kind_of(row: Mapping[str, Any]) -> str:
    for key in ("kind", "item_type", "type"):
        value = row.get(key)
        if isinstance(value, str) and value:
            return value
    return "post"


def is_listing(row: Mapping[str, Any]) -> bool:
    return item_kind_of(row) == "listing"


def check_rows(body: Any) -> Problem:
    return None if rows_of(body) is not None else "expected a JSON array of rows"


def check_feed_page(body: Any) -> Problem:
    rows = rows_of(body)
    if rows is None:
        return "expected a JSON array of feed rows"
    for row in rows:
        if "id" not in row and "item_id" not in row:
            return "a feed item has no id"
    return None


def check_catalog(body: Any) -> Problem:
    rows = rows_of(body)
    if rows is None:
        return "expected a JSON array of interests"
    if len([r for r in rows if item_id_of(r) is not None]) < 3:
        return "the interest catalog returned fewer than 3 interests: onboarding needs 3"
    return None


def check_boolean(body: Any) -> Problem:
    if isinstance(body, bool):
        return None
    if isinstance(body, Mapping) and isinstance(body.get("available"), bool):
        return None
    return "expected a boolean"


def check_any(body: Any) -> Problem:
    return None


def check_object(body: Any) -> Problem:
    return None if isinstance(body, dict) else "expected a JSON object"


def check_onboarding_complete(body: Any) -> Problem:
    if isinstance(body, dict) and body.get("onboarding_complete") is True:
        return None
    return "complete_onboarding did not answer onboarding_complete: true"


def interest_ids(body: Any) -> list[str]:
    return [i for i in (item_id_of(r) for r in rows_of(body) or []) if i is not None]
