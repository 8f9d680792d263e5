-- 250_next_best_actions: Rocker's next best actions (seeds 003/004, task 8).
--
--   rocker_next_best_actions(p_user_id uuid default NULL)
--       -> setof (action text, title text, body text, href text, weight double precision)
--       VOLATILE (it records what it shows), SECURITY DEFINER; a client for itself,
--       service_role for anyone. At most 3 rows, weight descending.
--
-- The rules, each from the user's real state (weights in the seeds' 0.70-0.90 band):
--   complete_profile  0.90  the profile has no avatar_url or no bio (blank counts as missing)
--   add_interests     0.85  fewer than 3 interests (the onboarding gate)
--   list_first_item   0.80  the user has never created a listing (any status);
--                           gone as soon as one exists
--   follow_pages      0.75  the user follows no page
--   engage            0.70  inactive for 8 days or more: now - coalesce(profiles.last_active_at,
--                           auth.users.last_sign_in_at, auth.users.created_at) >= 8 days
-- Guardrails: at most 3 actions, sorted by weight; a CTA shown to a user is
-- not shown again within 24 h. "Shown" means returned by this function: every
-- returned action is recorded in nba_impressions, so a second call within
-- 24 h returns the next eligible actions (or none). A page should therefore
-- call it once per visit and keep the answer, not poll it.

create table if not exists public.nba_impressions (
    id bigint generated always as identity primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    action text not null check (action ~ '^[a-z_]{1,64}$'),
    weight double precision not null,
    shown_at timestamptz not null default now()
);
create index if not exists idx_nba_impressions_user_action on public.nba_impressions (user_id, action, shown_at desc);
create index if not exists idx_nba_impressions_shown on public.nba_impressions (shown_at);

alter table public.nba_impressions enable row level security;
grant select on public.nba_impressions to authenticated;
grant select, insert, update, delete on public.nba_impressions to service_role;
drop policy if exists nba_impressions_read_own on public.nba_impressions;
create policy nba_impressions_read_own on public.nba_impressions for select to authenticated
    using (user_id = (select auth.uid()));

create or replace function public.rocker_next_best_actions(p_user_id uuid default null)
returns table (action text, title text, body text, href text, weight double precision)
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_uid uuid := public._require_self_or_trusted(p_user_id);
    v_profile public.profiles;
    v_user auth.users;
    v_last_active timestamptz;
begin
    select * into v_user from auth.users u where u.id = v_uid;
    if not found then
        raise exception 'unknown user %', v_uid using errcode = 'P0002';
    end if;
    select * into v_profile from public.profiles p where p.user_id = v_uid;
    v_last_active := coalesce(v_profile.last_active_at, v_user.last_sign_in_at, v_user.created_at);

    return query
    with candidates (action, title, body, href, weight, applies) as (
        values
        ('complete_profile', 'Complete your profile', 'Add a photo and a short bio so people know who you are.',
         '/profile/edit', 0.90::double precision,
         nullif(trim(v_profile.avatar_url), '') is null or nullif(trim(v_profile.bio), '') is null),
        ('add_interests', 'Pick your interests', 'Choose at least three interests to tune your feed.',
         '/onboarding/interests', 0.85,
         (select count(*) from public.user_interests ui where ui.user_id = v_uid) < 3),
        ('list_first_item', 'List your first item', 'Sell tack, gear or services to people who follow you.',
         '/listings/new', 0.80,
         not exists (select 1 from public.marketplace_listings l where l.seller_id = v_uid)),
        ('follow_pages', 'Follow a few pages', 'Follow stables, clubs and sellers to fill your Following lane.',
         '/discover', 0.75,
         not exists (select 1 from public.entity_edges f where f.follower_id = v_uid and f.kind = 'follow')),
        ('engage', 'See what you missed', 'It has been a while: catch up on your feed.',
         '/home', 0.70,
         v_last_active <= now() - interval '8 days')
    ),
    chosen as (
        select c.action, c.title, c.body, c.href, c.weight
          from candidates c
         where c.applies
           and not exists (select 1 from public.nba_impressions i
                            where i.user_id = v_uid and i.action = c.action and i.shown_at > now() - interval '24 hours')
         order by c.weight desc, c.action
         limit 3
    ),
    shown as (
        insert into public.nba_impressions (user_id, action, weight)
        select v_uid, chosen.action, chosen.weight from chosen
        returning nba_impressions.action
    )
    select chosen.action, chosen.title, chosen.body, chosen.href, chosen.weight
      from chosen
     where chosen.action in (select shown.action from shown)
     order by chosen.weight desc, chosen.action;
end
$$;

revoke all on function public.rocker_next_best_actions(uuid) from public;
grant execute on function public.rocker_next_best_actions(uuid) to authenticated, service_role;
