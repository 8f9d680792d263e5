"""Gauntlet's locustfile: `gauntlet load` runs `locust -f <this file> --gauntlet-plan plan.json ...`.

It exposes every profile's user class (the command names the ones to run),
the shape that follows the plan's stage table, and installs Gauntlet's
measurement (HDR histograms, progress, thresholds) on Locust's events.
"""

from __future__ import annotations

from locust import events

from gauntlet.load.instrumentation import GauntletShape, install
from gauntlet.load.profiles.feed import FollowingUser, HomeForYouUser, ShopUser
from gauntlet.load.profiles.onboarding import OnboardingUser
from gauntlet.load.profiles.suggestions import SuggestionsUser
from gauntlet.load.profiles.supabase_frontend import SupabaseFrontendUser

__all__ = [
    "FollowingUser",
    "GauntletShape",
    "HomeForYouUser",
    "OnboardingUser",
    "ShopUser",
    "SuggestionsUser",
    "SupabaseFrontendUser",
]

install(events)
