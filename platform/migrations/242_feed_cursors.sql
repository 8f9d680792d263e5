-- 242_feed_cursors: the feeds' cursors. A cursor is opaque to clients (URL-safe base64 of JSON):
--   home    {"v": 1, "lane": <lane>, "p": [ts, id], "l": [ts, id], "e": [ts, id]}: one position
--           per stream (posts, listings, events), each null until that stream gave a row;
--   profile {"v": 1, "entity": <page id>, "at": [ts, id]}: one keyset over the page's three streams.
-- A cursor of another lane or page is refused (22023): switching lanes starts again without a
-- cursor. Each stream's position moves past exactly the rows it gave, and rows created after page
-- 1 sort before the cursor, so nothing is skipped or repeated and new rows never shift a scroll in
-- progress (they appear on the next refresh).

create or replace function public._feed_cursor_encode(p_cursor jsonb) returns text
language sql immutable
set search_path = public, pg_temp
as $$
    select rtrim(translate(encode(convert_to(p_cursor::text, 'UTF8'), 'base64'), E'+/\n', '-_'), '=')
$$;

-- NULL for NULL; a JSON object, or 22023 naming the problem.
create or replace function public._feed_cursor_decode(p_cursor text) returns jsonb
language plpgsql immutable
set search_path = public, pg_temp
as $$
declare
    v_text text;
    v_cursor jsonb;
begin
    if p_cursor is null or p_cursor = '' then
        return null;
    end if;
    begin
        v_text := translate(p_cursor, '-_', '+/');
        v_text := v_text || repeat('=', (4 - length(v_text) % 4) % 4);
        v_cursor := convert_from(decode(v_text, 'base64'), 'UTF8')::jsonb;
    exception when others then
        v_cursor := null;
    end;
    if v_cursor is null or jsonb_typeof(v_cursor) <> 'object' or v_cursor ->> 'v' is distinct from '1' then
        raise exception 'invalid cursor: pass the next_cursor of the previous page, or none for the first page'
            using errcode = '22023';
    end if;
    return v_cursor;
end
$$;

-- One stream's position from a cursor: (ts, id) or (NULL, NULL).
create or replace function public._feed_cursor_position(p_cursor jsonb, p_key text, out ts timestamptz, out id uuid)
language plpgsql immutable
set search_path = public, pg_temp
as $$
begin
    if p_cursor is null or jsonb_typeof(p_cursor -> p_key) is distinct from 'array' then
        return;
    end if;
    begin
        ts := (p_cursor -> p_key ->> 0)::timestamptz;
        id := (p_cursor -> p_key ->> 1)::uuid;
    exception when others then
        raise exception 'invalid cursor: pass the next_cursor of the previous page, or none for the first page'
            using errcode = '22023';
    end;
end
$$;

-- A stream's next position: past p_last, the last row the page took from it, else (no row taken:
-- p_last is null) where it stood, (p_ts, p_id), else null (the stream has given nothing yet).
-- Inlinable (no SET clause): the callers are SECURITY DEFINER, and everything here is qualified.
create or replace function public._feed_cursor_after(p_last public.feed_candidate, p_ts timestamptz, p_id uuid)
returns jsonb
language sql stable
as $$
    select case when (p_last).id is not null then jsonb_build_array((p_last).sort_ts, (p_last).id)
                when p_ts is not null then jsonb_build_array(p_ts, p_id) end
$$;

revoke all on function public._feed_cursor_encode(jsonb), public._feed_cursor_decode(text),
    public._feed_cursor_position(jsonb, text),
    public._feed_cursor_after(public.feed_candidate, timestamptz, uuid) from public;
