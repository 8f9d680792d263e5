"""Rocker's next best actions (seeds 003 "NBA (Task 8)", 004 "NBA"; migration 250).

`rocker_next_best_actions` records every action it returns (the 24 h de-duplication),
so each check uses fresh users and reads each answer once, in order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gauntlet.acceptance.registry import check, expect
from gauntlet.acceptance.surface import Surface, User

SEEDS = "003 Acceptance: NBA (Task 8); 004 NBA"
# The rules' weights, as the seeds' 0.70-0.90 band and migration 250 give them.
WEIGHTS = {
    "complete_profile": 0.90,
    "add_interests": 0.85,
    "list_first_item": 0.80,
    "follow_pages": 0.75,
    "engage": 0.70,
}
AVATAR = "https://example.invalid/acceptance/avatar.png"


async def _actions(t: Surface, user: User, when: str) -> list[dict[str, Any]]:
    rows = await t.rpc_ok("rocker_next_best_actions", {}, as_=user)
    expect(
        isinstance(rows, list) and all(isinstance(r, dict) and "action" in r for r in rows),
        f"{when}: rocker_next_best_actions returned {rows!r}; expected a list of {{action, title, weight, ...}} rows",
    )
    return list(rows)


def _names(rows: list[dict[str, Any]]) -> list[str]:
    return [str(r["action"]) for r in rows]


async def _listing(t: Surface, user: User) -> None:
    await t.rpc_ok("listing_create", {"p_title": f"Acceptance saddle {t.run_id}", "p_price_cents": 1500}, as_=user)


@check(
    "actions.complete_profile_when_missing",
    title="'Complete your profile' is offered while the avatar or bio is missing (blank counts), not once both are set",
    seeds=SEEDS,
)
async def complete_profile_when_missing(t: Surface) -> None:
    bare, half, full = await asyncio.gather(t.signup("nba-bare"), t.signup("nba-half"), t.signup("nba-full"))
    await t.rpc_ok("update_profile", {"p_avatar_url": AVATAR, "p_bio": "   "}, as_=half)
    await t.rpc_ok("update_profile", {"p_avatar_url": AVATAR, "p_bio": "Rides and trains horses."}, as_=full)
    for user, state in ((bare, "no avatar and no bio"), (half, "an avatar and a blank bio")):
        names = _names(await _actions(t, user, f"a new user with {state}"))
        expect(
            "complete_profile" in names,
            f"a new user with {state} got next best actions {names}; the seeds promise 'Complete Profile' "
            "whenever the avatar or the bio is missing",
        )
    names = _names(await _actions(t, full, "a user with avatar and bio"))
    expect(
        "complete_profile" not in names,
        f"a user who set both an avatar and a bio still got 'complete_profile' in {names}; "
        "the seeds offer it only while one of them is missing",
    )


@check(
    "actions.list_first_item_until_listing",
    title="'List your first item' is offered to a user with no listing and not to one who has created a listing",
    seeds=SEEDS,
)
async def list_first_item_until_listing(t: Surface) -> None:
    without, seller = await asyncio.gather(t.signup("nba-nolisting"), t.signup("nba-seller"))
    names = _names(await _actions(t, without, "a new user with no listing"))
    expect(
        "list_first_item" in names,
        f"a new user with no listing (no avatar, bio, interests or follows) got {names}; expected "
        "'list_first_item' among the top 3 (weights 0.90, 0.85, 0.80)",
    )
    await _listing(t, seller)
    names = _names(await _actions(t, seller, "a user right after listing_create"))
    expect(
        "list_first_item" not in names,
        f"right after listing_create, the seller still got 'list_first_item' in {names}; "
        "the seeds say it disappears once a listing exists",
    )
    expect(
        "follow_pages" in names,
        f"with 'list_first_item' gone, the next eligible action 'follow_pages' (0.75) should fill the third place; "
        f"got {names}",
    )


@check(
    "actions.engage_after_8_days_inactive",
    title="'Engage' appears once a user has been inactive for 8 days, not at 7 (inactivity moved back through SQL)",
    seeds=SEEDS,
    needs=("dsn",),
)
async def engage_after_8_days_inactive(t: Surface) -> None:
    user = await t.signup("nba-idle")

    async def inactive_for(days: int) -> None:
        async with t.db() as conn:
            updated = await conn.execute(
                "update public.profiles set last_active_at = now() - make_interval(days => $2) where user_id = $1",
                user.id,
                days,
            )
        expect(updated == "UPDATE 1", f"moving {user.email}'s last activity back {days} days updated {updated!r}")

    await inactive_for(7)
    seen: list[str] = []
    for call in (1, 2):  # the 24 h de-duplication walks down the list: every eligible action but engage
        seen += _names(await _actions(t, user, f"call {call} at 7 days inactive"))
    expect(
        "engage" not in seen,
        f"a user inactive for exactly 7 days got 'engage' (actions over two calls: {seen}); "
        "the seeds show it after 8+ days of inactivity",
    )
    await inactive_for(8)
    names = _names(await _actions(t, user, "a call at 8 days inactive"))
    expect(
        "engage" in names,
        f"after moving last activity back 8 days (profiles.last_active_at), the next call returned {names} "
        f"(earlier calls showed {seen}); expected 'engage'",
    )


@check(
    "actions.max_three_sorted_by_weight",
    title="at most 3 next best actions, the highest-weighted eligible ones, sorted by weight descending",
    seeds=SEEDS,
)
async def max_three_sorted_by_weight(t: Surface) -> None:
    user = await t.signup("nba-top3")  # eligible: complete_profile, add_interests, list_first_item, follow_pages
    rows = await _actions(t, user, "a new user")
    names = _names(rows)
    weights = [float(r.get("weight") or 0) for r in rows]
    expect(
        len(rows) <= 3,
        f"a new user (4 eligible actions) got {len(rows)} actions {names}; the seeds cap it at 3",
    )
    expect(
        weights == sorted(weights, reverse=True),
        f"actions {names} came with weights {weights}: not sorted by weight descending",
    )
    expect(
        all(0.70 <= w <= 0.90 for w in weights),
        f"weights {weights} leave the seeds' 0.70-0.90 band",
    )
    expected = ["complete_profile", "add_interests", "list_first_item"]
    expect(
        names == expected,
        f"a new user with no avatar, bio, interests, listing or follows got {names}; expected the three "
        f"highest-weighted eligible actions {expected} ({[WEIGHTS[a] for a in expected]})",
    )


@check(
    "actions.no_duplicate_cta_within_24h",
    title="an action shown to a user is not shown to the same user again within 24 h",
    seeds=SEEDS,
)
async def no_duplicate_cta_within_24h(t: Surface) -> None:
    user = await t.signup("nba-dedup")
    first = _names(await _actions(t, user, "the first call"))
    expect(bool(first), "a new user got no next best actions at all on the first call")
    second = _names(await _actions(t, user, "the second call"))
    third = _names(await _actions(t, user, "the third call"))
    repeated = sorted(set(first) & set(second + third) | set(second) & set(third))
    expect(
        not repeated,
        f"three calls in a row returned {first}, then {second}, then {third}: {repeated} shown again within "
        "24 h; the seeds allow no duplicate CTA in 24 h",
    )
