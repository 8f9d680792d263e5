-- 020_profiles: reserved handles, entities, profiles and onboarding progress.
--
-- Embedding dimension: vector(384), not the 768 of the production seeds. The
-- reference platform embeds text in-project (feature hashing, see
-- fixtures/embeddings.py), where 384 dims already make collisions negligible
-- for short interest phrases, and a vector(384) is 1,544 bytes: it stays
-- inline in the profile row (under the ~2 kB TOAST threshold) where a
-- vector(768) would be toasted on every profile write under load. Every
-- embedding column in these migrations uses 384.
--
-- Handles are unique case-insensitively across profiles (index on lower(handle));
-- check_handle_available (110) also looks at entities and reserved_handles, and
-- the trigger below refuses a reserved handle however it is written.
--
-- A new auth.users row gets its profile from handle_new_user (Supabase's
-- pattern): display_name from user metadata or the e-mail's local part, and the
-- metadata's handle when it is valid and free (else NULL, chosen in onboarding).
--
-- Clients may update only the presentational columns of their own profile;
-- onboarding_complete and interests_embedding are written by definer RPCs.

create or replace function public._touch_updated_at() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
    new.updated_at := now();
    return new;
end
$$;

create table if not exists public.reserved_handles (
    handle text primary key check (handle = lower(handle) and length(handle) between 1 and 30),
    reason text not null default 'reserved',
    created_at timestamptz not null default now()
);

-- Entities: business/stable/club pages with their own handle, owned by a user.
create table if not exists public.entities (
    id uuid primary key default gen_random_uuid(),
    kind text not null default 'business' check (kind in ('business', 'stable', 'club', 'event_host', 'creator')),
    handle text not null check (handle ~ '^[A-Za-z0-9_]{3,30}$'),
    display_name text not null check (length(display_name) between 1 and 80),
    owner_id uuid not null references auth.users (id) on delete cascade,
    metadata jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index if not exists entities_handle_lower_key on public.entities (lower(handle));
create index if not exists idx_entities_owner on public.entities (owner_id);

create table if not exists public.profiles (
    user_id uuid primary key references auth.users (id) on delete cascade,
    handle text check (handle ~ '^[A-Za-z0-9_]{3,30}$'),
    display_name text check (length(display_name) between 1 and 80),
    avatar_url text check (avatar_url ~ '^https?://'),
    bio text check (length(bio) <= 500),
    acquisition_source text check (length(acquisition_source) between 1 and 64),
    onboarding_complete boolean not null default false,
    onboarding_completed_at timestamptz,
    interests_embedding vector(384),
    last_active_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index if not exists profiles_handle_lower_key on public.profiles (lower(handle));

create table if not exists public.profiles_onboarding_progress (
    user_id uuid primary key references auth.users (id) on delete cascade,
    step text not null default 'welcome'
        check (step in ('welcome', 'handle', 'profile', 'acquisition', 'interests', 'done')),
    completed_steps text[] not null default '{}',
    updated_at timestamptz not null default now()
);

-- A reserved handle is refused on every write path, not only by the RPC.
create or replace function public._profiles_refuse_reserved_handle() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
    if new.handle is not null and exists (select 1 from public.reserved_handles r where r.handle = lower(new.handle)) then
        raise exception 'handle "%" is reserved', new.handle using errcode = '23514';
    end if;
    return new;
end
$$;

create or replace trigger profiles_refuse_reserved_handle
    before insert or update of handle on public.profiles
    for each row execute function public._profiles_refuse_reserved_handle();
create or replace trigger entities_refuse_reserved_handle
    before insert or update of handle on public.entities
    for each row execute function public._profiles_refuse_reserved_handle();
create or replace trigger profiles_touch_updated_at
    before update on public.profiles
    for each row execute function public._touch_updated_at();
create or replace trigger entities_touch_updated_at
    before update on public.entities
    for each row execute function public._touch_updated_at();
create or replace trigger profiles_onboarding_progress_touch_updated_at
    before update on public.profiles_onboarding_progress
    for each row execute function public._touch_updated_at();

-- Runs as owner: the signing-up caller has no rights on profiles yet.
create or replace function public.handle_new_user() returns trigger
language plpgsql security definer
set search_path = public, pg_temp
as $$
declare
    v_handle text := nullif(new.raw_user_meta_data ->> 'handle', '');
    v_display text := coalesce(nullif(left(new.raw_user_meta_data ->> 'display_name', 80), ''),
                               nullif(left(split_part(new.email, '@', 1), 80), ''));
begin
    if v_handle is not null and (
        v_handle !~ '^[A-Za-z0-9_]{3,30}$'
        or exists (select 1 from public.reserved_handles where handle = lower(v_handle))
        or exists (select 1 from public.profiles where lower(handle) = lower(v_handle))
        or exists (select 1 from public.entities where lower(handle) = lower(v_handle))
    ) then
        v_handle := null;
    end if;
    insert into public.profiles (user_id, handle, display_name, acquisition_source)
    values (new.id, v_handle, v_display, nullif(left(new.raw_user_meta_data ->> 'acquisition_source', 64), ''))
    on conflict (user_id) do nothing;
    insert into public.profiles_onboarding_progress (user_id) values (new.id)
    on conflict (user_id) do nothing;
    return new;
end
$$;

create or replace trigger on_auth_user_created
    after insert on auth.users
    for each row execute function public.handle_new_user();

-- RLS: own rows only (admins read all); reserved handles public read, admin write;
-- entities are public pages (read by all, written by their owner).
alter table public.reserved_handles enable row level security;
alter table public.entities enable row level security;
alter table public.profiles enable row level security;
alter table public.profiles_onboarding_progress enable row level security;

grant select on public.reserved_handles to anon, authenticated;
grant insert, update, delete on public.reserved_handles to authenticated;
drop policy if exists reserved_handles_public_read on public.reserved_handles;
create policy reserved_handles_public_read on public.reserved_handles for select to anon, authenticated
    using (true);
drop policy if exists reserved_handles_admin_write on public.reserved_handles;
create policy reserved_handles_admin_write on public.reserved_handles for all to authenticated
    using ((select public.has_role(auth.uid(), 'admin')))
    with check ((select public.has_role(auth.uid(), 'admin')));

grant select on public.entities to anon, authenticated;
grant insert (kind, handle, display_name, owner_id, metadata), update (kind, handle, display_name, metadata), delete
    on public.entities to authenticated;
drop policy if exists entities_public_read on public.entities;
create policy entities_public_read on public.entities for select to anon, authenticated using (true);
drop policy if exists entities_owner_insert on public.entities;
create policy entities_owner_insert on public.entities for insert to authenticated
    with check (owner_id = (select auth.uid()));
drop policy if exists entities_owner_update on public.entities;
create policy entities_owner_update on public.entities for update to authenticated
    using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));
drop policy if exists entities_owner_delete on public.entities;
create policy entities_owner_delete on public.entities for delete to authenticated
    using (owner_id = (select auth.uid()));

grant select on public.profiles to authenticated;
grant insert (user_id, handle, display_name, avatar_url, bio, acquisition_source),
      update (handle, display_name, avatar_url, bio, acquisition_source, last_active_at)
    on public.profiles to authenticated;
drop policy if exists profiles_read_own on public.profiles;
create policy profiles_read_own on public.profiles for select to authenticated
    using (user_id = (select auth.uid()) or (select public.has_role(auth.uid(), 'admin')));
drop policy if exists profiles_insert_own on public.profiles;
create policy profiles_insert_own on public.profiles for insert to authenticated
    with check (user_id = (select auth.uid()));
drop policy if exists profiles_update_own on public.profiles;
create policy profiles_update_own on public.profiles for update to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

grant select, insert, update on public.profiles_onboarding_progress to authenticated;
drop policy if exists onboarding_progress_own on public.profiles_onboarding_progress;
create policy onboarding_progress_own on public.profiles_onboarding_progress for all to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists onboarding_progress_admin_read on public.profiles_onboarding_progress;
create policy onboarding_progress_admin_read on public.profiles_onboarding_progress for select to authenticated
    using ((select public.has_role(auth.uid(), 'admin')));
