"""Ingest an acceptance phase's result (`gauntlet.acceptance/1`, gauntlet/acceptance/runner.py) as a Run.

Each rule becomes one check of the run's `acceptance` entry: its id is the
check's name, the rule is what was expected, and the check's own message is what
was observed. A skipped rule (the target lacked what it needs) stays skipped:
it proved nothing, so it is not passed.
"""

from __future__ import annotations

from collections.abc import Mapping

from gauntlet.reports.errors import ResultFileError
from gauntlet.reports.jsonfields import Fields
from gauntlet.reports.model import Check, ChecklistEntry, Run

SCHEMA = "gauntlet.acceptance/1"
_STATUSES = ("passed", "failed", "skipped")


def is_acceptance_result(raw: object) -> bool:
    return isinstance(raw, Mapping) and raw.get("schema") == SCHEMA


def run_from_acceptance_result(raw: object, *, source: str) -> Run:
    f = Fields(raw, "")
    try:
        started, finished = f.moment("started_at"), f.moment("finished_at")
        checks = f.items("checks", _check, required=True)
        f.ensure(bool(checks), "checks", "an acceptance result with no checks checked nothing")
        stored = f.flag("passed")
        all_passed = all(c.passed for c in checks)
        f.ensure(stored == all_passed, "passed", f"{stored}, but its checks say {all_passed}")
        target = f.text("target", allow_empty=True)
    except ResultFileError as exc:
        raise ResultFileError(f"{source}: {exc} (an acceptance result, gauntlet/acceptance/runner.py)") from None
    return Run(
        id=f"acceptance-{started:%Y%m%dT%H%M%SZ}",
        started_at=started,
        finished_at=finished,
        target=target,
        profile="",
        acceptance=ChecklistEntry(name="acceptance", checks=checks),
    )


def _check(f: Fields) -> Check:
    status = f.choice("status", _STATUSES)
    message = f.text("message", allow_empty=True)
    title = f.text("title")
    if status == "skipped":
        return Check(name=f.text("id"), passed=False, skipped=True, expected=title, message=message)
    return Check(
        name=f.text("id"),
        passed=status == "passed",
        observed=message if status == "failed" else "held",
        expected=title,
    )
