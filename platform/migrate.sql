-- Named queries of the migration runner (platform/migrate.py), parsed with gauntlet.platform.queries.parse_queries.

-- name: create_ledger
-- The runner's record of applied files.
-- params: none
create table if not exists public.gauntlet_schema_migrations (
    name text primary key,
    sha256 text not null,
    applied_at timestamptz not null default now()
);

-- name: ledger_exists
-- Whether any migration was ever applied here.
-- params: none
select to_regclass('public.gauntlet_schema_migrations') is not null;

-- name: applied
-- Every applied file with its checksum.
-- params: none
select name, sha256 from public.gauntlet_schema_migrations;

-- name: record
-- Record one applied file.
-- params: $1 name, $2 sha256
insert into public.gauntlet_schema_migrations (name, sha256) values ($1, $2)
on conflict (name) do update set sha256 = excluded.sha256, applied_at = now();

-- name: lock
-- Serialise runners (session-level advisory lock).
-- params: $1 lock key
select pg_advisory_lock($1);

-- name: unlock
-- Release the runner lock.
-- params: $1 lock key
select pg_advisory_unlock($1);

-- name: database_exists
-- Whether a database of this name exists.
-- params: $1 database name
select 1 from pg_database where datname = $1;
