"""Run one platform worker process: `python -m gauntlet.platform.workers KIND`.

Each worker writes a heartbeat file under the state dir on every loop, so the
stack supervisor can tell a live worker from a hung one, and stops cleanly on
SIGTERM (finishing or releasing its current work first).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from gauntlet.platform.settings import get_settings

KINDS = ("queue", "discovery", "notifications", "gc")
HEARTBEAT_EVERY_S = 1.0

log = logging.getLogger("gauntlet.worker")


def heartbeat_path(state_dir: Path, name: str) -> Path:
    return state_dir / "run" / f"{name}.heartbeat"


def write_heartbeat(path: Path, **fields: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "ts": time.time(), **fields}))
    tmp.replace(path)


async def run(kind: str) -> None:
    settings = get_settings()
    name = settings.worker_name or kind
    beat = heartbeat_path(settings.state_dir, name)
    beat.parent.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started", extra={"action": "start", "kind": kind, "worker": name})
    loops = 0
    while not stop.is_set():
        loops += 1
        write_heartbeat(beat, kind=kind, loops=loops)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=HEARTBEAT_EVERY_S)
    log.info("worker stopped", extra={"action": "stop", "kind": kind, "worker": name})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gauntlet.platform.workers")
    parser.add_argument("kind", choices=KINDS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run(args.kind))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
