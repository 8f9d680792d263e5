"""Drill journals (`gauntlet.chaos.journal/1`) read as a Run: a broken invariant is named, timings carried over.

The journals are built with chaos/journal.py's own TypedDicts, so a change to
that schema shows up here (as a type error or a failing test), not in a report.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest

from gauntlet.chaos.journal import (
    SCHEMA,
    ActionRecord,
    BudgetCheck,
    CleanStack,
    Evidence,
    FaultWindow,
    InvariantRecord,
    Journal,
    ProbeRecord,
    Windows,
    empty_window,
)
from gauntlet.chaos.windows import SecondBucket
from gauntlet.reports.errors import ResultFileError
from gauntlet.reports.junit import junit_xml
from gauntlet.reports.markdown import summary_markdown
from gauntlet.reports.resultfile import ensure_result_is_valid

T = "2025-01-31T12:00:{:02d}.000Z"


def journal(*, lost: int = 0, skipped: bool = False, budget_ok: bool = True) -> Journal:
    before = empty_window()
    before["start"] = T.format(2)  # the background load starts 2 s after the drill
    invariants = [
        InvariantRecord(
            name="jobs enqueued = done + dead-lettered",
            status="failed" if lost else "passed",
            passed=not lost,
            observed={"enqueued": 100, "done": 100 - lost, "dead": 0},
            expected="done + dead = enqueued",
            message=f"{lost} jobs lost" if lost else "",
        ),
        InvariantRecord(
            name="ledger totals = sum of events",
            status="skipped" if skipped else "passed",
            passed=None if skipped else True,
            observed=None,
            expected=0,
            message="no ledger events in this drill" if skipped else "",
        ),
    ]
    deviated = bool(lost) or not budget_ok
    return Journal(
        schema=SCHEMA,
        drill="worker_crash",
        title="A queue worker dies mid-batch",
        run_id="drill-1",
        target="http://127.0.0.1:8000",
        status="failed" if deviated else "completed",
        deviated=deviated,
        passed=not deviated,
        reasons=[f"invariant jobs enqueued = done + dead-lettered failed: {lost} jobs lost"] if lost else [],
        started_at=T.format(0),
        ended_at=T.format(40),
        duration_s=40.0,
        fault_window=FaultWindow(start=T.format(10), end=None),
        detected_at=T.format(12),
        time_to_detect_s=2.0,
        recovered_at=T.format(25),
        rto_s=15.0,
        recovery_timeout_s=60.0,
        windows=Windows(before=before, during=empty_window(), after=empty_window()),
        budget=[
            BudgetCheck(
                window="during",
                metric="error_rate",
                groups=["write"],
                observed=0.02 if budget_ok else 0.3,
                limit=0.05,
                passed=budget_ok,
            ),
        ],
        probes=[
            ProbeRecord(
                name="health ok",
                phase="before",
                at=T.format(1),
                duration_ms=12.0,
                observed="ok",
                expected="ok",
                within_tolerance=True,
                error=None,
            ),
            ProbeRecord(
                name="health ok",
                phase="during",
                at=T.format(11),
                duration_ms=5000.0,
                observed=None,
                expected="ok",
                within_tolerance=False,
                error="timed out",
            ),
        ],
        actions=[
            ActionRecord(
                name="kill -9 queue-worker-1",
                phase="method",
                fault="start",
                started_at=T.format(10),
                ended_at=T.format(10),
                ok=True,
                output={"pid": 4242},
                error=None,
            ),
        ],
        rollbacks=[],
        invariants=invariants,
        clean_stack=CleanStack(
            passed=True,
            toxiproxy_reset=True,
            settings_restored={},
            restarted=["queue-worker-1"],
            unhealthy=[],
            replicas={},
            message="restarted queue-worker-1",
        ),
        settings={},
        timeline=[
            SecondBucket(t=t, requests=10, errors=3 if 9 <= t < 15 else 0, p50=20.0, p99=80.0) for t in range(36)
        ],
        verdict="failed" if deviated else "passed",
        evidence=Evidence(traffic=[], effect_seen=None),
    )


def read(j: Journal) -> Any:
    return ensure_result_is_valid(json.loads(json.dumps(j)), source="drills/worker_crash.json")


def test_a_journal_becomes_a_drill_entry() -> None:
    run = read(journal())
    (drill,) = run.drills
    assert (run.id, run.target, run.verdict) == ("drill-1", "http://127.0.0.1:8000", "passed")
    assert (drill.name, drill.status, drill.deviated, drill.description) == (
        "worker_crash",
        "completed",
        False,
        "A queue worker dies mid-batch",
    )
    assert drill.fault_started_at is not None and drill.fault_ended_at is None  # a kill: nothing removes it
    assert drill.detected_at - drill.fault_started_at == timedelta(seconds=2)  # type: ignore[operator]
    assert [c.name for c in drill.invariants] == [
        "jobs enqueued = done + dead-lettered",
        "ledger totals = sum of events",
    ]
    assert drill.invariants[0].observed == '{"dead":0,"done":100,"enqueued":100}'
    assert [c.name for c in drill.checks] == [
        "error_rate during the fault (write) <= 0.05",
        "stack clean after the drill",
    ]
    assert [(a.kind, a.phase, a.name) for a in drill.activities] == [
        ("probe", "steady-state-before", "health ok"),
        ("action", "method", "kill -9 queue-worker-1"),
        ("probe", "method", "health ok"),
    ]
    assert drill.activities[2].status == "failed" and drill.activities[2].output == "timed out"
    # Timeline seconds count from the load's start, 2 s into the drill.
    assert drill.series[0].t_s == 2.0 and drill.series[9].failures == 3 and drill.series[0].p99_ms == 80.0


def test_a_broken_invariant_is_the_named_culprit() -> None:
    run = read(journal(lost=3))
    assert run.verdict == "failed"
    culprits = [c.sentence() for c in run.culprits()]
    assert culprits[1] == (
        "drill worker_crash: invariant `jobs enqueued = done + dead-lettered` broken: "
        'observed {"dead":0,"done":97,"enqueued":100}, expected done + dead = enqueued (3 jobs lost)'
    )
    assert culprits[0].startswith("drill worker_crash: status `experiment status` was: failed (expected completed): ")
    assert "invariant `jobs enqueued = done + dead-lettered` broken" in summary_markdown(run)
    assert 'type="invariant"' in junit_xml(run)


def test_a_skipped_invariant_does_not_fail_the_drill_but_says_so() -> None:
    run = read(journal(skipped=True))
    assert run.verdict == "passed"
    skipped = run.drills[0].invariants[1]
    assert (skipped.passed, skipped.observed, skipped.message) == (
        True,
        "skipped",
        "skipped: no ledger events in this drill",
    )


def test_a_blown_error_budget_is_named() -> None:
    culprits = [c.sentence() for c in read(journal(budget_ok=False)).culprits()]
    assert (
        "drill worker_crash: check `error_rate during the fault (write) <= 0.05` failed: observed 0.3, expected <= 0.05"
        in culprits
    )


def test_a_failed_journal_without_a_named_reason_still_fails() -> None:
    j = journal()
    j["passed"] = False
    j["reasons"] = ["stopping the background load failed: OSError"]
    (culprit,) = read(j).culprits()
    assert culprit.sentence() == (
        "drill worker_crash: check `drill passed` failed: observed failed, expected passed "
        "(stopping the background load failed: OSError)"
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("status", "exploded", "status: expected one of completed, failed, aborted, interrupted"),
        ("invariants", None, "invariants: missing"),
        ("ended_at", "soon", "ended_at: 'soon' is not an ISO 8601 time"),
        ("timeline", [{"t": 0, "requests": 1, "errors": 2}], "timeline[0].errors: 2 errors among 1 requests"),
    ],
)
def test_corrupt_journals_are_named(key: str, value: object, message: str) -> None:
    raw: Any = copy.deepcopy(json.loads(json.dumps(journal())))
    if value is None:
        del raw[key]
    else:
        raw[key] = value
    with pytest.raises(ResultFileError) as caught:
        ensure_result_is_valid(raw, source="j.json")
    text = str(caught.value)
    assert text.startswith("j.json: ") and message in text and "a drill journal, gauntlet.chaos.journal/1" in text
