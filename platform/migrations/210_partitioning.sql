-- 210_partitioning: monthly range partitions for the append-heavy time series
-- (rpc_metrics and intent_signals here; notifications is born partitioned in 220).
--
--   ensure_monthly_partitions(p_table regclass, p_months_ahead integer default 2) -> integer
--       Creates <table>_default when missing, then <table>_pYYYYMM (UTC months)
--       for the current month and p_months_ahead months after it, plus every
--       month of the last 24 that has rows waiting in <table>_default (those
--       rows move into their new partition). Returns how many partitions it
--       created. Idempotent; concurrent callers serialise on an advisory lock.
--       SECURITY DEFINER: creating a partition needs the table owner's rights,
--       and the worker calling it is service_role.
--       Partitions get RLS enabled and no client grants: clients reach the
--       rows through the parent and its policies only. service_role (and migrations).
--   gc_monthly_partitions(p_months_ahead integer default 2) -> integer
--       ensure_monthly_partitions for every public table range-partitioned on
--       one timestamptz column. The GC worker runs it with the other gc_*
--       functions (every public gc_* function callable without arguments).
--   _convert_to_monthly_partitions(p_table regclass, p_column text) -> boolean
--       Turns a plain table into one range-partitioned by month on p_column;
--       false when it is partitioned already. Migration-only (no grants).
--
-- Why convert rather than create partitioned: DB's 070 creates rpc_metrics and
-- intent_signals as plain tables, and a database migrated before this file
-- existed already has rows in them, views over them (300), indexes (400) and
-- grants. The conversion keeps what the catalog says about the table rather
-- than a copy of DB's files, so later changes to 070/300/400 carry over:
-- columns, defaults, CHECKs, NOT NULLs, identity (with its sequence's name and
-- position), foreign keys, indexes, triggers, the RLS switches, policies,
-- table and column grants, the owner, and every view (or view on a view)
-- reading the table, recreated from pg_get_viewdef with its options, owner
-- and grants. The primary key becomes (<old key columns>, p_column): a
-- partitioned table's unique keys must contain the partition column. Other
-- unique indexes without that column, exclusion constraints and foreign keys
-- referencing the table are refused with an error naming them (none exist).
-- On a fresh database this file runs before 300 and 400, which then create
-- their views and indexes on the partitioned tables directly. Rows older than
-- 24 months stay in the default partition.

-- One month's partition; rows of that month waiting in the default partition move into it.
create or replace function public._create_month_partition(p_table regclass, p_month timestamptz) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_schema text;
    v_name text;
    v_column text;
    v_part text;
    v_lo timestamptz := date_trunc('month', p_month, 'UTC');
    v_hi timestamptz := date_trunc('month', p_month, 'UTC') + interval '1 month';
    v_waiting boolean;
begin
    select n.nspname, c.relname, a.attname into v_schema, v_name, v_column
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_partitioned_table pt on pt.partrelid = c.oid
      join pg_attribute a on a.attrelid = c.oid and a.attnum = pt.partattrs[0]
     where c.oid = p_table;
    v_part := v_name || '_p' || to_char(v_lo at time zone 'UTC', 'YYYYMM');
    if to_regclass(format('%I.%I', v_schema, v_part)) is not null then
        return false;
    end if;
    if to_regclass(format('%I.%I', v_schema, v_name || '_default')) is not null then
        execute format('select exists (select 1 from %I.%I where %I >= $1 and %I < $2)',
                       v_schema, v_name || '_default', v_column, v_column)
           into v_waiting using v_lo, v_hi;
    end if;
    if coalesce(v_waiting, false) then
        -- A new partition may not overlap rows of the default one: build it
        -- detached, move the month's rows over, then attach it.
        execute format('create table %I.%I (like %s including defaults including constraints including storage '
                       'including generated including compression)', v_schema, v_part, p_table);
        execute format('with moved as (delete from %I.%I where %I >= $1 and %I < $2 returning *) '
                       'insert into %I.%I select * from moved',
                       v_schema, v_name || '_default', v_column, v_column, v_schema, v_part)
          using v_lo, v_hi;
        execute format('alter table %s attach partition %I.%I for values from (%L) to (%L)',
                       p_table, v_schema, v_part, v_lo, v_hi);
    else
        execute format('create table %I.%I partition of %s for values from (%L) to (%L)',
                       v_schema, v_part, p_table, v_lo, v_hi);
    end if;
    -- Queries go through the parent (its policies apply); a partition read directly is closed to clients.
    execute format('alter table %I.%I enable row level security', v_schema, v_part);
    return true;
end
$$;

create or replace function public.ensure_monthly_partitions(p_table regclass, p_months_ahead integer default 2)
returns integer
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_schema text;
    v_name text;
    v_column text;
    v_default text;
    v_this_month timestamptz := date_trunc('month', now(), 'UTC');
    v_month timestamptz;
    v_waiting timestamptz[] := '{}';
    v_created integer := 0;
begin
    if p_months_ahead is null or p_months_ahead not between 0 and 36 then
        raise exception 'p_months_ahead must be between 0 and 36 (got %)', p_months_ahead using errcode = '22023';
    end if;
    select n.nspname, c.relname, a.attname into v_schema, v_name, v_column
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_partitioned_table pt on pt.partrelid = c.oid
      join pg_attribute a on a.attrelid = c.oid and a.attnum = pt.partattrs[0]
     where c.oid = p_table and pt.partstrat = 'r' and pt.partnatts = 1 and a.atttypid = 'timestamptz'::regtype;
    if v_name is null then
        raise exception 'table % is not range-partitioned on one timestamptz column', p_table using errcode = '22023';
    end if;
    perform pg_advisory_xact_lock(hashtextextended('ensure_monthly_partitions:' || p_table::oid::text, 0));

    v_default := v_name || '_default';
    if to_regclass(format('%I.%I', v_schema, v_default)) is null then
        execute format('create table %I.%I partition of %s default', v_schema, v_default, p_table);
        execute format('alter table %I.%I enable row level security', v_schema, v_default);
        v_created := v_created + 1;
    else
        execute format('select coalesce(array_agg(distinct date_trunc(''month'', %1$I, ''UTC'')), ''{}'') '
                       'from %2$I.%3$I where %1$I >= $1', v_column, v_schema, v_default)
           into v_waiting using v_this_month - interval '24 months';
    end if;

    for v_month in
        select m from unnest(v_waiting) m
        union
        select generate_series(v_this_month, v_this_month + make_interval(months => p_months_ahead), interval '1 month')
        order by 1
    loop
        if public._create_month_partition(p_table, v_month) then
            v_created := v_created + 1;
        end if;
    end loop;
    return v_created;
end
$$;

create or replace function public.gc_monthly_partitions(p_months_ahead integer default 2) returns integer
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
    v_table regclass;
    v_created integer := 0;
begin
    for v_table in
        select c.oid::regclass
          from pg_class c
          join pg_partitioned_table pt on pt.partrelid = c.oid
          join pg_attribute a on a.attrelid = c.oid and a.attnum = pt.partattrs[0]
         where c.relnamespace = 'public'::regnamespace and pt.partstrat = 'r' and pt.partnatts = 1
           and a.atttypid = 'timestamptz'::regtype
         order by c.relname
    loop
        v_created := v_created + public.ensure_monthly_partitions(v_table, p_months_ahead);
    end loop;
    return v_created;
end
$$;

-- GRANT statements reproducing a relation's table- and column-level ACL on p_target.
create or replace function public._acl_grant_statements(p_relid oid, p_target text) returns setof text
language sql stable
set search_path = public, pg_temp
as $$
    select format('grant %s on table %s to %s', a.privilege_type, p_target,
                  case when a.grantee = 0 then 'public' else quote_ident(r.rolname) end)
      from pg_class c
      cross join lateral aclexplode(c.relacl) a
      left join pg_roles r on r.oid = a.grantee
     where c.oid = p_relid
    union all
    select format('grant %s (%I) on table %s to %s', a.privilege_type, att.attname, p_target,
                  case when a.grantee = 0 then 'public' else quote_ident(r.rolname) end)
      from pg_attribute att
      cross join lateral aclexplode(att.attacl) a
      left join pg_roles r on r.oid = a.grantee
     where att.attrelid = p_relid and att.attnum > 0 and not att.attisdropped and att.attacl is not null
$$;

create or replace function public._convert_to_monthly_partitions(p_table regclass, p_column text) returns boolean
language plpgsql volatile
set search_path = public, pg_temp
as $$
declare
    v_schema text;
    v_name text;
    v_kind "char";
    v_owner text;
    v_rls boolean;
    v_force_rls boolean;
    v_qualified text;
    v_old_name text;
    v_part_attnum smallint;
    v_pk_name text;
    v_pk_cols text[];
    v_columns text;
    v_view_drops text[] := '{}';
    v_after text[] := '{}';
    v_identity text[] := '{}';
    v_sequences text[] := '{}';
    v_positions bigint[] := '{}';
    v_statement text;
    v_problem text;
    v_month timestamptz;
    v_this_month timestamptz := date_trunc('month', now(), 'UTC');
    v_index integer;
    v_seq text;
    r record;
begin
    select n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relrowsecurity, c.relforcerowsecurity
      into v_schema, v_name, v_kind, v_owner, v_rls, v_force_rls
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.oid = p_table;
    if v_kind = 'p' then
        return false;
    end if;
    if v_kind <> 'r' then
        raise exception '% is not a table (relkind %)', p_table, v_kind using errcode = '22023';
    end if;
    v_qualified := format('%I.%I', v_schema, v_name);
    v_old_name := left(v_name, 50) || '_unpartitioned';
    select a.attnum into v_part_attnum
      from pg_attribute a
     where a.attrelid = p_table and a.attname = p_column and not a.attisdropped
       and a.atttypid = 'timestamptz'::regtype and a.attnotnull;
    if v_part_attnum is null then
        raise exception 'cannot partition % by %: it needs a NOT NULL timestamptz column of that name',
            p_table, p_column using errcode = '22023';
    end if;

    -- Refuse what a partitioned table cannot keep as it is.
    select string_agg(format('%s (%s)', conrelid::regclass, conname), ', ') into v_problem
      from pg_constraint where confrelid = p_table and contype = 'f';
    if v_problem is not null then
        raise exception 'cannot partition %: foreign keys reference it: %', p_table, v_problem using errcode = '0A000';
    end if;
    select string_agg(ic.relname, ', ') into v_problem
      from pg_index i join pg_class ic on ic.oid = i.indexrelid
     where i.indrelid = p_table and not i.indisprimary
       and (i.indisexclusion or (i.indisunique and not v_part_attnum = any (i.indkey::smallint[])));
    if v_problem is not null then
        raise exception 'cannot partition %: unique or exclusion indexes without column %: %',
            p_table, p_column, v_problem using errcode = '0A000';
    end if;

    execute format('lock table %s in access exclusive mode', v_qualified);

    -- 1. Everything to recreate, read while the table still has its name.
    select con.conname, array_agg(a.attname order by k.ord) into v_pk_name, v_pk_cols
      from pg_constraint con
      cross join lateral unnest(con.conkey) with ordinality k(attnum, ord)
      join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
     where con.conrelid = p_table and con.contype = 'p'
     group by con.conname;
    if v_pk_name is not null then
        if not p_column = any (v_pk_cols) then
            v_pk_cols := v_pk_cols || p_column;
        end if;
        v_after := v_after || format('alter table %s add constraint %I primary key (%s)', v_qualified, v_pk_name,
                                     (select string_agg(quote_ident(c), ', ') from unnest(v_pk_cols) c));
    end if;
    v_after := v_after || array(
        select format('alter table %s add constraint %I %s', v_qualified, con.conname, pg_get_constraintdef(con.oid))
          from pg_constraint con
         where con.conrelid = p_table and con.contype in ('u', 'f')
         order by con.contype desc, con.conname);
    v_after := v_after || array(
        select pg_get_indexdef(i.indexrelid)
          from pg_index i join pg_class ic on ic.oid = i.indexrelid
         where i.indrelid = p_table
           and not exists (select 1 from pg_constraint con where con.conindid = i.indexrelid and con.conrelid = p_table)
         order by ic.relname);
    v_after := v_after || array(
        select pg_get_triggerdef(t.oid) from pg_trigger t where t.tgrelid = p_table and not t.tgisinternal
         order by t.tgname);
    if v_rls then
        v_after := v_after || format('alter table %s enable row level security', v_qualified);
    end if;
    if v_force_rls then
        v_after := v_after || format('alter table %s force row level security', v_qualified);
    end if;
    v_after := v_after || array(
        select format('create policy %I on %s as %s for %s to %s%s%s', pol.polname, v_qualified,
                      case when pol.polpermissive then 'permissive' else 'restrictive' end,
                      case pol.polcmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update'
                                      when 'd' then 'delete' else 'all' end,
                      (select string_agg(case when ro = 0 then 'public' else quote_ident(pr.rolname) end, ', ')
                         from unnest(pol.polroles) ro left join pg_roles pr on pr.oid = ro),
                      coalesce(' using (' || pg_get_expr(pol.polqual, pol.polrelid) || ')', ''),
                      coalesce(' with check (' || pg_get_expr(pol.polwithcheck, pol.polrelid) || ')', ''))
          from pg_policy pol where pol.polrelid = p_table
         order by pol.polname);
    v_after := v_after || format('alter table %s owner to %I', v_qualified, v_owner);
    v_after := v_after || array(select public._acl_grant_statements(p_table, v_qualified));

    -- Views reading the table, directly or through other views, shallowest first.
    for r in
        with recursive deps(oid, depth) as (
            select r0.ev_class, 1
              from pg_depend d join pg_rewrite r0 on r0.oid = d.objid
             where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass
               and d.refobjid = p_table and r0.ev_class <> p_table
            union
            select r1.ev_class, deps.depth + 1
              from deps
              join pg_depend d on d.refobjid = deps.oid and d.classid = 'pg_rewrite'::regclass
                              and d.refclassid = 'pg_class'::regclass
              join pg_rewrite r1 on r1.oid = d.objid
             where r1.ev_class <> deps.oid
        )
        select v.oid, format('%I.%I', vn.nspname, v.relname) as qualified, v.relkind, v.reloptions,
               pg_get_userbyid(v.relowner) as owner, pg_get_viewdef(v.oid) as definition, max(deps.depth) as depth
          from deps
          join pg_class v on v.oid = deps.oid
          join pg_namespace vn on vn.oid = v.relnamespace
         group by v.oid, vn.nspname, v.relname, v.relkind, v.reloptions, v.relowner
         order by max(deps.depth), v.relname
    loop
        if r.relkind not in ('v', 'm') then
            raise exception 'cannot partition %: % depends on it and is not a view', p_table, r.qualified
                using errcode = '0A000';
        end if;
        v_view_drops := format('drop %s %s', case when r.relkind = 'm' then 'materialized view' else 'view' end,
                               r.qualified) || v_view_drops;
        v_after := v_after || format('create %s %s%s as %s',
                                     case when r.relkind = 'm' then 'materialized view' else 'view' end,
                                     r.qualified,
                                     coalesce(' with (' || array_to_string(r.reloptions, ', ') || ')', ''),
                                     rtrim(r.definition, '; '));
        v_after := v_after || format('alter %s %s owner to %I',
                                     case when r.relkind = 'm' then 'materialized view' else 'view' end,
                                     r.qualified, r.owner);
        v_after := v_after || array(select public._acl_grant_statements(r.oid, r.qualified));
    end loop;

    -- Identity columns keep their sequence's name and position.
    select coalesce(array_agg(a.attname order by a.attnum), '{}'),
           coalesce(array_agg(s.relname::text order by a.attnum), '{}'),
           coalesce(array_agg(coalesce(ps.last_value, 0) order by a.attnum), '{}')
      into v_identity, v_sequences, v_positions
      from pg_attribute a
      join pg_class s on s.oid = pg_get_serial_sequence(v_qualified, a.attname)::regclass
      join pg_namespace sn on sn.oid = s.relnamespace
      left join pg_sequences ps on ps.schemaname = sn.nspname and ps.sequencename = s.relname
     where a.attrelid = p_table and a.attidentity <> '' and not a.attisdropped;
    select string_agg(quote_ident(a.attname), ', ' order by a.attnum) into v_columns
      from pg_attribute a where a.attrelid = p_table and a.attnum > 0 and not a.attisdropped;

    -- 2. Swap the table.
    foreach v_statement in array v_view_drops loop
        execute v_statement;
    end loop;
    execute format('alter table %s rename to %I', v_qualified, v_old_name);
    execute format('create table %s (like %I.%I including defaults including constraints including generated '
                   'including identity including storage including comments including compression '
                   'including statistics) partition by range (%I)', v_qualified, v_schema, v_old_name, p_column);
    perform public.ensure_monthly_partitions(v_qualified::regclass, 2);
    for v_month in execute format(
        'select distinct date_trunc(''month'', %1$I, ''UTC'') from %2$I.%3$I where %1$I >= $1 and %1$I < $2',
        p_column, v_schema, v_old_name) using v_this_month - interval '24 months', v_this_month
    loop
        perform public._create_month_partition(v_qualified::regclass, v_month);
    end loop;
    execute format('insert into %s (%s) overriding system value select %s from %I.%I',
                   v_qualified, v_columns, v_columns, v_schema, v_old_name);
    execute format('drop table %I.%I', v_schema, v_old_name);

    for v_index in 1 .. coalesce(array_length(v_identity, 1), 0) loop
        v_seq := pg_get_serial_sequence(v_qualified, v_identity[v_index]);
        if (select s.relname from pg_class s where s.oid = v_seq::regclass) <> v_sequences[v_index] then
            execute format('alter sequence %s rename to %I', v_seq, v_sequences[v_index]);
            v_seq := pg_get_serial_sequence(v_qualified, v_identity[v_index]);
        end if;
        execute format('select setval(%L, greatest(coalesce((select max(%I) from %s), 0), $1) + 1, false)',
                       v_seq, v_identity[v_index], v_qualified)
          using v_positions[v_index];
    end loop;

    -- 3. Everything else back, in order.
    foreach v_statement in array v_after loop
        execute v_statement;
    end loop;
    return true;
end
$$;

select public._convert_to_monthly_partitions('public.rpc_metrics', 'ts');
select public._convert_to_monthly_partitions('public.intent_signals', 'ts');

revoke all on function public._create_month_partition(regclass, timestamptz),
    public.ensure_monthly_partitions(regclass, integer), public.gc_monthly_partitions(integer),
    public._acl_grant_statements(oid, text), public._convert_to_monthly_partitions(regclass, text) from public;
grant execute on function public.ensure_monthly_partitions(regclass, integer), public.gc_monthly_partitions(integer)
    to service_role;
