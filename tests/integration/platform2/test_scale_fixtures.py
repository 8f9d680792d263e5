"""`gauntlet fixtures load` and load_scale_data against a real database: counts, integrity, shape, refusals."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from pathlib import Path

import asyncpg
import pytest
import typer
from typer.testing import CliRunner

from gauntlet.cliutil import GauntletGroup
from gauntlet.fixtures import cli as fixtures_cli
from gauntlet.fixtures.scale import ScaleDataError, ScalePlan, load_scale_data, row_id

pytestmark = pytest.mark.integration

ANCHOR = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


async def test_the_loaded_data_set_is_complete_consistent_and_power_law(conn: asyncpg.Connection, db_dsn: str) -> None:
    written = await load_scale_data(db_dsn, users=600, posts=6_000, seed=5, anchor=ANCHOR)
    plan = ScalePlan.for_counts(users=600, posts=6_000, seed=5)
    prefix = row_id(plan, "user", 0)[:8]
    assert written["auth.users"] == 600 and written["posts"] == 6_000
    assert written["marketplace_listings"] == 600 and written["events"] == 120 and written["entities"] == 30
    counts = {
        "auth.users": "select count(*) from auth.users where id::text like $1 || '%'",
        "profiles": "select count(*) from public.profiles where user_id::text like $1 || '%'",
        "posts": "select count(*) from public.posts where id::text like $1 || '%'",
        "post_targets": "select count(*) from public.post_targets where post_id::text like $1 || '%'",
        "entity_edges": "select count(*) from public.entity_edges where follower_id::text like $1 || '%'",
    }
    for table, sql in counts.items():
        assert await conn.fetchval(sql, prefix) == written[table], table
    # Every reference the load skipped checking for holds.
    orphans = {
        "post authors": "select count(*) from public.posts p left join auth.users u on u.id = p.author_id "
        "where u.id is null",
        "post pages": "select count(*) from public.posts p left join public.entities e on e.id = p.entity_id "
        "where p.entity_id is not null and e.id is null",
        "targets": "select count(*) from public.post_targets t left join public.posts p on p.id = t.post_id "
        "where p.id is null or t.post_created_at <> p.created_at",
        "follows": "select count(*) from public.entity_edges f left join public.entities e on e.id = f.entity_id "
        "where e.id is null",
        "sellers": "select count(*) from public.marketplace_listings l "
        "join public.entities e on e.id = l.seller_entity_id where e.owner_id <> l.seller_id",
        "profiles": "select count(*) from auth.users u left join public.profiles p on p.user_id = u.id "
        "where p.user_id is null",
    }
    for what, sql in orphans.items():
        assert await conn.fetchval(sql) == 0, what
    # Power law: the most followed page has many times the median page's followers.
    followers = [r[0] for r in await conn.fetch(
        "select count(*) from public.entity_edges group by entity_id order by 1 desc")]  # fmt: skip
    assert followers[0] >= 5 * statistics.median(followers)
    posts_per_page = [
        r[0]
        for r in await conn.fetch(
            "select count(*) from public.posts where entity_id is not null group by entity_id order by 1 desc"
        )
    ]
    assert posts_per_page[0] >= 5 * statistics.median(posts_per_page)
    # Timestamps are relative to the anchor: posts within the 90 days before it, events around it.
    span = await conn.fetchrow("select min(created_at), max(created_at) from public.posts")
    assert ANCHOR - dt.timedelta(days=90) <= span[0] and span[1] <= ANCHOR
    assert await conn.fetchval("select count(*) from public.events where starts_at > $1", ANCHOR) > 0


async def test_the_same_seed_is_refused_twice_and_another_seed_loads_beside_it(
    conn: asyncpg.Connection, db_dsn: str
) -> None:
    await load_scale_data(db_dsn, users=50, posts=100, seed=1, anchor=ANCHOR)
    with pytest.raises(ScaleDataError, match="already loaded here: pick another --seed"):
        await load_scale_data(db_dsn, users=50, posts=100, seed=1, anchor=ANCHOR)
    await load_scale_data(db_dsn, users=50, posts=100, seed=2, anchor=ANCHOR)
    assert await conn.fetchval("select count(*) from public.posts") == 200


async def test_a_failed_load_writes_nothing(conn: asyncpg.Connection, db_dsn: str) -> None:
    plan = ScalePlan.for_counts(users=20, posts=50, seed=9)
    # A post id the load will try to write already exists: the load fails as a whole.
    owner = await conn.fetchval(
        "insert into auth.users (id, email, encrypted_password) "
        "values (gen_random_uuid(), 'x@x.invalid', '!') returning id"
    )
    await conn.execute("insert into public.posts (id, author_id, body) values ($1::uuid, $2, 'taken')",
                       row_id(plan, "post", 7), owner)  # fmt: skip
    with pytest.raises(ScaleDataError, match="nothing was written"):
        await load_scale_data(db_dsn, users=20, posts=50, seed=9, anchor=ANCHOR)
    assert await conn.fetchval("select count(*) from auth.users") == 2  # the smoke user and ours


async def test_an_unmigrated_database_is_refused(p2_server_dsn: str) -> None:
    from tests.integration.platform2.conftest import with_database

    with pytest.raises(ScaleDataError, match="not migrated"):
        await load_scale_data(with_database(p2_server_dsn, "postgres"), users=1, posts=1)


def test_the_cli_loads_and_reports_rows(db_dsn: str) -> None:
    app = typer.Typer(cls=GauntletGroup)
    fixtures_cli.register(app)
    result = CliRunner().invoke(app, ["fixtures", "load", "--users", "40", "--posts", "300", "--dsn", db_dsn, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rows"]["posts"] == 300 and report["rows"]["auth.users"] == 40 and report["seconds"] > 0
    plain = CliRunner().invoke(
        app, ["fixtures", "load", "--users", "40", "--posts", "30", "--seed", "3", "--dsn", db_dsn]
    )
    assert plain.exit_code == 0 and "rows/s" in plain.output and "total" in plain.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--users", "0"], "--users must be between 1"),
        (["--users", "10", "--entities", "11"], "--entities must be between 1 and --users"),
        (["--posts", "-1"], "--posts must be between 0"),
    ],
)
def test_the_cli_names_bad_arguments_and_exits_2(db_dsn: str, args: list[str], message: str) -> None:
    app = typer.Typer(cls=GauntletGroup)
    fixtures_cli.register(app)
    result = CliRunner().invoke(app, ["fixtures", "load", *args, "--dsn", db_dsn])
    assert result.exit_code == 2
    assert message in result.output


def test_without_a_dsn_or_stack_the_cli_says_what_to_do(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GAUNTLET_PRIMARY_DSN", raising=False)
    app = typer.Typer(cls=GauntletGroup)
    fixtures_cli.register(app)
    result = CliRunner().invoke(app, ["fixtures", "load", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "gauntlet up" in result.output and "--dsn" in result.output


async def test_fixture_accounts_can_sign_in_and_are_written_for_load_runs(
    conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    from gauntlet.fixtures.accounts import FixtureAccountsError, issue_accounts
    from gauntlet.load.profiles.accounts import load_accounts
    from gauntlet.platform.auth.passwords import verify_password

    await load_scale_data(db_dsn, users=120, posts=200, seed=4, anchor=ANCHOR)
    await load_scale_data(db_dsn, users=30, posts=20, seed=6, anchor=ANCHOR)  # another seed, left alone
    out = tmp_path / "accounts.json"
    assert await issue_accounts(db_dsn, out, count=25, seed=4, password="pony-club-7") == 25
    accounts = load_accounts(out)
    assert len({a.email for a in accounts}) == 25 and {a.password for a in accounts} == {"pony-club-7"}
    stored = await conn.fetch(
        "select u.email, u.encrypted_password, p.onboarding_complete from auth.users u "
        "join public.profiles p on p.user_id = u.id where u.encrypted_password <> '!'"
    )
    chosen = {r["email"]: r for r in stored if r["email"].endswith("@scale.invalid")}
    assert set(chosen) == {a.email for a in accounts}, "exactly the written accounts can sign in"
    assert all(r["onboarding_complete"] and verify_password("pony-club-7", r["encrypted_password"])
               for r in chosen.values())  # fmt: skip
    plan = ScalePlan.for_counts(users=120, posts=200, seed=4)
    assert all(email.startswith(f"scale{plan.salt:08x}.") for email in chosen), "only seed 4's users"

    # Refusals change nothing: an existing file, more users than the seed has, a weak password.
    before = out.read_text()
    for kwargs, message in [
        ({"count": 5, "seed": 4}, "exists: pass --force"),
        ({"count": 10_000, "seed": 4, "overwrite": True}, "fewer than --count"),
        ({"count": 5, "seed": 4, "overwrite": True, "password": "short"}, "at least 6"),
        ({"count": 0, "seed": 4, "overwrite": True}, "--count must be between"),
    ]:
        with pytest.raises(FixtureAccountsError, match=message):
            await issue_accounts(db_dsn, out, **kwargs)  # type: ignore[arg-type]
    assert out.read_text() == before
    assert await conn.fetchval("select count(*) from auth.users where encrypted_password <> '!' "
                               "and email like '%@scale.invalid'") == 25  # fmt: skip


def test_the_accounts_cli_writes_the_file_and_names_bad_arguments(db_dsn: str, tmp_path: Path) -> None:
    app = typer.Typer(cls=GauntletGroup)
    fixtures_cli.register(app)
    loaded = CliRunner().invoke(app, ["fixtures", "load", "--users", "30", "--posts", "10", "--seed", "8",
                                      "--dsn", db_dsn])  # fmt: skip
    assert loaded.exit_code == 0, loaded.output
    out = tmp_path / "a.json"
    args = ["fixtures", "accounts", "--count", "5", "--seed", "8", "--out", str(out), "--dsn", db_dsn]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "5 accounts of seed 8" in result.output and len(json.loads(out.read_text())["accounts"]) == 5
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "--force" in again.output
