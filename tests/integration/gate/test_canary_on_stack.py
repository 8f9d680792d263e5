"""`gauntlet gate canary` against the embedded stack: a real breach turns safe mode on."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator

import asyncpg
import pytest

from gauntlet.stack.state import StackState

pytestmark = pytest.mark.integration

CANARY = [sys.executable, "-m", "gauntlet", "gate", "canary"]


async def _safe_mode(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        value = await conn.fetchval("SELECT value FROM feature_flags WHERE key = 'global.safe_mode'")
    finally:
        await conn.close()
    return bool((json.loads(value) if isinstance(value, str) else value)["enabled"])


@pytest.fixture
async def failing_traffic(gauntlet_stack: StackState) -> AsyncIterator[None]:
    """5 % of the last 5 minutes' RPCs failed: above the 2 % gate."""
    conn = await asyncpg.connect(gauntlet_stack.direct["primary_dsn"])
    marker = "gauntlet-test-canary"
    try:
        await conn.execute(
            """INSERT INTO rpc_metrics (name, duration_ms, ok, error)
               SELECT 'rpc:canary_probe', 5, i % 20 <> 0, CASE WHEN i % 20 = 0 THEN $1 END
               FROM generate_series(1, 20000) i""",
            marker,
        )
        yield
    finally:
        await conn.execute("DELETE FROM rpc_metrics WHERE name = 'rpc:canary_probe'")
        await conn.execute("""UPDATE feature_flags SET value = '{"enabled": false}' WHERE key = 'global.safe_mode'""")
        await conn.close()


def _canary(stack: StackState, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CANARY, "--state-dir", stack.state_dir, *args], capture_output=True, text=True, timeout=60, check=False
    )


async def test_breach_turns_safe_mode_on_and_is_recorded(gauntlet_stack: StackState, failing_traffic: None) -> None:
    dsn = gauntlet_stack.direct["primary_dsn"]
    assert not await _safe_mode(dsn)

    dry = _canary(gauntlet_stack, "--dry-run")
    assert dry.returncode == 1, dry.stdout + dry.stderr
    assert "BREACHED" in dry.stdout
    assert not await _safe_mode(dsn)  # --dry-run never flips

    real = _canary(gauntlet_stack)
    assert real.returncode == 1, real.stdout + real.stderr
    assert await _safe_mode(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        reason = await conn.fetchval(
            """SELECT input->>'reason' FROM ai_action_ledger
               WHERE agent = 'gauntlet-canary' ORDER BY id DESC LIMIT 1"""
        )
    finally:
        await conn.close()
    assert reason is not None and "error rate" in reason
