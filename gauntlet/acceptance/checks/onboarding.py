"""Onboarding gates (seeds 000, "Acceptance criteria"): profile + acquisition + >= 3 interests, nothing less."""

from __future__ import annotations

from gauntlet.acceptance.registry import check, expect
from gauntlet.acceptance.surface import Surface, User

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
    no_source = await t.signup("no-acquisition")
    await _with_interests(t, no_source, 3)
    await _with_profile(t, no_source, acquisition=False)
    refused = await t.rpc("complete_onboarding", {}, as_=no_source)
    expect(
        400 <= refused.status < 500,
        f"with no acquisition source, {refused.describe()}; expected a 4xx refusal",
    )
