-- 010_auth: the auth kernel — auth.users, the JWT claim readers, admin roles.
--
-- auth.uid() / auth.role() / auth.email() read the transaction-local setting
-- `request.jwt.claims` (JSON with sub, role, email) that the API sets per call.
-- They are NULL-safe: no setting, an empty setting (what a custom GUC reverts
-- to after `set local` ends) or a missing claim all give NULL.
--
-- auth.acting_role() is the role of the `set local role` in force, which stays
-- visible inside SECURITY DEFINER functions (current_user does not): definer
-- RPCs use it to tell a client (anon/authenticated) from a trusted caller
-- (service_role, or a direct superuser session such as psql or a migration).
--
-- public.user_roles + public.has_role(p_user_id, p_role) back the admin
-- policies. has_role is SECURITY DEFINER so policies on user_roles itself do
-- not recurse.

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
    id uuid primary key default gen_random_uuid(),
    email text not null unique,
    encrypted_password text not null,
    raw_user_meta_data jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    last_sign_in_at timestamptz
);

-- The API signs people up as service_role (or as the superuser); clients never
-- touch auth.users directly.
grant select, insert, update, delete on auth.users to service_role;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
    select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;

create or replace function auth.uid() returns uuid
language sql stable
as $$
    select nullif(auth.jwt() ->> 'sub', '')::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
    select nullif(auth.jwt() ->> 'role', '')
$$;

create or replace function auth.email() returns text
language sql stable
as $$
    select nullif(auth.jwt() ->> 'email', '')
$$;

-- 'none' when no `set role` is in force (a direct superuser session).
create or replace function auth.acting_role() returns text
language sql stable
as $$
    select current_setting('role')
$$;

-- True for callers that must be confined to their own rows.
create or replace function auth.is_client() returns boolean
language sql stable
as $$
    select auth.acting_role() in ('anon', 'authenticated')
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email(),
    auth.acting_role(), auth.is_client() to anon, authenticated, service_role;

create table if not exists public.user_roles (
    user_id uuid not null references auth.users (id) on delete cascade,
    role text not null check (role in ('admin', 'moderator', 'support')),
    granted_at timestamptz not null default now(),
    primary key (user_id, role)
);

create or replace function public.has_role(p_user_id uuid, p_role text) returns boolean
language sql stable security definer
set search_path = public, pg_temp
as $$
    select exists (select 1 from public.user_roles where user_id = p_user_id and role = p_role)
$$;

revoke all on function public.has_role(uuid, text) from public;
grant execute on function public.has_role(uuid, text) to anon, authenticated, service_role;

-- Raises unless the caller may act for p_user_id: a client only for itself,
-- a trusted caller for anyone. Returns the user id to act on (a client's own
-- uid when p_user_id is NULL). Error codes: 28000 not signed in, 42501 not yours.
create or replace function public._require_self_or_trusted(p_user_id uuid) returns uuid
language plpgsql stable
set search_path = public, pg_temp
as $$
begin
    if not auth.is_client() then
        if p_user_id is null then
            raise exception 'a user id is required' using errcode = '22023';
        end if;
        return p_user_id;
    end if;
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '28000';
    end if;
    if p_user_id is not null and p_user_id <> auth.uid() then
        raise exception 'you may only act on your own account'
            using errcode = '42501', detail = format('requested user %s', p_user_id);
    end if;
    return auth.uid();
end
$$;

revoke all on function public._require_self_or_trusted(uuid) from public;
grant execute on function public._require_self_or_trusted(uuid) to anon, authenticated, service_role;

alter table public.user_roles enable row level security;
grant select on public.user_roles to authenticated;
grant select, insert, update, delete on public.user_roles to service_role;

drop policy if exists user_roles_read_own on public.user_roles;
create policy user_roles_read_own on public.user_roles for select to authenticated
    using (user_id = (select auth.uid()) or (select public.has_role(auth.uid(), 'admin')));
