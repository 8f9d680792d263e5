"""`returning_user`: an existing user logs in, visits each lane, sees suggestions and their earnings.

The account is made once per target (see journeys/accounts.py) and reused, so
the monitor exercises a user with history rather than a new one every minute.
A journey file like any other (journeys/files.py): `gauntlet journey run` loads it by name.
"""

from __future__ import annotations

from gauntlet.journeys.accounts import ensure_account
from gauntlet.journeys.content import platform_content
from gauntlet.journeys.fixture import JourneyRun
from gauntlet.journeys.framework import JourneyCheckFailed
from gauntlet.journeys.session import testid

BUDGET_MS = 30000
LANES = ("for_you", "following", "shop")
# The following lane of a user who follows no one may be empty; the others never are on a seeded platform.
LANES_THAT_MAY_BE_EMPTY = frozenset({"following"})


def test_returning_user(journey: JourneyRun) -> None:
    """log in, each lane, suggestions, earnings totals"""
    s = journey.session
    platform_content(journey)

    with journey.step("account", budget_ms=10000):
        account, _ = ensure_account(journey.platform, journey.accounts, journey.target, "returning")

    with journey.step("login", budget_ms=6000):
        s.log_in(account, then="/home")

    for lane in LANES:
        with journey.step(f"lane_{lane}", budget_ms=5000):
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

    with journey.step("suggestions", budget_ms=6000):
        s.click_to("nav-discover", "/discover")
        s.wait_selector(testid("suggestion-card"), what="no suggestions on the discover page")
        s.notes["suggestions"] = s.by_testid("suggestion-card").count()

    with journey.step("earnings", budget_ms=5000):
        s.click_to("nav-earnings", "/earnings")
        for name in ("earnings-total", "earnings-captured", "earnings-pending", "earnings-missed"):
            text = s.by_testid(name).inner_text().strip()
            if "$" not in text:
                raise JourneyCheckFailed(f"earnings total {name!r} did not render an amount (shows {text!r})")
