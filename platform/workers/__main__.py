"""Run one platform worker process: `python -m gauntlet.platform.workers KIND`.

Kinds: `queue` (leases events and discovery items, processes, acks or fails; beside
that loop it claims and runs the background jobs of the kinds platform/workers/jobs.py handles),
`discovery` (the periodic discovery run: inventory -> gap level -> gaps),
`gc` (the gc_* functions on a schedule), `notifications` (drains the
notifications outbox). Every kind writes a heartbeat file each second and stops
cleanly on SIGTERM, finishing or releasing its current lease first; exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from gauntlet.base.logfmt import configure_logging
from gauntlet.platform.db import Database
from gauntlet.platform.settings import PlatformSettings, get_settings
from gauntlet.platform.workers import discovery, gc, jobs, notifications, queue
from gauntlet.platform.workers.runtime import WorkerRuntime, heartbeat_path

KINDS = ("queue", "discovery", "notifications", "gc")
log = logging.getLogger("gauntlet.worker")


async def _work(kind: str, runtime: WorkerRuntime, db: Database, settings: PlatformSettings) -> None:
    if kind == "queue":
        # Two loops on one stop signal; a loop that exits (a test-only fault switch) cancels the other.
        async with asyncio.TaskGroup() as group:
            group.create_task(queue.run_forever(runtime, db, settings), name="queue")
            group.create_task(jobs.run_forever(runtime, db, settings), name="jobs")
    elif kind == "discovery":
        await discovery.run_forever(runtime, db, settings)
    elif kind == "gc":
        await gc.run_forever(runtime, db, settings)
    else:
        await notifications.run_forever(runtime, db, settings)


async def run(kind: str) -> None:
    settings = get_settings()
    name = settings.worker_name or kind
    beat = heartbeat_path(settings.state_dir, name)
    beat.parent.mkdir(parents=True, exist_ok=True)
    runtime = WorkerRuntime(kind=kind, name=name, beat=beat)
    runtime.install_signal_handlers()
    db = Database(settings)
    heartbeat = asyncio.create_task(runtime.heartbeat_forever(), name="heartbeat")
    log.info("worker started", extra={"action": "start", "kind": kind, "worker": name})
    try:
        await _work(kind, runtime, db, settings)
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        await db.close()
        log.info("worker stopped", extra={"action": "stop", "kind": kind, "worker": name, **runtime.stats})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gauntlet.platform.workers")
    parser.add_argument("kind", choices=KINDS)
    args = parser.parse_args(argv)
    configure_logging()
    asyncio.run(run(args.kind))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
