"""Restarting the stack's API with other settings for a while (rate limits, web fault switches)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from gauntlet.stack import control
from gauntlet.stack.state import StackState, load_state

# Loopback signups in a burst would trip the strict auth profile (10, then 1 per 6 s).
RAISED_LIMITS = {"GAUNTLET_RATE_LIMIT_MULTIPLIER": "100"}


def restart_api(state_dir: Path, env: dict[str, str | None]) -> StackState:
    control.restart(state_dir, "api", env=env)
    state = load_state(state_dir)
    assert state is not None
    return state


@contextlib.contextmanager
def api_settings(state_dir: Path, env: dict[str, str]) -> Iterator[StackState]:
    """The stack with its API restarted with `env` for the block, then restored (even on failure)."""
    before = load_state(state_dir)
    assert before is not None
    previous: dict[str, str | None] = {key: before.services["api"].env.get(key) for key in env}
    try:
        yield restart_api(state_dir, dict(env))
    finally:
        restart_api(state_dir, previous)
