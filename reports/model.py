"""The one result model, `gauntlet.result/1`: a Run of load, drill, journey, smoke and acceptance entries, and SLOs.

Documented in reports/SCHEMA.md; reading, checking and merging files is
reports/resultfile.py. Import everything from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from gauntlet.reports.checks import Check, Culprit, failed_checks, show
from gauntlet.reports.entries import (
    Activity,
    ChecklistEntry,
    DrillEntry,
    Entry,
    JourneyEntry,
    JourneyStep,
    LoadEntry,
    ProveEntry,
    RequestStats,
    SeriesPoint,
)
from gauntlet.reports.jsonfields import Fields, iso

SCHEMA = "gauntlet.result/1"
Verdict = Literal["passed", "failed"]


@dataclass(frozen=True, kw_only=True)
class SloRecord:
    """One objective's error budget over an entry: how fast it burned and what that costs of a 30-day budget."""

    name: str
    entry: str
    objective: float
    good: int
    total: int
    burn_rate: float
    budget_consumed: float  # fraction of the 30-day budget this burn costs over the entry's duration
    passed: bool
    alerts: list[str] = field(default_factory=list)  # workbook burn-rate rules this burn would fire

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entry": self.entry,
            "objective": self.objective,
            "good": self.good,
            "total": self.total,
            "burn_rate": self.burn_rate,
            "budget_consumed": self.budget_consumed,
            "passed": self.passed,
            "alerts": list(self.alerts),
        }

    @classmethod
    def from_json(cls, f: Fields) -> SloRecord:
        good, total = f.count("good"), f.count("total")
        f.ensure(good <= total, "good", f"{good} good events among {total} is impossible")
        objective = f.number("objective")
        f.ensure(0.0 < objective < 1.0, "objective", f"{objective:g} must be a fraction in (0, 1), e.g. 0.999")
        alerts = f.raw.get("alerts", [])
        f.ensure(
            isinstance(alerts, list) and all(isinstance(a, str) for a in alerts),
            "alerts",
            "expected a list of rule names",
        )
        assert isinstance(alerts, list)
        return cls(
            name=f.text("name"),
            entry=f.text("entry"),
            objective=objective,
            good=good,
            total=total,
            burn_rate=f.number("burn_rate"),
            budget_consumed=f.number("budget_consumed"),
            passed=f.flag("passed"),
            alerts=[str(a) for a in alerts],
        )


@dataclass(frozen=True, kw_only=True)
class Run:
    """One gate run (or one load run, drill or journey on its own): everything a report shows."""

    id: str
    started_at: datetime
    finished_at: datetime
    target: str
    profile: str
    load: list[LoadEntry] = field(default_factory=list)
    drills: list[DrillEntry] = field(default_factory=list)
    journeys: list[JourneyEntry] = field(default_factory=list)
    smoke: ChecklistEntry | None = None
    acceptance: ChecklistEntry | None = None  # the seeds' rules, one check each
    prove: ProveEntry | None = None  # `gauntlet prove`: the gate against seeded faults
    slos: list[SloRecord] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)  # run-level: the stack came up, the gate finished...

    @property
    def entries(self) -> list[Entry]:
        found: list[Entry] = [*self.load, *self.drills, *self.journeys]
        return found + [e for e in (self.smoke, self.acceptance) if e is not None]

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def culprits(self) -> list[Culprit]:
        """Everything that failed, in section order; empty exactly when the run passed."""
        found = failed_checks("run", self.id, "check", self.checks)
        for entry in self.entries:
            found += entry.culprits()
        if self.prove is not None:
            found += self.prove.culprits()
        if not self.entries and not self.checks and self.prove is None:
            found.append(
                Culprit(
                    section="run",
                    entry=self.id,
                    kind="check",
                    name="anything checked",
                    detail="no load, drill, journey, smoke or acceptance results: a gate that checks nothing fails",
                )
            )
        return found

    @property
    def verdict(self) -> Verdict:
        return "failed" if self.culprits() else "passed"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "id": self.id,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "target": self.target,
            "profile": self.profile,
            "verdict": self.verdict,
            "checks": [c.to_json() for c in self.checks],
            "sections": {
                "load": [e.to_json() for e in self.load],
                "drills": [e.to_json() for e in self.drills],
                "journeys": [e.to_json() for e in self.journeys],
                "smoke": self.smoke.to_json() if self.smoke else None,
                "acceptance": self.acceptance.to_json() if self.acceptance else None,
                **({"prove": self.prove.to_json()} if self.prove else {}),
            },
            "slos": [s.to_json() for s in self.slos],
        }

    @classmethod
    def from_json(cls, f: Fields) -> Run:
        schema = f.raw.get("schema")
        if schema != SCHEMA:
            problem = (
                "missing: not a Gauntlet result file"
                if schema is None
                else (f"{schema!r} is not a schema this Gauntlet reads")
            )
            f.ensure(False, "schema", f"{problem} (expected {SCHEMA!r}, or a `gauntlet load` results.json)")
        # Read in the order the file is written, so the first problem reported is the first in the file.
        run_id, started, finished = f.text("id"), f.moment("started_at"), f.moment("finished_at")
        target, profile = f.text("target", allow_empty=True), f.text("profile", allow_empty=True)
        sections = f.obj("sections")
        smoke = sections.optional_obj("smoke")
        acceptance = sections.optional_obj("acceptance")
        prove = sections.optional_obj("prove")
        run = cls(
            id=run_id,
            started_at=started,
            finished_at=finished,
            target=target,
            profile=profile,
            load=sections.items("load", LoadEntry.from_json),
            drills=sections.items("drills", DrillEntry.from_json),
            journeys=sections.items("journeys", JourneyEntry.from_json),
            smoke=ChecklistEntry.from_json(smoke) if smoke else None,
            acceptance=ChecklistEntry.from_json(acceptance, "acceptance") if acceptance else None,
            prove=ProveEntry.from_json(prove) if prove else None,
            slos=f.items("slos", SloRecord.from_json),
            checks=f.items("checks", Check.from_json),
        )
        f.ensure(run.finished_at >= run.started_at, "finished_at", "the run finishes before it starts")
        for key, entries in (("load", run.load), ("drills", run.drills), ("journeys", run.journeys)):
            names = [e.name for e in entries]
            dupes = sorted({n for n in names if names.count(n) > 1})
            sections.ensure(not dupes, key, f"entry names must be unique, {', '.join(dupes)} repeats")
        stored = f.choice("verdict", ("passed", "failed"))
        culprits = run.culprits()
        if stored == "passed" and culprits:
            f.ensure(False, "verdict", f"'passed', but {culprits[0].sentence()}")
        f.ensure(
            stored == "passed" or bool(culprits),
            "verdict",
            "'failed', but nothing in the file failed: add the failed check that says why",
        )
        return run


__all__ = [
    "SCHEMA",
    "Activity",
    "Check",
    "ChecklistEntry",
    "Culprit",
    "DrillEntry",
    "Entry",
    "JourneyEntry",
    "JourneyStep",
    "LoadEntry",
    "ProveEntry",
    "RequestStats",
    "Run",
    "SeriesPoint",
    "SloRecord",
    "Verdict",
    "show",
]
