"""History in SQLite: what a run stores, what comes back, retention, and check states across processes."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from gauntlet.journeys.monitor.fakes import START, attempt
from gauntlet.journeys.monitor.history import History, HistoryError, queries
from gauntlet.journeys.monitor.model import JourneyOutcome, ProbeResult, RunRecord
from gauntlet.journeys.monitor.stats import WINDOWS
from gauntlet.journeys.monitor.status import Alert, CheckState
from gauntlet.load.hdr import nearest_rank

DAY = 86400.0


def run_at(at: float, *oks: bool, journey: str = "seller", artifacts: Path | None = None) -> RunRecord:
    outcome = JourneyOutcome(
        name=journey,
        attempts=tuple(
            attempt(
                journey,
                ok,
                at=at + i,
                steps=(("login", 100.0, 1000.0), ("feed", 200.0 + i, 1000.0)),
                artifacts=artifacts,
            )
            for i, ok in enumerate(oks)
        ),
    )
    return RunRecord(
        started_at=at,
        finished_at=at + 5,
        target="http://127.0.0.1:9",
        outcomes=(outcome,),
        probes=(ProbeResult(name="health", status="ok", duration_ms=2.0),),
        colour="green" if outcome.ok else "yellow",
    )


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    with History(tmp_path / "deep" / "history.sqlite3") as store:
        yield store


def test_every_query_in_the_sql_file_parses_with_a_description() -> None:
    named = queries()
    assert {"schema", "insert_run", "journey_samples", "recent_failures", "delete_runs_before"} <= set(named)
    assert all(q.description for q in named.values())


def test_opening_creates_the_file_and_schema_idempotently(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "h.sqlite3"
    History(path).close()
    with History(path) as again:
        assert again.run_count() == 0


def test_an_unopenable_file_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "is-a-directory"
    folder.mkdir()
    with pytest.raises(HistoryError, match="cannot open monitor history"):
        History(folder)


def test_runs_attempts_and_steps_round_trip_into_a_snapshot(history: History, tmp_path: Path) -> None:
    history.record_run(run_at(START, False, True, artifacts=tmp_path), {})
    history.record_run(run_at(START + 60, True), {})
    snap = history.snapshot(now=START + 120, journeys=["seller"])
    (seller,) = snap.journeys
    assert seller.uptime["1h"] == 100.0  # the retried run passed in the end: up, though degraded
    assert seller.last is not None and seller.last.verdict == "pass"
    assert [s.name for s in seller.last_steps] == ["login", "feed"]
    assert seller.step_p95_ms["feed"]["1h"] == 201.0  # final attempts only: 201 (retry) and 200
    (failure,) = snap.failures
    assert (failure.journey, failure.attempt, failure.rescued, failure.step) == ("seller", 1, True, "feed")
    assert failure.summary == "step feed: expected text not found"
    assert failure.screenshot is not None and failure.screenshot.endswith("feed.png")
    assert failure.trace is not None and failure.trace.endswith("trace.zip")
    assert [p.name for p in snap.probes] == ["health"]
    assert snap.overall_uptime["1h"] == 100.0


def test_step_p95_in_sql_is_the_nearest_rank_percentile_per_window(history: History) -> None:
    """The SQL p95 agrees with load/hdr.py's nearest_rank on the same values, window by window; failed steps are out.

    The 1 h window holds 116 passing steps: 0.95 n = 110.2, where the one convention (rounded) and a
    ceiling differ, so a SQL rank written another way fails here.
    """
    rng = random.Random(7)
    ages = [30.0 * i for i in range(1, 400)]  # every 30 s back to ~3.3 h
    durations = {age: rng.uniform(50, 5000) for age in ages}
    for age in ages:
        outcome = JourneyOutcome(
            name="seller",
            attempts=(attempt("seller", age % 900 != 0, at=START - age, steps=(("feed", durations[age], None),)),),
        )
        history.record_run(
            RunRecord(started_at=START - age, finished_at=START - age + 1, target="t", outcomes=(outcome,)), {}
        )
    snap = history.snapshot(now=START, journeys=["seller"])
    for window, span in WINDOWS.items():
        passing = [d for age, d in durations.items() if age < span and age % 900 != 0]
        assert snap.journeys[0].step_p95_ms["feed"][window] == nearest_rank(passing, 95.0), window


def test_a_failed_run_counts_against_uptime_and_is_not_rescued(history: History) -> None:
    history.record_run(run_at(START, False, False), {})
    history.record_run(run_at(START + 60, True), {})
    snap = history.snapshot(now=START + 120, journeys=["seller"])
    assert snap.journeys[0].uptime["1h"] == 50.0
    assert snap.overall_uptime["1h"] == 50.0
    assert [(f.attempt, f.rescued) for f in snap.failures] == [(2, False), (1, False)]  # newest first


def test_check_states_persist_and_dropped_checks_are_forgotten(history: History, tmp_path: Path) -> None:
    states = {
        "seller": CheckState(check="seller", colour="red", failing_streak=4, red=True, red_alerted=True,
                             last_red_alert_at=START, since=START - 60, reasons=("step feed: boom",)),
        "platform_health": CheckState(check="platform_health"),
    }  # fmt: skip
    history.record_run(run_at(START, False), states)
    history.close()
    with History(history.path) as reopened:  # a new process, as with cron
        assert reopened.check_states() == states
        reopened.record_run(run_at(START + 60, True), {"platform_health": CheckState(check="platform_health")})
        assert list(reopened.check_states()) == ["platform_health"]


def test_retention_drops_old_runs_with_their_rows_and_alerts(history: History) -> None:
    history.record_run(run_at(START - 20 * DAY, False), {})
    history.record_run(run_at(START - 1 * DAY, True), {})
    history.record_alert(
        Alert(check="seller", kind="red", at=START - 20 * DAY, failing_streak=3), delivered=True, error=None
    )
    history.record_alert(
        Alert(check="seller", kind="recovered", at=START - DAY, failing_streak=0), delivered=True, error=None
    )
    pruned = history.prune(before=START - 14 * DAY)
    assert len(pruned) == 1 and history.run_count() == 1
    assert [a["kind"] for a in history.alerts_since(0)] == ["recovered"]
    raw = sqlite3.connect(history.path)
    try:
        # ON DELETE CASCADE took the attempts, steps and probes of the pruned run with it.
        assert raw.execute("SELECT count(*) FROM journey_attempts").fetchone()[0] == 1
        assert raw.execute("SELECT count(*) FROM steps").fetchone()[0] == 2
        assert raw.execute("SELECT count(*) FROM probes").fetchone()[0] == 1
    finally:
        raw.close()


def test_alerts_are_logged_with_their_delivery(history: History) -> None:
    alert = Alert(check="seller", kind="red", at=START, failing_streak=3)
    history.record_alert(alert, delivered=False, error="HTTP 500")
    (row,) = history.alerts_since(START - 1)
    assert (row["check_name"], row["kind"], row["delivered"], row["error"]) == ("seller", "red", 0, "HTTP 500")


def test_readonly_opening_reads_what_a_writer_wrote(history: History) -> None:
    history.record_run(run_at(START, True), {})
    with History(history.path, readonly=True) as reader:
        assert reader.run_count() == 1
        assert reader.last_target() == "http://127.0.0.1:9"


def test_readonly_opening_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="cannot open monitor history"):
        History(tmp_path / "none.sqlite3", readonly=True)


def test_a_history_file_from_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(HistoryError, match="schema version 99, this Gauntlet writes 1; move the file aside"):
        History(path)


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just notes\n" * 100)
    with pytest.raises(HistoryError, match=r"cannot open monitor history .*notes.txt"):
        History(path)
