"""`seller`: a seller lists an item, another user finds it in the shop lane and checks out, the seller earns.

Payments are off on the reference platform (flag `payments_real` = false), so
checkout completes without a payment provider; the seller's earnings page must
then show an earnings event for the order.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from gauntlet.journeys.accounts import Account, ensure_account
from gauntlet.journeys.content import content_step
from gauntlet.journeys.framework import Journey, JourneyCheckFailed, Step
from gauntlet.journeys.session import JourneySession, testid

SHOP_PAGES = 3
EARNINGS_RELOAD_MS = 300


@dataclass
class Seller:
    s: JourneySession
    seller: Account | None = None
    buyer: Account | None = None
    title: str = ""
    listing_id: str = ""
    order_id: str = ""

    def steps(self) -> Sequence[Step]:
        return [
            content_step(self.s),
            Step("accounts", self.arrange_accounts, 15000),
            Step("seller_login", self.seller_login, 6000),
            Step("create_listing", self.create_listing, 6000),
            Step("buyer_login", self.buyer_login, 6000),
            Step("listing_in_shop_lane", self.listing_in_shop_lane, 6000),
            Step("checkout", self.checkout, 8000),
            Step("seller_earnings", self.seller_earnings, 10000),
        ]

    def arrange_accounts(self) -> None:
        s = self.s
        self.seller, _ = ensure_account(s.platform, s.accounts, s.target, "seller")
        self.buyer, _ = ensure_account(s.platform, s.accounts, s.target, "buyer")

    def seller_login(self) -> None:
        assert self.seller is not None
        self.s.log_in(self.seller, then="/home")

    def create_listing(self) -> None:
        s = self.s
        self.title = f"Journey saddle {uuid.uuid4().hex[:8]}"
        s.click_to("nav-sell", "/listing/new")
        s.by_testid("listing-title-input").fill(self.title)
        s.by_testid("listing-price-input").fill("42.50")
        s.by_testid("listing-description-input").fill("Listed by the seller journey")
        s.click_to("listing-submit", "/listing/")
        s.wait_selector(testid("listing"), what="the new listing did not show")
        self.listing_id = s.by_testid("listing").get_attribute("data-id") or ""
        shown = s.by_testid("listing-title").inner_text().strip()
        if shown != self.title:
            raise JourneyCheckFailed(f"the new listing page shows {shown!r}, expected {self.title!r}")

    def buyer_login(self) -> None:
        assert self.buyer is not None
        self.s.log_out()
        self.s.log_in(self.buyer, then="/home")

    def listing_in_shop_lane(self) -> None:
        s = self.s
        s.open("/home?lane=shop")
        ids = s.scroll_feed(1)
        pages = 1
        while self.listing_id not in ids and pages < SHOP_PAGES:
            pages += 1
            ids = s.scroll_feed(pages)
            if s.by_testid("feed").get_attribute("data-end") == "1":
                break
        if self.listing_id not in ids:
            raise JourneyCheckFailed(
                f"the new listing {self.listing_id} is not in another user's shop lane "
                f"({len(ids)} items in {pages} pages)"
            )

    def checkout(self) -> None:
        s = self.s
        item = s.page.locator(f'{testid("feed-item")}[data-id="{self.listing_id}"] {testid("feed-item-open")}')
        s.navigate(item.click, f"/listing/{self.listing_id}")
        s.by_testid("add-to-cart").click()
        s.wait_selector(testid("listing-in-cart"), what="the listing was not shown as in the cart")
        s.click_to("nav-cart", "/cart")
        s.wait_selector(
            f'{testid("cart-item")}[data-listing-id="{self.listing_id}"]', what="the carted listing is not in the cart"
        )
        s.by_testid("checkout").click()
        s.wait_selector(testid("order-confirmation"), what="checkout did not confirm an order")
        self.order_id = s.by_testid("order-confirmation").get_attribute("data-order-id") or ""
        if not self.order_id:
            raise JourneyCheckFailed("checkout confirmed no order id")
        status = s.by_testid("order-status").inner_text().strip()
        if status != "paid":
            raise JourneyCheckFailed(f"with payments off an order is paid at checkout, but it is {status!r}")

    def seller_earnings(self) -> None:
        assert self.seller is not None
        s = self.s
        s.log_out()
        s.log_in(self.seller, then="/home")
        s.click_to("nav-earnings", "/earnings")
        event = f'{testid("earnings-event")}[data-kind="commission"][data-order-id="{self.order_id}"]'
        # Earnings may be recorded by a worker shortly after checkout: reload until the event shows.
        deadline = time.monotonic() + s.timeout_ms / 1000
        while s.page.locator(event).count() == 0:
            if time.monotonic() >= deadline:
                raise JourneyCheckFailed(f"no commission for order {self.order_id} on the seller's earnings page")
            s.page.wait_for_timeout(EARNINGS_RELOAD_MS)
            s.open("/earnings")


def build(session: JourneySession) -> Sequence[Step]:
    return Seller(session).steps()


JOURNEY = Journey(
    name="seller",
    description="create a listing, find it in another user's shop lane, check out, seller earnings",
    total_budget_ms=45000,
    build=build,
)
