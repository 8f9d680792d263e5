"""The profiles `gauntlet load` knows: which Locust user classes and which requests each makes.

Pure (no Locust import) so the CLI can check a profile name, and the SLO
defaults can be matched to a profile's requests, before Locust is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gauntlet.load.profiles import surface as s

AccountSource = Literal["fixtures", "fresh"]


@dataclass(frozen=True, kw_only=True)
class Profile:
    name: str
    description: str
    user_classes: tuple[str, ...]
    requests: frozenset[str]
    accounts: AccountSource


_SIGN_IN = {s.AUTH_TOKEN, s.AUTH_SIGNUP}  # fixtures sign in; without a fixtures file users sign up first
_FEED = {s.rpc_name(n) for n in (s.FEED, s.EMIT_SIGNAL, s.LISTING_DETAIL, s.FEED_HIDE, s.CART_ADD)} | _SIGN_IN
_ONBOARDING = {
    s.AUTH_SIGNUP,
    *(
        s.rpc_name(n)
        for n in (
            s.CHECK_HANDLE,
            s.CATALOG_BROWSE,
            s.INTEREST_UPSERT,
            s.PROFILE_UPDATE,
            s.COMPLETE_ONBOARDING,
            s.SUGGESTIONS,
        )
    ),
}
_SUGGESTIONS = {s.rpc_name(s.SUGGESTIONS), s.rpc_name(s.CATALOG_SEARCH)} | _SIGN_IN
# supabase_frontend.py: REST reads of the frontend's tables and the realtime channel (type WS).
_SUPABASE_FRONTEND = {
    *(f"rest:{t}" for t in ("notifications", "feature_flags", "profiles", "user_interests")),
    *(f"rest:{t}" for t in ("shopping_cart_items", "earnings_ledger", "notifications:unread_count")),
    "realtime:join",
    "realtime:heartbeat",
} | _SIGN_IN

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="home_for_you",
            description="signed-in users scrolling the for_you lane, opening, hiding, adding to cart",
            user_classes=("HomeForYouUser",),
            requests=frozenset(_FEED),
            accounts="fixtures",
        ),
        Profile(
            name="following",
            description="signed-in users scrolling the following lane",
            user_classes=("FollowingUser",),
            requests=frozenset(_FEED),
            accounts="fixtures",
        ),
        Profile(
            name="shop",
            description="signed-in users scrolling the shop lane and filling carts",
            user_classes=("ShopUser",),
            requests=frozenset(_FEED),
            accounts="fixtures",
        ),
        Profile(
            name="onboarding",
            description="new people: signup, handle check, 3+ interests, profile, complete, suggestions",
            user_classes=("OnboardingUser",),
            requests=frozenset(_ONBOARDING),
            accounts="fresh",
        ),
        Profile(
            name="suggestions",
            description="signed-in users asking for marketplace suggestions",
            user_classes=("SuggestionsUser",),
            requests=frozenset(_SUGGESTIONS),
            accounts="fixtures",
        ),
        Profile(
            name="supabase_frontend",
            description="the seeds' frontend through supabase: table reads and a realtime notifications channel",
            user_classes=("SupabaseFrontendUser",),
            requests=frozenset(_SUPABASE_FRONTEND),
            accounts="fixtures",
        ),
        Profile(
            name="mixed",
            description="a weighted blend: for_you 40, following 20, shop 15, suggestions 15, onboarding 10",
            user_classes=("HomeForYouUser", "FollowingUser", "ShopUser", "SuggestionsUser", "OnboardingUser"),
            requests=frozenset(_FEED | _ONBOARDING | _SUGGESTIONS),
            accounts="fixtures",
        ),
    )
}

# What one user of each class requests on its first pass (its start and its first task) when the
# platform answers correctly, whatever the random draws: what a smoke run can count on reaching.
# Without fixture accounts a signed-in class signs up first (auth:signup), then still logs in.
FIRST_PASS: dict[str, frozenset[str]] = {
    "HomeForYouUser": frozenset({s.AUTH_TOKEN, s.rpc_name(s.FEED)}),
    "FollowingUser": frozenset({s.AUTH_TOKEN, s.rpc_name(s.FEED)}),
    "ShopUser": frozenset({s.AUTH_TOKEN, s.rpc_name(s.FEED)}),
    # on_start asks for suggestions once; later tasks are drawn 5:1 with interest searches
    "SuggestionsUser": frozenset({s.AUTH_TOKEN, s.rpc_name(s.SUGGESTIONS)}),
    # sign up, handle, catalog, 3+ interests, profile, complete, suggestions: one fixed order
    "OnboardingUser": frozenset(_ONBOARDING),
    "SupabaseFrontendUser": frozenset({s.AUTH_TOKEN, "realtime:join"}),
}

# Locust class weights used when several classes run together (the `mixed` blend).
MIXED_WEIGHTS = {
    "HomeForYouUser": 40,
    "FollowingUser": 20,
    "ShopUser": 15,
    "SuggestionsUser": 15,
    "OnboardingUser": 10,
}
