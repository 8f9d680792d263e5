"""Onboarding: a new person signs up, picks a handle and 3+ interests, completes, sees suggestions.

Each task run is a new person (fresh signup), so the load is the signup
funnel, not a returning user. In the smoke scenario (`one_signup_per_user`)
each user onboards one person, then stays that person and asks for its
suggestions: no sign-up loop against a target's rate limit.
"""

from __future__ import annotations

from typing import ClassVar

from locust import task

from gauntlet.load.profiles import surface as s
from gauntlet.load.profiles.accounts import handle_for
from gauntlet.load.profiles.base import RUNTIME, RockerUser, weight_of
from gauntlet.load.profiles.catalog import AccountSource

ACQUISITION_SOURCES = ("friend", "search", "social", "event", "ad")
MIN_INTERESTS, MAX_INTERESTS = 3, 6


class OnboardingUser(RockerUser):
    weight = weight_of("OnboardingUser")
    accounts: ClassVar[AccountSource] = "fresh"

    signed_up_once = False

    @task
    def onboard(self) -> None:
        once = bool(RUNTIME.config and RUNTIME.config.get("one_signup_per_user"))
        if once and self.signed_up_once:
            if self.token is not None:
                self.rpc(s.SUGGESTIONS, {"p_user_id": self.user_id, "p_limit": s.SUGGESTIONS_LIMIT}, s.check_rows)
            return
        self.signed_up_once = True
        account, _ = RUNTIME.next_account("fresh")
        if not self.sign_up(account):
            return
        handle = handle_for(account.email)
        # People try a taken handle first now and then.
        if self.rng.random() < 0.3:
            self.rpc(s.CHECK_HANDLE, {"p_handle": "admin"}, s.check_boolean)
        ok, _ = self.rpc(s.CHECK_HANDLE, {"p_handle": handle}, s.check_boolean)
        if not ok:
            return
        ok, catalog = self.rpc(s.CATALOG_BROWSE, {}, s.check_catalog)
        if not ok:
            return
        ids = s.interest_ids(catalog)
        picks = self.rng.sample(ids, k=min(len(ids), self.rng.randint(MIN_INTERESTS, MAX_INTERESTS)))
        for interest_id in picks:
            affinity = round(self.rng.uniform(0.4, 1.0), 2)
            if not self.rpc(s.INTEREST_UPSERT, {"p_interest_id": interest_id, "p_affinity": affinity})[0]:
                return
        profile = {
            "p_handle": handle,
            "p_display_name": f"Load {handle[-6:]}",
            "p_acquisition_source": self.rng.choice(ACQUISITION_SOURCES),
        }
        if not self.rpc(s.PROFILE_UPDATE, profile, s.check_object)[0]:
            return
        if not self.rpc(s.COMPLETE_ONBOARDING, {}, s.check_onboarding_complete)[0]:
            return
        self.rpc(s.SUGGESTIONS, {"p_user_id": self.user_id, "p_limit": s.SUGGESTIONS_LIMIT}, s.check_rows)
