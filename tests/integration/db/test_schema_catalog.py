"""The schema's shape: every RPC exists with its volatility and grants, definer functions are pinned, RLS is on."""

from __future__ import annotations

import asyncpg
import pytest

pytestmark = pytest.mark.integration

STABLE, VOLATILE = "s", "v"

# The RPC surface (seeds 000-004 plus the documented additions), with volatility.
RPC_VOLATILITY: dict[str, str] = {
    "interest_catalog_search": STABLE,
    "interest_catalog_browse": STABLE,
    "interest_domains": STABLE,
    "my_interests": STABLE,
    "user_interests_upsert": VOLATILE,
    "user_interests_remove": VOLATILE,
    "check_handle_available": STABLE,
    "get_my_profile": STABLE,
    "update_profile": VOLATILE,
    "set_onboarding_step": VOLATILE,
    "complete_onboarding": VOLATILE,
    "ensure_category_for_interest": VOLATILE,
    "enqueue_discovery_for_user": VOLATILE,
    "marketplace_suggestions_for_user": STABLE,
    "upsert_marketplace_gap": VOLATILE,
    "lease_discovery_items": VOLATILE,
    "ack_discovery_item": VOLATILE,
    "fail_discovery_item": VOLATILE,
    "enqueue_event": VOLATILE,
    "lease_events": VOLATILE,
    "ack_event": VOLATILE,
    "fail_event": VOLATILE,
    "worker_enqueue_job": VOLATILE,
    "worker_claim_job": VOLATILE,
    "worker_complete_job": VOLATILE,
    "worker_fail_job": VOLATILE,
    "worker_retry_dead_letter": VOLATILE,
    "check_idempotency": STABLE,
    "record_idempotency": VOLATILE,
    "gc_idempotency_registry": VOLATILE,
    "bump_rate": VOLATILE,
    "check_rate_limit": VOLATILE,
    "gc_rate_limits": VOLATILE,
    "flags_for": STABLE,
    "emit_signal": VOLATILE,
    "_log_rpc": VOLATILE,
    "record_learning_event": VOLATILE,
    "record_learning_reward": VOLATILE,
    "recompute_profile_embedding": VOLATILE,
    "gc_learning_events": VOLATILE,
    "gc_intent_signals": VOLATILE,
    "gc_rpc_metrics": VOLATILE,
    "gc_finished_queue_items": VOLATILE,
    "has_role": STABLE,
}

ANON_CALLABLE = {
    "interest_catalog_search", "interest_catalog_browse", "interest_domains", "check_handle_available",
    "marketplace_suggestions_for_user", "flags_for", "_log_rpc", "has_role",
}  # fmt: skip
CLIENT_CALLABLE = ANON_CALLABLE | {
    "my_interests", "user_interests_upsert", "user_interests_remove", "get_my_profile", "update_profile",
    "set_onboarding_step", "complete_onboarding", "ensure_category_for_interest", "enqueue_discovery_for_user",
    "emit_signal", "worker_retry_dead_letter",
}  # fmt: skip

# Seed 000's parameter names for the RPCs the seeds spell out.
SEED_PARAMETERS: dict[str, list[str]] = {
    "interest_catalog_search": ["p_query", "p_limit"],
    "user_interests_upsert": ["p_interest_id", "p_affinity", "p_source"],
    "user_interests_remove": ["p_interest_id"],
    "check_handle_available": ["p_handle"],
    "ensure_category_for_interest": ["p_interest_id"],
    "enqueue_discovery_for_user": ["p_user_id"],
    "marketplace_suggestions_for_user": ["p_user_id", "p_limit"],
    "lease_discovery_items": ["p_limit", "p_ttl_seconds"],
    "ack_discovery_item": ["p_id", "p_token"],
    "fail_discovery_item": ["p_id", "p_token", "p_error", "p_retry_in_seconds"],
    "lease_events": ["p_topic", "p_limit", "p_ttl_seconds"],
    "ack_event": ["p_id", "p_token"],
    "fail_event": ["p_id", "p_token", "p_error", "p_retry_in_seconds"],
    "bump_rate": ["p_bucket", "p_limit", "p_window_seconds"],
    "emit_signal": ["p_name", "p_metadata", "p_user_id"],
    "_log_rpc": ["p_name", "p_duration_ms", "p_ok", "p_error"],
}

PERSONAL_AND_SYSTEM_TABLES = [
    "user_roles", "reserved_handles", "entities", "profiles", "profiles_onboarding_progress", "interest_catalog",
    "user_interests", "entity_interests", "marketplace_categories", "marketplace_interest_map",
    "marketplace_discovery_queue", "marketplace_candidates", "marketplace_listings", "marketplace_gaps",
    "events_queue", "worker_jobs", "dead_letter_queue", "idempotency_registry", "learning_events", "feature_flags",
    "intent_signals", "rpc_metrics", "ai_action_ledger", "rate_limits", "rate_limit_counters",
]  # fmt: skip

VIEW_COLUMNS: dict[str, list[str]] = {
    "vw_discovery_queue_health": ["status", "ct", "high_retry_ct", "oldest_queued", "last_activity", "p95_age_sec"],
    "vw_events_queue_health": [
        "topic", "status", "ct", "high_retry_ct", "oldest_queued", "last_activity", "p95_age_sec",
    ],
    "vw_dead_letter_queue": ["source", "id", "subject", "attempts", "last_error", "failed_at", "details"],
    "vw_gap_severity": ["domain", "category", "gap_level", "ct", "avg_inventory"],
    "vw_kernel_slos": ["path", "p95_ms"],
    "vw_policy_health": [
        "policy", "impression_count", "avg_epsilon", "exploration_rate", "avg_reward", "reward_stddev",
        "last_impression",
    ],
    "vw_slo_burnrate": ["surface", "burn_rate", "calculated_at"],
    "rpc_metrics_hourly": ["hour", "name", "calls", "errors", "error_rate", "p50_ms", "p95_ms", "p99_ms"],
}  # fmt: skip


async def _functions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        select p.oid, p.proname, p.provolatile::text as provolatile, p.prosecdef, p.proconfig, p.proargnames, p.pronargs
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and p.prokind = 'f'
        """
    )
    return rows


async def test_every_rpc_exists_once_with_its_volatility(conn: asyncpg.Connection) -> None:
    found: dict[str, list[str]] = {}
    for row in await _functions(conn):
        found.setdefault(row["proname"], []).append(row["provolatile"])
    missing = sorted(set(RPC_VOLATILITY) - set(found))
    assert not missing, f"RPCs missing: {missing}"
    overloaded = sorted(name for name in RPC_VOLATILITY if len(found[name]) != 1)
    assert not overloaded, f"RPCs with several overloads (named-argument calls become ambiguous): {overloaded}"
    wrong = {name: found[name][0] for name, want in RPC_VOLATILITY.items() if found[name][0] != want}
    assert not wrong, f"RPCs with the wrong volatility: {wrong}"


async def test_rpc_parameters_are_named_as_the_seeds_show(conn: asyncpg.Connection) -> None:
    names = {row["proname"]: list(row["proargnames"] or [])[: row["pronargs"]] for row in await _functions(conn)}
    wrong = {fn: names[fn] for fn, want in SEED_PARAMETERS.items() if names[fn] != want}
    assert not wrong
    unprefixed = {fn: names[fn] for fn in RPC_VOLATILITY if any(not arg.startswith("p_") for arg in names[fn])}
    assert not unprefixed, f"parameters without the p_ prefix: {unprefixed}"


async def test_security_definer_functions_pin_search_path(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        """
        select n.nspname || '.' || p.proname as name, p.proconfig
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where p.prosecdef and n.nspname in ('public', 'auth')
        """
    )
    definers = {row["name"] for row in rows}
    # Guard against a vacuous pass: these are definer functions by design.
    assert {"public.has_role", "public.complete_onboarding", "public.handle_new_user", "public._log_rpc",
            "public.ensure_category_for_interest", "public.check_handle_available"} <= definers  # fmt: skip
    unpinned = [
        row["name"]
        for row in rows
        if not any(setting.startswith("search_path=") for setting in (row["proconfig"] or []))
    ]
    assert not unpinned, f"SECURITY DEFINER functions without a pinned search_path: {unpinned}"


async def test_execute_grants_keep_worker_rpcs_away_from_clients(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        """
        select p.proname,
               has_function_privilege('anon', p.oid, 'execute') as anon,
               has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
               has_function_privilege('service_role', p.oid, 'execute') as service_role
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and p.proname = any($1::text[])
        """,
        list(RPC_VOLATILITY),
    )
    grants = {row["proname"]: row for row in rows}
    assert all(grants[name]["service_role"] for name in RPC_VOLATILITY)
    assert {name for name in RPC_VOLATILITY if grants[name]["anon"]} == ANON_CALLABLE
    assert {name for name in RPC_VOLATILITY if grants[name]["authenticated"]} == CLIENT_CALLABLE


async def test_rls_is_enabled_on_every_platform_table(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "select relname, relrowsecurity from pg_class"
        " where relnamespace = 'public'::regnamespace and relkind in ('r', 'p')"  # 'p': partitioned parents
    )
    enabled = {row["relname"]: row["relrowsecurity"] for row in rows}
    missing = [table for table in PERSONAL_AND_SYSTEM_TABLES if table not in enabled]
    assert not missing, f"tables missing: {missing}"
    assert [table for table in PERSONAL_AND_SYSTEM_TABLES if not enabled[table]] == []


@pytest.mark.parametrize("view", sorted(VIEW_COLUMNS))
async def test_views_have_exactly_the_seed_columns(conn: asyncpg.Connection, view: str) -> None:
    columns = await conn.fetch(
        "select column_name from information_schema.columns where table_schema = 'public' and table_name = $1 "
        "order by ordinal_position",
        view,
    )
    assert [row["column_name"] for row in columns] == VIEW_COLUMNS[view]
    await conn.fetch(f"select * from public.{view} limit 5")


async def test_profile_embedding_dimension_matches_the_in_project_embedder(conn: asyncpg.Connection) -> None:
    from gauntlet.platform.seed.embeddings import DIMENSIONS

    types = await conn.fetch(
        """
        select c.relname, format_type(a.atttypid, a.atttypmod) as type
          from pg_attribute a join pg_class c on c.oid = a.attrelid
         where c.relnamespace = 'public'::regnamespace and a.atttypid = 'vector'::regtype and not a.attisdropped
        """
    )
    assert {row["relname"] for row in types} >= {"profiles", "interest_catalog", "marketplace_candidates"}
    assert {row["type"] for row in types} == {f"vector({DIMENSIONS})"}


async def test_hot_queues_carry_autovacuum_settings_and_heavy_rpcs_a_timeout(conn: asyncpg.Connection) -> None:
    options = await conn.fetchval(
        "select reloptions from pg_class where oid = 'public.marketplace_discovery_queue'::regclass"
    )
    assert "autovacuum_vacuum_scale_factor=0.02" in options
    for fn in ("marketplace_suggestions_for_user", "enqueue_discovery_for_user", "ensure_category_for_interest"):
        config = await conn.fetchval("select proconfig from pg_proc where proname = $1", fn)
        assert "statement_timeout=5s" in config, fn
