"""`seller`: a seller lists an item, another user finds it in the shop lane and checks out, the seller earns.

Payments are off on the reference platform (flag `payments_real` = false), so
checkout completes without a payment provider; the seller's earnings page must
then show an earnings event for the order.
A journey file like any other (journeys/files.py): `gauntlet journey run` loads it by name.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from gauntlet.journeys.accounts import ensure_account
from gauntlet.journeys.content import platform_content
from gauntlet.journeys.fixture import JourneyRun
from gauntlet.journeys.framework import JourneyCheckFailed
from gauntlet.journeys.session import testid

if TYPE_CHECKING:
    from playwright.sync_api import Page

BUDGET_MS = 45000
SHOP_PAGES = 3
EARNINGS_RELOAD_MS = 300
PRICE = "42.50"  # the listing's price, as typed into the form
PRICE_CENTS = 4250


def test_seller(page: Page, journey: JourneyRun) -> None:
    """create a listing, find it in another user's shop lane, check out, seller earnings"""
    s = journey.session
    platform_content(journey)

    with journey.step("accounts", budget_ms=15000):
        seller, _ = ensure_account(journey.platform, journey.accounts, journey.target, "seller")
        buyer, _ = ensure_account(journey.platform, journey.accounts, journey.target, "buyer")

    with journey.step("seller_login", budget_ms=6000):
        s.log_in(seller, then="/home")

    with journey.step("create_listing", budget_ms=6000):
        title = f"Journey saddle {uuid.uuid4().hex[:8]}"
        s.click_to("nav-sell", "/listing/new")
        s.by_testid("listing-title-input").fill(title)
        s.by_testid("listing-price-input").fill(PRICE)
        s.by_testid("listing-description-input").fill("Listed by the seller journey")
        s.click_to("listing-submit", "/listing/")
        s.wait_selector(testid("listing"), what="the new listing did not show")
        listing_id = s.by_testid("listing").get_attribute("data-id") or ""
        shown = s.by_testid("listing-title").inner_text().strip()
        if shown != title:
            raise JourneyCheckFailed(f"the new listing page shows {shown!r}, expected {title!r}")

    with journey.step("buyer_login", budget_ms=6000):
        s.log_out()
        s.log_in(buyer, then="/home")

    with journey.step("listing_in_shop_lane", budget_ms=6000):
        s.open("/home?lane=shop")
        ids = s.scroll_feed(1)
        pages = 1
        while listing_id not in ids and pages < SHOP_PAGES:
            pages += 1
            ids = s.scroll_feed(pages)
            if s.by_testid("feed").get_attribute("data-end") == "1":
                break
        if listing_id not in ids:
            raise JourneyCheckFailed(
                f"the new listing {listing_id} is not in another user's shop lane ({len(ids)} items in {pages} pages)"
            )

    with journey.step("checkout", budget_ms=8000):
        item = page.locator(f'{testid("feed-item")}[data-id="{listing_id}"] {testid("feed-item-open")}')
        s.navigate(item.click, f"/listing/{listing_id}")
        s.by_testid("add-to-cart").click()
        s.wait_selector(testid("listing-in-cart"), what="the listing was not shown as in the cart")
        s.click_to("nav-cart", "/cart")
        s.wait_selector(
            f'{testid("cart-item")}[data-listing-id="{listing_id}"]', what="the carted listing is not in the cart"
        )
        # The total counts the listing (more only if an earlier run left something in the buyer's cart).
        s.wait_for(
            """([cents]) => { const t = document.querySelector('[data-testid="cart-total"]');
                              const shown = Math.round(Number((t ? t.textContent : "").replace(/[^0-9.]/g, "")) * 100);
                              return Number.isFinite(shown) && shown >= cents; }""",
            [PRICE_CENTS],
            what=f"the cart total does not count the carted listing's {PRICE}",
        )
        s.by_testid("checkout").click()
        s.wait_selector(testid("order-confirmation"), what="checkout did not confirm an order")
        order_id = s.by_testid("order-confirmation").get_attribute("data-order-id") or ""
        if not order_id:
            raise JourneyCheckFailed("checkout confirmed no order id")
        status = s.by_testid("order-status").inner_text().strip()
        if status != "paid":
            raise JourneyCheckFailed(f"with payments off an order is paid at checkout, but it is {status!r}")

    with journey.step("seller_earnings", budget_ms=10000):
        s.log_out()
        s.log_in(seller, then="/home")
        s.click_to("nav-earnings", "/earnings")
        event = f'{testid("earnings-event")}[data-kind="commission"][data-order-id="{order_id}"]'
        # Earnings may be recorded by a worker shortly after checkout: reload until the event shows.
        deadline = time.monotonic() + s.timeout_ms / 1000
        while page.locator(event).count() == 0:
            if time.monotonic() >= deadline:
                raise JourneyCheckFailed(f"no commission for order {order_id} on the seller's earnings page")
            page.wait_for_timeout(EARNINGS_RELOAD_MS)
            s.open("/earnings")
