"""Finding the running stack: for CLI commands whose default target is the embedded stack."""

from __future__ import annotations

from pathlib import Path

from gauntlet.base.errors import StackNotRunning
from gauntlet.settings import harness_settings
from gauntlet.stack.state import StackState, load_state


def default_state_dir() -> Path:
    return harness_settings().state_dir.resolve()


def resolve_state_dir(state_dir: Path | None) -> Path:
    return state_dir.resolve() if state_dir else default_state_dir()


def running_state(state_dir: Path | None = None) -> StackState:
    """The running stack's state, or a clear error telling the user to run `gauntlet up`."""
    resolved = resolve_state_dir(state_dir)
    state = load_state(resolved)
    if state is None or state.status != "up":
        raise StackNotRunning(f"no running stack in {resolved}: run `gauntlet up` first (or pass --state-dir)")
    return state
