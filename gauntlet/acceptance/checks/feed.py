"""Feed Fusion (seeds 003/004 "Acceptance tests: Feed Fusion"): lanes, pages, caps, blends, seller rule, hides, cart.

Every check goes through `feed_fusion_home` as a signed-in user. The for_you and
shop lanes read every post, listing and event on the platform, so on the gate's
stack (scale data, load writes, other checks) a check cannot know what a page
holds; it judges rules that hold on any data (cursors advance, nothing repeats,
caps, the seller rule), and guarantees the supply its expectations rely on by
making content of its own first (the "world" below: pages with posts, listings
and upcoming events, made once per run and shared by the checks). The following
lane reads only the viewer's followed pages, so with a fresh viewer who follows
the world's pages it is exactly the world, and exact expectations hold there.

An item's place in its stream is its sort key: posts and listings newest first
(created_at, id), events soonest first (starts_at, id). A check that must know an
item "never came back" scrolls until each stream has gone past it, so a
concurrent writer pushing items down cannot make a broken filter look healthy.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gauntlet.acceptance.registry import CheckFailed, check, expect, fail
from gauntlet.acceptance.surface import Surface, User

SEEDS = "003/004 Acceptance tests: Feed Fusion"
LANES = ("for_you", "following", "shop")
KINDS = ("post", "listing", "event")
# The seeds' blends (posts / listings / events) and listing caps. Shop's "85/10/5" is read the way the
# platform documents it (listings 85 %, posts 10 %, events 5 %; migration 240, "How a home page is built").
BLENDS: dict[str, tuple[float, float, float]] = {
    "for_you": (0.60, 0.25, 0.15),
    "following": (0.80, 0.05, 0.15),
    "shop": (0.10, 0.85, 0.05),
}
CAPS: dict[str, tuple[int, int]] = {"for_you": (1, 2), "following": (1, 3), "shop": (2, 3)}
# A blend is a target a page of n items can only round to: each kind is held to within one item of
# its share (weight * n, the listings' share bounded by the cap and the rest shared out by weight).
# One item is 5 % of a 20-item page, the seeds' smallest weight, so a blend off by a whole weight step
# (or a swapped weight) fails, and rounding never does.
BLEND_TOLERANCE_ITEMS = 1.0
PAGE = 20
SELLER_GAP = 0.25
SCORE_EPS = 1e-5  # scores are shown rounded to 6 decimals

# The world: per owner one page, posts (every third also cross-posted to the annex page, which only
# the first owner owns: one post with two approved followed targets must come once), listings and
# upcoming events. Enough for three full 20-item pages of every lane even on an empty platform.
WORLD_OWNERS = 4
POSTS_PER_OWNER = 13
LISTINGS_PER_OWNER = 11
EVENTS_PER_OWNER = 4


# -- items and pages -------------------------------------------------------------------------------


def key(item: dict[str, Any]) -> tuple[str, str]:
    return (str(item["kind"]), str(item["id"]))


def _ts(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def stream_key(item: dict[str, Any]) -> tuple[datetime, str]:
    """Where the item sits in its own stream (events by start, the others by creation)."""
    when = item["starts_at"] if item["kind"] == "event" else item["created_at"]
    return (_ts(when), str(item["id"]))


def is_past(seen: dict[str, Any], target: dict[str, Any]) -> bool:
    """True when `seen` (same kind) sorts strictly after `target` in their stream, i.e. the stream passed it."""
    if target["kind"] == "event":
        return stream_key(seen) > stream_key(target)
    return stream_key(seen) < stream_key(target)


@dataclass
class Page:
    lane: str
    number: int
    raw: dict[str, Any]

    @property
    def items(self) -> list[dict[str, Any]]:
        return list(self.raw.get("items") or [])

    @property
    def keys(self) -> list[tuple[str, str]]:
        return [key(i) for i in self.items]

    @property
    def cursor(self) -> str | None:
        value = self.raw.get("next_cursor")
        return str(value) if value else None

    @property
    def has_more(self) -> bool:
        return bool(self.raw.get("has_more"))

    def count(self, kind: str) -> int:
        return sum(1 for i in self.items if i.get("kind") == kind)

    def name(self) -> str:
        return f"{self.lane} page {self.number}"


async def home(
    t: Surface, user: User, lane: str, cursor: str | None = None, limit: int = PAGE, number: int = 1
) -> Page:
    args: dict[str, Any] = {"p_lane": lane, "p_limit": limit}
    if cursor is not None:
        args["p_cursor"] = cursor
    body = await t.rpc_ok("feed_fusion_home", args, as_=user)
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        fail(f"feed_fusion_home(lane {lane!r}) returned {str(body)[:200]}; expected an object with items")
    return Page(lane, number, body)


async def scroll(t: Surface, user: User, lane: str, pages: int, limit: int = PAGE) -> list[Page]:
    """Up to `pages` pages of a lane, each from the previous page's next_cursor."""
    out = [await home(t, user, lane, limit=limit)]
    while len(out) < pages and out[-1].cursor is not None:
        out.append(await home(t, user, lane, out[-1].cursor, limit, number=len(out) + 1))
    return out


async def scroll_past(
    t: Surface, user: User, lane: str, targets: list[dict[str, Any]], *, limit: int = 50, max_pages: int = 12
) -> list[Page]:
    """Pages of `lane` until every target's stream has gone past the target (or the lane ends)."""
    pages: list[Page] = []
    cursor: str | None = None
    waiting = list(targets)
    while True:
        page = await home(t, user, lane, cursor, limit, number=len(pages) + 1)
        pages.append(page)
        waiting = [w for w in waiting if not any(i["kind"] == w["kind"] and is_past(i, w) for i in page.items)]
        cursor = page.cursor
        if not waiting or cursor is None:
            return pages
        if len(pages) >= max_pages:
            names = ", ".join(f"{w['kind']} {w['id']}" for w in waiting)
            fail(
                f"scrolled {len(pages)} pages of {limit} in lane {lane} and its streams had not yet gone past {names}; "
                "the check cannot tell whether they would come back (is something writing very fast?)"
            )


def seen_keys(pages: list[Page]) -> list[tuple[str, str]]:
    return [k for p in pages for k in p.keys]


# -- the rules, on any page --------------------------------------------------------------------------


def expect_no_duplicates(pages: list[Page]) -> None:
    where: dict[tuple[str, str], str] = {}
    for page in pages:
        for item_key in page.keys:
            if item_key in where:
                fail(
                    f"{item_key[0]} {item_key[1]} was served on {where[item_key]} and again on {page.name()}: "
                    "scrolling with next_cursor must never repeat an item (seeds: 'no duplicates')"
                )
            where[item_key] = page.name()


def expect_cursors_advance(pages: list[Page], wanted: int) -> None:
    expect(
        len(pages) >= wanted,
        f"lane {pages[0].lane} ended after {len(pages)} page(s) (has_more={pages[-1].has_more}) although the "
        f"platform holds enough content for {wanted} pages of {PAGE}; the seeds scroll 3+ pages",
    )
    cursors = [p.cursor for p in pages[: wanted - 1]]
    expect(
        all(c is not None for c in cursors) and len(set(cursors)) == len(cursors),
        f"lane {pages[0].lane}: next_cursor over the first {wanted - 1} pages was {cursors}; each page must give "
        "a new cursor (seeds: 'cursor advances')",
    )
    for page in pages[:wanted]:
        expect(len(page.items) > 0, f"{page.name()} is empty although the lane said has_more")


def expect_listing_cap(page: Page) -> None:
    num, den = CAPS[page.lane]
    listings, n = page.count("listing"), len(page.items)
    expect(
        listings * den <= num * n,
        f"{page.name()} holds {listings} listings of {n} items, above the lane's cap of {num}/{den} "
        f"(seeds: listings <= 1/2 for_you, 1/3 following, 2/3 shop)",
    )


def blend_targets(lane: str, n: int) -> tuple[float, float, float]:
    posts_w, listings_w, events_w = BLENDS[lane]
    num, den = CAPS[lane]
    listings = min(listings_w, num / den)
    rest = 1.0 - listings
    return (rest * posts_w / (posts_w + events_w) * n, listings * n, rest * events_w / (posts_w + events_w) * n)


def expect_blend(page: Page) -> None:
    n = len(page.items)
    got = (page.count("post"), page.count("listing"), page.count("event"))
    want = blend_targets(page.lane, n)
    weights = "/".join(f"{w * 100:.0f}" for w in BLENDS[page.lane])
    ok = all(abs(g - w) <= BLEND_TOLERANCE_ITEMS for g, w in zip(got, want, strict=True))
    expect(
        ok,
        f"{page.name()} blends posts/listings/events as {got[0]}/{got[1]}/{got[2]} of {n}; the lane's blend "
        f"{weights} (listings within the cap) gives {want[0]:.1f}/{want[1]:.1f}/{want[2]:.1f}, and each kind must be "
        f"within {BLEND_TOLERANCE_ITEMS:.0f} item of it while every stream has content (it has here)",
    )
    reported = page.raw.get("blend")
    expect(
        reported == {"posts": got[0], "listings": got[1], "events": got[2]},
        f"{page.name()} reports blend {reported} but holds {got[0]} posts, {got[1]} listings, {got[2]} events",
    )


def expect_seller_rule(page: Page) -> int:
    """No seller twice in a row unless it outscores every other seller's remaining item by >= 0.25.

    Returns how many back-to-back pairs the page had (each justified by the score gap)."""
    items = page.items
    pairs = 0
    for i in range(len(items) - 1):
        first, second = items[i], items[i + 1]
        if first["actor"] != second["actor"]:
            continue
        pairs += 1
        gap_needed = float(second["score"]) - SELLER_GAP + SCORE_EPS
        closer = [it for it in items[i + 2 :] if it["actor"] != first["actor"] and float(it["score"]) > gap_needed]
        if closer:
            other = closer[0]
            fail(
                f"{page.name()}: positions {i + 1} and {i + 2} are both from seller {first['actor']} "
                f"(scores {first['score']}, {second['score']}) while {other['kind']} {other['id']} of seller "
                f"{other['actor']} (score {other['score']}, less than {SELLER_GAP} below) was still to be shown; "
                f"seeds: no back-to-back seller unless the score delta is >= {SELLER_GAP}"
            )
    return pairs


# -- the world ---------------------------------------------------------------------------------------


@dataclass
class World:
    owners: list[User]
    pages: list[str]  # one per owner, then the annex (owner 0's second page)
    posts: set[str] = field(default_factory=set)
    listings: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)

    def ids(self) -> set[str]:
        return self.posts | self.listings | self.events


_WORLDS: dict[str, asyncio.Task[World]] = {}


def handle(t: Surface, tag: str) -> str:
    return f"acc{t.run_id}{tag}"[:30]


async def new_page(t: Surface, owner: User, tag: str) -> str:
    body = await t.rpc_ok(
        "entity_create", {"p_handle": handle(t, tag), "p_display_name": f"Acceptance {tag}"}, as_=owner
    )
    return str(body["id"])


async def _build_world(t: Surface) -> World:
    owners = list(await asyncio.gather(*(t.signup(f"feed-owner{i}") for i in range(WORLD_OWNERS))))
    pages = list(await asyncio.gather(*(new_page(t, o, f"w{i}") for i, o in enumerate(owners))))
    annex = await new_page(t, owners[0], "wannex")
    world = World(owners, [*pages, annex])
    now = datetime.now(UTC)

    async def fill(index: int) -> None:
        owner, page = owners[index], pages[index]
        for n in range(max(POSTS_PER_OWNER, LISTINGS_PER_OWNER, EVENTS_PER_OWNER)):
            if n < POSTS_PER_OWNER:
                args: dict[str, Any] = {"p_body": f"acceptance {t.run_id} post {index}.{n}", "p_entity_id": page}
                if index == 0 and n % 3 == 0:
                    args["p_target_entity_ids"] = [annex]
                world.posts.add(str((await t.rpc_ok("post_create", args, as_=owner))["id"]))
            if n < LISTINGS_PER_OWNER:
                listing = await t.rpc_ok(
                    "listing_create",
                    {"p_title": f"acceptance {t.run_id} listing {index}.{n}", "p_price_cents": 1000 + n,
                     "p_entity_id": page},
                    as_=owner,
                )  # fmt: skip
                world.listings.add(str(listing["id"]))
            if n < EVENTS_PER_OWNER:
                starts = now + timedelta(hours=1 + n * WORLD_OWNERS + index, minutes=7)
                event = await t.rpc_ok(
                    "event_create",
                    {"p_title": f"acceptance {t.run_id} event {index}.{n}", "p_starts_at": starts.isoformat(),
                     "p_entity_id": page},
                    as_=owner,
                )  # fmt: skip
                world.events.add(str(event["id"]))

    await asyncio.gather(*(fill(i) for i in range(WORLD_OWNERS)))
    return world


async def world(t: Surface) -> World:
    """The run's shared content, made once (the first check to ask builds it; a cancelled check does not stop it)."""
    task = _WORLDS.get(t.run_id)
    if task is None:
        task = asyncio.ensure_future(_build_world(t))
        _WORLDS[t.run_id] = task
    try:
        return await asyncio.shield(task)
    except CheckFailed as exc:
        raise CheckFailed(f"making the feed checks' content failed: {exc}") from exc


async def follower(t: Surface, tag: str, pages: list[str]) -> User:
    """A fresh user who follows exactly `pages`."""
    user = await t.signup(tag)
    for page in pages:
        await t.rpc_ok("entity_follow", {"p_entity_id": page}, as_=user)
    return user


# -- checks ------------------------------------------------------------------------------------------


async def _lane_pages(t: Surface, lane: str) -> list[Page]:
    w = await world(t)
    viewer = await follower(t, f"{lane}-pages", w.pages)
    pages = await scroll(t, viewer, lane, pages=3)
    expect_cursors_advance(pages, 3)
    expect_no_duplicates(pages)
    for page in pages:
        expect_listing_cap(page)
        expect_blend(page)
        expect_seller_rule(page)
    return pages


@check(
    "feed.for_you_pages",
    title="for_you: 3 pages of 20 with advancing cursors, no item twice, listings <= 1/2, blend 60/25/15, "
    "no back-to-back seller without a 0.25 score gap",
    seeds=SEEDS,
)
async def for_you_pages(t: Surface) -> None:
    await _lane_pages(t, "for_you")


@check(
    "feed.following_pages",
    title="following: 3 pages of 20 of the followed pages only, advancing cursors, no item twice (a post aimed "
    "at two followed pages comes once), listings <= 1/3, blend 80/5/15, seller rule",
    seeds=SEEDS,
)
async def following_pages(t: Surface) -> None:
    w = await world(t)
    pages = await _lane_pages(t, "following")
    strangers = [k for k in seen_keys(pages) if k[1] not in w.ids()]
    expect(
        not strangers,
        f"the following lane of a user who follows only {len(w.pages)} acceptance pages served "
        f"{len(strangers)} items from elsewhere, e.g. {strangers[:3]}",
    )


@check(
    "feed.shop_pages",
    title="shop: 3 pages of 20 with advancing cursors, no item twice, listings <= 2/3 (the cap binds: the "
    "85 % listing weight is above it), blend within one item, seller rule",
    seeds=SEEDS,
)
async def shop_pages(t: Surface) -> None:
    pages = await _lane_pages(t, "shop")
    num, den = CAPS["shop"]
    full = [p for p in pages if p.count("listing") == (num * len(p.items)) // den]
    expect(
        bool(full),
        f"no shop page reached its listing cap ({[p.count('listing') for p in pages]} listings per page of "
        f"{[len(p.items) for p in pages]}), although the shop blend asks for more listings than the cap allows",
    )


@check(
    "feed.listing_cap_binds",
    title="following, with few posts and many listings: a page holds at most 1/3 listings and the lane then "
    "ends rather than serving listings beyond the cap",
    seeds=SEEDS,
)
async def listing_cap_binds(t: Surface) -> None:
    owner = await t.signup("cap-owner")
    page_id = await new_page(t, owner, "cap")
    for n in range(3):
        await t.rpc_ok("post_create", {"p_body": f"cap post {n}", "p_entity_id": page_id}, as_=owner)
    for n in range(8):
        await t.rpc_ok(
            "listing_create", {"p_title": f"cap listing {n}", "p_price_cents": 500, "p_entity_id": page_id}, as_=owner
        )
    viewer = await follower(t, "cap-viewer", [page_id])
    pages = await scroll(t, viewer, "following", pages=6, limit=10)
    for page in pages:
        expect_listing_cap(page)
    listings = sum(p.count("listing") for p in pages)
    posts = sum(p.count("post") for p in pages)
    expect(posts == 3, f"the following lane showed {posts} of the page's 3 posts over {len(pages)} page(s)")
    expect(
        listings == 1,
        f"with 3 posts and 8 listings on the only followed page, the following lane served {listings} listings "
        f"over {len(pages)} page(s) of 10 ({[len(p.items) for p in pages]} items); the 1/3 cap allows one listing "
        "beside 3 posts, and once only listings are left the lane must end instead of serving them",
    )
    expect(
        pages[-1].cursor is None and not pages[-1].has_more,
        f"{pages[-1].name()} still offers a next page (has_more={pages[-1].has_more}) when only listings over the "
        "cap are left",
    )


@check(
    "feed.seller_rule",
    title="when one seller has the freshest items, the lane alternates sellers: no back-to-back seller unless "
    "the score gap is >= 0.25",
    seeds=SEEDS,
)
async def seller_rule(t: Surface) -> None:
    owner = await t.signup("seller-owner")
    hot = await new_page(t, owner, "hot")
    others = [await new_page(t, owner, f"cold{n}") for n in range(4)]
    for n, page_id in enumerate(others):  # older first: the hot seller's posts are the freshest
        await t.rpc_ok("post_create", {"p_body": f"cold post {n}", "p_entity_id": page_id}, as_=owner)
    for n in range(6):
        await t.rpc_ok("post_create", {"p_body": f"hot post {n}", "p_entity_id": hot}, as_=owner)
    viewer = await follower(t, "seller-viewer", [hot, *others])
    page = await home(t, viewer, "following", limit=10)
    actors = [str(i["actor"]) for i in page.items]
    expect(
        actors.count(f"e:{hot}") == 6 and len(actors) == 10,
        f"the following lane showed {actors} for 6 posts of one page and 4 of others",
    )
    # Scores differ by seconds of decay, far below 0.25: the greedy ranker must alternate sellers while
    # other sellers' items remain. (Only the general rule is asserted: exploration may show two other
    # sellers in a row and so leave the hot seller's last items back to back, which the rule allows.)
    expect_seller_rule(page)


@check(
    "feed.hidden_never_return",
    title="a post, a listing and an event hidden with feed_hide never come back in any lane (scrolled past "
    "where they were), while the rest of the page does",
    seeds=SEEDS,
)
async def hidden_never_return(t: Surface) -> None:
    # A page of its own: its post and listing are the newest on the platform and its event the soonest
    # (starting in minutes), so every lane reaches them within its first pages whatever else exists.
    owner = await t.signup("hide-owner")
    page_id = await new_page(t, owner, "hide")
    for n in range(3):
        await t.rpc_ok("post_create", {"p_body": f"hide post {n}", "p_entity_id": page_id}, as_=owner)
    await t.rpc_ok(
        "listing_create", {"p_title": "hide listing", "p_price_cents": 700, "p_entity_id": page_id}, as_=owner
    )
    soon = (datetime.now(UTC) + timedelta(minutes=3)).isoformat()
    await t.rpc_ok("event_create", {"p_title": "hide event", "p_starts_at": soon, "p_entity_id": page_id}, as_=owner)
    viewer = await follower(t, "hider", [page_id])
    first = await home(t, viewer, "following", limit=50)
    hidden: list[dict[str, Any]] = []
    for kind in KINDS:
        item = next((i for i in first.items if i["kind"] == kind), None)
        if item is None:
            fail(f"the following lane of a user who follows one page with a {kind} shows no {kind}: {first.keys}")
        answer = await t.rpc_ok("feed_hide", {"p_item_kind": kind, "p_item_id": item["id"]}, as_=viewer)
        expect(answer is True, f"feed_hide({kind}, {item['id']}) returned {answer!r}; expected true (newly hidden)")
        hidden.append(item)
    hidden_keys = {key(i) for i in hidden}
    for lane in (*LANES, "combined", "personal"):
        pages = await scroll_past(t, viewer, lane, hidden)
        back = hidden_keys & set(seen_keys(pages))
        expect(
            not back,
            f"after feed_hide, lane {lane} served the hidden {sorted(back)} again within {len(pages)} page(s); "
            "seeds: hidden items never return",
        )
    kept = [k for k in first.keys if k not in hidden_keys]
    again = set(seen_keys(await scroll(t, viewer, "following", pages=3)))
    expect(
        set(kept) <= again,
        f"after hiding 3 items, following no longer shows other items of its first page ({set(kept) - again}): "
        "feed_hide must hide only what it names",
    )


@check(
    "feed.cart_suppressed",
    title="a listing the user put in the cart (cart_add) is no longer served in any lane",
    seeds=SEEDS,
)
async def cart_suppressed(t: Surface) -> None:
    w = await world(t)
    viewer = await follower(t, "shopper", w.pages)
    first = await home(t, viewer, "shop", limit=50)
    # The newest acceptance listing: it is also on the first page of the following lane (which takes
    # its followed pages' listings newest first, one or two a page).
    ours = [i for i in first.items if i["kind"] == "listing" and i["id"] in w.listings]
    if not ours:
        fail(f"shop page 1 of 50 shows none of the {len(w.listings)} acceptance listings made moments ago")
    listing = max(ours, key=stream_key)
    await t.rpc_ok("cart_add", {"p_listing_id": listing["id"]}, as_=viewer)
    for lane in LANES:
        pages = await scroll_past(t, viewer, lane, [listing])
        expect(
            key(listing) not in set(seen_keys(pages)),
            f"after cart_add of listing {listing['id']}, lane {lane} still served it within {len(pages)} page(s); "
            "seeds: items in the cart are excluded from the feed",
        )


async def _stable_page(t: Surface, viewer: User, lane: str, other: str) -> tuple[Page, Page]:
    """Page 1 of `lane` and of `other`, until `lane` gives the same items before and after (no write between)."""
    for _ in range(4):
        before = await home(t, viewer, lane)
        alias = await home(t, viewer, other)
        after = await home(t, viewer, lane)
        if set(before.keys) == set(after.keys):
            return before, alias
        await asyncio.sleep(0.3)
    fail(f"page 1 of lane {lane} changed between every two requests (something writes all the time)")


@check(
    "feed.legacy_lanes",
    title="the legacy lane names map: combined gives the for_you page, personal the following page, and "
    "their cursors continue those lanes",
    seeds=SEEDS,
)
async def legacy_lanes(t: Surface) -> None:
    w = await world(t)
    viewer = await follower(t, "legacy", w.pages)
    for legacy, lane in (("combined", "for_you"), ("personal", "following")):
        page, alias = await _stable_page(t, viewer, lane, legacy)
        expect(
            alias.raw.get("lane") == lane,
            f"feed_fusion_home(p_lane={legacy!r}) answered lane {alias.raw.get('lane')!r}; the seeds map "
            f"{legacy} -> {lane}",
        )
        expect(
            set(alias.keys) == set(page.keys),
            f"lane {legacy} page 1 holds {len(set(alias.keys) - set(page.keys))} items that {lane} page 1 does not "
            f"(and misses {len(set(page.keys) - set(alias.keys))}); {legacy} is the old name of {lane}",
        )
        if alias.cursor is not None:
            nxt = await t.rpc(
                "feed_fusion_home", {"p_lane": lane, "p_cursor": alias.cursor, "p_limit": PAGE}, as_=viewer
            )
            expect(nxt.ok, f"the cursor of lane {legacy} was refused by lane {lane}: {nxt.describe()}")


@check(
    "feed.lane_switch_restarts",
    title="switching lanes restarts at page 1: a cursor of one lane is refused by another or gives that "
    "lane's page 1, never a page further down",
    seeds=SEEDS,
)
async def lane_switch_restarts(t: Surface) -> None:
    w = await world(t)
    viewer = await follower(t, "switcher", w.pages)
    for lane, other in (("for_you", "following"), ("following", "shop"), ("shop", "for_you")):
        first = await home(t, viewer, lane)
        if first.cursor is None:
            fail(f"lane {lane} page 1 gave no next_cursor; the acceptance content fills more than one page")
        for _ in range(4):
            fresh = await home(t, viewer, other)
            switched = await t.rpc(
                "feed_fusion_home", {"p_lane": other, "p_cursor": first.cursor, "p_limit": PAGE}, as_=viewer
            )
            if not switched.ok:
                expect(
                    400 <= switched.status < 500,
                    f"switching to lane {other} with a cursor of lane {lane}: {switched.describe()}; expected page 1 "
                    "of the new lane or a 4xx refusal, never a server error",
                )
                break
            again = await home(t, viewer, other)
            if set(fresh.keys) != set(again.keys):
                continue  # something wrote between: ask again
            got = set(key(i) for i in switched.body.get("items") or [])
            expect(
                got == set(fresh.keys),
                f"lane {other} with the next_cursor of lane {lane} served {len(got - set(fresh.keys))} items that "
                f"are not on its page 1 (and left out {len(set(fresh.keys) - got)}); a new lane restarts at page 1",
            )
            break
        else:
            fail(f"page 1 of lane {other} changed between every two requests (something writes all the time)")


async def _profile(t: Surface, page_id: str, limit: int = 50) -> list[dict[str, Any]]:
    body = await t.rpc_ok("feed_fusion_profile", {"p_entity_id": page_id, "p_limit": limit}, as_="anon")
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        fail(f"feed_fusion_profile({page_id}) returned {str(body)[:200]}; expected an object with items")
    return list(body["items"])


@check(
    "feed.cross_post_waits_for_owner",
    title="a post another user aims at a page is pending: it shows neither in the page's following lane nor on "
    "its profile feed until the page's owner approves it (post_target_review), and then it shows in both",
    seeds=SEEDS + "; 003 idx_post_targets_approved (the feeds read approved targets only)",
)
async def cross_post_waits_for_owner(t: Surface) -> None:
    owner, stranger = await asyncio.gather(t.signup("xpost-owner"), t.signup("xpost-stranger"))
    page_id = await new_page(t, owner, "xpost")
    own = await t.rpc_ok("post_create", {"p_body": "the owner's own post", "p_entity_id": page_id}, as_=owner)
    post = await t.rpc_ok(
        "post_create", {"p_body": "a stranger's post for your page", "p_target_entity_ids": [page_id]}, as_=stranger
    )
    targets = {str(x.get("entity_id")): x.get("status") for x in post.get("targets") or []}
    expect(
        targets.get(page_id) == "pending",
        f"post_create by a user who does not own page {page_id}, aimed at it with p_target_entity_ids, answered "
        f"targets {post.get('targets')}; expected the page's target 'pending' until its owner approves it",
    )
    viewer = await follower(t, "xpost-viewer", [page_id])
    ids = {"post": str(post["id"]), "own": str(own["id"])}
    lane = {str(i["id"]) for i in (await home(t, viewer, "following", limit=50)).items}
    shown = {str(i["id"]) for i in await _profile(t, page_id)}
    for where, seen in (("the following lane of the page's only follower", lane), ("the page's profile feed", shown)):
        expect(
            ids["own"] in seen,
            f"{where} does not show the owner's own post {ids['own']} on the page (it shows {sorted(seen)[:5]})",
        )
        expect(
            ids["post"] not in seen,
            f"{where} shows post {ids['post']}, which another user aimed at the page and its owner never approved; "
            "a cross-post stays pending (off the page's feeds) until the owner calls post_target_review",
        )
    status = await t.rpc_ok(
        "post_target_review", {"p_post_id": ids["post"], "p_entity_id": page_id, "p_approve": True}, as_=owner
    )
    expect(status == "approved", f"post_target_review(approve) by the page's owner answered {status!r}")
    lane = {str(i["id"]) for i in (await home(t, viewer, "following", limit=50)).items}
    shown = {str(i["id"]) for i in await _profile(t, page_id)}
    for where, seen in (("the following lane of the page's only follower", lane), ("the page's profile feed", shown)):
        expect(
            ids["post"] in seen,
            f"after the page's owner approved post {ids['post']}, {where} still does not show it "
            f"(it shows {sorted(seen)[:5]}); an approved target is on the page's feeds",
        )


# The seeds' recency decay, exp(-hours / 48): an event's hours are its time to start. Scores are shown
# rounded to 6 decimals; the tolerance also absorbs a few minutes of clock skew between here and the
# platform (the decay moves by 0.013 an hour at 24 h), far below what a different half-life gives.
DECAY_HOURS = 48.0
DECAY_TOLERANCE = 0.003
DECAY_PROBES_H = (24.0, 72.0)


@check(
    "feed.recency_decay_48h",
    title="an item's score decays as exp(-hours/48): on a fresh page's profile feed, a new post scores ~1 and "
    "events starting in 24 h and 72 h score exp(-0.5) and exp(-1.5)",
    seeds="003 Exponential decay exp(-hours/48.0); 004 Exponential recency decay exp(-hours/48.0)",
)
async def recency_decay_48h(t: Surface) -> None:
    owner = await t.signup("decay-owner")
    page_id = await new_page(t, owner, "decay")
    post = await t.rpc_ok("post_create", {"p_body": "decay post", "p_entity_id": page_id}, as_=owner)
    events: dict[str, float] = {}
    for hours in DECAY_PROBES_H:
        starts = datetime.now(UTC) + timedelta(hours=hours)
        event = await t.rpc_ok(
            "event_create",
            {"p_title": f"decay event in {hours:.0f} h", "p_starts_at": starts.isoformat(), "p_entity_id": page_id},
            as_=owner,
        )
        events[str(event["id"])] = hours
    before = datetime.now(UTC)
    items = {str(i["id"]): i for i in await _profile(t, page_id)}
    after = datetime.now(UTC)
    missing = [i for i in (str(post["id"]), *events) if i not in items]
    expect(not missing, f"the profile feed of page {page_id} lacks its own item(s) {missing}: {list(items)}")
    probes = [(str(post["id"]), None), *((eid, _ts(items[eid]["starts_at"])) for eid in events)]
    for item_id, starts_at in probes:
        item = items[item_id]
        if starts_at is None:  # the post: its age, seconds
            low_h, high_h = 0.0, max((after - _ts(item["created_at"])).total_seconds() / 3600, 0.0)
        else:  # an event: its time to start, as of the request
            low_h = (starts_at - after).total_seconds() / 3600
            high_h = (starts_at - before).total_seconds() / 3600
        lo = math.exp(-high_h / DECAY_HOURS) - DECAY_TOLERANCE
        hi = math.exp(-low_h / DECAY_HOURS) + DECAY_TOLERANCE
        score = float(item["score"])
        expect(
            lo <= score <= hi,
            f"on the profile feed of a fresh page, {item['kind']} {item_id} ({low_h:.2f}-{high_h:.2f} h "
            f"{'old' if starts_at is None else 'to its start'}, no metadata score) scores {score}; the seeds' decay "
            f"exp(-hours/{DECAY_HOURS:.0f}) gives {math.exp(-(low_h + high_h) / 2 / DECAY_HOURS):.4f} "
            f"(allowed {lo:.4f}-{hi:.4f})",
        )
