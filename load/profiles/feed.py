"""Feed lanes: a signed-in person scrolls a lane page by page, opens items, hides some, adds to cart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from locust import task

from gauntlet.load.profiles import surface as s
from gauntlet.load.profiles.base import RockerUser, weight_of

MIN_PAGES, MAX_PAGES = 2, 5


class FeedUser(RockerUser):
    abstract = True
    lane: ClassVar[str] = "for_you"
    hide_chance: ClassVar[float] = 0.15
    cart_chance: ClassVar[float] = 0.10

    @task
    def scroll(self) -> None:
        if not self.signed_in():
            return
        seen = self.scroll_pages(self.rng.randint(MIN_PAGES, MAX_PAGES))
        if not seen:
            return
        for row in self.rng.sample(seen, k=min(2, len(seen))):
            self.open_item(row)
        if self.rng.random() < self.hide_chance:
            self.hide_item(self.rng.choice(seen))
        if self.rng.random() < self.cart_chance:
            listings = [row for row in seen if s.is_listing(row)]
            if listings:
                self.add_to_cart(self.rng.choice(listings))

    def scroll_pages(self, pages: int) -> list[Mapping[str, Any]]:
        """Follow the lane's cursor for up to `pages` pages; the rows seen."""
        cursor: Any = None
        seen: list[Mapping[str, Any]] = []
        for _ in range(pages):
            args = {"p_lane": self.lane, "p_cursor": cursor, "p_limit": s.FEED_PAGE_SIZE}
            ok, body = self.rpc(s.FEED, args, s.check_feed_page)
            if not ok:
                break
            rows = s.rows_of(body) or []
            seen.extend(rows)
            cursor = s.next_cursor_of(body)
            if not rows or cursor is None:
                break
        return seen

    def open_item(self, row: Mapping[str, Any]) -> None:
        if s.is_listing(row):
            self.rpc(s.LISTING_DETAIL, {"p_listing_id": s.item_id_of(row)}, s.check_object)
            return
        metadata = {"item_id": s.item_id_of(row), "kind": s.item_kind_of(row), "lane": self.lane}
        self.rpc(s.EMIT_SIGNAL, {"p_name": "feed.item_open", "p_metadata": metadata})

    def hide_item(self, row: Mapping[str, Any]) -> None:
        self.rpc(s.FEED_HIDE, {"p_item_kind": s.item_kind_of(row), "p_item_id": s.item_id_of(row)})

    def add_to_cart(self, row: Mapping[str, Any]) -> None:
        self.rpc(s.CART_ADD, {"p_listing_id": s.item_id_of(row), "p_quantity": 1}, s.check_object)


class HomeForYouUser(FeedUser):
    lane = "for_you"
    weight = weight_of("HomeForYouUser")


class FollowingUser(FeedUser):
    lane = "following"
    weight = weight_of("FollowingUser")


class ShopUser(FeedUser):
    lane = "shop"
    weight = weight_of("ShopUser")
    cart_chance = 0.35
