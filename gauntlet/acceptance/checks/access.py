"""Access (authorization) through the RPC surface: another user, anon and user tokens on service RPCs.

Seeds 000 (security: RLS on every personal table, SECURITY DEFINER functions that check the
caller, service-role-only kernels) and 003/004 ("Security hardened"). Every RPC of the
platform's allow-list is classified in ACCESS below; an allow-listed RPC of the reference
platform without a class fails tests/unit/test_acceptance_access_classes.py, so a new RPC cannot
slip past these checks unreviewed (the checks themselves reach the platform only over HTTP).

  public   anyone may call it (catalogue reads, public profiles); nothing personal to guard
  self     acts on or returns the caller's own rows only and takes no user id: anon is refused
  foreign  takes a user id (or a row id) that may be someone else's: another user is refused
  service  service role (or an admin) only: a user token and anon are refused
  admin    returns admin-only rows: a plain user gets no rows (or is refused)

Refused means 401 or 403: a 400 (bad arguments) would hide whether authorization held, so
every call is made with arguments that are valid for its owner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from gauntlet.acceptance.registry import check, expect, fail
from gauntlet.acceptance.surface import Answer, As, Surface, User

SEEDS = "000 Security (RLS, SECURITY DEFINER with caller checks, service-role kernels); 003/004 security hardened"
Kind = Literal["public", "self", "foreign", "service", "admin"]


@dataclass(frozen=True)
class Victim:
    """The first user's identifiers, which the second user and anon try to use."""

    user: str
    notification: int
    entity: str = "00000000-0000-0000-0000-000000000000"  # the first user's page
    post: str = "00000000-0000-0000-0000-000000000000"  # a post asking to appear on that page
    zero: str = "00000000-0000-0000-0000-000000000000"


Args = Callable[[Victim], dict[str, Any]]


def _none(_: Victim) -> dict[str, Any]:
    return {}


def _user(extra: dict[str, Any] | None = None) -> Args:
    return lambda v: {"p_user_id": v.user, **(extra or {})}


ACCESS: dict[str, tuple[Kind, Args]] = {
    # public reads
    "interest_catalog_search": ("public", _none),
    "interest_catalog_browse": ("public", _none),
    "interest_domains": ("public", _none),
    "check_handle_available": ("public", _none),
    "flags_for": ("public", _none),  # flag values and rollout buckets, nothing personal
    "listing_detail": ("public", _none),
    "entity_profile": ("public", _none),
    "feed_fusion_profile": ("public", _none),
    "ensure_category_for_interest": ("public", _none),  # catalogue upkeep, no personal rows
    # the caller's own rows, no user id
    "my_interests": ("self", _none),
    "user_interests_upsert": ("self", lambda v: {"p_interest_id": v.zero}),
    "user_interests_remove": ("self", lambda v: {"p_interest_id": v.zero}),
    "get_my_profile": ("self", _none),
    "update_profile": ("self", lambda v: {"p_display_name": "x"}),
    "set_onboarding_step": ("self", lambda v: {"p_step": "interests"}),
    "entity_create": ("self", lambda v: {"p_handle": "acc_access_x", "p_display_name": "x"}),
    "entity_follow": ("self", lambda v: {"p_entity_id": v.zero}),
    "entity_unfollow": ("self", lambda v: {"p_entity_id": v.zero}),
    "post_create": ("self", lambda v: {"p_body": "x"}),
    "listing_create": ("self", lambda v: {"p_title": "x", "p_price_cents": 100}),
    "event_create": ("self", lambda v: {"p_title": "x", "p_starts_at": "2999-01-01T00:00:00Z"}),
    "feed_hide": ("self", lambda v: {"p_item_kind": "post", "p_item_id": v.zero}),
    "feed_unhide": ("self", lambda v: {"p_item_kind": "post", "p_item_id": v.zero}),
    "calendar_events": ("self", _none),
    "notif_list": ("self", _none),
    "notif_unread_count": ("self", _none),
    "notif_mark_all_read": ("self", _none),
    "ai_consent_get": ("self", _none),
    "ai_consent_set": ("self", _none),
    "feed_fusion_home": ("self", _none),
    "earnings_list": ("self", _none),
    "cart_add": ("self", lambda v: {"p_listing_id": v.zero}),
    "cart_remove": ("self", lambda v: {"p_listing_id": v.zero}),
    "cart_list": ("self", _none),
    "checkout": ("self", _none),
    "referral_claim": ("self", lambda v: {"p_referrer_id": v.user}),  # naming a referrer is the point
    # another user's id
    "complete_onboarding": ("foreign", _user()),
    "enqueue_discovery_for_user": ("foreign", _user()),
    "marketplace_suggestions_for_user": ("foreign", _user()),
    "emit_signal": ("foreign", _user({"p_name": "acceptance.access"})),
    "rocker_next_best_actions": ("foreign", _user()),
    "earnings_summary": ("foreign", _user()),
    "earnings_recompute": ("foreign", _user()),
    "notif_send": ("foreign", _user({"p_channel": "snackbar", "p_title": "from someone else"})),
    "notif_mark_read": ("foreign", lambda v: {"p_id": v.notification}),
    "post_target_review": ("foreign", lambda v: {"p_post_id": v.post, "p_entity_id": v.entity, "p_approve": True}),
    # service role (or admin) only
    "membership_set_tier": ("service", _user({"p_tier": "pro"})),
    "order_webhook": ("service", lambda v: {"p_order_id": v.zero}),
    "earnings_record_event": (
        "service",
        _user({"p_kind": "referral", "p_amount_cents": 1, "p_idempotency_key": "acc-access"}),
    ),
    "recompute_profile_embedding": ("service", _user()),
    "check_idempotency": ("service", lambda v: {"p_key": "acc-access"}),
    "record_idempotency": ("service", lambda v: {"p_key": "acc-access"}),
    "bump_rate": ("service", lambda v: {"p_bucket": "acc-access", "p_limit": 1, "p_window_seconds": 60}),
    "check_rate_limit": ("service", lambda v: {"p_scope": "acc-access", "p_subject": v.user}),
    "set_feature_flag": ("service", lambda v: {"p_key": "global.safe_mode", "p_value": {"enabled": True}}),
    # the queue, worker and GC families (allow-listed by prefix)
    "lease_discovery_items": ("service", lambda v: {"p_limit": 1}),
    "lease_events": ("service", lambda v: {"p_topic": "acc.access", "p_limit": 1}),
    "ack_discovery_item": ("service", lambda v: {"p_id": 0, "p_token": v.zero}),
    "ack_event": ("service", lambda v: {"p_id": 0, "p_token": v.zero}),
    "fail_discovery_item": ("service", lambda v: {"p_id": 0, "p_token": v.zero, "p_error": "x"}),
    "fail_event": ("service", lambda v: {"p_id": 0, "p_token": v.zero, "p_error": "x"}),
    "worker_enqueue_job": ("service", lambda v: {"p_kind": "acc.access"}),
    "worker_claim_job": ("service", lambda v: {"p_worker_id": "acc", "p_kinds": ["acc.access"]}),
    "worker_complete_job": ("service", lambda v: {"p_id": 0, "p_token": v.zero}),
    "worker_fail_job": ("service", lambda v: {"p_id": 0, "p_token": v.zero, "p_error": "x"}),
    "worker_retry_dead_letter": ("service", lambda v: {"p_dead_letter_id": 0}),
    "gc_finished_queue_items": ("service", _none),
    "gc_idempotency_registry": ("service", _none),
    "gc_intent_signals": ("service", _none),
    "gc_learning_events": ("service", _none),
    "gc_monthly_partitions": ("service", _none),
    "gc_rate_limits": ("service", _none),
    "gc_rpc_metrics": ("service", _none),
    # admin pages' reads: rows only for admins
    "worker_jobs_overview": ("admin", _none),
    "worker_dead_letters": ("admin", _none),
}

REFUSED = (401, 403)


def _refused(answer: Answer) -> bool:
    return answer.status in REFUSED


async def _victim(t: Surface, intruder: User) -> tuple[User, Victim]:
    """A user with a profile, interests, a page (which `intruder` posts to) and one unread notification."""
    owner = await t.onboarded_user("access-owner")
    page = await t.rpc_ok(
        "entity_create", {"p_handle": f"acc_pg_{owner.id.replace('-', '')[:16]}", "p_display_name": "Page"}, as_=owner
    )
    post = await t.rpc_ok("post_create", {"p_body": "on your page?", "p_target_entity_ids": [page["id"]]}, as_=intruder)
    sent = await t.rpc_ok(
        "notif_send",
        {"p_user_id": owner.id, "p_channel": "snackbar", "p_title": f"private to {owner.id}"},
        as_="service",
    )
    notification = sent.get("id") or sent.get("notification_id") if isinstance(sent, dict) else None
    if notification is None:
        listed = await t.rpc_ok("notif_list", {}, as_=owner)
        if not listed:
            fail(f"notif_send to the owner answered {sent!r} and the owner's notif_list is empty")
        notification = listed[0]["id"]
    return owner, Victim(user=owner.id, notification=int(notification), entity=page["id"], post=post["id"])


async def _calls(t: Surface, names: list[str], victim: Victim, as_: As) -> list[tuple[str, Answer]]:
    answers = await asyncio.gather(*(t.rpc(name, ACCESS[name][1](victim), as_=as_) for name in names))
    return list(zip(names, answers, strict=True))


def _names(*kinds: Kind) -> list[str]:
    return sorted(name for name, (kind, _) in ACCESS.items() if kind in kinds)


@check(
    "access.service_rpcs_refuse_users",
    title="service-only RPCs (queue kernels, worker jobs, GC, rate limits, idempotency, payments, flags) "
    "refuse a user token and anon",
    seeds=SEEDS,
)
async def service_rpcs_refuse_users(t: Surface) -> None:
    user = await t.signup("access-plain")
    victim = Victim(user=user.id, notification=0)
    names = _names("service")
    wrong = [
        f"{name} as {who}: {answer.status} {answer.text[:120]}"
        for who, as_ in (("a user", user), ("anon", "anon"))
        for name, answer in await _calls(t, names, victim, as_)  # type: ignore[arg-type]
        if not _refused(answer)
    ]
    expect(
        not wrong,
        f"{len(wrong)} call(s) of service-only RPCs were not refused (expected 401/403): " + "; ".join(wrong[:8]),
    )
    admin_rows = await _calls(t, _names("admin"), victim, user)
    leaked = [
        f"{name}: {len(answer.body)} row(s)"
        for name, answer in admin_rows
        if answer.ok and isinstance(answer.body, list) and answer.body
    ]
    expect(not leaked, f"a plain user read admin-only rows: {leaked}; expected none (admins only)")


@check(
    "access.other_users_rows_refused",
    title="a second user can neither read nor change the first user's rows through any RPC that takes "
    "a user or row id, and sees none of them in its own lists",
    seeds=SEEDS,
)
async def other_users_rows_refused(t: Surface) -> None:
    intruder = await t.signup("access-intruder")
    owner, victim = await _victim(t, intruder)
    unread_before = await t.rpc_ok("notif_unread_count", {}, as_=owner)
    answers = await _calls(t, _names("foreign"), victim, intruder)
    wrong = [
        f"{name}({ACCESS[name][1](victim)}): {answer.status} {answer.text[:120]}"
        for name, answer in answers
        # notif_mark_read may answer false (not yours) instead of refusing
        if not _refused(answer) and not (name == "notif_mark_read" and answer.ok and answer.body is False)
    ]
    expect(
        not wrong,
        f"as a second user, {len(wrong)} call(s) naming the first user's id were not refused "
        "(expected 401/403: you may only act on your own account): " + "; ".join(wrong[:8]),
    )
    unread_after = await t.rpc_ok("notif_unread_count", {}, as_=owner)
    expect(
        unread_after == unread_before,
        f"the owner's unread notifications went from {unread_before} to {unread_after} after another user "
        f"called notif_mark_read({victim.notification}) and notif_send to them",
    )
    # The intruder's own lists hold nothing of the owner's.
    for name in ("notif_list", "my_interests", "cart_list", "earnings_list", "calendar_events"):
        body = await t.rpc_ok(name, {}, as_=intruder)
        text = str(body)
        expect(
            owner.id not in text and str(victim.notification) not in _ids(body),
            f"the second user's {name} shows the first user's rows: {text[:300]}",
        )
    profile = await t.rpc_ok("get_my_profile", {}, as_=intruder)
    expect(
        isinstance(profile, dict) and str(profile.get("user_id") or profile.get("id")) == intruder.id,
        f"get_my_profile as the second user answered {str(profile)[:200]}; expected the second user's profile",
    )


def _ids(body: Any) -> set[str]:
    if isinstance(body, list):
        return {str(r.get("id")) for r in body if isinstance(r, dict)}
    return set()


@check(
    "access.anon_sees_nothing_personal",
    title="anon (no user token) is refused by every RPC that reads or changes personal rows",
    seeds=SEEDS,
)
async def anon_sees_nothing_personal(t: Surface) -> None:
    owner = await t.signup("access-anon-owner")
    victim = Victim(user=owner.id, notification=0)
    answers = await _calls(t, _names("self", "foreign", "admin"), victim, "anon")
    wrong = [f"{name}: {answer.status} {answer.text[:120]}" for name, answer in answers if not _refused(answer)]
    expect(
        not wrong,
        f"as anon, {len(wrong)} personal RPC call(s) were not refused (expected 401/403): " + "; ".join(wrong[:8]),
    )


@check(
    "access.page_handle_not_takeable",
    title="a handle a page already has is taken in every letter case: check_handle_available says false and "
    "another user's update_profile is refused (409), while a free handle is available",
    seeds="000 check_handle_available(handle) checks reserved + profiles + entities; handles are unique "
    "case-insensitively (migration 020)",
)
async def page_handle_not_takeable(t: Surface) -> None:
    owner, other = await asyncio.gather(t.signup("handle-page-owner"), t.signup("handle-taker"))
    tail = owner.id.replace("-", "")[:16]
    page_handle = f"AccPg_{tail}"  # mixed case: its lower- and upper-case spellings differ from it
    page = await t.rpc_ok("entity_create", {"p_handle": page_handle, "p_display_name": "Page"}, as_=owner)
    expect(
        page.get("handle") == page_handle,
        f"entity_create(p_handle {page_handle!r}) answered handle {page.get('handle')!r}",
    )
    free = f"AccFree_{other.id.replace('-', '')[:16]}"
    available = await t.rpc_ok("check_handle_available", {"p_handle": free}, as_="anon")
    expect(available is True, f"check_handle_available({free!r}), a handle nobody has, answered {available!r}")
    spellings = (page_handle, page_handle.lower(), page_handle.upper())
    for spelling in spellings:
        answer = await t.rpc_ok("check_handle_available", {"p_handle": spelling}, as_="anon")
        expect(
            answer is False,
            f"check_handle_available({spelling!r}) answered {answer!r} while page {page['id']} has the handle "
            f"{page_handle!r}; handles are unique whatever their letter case (a page's too)",
        )
    for spelling in spellings[1:]:
        taken = await t.rpc("update_profile", {"p_handle": spelling}, as_=other)
        expect(
            taken.status == 409,
            f"{taken.describe()}, while page {page['id']} has the handle {page_handle!r}; expected 409 (taken): "
            "a user must not take a page's handle by writing it in another case",
        )
