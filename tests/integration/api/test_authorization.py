"""Authorization of every RPC, generated from the allow-list: a second user and anon never reach user A's data.

Every allow-listed function (and every function of the prefix families the database
defines) is called as anon and as user B with well-typed arguments in which every id is
one of user A's (A's user id for user ids, A's notification, listing, entity...). The
expectations, by class:

- service-only functions: anon and B are refused (401/403);
- functions taking `p_user_id`: B naming A is refused (4xx), anon is refused;
- every other function: anon is refused unless the function is a public read (listed,
  with why), and B's answer never carries A's user id or the marker in A's rows.

`test_every_rpc_has_a_class` fails when a function is added without being classified here,
so a new RPC cannot ship without an authorization case.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from gauntlet.platform.api.rpc_catalog import ALLOWED_FUNCTIONS, ALLOWED_PREFIXES

if TYPE_CHECKING:
    from tests.integration.api.conftest import ApiClient, Session

pytestmark = pytest.mark.integration

# Refused to anon and to users: the grants give them to service_role only.
SERVICE_ONLY: frozenset[str] = frozenset(
    {
        "order_webhook",
        "earnings_record_event",
        "membership_set_tier",
        "set_feature_flag",
        "notif_send",
        "bump_rate",
        "check_rate_limit",
        "check_idempotency",
        "record_idempotency",
        "post_target_review",
    }
)
SERVICE_ONLY_PREFIXES = ("lease_", "ack_", "fail_", "worker_", "gc_")
# Answer anon too: no personal rows in them (catalogs, handle availability, public pages).
PUBLIC_READS: dict[str, str] = {
    "interest_catalog_search": "the interest catalog",
    "interest_catalog_browse": "the interest catalog",
    "interest_domains": "the interest catalog",
    "check_handle_available": "whether a handle is taken (sign-up needs it before an account exists)",
    "flags_for": "feature flags; anon gets the global ones",
    "listing_detail": "a public listing page",
    "entity_profile": "a public page's profile",
    "feed_fusion_profile": "a public page's feed",
    "calendar_events": "public events",
}
# May be called naming another user: no rows of that user come back.
MAY_NAME_ANOTHER_USER: dict[str, str] = {
    "flags_for": "evaluates the flags' rollout for that id; returns flag values, no rows of the user",
}
# Public data that may name A (B reading A's public page shows A's public page).
SHOWS_PUBLIC_DATA_OF_A = {"listing_detail", "entity_profile", "feed_fusion_profile", "calendar_events"}


def is_service_only(function: str) -> bool:
    return function in SERVICE_ONLY or function.startswith(SERVICE_ONLY_PREFIXES)


async def signatures(db: asyncpg.Connection) -> dict[str, list[tuple[str, str, bool]]]:
    """function -> [(argument, type, has_default)] of its first overload, for the allow-listed functions."""
    rows = await db.fetch(
        """
        SELECT p.proname, p.proargnames AS names, p.pronargs AS nargs, p.pronargdefaults AS ndefaults,
               array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) AS t) AS types
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' ORDER BY p.oid
        """
    )
    found: dict[str, list[tuple[str, str, bool]]] = {}
    for row in rows:
        name = row["proname"]
        if not (name in ALLOWED_FUNCTIONS or name.startswith(ALLOWED_PREFIXES)) or name in found:
            continue
        names = list(row["names"] or [])[: row["nargs"]]
        first_default = row["nargs"] - row["ndefaults"]
        found[name] = [(n, t, i >= first_default) for i, (n, t) in enumerate(zip(names, row["types"], strict=False))]
    return found


def value_for(argument: str, type_name: str, ids: dict[str, str]) -> Any:
    if type_name == "uuid":
        for hint, value in ids.items():
            if hint in argument:
                return value
        return ids["user"]
    if type_name == "uuid[]":
        return [ids["entity"]]
    if type_name in ("integer", "bigint", "smallint"):
        return ids["notification"] if argument in ("p_id",) else 1
    if type_name in ("double precision", "numeric", "real"):
        return 0.5
    if type_name == "boolean":
        return True
    if type_name in ("jsonb", "json"):
        return {}
    if type_name.startswith("timestamp"):
        return (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    if type_name.startswith("time"):
        return "10:00"
    if type_name == "text[]":
        return ["x"]
    return "x"


@pytest.fixture
async def a_and_b(api: ApiClient, db: asyncpg.Connection, onboard: Any) -> tuple[Session, Session, dict[str, str], str]:
    """User A with rows of every kind (marked), user B, and the ids of A's rows."""
    a, b = await onboard(), await onboard()
    # Only in A's private rows (a notification); A's page and listing are public.
    marker = f"secret{uuid.uuid4().hex[:12]}"
    entity = await api.rpc("entity_create", {"p_handle": f"e{uuid.uuid4().hex[:10]}", "p_display_name": "A"}, a.token)
    assert entity.status_code == 200, entity.text
    entity_id = entity.json()["id"]
    listing = await api.rpc(
        "listing_create", {"p_title": "A's listing", "p_price_cents": 500, "p_entity_id": entity_id}, a.token
    )
    assert listing.status_code == 200, listing.text
    sent = await api.rpc(
        "notif_send", {"p_user_id": a.user_id, "p_channel": "snackbar", "p_title": marker}, api.service_key
    )
    assert sent.status_code == 200, sent.text
    notification = await db.fetchval(
        "SELECT id FROM notifications WHERE user_id = $1 ORDER BY id DESC LIMIT 1", uuid.UUID(a.user_id)
    )
    await api.rpc("cart_add", {"p_listing_id": listing.json()["id"]}, a.token)
    ids = {
        "listing": listing.json()["id"],
        "entity": entity_id,
        "interest": str(await db.fetchval("SELECT id FROM interest_catalog LIMIT 1")),
        "post": str(uuid.uuid4()),
        "item": listing.json()["id"],
        "order": str(uuid.uuid4()),
        "referrer": a.user_id,
        "user": a.user_id,
        "notification": str(notification),
    }
    return a, b, ids, marker


async def test_every_rpc_has_a_class(db: asyncpg.Connection) -> None:
    found = await signatures(db)
    assert set(found) >= ALLOWED_FUNCTIONS, sorted(ALLOWED_FUNCTIONS - set(found))
    unknown = set(PUBLIC_READS) - set(found)
    assert not unknown, f"PUBLIC_READS names functions that do not exist: {sorted(unknown)}"


async def test_second_user_and_anon_never_reach_a_users_rows(
    api: ApiClient, db: asyncpg.Connection, a_and_b: tuple[Session, Session, dict[str, str], str]
) -> None:
    a, b, ids, marker = a_and_b
    problems: list[str] = []
    for function, arguments in sorted((await signatures(db)).items()):
        args = {name: value_for(name, type_name, ids) for name, type_name, _ in arguments}
        anon = await api.rpc(function, args)
        as_b = await api.rpc(function, args, b.token)
        for who, response in (("anon", anon), ("B", as_b)):
            if response.status_code >= 500:
                problems.append(f"{function} as {who}: {response.status_code} {response.text[:200]}")
        if is_service_only(function):
            for who, response in (("anon", anon), ("B", as_b)):
                if response.status_code not in (401, 403):
                    problems.append(f"{function} (service only) as {who}: {response.status_code} {response.text[:200]}")
            continue
        if function not in PUBLIC_READS and anon.status_code not in (401, 403):
            problems.append(f"{function} as anon: {anon.status_code} {anon.text[:200]}")
        if "p_user_id" in args and function not in MAY_NAME_ANOTHER_USER and not 400 <= as_b.status_code < 500:
            problems.append(f"{function} as B naming A: {as_b.status_code} {as_b.text[:200]}")
        leaked = a.email in as_b.text or marker in as_b.text
        if function not in SHOWS_PUBLIC_DATA_OF_A and as_b.status_code == 200 and leaked:
            problems.append(f"{function} as B shows A's rows: {as_b.text[:300]}")
    assert not problems, "\n".join(problems)
    # A's rows are as they were: B's calls with A's ids changed nothing of A's.
    unread = await api.rpc("notif_unread_count", {}, a.token)
    assert unread.json() >= 1, unread.text
