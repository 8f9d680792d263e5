"""The scale data generator's pure parts: plans, ids, the Julian clock, determinism and shape of the rows."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import statistics
import uuid

import pytest

from gauntlet.fixtures import scale
from gauntlet.fixtures.scale import ScaleDataError, ScalePlan

ANCHOR = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _plan(**counts: int) -> ScalePlan:
    return ScalePlan.for_counts(**{"users": 500, "posts": 2_000, **counts})


def test_plan_defaults_derive_from_the_counts() -> None:
    plan = ScalePlan.for_counts(users=100_000, posts=1_000_000)
    assert (plan.listings, plan.events, plan.entities, plan.seed) == (100_000, 20_000, 5_000, 1)


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"users": 0, "posts": 1}, "--users must be between 1"),
        ({"users": 10, "posts": -5}, "--posts must be between 0"),
        ({"users": 10, "posts": 1, "entities": 0}, "--entities must be between 1 and --users (10)"),
        ({"users": 10, "posts": 1, "listings": -1}, "--listings and --events must be >= 0"),
        ({"users": 10, "posts": 1, "seed": -1}, "--seed must be >= 0"),
    ],
)
def test_invalid_plans_name_the_bad_count(counts: dict[str, int], message: str) -> None:
    with pytest.raises(ScaleDataError) as refused:
        ScalePlan.for_counts(**counts)
    assert message in str(refused.value)


def test_ids_are_valid_uuids_unique_per_table_and_seed() -> None:
    one, two = _plan(seed=1), _plan(seed=2)
    ids = {scale.row_id(one, table, n) for table in ("user", "entity", "post") for n in range(100)}
    assert len(ids) == 300
    assert all(uuid.UUID(i).version == 4 for i in ids)
    assert scale.row_id(one, "post", 5) != scale.row_id(two, "post", 5)
    assert scale.row_id(one, "post", 5) == scale.row_id(_plan(seed=1), "post", 5)


def test_the_clock_writes_julian_dates_that_postgres_reads_as_utc() -> None:
    clock = scale._Clock(dt.datetime(1970, 1, 2, tzinfo=dt.UTC))
    assert clock.at(0) == "J2440589.000000000"
    assert clock.at(-43_200) == "J2440588.500000000"  # noon on 1970-01-01
    later = scale._Clock(ANCHOR).at(90.5)
    day = float(later[1:]) - 2_440_588
    assert dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=day) == pytest.approx(
        ANCHOR + dt.timedelta(seconds=90.5), abs=dt.timedelta(milliseconds=1)
    )


def _rows(plan: ScalePlan) -> dict[str, list[str]]:
    clock = scale._Clock(ANCHOR)
    cross: list[str] = []
    rows = {
        "users": list(scale.user_rows(plan, clock)),
        "profiles": list(scale.profile_rows(plan, clock)),
        "entities": list(scale.entity_rows(plan, clock)),
        "follows": list(scale.follow_rows(plan, clock)),
        "posts": list(scale.post_rows(plan, clock, cross)),
        "listings": list(scale.listing_rows(plan, clock, ["c1", "c2"])),
        "events": list(scale.event_rows(plan, clock)),
    }
    rows["cross_posts"] = cross
    return rows


def test_the_same_plan_gives_the_same_rows_and_another_seed_others() -> None:
    first, again, other = _rows(_plan()), _rows(_plan()), _rows(_plan(seed=2))
    assert first == again
    assert first["posts"] != other["posts"] and first["follows"] != other["follows"]


def test_rows_have_the_columns_the_copy_names() -> None:
    rows = _rows(_plan())
    widths = {"users": 6, "profiles": 8, "entities": 6, "follows": 3, "posts": 6, "listings": 9, "events": 7,
              "cross_posts": 4}  # fmt: skip
    for table, lines in rows.items():
        assert lines and all(line.endswith("\n") for line in lines), table
        assert {len(line.rstrip("\n").split("\t")) for line in lines} == {widths[table]}, table
    assert len(rows["users"]) == len(rows["profiles"]) == 500 and len(rows["posts"]) == 2_000


def test_follows_and_posting_follow_power_laws() -> None:
    rows = _rows(_plan(users=3_000, posts=20_000))
    per_page = statistics.median
    followers: dict[str, int] = {}
    degree: dict[str, int] = {}
    for line in rows["follows"]:
        follower, page, _ = line.split("\t")
        followers[page] = followers.get(page, 0) + 1
        degree[follower] = degree.get(follower, 0) + 1
    counts = sorted(followers.values(), reverse=True)
    assert counts[0] >= 10 * per_page(counts)
    assert max(degree.values()) >= 10 * per_page(list(degree.values()))
    assert 4 <= len(rows["follows"]) / 3_000 <= 15  # mean out-degree around 10 before de-duplication
    pages = [line.split("\t")[2] for line in rows["posts"] if line.split("\t")[2] != "\\N"]
    by_page = sorted((sum(1 for _ in group) for _, group in itertools.groupby(sorted(pages))), reverse=True)
    assert by_page[0] >= 10 * per_page(by_page)
    assert 0.65 <= len(pages) / 20_000 <= 0.75


def test_engagement_scores_are_mostly_small_sometimes_missing_or_empty() -> None:
    rng = random.Random(3)
    samples = [scale.engagement_score(rng) for _ in range(20_000)]
    assert 0.03 < samples.count("{}") / 20_000 < 0.07
    assert 0.005 < samples.count('{"score": ""}') / 20_000 < 0.02
    scores = [float(s.split(": ")[1].rstrip("}")) for s in samples if s.startswith('{"score": 0') or "1.000" in s]
    assert all(0 <= s <= 1 for s in scores) and statistics.median(scores) < 0.2


def test_posts_come_oldest_first_with_ids_in_time_order() -> None:
    posts = _rows(_plan())["posts"]
    times = [float(line.split("\t")[5][1:]) for line in posts]
    assert times == sorted(times)
    anchor_day = float(scale._Clock(ANCHOR).at(0)[1:])
    assert anchor_day - 90 <= times[0] and times[-1] <= anchor_day
