"""The journal of one drill run: every probe, action, timestamp and verdict, as JSON.

The schema is documented field by field in chaos/JOURNAL.md (the reports
ingest it); `SCHEMA` names its version. Timestamps are ISO 8601 in UTC with
milliseconds; durations are seconds (`*_s`) or milliseconds (latencies).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

from gauntlet.base.files import write_atomically
from gauntlet.chaos.experiment import InvariantStatus, JsonValue
from gauntlet.chaos.windows import SecondBucket, WindowStats

SCHEMA = "gauntlet.chaos.journal/1"
Status = Literal["completed", "failed", "aborted", "interrupted"]
Phase = Literal["before", "during", "after"]
ActionPhase = Literal["setup", "method", "rollback"]


class ProbeRecord(TypedDict):
    name: str
    phase: Phase  # hypothesis before the method, polled during the fault, or polled for recovery
    at: str
    duration_ms: float
    observed: JsonValue
    expected: str
    within_tolerance: bool
    error: str | None


class ActionRecord(TypedDict):
    name: str
    phase: ActionPhase
    fault: Literal["start", "end"] | None
    started_at: str
    ended_at: str
    ok: bool
    output: JsonValue
    error: str | None


class InvariantRecord(TypedDict):
    name: str
    status: InvariantStatus
    passed: bool | None  # None when skipped: never counted as a pass
    observed: JsonValue
    expected: JsonValue
    message: str


class WindowRecord(WindowStats):
    start: str | None
    end: str | None
    by_group: dict[str, WindowStats]


class Windows(TypedDict):
    before: WindowRecord
    during: WindowRecord
    after: WindowRecord


class BudgetCheck(TypedDict):
    window: Literal["during", "after"]
    metric: Literal["error_rate", "p99_ms"]
    groups: list[str]
    observed: float | None
    limit: float
    passed: bool
    # The requests the check counted (its groups in its window): the numbers a screen shows next to it.
    counted: NotRequired[WindowStats]


class FaultWindow(TypedDict):
    start: str | None
    end: str | None  # None: an instantaneous fault (a kill) that no action removes


class CleanStack(TypedDict):
    passed: bool
    toxiproxy_reset: bool
    settings_restored: dict[str, list[str]]  # service -> the setting keys put back
    restarted: list[str]  # services found dead and started again
    unhealthy: list[str]  # "service: detail" still unhealthy at the end
    replicas: dict[str, str]  # replica -> "streaming, lag 0 B / 0.000 s"
    message: str


class TrafficEvidence(TypedDict):
    proxy: str
    kind: str
    bytes_before: int | None
    bytes_during: int | None
    landed: bool | None


class Evidence(TypedDict):
    """That the fault reached the platform: traffic on each faulted proxy, and whether anything saw it."""

    traffic: list[TrafficEvidence]
    effect_seen: bool | None  # None: the drill faulted no proxy


class Journal(TypedDict):
    schema: str
    drill: str
    title: str
    run_id: str
    target: str
    status: Status
    deviated: bool
    passed: bool
    reasons: list[str]  # why it failed, aborted or deviated, one line each
    started_at: str
    ended_at: str
    duration_s: float
    fault_window: FaultWindow
    detected_at: str | None
    time_to_detect_s: float | None
    recovered_at: str | None
    rto_s: float | None
    recovery_timeout_s: float
    windows: Windows
    budget: list[BudgetCheck]
    probes: list[ProbeRecord]
    actions: list[ActionRecord]
    rollbacks: list[ActionRecord]
    invariants: list[InvariantRecord]
    clean_stack: CleanStack | None
    settings: dict[str, dict[str, str]]
    timeline: list[SecondBucket]
    # passed, failed, or inconclusive (the fault was not shown to land: counts as not passed).
    verdict: str
    evidence: Evidence


def iso(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    moment = dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def empty_window() -> WindowRecord:
    return WindowRecord(
        requests=0,
        errors=0,
        error_rate=0.0,
        p50=None,
        p95=None,
        p99=None,
        max=None,
        statuses={},
        start=None,
        end=None,
        by_group={},
    )


def journal_file_name(journal: Journal) -> str:
    stamp = journal["started_at"].replace(":", "").replace("-", "").replace(".", "")
    return f"{journal['drill']}-{stamp}-{journal['run_id']}.json"


def write_journal(journal: Journal, directory: Path) -> Path:
    """Write `journal` as `<drill>-<start>-<run id>.json` under `directory`; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / journal_file_name(journal)
    write_atomically(path, json.dumps(journal, indent=2, sort_keys=False) + "\n")
    return path
