"""A returning user signs in, browses the shop lane and checks their earnings: a journey file Gauntlet runs.

    gauntlet journey run examples/journeys/shop_visit.py
    gauntlet monitor run --every 60s --journeys returning_user,examples/journeys/shop_visit.py

It is a plain Playwright test, as pytest-playwright writes them: every `test_*` function is a
journey (named without the prefix: `shop_visit`), its parameters are fixtures (`page`,
`context`, `browser`, `base_url`, `journey`), and each `with journey.step(...)` block is one
timed step with its own budget. A step fails when it raises or overruns its budget; the
journey stops there, and Gauntlet keeps a screenshot of the page, the console errors and a
Playwright trace. `async def` tests work the same way with Playwright's async API.

`journey.url(path)` is the target's page, `journey.account(role)` an onboarded account made
once per target (kept in accounts.json under --artifacts; the target file's accounts_file
against a deployment).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from playwright.sync_api import Page, expect

if TYPE_CHECKING:
    from gauntlet.journeys.fixture import JourneyRun

BUDGET_MS = 30000  # the whole journey; each step has its own budget below
READY = 'body[data-ready="1"]'  # the platform's pages set it after their first render


def test_shop_visit(page: Page, journey: JourneyRun) -> None:
    """sign in, the shop lane, earnings totals"""
    with journey.step("account", budget_ms=10000):
        account = journey.account("returning")

    with journey.step("login", budget_ms=6000):
        page.goto(journey.url("/login"))
        page.get_by_test_id("login-email").fill(account.email)
        page.get_by_test_id("login-password").fill(account.password)
        page.get_by_test_id("login-submit").click()
        expect(page).to_have_url(re.compile(r"/home"))
        expect(page.locator(READY)).to_be_attached()

    with journey.step("shop_lane", budget_ms=6000):
        page.goto(journey.url("/home?lane=shop"))
        feed = page.get_by_test_id("feed")
        expect(feed).to_have_attribute("data-lane", "shop")
        expect(feed).to_have_attribute("data-pages", re.compile(r"[1-9]"))
        # An empty platform has an empty shop lane, and the page must say so.
        expect(feed.get_by_test_id("feed-item").or_(page.get_by_test_id("feed-empty")).first).to_be_visible()
        expect(page.get_by_test_id("error")).to_be_hidden()

    with journey.step("earnings", budget_ms=5000):
        page.goto(journey.url("/earnings"))
        for total in ("earnings-total", "earnings-captured", "earnings-pending", "earnings-missed"):
            expect(page.get_by_test_id(total)).to_contain_text("$")
