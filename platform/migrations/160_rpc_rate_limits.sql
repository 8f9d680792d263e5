-- 160_rpc_rate_limits: fixed-window and token-bucket rate limits.
--
--   bump_rate(p_bucket text, p_limit integer, p_window_seconds integer) -> boolean
--       Fixed window: the first call opens a window of p_window_seconds; true
--       while the count within the window is <= p_limit. VOLATILE; about 1 call
--       in 100 also deletes a batch of long-expired windows.
--   check_rate_limit(p_scope text, p_subject text default NULL, p_limit integer default 120,
--                    p_window_seconds integer default 60)
--       -> table(allowed boolean, remaining integer, retry_after_seconds double precision)
--       Token bucket of capacity p_limit refilled at p_limit / p_window_seconds
--       tokens per second; a call takes one token. p_subject defaults to the
--       caller's uid. Serialised per (scope, subject) by a transaction advisory
--       lock, so the first call for a new key cannot race its own insert.
--   gc_rate_limits() -> integer (expired windows + idle buckets deleted)
-- service_role only: the tables are closed to clients, and so are the
-- functions (a client could otherwise drain someone else's bucket).

create or replace function public.bump_rate(p_bucket text, p_limit integer, p_window_seconds integer)
returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_count integer;
begin
    if p_bucket is null or length(p_bucket) not between 1 and 200 then
        raise exception 'bucket must be 1-200 characters' using errcode = '22023';
    end if;
    if p_limit is null or p_limit < 0 then
        raise exception 'p_limit must be >= 0 (got %)', p_limit using errcode = '22023';
    end if;
    if p_window_seconds is null or p_window_seconds not between 1 and 86400 then
        raise exception 'p_window_seconds must be between 1 and 86400 (got %)', p_window_seconds
            using errcode = '22023';
    end if;
    insert into public.rate_limits as r (bucket, count, expires_at)
    values (p_bucket, 1, clock_timestamp() + make_interval(secs => p_window_seconds))
    on conflict (bucket) do update
        set count = case when r.expires_at <= clock_timestamp() then 1 else r.count + 1 end,
            expires_at = case when r.expires_at <= clock_timestamp()
                              then clock_timestamp() + make_interval(secs => p_window_seconds)
                              else r.expires_at end
    returning r.count into v_count;
    if random() < 0.01 then
        delete from public.rate_limits
         where ctid = any (array(select ctid from public.rate_limits
                                  where expires_at < clock_timestamp() - interval '1 minute' limit 500));
    end if;
    return v_count <= p_limit;
end
$$;

create or replace function public.check_rate_limit(
    p_scope text, p_subject text default null, p_limit integer default 120, p_window_seconds integer default 60)
returns table (allowed boolean, remaining integer, retry_after_seconds double precision)
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_subject text := coalesce(p_subject, auth.uid()::text);
    v_rate double precision;
    v_now timestamptz := clock_timestamp();
    v_tokens double precision;
    v_allowed boolean;
begin
    if p_scope is null or length(p_scope) not between 1 and 64 then
        raise exception 'scope must be 1-64 characters' using errcode = '22023';
    end if;
    if v_subject is null then
        raise exception 'p_subject is required when there is no signed-in user' using errcode = '22023';
    end if;
    if p_limit is null or p_limit < 1 then
        raise exception 'p_limit must be >= 1 (got %)', p_limit using errcode = '22023';
    end if;
    if p_window_seconds is null or p_window_seconds not between 1 and 86400 then
        raise exception 'p_window_seconds must be between 1 and 86400 (got %)', p_window_seconds
            using errcode = '22023';
    end if;
    v_rate := p_limit::double precision / p_window_seconds;
    perform pg_advisory_xact_lock(hashtextextended('rate_limit:' || p_scope || ':' || v_subject, 0));

    select least(p_limit::double precision,
                 c.tokens + greatest(extract(epoch from v_now - c.updated_at)::double precision, 0) * v_rate)
      into v_tokens
      from public.rate_limit_counters c
     where c.scope = p_scope and c.subject = v_subject;
    v_tokens := coalesce(v_tokens, p_limit::double precision);
    v_allowed := v_tokens >= 1;
    if v_allowed then
        v_tokens := v_tokens - 1;
    end if;
    insert into public.rate_limit_counters as c (scope, subject, tokens, capacity, refill_per_second, updated_at)
    values (p_scope, v_subject, v_tokens, p_limit, v_rate, v_now)
    on conflict (scope, subject) do update
        set tokens = excluded.tokens, capacity = excluded.capacity,
            refill_per_second = excluded.refill_per_second, updated_at = excluded.updated_at;
    return query select v_allowed, floor(v_tokens)::integer,
                        case when v_allowed then 0::double precision else (1 - v_tokens) / v_rate end;
end
$$;

create or replace function public.gc_rate_limits() returns integer
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_windows integer;
    v_buckets integer;
begin
    delete from public.rate_limits where expires_at < now();
    get diagnostics v_windows = row_count;
    -- A bucket idle long enough to have refilled completely is equivalent to no row.
    delete from public.rate_limit_counters
     where updated_at + make_interval(secs => capacity / refill_per_second) < now();
    get diagnostics v_buckets = row_count;
    return v_windows + v_buckets;
end
$$;

revoke all on function public.bump_rate(text, integer, integer),
    public.check_rate_limit(text, text, integer, integer), public.gc_rate_limits() from public;
grant execute on function public.bump_rate(text, integer, integer),
    public.check_rate_limit(text, text, integer, integer), public.gc_rate_limits() to service_role;
