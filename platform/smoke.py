"""`gauntlet smoke`: the cutover guide's 15-minute smoke test (sections 2A-2H), automated.

Each section runs the guide's own checks against a live stack (the database
directly, the API over HTTP) and records ok/detail; later sections that need
an earlier one's result are reported as failed with the reason, not skipped
silently. The journey user is a fixed account (`SMOKE_EMAIL`), signed up
through the API the first time and signed in after, so re-running the smoke
test adds no rows beyond the learning event of 2H.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from gauntlet.platform.queries import sql

SMOKE_EMAIL = "smoke@gauntlet.invalid"
SMOKE_PASSWORD = "gauntlet-smoke-password"  # a test account on a test stack, not a secret
CRITICAL_TABLES = ("events_queue", "feature_flags", "learning_events", "marketplace_discovery_queue", "rate_limits")
POLICY_TABLES = ("intent_signals", "learning_events", "marketplace_discovery_queue", "rate_limits", "user_interests")
MIN_SEEDED = 6
AFFINITIES = (0.9, 0.8, 0.7)
WORKER_WAIT_S = 15.0
HTTP_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class SectionResult:
    section: str  # "2A" .. "2H"
    title: str
    ok: bool
    detail: str
    seconds: float


@dataclass
class SmokeReport:
    api_url: str
    sections: list[SectionResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return len(self.sections) == len(SECTIONS) and all(s.ok for s in self.sections)

    def failed(self) -> list[SectionResult]:
        return [s for s in self.sections if not s.ok]


class SectionFailed(Exception):
    """A check of a section did not hold; the message says which and what was seen."""


@dataclass
class _Journey:
    """What the sections hand to each other."""

    user_id: uuid.UUID | None = None
    access_token: str | None = None
    interest_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class _Context:
    conn: asyncpg.Connection
    http: httpx.AsyncClient
    service_key: str
    journey: _Journey


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise SectionFailed(message)


async def section_2a(ctx: _Context) -> str:
    tables = [r["table_name"] for r in await ctx.conn.fetch(sql("smoke", "critical_tables"))]
    missing = sorted(set(CRITICAL_TABLES) - set(tables))
    _need(not missing, f"missing tables: {', '.join(missing)} (expected 5 rows, got {len(tables)})")
    policies = await ctx.conn.fetch(sql("smoke", "rls_policies"))
    per_table: dict[str, int] = {}
    for row in policies:
        per_table[row["relname"]] = per_table.get(row["relname"], 0) + 1
    without = [t for t in POLICY_TABLES if t not in per_table]
    _need(not without, f"no RLS policy on: {', '.join(without)}")
    return f"5/5 tables; {len(policies)} policies on {len(per_table)} tables"


async def section_2b(ctx: _Context) -> str:
    discovery = await ctx.conn.fetch(sql("smoke", "discovery_queue_health"))
    dead = await ctx.conn.fetch(sql("smoke", "dead_letter_queue"))
    events = await ctx.conn.fetch(sql("smoke", "events_queue_health"))
    # Empty is fine at t0; the views must exist and answer. Dead letters are reported, not failed:
    # a drill may have left some on purpose.
    return f"discovery statuses={len(discovery)} events rows={len(events)} dead letters={len(dead)}"


async def section_2c(ctx: _Context) -> str:
    counts = {
        name: len(await ctx.conn.fetch(sql("smoke", name))) for name in ("policy_health", "slo_burnrate", "kernel_slos")
    }
    return " ".join(f"{name}={n}" for name, n in counts.items())


async def section_2d(ctx: _Context) -> str:
    row = await ctx.conn.fetchrow(sql("smoke", "seed_counts"))
    assert row is not None
    counts = dict(row)
    short = {k: v for k, v in counts.items() if v < MIN_SEEDED}
    _need(not short, f"seed data missing (expected >= {MIN_SEEDED} each): {short}; run the seed loader")
    return " ".join(f"{k}={v}" for k, v in counts.items())


async def _sign_in(ctx: _Context) -> dict[str, Any]:
    credentials = {"email": SMOKE_EMAIL, "password": SMOKE_PASSWORD}
    response = await ctx.http.post("/auth/v1/signup", json=credentials)
    if response.status_code == 422 and response.json().get("code") == "user_already_exists":
        response = await ctx.http.post("/auth/v1/token", params={"grant_type": "password"}, json=credentials)
    _need(response.status_code == 200, f"sign-in of the smoke user failed: {response.status_code} {response.text}")
    session: dict[str, Any] = response.json()
    return session


async def section_2e(ctx: _Context) -> str:
    session = await _sign_in(ctx)
    journey = ctx.journey
    journey.user_id = uuid.UUID(session["user"]["id"])
    journey.access_token = session["access_token"]
    journey.interest_ids = [r["id"] for r in await ctx.conn.fetch(sql("smoke", "journey_interests"))]
    _need(len(journey.interest_ids) == 3, f"need 3 interests in the catalog, found {len(journey.interest_ids)}")
    async with ctx.conn.transaction():
        for interest_id, affinity in zip(journey.interest_ids, AFFINITIES, strict=True):
            await ctx.conn.execute(sql("smoke", "set_user_interest"), journey.user_id, interest_id, affinity)
        await ctx.conn.fetchval(sql("smoke", "ensure_category_for_interest"), journey.interest_ids[0])
        await ctx.conn.fetchval(sql("smoke", "enqueue_discovery_for_user"), journey.user_id)
    queued = await ctx.conn.fetch(sql("smoke", "queue_items_for_interests"), journey.interest_ids)
    _need(bool(queued), "the discovery queue has no rows for the journey's interests after enqueueing")
    return f"user {journey.user_id}: 3 interests, {len(queued)} discovery queue rows"


async def section_2f(ctx: _Context) -> str:
    response = await ctx.http.post(
        "/functions/v1/queue-worker",
        headers={"Authorization": f"Bearer {ctx.service_key}"},
        json={"topic": "discovery.user-signup", "limit": 20, "ttl": 120},
    )
    _need(response.status_code == 200, f"queue-worker answered {response.status_code}: {response.text}")
    body = response.json()
    _need(isinstance(body.get("processed"), int), f"queue-worker response has no 'processed' count: {body}")
    _need(body.get("errors") == 0, f"queue-worker reported errors: {body}")
    return f"processed={body['processed']} errors=0"


async def section_2g(ctx: _Context) -> str:
    journey = ctx.journey
    _need(journey.user_id is not None and bool(journey.access_token), "needs the journey user of 2E")
    # The stack's own queue workers may hold some items: give them a moment to finish.
    deadline = time.monotonic() + WORKER_WAIT_S
    while True:
        items = await ctx.conn.fetch(sql("smoke", "queue_items_for_interests"), journey.interest_ids)
        pending = [r for r in items if r["status"] in ("queued", "processing")]
        if not pending or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.25)
    health = {r["status"]: r["ct"] for r in await ctx.conn.fetch(sql("smoke", "discovery_queue_health"))}
    _need(
        health.get("done", 0) + health.get("processing", 0) > 0,
        f"queue health shows no processing/done items: {health}",
    )
    _need(not pending, f"{len(pending)} journey items still pending after {WORKER_WAIT_S:.0f} s: {health}")
    gaps = await ctx.conn.fetch(sql("smoke", "gaps"))
    suggestions = await ctx.conn.fetch(sql("smoke", "suggestions"), journey.user_id)
    _need(bool(suggestions), "marketplace_suggestions_for_user returned no rows (SQL)")
    response = await ctx.http.post(
        "/rest/v1/rpc/marketplace_suggestions_for_user",
        headers={"Authorization": f"Bearer {journey.access_token}"},
        json={"p_user_id": str(journey.user_id), "p_limit": 12},
    )
    _need(response.status_code == 200, f"suggestions RPC answered {response.status_code}: {response.text}")
    over_http = response.json()
    _need(isinstance(over_http, list) and bool(over_http), f"suggestions RPC returned no results: {over_http}")
    return f"queue={health} gaps={len(gaps)} suggestions sql={len(suggestions)} rpc={len(over_http)}"


async def section_2h(ctx: _Context) -> str:
    journey = ctx.journey
    _need(journey.user_id is not None, "needs the journey user of 2E")
    await ctx.conn.fetchval(sql("smoke", "insert_learning_event"), journey.user_id)
    rows = {r["policy"]: dict(r) for r in await ctx.conn.fetch(sql("smoke", "policy_health"))}
    row = rows.get("epsilon_greedy_v1")
    _need(row is not None, f"vw_policy_health has no epsilon_greedy_v1 row: {sorted(rows)}")
    assert row is not None
    nulls = [
        k
        for k in ("impression_count", "avg_epsilon", "exploration_rate", "avg_reward", "last_impression")
        if row.get(k) is None
    ]
    _need(not nulls, f"vw_policy_health row has NULL {', '.join(nulls)}")
    return f"impressions={row['impression_count']} avg_reward={float(row['avg_reward']):.3f}"


Section = Callable[[_Context], Awaitable[str]]
SECTIONS: tuple[tuple[str, str, Section], ...] = (
    ("2A", "schema & RLS verification", section_2a),
    ("2B", "queue health", section_2b),
    ("2C", "learning system alive", section_2c),
    ("2D", "seed data verification", section_2d),
    ("2E", "simulated user journey", section_2e),
    ("2F", "run worker once (HTTP)", section_2f),
    ("2G", "worker effects and suggestions", section_2g),
    ("2H", "learning heartbeat", section_2h),
)


async def run_smoke(primary_dsn: str, api_url: str, service_key: str) -> SmokeReport:
    """Run sections 2A-2H in order; every section is reported, failed ones with the reason."""
    report = SmokeReport(api_url=api_url)
    conn = await asyncpg.connect(primary_dsn, timeout=10)
    try:
        async with httpx.AsyncClient(base_url=api_url.rstrip("/"), timeout=HTTP_TIMEOUT_S) as http:
            ctx = _Context(conn=conn, http=http, service_key=service_key, journey=_Journey())
            for section, title, check in SECTIONS:
                started = time.perf_counter()
                try:
                    detail, ok = await check(ctx), True
                except SectionFailed as exc:
                    detail, ok = str(exc), False
                except (asyncpg.PostgresError, httpx.HTTPError, OSError, ValueError, KeyError) as exc:
                    detail, ok = f"{type(exc).__name__}: {exc}", False
                report.sections.append(
                    SectionResult(section, title, ok, detail, round(time.perf_counter() - started, 3))
                )
    finally:
        await conn.close()
    return report
