-- 000_extensions_and_roles: pgvector and the three Supabase-shaped API roles.
--
-- The API connects as the bootstrap superuser and, per request, runs
-- `set local role <anon|authenticated|service_role>` plus
-- `set_config('request.jwt.claims', ..., true)`; these roles are what RLS and
-- the grants in later files are written against. They are NOLOGIN: nobody
-- connects as them directly. service_role bypasses RLS, as in Supabase.
--
-- Only pgvector is available (the pgserver wheel ships no contrib modules):
-- uuids come from the built-in gen_random_uuid(), passwords are hashed by the API.

create extension if not exists vector;

-- Roles are cluster-wide: another database in the same cluster may have made
-- them already, or be making them right now (hence the duplicate_object guard).
do $$
declare
    r text;
begin
    foreach r in array array['anon', 'authenticated', 'service_role'] loop
        if not exists (select 1 from pg_roles where rolname = r) then
            begin
                execute format('create role %I nologin noinherit', r);
            exception when duplicate_object then
                null;
            end;
        end if;
    end loop;
end
$$;

alter role service_role bypassrls;

grant usage on schema public to anon, authenticated, service_role;
