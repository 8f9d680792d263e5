-- 810_realtime: the change feed behind /realtime/v1/websocket (Supabase Realtime's postgres_changes).
--
-- Tables
--   realtime.publication(schema_name, table_name, pk_columns, owner_column, added_at)
--       The tables whose row changes are published (what Supabase's `supabase_realtime`
--       publication lists). pk_columns: the primary key, in order; owner_column: the uuid column
--       naming the row's owner (NULL: the table's rows are public to every role that may select
--       the table, e.g. feature_flags). Not in `public`: the table grammar does not serve it.
--
-- Trigger
--   realtime._notify_change() AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW on every published
--   table: pg_notify('realtime_changes', {"s": schema, "t": table, "op": INSERT|UPDATE|DELETE,
--   "pk": {pk columns}, "owner": owner uuid|null, "ts": commit timestamp}) -- keys only, never
--   the row, so the payload stays far below NOTIFY's 8000 bytes; one whose keys would not fit is
--   dropped with a WARNING (the write itself never fails for it). Notifications are delivered at
--   commit, so a rolled-back write is never published. The API holds one LISTEN connection and
--   re-reads the row as each subscriber (RLS decides who sees it).
--
-- Functions
--   realtime.publish(p_table regclass, p_owner_column text default NULL) -> void
--       Adds a table (its primary key from the catalogue) and creates its trigger; idempotent.
--       Only the owner of the schema (migrations) may call it.
--   realtime.visible_rows(p_schema text, p_table text, p_pk jsonb, p_callers jsonb)
--       -> setof (caller integer, row_json text)
--       The published row with key p_pk as each caller of p_callers ([{"role": ..., "claims": {...}}, ...],
--       at most 1000) may select it: per caller the transaction switches to its role and
--       request.jwt.claims (as the API's begin_as_caller does) and runs a fresh (never cached) SELECT, so
--       grants and RLS decide exactly as for that caller's own query; a caller that may not see
--       the row gets no line, one whose SELECT fails (no grant) neither. The role is restored at
--       the end. One round trip for all the subscribers of a change (Supabase's realtime.apply_rls
--       does the same). Not granted to any API role: the API's own connection calls it.
--
-- Published here: public.notifications (owner user_id) and public.feature_flags (public rows).

create schema if not exists realtime;
revoke all on schema realtime from public;
grant usage on schema realtime to anon, authenticated, service_role;

create table if not exists realtime.publication (
    schema_name text not null,
    table_name text not null,
    pk_columns text[] not null check (cardinality(pk_columns) between 1 and 8),
    owner_column text,
    added_at timestamptz not null default now(),
    primary key (schema_name, table_name)
);
revoke all on realtime.publication from public, anon, authenticated;
grant select on realtime.publication to service_role;

create or replace function realtime._notify_change() returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v_row jsonb;
    v_pk jsonb := '{}'::jsonb;
    v_col text;
    -- Arguments: schema, table (the published one: a partition's trigger names its parent), owner column, pk...
    v_owner text := nullif(tg_argv[2], '');
    v_payload text;
begin
    if tg_op = 'DELETE' then
        v_row := to_jsonb(old);
    else
        v_row := to_jsonb(new);
    end if;
    for i in 3 .. tg_nargs - 1 loop
        v_col := tg_argv[i];
        v_pk := v_pk || jsonb_build_object(v_col, v_row -> v_col);
    end loop;
    v_payload := jsonb_build_object(
        's', tg_argv[0], 't', tg_argv[1], 'op', tg_op, 'pk', v_pk,
        'owner', case when v_owner is null then null else v_row ->> v_owner end,
        'ts', to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text;
    if octet_length(v_payload) > 7900 then
        raise warning 'realtime: change of %.% not published: its keys take % bytes (NOTIFY allows 8000)',
            tg_argv[0], tg_argv[1], octet_length(v_payload);
    else
        perform pg_notify('realtime_changes', v_payload);
    end if;
    return null;
end
$$;

create or replace function realtime.publish(p_table regclass, p_owner_column text default null) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v_schema text;
    v_table text;
    v_pk text[];
    v_args text;
begin
    select n.nspname, c.relname into v_schema, v_table
      from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = p_table;
    select array_agg(a.attname::text order by k.ord) into v_pk
      from pg_index i
      cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
     where i.indrelid = p_table and i.indisprimary;
    if v_pk is null then
        raise exception 'realtime.publish: % has no primary key', p_table using errcode = '22023';
    end if;
    if p_owner_column is not null and not exists (
        select 1 from pg_attribute a
         where a.attrelid = p_table and a.attname = p_owner_column and a.atttypid = 'uuid'::regtype
           and not a.attisdropped) then
        raise exception 'realtime.publish: % has no uuid column %', p_table, p_owner_column using errcode = '22023';
    end if;
    insert into realtime.publication (schema_name, table_name, pk_columns, owner_column)
    values (v_schema, v_table, v_pk, p_owner_column)
    on conflict (schema_name, table_name)
    do update set pk_columns = excluded.pk_columns, owner_column = excluded.owner_column;
    select string_agg(quote_literal(x), ', ') into v_args
      from unnest(array[v_schema, v_table, coalesce(p_owner_column, '')] || v_pk) x;
    execute format('create or replace trigger realtime_publish after insert or update or delete on %s '
                   'for each row execute function realtime._notify_change(%s)', p_table, v_args);
end
$$;

create or replace function realtime.visible_rows(p_schema text, p_table text, p_pk jsonb, p_callers jsonb)
returns table (caller integer, row_json text)
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    v_pub realtime.publication;
    v_relation text;
    v_sql text;
    v_role text;
    v_original_role text := current_setting('role');
    v_original_claims text := current_setting('request.jwt.claims', true);
    v_row text;
    i integer;
begin
    select * into v_pub from realtime.publication p where p.schema_name = p_schema and p.table_name = p_table;
    if not found then
        raise exception 'realtime.visible_rows: %.% is not published', p_schema, p_table using errcode = '22023';
    end if;
    if jsonb_typeof(p_callers) <> 'array' or jsonb_array_length(p_callers) > 1000 then
        raise exception 'realtime.visible_rows: p_callers must be an array of at most 1000' using errcode = '22023';
    end if;
    v_relation := format('%I.%I', p_schema, p_table);
    select format('select to_jsonb(t)::text from %s t where %s limit 1', v_relation,
                  string_agg(format('t.%1$I = (jsonb_populate_record(null::%2$s, $1)).%1$I', c, v_relation), ' and '))
      into v_sql
      from unnest(v_pub.pk_columns) c;
    for i in 0 .. jsonb_array_length(p_callers) - 1 loop
        v_role := p_callers -> i ->> 'role';
        if v_role not in ('anon', 'authenticated', 'service_role') then
            continue;
        end if;
        perform set_config('role', v_role, true),
                set_config('request.jwt.claims', coalesce(p_callers -> i -> 'claims', '{}'::jsonb)::text, true);
        begin
            execute v_sql into v_row using p_pk;
        exception when insufficient_privilege then
            v_row := null;
        end;
        perform set_config('role', v_original_role, true);
        if v_row is not null then
            caller := i;
            row_json := v_row;
            return next;
        end if;
    end loop;
    perform set_config('role', v_original_role, true),
            set_config('request.jwt.claims', coalesce(v_original_claims, ''), true);
end
$$;

revoke all on function realtime._notify_change(), realtime.publish(regclass, text),
    realtime.visible_rows(text, text, jsonb, jsonb) from public;

select realtime.publish('public.notifications'::regclass, 'user_id');
select realtime.publish('public.feature_flags'::regclass, null);
