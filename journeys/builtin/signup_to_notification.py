"""`signup_to_notification`: a new user's first minutes, from the signup form to a read notification.

sign up -> onboarding (handle check, 3 interests, Finish only then, complete) -> home feed,
3 pages with no duplicates -> open a listing, add it to the cart (it must then
be gone from the feed) -> calendar -> a notification arrives and the bell
badge updates live (no reload) -> mark all read.

A journey file like any other (journeys/files.py): `gauntlet journey run` loads it by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gauntlet.journeys.accounts import Account, fresh_email, fresh_handle, fresh_password
from gauntlet.journeys.content import platform_content
from gauntlet.journeys.fixture import JourneyRun
from gauntlet.journeys.framework import JourneyCheckFailed
from gauntlet.journeys.notify import badge_count, send_notification, wait_badge, wait_bell_live
from gauntlet.journeys.session import testid

if TYPE_CHECKING:
    from playwright.sync_api import Page

BUDGET_MS = 30000
SIGNS_UP_EVERY_RUN = True  # a new user each run, by design: the monitor never loops it against a deployment
FEED_PAGES = 3


def test_signup_to_notification(page: Page, journey: JourneyRun) -> None:
    """sign up, onboard, scroll the feed, cart a listing, calendar, live notification, mark read"""
    s = journey.session
    account = Account(fresh_email("signup"), fresh_password())
    handle = fresh_handle()
    platform_content(journey)

    with journey.step("signup", budget_ms=8000):
        s.open("/signup")
        s.by_testid("signup-email").fill(account.email)
        s.by_testid("signup-password").fill(account.password)
        s.click_to("signup-submit", "/onboarding")

    with journey.step("onboarding_handle", budget_ms=5000):
        status = testid("handle-status")
        # The check must say no as well as yes: a reserved handle is never available.
        s.by_testid("onboarding-handle").fill("admin")
        s.wait_selector(f'{status}[data-available="false"]', what="the reserved handle 'admin' was not refused")
        s.by_testid("onboarding-handle").fill(handle)
        s.wait_selector(f'{status}[data-available="true"]', what=f"handle {handle} was not reported available")

    with journey.step("onboarding_interests", budget_ms=5000):
        options = s.by_testid("interest-option")
        s.wait_selector(testid("interest-option"), what="no interests to pick")
        for index in range(3):
            options.nth(index).click()
            s.wait_selector(
                f'{testid("interest-count")}:text-is("{index + 1}")', what=f"picking interest {index + 1} did not count"
            )
            if index == 1:  # complete_onboarding refuses fewer than 3: Finish must not be offered at 2
                s.wait_selector(
                    f"{testid('onboarding-complete')}:disabled", what="Finish was enabled with only 2 interests picked"
                )

    with journey.step("onboarding_complete", budget_ms=6000):
        s.wait_selector(f"{testid('onboarding-complete')}:enabled", what="Finish stayed disabled")
        s.click_to("onboarding-complete", "/home")

    with journey.step("feed_scroll", budget_ms=6000):
        feed = s.scroll_feed(FEED_PAGES)
        pages = int(s.by_testid("feed").get_attribute("data-pages") or "0")
        if pages < FEED_PAGES:
            raise JourneyCheckFailed(
                f"the home feed has only {pages} page(s) ({len(feed)} items); expected {FEED_PAGES}"
            )
        duplicates = sorted({i for i in feed if feed.count(i) > 1})
        if duplicates:
            raise JourneyCheckFailed(f"the feed repeated items across pages: {duplicates[:5]}")
        s.notes["feed_items"] = len(feed)

    with journey.step("open_listing", budget_ms=5000):
        listing = page.locator(f'{testid("feed")} {testid("feed-item")}[data-kind="listing"]').first
        if listing.count() == 0:
            raise JourneyCheckFailed(f"no listing among the {len(feed)} feed items to open")
        listing_id = listing.get_attribute("data-id") or ""
        s.navigate(listing.locator(testid("feed-item-open")).click, f"/listing/{listing_id}")
        s.wait_selector(f'{testid("listing")}[data-id="{listing_id}"]', what="the listing did not show")

    with journey.step("add_to_cart", budget_ms=4000):
        s.by_testid("add-to-cart").click()
        s.wait_selector(testid("listing-in-cart"), what="the listing was not shown as in the cart")

    with journey.step("cart_suppressed_in_feed", budget_ms=6000):
        s.click_to("nav-home", "/home")
        ids = s.scroll_feed(FEED_PAGES)
        if listing_id in ids:
            raise JourneyCheckFailed(
                f"listing {listing_id} is in the cart but still shows in the home feed "
                f"(position {ids.index(listing_id) + 1} of {len(ids)})"
            )

    with journey.step("calendar", budget_ms=5000):
        s.click_to("nav-calendar", "/calendar")
        s.click_to("calendar-scope-all", "/calendar")
        s.wait_selector(f"{testid('event-item')}, {testid('calendar-empty')}", what="the calendar showed nothing")

    with journey.step("notification_live_badge", budget_ms=6000):
        wait_bell_live(s)
        before = badge_count(s)
        send_notification(s, title="Welcome to Rocker")
        wait_badge(s, lambda n: n > before, what=f"the bell badge did not rise above {before} without a reload")

    with journey.step("mark_all_read", budget_ms=5000):
        unread = f'{testid("notification-item")}[data-read="0"]'
        s.click_to("bell", "/notifications")
        s.wait_selector(unread, what="the new notification is not listed as unread")
        s.by_testid("mark-all-read").click()
        s.wait_selector(unread, what="notifications stayed unread after mark all read", state="detached")
        wait_bell_live(s)
        wait_badge(s, lambda n: n == 0, what="the bell badge did not drop to 0 after mark all read")
