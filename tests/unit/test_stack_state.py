"""Pure parts of the stack supervisor: the state file, names, health verdicts."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from gauntlet.platform.api.health import Check, overall_status
from gauntlet.stack.layout import worker_names
from gauntlet.stack.ports import free_ports
from gauntlet.stack.state import ProxyRecord, ServiceRecord, StackState, load_state, save_state


def test_state_round_trips_and_is_private(tmp_path: Path) -> None:
    state = StackState(state_dir=str(tmp_path), pg_password="secret", status="up")
    state.services["api"] = ServiceRecord("api", "api", pid=42, create_time=1.5, port=8000)
    state.proxies["redis"] = ProxyRecord("redis", "127.0.0.1:1", "127.0.0.1:2")
    save_state(state)
    assert load_state(tmp_path) == state
    mode = stat.S_IMODE((tmp_path / "state.json").stat().st_mode)
    assert mode == 0o600  # it holds the database password


def test_torn_or_missing_state_reads_as_none(tmp_path: Path) -> None:
    assert load_state(tmp_path) is None
    (tmp_path / "state.json").write_text('{"state_dir": ')
    assert load_state(tmp_path) is None


def test_unknown_keys_from_a_newer_version_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"state_dir": str(tmp_path), "future_field": 1}))
    loaded = load_state(tmp_path)
    assert loaded is not None and loaded.state_dir == str(tmp_path)


def test_worker_names_give_several_queue_workers_and_one_of_each_other_kind() -> None:
    assert worker_names(2) == [
        ("worker_queue_1", "queue"),
        ("worker_queue_2", "queue"),
        ("worker_discovery", "discovery"),
        ("worker_notifications", "notifications"),
        ("worker_gc", "gc"),
    ]


def test_free_ports_are_distinct() -> None:
    ports = free_ports(20)
    assert len(set(ports)) == 20


def _check(ok: bool) -> Check:
    return Check(ok=ok, latency_ms=1.0, error=None if ok else "down")


def test_health_is_down_only_without_the_primary_and_degraded_without_a_replica_or_redis() -> None:
    assert overall_status({"primary": _check(True), "replica_1": _check(True), "redis": _check(True)}) == "ok"
    assert overall_status({"primary": _check(True), "replica_1": _check(False), "redis": _check(True)}) == "degraded"
    assert overall_status({"primary": _check(True), "replica_1": _check(True), "redis": _check(False)}) == "degraded"
    assert overall_status({"primary": _check(False), "replica_1": _check(True), "redis": _check(True)}) == "down"
