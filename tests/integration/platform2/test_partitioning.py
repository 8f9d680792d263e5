"""Monthly partitions of rpc_metrics, intent_signals and notifications, and converting a live database to them."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from gauntlet.fixtures.roles import acting_as, make_user
from gauntlet.platform.migrate import MIGRATIONS_DIR, apply_migrations
from gauntlet.platform.queries import load as load_queries
from tests.integration.platform2.conftest import with_database

pytestmark = pytest.mark.integration

SERIES = ("rpc_metrics", "intent_signals", "notifications")


def _month(offset: int = 0) -> str:
    today = dt.date.today().replace(day=1)
    index = today.year * 12 + today.month - 1 + offset
    return f"{index // 12:04d}{index % 12 + 1:02d}"


async def _partitions(conn: asyncpg.Connection, table: str) -> dict[str, bool]:
    rows = await conn.fetch(
        "select c.relname, c.relrowsecurity from pg_inherits i join pg_class c on c.oid = i.inhrelid "
        "where i.inhparent = $1::regclass",
        f"public.{table}",
    )
    return {row["relname"]: row["relrowsecurity"] for row in rows}


@pytest.mark.parametrize("table", SERIES)
async def test_time_series_are_partitioned_by_month_with_closed_partitions(
    conn: asyncpg.Connection, table: str
) -> None:
    assert await conn.fetchval("select relkind::text from pg_class where oid = $1::regclass", f"public.{table}") == "p"
    parts = await _partitions(conn, table)
    assert {f"{table}_default", f"{table}_p{_month()}", f"{table}_p{_month(1)}", f"{table}_p{_month(2)}"} <= set(parts)
    assert all(parts.values()), "every partition has RLS on"
    for part in parts:
        for role in ("anon", "authenticated"):
            assert not await conn.fetchval("select has_table_privilege($1, $2, 'select')", role, f"public.{part}")


async def test_writers_and_views_work_on_the_partitioned_tables(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    async with acting_as(conn, "anon"):
        await conn.execute("select public._log_rpc('auth.login', 42.0)")
    async with acting_as(conn, "authenticated", user):
        signal = await conn.fetchval("select public.emit_signal('feed.scroll', '{\"page\": 2}')")
        assert await conn.fetchval("select count(*) from public.intent_signals where id = $1", signal) == 1
    assert await conn.fetchval("select p95_ms from public.vw_kernel_slos where path = 'auth.login'") == 42.0
    assert await conn.fetchval("select calls from public.rpc_metrics_hourly where name = 'auth.login'") == 1
    await conn.execute(
        "insert into public.rpc_metrics (name, duration_ms, ts) values ('old', 1, now() - interval '40 days')"
    )
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.gc_rpc_metrics()") == 1
    part = await conn.fetchval("select tableoid::regclass::text from public.rpc_metrics where name = 'auth.login'")
    assert part == f"rpc_metrics_p{_month()}"


async def test_ensure_monthly_partitions_moves_waiting_rows_out_of_the_default(conn: asyncpg.Connection) -> None:
    ahead = dt.datetime.now(dt.UTC).replace(day=15) + dt.timedelta(days=31 * 5)
    ancient = dt.datetime.now(dt.UTC) - dt.timedelta(days=31 * 30)
    await conn.execute(
        "insert into public.rpc_metrics (name, duration_ms, ts) values ('later', 1, $1), ('ancient', 1, $2)",
        ahead,
        ancient,
    )
    assert await conn.fetchval("select count(*) from only public.rpc_metrics_default") == 2
    async with acting_as(conn, "service_role"):
        created = await conn.fetchval("select public.ensure_monthly_partitions('public.rpc_metrics', 6)")
        assert await conn.fetchval("select public.ensure_monthly_partitions('public.rpc_metrics', 6)") == 0
    assert created == 4  # months +3 .. +6; +5 took the waiting row with it
    where = await conn.fetchval("select tableoid::regclass::text from public.rpc_metrics where name = 'later'")
    assert where == f"rpc_metrics_p{ahead:%Y%m}"
    # Older than 24 months stays in the default partition (no partition per ancient month).
    assert await conn.fetchval("select name from public.rpc_metrics_default") == "ancient"


async def test_the_gc_worker_runs_gc_monthly_partitions(conn: asyncpg.Connection) -> None:
    listed = [row["name"] for row in await conn.fetch(load_queries("workers")["gc_functions"].sql)]
    assert "gc_monthly_partitions" in listed
    async with acting_as(conn, "service_role"):
        assert await conn.fetchval("select public.gc_monthly_partitions()") == 0  # all there already
        assert await conn.fetchval("select public.gc_monthly_partitions(3)") == len(SERIES)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with acting_as(conn, "authenticated", uuid.uuid4()):
            await conn.fetchval("select public.gc_monthly_partitions()")


async def _catalog(conn: asyncpg.Connection, table: str) -> dict[str, Any]:
    """What the conversion must keep: views reading the table, grants, policies, indexes, FKs."""
    views = await conn.fetch(
        "select distinct v.relname, pg_get_viewdef(v.oid) as def, "
        "array(select a::text from unnest(v.relacl) a order by 1) as acl "
        "from pg_depend d join pg_rewrite r on r.oid = d.objid join pg_class v on v.oid = r.ev_class "
        "where d.refobjid = $1::regclass and v.oid <> $1::regclass order by 1",
        f"public.{table}",
    )
    return {
        "views": [tuple(v) for v in views],
        "acl": await conn.fetchval("select array(select a::text from unnest(relacl) a order by 1) from pg_class "
                                   "where oid = $1::regclass", f"public.{table}"),
        "column_acl": [tuple(r) for r in await conn.fetch(
            "select attname, array(select a::text from unnest(attacl) a order by 1) from pg_attribute "
            "where attrelid = $1::regclass and attacl is not null "
            "order by 1", f"public.{table}")],
        "policies": [tuple(r) for r in await conn.fetch(
            "select policyname, permissive, roles::text, cmd, qual, with_check from pg_policies "
            "where schemaname = 'public' and tablename = $1 order by 1", table)],
        "indexes": sorted(r[0] for r in await conn.fetch(
            "select indexname from pg_indexes where schemaname = 'public' and tablename = $1", table)),
        "fks": [tuple(r) for r in await conn.fetch(
            "select conname, pg_get_constraintdef(oid) from pg_constraint where conrelid = $1::regclass "
            "and contype = 'f' order by 1", f"public.{table}")],
        "rls": await conn.fetchval("select relrowsecurity from pg_class where oid = $1::regclass", f"public.{table}"),
    }  # fmt: skip


@pytest.fixture
async def scratch_dsn(p2_server_dsn: str) -> AsyncIterator[str]:
    """An empty database next to the test databases, dropped afterwards."""
    name = f"p2_scratch_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(with_database(p2_server_dsn, "postgres"))
    try:
        await admin.execute(f"create database {name}")
        yield with_database(p2_server_dsn, name)
    finally:
        await admin.execute(f"drop database if exists {name} with (force)")
        await admin.close()


async def test_an_already_migrated_database_is_converted_keeping_views_grants_and_rows(
    scratch_dsn: str, tmp_path: Path, conn: asyncpg.Connection
) -> None:
    # A database migrated before Platform II existed: DB's files only, with traffic in it.
    platform_one = tmp_path / "migrations"
    platform_one.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        number = int(path.name[:3])
        # Neither Platform II (2xx) nor what came after it (8xx: sessions, realtime on its tables).
        if number < 200 or 300 <= number < 800:
            shutil.copy(path, platform_one / path.name)
    await apply_migrations(scratch_dsn, platform_one)
    old = await asyncpg.connect(scratch_dsn)
    try:
        user = await make_user(old)
        for months_back in (0, 1, 2):
            await old.execute(
                "insert into public.rpc_metrics (name, duration_ms, ts) "
                "select 'path.' || g, g, now() - make_interval(days => $1 * 31) from generate_series(1, 10) g",
                months_back,
            )
            await old.execute(
                "insert into public.intent_signals (user_id, name, ts) "
                "values ($1, 'seen', now() - make_interval(days => $2))",
                user,
                months_back * 31,
            )
        before = {t: await _catalog(old, t) for t in ("rpc_metrics", "intent_signals")}
        rows = {t: await old.fetch(f"select * from public.{t} order by id") for t in ("rpc_metrics", "intent_signals")}
        assert (
            await old.fetchval("select relkind::text from pg_class where oid = 'public.rpc_metrics'::regclass") == "r"
        )
    finally:
        await old.close()

    applied = await apply_migrations(scratch_dsn)
    assert applied and all(200 <= int(name[:3]) < 300 or int(name[:3]) >= 800 for name in applied)
    new = await asyncpg.connect(scratch_dsn)
    try:
        for table in ("rpc_metrics", "intent_signals"):
            assert await new.fetchval("select relkind::text from pg_class where oid = $1::regclass",
                                      f"public.{table}") == "p"  # fmt: skip
            after = await _catalog(new, table)
            assert after == {**before[table], "indexes": after["indexes"]}, table
            assert set(after["indexes"]) == set(before[table]["indexes"])  # same names (the key gained ts)
            assert await new.fetch(f"select * from public.{table} order by id") == rows[table]
            # The identity carries on after the largest id.
            max_id = max(r["id"] for r in rows[table])
        await new.execute("insert into public.rpc_metrics (name, duration_ms) values ('next', 1)")
        assert await new.fetchval("select id from public.rpc_metrics where name = 'next'") > max_id
        assert await new.fetchval("select count(*) from public.vw_kernel_slos") == 11  # path.1-10 and next
        # Same views as a database migrated in one go (where 300 runs after the partitioning).
        fresh = await _catalog(conn, "rpc_metrics")
        assert [v[:2] for v in fresh["views"]] == [v[:2] for v in before["rpc_metrics"]["views"]]
        # Re-applying every file is a no-op for the conversion.
        await new.execute("truncate public.gauntlet_schema_migrations")
    finally:
        await new.close()
    await apply_migrations(scratch_dsn)


async def test_the_conversion_keeps_what_a_table_carries_and_runs_once(conn: asyncpg.Connection) -> None:
    await conn.execute(
        """
        create table public.p2_series (
            id bigint generated always as identity primary key,
            user_id uuid references auth.users (id) on delete cascade,
            v integer not null default 7 check (v >= 0),
            at timestamptz not null default now()
        );
        create index p2_series_user on public.p2_series (user_id, at);
        create unique index p2_series_v_at on public.p2_series (v, at);
        create function public.p2_series_touch() returns trigger language plpgsql as
            $$ begin new.v := new.v + 1; return new; end $$;
        create trigger p2_series_touch before insert on public.p2_series
            for each row execute function public.p2_series_touch();
        alter table public.p2_series enable row level security;
        create policy p2_series_own on public.p2_series for select to authenticated using (user_id = auth.uid());
        grant select, insert (user_id, v) on public.p2_series to authenticated;
        create view public.p2_series_recent as select id, v from public.p2_series where at > now() - interval '90 days';
        create view public.p2_series_top as select max(v) as top from public.p2_series_recent;
        grant select on public.p2_series_top to authenticated;
        insert into public.p2_series (v, at)
            values (1, now()), (2, now() - interval '40 days'), (3, now() - interval '3 years');
        """
    )
    before = await _catalog(conn, "p2_series")
    triggered = await conn.fetch("select id, v, at from public.p2_series order by id")
    assert await conn.fetchval("select public._convert_to_monthly_partitions('public.p2_series', 'at')") is True
    assert await conn.fetchval("select public._convert_to_monthly_partitions('public.p2_series', 'at')") is False
    after = await _catalog(conn, "p2_series")
    assert {**after, "indexes": before["indexes"]} == before
    assert set(after["indexes"]) == set(before["indexes"])
    assert await conn.fetch("select id, v, at from public.p2_series order by id") == triggered
    assert await conn.fetchval("select top from public.p2_series_top") == 3  # the view on the view works
    await conn.execute("insert into public.p2_series (v) values (10)")
    assert await conn.fetchval("select v from public.p2_series where id = 4") == 11  # trigger and identity kept
    assert await conn.fetchval("select has_table_privilege('authenticated', 'public.p2_series_top', 'select')")
    assert await conn.fetchval("select has_column_privilege('authenticated', 'public.p2_series', 'v', 'insert')")
    assert await conn.fetchval("select count(*) from public.p2_series_default") == 1  # the 3-year-old row


async def test_the_conversion_refuses_what_it_cannot_keep(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "create table public.p2_parent (id bigint primary key, at timestamptz not null);"
        "create table public.p2_child (parent_id bigint references public.p2_parent (id));"
        "create table public.p2_unique (code text unique, at timestamptz not null);"
        "create table public.p2_nullable (at timestamptz)"
    )
    for table, message in (
        ("p2_parent", "foreign keys reference it"),
        ("p2_unique", "unique or exclusion indexes"),
        ("p2_nullable", "NOT NULL timestamptz"),
    ):
        with pytest.raises(asyncpg.PostgresError, match=message):
            await conn.fetchval("select public._convert_to_monthly_partitions($1::regclass, 'at')", f"public.{table}")
