"""Which functions the RPC surface exposes, their signatures (cached), and calling one.

A function is callable only if its name is on the allow-list *and* it exists
in `public`; signatures come from pg_proc and are cached per name for
`SIGNATURE_TTL_S`, so a migration that changes a function is picked up
without a restart.
"""

from __future__ import annotations

import datetime as dt
import decimal
import time
import uuid
from typing import Any

import asyncpg
import orjson

from gauntlet.platform.api.caller import as_caller
from gauntlet.platform.api.rpc_args import BoundCall, Signature
from gauntlet.platform.auth.tokens import Claims
from gauntlet.platform.queries import sql

SIGNATURE_TTL_S = 30.0

ALLOWED_FUNCTIONS: frozenset[str] = frozenset(
    {
        "interest_catalog_search",
        "interest_catalog_browse",
        "interest_domains",
        "my_interests",
        "user_interests_upsert",
        "user_interests_remove",
        "check_handle_available",
        "complete_onboarding",
        "ensure_category_for_interest",
        "enqueue_discovery_for_user",
        "marketplace_suggestions_for_user",
        "check_idempotency",
        "record_idempotency",
        "bump_rate",
        "check_rate_limit",
        "flags_for",
        "set_feature_flag",
        "emit_signal",
        "recompute_profile_embedding",
        # Profile and onboarding RPCs of migration 100.
        "get_my_profile",
        "update_profile",
        "set_onboarding_step",
        # Platform II: what the web pages call (content 230, notifications 220).
        "entity_create",
        "entity_follow",
        "entity_unfollow",
        "post_create",
        "listing_create",
        "event_create",
        "feed_hide",
        "feed_unhide",
        "calendar_events",
        "notif_send",
        "notif_list",
        "notif_unread_count",
        "notif_mark_read",
        "notif_mark_all_read",
        "ai_consent_get",
        "ai_consent_set",
        "feed_fusion_home",
        "feed_fusion_profile",
        "rocker_next_best_actions",
        "earnings_summary",
        "earnings_list",
        "earnings_recompute",
        "referral_claim",
        "cart_add",
        "cart_remove",
        "cart_list",
        "checkout",
        # service_role only (their grants say so): payment webhooks and membership changes.
        "order_webhook",
        "earnings_record_event",
        "membership_set_tier",
        "post_target_review",
        # The web pages' own reads (migrations 610-620).
        "listing_detail",
        "entity_profile",
    }
)
# Families the issue names by prefix: the queue kernels, worker jobs and GC.
ALLOWED_PREFIXES: tuple[str, ...] = ("lease_", "ack_", "fail_", "worker_", "gc_")

# Reads that tolerate replica lag; they go to a replica when one is up (and only if the
# function is STABLE/IMMUTABLE, so a later change to VOLATILE cannot send a write there).
REPLICA_READS: frozenset[str] = frozenset(
    {
        "interest_catalog_search",
        "interest_catalog_browse",
        "interest_domains",
        "marketplace_suggestions_for_user",
        "flags_for",
    }
)


def is_allowed(function: str) -> bool:
    if function.startswith("_"):
        return False
    return function in ALLOWED_FUNCTIONS or function.startswith(ALLOWED_PREFIXES)


class SignatureCache:
    def __init__(self, ttl_s: float = SIGNATURE_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, list[Signature]]] = {}

    def cached(self, function: str) -> list[Signature] | None:
        """The function's overloads while cached, without a connection (None: ask the database)."""
        hit = self._entries.get(function)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    async def get(self, conn: asyncpg.Connection, function: str) -> list[Signature]:
        hit = self.cached(function)
        if hit is not None:
            return hit
        rows = await conn.fetch(sql("rpc", "function_signatures"), function)
        signatures = [Signature.from_row(function, row) for row in rows]
        if signatures:
            # Only hits are cached: a function a migration is about to create (or a replica has
            # not replayed yet) must not stay "missing" for the TTL.
            self._entries[function] = (time.monotonic() + self._ttl_s, signatures)
        return signatures

    def forget(self, function: str) -> None:
        self._entries.pop(function, None)


async def execute(conn: asyncpg.Connection, call: BoundCall, claims: Claims, *, json_as_text: bool = False) -> Any:
    """Run one RPC in its own transaction as the caller's role, and shape the result as JSON.

    `json_as_text`: a function returning json or jsonb (the feeds, most of the web pages' reads)
    or rows (suggestions, the catalog, lists) answers with Postgres's own JSON text of each value
    or row (`to_json(row)`) as an `orjson.Fragment`, which the answer's encoder copies as it is,
    as PostgREST does (and as the table reads already answer): numbers keep their digits and
    scale, timestamps are written as Postgres writes them. Decoding the values into Python
    objects, walking them (`to_json`) and encoding them again cost the API about half a
    millisecond a feed page and about a tenth of its CPU on suggestions (py-spy). Scalar
    results other than json (a boolean, a count, an id) still come back as values.
    """
    sig = call.signature
    as_text = json_as_text and sig.answers_json_text
    async with as_caller(conn, claims, read_only=sig.read_only):
        rows = await conn.fetch(call.json_text_sql if as_text else call.sql, *call.values)
    if as_text:
        values = [None if r[0] is None else orjson.Fragment(r[0]) for r in rows]
        return values if sig.returns_set else (values[0] if values else None)
    return shape_result(sig, [dict(r) for r in rows])


def shape_result(sig: Signature, rows: list[dict[str, Any]]) -> Any:
    """PostgREST's shapes: set -> array, row -> object, scalar -> value, void -> null."""
    if sig.returns_void:
        return None
    if sig.returns_set:
        if sig.returns_row:
            return [to_json(r) for r in rows]
        return [to_json(next(iter(r.values()))) for r in rows]
    if not rows:
        return None
    row = rows[0]
    if sig.returns_row:
        return to_json(row)
    return to_json(next(iter(row.values())))


def to_json(value: Any) -> Any:
    """Database values -> JSON-ready values (uuid/decimal/datetime/vector included)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, asyncpg.Record):
        return {k: to_json(v) for k, v in value.items()}
    tolist = getattr(value, "tolist", None)  # pgvector decodes to numpy arrays
    if callable(tolist):
        return to_json(tolist())
    to_list = getattr(value, "to_list", None)
    if callable(to_list):
        return to_json(to_list())
    return str(value)
