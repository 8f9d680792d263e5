"""Killing and restarting one container of a Docker stack: what `gauntlet kill/restart` and drills do.

`kill` signals the container's main process (`docker kill -s SIG`): a worker crash or a replica
loss is a real process dying in a real container. `restart` starts the same container again (its
data survives) and waits until it is healthy; a restarted Toxiproxy gets its recorded proxies
back. A changed setting (`--env`) needs a new container, so it is recreated from the old one's
image, ports, mounts and network with the new environment. A replica that cannot resume
streaming is recreated too, which clones it afresh from the primary.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from gauntlet.base.errors import EnvironmentProblem, GauntletError
from gauntlet.stack import supervisor
from gauntlet.stack.docker import engine, readiness
from gauntlet.stack.layout import PRIMARY, StateLayout
from gauntlet.stack.state import ServiceRecord, StackState

REPLICA_RESUME_TIMEOUT_S = 10.0


def kill(record: ServiceRecord, sig: int) -> int:
    """`docker kill -s SIG` the record's container; returns its main process's pid on the host."""
    assert record.container is not None
    if not engine.is_running(record.container):
        raise GauntletError(
            f"{record.name} is not running (container {record.container}): `gauntlet restart {record.name}` starts it"
        )
    pid = engine.host_pid(record.container) or 0
    engine.kill(record.container, signal.Signals(sig).name)
    return pid


def restart(state: StackState, record: ServiceRecord, *, env_changed: bool) -> None:
    """Start the record's container again (recreated when its settings changed); wait until healthy."""
    assert record.container is not None
    layout = StateLayout(Path(state.state_dir))
    stop_signal = "SIGINT" if record.kind.startswith("postgres") else "SIGTERM"  # Postgres' fast shutdown
    engine.stop(record.container, signal_name=stop_signal)
    since = time.time()
    if env_changed:
        _recreate(state, record)
    elif record.kind == "postgres-replica":
        _restart_replica(state, record)
        return
    else:
        engine.start_again(record.container)
    if record.kind == "postgres-replica":
        readiness.replicas_streaming(_admin(state), [record])
        return
    readiness.service(state, layout, record, since)
    if record.kind == "toxiproxy":
        # A new Toxiproxy process starts empty: put back the proxies the state file records.
        supervisor.restore_proxies(state)


def _restart_replica(state: StackState, record: ServiceRecord) -> None:
    assert record.container is not None
    engine.start_again(record.container)
    try:
        readiness.replicas_streaming(_admin(state), [record], timeout=REPLICA_RESUME_TIMEOUT_S)
        return
    except EnvironmentProblem:
        engine.stop(record.container, signal_name="SIGINT")
    # It could not resume: a new container clones it afresh from the primary.
    _recreate(state, record)
    readiness.replicas_streaming(_admin(state), [record])


def _recreate(state: StackState, record: ServiceRecord) -> None:
    spec, network, bind_ip = engine.recorded_spec(state.state_dir, record.name, record.argv, record.env, record.user)
    engine.recreate(state.state_dir, spec, network, bind_ip)


def _admin(state: StackState) -> str:
    """The primary's admin DSN from the host (the direct one, on the `postgres` database)."""
    direct = str(state.direct.get("primary_dsn", ""))
    base, _, _ = direct.rpartition("/")
    if not base or PRIMARY not in state.services:
        raise GauntletError("this stack records no primary: `gauntlet down` and `up` again")
    return f"{base}/postgres"
