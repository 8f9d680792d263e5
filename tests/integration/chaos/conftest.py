"""Drills against the embedded stack: each must pass, and must fail when its protection is removed.

The tests import the helpers below from this module (`tests.integration.chaos.conftest`).

Protections are removed in one of two ways, both undone in `finally`:
- `restarted_with`: restart services with a test-only `GAUNTLET_FAULT_*` switch (or a setting
  that removes a bound), then restart them with the keys unset;
- `broken_platform`: install a deliberately broken SQL kernel from `broken/` over the real one,
  then re-apply the migrations that define the real one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import asyncpg
import httpx
import pytest

from gauntlet.chaos.experiment import Drill
from gauntlet.chaos.journal import Journal
from gauntlet.chaos.session import run_one
from gauntlet.chaos.sql import sql
from gauntlet.chaos.target import DrillTarget, target_from_state
from gauntlet.platform.migrate import MIGRATIONS_DIR
from gauntlet.stack import control
from gauntlet.stack.state import StackState

BROKEN = Path(__file__).parent / "broken"
# Must-fail runs wait this long for a recovery that cannot come, instead of the default 30 s.
SHORT_RECOVERY_S = 5.0


@pytest.fixture
def chaos_target(gauntlet_stack: StackState) -> DrillTarget:
    return target_from_state(gauntlet_stack)


async def run(drill: Drill, target: DrillTarget) -> Journal:
    """Run a drill once, with its load's baseline and tail cut to a second each (the tier's time budget)."""
    if drill.load is not None:
        load = replace(drill.load, before_s=min(drill.load.before_s, 1.0), after_s=min(drill.load.after_s, 1.0))
        drill = drill.with_(load=load)
    return await run_one(drill, target)


def explain(journal: Journal) -> str:
    return f"{journal['status']} deviated={journal['deviated']}: " + " | ".join(journal["reasons"])


def assert_passed(journal: Journal) -> None:
    assert journal["passed"], explain(journal)
    clean = journal["clean_stack"]
    assert clean is not None and clean["passed"], clean


def assert_failed_for(journal: Journal, *fragments: str) -> None:
    """The drill failed, deviated, and says why in words containing each fragment."""
    assert not journal["passed"] and journal["status"] == "failed" and journal["deviated"], explain(journal)
    text = " | ".join(journal["reasons"])
    for fragment in fragments:
        assert fragment in text, explain(journal)
    clean = journal["clean_stack"]
    assert clean is not None and clean["passed"], clean  # a failing drill still leaves the stack clean


@asynccontextmanager
async def restarted_with(stack: StackState, services: list[str], env: Mapping[str, str]) -> AsyncIterator[None]:
    """Services restarted with `env` for the block, then restarted with those keys unset."""
    state_dir = Path(stack.state_dir)
    try:
        for service in services:
            await asyncio.to_thread(control.restart, state_dir, service, env=dict(env))
        yield
    finally:
        for service in services:
            await asyncio.to_thread(control.restart, state_dir, service, env=dict.fromkeys(env))


@asynccontextmanager
async def broken_platform(stack: StackState, broken: str, restores: tuple[str, ...]) -> AsyncIterator[None]:
    """`broken/<broken>.sql` installed over the real kernels; the migrations `restores` re-applied after."""
    dsn = stack.direct["primary_dsn"]
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute((BROKEN / f"{broken}.sql").read_text(encoding="utf-8"))
        yield
    finally:
        async with conn.transaction():
            for migration in restores:
                await conn.execute((MIGRATIONS_DIR / migration).read_text(encoding="utf-8"))
        await conn.close()


_routing: dict[str, bool] = {}


async def replica_reads_routed(target: DrillTarget) -> bool:
    """Whether the platform sends RPC reads to the replica at all (once per session)."""
    if "ok" not in _routing:
        _routing["ok"] = await _replica_scans_grow(target)
    return _routing["ok"]


async def _replica_scans_grow(target: DrillTarget) -> bool:
    async def scans() -> int:
        conn = await asyncpg.connect(target.replica_dsns[0])
        try:
            return int(await conn.fetchval(sql("fixtures", "user_table_scans")))
        finally:
            await conn.close()

    before = await scans()
    async with httpx.AsyncClient(base_url=target.api_url, timeout=10) as api:
        # Keep reading while watching: a replica backend that flushed its statistics less than a
        # second ago holds new counts for up to 10 s when it then goes idle; traffic makes it flush.
        for _ in range(40):
            for _ in range(3):
                await api.post(
                    "/rest/v1/rpc/interest_catalog_browse",
                    json={"p_limit": 5},
                    headers={"Authorization": f"Bearer {target.service_key}"},
                )
            await asyncio.sleep(0.2)
            if await scans() > before:
                return True
    return False
