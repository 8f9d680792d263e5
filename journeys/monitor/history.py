"""The monitor's history in a local SQLite file: runs, attempts, steps, probes, check states, alerts.

SQL lives in history.sql (named queries); this module binds parameters and maps rows to the
monitor's types. WAL mode lets `gauntlet monitor serve` read while a run writes. Check states
live here too, so a monitor started by cron once a minute keeps its flap-suppression memory
between processes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from gauntlet.base.sql import Query, load_file, query_sql
from gauntlet.journeys.monitor.model import Colour, HealthStatus, ProbeResult, RunRecord, StepRecord, Verdict
from gauntlet.journeys.monitor.stats import WINDOWS as STAT_WINDOWS
from gauntlet.journeys.monitor.stats import FailureRow, JourneySample, StatusSnapshot, StepP95, build_snapshot
from gauntlet.journeys.monitor.status import Alert, CheckState

SQL_FILE = Path(__file__).with_name("history.sql")
BUSY_TIMEOUT_MS = 5000
FAILURES_SHOWN = 20
SCHEMA_VERSION = 1


class HistoryError(RuntimeError):
    """The history file cannot be opened or written (the message names the file)."""


def queries() -> dict[str, Query]:
    return load_file(SQL_FILE)


def _sql(name: str) -> str:
    return query_sql(SQL_FILE, name)


class History:
    """One connection to the history file. Not shared between threads: open one per thread."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        try:
            if readonly:
                self._db = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000
                )
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.executescript(_sql("schema"))
                self._check_version()
            self._db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot open monitor history {path}: {exc}") from exc
        self._db.row_factory = sqlite3.Row

    def _check_version(self) -> None:
        # CREATE TABLE IF NOT EXISTS cannot change an older file's tables: refuse one we do not know.
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version == 0:
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            self._db.close()
            raise HistoryError(
                f"monitor history {self.path} has schema version {version}, this Gauntlet writes {SCHEMA_VERSION}; "
                "move the file aside (or pass another --history)"
            )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._db:
                yield self._db
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot write monitor history {self.path}: {exc}") from exc

    def _rows(self, name: str, params: dict[str, Any] | None = None) -> list[sqlite3.Row]:
        try:
            return self._db.execute(_sql(name), params or {}).fetchall()
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot read monitor history {self.path}: {exc}") from exc

    # --- writing -------------------------------------------------------------------------------

    def record_run(self, run: RunRecord, states: dict[str, CheckState]) -> int:
        """Store a run and the check states it produced, in one transaction; returns the run id."""
        with self._transaction() as db:
            run_id = int(
                db.execute(
                    _sql("insert_run"),
                    {
                        "started_at": run.started_at,
                        "finished_at": run.finished_at,
                        "target": run.target,
                        "colour": run.colour,
                        "ok": int(run.ok),
                        "skipped_slots": run.skipped_slots,
                        "notes": json.dumps(list(run.notes)),
                    },
                ).fetchone()[0]
            )
            for outcome in run.outcomes:
                for number, attempt in enumerate(outcome.attempts, start=1):
                    final = number == len(outcome.attempts)
                    attempt_id = db.execute(
                        _sql("insert_attempt"),
                        {
                            "run_id": run_id,
                            "journey": outcome.name,
                            "attempt": number,
                            "final": int(final),
                            "ok": int(attempt.ok),
                            "verdict": outcome.verdict if final else None,
                            "started_at": attempt.started_at,
                            "duration_ms": attempt.duration_ms,
                            "error": attempt.error,
                            "console_errors": json.dumps(list(attempt.console_errors)),
                            "artifacts_dir": attempt.artifacts_dir,
                        },
                    ).fetchone()[0]
                    db.executemany(
                        _sql("insert_step"),
                        [
                            {
                                "attempt_id": attempt_id,
                                "position": position,
                                "name": s.name,
                                "ok": int(s.ok),
                                "duration_ms": s.duration_ms,
                                "budget_ms": s.budget_ms,
                                "error": s.error,
                                "screenshot": s.screenshot,
                                "trace": s.trace,
                                "skipped": int(s.skipped),
                            }
                            for position, s in enumerate(attempt.steps)
                        ],
                    )
            db.executemany(
                _sql("insert_probe"),
                [
                    {
                        "run_id": run_id,
                        "name": p.name,
                        "status": p.status,
                        "detail": p.detail,
                        "duration_ms": p.duration_ms,
                    }
                    for p in run.probes
                ],
            )
            self._save_states(db, states.values())
            db.execute(_sql("delete_other_check_states"), {"names": json.dumps(sorted(states))})
        return run_id

    def save_states(self, states: dict[str, CheckState]) -> None:
        with self._transaction() as db:
            self._save_states(db, states.values())

    @staticmethod
    def _save_states(db: sqlite3.Connection, states: Any) -> None:
        db.executemany(
            _sql("upsert_check_state"),
            [
                {
                    "check_name": s.check,
                    "colour": s.colour,
                    "failing_streak": s.failing_streak,
                    "red": int(s.red),
                    "red_alerted": int(s.red_alerted),
                    "last_red_alert_at": s.last_red_alert_at,
                    "since": s.since,
                    "reasons": json.dumps(list(s.reasons)),
                }
                for s in states
            ],
        )

    def record_alert(self, alert: Alert, *, delivered: bool, error: str | None) -> None:
        with self._transaction() as db:
            db.execute(
                _sql("insert_alert"),
                {
                    "sent_at": alert.at,
                    "check_name": alert.check,
                    "kind": alert.kind,
                    "delivered": int(delivered),
                    "error": error,
                },
            )

    def prune(self, *, before: float) -> list[int]:
        """Delete runs (and alerts) older than `before`; returns the deleted run ids."""
        with self._transaction() as db:
            expired = [int(r[0]) for r in db.execute(_sql("expired_runs"), {"before": before})]
            db.execute(_sql("delete_runs_before"), {"before": before})
            db.execute(_sql("delete_alerts_before"), {"before": before})
        return expired

    # --- reading -------------------------------------------------------------------------------

    def check_states(self) -> dict[str, CheckState]:
        return {
            r["check_name"]: CheckState(
                check=r["check_name"],
                colour=cast(Colour, r["colour"]),
                failing_streak=int(r["failing_streak"]),
                red=bool(r["red"]),
                red_alerted=bool(r["red_alerted"]),
                last_red_alert_at=r["last_red_alert_at"],
                since=r["since"],
                reasons=tuple(json.loads(r["reasons"])),
            )
            for r in self._rows("check_states")
        }

    def alerts_since(self, since: float) -> list[dict[str, Any]]:
        return [dict(r) for r in self._rows("alerts_since", {"since": since})]

    def last_target(self) -> str | None:
        rows = self._rows("last_target")
        return str(rows[0][0]) if rows else None

    def run_count(self) -> int:
        return int(self._rows("run_count")[0][0])

    def snapshot(self, *, now: float, journeys: list[str]) -> StatusSnapshot:
        """Everything the status page and /metrics show, from the last 7 days of history."""
        since = now - max(STAT_WINDOWS.values())
        samples = [
            JourneySample(journey=r[0], at=r[1], duration_ms=r[2], verdict=cast(Verdict, r[3]))
            for r in self._rows("journey_samples", {"since": since})
        ]
        step_p95: dict[str, StepP95] = {}
        for window, span in STAT_WINDOWS.items():
            for journey, step, p95 in self._rows("step_p95", {"since": now - span, "now": now}):
                step_p95.setdefault(journey, {}).setdefault(step, {})[window] = p95
        last_steps: dict[str, list[StepRecord]] = {}
        for r in self._rows("last_attempt_steps"):
            last_steps.setdefault(r["journey"], []).append(
                StepRecord(
                    name=r["name"],
                    ok=bool(r["ok"]),
                    duration_ms=r["duration_ms"],
                    budget_ms=r["budget_ms"],
                    error=r["error"],
                    screenshot=r["screenshot"],
                    trace=r["trace"],
                    skipped=bool(r["skipped"]),
                )
            )
        failures = [
            FailureRow(
                run_id=r["run_id"],
                at=r["started_at"],
                journey=r["journey"],
                attempt=r["attempt"],
                rescued=bool(r["rescued"]),
                summary=(f"step {r['step']}: {r['step_error'] or 'failed'}" if r["step"] else r["error"] or "failed"),
                step=r["step"],
                screenshot=r["screenshot"],
                trace=r["trace"],
            )
            for r in self._rows("recent_failures", {"limit": FAILURES_SHOWN})
        ]
        probes = tuple(
            ProbeResult(name=r[0], status=cast(HealthStatus, r[1]), detail=r[2], duration_ms=r[3])
            for r in self._rows("last_probes")
        )
        run_oks = [(float(r[0]), bool(r[1])) for r in self._rows("run_oks", {"since": since})]
        return build_snapshot(
            now=now,
            journeys=journeys,
            states=list(self.check_states().values()),
            samples=samples,
            step_p95=step_p95,
            last_steps={k: tuple(v) for k, v in last_steps.items()},
            failures=failures,
            probes=probes,
            run_oks=run_oks,
        )
