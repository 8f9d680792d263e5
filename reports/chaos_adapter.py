"""Ingest a drill journal (`gauntlet.chaos.journal/1`, chaos/journal.py) as a Run with one drill entry.

The chaos area owns the journal; this module only reads it, field by field.
Mapping: invariants stay invariants (a skipped one is kept, marked skipped, and
does not fail the drill, as in the journal's own verdict); the error-budget
checks and the clean-stack check become checks; probes and actions become the
activity list; the per-second timeline becomes the series, re-based from the
start of the background load to the start of the drill.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal, cast

from gauntlet.reports.errors import ResultFileError
from gauntlet.reports.jsonfields import Fields, Scalar
from gauntlet.reports.model import Activity, Check, DrillEntry, Run, SeriesPoint

CHAOS_SCHEMA = "gauntlet.chaos.journal/1"
_PROBE_PHASES = {"before": "steady-state-before", "during": "method", "after": "steady-state-after"}
_MAX_SHOWN = 200  # an invariant's observed value can be a whole list of ids; a report needs the gist


def is_chaos_journal(raw: object) -> bool:
    return isinstance(raw, Mapping) and raw.get("schema") == CHAOS_SCHEMA


def _scalar(value: object) -> Scalar:
    """A JSON value as a Check can hold it: lists and objects become compact JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _invariant(f: Fields) -> Check:
    status = f.choice("status", ("passed", "failed", "skipped"))
    message = f.optional_text("message") or ""
    return Check(
        name=f.text("name"),
        passed=status != "failed",
        observed="skipped" if status == "skipped" else _scalar(f.raw.get("observed")),
        expected=_scalar(f.raw.get("expected")),
        message=f"skipped: {message}" if status == "skipped" else message,
    )


def _budget(f: Fields) -> Check:
    metric = f.choice("metric", ("error_rate", "p99_ms"))
    window = f.choice("window", ("during", "after"))
    limit = f.number("limit")
    observed = f.optional_number("observed")
    groups = f.raw.get("groups") or []
    unit = " ms" if metric == "p99_ms" else ""
    scope = f" ({', '.join(str(g) for g in groups)})" if isinstance(groups, list) and groups else ""
    return Check(
        name=f"{metric} {window} the fault{scope} <= {limit:g}{unit}",
        passed=f.flag("passed"),
        observed=None if observed is None else f"{observed:g}{unit}",
        expected=f"<= {limit:g}{unit}",
        message="no requests in the window" if observed is None else "",
    )


def _probe(f: Fields) -> Activity:
    at = f.moment("at")
    ok = f.flag("within_tolerance")
    error = f.optional_text("error")
    return Activity(
        kind="probe",
        name=f.text("name"),
        phase=_PROBE_PHASES[f.choice("phase", tuple(_PROBE_PHASES))],
        started_at=at,
        finished_at=at + timedelta(milliseconds=f.number("duration_ms")),
        status="succeeded" if ok else "failed",
        output=error or str(_scalar(f.raw.get("observed"))),
    )


def _action(f: Fields) -> Activity:
    started, ended = f.moment("started_at"), f.moment("ended_at")
    error = f.optional_text("error")
    return Activity(
        kind="action",
        name=f.text("name"),
        phase=f.choice("phase", ("setup", "method", "rollback")),
        started_at=started,
        finished_at=max(ended, started),
        status="succeeded" if f.flag("ok") else "failed",
        output=error or (None if f.raw.get("output") is None else str(_scalar(f.raw.get("output")))),
    )


def _series(f: Fields, started: datetime) -> list[SeriesPoint]:
    windows = f.optional_obj("windows")
    before = windows.optional_obj("before") if windows else None
    load_start = before.optional_moment("start") if before else None
    offset = (load_start - started).total_seconds() if load_start else 0.0

    def point(b: Fields) -> SeriesPoint:
        requests, errors = b.count("requests"), b.count("errors")
        b.ensure(errors <= requests, "errors", f"{errors} errors among {requests} requests is impossible")
        return SeriesPoint(
            t_s=b.count("t") + offset,
            requests=requests,
            failures=errors,
            p50_ms=b.optional_number("p50") or 0.0,
            p99_ms=b.optional_number("p99") or 0.0,
        )

    return f.items("timeline", point)


def run_from_chaos_journal(raw: object, *, source: str) -> Run:
    """A Run holding the drill of one journal."""
    try:
        return _run(Fields(raw, ""))
    except ResultFileError as exc:
        raise ResultFileError(f"{source}: {exc} (a drill journal, {CHAOS_SCHEMA})") from None


def _run(f: Fields) -> Run:
    started, ended = f.moment("started_at"), f.moment("ended_at")
    f.ensure(ended >= started, "ended_at", "the drill ends before it starts")
    fault = f.optional_obj("fault_window")
    checks = f.items("budget", _budget)
    clean = f.optional_obj("clean_stack")
    if clean is not None:
        checks.append(
            Check(
                name="stack clean after the drill",
                passed=clean.flag("passed"),
                observed="clean" if clean.flag("passed") else "not clean",
                expected="clean",
                message=clean.optional_text("message") or "",
            )
        )
    reasons = f.raw.get("reasons") or []
    f.ensure(isinstance(reasons, list), "reasons", "expected a list of strings")
    assert isinstance(reasons, list)
    activities = f.items("actions", _action) + f.items("probes", _probe) + f.items("rollbacks", _action)
    drill = DrillEntry(
        name=f.text("drill"),
        description=f.optional_text("title") or "",
        status=cast(
            Literal["completed", "failed", "aborted", "interrupted"],
            f.choice("status", ("completed", "failed", "aborted", "interrupted")),
        ),
        deviated=f.flag("deviated"),
        started_at=started,
        finished_at=ended,
        fault_started_at=fault.optional_moment("start") if fault else None,
        fault_ended_at=fault.optional_moment("end") if fault else None,
        detected_at=f.optional_moment("detected_at"),
        recovered_at=f.optional_moment("recovered_at"),
        invariants=f.items("invariants", _invariant, required=True),
        checks=checks,
        activities=sorted(activities, key=lambda a: a.started_at),
        series=_series(f, started),
        reasons=[str(r) for r in reasons],
    )
    if not f.flag("passed") and not drill.culprits():
        # The journal failed the drill for a reason this mapping does not carry: still name it.
        verdict = Check(
            name="drill passed",
            passed=False,
            observed="failed",
            expected="passed",
            message="; ".join(drill.reasons) or "the journal says the drill failed but names no reason",
        )
        drill = dataclasses.replace(drill, checks=[*checks, verdict])
    return Run(
        id=f.text("run_id"),
        started_at=started,
        finished_at=ended,
        target=f.text("target", allow_empty=True),
        profile="",
        drills=[drill],
    )
