"""`signup_to_notification`: a new user's first minutes, from the signup form to a read notification.

sign up -> onboarding (handle check, 3 interests, complete) -> home feed,
3 pages with no duplicates -> open a listing, add it to the cart (it must then
be gone from the feed) -> calendar -> a notification arrives and the bell
badge updates live (no reload) -> mark all read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gauntlet.journeys.accounts import Account, fresh_email, fresh_handle, fresh_password
from gauntlet.journeys.content import content_step
from gauntlet.journeys.framework import Journey, JourneyCheckFailed, Step
from gauntlet.journeys.notify import badge_count, send_notification, wait_badge, wait_bell_live
from gauntlet.journeys.session import JourneySession, testid

FEED_PAGES = 3


@dataclass
class SignupToNotification:
    s: JourneySession
    account: Account = field(default_factory=lambda: Account(fresh_email("signup"), fresh_password()))
    handle: str = field(default_factory=fresh_handle)
    feed: list[str] = field(default_factory=list)
    listing_id: str = ""

    def steps(self) -> Sequence[Step]:
        return [
            content_step(self.s),
            Step("signup", self.signup, 8000),
            Step("onboarding_handle", self.onboarding_handle, 5000),
            Step("onboarding_interests", self.onboarding_interests, 5000),
            Step("onboarding_complete", self.onboarding_complete, 6000),
            Step("feed_scroll", self.feed_scroll, 6000),
            Step("open_listing", self.open_listing, 5000),
            Step("add_to_cart", self.add_to_cart, 4000),
            Step("cart_suppressed_in_feed", self.cart_suppressed_in_feed, 6000),
            Step("calendar", self.calendar, 5000),
            Step("notification_live_badge", self.notification_live_badge, 6000),
            Step("mark_all_read", self.mark_all_read, 5000),
        ]

    def signup(self) -> None:
        s = self.s
        s.open("/signup")
        s.by_testid("signup-email").fill(self.account.email)
        s.by_testid("signup-password").fill(self.account.password)
        s.click_to("signup-submit", "/onboarding")

    def onboarding_handle(self) -> None:
        s = self.s
        status = testid("handle-status")
        # The check must say no as well as yes: a reserved handle is never available.
        s.by_testid("onboarding-handle").fill("admin")
        s.wait_selector(f'{status}[data-available="false"]', what="the reserved handle 'admin' was not refused")
        s.by_testid("onboarding-handle").fill(self.handle)
        s.wait_selector(f'{status}[data-available="true"]', what=f"handle {self.handle} was not reported available")

    def onboarding_interests(self) -> None:
        s = self.s
        options = s.by_testid("interest-option")
        s.wait_selector(testid("interest-option"), what="no interests to pick")
        for index in range(3):
            options.nth(index).click()
            s.wait_selector(
                f'{testid("interest-count")}:text-is("{index + 1}")', what=f"picking interest {index + 1} did not count"
            )

    def onboarding_complete(self) -> None:
        s = self.s
        s.wait_selector(f"{testid('onboarding-complete')}:enabled", what="Finish stayed disabled")
        s.click_to("onboarding-complete", "/home")

    def feed_scroll(self) -> None:
        ids = self.s.scroll_feed(FEED_PAGES)
        pages = int(self.s.by_testid("feed").get_attribute("data-pages") or "0")
        if pages < FEED_PAGES:
            raise JourneyCheckFailed(
                f"the home feed has only {pages} page(s) ({len(ids)} items); expected {FEED_PAGES}"
            )
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise JourneyCheckFailed(f"the feed repeated items across pages: {duplicates[:5]}")
        self.feed = ids
        self.s.notes["feed_items"] = len(ids)

    def open_listing(self) -> None:
        s = self.s
        listing = s.page.locator(f'{testid("feed")} {testid("feed-item")}[data-kind="listing"]').first
        if listing.count() == 0:
            raise JourneyCheckFailed(f"no listing among the {len(self.feed)} feed items to open")
        self.listing_id = listing.get_attribute("data-id") or ""
        s.navigate(listing.locator(testid("feed-item-open")).click, f"/listing/{self.listing_id}")
        s.wait_selector(f'{testid("listing")}[data-id="{self.listing_id}"]', what="the listing did not show")

    def add_to_cart(self) -> None:
        s = self.s
        s.by_testid("add-to-cart").click()
        s.wait_selector(testid("listing-in-cart"), what="the listing was not shown as in the cart")

    def cart_suppressed_in_feed(self) -> None:
        s = self.s
        s.click_to("nav-home", "/home")
        ids = s.scroll_feed(FEED_PAGES)
        if self.listing_id in ids:
            raise JourneyCheckFailed(
                f"listing {self.listing_id} is in the cart but still shows in the home feed "
                f"(position {ids.index(self.listing_id) + 1} of {len(ids)})"
            )

    def calendar(self) -> None:
        s = self.s
        s.click_to("nav-calendar", "/calendar")
        s.click_to("calendar-scope-all", "/calendar")
        s.wait_selector(f"{testid('event-item')}, {testid('calendar-empty')}", what="the calendar showed nothing")

    def notification_live_badge(self) -> None:
        s = self.s
        wait_bell_live(s)
        before = badge_count(s)
        send_notification(s, title="Welcome to Rocker")
        wait_badge(s, lambda n: n > before, what=f"the bell badge did not rise above {before} without a reload")

    def mark_all_read(self) -> None:
        s = self.s
        unread = f'{testid("notification-item")}[data-read="0"]'
        s.click_to("bell", "/notifications")
        s.wait_selector(unread, what="the new notification is not listed as unread")
        s.by_testid("mark-all-read").click()
        s.wait_selector(unread, what="notifications stayed unread after mark all read", state="detached")
        wait_bell_live(s)
        wait_badge(s, lambda n: n == 0, what="the bell badge did not drop to 0 after mark all read")


def build(session: JourneySession) -> Sequence[Step]:
    return SignupToNotification(session).steps()


JOURNEY = Journey(
    name="signup_to_notification",
    description="sign up, onboard, scroll the feed, cart a listing, calendar, live notification, mark read",
    total_budget_ms=30000,
    build=build,
    signs_up_every_run=True,
)
