-- 030_interests: the interests kernel — catalog, user and entity interests.
--
-- interest_catalog is public read (admins write); its embedding (vector(384),
-- see 020) is computed in-project by fixtures/embeddings.py and loaded by the
-- seed loader. user_interests.affinity is CHECKed to [0, 1] (NaN is rejected
-- too: Postgres orders NaN above every number).
--
-- profiles.interests_embedding is kept current by statement-level triggers on
-- user_interests, whatever the write path (RPC, direct insert in the cutover
-- smoke test, a bulk fixture load): recompute_profile_embedding(p_user_id)
-- stores the affinity-weighted mean of the user's interest embeddings, or NULL
-- when the user has none.

create table if not exists public.interest_catalog (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    domain text not null check (domain ~ '^[a-z][a-z_]{1,31}$'),
    category text not null check (length(category) between 1 and 64),
    name text not null check (length(name) between 1 and 80),
    tags text[] not null default '{}',
    popularity integer not null default 0 check (popularity >= 0),
    is_active boolean not null default true,
    embedding vector(384),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists idx_interest_catalog_domain on public.interest_catalog (domain, popularity desc);

create table if not exists public.user_interests (
    user_id uuid not null references auth.users (id) on delete cascade,
    interest_id uuid not null references public.interest_catalog (id) on delete cascade,
    affinity double precision not null default 0.5 check (affinity between 0 and 1),
    source text not null default 'onboarding' check (length(source) between 1 and 32),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (user_id, interest_id)
);
create index if not exists idx_user_interests_interest on public.user_interests (interest_id);

create table if not exists public.entity_interests (
    entity_id uuid not null references public.entities (id) on delete cascade,
    interest_id uuid not null references public.interest_catalog (id) on delete cascade,
    weight double precision not null default 1 check (weight between 0 and 1),
    created_at timestamptz not null default now(),
    primary key (entity_id, interest_id)
);
create index if not exists idx_entity_interests_interest on public.entity_interests (interest_id);

create or replace trigger interest_catalog_touch_updated_at
    before update on public.interest_catalog
    for each row execute function public._touch_updated_at();
create or replace trigger user_interests_touch_updated_at
    before update on public.user_interests
    for each row execute function public._touch_updated_at();

-- Weighted mean computed element-wise through real[]: pgvector 0.6 has avg(vector)
-- but no scalar multiplication. Cosine ranking does not need a unit vector.
create or replace function public.recompute_profile_embedding(p_user_id uuid) returns boolean
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_embedding vector(384);
begin
    select array_agg(x.val order by x.ord)::vector(384)
      into v_embedding
      from (
        select e.ord, sum(e.val * ui.affinity) / nullif(sum(ui.affinity), 0) as val
          from public.user_interests ui
          join public.interest_catalog ic on ic.id = ui.interest_id and ic.embedding is not null
          cross join lateral unnest(ic.embedding::real[]) with ordinality as e(val, ord)
         where ui.user_id = p_user_id and ui.affinity > 0
         group by e.ord
      ) x;
    update public.profiles
       set interests_embedding = v_embedding
     where user_id = p_user_id
       and interests_embedding is distinct from v_embedding;
    return v_embedding is not null;
end
$$;
revoke all on function public.recompute_profile_embedding(uuid) from public;
grant execute on function public.recompute_profile_embedding(uuid) to service_role;

-- One trigger per event: transition tables cannot be shared across events.
create or replace function public._user_interests_recompute_embeddings() returns trigger
language plpgsql security definer
set search_path = public, pg_temp
as $$
begin
    if tg_op = 'DELETE' then
        perform public.recompute_profile_embedding(u.user_id) from (select distinct user_id from old_rows) u;
    else
        perform public.recompute_profile_embedding(u.user_id) from (select distinct user_id from new_rows) u;
    end if;
    return null;
end
$$;

create or replace trigger user_interests_embedding_ins after insert on public.user_interests
    referencing new table as new_rows
    for each statement execute function public._user_interests_recompute_embeddings();
create or replace trigger user_interests_embedding_upd after update on public.user_interests
    referencing new table as new_rows
    for each statement execute function public._user_interests_recompute_embeddings();
create or replace trigger user_interests_embedding_del after delete on public.user_interests
    referencing old table as old_rows
    for each statement execute function public._user_interests_recompute_embeddings();

-- RLS: catalog public read, admin write; user_interests own rows (admins read);
-- entity_interests public read, written by the entity's owner.
alter table public.interest_catalog enable row level security;
alter table public.user_interests enable row level security;
alter table public.entity_interests enable row level security;

grant select on public.interest_catalog to anon, authenticated;
grant insert, update, delete on public.interest_catalog to authenticated;
drop policy if exists interest_catalog_public_read on public.interest_catalog;
create policy interest_catalog_public_read on public.interest_catalog for select to anon, authenticated
    using (true);
drop policy if exists interest_catalog_admin_write on public.interest_catalog;
create policy interest_catalog_admin_write on public.interest_catalog for all to authenticated
    using ((select public.has_role(auth.uid(), 'admin')))
    with check ((select public.has_role(auth.uid(), 'admin')));

grant select, delete on public.user_interests to authenticated;
grant insert (user_id, interest_id, affinity, source), update (affinity, source)
    on public.user_interests to authenticated;
drop policy if exists user_interests_read_own on public.user_interests;
create policy user_interests_read_own on public.user_interests for select to authenticated
    using (user_id = (select auth.uid()) or (select public.has_role(auth.uid(), 'admin')));
drop policy if exists user_interests_insert_own on public.user_interests;
create policy user_interests_insert_own on public.user_interests for insert to authenticated
    with check (user_id = (select auth.uid()));
drop policy if exists user_interests_update_own on public.user_interests;
create policy user_interests_update_own on public.user_interests for update to authenticated
    using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists user_interests_delete_own on public.user_interests;
create policy user_interests_delete_own on public.user_interests for delete to authenticated
    using (user_id = (select auth.uid()));

grant select on public.entity_interests to anon, authenticated;
grant insert, update, delete on public.entity_interests to authenticated;
drop policy if exists entity_interests_public_read on public.entity_interests;
create policy entity_interests_public_read on public.entity_interests for select to anon, authenticated
    using (true);
drop policy if exists entity_interests_owner_write on public.entity_interests;
create policy entity_interests_owner_write on public.entity_interests for all to authenticated
    using (exists (select 1 from public.entities e where e.id = entity_id and e.owner_id = (select auth.uid())))
    with check (exists (select 1 from public.entities e where e.id = entity_id and e.owner_id = (select auth.uid())));
