"""Journals: timestamps, the file they are written to, and the readable summaries."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from gauntlet.chaos.experiment import ErrorBudget
from gauntlet.chaos.journal import SCHEMA, Journal, empty_window, iso, journal_file_name, write_journal
from gauntlet.chaos.summary import drill_summary, repeat_summary
from gauntlet.chaos.verdict import Moments, budget_checks, window_bounds, windows
from gauntlet.chaos.windows import Sample


def _journal(*, passed: bool = True, rto: float | None = 1.5, drill: str = "worker-crash") -> Journal:
    window = empty_window()
    return Journal(
        schema=SCHEMA,
        drill=drill,
        title="A queue worker crashes",
        run_id="abcd1234",
        target="the embedded stack in /tmp/x",
        status="completed" if passed else "failed",
        deviated=not passed,
        passed=passed,
        reasons=[] if passed else ["invariant each effect exactly once failed: 2 events wrote their effect twice"],
        started_at="2026-01-02T03:04:05.678Z",
        ended_at="2026-01-02T03:04:20.000Z",
        duration_s=14.3,
        fault_window={"start": "2026-01-02T03:04:08.000Z", "end": None},
        detected_at="2026-01-02T03:04:08.500Z",
        time_to_detect_s=0.5,
        recovered_at="2026-01-02T03:04:09.500Z" if rto is not None else None,
        rto_s=rto,
        recovery_timeout_s=30.0,
        windows={"before": window, "during": window, "after": window},
        budget=[
            {
                "window": "during",
                "metric": "error_rate",
                "groups": ["write"],
                "observed": 0.0,
                "limit": 0.01,
                "passed": True,
            }
        ],
        probes=[],
        actions=[],
        rollbacks=[],
        invariants=[
            {
                "name": "each effect exactly once",
                "status": "passed" if passed else "failed",
                "passed": passed,
                "observed": 30,
                "expected": 30,
                "message": "30 effects" if passed else "2 events wrote their effect twice",
            },
            {
                "name": "no duplicate notifications",
                "status": "skipped",
                "passed": None,
                "observed": None,
                "expected": None,
                "message": "public.notifications does not exist yet",
            },
        ],
        clean_stack={
            "passed": True,
            "toxiproxy_reset": True,
            "settings_restored": {},
            "restarted": ["worker_queue_1"],
            "unhealthy": [],
            "replicas": {"pg_replica_1": "streaming, lag 0 B / 0.000 s"},
            "message": "no toxics, settings restored, every process up, replicas streaming",
        },
        settings={},
        timeline=[],
        verdict="passed" if passed else "failed",
        evidence={"traffic": [], "effect_seen": None},
    )


def _text(renderable: object) -> str:
    console = Console(width=160, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_timestamps_are_utc_iso_with_milliseconds() -> None:
    assert iso(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso(1.2345) == "1970-01-01T00:00:01.234Z"
    assert iso(None) is None


def test_a_journal_is_written_once_as_json_named_by_drill_start_and_run(tmp_path: Path) -> None:
    journal = _journal()
    assert journal_file_name(journal) == "worker-crash-20260102T030405678Z-abcd1234.json"
    path = write_journal(journal, tmp_path / "journals")
    assert path.name == journal_file_name(journal)
    assert json.loads(path.read_text()) == journal
    assert not list(path.parent.glob("*.tmp"))


def test_the_summary_shows_the_verdict_timing_and_every_check() -> None:
    text = _text(drill_summary(_journal()))
    assert "PASS  worker-crash  completed" in text
    assert "RTO 1.50 s (limit 30 s)" in text
    assert "0.50 s after the fault" in text
    assert "(instant)" in text
    assert "budget error rate, during · budgeted (write)" in text
    assert "skip" in text and "public.notifications does not exist yet" in text
    assert "clean stack" in text


def test_a_failed_summary_says_why() -> None:
    text = _text(drill_summary(_journal(passed=False, rto=None)))
    assert "FAIL  worker-crash  failed, deviated" in text
    assert "not within 30 s" in text
    assert "- invariant each effect exactly once failed: 2 events wrote their effect twice" in text


def test_repeats_report_flakiness_and_the_rto_spread() -> None:
    runs = [_journal(rto=1.0), _journal(passed=False, rto=3.0), _journal(rto=2.0), _journal(drill="poison-job")]
    text = _text(repeat_summary(runs))
    assert "worker-crash" in text and "FLAKY (2/3)" in text
    assert "1.00 / 2.00 / 3.00 s" in text
    assert "poison-job" in text and "stable pass" in text


def _cells(text: str, first: str) -> list[str]:
    """The cells of the one table row whose first (or, in the checks table, second) cell is `first`."""
    rows = [[cell.strip() for cell in line.strip("│┃ ").split("│")] for line in text.splitlines() if "│" in line]
    (found,) = [cells for cells in rows if first in cells[:2]]
    return found


def test_the_screen_shows_the_budget_check_s_own_number_under_the_same_label() -> None:
    """A slow health check (not budgeted) made the screen's `during p99` 1020 ms above a check of 180 ms."""
    during = [Sample(5.0 + i / 100, 100.0, 200, "catalog_browse", "replica_read") for i in range(98)]
    during += [Sample(6.5, 179.764, 200, "my_interests", "primary_read")] * 2
    during += [Sample(6.0 + i / 10, 1020.0, 200, "health", "health") for i in range(10)]
    samples = [Sample(1.0, 50.0, 200, "health", "health"), *during, Sample(12.0, 80.0, 200, "health", "health")]
    bounds = window_bounds(Moments(0.0, 20.0, fault_start=5.0, fault_end=9.0, recovered=10.0))
    checks = [check for check, _ in budget_checks(samples, bounds, ErrorBudget(during_p99_ms=1000.0))]
    journal = _journal()
    journal["windows"] = windows(samples, bounds)
    journal["budget"] = checks
    text = _text(drill_summary(journal))
    p99 = next(c for c in checks if c["metric"] == "p99_ms")
    label = "during · budgeted (primary_read, replica_read, write)"
    assert p99["observed"] == 179.764 and p99["counted"]["p99"] == 179.764
    assert _cells(text, "during · all requests")[6] == "1020"  # every request, health checks included
    assert _cells(text, label)[6] == "180"  # the row the check counts, by the check's label
    assert _cells(text, f"budget p99, {label}")[-1] == "180 ms <= 1000 ms"
    assert _cells(text, f"budget error rate, {label}")[-1] == "0.00 % <= 1.00 %"
