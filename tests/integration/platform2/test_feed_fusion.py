"""Feed fusion acceptance (seeds 003/004): pagination, listing caps, seller dedup, hides, cart, lanes, policy.

Each test has a database of its own (conftest), so "every item" below really is every item.
Rankings are made deterministic with ranker.policy epsilon 0 unless a test is about exploration.
"""

from __future__ import annotations

import json
import random
import uuid

import asyncpg
import pytest

from tests.integration.platform2.builders import (
    FeedPage,
    ago,
    ahead,
    follow,
    home,
    new_entity,
    new_event,
    new_listing,
    new_post,
    new_user,
    profile,
    rpc,
    scroll,
    set_flag,
)

pytestmark = pytest.mark.integration


async def _greedy(conn: asyncpg.Connection) -> None:
    await set_flag(conn, "ranker.policy", {"version": "epsilon_greedy_v1", "epsilon": 0})


def _all_items(pages: list[FeedPage]) -> list[tuple[str, str]]:
    return [key for page in pages for key in page.keys]


async def test_scrolling_many_pages_never_repeats_or_skips_even_while_posts_arrive(conn: asyncpg.Connection) -> None:
    await _greedy(conn)
    viewer = await new_user(conn)
    sellers = [await new_entity(conn, await new_user(conn)) for _ in range(5)]
    owner = {e: await conn.fetchval("select owner_id from public.entities where id = $1", e) for e in sellers}
    posts = [
        await new_post(conn, owner[sellers[i % 5]], entity=sellers[i % 5], created_at=ago(minutes=i)) for i in range(60)
    ]
    listings = [
        await new_listing(conn, owner[sellers[i % 5]], entity=sellers[i % 5], created_at=ago(minutes=i))
        for i in range(20)
    ]
    events = [await new_event(conn, owner[sellers[i % 5]], entity=sellers[i % 5], starts_at=ahead(hours=i + 1))
              for i in range(10)]  # fmt: skip

    first = await home(conn, viewer, "for_you", limit=7)
    arrived = [await new_post(conn, owner[sellers[0]], entity=sellers[0]) for _ in range(5)]
    arrived.append(await new_listing(conn, owner[sellers[1]], entity=sellers[1]))
    pages = [first]
    while pages[-1].has_more:
        assert len(pages) < 40
        pages.append(await home(conn, viewer, "for_you", pages[-1].next_cursor, 7))

    seen = _all_items(pages)
    assert len(pages) >= 3
    assert len(seen) == len(set(seen)), "an item was served twice"
    expected = {("post", str(p)) for p in posts} | {("listing", str(x)) for x in listings}
    expected |= {("event", str(e)) for e in events}
    assert set(seen) == expected, "items were skipped, or items created mid-scroll slipped in"
    assert not {str(a) for a in arrived} & {item_id for _, item_id in seen}
    # Each stream is served in its own order, page after page (posts were made newest first).
    page_of = {key: n for n, page in enumerate(pages) for key in page.keys}
    post_pages = [page_of[("post", str(p))] for p in posts]
    assert post_pages == sorted(post_pages)
    # A fresh scroll starts again at the top, where the new posts now are.
    again = await home(conn, viewer, "for_you", limit=7)
    assert {item["id"] for item in again.items if item["kind"] == "post"} <= {str(a) for a in arrived}


async def test_items_created_at_the_same_instant_are_paged_by_id(conn: asyncpg.Connection) -> None:
    await _greedy(conn)
    viewer, owner = await new_user(conn), await new_user(conn)
    same = ago(minutes=5)
    posts = {str(await new_post(conn, owner, created_at=same)) for _ in range(25)}
    pages = await scroll(conn, viewer, "for_you", limit=4)
    seen = [item_id for _, item_id in _all_items(pages)]
    assert len(seen) == 25 and set(seen) == posts and len(pages) == 7


@pytest.mark.parametrize(
    ("lane", "cap", "first_page_listings"),
    [("for_you", (1, 2), 3), ("following", (1, 3), 1), ("shop", (2, 3), 6)],
)
async def test_listings_never_exceed_the_lane_cap(
    conn: asyncpg.Connection, lane: str, cap: tuple[int, int], first_page_listings: int
) -> None:
    # Few posts, no events, many listings: filling the page without the cap would make it mostly listings.
    await _greedy(conn)
    viewer = await new_user(conn)
    owners = [await new_user(conn) for _ in range(3)]
    pages_of = [await new_entity(conn, o) for o in owners]
    for e in pages_of:
        await follow(conn, viewer, e)
    for i in range(3):
        await new_post(conn, owners[i], entity=pages_of[i], created_at=ago(minutes=i))
    for i in range(30):
        await new_listing(conn, owners[i % 3], entity=pages_of[i % 3], created_at=ago(minutes=i))

    pages = await scroll(conn, viewer, lane, limit=10)
    num, den = cap
    for page in pages:
        assert page.count("listing") * den <= num * len(page.items), f"{lane}: {page.count('listing')} listings"
    assert pages[0].count("post") == 3
    assert pages[0].count("listing") == first_page_listings  # the cap binds, and is reached
    # Only listings are left after page 1: the lane ends instead of serving an all-listing page.
    assert len(pages) == 1 and not pages[0].has_more and pages[0].next_cursor is None


@pytest.mark.parametrize(
    ("lane", "blend"),
    [("for_you", (12, 5, 3)), ("following", (16, 1, 3)), ("shop", (4, 13, 3))],
)
async def test_each_lane_blends_posts_listings_and_events(
    conn: asyncpg.Connection, lane: str, blend: tuple[int, int, int]
) -> None:
    await _greedy(conn)
    viewer = await new_user(conn)
    owner = await new_user(conn)
    pages_of = [await new_entity(conn, owner) for _ in range(4)]
    for e in pages_of:
        await follow(conn, viewer, e)
    for i in range(30):
        e = pages_of[i % 4]
        await new_post(conn, owner, entity=e, created_at=ago(minutes=i))
        await new_listing(conn, owner, entity=e, created_at=ago(minutes=i))
        await new_event(conn, owner, entity=e, starts_at=ahead(hours=i + 1))
    page = await home(conn, viewer, lane, limit=20)
    assert (page.count("post"), page.count("listing"), page.count("event")) == blend
    assert page.raw["blend"] == {"posts": blend[0], "listings": blend[1], "events": blend[2]}


def _assert_seller_rule(items: list[dict[str, object]]) -> int:
    """No two adjacent items of one seller unless every later other-seller item scores >= 0.25 less."""
    adjacent = 0
    for i in range(len(items) - 1):
        if items[i]["actor"] != items[i + 1]["actor"]:
            continue
        adjacent += 1
        ceiling = float(str(items[i + 1]["score"])) - 0.25
        later_others = [it for it in items[i + 2 :] if it["actor"] != items[i]["actor"]]
        assert all(float(str(it["score"])) <= ceiling + 1e-9 for it in later_others), (i, items)
    return adjacent


async def test_no_seller_back_to_back_unless_the_score_gap_is_at_least_a_quarter(conn: asyncpg.Connection) -> None:
    await _greedy(conn)
    viewer = await new_user(conn)
    hot = await new_user(conn)
    hot_page = await new_entity(conn, hot)
    for i in range(6):  # the freshest items all belong to one seller
        await new_post(conn, hot, entity=hot_page, created_at=ago(minutes=i))
    for i in range(4):
        other = await new_user(conn)
        await new_post(conn, other, entity=await new_entity(conn, other), created_at=ago(minutes=10 + i))
    page = await home(conn, viewer, "for_you", limit=10)
    actors = [item["actor"] for item in page.items]
    assert actors.count(f"e:{hot_page}") == 6
    # Scores differ by far less than 0.25, so the hot seller alternates with the others while they last.
    assert all(actors[i] != actors[i + 1] for i in range(7)), actors
    _assert_seller_rule(page.items)


async def test_a_seller_may_repeat_when_it_outscores_the_rest_by_a_quarter(conn: asyncpg.Connection) -> None:
    await _greedy(conn)
    viewer = await new_user(conn)
    star = await new_user(conn)
    star_page = await new_entity(conn, star)
    for i in range(3):
        await new_post(conn, star, entity=star_page, created_at=ago(minutes=i), score=1)
    for i in range(3):
        other = await new_user(conn)
        await new_post(conn, other, entity=await new_entity(conn, other), created_at=ago(days=3, minutes=i))
    page = await home(conn, viewer, "for_you", limit=6)
    assert [item["actor"] for item in page.items[:3]] == [f"e:{star_page}"] * 3
    assert _assert_seller_rule(page.items) == 2


async def test_hidden_items_never_return_in_any_lane_or_profile(conn: asyncpg.Connection) -> None:
    await _greedy(conn)
    viewer, owner = await new_user(conn), await new_user(conn)
    page_id = await new_entity(conn, owner)
    await follow(conn, viewer, page_id)
    post = await new_post(conn, owner, entity=page_id)
    listing = await new_listing(conn, owner, entity=page_id)
    event = await new_event(conn, owner, entity=page_id, starts_at=ahead(days=1))
    kept = await new_post(conn, owner, entity=page_id, created_at=ago(minutes=5))
    for kind, item in (("post", post), ("listing", listing), ("event", event)):
        assert await rpc(conn, viewer, "select public.feed_hide($1, $2)", kind, item) is True
    assert await rpc(conn, viewer, "select public.feed_hide('post', $1)", post) is False  # already hidden

    hidden = {str(post), str(listing), str(event)}
    for lane in ("for_you", "following", "shop", "combined", "personal"):
        seen = {item_id for _, item_id in _all_items(await scroll(conn, viewer, lane, limit=3))}
        assert not seen & hidden, lane
        assert str(kept) in seen, lane
    seen = {item["id"] for item in (await profile(conn, viewer, page_id)).items}
    assert not seen & hidden
    # Someone else still sees them; and unhiding brings them back.
    other = await new_user(conn)
    assert hidden <= {item["id"] for item in (await home(conn, other, "for_you")).items}
    assert await rpc(conn, viewer, "select public.feed_unhide('post', $1)", post) is True
    assert str(post) in {item["id"] for item in (await home(conn, viewer, "for_you")).items}


async def test_listings_in_the_cart_are_suppressed_until_removed(conn: asyncpg.Connection) -> None:
    await _greedy(conn)
    viewer, seller = await new_user(conn), await new_user(conn)
    shop = await new_entity(conn, seller)
    await follow(conn, viewer, shop)
    in_cart = await new_listing(conn, seller, entity=shop)
    other = await new_listing(conn, seller, entity=shop, created_at=ago(minutes=1))
    for i in range(3):  # enough posts for one listing under the following lane's 1/3 cap
        await new_post(conn, seller, entity=shop, created_at=ago(minutes=i))
    await rpc(conn, viewer, "select public.cart_add($1)", in_cart)

    for lane in ("for_you", "following", "shop"):
        ids = {item["id"] for page in await scroll(conn, viewer, lane) for item in page.items}
        assert str(in_cart) not in ids and str(other) in ids, lane
    assert str(in_cart) not in {item["id"] for item in (await profile(conn, viewer, shop)).items}

    assert await rpc(conn, viewer, "select public.cart_remove($1)", in_cart) is True
    assert str(in_cart) in {item["id"] for item in (await home(conn, viewer, "shop")).items}


async def test_switching_lanes_restarts_pagination_and_legacy_names_map(conn: asyncpg.Connection) -> None:
    await _greedy(conn)
    viewer, owner = await new_user(conn), await new_user(conn)
    followed = await new_entity(conn, owner)
    await follow(conn, viewer, followed)
    stranger = await new_user(conn)
    unfollowed = await new_entity(conn, stranger)
    for i in range(8):
        await new_post(conn, owner, entity=followed, created_at=ago(minutes=2 * i))
        await new_post(conn, stranger, entity=unfollowed, created_at=ago(minutes=2 * i + 1))

    for_you = await home(conn, viewer, "for_you", limit=4)
    assert for_you.next_cursor is not None
    with pytest.raises(asyncpg.PostgresError, match="belongs to lane") as refused:
        await home(conn, viewer, "following", for_you.next_cursor, 4)
    assert refused.value.sqlstate == "22023"

    following = await scroll(conn, viewer, "following", limit=4)
    following_ids = {item["actor"] for page in following for item in page.items}
    assert following_ids == {f"e:{followed}"} and len(_all_items(following)) == 8
    # Legacy names are the same lanes: same page, and each other's cursors are accepted.
    combined = await home(conn, viewer, "combined", limit=4)
    assert combined.keys == for_you.keys and combined.raw["lane"] == "for_you"
    nxt = await home(conn, viewer, "for_you", combined.next_cursor, 4)
    assert not set(nxt.keys) & set(for_you.keys)
    personal = await home(conn, viewer, "personal", limit=4)
    assert personal.keys == following[0].keys and personal.raw["lane"] == "following"


async def test_following_lane_shows_approved_targets_of_followed_pages_once(conn: asyncpg.Connection) -> None:
    await _greedy(conn)
    viewer, author = await new_user(conn), await new_user(conn)
    club_a = await new_entity(conn, await new_user(conn))
    club_b = await new_entity(conn, await new_user(conn))
    for club in (club_a, club_b):
        await follow(conn, viewer, club)
    both = await new_post(conn, author, targets=[club_a, club_b])  # cross-posted to two followed pages
    pending = await new_post(conn, author)
    await conn.execute(
        "insert into public.post_targets (post_id, entity_id, status, post_created_at) "
        "values ($1, $2, 'pending', now())",
        pending,
        club_a,
    )
    page = await home(conn, viewer, "following")
    assert page.keys == [("post", str(both))]


async def test_following_posts_stream_pages_exactly_like_its_definition(conn: asyncpg.Connection) -> None:
    """The two-pass stream (heads, bar, expansion) against a brute-force reading of its definition.

    Skewed pages (one posts a lot, most a little), cross-posts, hidden, pending and unfollowed
    posts, paged 4 at a time by the stream's own cursor: every page must equal the next four of
    "distinct approved posts of followed pages, not hidden, newest first, ties by id".
    """
    rng = random.Random(7)
    viewer, author = await new_user(conn), await new_user(conn)
    followed = [await new_entity(conn, await new_user(conn)) for _ in range(9)]
    stranger = await new_entity(conn, await new_user(conn))
    for page in followed:
        await follow(conn, viewer, page)
    expected: set[uuid.UUID] = set()
    for index in range(70):
        home_page = followed[0] if index % 2 else rng.choice([*followed, stranger])
        cross = [rng.choice(followed)] if rng.random() < 0.2 else []
        post = await new_post(
            conn,
            author,
            entity=home_page,
            targets=[t for t in cross if t != home_page],
            created_at=ago(minutes=rng.choice([5, 60, 61, 300]) + rng.random() * 2 * (index % 3)),
        )
        if home_page != stranger or cross:
            expected.add(post)
    hidden = rng.sample(sorted(expected), 6)
    for post in hidden:
        await conn.execute(
            "insert into public.feed_hides (user_id, item_kind, item_id) values ($1, 'post', $2)", viewer, post
        )
    pending = await new_post(conn, author)
    await conn.execute(
        "insert into public.post_targets (post_id, entity_id, status) values ($1, $2, 'pending')", pending, followed[1]
    )
    rows = await conn.fetch("select id, created_at from public.posts where id = any($1::uuid[])", list(expected))
    reference = [r["id"] for r in sorted(rows, key=lambda r: (r["created_at"], r["id"]), reverse=True)]
    reference = [post for post in reference if post not in hidden]

    paged: list[uuid.UUID] = []
    cursor: tuple[object, object] = (None, None)
    for _ in range(40):
        page = await conn.fetch("select id, sort_ts from public._feed_posts_following($1, $2, $3, 4)", viewer, *cursor)
        assert [r["id"] for r in page] == reference[len(paged) : len(paged) + 4], f"page {len(paged) // 4 + 1}"
        if not page:
            break
        paged.extend(r["id"] for r in page)
        cursor = (page[-1]["sort_ts"], page[-1]["id"])
    assert paged == reference and len(paged) > 40


async def test_following_listing_and_event_streams_page_exactly_like_their_definitions(
    conn: asyncpg.Connection,
) -> None:
    """Listings (newest first, minus hidden, in-cart and inactive) and events (upcoming, soonest first,
    minus hidden) of followed pages, skewed across pages, paged 4 at a time against a brute-force list."""
    rng = random.Random(11)
    viewer = await new_user(conn)
    owners = [await new_user(conn) for _ in range(8)]
    pages = [await new_entity(conn, owner) for owner in owners]
    for page in pages[:7]:  # the last page is not followed
        await follow(conn, viewer, page)
    listings: list[tuple[object, uuid.UUID]] = []
    events: list[tuple[object, uuid.UUID]] = []
    for index in range(48):
        at = rng.randrange(len(pages)) if index % 3 else 0  # page 0 lists and hosts a lot
        created = ago(minutes=rng.choice([10, 30, 31]) + (index % 2) * rng.random())
        listing = await new_listing(conn, owners[at], entity=pages[at], created_at=created)
        starts = ahead(hours=rng.choice([2, 5, 6])) if index % 5 else ago(hours=1)
        event = await new_event(conn, owners[at], entity=pages[at], starts_at=starts)
        if at < 7:
            listings.append((created, listing))
            if index % 5:
                events.append((starts, event))
    excluded = {key for _, key in rng.sample(listings, 6)} | {key for _, key in rng.sample(events, 4)}
    for _, listing in listings[:12]:
        if listing in excluded:
            await conn.execute(
                "insert into public.shopping_cart_items (user_id, listing_id) values ($1, $2)", viewer, listing
            )
        elif rng.random() < 0.3:
            excluded.add(listing)
            await conn.execute("update public.marketplace_listings set status = 'sold' where id = $1", listing)
    for kind, items in (("listing", listings[12:]), ("event", events)):
        for _, key in items:
            if key in excluded:
                await conn.execute(
                    "insert into public.feed_hides (user_id, item_kind, item_id) values ($1, $2, $3)", viewer, kind, key
                )

    async def paged(function: str) -> list[uuid.UUID]:
        seen: list[uuid.UUID] = []
        cursor: tuple[object, object] = (None, None)
        for _ in range(30):
            rows = await conn.fetch(f"select id, sort_ts from public.{function}($1, $2, $3, 4)", viewer, *cursor)
            if not rows:
                return seen
            seen.extend(r["id"] for r in rows)
            cursor = (rows[-1]["sort_ts"], rows[-1]["id"])
        raise AssertionError(f"{function} did not end within 30 pages")

    newest_first = [key for _, key in sorted(listings, key=lambda pair: pair, reverse=True) if key not in excluded]
    soonest_first = [key for _, key in sorted(events, key=lambda pair: pair) if key not in excluded]
    assert await paged("_feed_listings_following") == newest_first and len(newest_first) > 20
    assert await paged("_feed_events_following") == soonest_first and len(soonest_first) > 20


async def test_exploration_is_logged_with_its_propensity(conn: asyncpg.Connection) -> None:
    viewer = await new_user(conn)
    for i in range(6):
        owner = await new_user(conn)
        await new_post(conn, owner, entity=await new_entity(conn, owner), created_at=ago(minutes=i))
    await set_flag(conn, "ranker.policy", {"version": "epsilon_greedy_v1", "epsilon": 1})
    page = await home(conn, viewer, "for_you", limit=6)
    assert page.raw["epsilon"] == 1 and page.raw["policy"] == "epsilon_greedy_v1"
    assert all(item["explored"] for item in page.items)
    rows = await conn.fetch(
        "select candidate_id, policy, p_exp, explored, score, context from public.learning_events "
        "where user_id = $1 and surface = 'feed.for_you' order by id",
        viewer,
    )
    assert [r["candidate_id"] for r in rows] == [f"{i['kind']}:{i['id']}" for i in page.items]
    assert [r["id"] for r in await conn.fetch("select id from public.learning_events where user_id = $1 order by id",
                                               viewer)] == [i["learning_event_id"] for i in page.items]  # fmt: skip
    for position, row in enumerate(rows, start=1):
        context = json.loads(row["context"])
        assert (row["policy"], row["p_exp"], row["explored"]) == ("epsilon_greedy_v1", 1.0, True)
        assert context["position"] == position
        # With epsilon 1 every shown item had a 1/n chance among the n items left.
        assert context["propensity"] == pytest.approx(1 / (7 - position), abs=1e-6)


async def test_safe_mode_is_greedy_global_and_logs_zero_propensity(conn: asyncpg.Connection) -> None:
    viewer = await new_user(conn)
    owner = await new_user(conn)
    followed = await new_entity(conn, owner)
    await follow(conn, viewer, followed)
    liked = await new_post(conn, owner, entity=followed, created_at=ago(hours=1))
    popular = await new_post(conn, await new_user(conn), created_at=ago(hours=2), score=0.1)
    await set_flag(conn, "ranker.policy", {"version": "epsilon_greedy_v1", "epsilon": 1})

    normal = await home(conn, viewer, "for_you")
    boosted = {item["id"]: float(item["score"]) for item in normal.items}
    await set_flag(conn, "global.safe_mode", {"enabled": True})
    safe = await home(conn, viewer, "for_you")
    assert safe.raw["policy"] == "safe_mode" and safe.raw["epsilon"] == 0
    scores = {item["id"]: float(item["score"]) for item in safe.items}
    # No follow boost: the followed page's post drops below the more engaging one.
    assert boosted[str(liked)] - scores[str(liked)] == pytest.approx(0.15, abs=1e-5)
    assert [item["id"] for item in safe.items] == [str(popular), str(liked)]
    assert not any(item["explored"] for item in safe.items)
    rows = await conn.fetch(
        "select p_exp, explored, policy from public.learning_events where user_id = $1 and policy = 'safe_mode'", viewer
    )
    assert len(rows) == 2 and all(r["p_exp"] == 0 and not r["explored"] for r in rows)
    # Deterministic: the same slate every time.
    assert (await home(conn, viewer, "for_you")).keys == safe.keys


async def test_learning_can_be_switched_off(conn: asyncpg.Connection) -> None:
    viewer = await new_user(conn)
    await new_post(conn, await new_user(conn))
    await set_flag(conn, "learning.enabled", {"enabled": False})
    page = await home(conn, viewer, "for_you")
    assert len(page.items) == 1 and page.items[0]["learning_event_id"] is None
    assert await conn.fetchval("select count(*) from public.learning_events where user_id = $1", viewer) == 0


async def test_metadata_score_is_null_safe_and_clamped(conn: asyncpg.Connection) -> None:
    await _greedy(conn)
    viewer = await new_user(conn)
    # Decay exp(-1): 48 h before the database's clock now, not before the session started (`ago`),
    # which a long test run would have moved minutes away from exactly 48 h.
    when = await conn.fetchval("select now() - interval '48 hours'")
    values: list[object] = [None, "", "abc", "0.5", 0.25, 7, -3, {"x": 1}, " 0.75 "]
    expected = [0, 0, 0, 0.5, 0.25, 1, 0, 0, 0.75]
    ids = [await new_post(conn, await new_user(conn), created_at=when, score=v) for v in values]
    page = await home(conn, viewer, "for_you", limit=20)
    by_id = {item["id"]: float(item["score"]) for item in page.items}
    for post, want in zip(ids, expected, strict=True):
        assert by_id[str(post)] == pytest.approx(0.367879 + want, abs=1e-3)


async def test_profile_feed_pages_through_one_page_newest_first(conn: asyncpg.Connection) -> None:
    owner = await new_user(conn)
    page_id = await new_entity(conn, owner)
    other = await new_entity(conn, owner)
    made: list[tuple[str, str]] = []
    for i in range(12):
        made.append(("post", str(await new_post(conn, owner, entity=page_id, created_at=ago(minutes=3 * i)))))
        made.append(("listing", str(await new_listing(conn, owner, entity=page_id, created_at=ago(minutes=3 * i + 1)))))
        made.append(("event", str(await new_event(conn, owner, entity=page_id, starts_at=ahead(days=i),
                                                  created_at=ago(minutes=3 * i + 2)))))  # fmt: skip
    await new_post(conn, owner, entity=other)

    pages = [await profile(conn, None, page_id, limit=5)]  # anonymous visitors may read a page
    while pages[-1].has_more:
        assert len(pages) < 20
        pages.append(await profile(conn, None, page_id, pages[-1].next_cursor, 5))
    assert _all_items(pages) == made  # newest first, nothing repeated or skipped
    assert len(pages) == 8
    with pytest.raises(asyncpg.PostgresError, match="another feed"):
        await profile(conn, None, other, pages[0].next_cursor)


@pytest.mark.parametrize(
    ("call", "sqlstate"),
    [
        ("select public.feed_fusion_home('sideways')", "22023"),
        ("select public.feed_fusion_home('for_you', null, 0)", "22023"),
        ("select public.feed_fusion_home('for_you', null, 51)", "22023"),
        ("select public.feed_fusion_home('for_you', 'not-a-cursor')", "22023"),
        ("select public.feed_fusion_home('for_you', 'eyJ2IjogMn0')", "22023"),  # {"v": 2}
        ("select public.feed_fusion_profile(gen_random_uuid())", "P0002"),
    ],
)
async def test_bad_feed_arguments_are_refused_with_a_clear_error(
    conn: asyncpg.Connection, call: str, sqlstate: str
) -> None:
    viewer = await new_user(conn)
    with pytest.raises(asyncpg.PostgresError) as refused:
        await rpc(conn, viewer, call)
    assert refused.value.sqlstate == sqlstate


async def test_the_home_feed_needs_a_signed_in_caller(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.PostgresError) as refused:
        async with conn.transaction():
            await conn.execute("set local role authenticated")
            await conn.fetchval("select public.feed_fusion_home()")
    assert refused.value.sqlstate == "28000"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with conn.transaction():
            await conn.execute("set local role anon")
            await conn.fetchval("select public.feed_fusion_home()")


async def test_stream_functions_are_not_callable_by_clients(conn: asyncpg.Connection) -> None:
    viewer = await new_user(conn)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await rpc(conn, viewer, "select count(*) from public._feed_posts_all($1, null, null, 10)", uuid.uuid4())
