"""`returning_user`: an existing user logs in, visits each lane, sees suggestions and their earnings.

The account is made once per target (see journeys/accounts.py) and reused, so
the monitor exercises a user with history rather than a new one every minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from gauntlet.journeys.accounts import Account, ensure_account
from gauntlet.journeys.content import content_step
from gauntlet.journeys.framework import Journey, JourneyCheckFailed, Step
from gauntlet.journeys.session import JourneySession, testid

LANES = ("for_you", "following", "shop")
# The following lane of a user who follows no one may be empty; the others never are on a seeded platform.
LANES_THAT_MAY_BE_EMPTY = frozenset({"following"})


@dataclass
class ReturningUser:
    s: JourneySession
    account: Account | None = None

    def steps(self) -> Sequence[Step]:
        return [
            content_step(self.s),
            Step("account", self.arrange_account, 10000),
            Step("login", self.login, 6000),
            *(Step(f"lane_{lane}", partial(self.lane, lane), 5000) for lane in LANES),
            Step("suggestions", self.suggestions, 6000),
            Step("earnings", self.earnings, 5000),
        ]

    def arrange_account(self) -> None:
        self.account, _ = ensure_account(self.s.platform, self.s.accounts, self.s.target, "returning")

    def login(self) -> None:
        assert self.account is not None
        self.s.log_in(self.account, then="/home")

    def lane(self, lane: str) -> None:
        s = self.s
        s.click_to(f"lane-{lane}", "/home")
        s.wait_for(
            """([lane]) => { const f = document.querySelector('[data-testid="feed"]');
                             return f && f.dataset.lane === lane && Number(f.dataset.pages) >= 1; }""",
            [lane],
            what=f"the {lane} lane did not load its first page",
        )
        count = s.by_testid("feed-item").count()
        if count == 0 and lane not in LANES_THAT_MAY_BE_EMPTY:
            raise JourneyCheckFailed(f"the {lane} lane is empty")
        if count == 0:
            s.wait_selector(testid("feed-empty"), what=f"the empty {lane} lane does not say so")
        s.notes[f"lane_{lane}_items"] = count

    def suggestions(self) -> None:
        s = self.s
        s.click_to("nav-discover", "/discover")
        s.wait_selector(testid("suggestion-card"), what="no suggestions on the discover page")
        s.notes["suggestions"] = s.by_testid("suggestion-card").count()

    def earnings(self) -> None:
        s = self.s
        s.click_to("nav-earnings", "/earnings")
        for name in ("earnings-total", "earnings-captured", "earnings-pending", "earnings-missed"):
            text = s.by_testid(name).inner_text().strip()
            if "$" not in text:
                raise JourneyCheckFailed(f"earnings total {name!r} did not render an amount (shows {text!r})")


def build(session: JourneySession) -> Sequence[Step]:
    return ReturningUser(session).steps()


JOURNEY = Journey(
    name="returning_user",
    description="log in, each lane, suggestions, earnings totals",
    total_budget_ms=30000,
    build=build,
)
