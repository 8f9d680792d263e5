-- 244_feed_ranking: the home feed's policy and ranking. Ranking orders a page (never which rows
-- it holds, 243's blend does that).
--
-- score = the item's base score (240: recency decay + metadata score) + 0.15 when the viewer
-- follows the item's page (lanes for_you and shop; none in safe mode; the RPC adds it, 245).
-- Position by position, the
-- greedy choice is the best-scoring item, except that it may not have the previous item's
-- seller unless it beats the best other-seller item by >= 0.25 (no two items of one seller back
-- to back unless the score gap is >= 0.25). Epsilon-greedy: with probability epsilon
-- (ranker.policy {"epsilon"}) a uniformly random item of another seller is shown instead.
-- global.safe_mode {"enabled": true}: epsilon 0, policy "safe_mode", no follow boost: a
-- deterministic popular (metadata score) + recent (decay) slate, the same for everyone (the
-- "global" fallback).
-- With learning.enabled (the default), the RPC logs one learning_events row per item shown (245).

-- The policy in force. Flags are read directly (rollouts do not apply to the ranker). No SET
-- clause (a call would pay for it): it runs inside the RPC's search_path and names are qualified.
create or replace function public._feed_policy(
    out safe boolean, out policy text, out epsilon double precision, out learning boolean)
language plpgsql stable
as $$
declare
    v_flag jsonb;
begin
    select f.value into v_flag from public.feature_flags f where f.key = 'global.safe_mode';
    safe := coalesce(v_flag -> 'enabled' = 'true'::jsonb, false);
    select f.value into v_flag from public.feature_flags f where f.key = 'ranker.policy';
    policy := coalesce(nullif(v_flag ->> 'version', ''), 'epsilon_greedy_v1');
    epsilon := 0;
    if jsonb_typeof(v_flag -> 'epsilon') = 'number' then
        epsilon := least(greatest((v_flag ->> 'epsilon')::double precision, 0), 1);
    end if;
    if safe then
        epsilon := 0;
        policy := 'safe_mode';
    end if;
    select f.value into v_flag from public.feature_flags f where f.key = 'learning.enabled';
    learning := coalesce(v_flag -> 'enabled' <> 'false'::jsonb, true);
end
$$;

-- Orders a page: greedy by score with the seller rule, epsilon-greedy exploration.
-- Returns one row per item in display order.
create or replace function public._feed_rank(
    p_items public.feed_candidate[], p_scores double precision[], p_epsilon double precision)
returns table (item_index integer, shown_position integer, explored boolean, propensity double precision)
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_n integer := coalesce(array_length(p_items, 1), 0);
    v_used boolean[] := array_fill(false, array[greatest(v_n, 1)]);
    v_prev text;
    v_greedy integer;
    v_alt integer;
    v_chosen integer;
    v_pool integer[];
    v_other integer[];
    v_pos integer;
    v_i integer;
    v_explored boolean;
begin
    for v_pos in 1 .. v_n loop
        v_greedy := null;
        v_alt := null;
        v_other := '{}';
        v_pool := '{}';
        for v_i in 1 .. v_n loop
            continue when v_used[v_i];
            v_pool := v_pool || v_i;
            if v_greedy is null or p_scores[v_i] > p_scores[v_greedy]
               or (p_scores[v_i] = p_scores[v_greedy] and (p_items[v_i]).id > (p_items[v_greedy]).id) then
                v_greedy := v_i;
            end if;
            if v_prev is null or (p_items[v_i]).actor <> v_prev then
                v_other := v_other || v_i;
                if v_alt is null or p_scores[v_i] > p_scores[v_alt]
                   or (p_scores[v_i] = p_scores[v_alt] and (p_items[v_i]).id > (p_items[v_alt]).id) then
                    v_alt := v_i;
                end if;
            end if;
        end loop;
        -- The seller rule: the same seller twice in a row only with a score gap of at least 0.25.
        if v_prev is not null and (p_items[v_greedy]).actor = v_prev and v_alt is not null
           and p_scores[v_greedy] - p_scores[v_alt] < 0.25 then
            v_greedy := v_alt;
        end if;
        -- Exploration draws among the items that keep the seller rule (all of them when none does).
        if cardinality(v_other) > 0 then
            v_pool := v_other;
        end if;
        v_explored := p_epsilon > 0 and random() < p_epsilon;
        if v_explored then
            v_chosen := v_pool[1 + floor(random() * cardinality(v_pool))::integer];
        else
            v_chosen := v_greedy;
        end if;
        item_index := v_chosen;
        shown_position := v_pos;
        explored := v_explored;
        propensity := (1 - p_epsilon) * (case when v_chosen = v_greedy then 1 else 0 end)
                      + p_epsilon * (case when v_chosen = any (v_pool) then 1.0 / cardinality(v_pool) else 0 end);
        return next;
        v_used[v_chosen] := true;
        v_prev := (p_items[v_chosen]).actor;
    end loop;
end
$$;

revoke all on function public._feed_policy(),
    public._feed_rank(public.feed_candidate[], double precision[], double precision) from public;
