"""Onboarding gates (seeds 000, "Acceptance criteria"): profile + acquisition + >= 3 interests, nothing less."""

from __future__ import annotations

from typing import Any

from gauntlet.acceptance.registry import check, expect
from gauntlet.acceptance.surface import As, Surface, User

SEEDS = "000 Acceptance criteria: onboarding gates"


async def _with_interests(t: Surface, user: User, count: int) -> None:
    catalog = await t.rpc_ok("interest_catalog_browse", {"p_limit": count}, as_=user)
    expect(len(catalog) >= count, f"interest_catalog_browse returned {len(catalog)} interests, fewer than {count}")
    for row in catalog[:count]:
        await t.rpc_ok("user_interests_upsert", {"p_interest_id": row["id"], "p_affinity": 0.7}, as_=user)


async def _with_profile(t: Surface, user: User, *, acquisition: bool = True) -> None:
    args = {"p_handle": f"acc_{user.id.replace('-', '')[:20]}", "p_display_name": "Acceptance"}
    if acquisition:
        args["p_acquisition_source"] = "acceptance"
    await t.rpc_ok("update_profile", args, as_=user)


@check(
    "onboarding.requires_three_interests",
    title="complete_onboarding refuses a user with 2 interests and accepts the same user with 3",
    seeds=SEEDS,
)
async def requires_three_interests(t: Surface) -> None:
    user = await t.signup("three-interests")
    await _with_profile(t, user)
    await _with_interests(t, user, 2)
    refused = await t.rpc("complete_onboarding", {}, as_=user)
    expect(
        400 <= refused.status < 500,
        f"with 2 interests, {refused.describe()}; expected a 4xx refusal (the seeds require >= 3 interests)",
    )
    await _with_interests(t, user, 3)
    done = await t.rpc_ok("complete_onboarding", {}, as_=user)
    expect(
        isinstance(done, dict) and done.get("onboarding_complete") is True,
        f"with 3 interests complete_onboarding returned {done!r}; expected onboarding_complete = true",
    )
    profile = await t.rpc_ok("get_my_profile", {}, as_=user)
    expect(
        profile.get("onboarding_complete") is True,
        f"after complete_onboarding, get_my_profile shows onboarding_complete = {profile.get('onboarding_complete')!r}",
    )


@check(
    "onboarding.requires_profile_and_acquisition",
    title="complete_onboarding refuses a user without a handle/display name, and one without an acquisition source",
    seeds=SEEDS,
)
async def requires_profile_and_acquisition(t: Surface) -> None:
    bare = await t.signup("no-profile")
    await _with_interests(t, bare, 3)
    refused = await t.rpc("complete_onboarding", {}, as_=bare)
    expect(
        400 <= refused.status < 500,
        f"with no handle or display name, {refused.describe()}; expected a 4xx refusal",
    )
    # An acquisition source and 3 interests, still no handle (sign-up fills in a display name): still refused.
    await t.rpc_ok("update_profile", {"p_acquisition_source": "acceptance"}, as_=bare)
    refused = await t.rpc("complete_onboarding", {}, as_=bare)
    expect(
        400 <= refused.status < 500,
        f"with an acquisition source and 3 interests but no handle, {refused.describe()}; "
        "expected a 4xx refusal (the profile gate needs a handle)",
    )
    no_source = await t.signup("no-acquisition")
    await _with_interests(t, no_source, 3)
    await _with_profile(t, no_source, acquisition=False)
    refused = await t.rpc("complete_onboarding", {}, as_=no_source)
    expect(
        400 <= refused.status < 500,
        f"with no acquisition source, {refused.describe()}; expected a 4xx refusal",
    )


# -- interest selection side effects (migrations 110, 120) ------------------------------------------

QUEUE_SEEDS = "000 Acceptance criteria: interests -> categories -> discovery queue; migrations 110, 120"


@check(
    "onboarding.interest_ensures_category_and_queue",
    title="picking an interest with no marketplace category creates and maps one and queues its discovery",
    seeds=QUEUE_SEEDS,
    needs=("dsn",),
)
async def interest_ensures_category_and_queue(t: Surface) -> None:
    # Every catalog interest is already mapped on a seeded stack, so the check adds one interest of
    # its own (through the DSN: clients cannot write the catalog) in a domain that sorts last, and
    # deletes it and its category at the end. The category, the map and the queue are read through
    # the DSN too: the public surface does not show the discovery queue to a user.
    user = await t.signup("interest-category")
    slug = f"acc-{t.run_id}-{user.id[:8]}"
    async with t.db() as conn:
        interest_id = str(
            await conn.fetchval(
                "insert into public.interest_catalog (slug, domain, category, name) "
                "values ($1, 'zz_acceptance', 'Acceptance', $2) returning id",
                slug,
                f"Acceptance {slug}",
            )
        )
    try:
        rows = await t.rpc_ok("user_interests_upsert", {"p_interest_id": interest_id, "p_affinity": 0.9}, as_=user)
        category_id = rows[0].get("category_id") if isinstance(rows, list) and rows else None
        expect(
            category_id is not None,
            f"user_interests_upsert of an interest with no marketplace category returned {rows!r}; expected the "
            "category it ensured (category_id)",
        )
        async with t.db() as conn:
            category = await conn.fetchrow(
                "select slug from public.marketplace_categories where id = $1::uuid", category_id
            )
            mapped = await conn.fetchval(
                "select count(*) from public.marketplace_interest_map where interest_id = $1::uuid "
                "and category_id = $2::uuid",
                interest_id,
                category_id,
            )
            queued = await conn.fetch(
                "select status, user_id from public.marketplace_discovery_queue where interest_id = $1::uuid "
                "and category_id = $2::uuid and reason = 'user_interest'",
                interest_id,
                category_id,
            )
        expect(
            category is not None and category["slug"] == f"interest.{slug}" and mapped == 1,
            f"after user_interests_upsert of new interest {slug}: category {category_id} "
            f"{'is missing' if category is None else 'has slug ' + repr(category['slug'])}, mapped {mapped} time(s); "
            f"expected category 'interest.{slug}' mapped to the interest",
        )
        expect(
            len(queued) == 1 and str(queued[0]["user_id"]) == user.id,
            f"after user_interests_upsert of new interest {slug}, the discovery queue holds {len(queued)} "
            f"item(s) for it ({[dict(r) for r in queued]}); expected one 'user_interest' item queued for this user",
        )
        # complete_onboarding: every interest of the user ends up with discovery queued (any status).
        await _with_interests(t, user, 2)
        await _with_profile(t, user)
        done = await t.rpc_ok("complete_onboarding", {}, as_=user)
        expect(done.get("onboarding_complete") is True, f"complete_onboarding returned {done!r}")
        async with t.db() as conn:
            missing = await conn.fetch(
                "select ui.interest_id from public.user_interests ui where ui.user_id = $1::uuid and not exists ("
                " select 1 from public.marketplace_interest_map m join public.marketplace_discovery_queue q"
                " on q.interest_id = m.interest_id and q.category_id = m.category_id"
                " where m.interest_id = ui.interest_id)",
                user.id,
            )
        expect(
            not missing,
            f"after complete_onboarding, interests {[str(r['interest_id']) for r in missing]} of the user have no "
            "discovery queue item for their categories; onboarding must queue discovery for every interest",
        )
    finally:
        async with t.db() as conn:
            await conn.execute("delete from public.interest_catalog where id = $1::uuid", interest_id)
            await conn.execute("delete from public.marketplace_categories where slug = $1", f"interest.{slug}")


# -- suggestions (seeds 000 Phase 7 item 5, 002 "Empty Suggestions") ------------------------------------

SUGGESTION_SEEDS = "000 marketplace_suggestions_for_user returns results; 000 Phase 7 item 5; 002 Empty Suggestions"
SLATE = 12


async def _suggestions(t: Surface, as_: As, who: str) -> list[dict[str, Any]]:
    rows = await t.rpc_ok("marketplace_suggestions_for_user", {"p_limit": SLATE}, as_=as_)
    expect(isinstance(rows, list), f"marketplace_suggestions_for_user for {who} returned {rows!r}; expected rows")
    return list(rows)


@check(
    "suggestions.non_empty",
    title="an onboarded user gets marketplace suggestions, some of them from the user's own interests",
    seeds=SUGGESTION_SEEDS,
)
async def suggestions_non_empty(t: Surface) -> None:
    # Interests that surely have candidates: those of the global slate's candidates.
    slate = await _suggestions(t, "anon", "anon (the global slate)")
    picked = list(dict.fromkeys(str(r["interest_id"]) for r in slate if r.get("interest_id")))[:3]
    expect(
        len(picked) == 3,
        f"the global suggestion slate ({len(slate)} rows) names {len(picked)} distinct interests; the check needs 3 "
        "(are marketplace_candidates seeded with their interests?)",
    )
    user = await t.signup("suggestions")
    for interest_id in picked:
        await t.rpc_ok("user_interests_upsert", {"p_interest_id": interest_id, "p_affinity": 0.9}, as_=user)
    await _with_profile(t, user)
    await t.rpc_ok("complete_onboarding", {}, as_=user)
    rows = await _suggestions(t, user, "an onboarded user")
    expect(
        bool(rows),
        f"an onboarded user with interests {picked} got no marketplace suggestions; the seeds say "
        "marketplace_suggestions_for_user returns results",
    )
    own = [r for r in rows if r.get("source") == "interest" and str(r.get("interest_id")) in picked]
    expect(
        bool(own),
        f"an onboarded user with interests {picked} (each with candidates in the global slate) got {len(rows)} "
        f"suggestions, none from those interests (sources {sorted({str(r.get('source')) for r in rows})}); "
        "hybrid retrieval should use the user's own interests",
    )


@check(
    "suggestions.fallback_when_own_empty",
    title="a user whose own interests give nothing still gets a full slate from popular/recent/global candidates",
    seeds=SUGGESTION_SEEDS,
)
async def suggestions_fallback_when_own_empty(t: Surface) -> None:
    global_slate = await _suggestions(t, "anon", "anon (the global slate)")
    expect(bool(global_slate), "the global suggestion slate (anon) is empty: are marketplace_candidates seeded?")
    user = await t.signup("suggestions-empty")  # no interests, no embedding: nothing of its own
    rows = await _suggestions(t, user, "a user with no interests")
    sources = sorted({str(r.get("source")) for r in rows})
    expect(
        len(rows) == len(global_slate),
        f"a user with no interests got {len(rows)} suggestions (sources {sources}) where the global slate has "
        f"{len(global_slate)}; the seeds say empty suggestions fall back to popular/recent/global",
    )
    expect(
        "popular" in sources and set(sources) <= {"popular", "recent"},
        f"a user with no interests got suggestions from sources {sources}; the fallback should be the popular "
        "(and recent) candidates",
    )
