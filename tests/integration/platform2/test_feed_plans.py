"""The feed queries' plans on a realistic data set: no sequential scan of a large table, ever.

The stream functions the feeds run (_feed_*) are inlinable SQL functions, so
EXPLAIN of a call shows the real plan of the query inside (a "Function Scan"
would hide it: that fails the test too), and so are the item and score
functions inside them (240_feed_items.sql): a _feed_ function left anywhere in
a verbose plan (a per-row call the planner could not inline) fails the test.
The plans are the generic plans the feeds run: both RPCs run with
plan_cache_mode = force_generic_plan (each statement is planned once per
connection and its plan reused, arguments as parameters), and so does this
test (PREPARE, then EXPLAIN EXECUTE): first pages and deep pages, for a heavy
follower and for the most popular page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from gauntlet.fixtures.scale import ScalePlan, load_scale_data, row_id
from tests.integration.platform2.builders import home, profile, rpc

pytestmark = pytest.mark.integration

LARGE = 5_000  # rows: a table this big must be reached through an index
CALL = re.compile(r"\b_feed_\w+\(")  # a call in a verbose plan's Output or Filter (an inlined stream's alias has none)
ANCHOR = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def _plan(conn: asyncpg.Connection, call: Call) -> list[dict[str, Any]]:
    """The generic plan of a stream's SELECT (parameters $1..$n), run with the call's arguments."""
    async with conn.transaction():
        await conn.execute("set local plan_cache_mode = force_generic_plan")
        await conn.execute(f"prepare feed_plan as {call.statement}")
        try:
            raw = await conn.fetchval(f"explain (format json, verbose) execute feed_plan({call.arguments})")
        finally:
            await conn.execute("deallocate feed_plan")
    return list(_nodes(json.loads(raw)[0]["Plan"]))


@pytest.fixture
async def loaded(conn: asyncpg.Connection, db_dsn: str) -> dict[str, Any]:
    """20k posts over 2k users, with a heavy follower's hides and cart."""
    await load_scale_data(db_dsn, users=2_000, posts=20_000, listings=8_000, events=6_000, seed=11, anchor=ANCHOR)
    plan = ScalePlan.for_counts(users=2_000, posts=20_000, listings=8_000, events=6_000, seed=11)
    viewer = await conn.fetchval(
        "select follower_id from public.entity_edges group by 1 order by count(*) desc, 1 limit 1"
    )
    popular = uuid.UUID(row_id(plan, "entity", 0))
    for kind, table in (("post", "posts"), ("listing", "marketplace_listings"), ("event", "events")):
        await conn.execute(
            f"insert into public.feed_hides (user_id, item_kind, item_id) "
            f"select $1, '{kind}', id from public.{table} order by id limit 50",
            viewer,
        )
    await conn.execute(
        "insert into public.shopping_cart_items (user_id, listing_id) "
        "select $1, id from public.marketplace_listings where status = 'active' order by id desc limit 20",
        viewer,
    )
    await conn.execute("analyze public.feed_hides, public.shopping_cart_items")
    deep = await conn.fetchrow(
        "select created_at, id from public.posts order by created_at desc, id desc offset 5000 limit 1"
    )
    return {"viewer": viewer, "entity": popular, "deep_ts": deep["created_at"], "deep_id": deep["id"]}


@dataclass(frozen=True)
class Call:
    statement: str  # a stream's SELECT, its parameters typed
    arguments: str  # literals for EXECUTE

    def __str__(self) -> str:
        return f"{self.statement} with ({self.arguments})"


def _calls(viewer: uuid.UUID, entity: uuid.UUID, deep_ts: dt.datetime, deep_id: uuid.UUID) -> list[Call]:
    v, e = f"'{viewer}'", f"'{entity}'"
    first, deep = "null, null", f"'{deep_ts.isoformat()}', '{deep_id}'"
    calls = []
    for cursor in (first, deep):
        for stream in ("posts", "listings", "events"):
            home = "$1::uuid, $2::timestamptz, $3::uuid, $4::integer"
            calls.append(Call(f"select * from public._feed_{stream}_all({home})", f"{v}, {cursor}, 21"))
            calls.append(Call(f"select * from public._feed_{stream}_following({home})", f"{v}, {cursor}, 21"))
            page = "$1::uuid, $2::uuid, $3::timestamptz, $4::uuid, $5::integer"
            calls.append(Call(f"select * from public._feed_profile_{stream}({page})", f"{v}, {e}, {cursor}, 21"))
    return calls


async def test_feed_queries_never_scan_a_large_table_sequentially(
    conn: asyncpg.Connection, loaded: dict[str, Any]
) -> None:
    sizes = {
        row["relname"]: row["reltuples"]
        for row in await conn.fetch(
            "select relname, reltuples from pg_class where relnamespace = 'public'::regnamespace"
        )
    }
    large = {name for name, rows in sizes.items() if rows >= LARGE}
    # The plans below are the ones the feeds run: both RPCs cache generic plans.
    settings = await conn.fetch(
        "select proname, proconfig from pg_proc where proname in ('feed_fusion_home', 'feed_fusion_profile')"
    )
    assert len(settings) == 2
    assert all("plan_cache_mode=force_generic_plan" in row["proconfig"] for row in settings), settings
    # Not vacuous: the tables the feeds read are large here.
    assert {"posts", "post_targets", "marketplace_listings", "events", "entity_edges"} <= large
    problems = []
    for call in _calls(loaded["viewer"], loaded["entity"], loaded["deep_ts"], loaded["deep_id"]):
        for node in await _plan(conn, call):
            if node["Node Type"] == "Function Scan" and str(node.get("Function Name", "")).startswith("_feed_"):
                problems.append(f"{call}: not inlined, its plan is hidden")
            if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in large:
                problems.append(f"{call}: Seq Scan on {node['Relation Name']}")
            called = [key for key, value in node.items() if key != "Plans" and CALL.search(json.dumps(value))]
            if called and node["Node Type"] != "Function Scan":
                problems.append(f"{call}: {node['Node Type']} {called} calls a _feed_ function (not inlined)")
    assert problems == []


async def test_the_feeds_run_on_the_large_data_set(conn: asyncpg.Connection, loaded: dict[str, Any]) -> None:
    viewer = loaded["viewer"]
    for lane in ("for_you", "following", "shop"):
        page = await home(conn, viewer, lane, limit=20)
        assert len(page.items) == 20 and page.has_more, lane
        second = await home(conn, viewer, lane, page.next_cursor, 20)
        assert not set(second.keys) & set(page.keys)
        hidden = await conn.fetchval(
            "select count(*) from public.feed_hides where user_id = $1 and item_id = any($2::uuid[])",
            viewer,
            [i["id"] for i in page.items + second.items],
        )
        assert hidden == 0
    assert len((await profile(conn, viewer, loaded["entity"], limit=20)).items) == 20
    assert await rpc(conn, viewer, "select count(*) from public.rocker_next_best_actions()") <= 3
