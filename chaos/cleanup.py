"""Leaving the stack as the drill found it, and proving it: the clean-stack check.

After every drill, whatever happened: every toxic removed and every proxy
enabled (Toxiproxy's POST /reset), the platform settings the drill changed
put back, every process that is not running started again, and then, polled
until true or a timeout: every service healthy and every replica streaming.
What was done and what is still wrong goes into the journal's `clean_stack`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.journal import CleanStack
from gauntlet.stack import control
from gauntlet.stack.state import StackState, load_state
from gauntlet.stack.status import ServiceStatus, stack_status

HEALTHY_TIMEOUT_S = 45.0
POLL_S = 0.5
# Dependencies first, so a restarted consumer finds what it consumes.
RESTART_ORDER = ("toxiproxy", "redis", "postgres-primary", "postgres-replica", "api", "worker")


class EmbeddedStackKeeper:
    """Applies a drill's settings by restarting services, and cleans the embedded stack afterwards."""

    def __init__(self, ctx: DrillContext, *, healthy_timeout_s: float = HEALTHY_TIMEOUT_S) -> None:
        self._ctx = ctx
        self._healthy_timeout_s = healthy_timeout_s
        # service -> setting -> the value before the drill changed it (None: it was not set)
        self._previous: dict[str, dict[str, str | None]] = {}

    def _state(self) -> StackState:
        state_dir = self._ctx.target.state_dir
        assert state_dir is not None
        state = load_state(Path(state_dir))
        if state is None:
            raise RuntimeError(f"the stack's state file in {state_dir} is gone")
        return state

    async def apply_settings(self, settings: Mapping[str, Mapping[str, str]]) -> None:
        state = self._state()
        for service, wanted in settings.items():
            record = state.services.get(service)
            if record is None:
                raise RuntimeError(f"the drill sets {service}, which this stack does not run")
            changes: dict[str, str | None] = {k: v for k, v in wanted.items() if record.env.get(k) != v}
            if not changes:
                continue
            remembered = self._previous.setdefault(service, {})
            for key in changes:
                remembered.setdefault(key, record.env.get(key))
            await self._ctx.restart(service, env=changes)

    async def make_clean(self) -> CleanStack:
        notes: list[str] = []
        toxiproxy_reset = await self._reset_faults(notes)
        restored = await self._restore_settings(notes)
        restarted = await self._restart_dead(notes)
        statuses = await self._wait_healthy()
        unhealthy = [f"{s.name}: {s.detail}" for s in statuses if not s.healthy]
        replicas = {s.name: s.detail for s in statuses if s.kind == "postgres-replica"}
        passed = toxiproxy_reset and not unhealthy and not notes
        if unhealthy:
            notes.append(f"still unhealthy after {self._healthy_timeout_s:g} s: {'; '.join(unhealthy)}")
        return CleanStack(
            passed=passed,
            toxiproxy_reset=toxiproxy_reset,
            settings_restored={service: sorted(keys) for service, keys in restored.items()},
            restarted=restarted,
            unhealthy=unhealthy,
            replicas=replicas,
            message="; ".join(notes) or "no toxics, settings restored, every process up, replicas streaming",
        )

    async def _reset_faults(self, notes: list[str]) -> bool:
        try:
            await self._ctx.reset_faults()
        except Exception as exc:  # recorded: an unreset proxy fails the check, it must not hide the rest
            notes.append(f"toxiproxy reset failed: {exc}")
            return False
        return True

    async def _restore_settings(self, notes: list[str]) -> dict[str, dict[str, str | None]]:
        restored: dict[str, dict[str, str | None]] = {}
        for service, previous in list(self._previous.items()):
            try:
                await self._ctx.restart(service, env=dict(previous))
            except Exception as exc:
                notes.append(f"could not restore the settings of {service}: {exc}")
                continue
            restored[service] = previous
            del self._previous[service]
        return restored

    async def _restart_dead(self, notes: list[str]) -> list[str]:
        state = self._state()
        dead = [r for r in state.services.values() if not r.external and not control.is_running(r)]
        dead.sort(key=lambda r: RESTART_ORDER.index(r.kind) if r.kind in RESTART_ORDER else len(RESTART_ORDER))
        restarted: list[str] = []
        for record in dead:
            try:
                await self._ctx.restart(record.name)
            except Exception as exc:
                notes.append(f"could not restart {record.name}: {exc}")
                continue
            restarted.append(record.name)
        return restarted

    async def _wait_healthy(self) -> list[ServiceStatus]:
        deadline = time.monotonic() + self._healthy_timeout_s
        while True:
            statuses = await asyncio.to_thread(stack_status, self._state())
            if all(s.healthy for s in statuses) or time.monotonic() >= deadline:
                return statuses
            await asyncio.sleep(POLL_S)


class RemoteKeeper:
    """A remote target: the drill cannot restart anything, so cleaning is removing the faults."""

    def __init__(self, ctx: DrillContext) -> None:
        self._ctx = ctx

    async def apply_settings(self, settings: Mapping[str, Mapping[str, str]]) -> None:
        if settings:
            raise RuntimeError("this drill changes platform settings, which needs the embedded stack")

    async def make_clean(self) -> CleanStack:
        reset, message = True, "faults removed (a remote target's processes are not checked)"
        if self._ctx.target.toxiproxy_url:
            try:
                await self._ctx.reset_faults()
            except Exception as exc:
                reset, message = False, f"toxiproxy reset failed: {exc}"
        return CleanStack(
            passed=reset,
            toxiproxy_reset=reset,
            settings_restored={},
            restarted=[],
            unhealthy=[],
            replicas={},
            message=message,
        )
