-- 490_service_role_grants: service_role (the workers and the API's server-side
-- paths) may read and write every table of public and use its sequences, like
-- Supabase's service key; RLS does not apply to it (bypassrls, 000).
-- Default privileges extend this to tables the API adds later (500-599) when
-- they are created by the same owner. Runs last among 000-499 so it covers
-- every table above.

grant select, insert, update, delete on all tables in schema public to service_role;
grant usage, select on all sequences in schema public to service_role;
alter default privileges in schema public grant select, insert, update, delete on tables to service_role;
alter default privileges in schema public grant usage, select on sequences to service_role;

-- The migration ledger is the runner's, not the platform's (it exists when
-- platform/migrate.py applies this file; a bare psql run may not have it).
do $$
begin
    if to_regclass('public.gauntlet_schema_migrations') is not null then
        revoke all on public.gauntlet_schema_migrations from service_role, anon, authenticated;
    end if;
end
$$;
