"""Ingest journey results (`JourneyResult.to_json()`, journeys/framework.py) as a Run of journey entries.

The journeys area owns that format (it has no schema key: a result is
recognised by its `steps` and `total_budget_ms`). A journey stops at its first
failed step and marks the rest skipped; skipped steps are left out here, and
the journey's total time budget becomes a check, so a journey that ran out of
time before a step is still failed by something with a name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta

from gauntlet.reports.errors import ResultFileError
from gauntlet.reports.jsonfields import Fields
from gauntlet.reports.model import Check, JourneyEntry, JourneyStep, Run


def _looks_like_journey(raw: object) -> bool:
    return isinstance(raw, Mapping) and "schema" not in raw and {"steps", "total_budget_ms", "ok"} <= set(raw)


def is_journey_result(raw: object) -> bool:
    """One journey result, or a list of them (`gauntlet journeys run --json`)."""
    if isinstance(raw, list):
        return bool(raw) and all(_looks_like_journey(item) for item in raw)
    return _looks_like_journey(raw)


def run_from_journey_results(raw: object, *, source: str) -> Run:
    items = raw if isinstance(raw, list) else [raw]
    try:
        journeys = [_journey(Fields(item, f"[{i}]" if isinstance(raw, list) else "")) for i, item in enumerate(items)]
    except ResultFileError as exc:
        raise ResultFileError(f"{source}: {exc} (a journey result, journeys/framework.py)") from None
    names = [j.name for j in journeys]
    unique = []
    for i, journey in enumerate(journeys):
        # Several runs of one journey in a file: number them, entry names must be unique.
        repeated = names.count(journey.name) > 1
        unique.append(dataclasses.replace(journey, name=f"{journey.name}#{i + 1}") if repeated else journey)
    targets = [Fields(item, "").text("target", allow_empty=True) for item in items]
    started = min(j.started_at for j in unique)
    return Run(
        id=f"journeys-{started:%Y%m%dT%H%M%SZ}",
        started_at=started,
        finished_at=max(j.finished_at for j in unique),
        target=", ".join(dict.fromkeys(t for t in targets if t)),
        profile="",
        journeys=unique,
    )


def _journey(f: Fields) -> JourneyEntry:
    started = f.moment("started_at")
    duration_ms = f.number("duration_ms")
    budget_ms = f.number("total_budget_ms")
    raw_steps = f.items("steps", lambda s: s, required=True)
    steps, offset_ms, skipped = [], 0.0, []
    for s in raw_steps:
        status = s.choice("status", ("passed", "failed", "skipped"))
        if status == "skipped":
            skipped.append(s.text("name"))
            continue
        steps.append(
            JourneyStep(
                name=s.text("name"),
                started_at=started + timedelta(milliseconds=offset_ms),
                duration_ms=s.number("duration_ms"),
                ok=status == "passed",
                error=s.optional_text("error"),
                screenshot=s.optional_text("screenshot"),
                trace=s.optional_text("trace"),
            )
        )
        offset_ms += steps[-1].duration_ms
    f.ensure(bool(steps), "steps", "no step ran; a journey with no steps checked nothing")
    checks = []
    if all(step.ok for step in steps):
        # Only when no step failed: after a failed step the skipped rest is that step's doing.
        within = duration_ms <= budget_ms and not skipped
        checks.append(
            Check(
                name=f"journey within {budget_ms:g} ms",
                passed=within,
                observed=f"{duration_ms:.0f} ms" + (f", never reached {', '.join(skipped)}" if skipped else ""),
                expected=f"<= {budget_ms:g} ms, every step run",
                message="" if within else (f.optional_text("error") or ""),
            )
        )
    entry = JourneyEntry(
        name=f.text("name"),
        started_at=started,
        finished_at=started + timedelta(milliseconds=duration_ms),
        steps=steps,
        checks=checks,
    )
    if not f.flag("ok") and not entry.culprits():
        verdict = Check(
            name="journey passed",
            passed=False,
            observed="failed",
            expected="passed",
            message=f.optional_text("error") or "the result says the journey failed but names no reason",
        )
        entry = dataclasses.replace(entry, checks=[*checks, verdict])
    return entry
