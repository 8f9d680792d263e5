"""Suggestions: a signed-in person asks for marketplace suggestions, now and then searching interests."""

from __future__ import annotations

from locust import task

from gauntlet.load.profiles import surface as s
from gauntlet.load.profiles.base import RockerUser, weight_of

SEARCH_TERMS = ("horse", "saddle", "boots", "training", "trailer", "feed", "tack", "show")


class SuggestionsUser(RockerUser):
    weight = weight_of("SuggestionsUser")

    def on_start(self) -> None:
        super().on_start()
        self.suggestions()  # the page opens on them: every user asks at least once (catalog.FIRST_PASS)

    @task(5)
    def suggestions(self) -> None:
        if self.signed_in():
            self.rpc(s.SUGGESTIONS, {"p_user_id": self.user_id, "p_limit": s.SUGGESTIONS_LIMIT}, s.check_rows)

    @task(1)
    def search_interests(self) -> None:
        if self.signed_in():
            self.rpc(s.CATALOG_SEARCH, {"p_query": self.rng.choice(SEARCH_TERMS)}, s.check_rows)
