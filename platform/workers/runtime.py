"""What every worker process shares: the heartbeat file, the stop signal, paced loops.

The heartbeat (`{state_dir}/run/{name}.heartbeat`, JSON, rewritten every
second by its own task) is what the stack supervisor's status reads, so it
keeps beating while a long item is being processed. SIGTERM/SIGINT set the
stop event; loops check it between items, so the current item is finished
(or its lease released) before the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gauntlet.base.files import write_atomically
from gauntlet.platform.db import UNAVAILABLE

HEARTBEAT_EVERY_S = 1.0
log = logging.getLogger("gauntlet.worker")


def heartbeat_path(state_dir: Path, name: str) -> Path:
    return state_dir / "run" / f"{name}.heartbeat"


def write_heartbeat(path: Path, **fields: object) -> None:
    write_atomically(path, json.dumps({"pid": os.getpid(), "ts": time.time(), **fields}))


@dataclass
class WorkerRuntime:
    """Stop event, heartbeat and counters of one worker process."""

    kind: str
    name: str
    beat: Path
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stats: dict[str, Any] = field(default_factory=dict)
    loops: int = 0

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self.stop.is_set():
            log.info("stop requested", extra={"action": "stop_requested", "signal": sig.name, "worker": self.name})
        self.stop.set()

    async def heartbeat_forever(self) -> None:
        while True:
            self.loops += 1
            write_heartbeat(self.beat, kind=self.kind, name=self.name, loops=self.loops, **self.stats)
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if a stop was requested meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        return self.stop.is_set()

    async def every(self, interval_s: float, tick: Callable[[], Awaitable[float | None]]) -> None:
        """Run `tick` until stopped; it returns how long to wait before the next run (None: interval_s).

        A failing tick is logged and retried after the interval, never fatal: a worker
        outlives a database restart.
        """
        while not self.stop.is_set():
            try:
                wait = await tick()
            except UNAVAILABLE as exc:
                # Expected while the database restarts or a drill cuts it off: one line, no traceback.
                log.warning(
                    "database unavailable; retrying",
                    extra={"action": "db_unavailable", "worker": self.name, "error": repr(exc)},
                )
                wait = None
            except Exception as exc:  # the loop must survive any one failure; the log says why
                log.exception(
                    "worker tick failed", extra={"action": "tick_failed", "worker": self.name, "error": repr(exc)}
                )
                wait = None
            await self.sleep(interval_s if wait is None else wait)
