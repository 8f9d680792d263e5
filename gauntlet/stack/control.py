"""Acting on one service of a running stack: what drills (and engineers) use to break and mend it.

`kill` sends a signal to exactly the recorded process; `restart` brings it
back the way `up` started it and waits until it is healthy again. A replica
that cannot resume streaming (its WAL is gone, or its data was damaged) is
re-cloned from the primary with `pg_basebackup`.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from gauntlet.base.errors import EnvironmentProblem, GauntletError
from gauntlet.stack import postgres, processes, supervisor
from gauntlet.stack.aio import run_sync
from gauntlet.stack.binaries import find_postgres
from gauntlet.stack.layout import PRIMARY, StateLayout
from gauntlet.stack.state import ServiceRecord, StackState, load_state, save_state

REPLICA_RESUME_TIMEOUT_S = 10.0


def _service(state: StackState, name: str) -> ServiceRecord:
    record = state.services.get(name)
    if record is None:
        raise GauntletError(f"no service {name!r} in this stack; known: {', '.join(state.services)}")
    if record.external:
        raise GauntletError(f"{name} is an external service: Gauntlet did not start it and will not signal it")
    return record


def is_running(record: ServiceRecord) -> bool:
    """Whether a service's process (or, on the Docker backend, its container) is running."""
    if record.container is not None:
        from gauntlet.stack.docker import engine

        return engine.is_running(record.container)
    return processes.is_alive(record)


def kill(state_dir: Path, name: str, sig: int = signal.SIGKILL) -> int:
    """Signal one service's recorded process (or container: `docker kill -s SIG`); returns its pid."""
    state = _running(state_dir)
    record = _service(state, name)
    if record.container is not None:
        from gauntlet.stack.docker import service

        return service.kill(record, sig)
    if not processes.is_alive(record):
        raise GauntletError(f"{name} is not running (pid {record.pid}): `gauntlet restart {name}` starts it")
    assert record.pid is not None
    os.kill(record.pid, sig)
    return record.pid


def restart(state_dir: Path, name: str, *, env: dict[str, str | None] | None = None) -> ServiceRecord:
    """Stop (if needed) and start one service again, then wait until it is healthy.

    `env` changes the service's settings from now on (a value of None removes one), e.g.
    `{"GAUNTLET_LEASE_TTL_SECONDS": "3"}` for a fast lease-expiry drill; the change is kept
    in the state file, so later restarts keep it until it is changed back.
    """
    layout = StateLayout(state_dir)
    with supervisor.locked(layout):
        state = _running(state_dir)
        record = _service(state, name)
        before = dict(record.env)
        for key, value in (env or {}).items():
            if value is None:
                record.env.pop(key, None)
            else:
                record.env[key] = value
        if record.container is not None:
            from gauntlet.stack.docker import service

            service.restart(state, record, env_changed=record.env != before)
            save_state(state)
            return record
        if processes.is_alive(record):
            processes.stop(record, sig=signal.SIGINT if record.kind.startswith("postgres") else signal.SIGTERM)
        if record.kind == "postgres-replica":
            _restart_replica(state, layout, record)
        else:
            proc = supervisor.respawn(state, layout, record)
            supervisor.wait_service_ready(state, layout, record, proc)
        if record.kind == "toxiproxy":
            # A restarted Toxiproxy starts empty: give it back the proxies the platform connects through.
            supervisor.restore_proxies(state)
        save_state(state)
        return record


def _restart_replica(state: StackState, layout: StateLayout, record: ServiceRecord) -> None:
    admin = postgres.dsn(state.services[PRIMARY].port or 0, state.pg_password, "postgres")
    proc = supervisor.respawn(state, layout, record)
    try:
        run_sync(postgres.wait_replicas_streaming(admin, [record.name], timeout=REPLICA_RESUME_TIMEOUT_S))
        return
    except EnvironmentProblem:
        if proc.poll() is None:
            processes.stop(record, sig=signal.SIGINT)
    # It could not resume: clone it afresh from the primary.
    assert record.data_dir is not None
    postgres.basebackup(
        find_postgres(), Path(record.data_dir), state.services[PRIMARY].port or 0, state.pg_password, record.user
    )
    supervisor.respawn(state, layout, record)
    run_sync(postgres.wait_replicas_streaming(admin, [record.name]))


def _running(state_dir: Path) -> StackState:
    state = load_state(state_dir)
    if state is None or state.status != "up":
        raise GauntletError(f"no running stack in {state_dir}: run `gauntlet up` first")
    return state
