"""The sections of a result: load runs, drills, journeys and the smoke test (schema in reports/SCHEMA.md).

Every entry fails only through something with a name (a check, an invariant, a
journey step, a drill's status), so whatever renders a failed run can always
say which thing failed: each entry's `culprits()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar, cast

from gauntlet.reports.checks import Check, Culprit, failed_checks
from gauntlet.reports.errors import ReportError, ResultFileError
from gauntlet.reports.histogram import decode_histogram
from gauntlet.reports.jsonfields import Fields, iso

DrillStatus = Literal["completed", "failed", "aborted", "interrupted"]
DRILL_STATUSES: tuple[str, ...] = ("completed", "failed", "aborted", "interrupted")
BREAKPOINT_VERDICTS: tuple[str, ...] = ("held", "broke", "generator_saturated")
BREAKPOINT_LIMITS: tuple[str, ...] = ("slo", "generator", "max")
PHASES: tuple[str, ...] = ("setup", "steady-state-before", "method", "steady-state-after", "rollback")


@dataclass(frozen=True, kw_only=True)
class RequestStats:
    """Latency and counts of one request name (or all of them), in milliseconds."""

    count: int
    failures: int
    rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    hdr: str | None = None  # HdrHistogram V2 base64, microseconds (load/hdr.py's encoding)

    @property
    def error_rate(self) -> float:
        return self.failures / self.count if self.count else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "failures": self.failures,
            "error_rate": self.error_rate,
            "rps": self.rps,
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "p999_ms": self.p999_ms,
            "max_ms": self.max_ms,
            "hdr": self.hdr,
        }

    @classmethod
    def from_json(cls, f: Fields) -> RequestStats:
        count, failures = f.count("count"), f.count("failures")
        f.ensure(failures <= count, "failures", f"{failures} failures among {count} requests is impossible")
        return cls(
            count=count,
            failures=failures,
            rps=f.number("rps"),
            p50_ms=f.number("p50_ms"),
            p90_ms=f.number("p90_ms"),
            p95_ms=f.number("p95_ms"),
            p99_ms=f.number("p99_ms"),
            p999_ms=f.number("p999_ms"),
            max_ms=f.number("max_ms"),
            hdr=_histogram(f),
        )


@dataclass(frozen=True, kw_only=True)
class SeriesPoint:
    """What happened in one second (`t_s` seconds after the entry started)."""

    t_s: float
    requests: int
    failures: int
    users: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "t_s": self.t_s,
            "users": self.users,
            "requests": self.requests,
            "failures": self.failures,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
        }

    @classmethod
    def from_json(cls, f: Fields) -> SeriesPoint:
        requests, failures = f.count("requests"), f.count("failures")
        f.ensure(failures <= requests, "failures", f"{failures} failures among {requests} requests is impossible")
        return cls(
            t_s=f.number("t_s"),
            requests=requests,
            failures=failures,
            users=f.count("users") if f.has("users") else 0,
            p50_ms=f.optional_number("p50_ms") or 0.0,
            p95_ms=f.optional_number("p95_ms") or 0.0,
            p99_ms=f.optional_number("p99_ms") or 0.0,
        )


def _histogram(f: Fields) -> str | None:
    """The encoded histogram, decoded once here so a corrupt one is reported against this file and key."""
    text = f.optional_text("hdr")
    if text is not None:
        try:
            decode_histogram(text, where=f.at("hdr"))
        except ReportError as exc:
            raise ResultFileError(str(exc)) from None
    return text


def _strings(f: Fields, key: str) -> list[str]:
    value = f.raw.get(key) or []
    f.ensure(isinstance(value, list) and all(isinstance(v, str) for v in value), key, "expected a list of strings")
    assert isinstance(value, list)
    return [str(v) for v in value]


def _span(f: Fields) -> tuple[datetime, datetime]:
    started, finished = f.moment("started_at"), f.moment("finished_at")
    f.ensure(finished >= started, "finished_at", "ends before it starts")
    return started, finished


def _series(f: Fields) -> list[SeriesPoint]:
    points = f.items("series", SeriesPoint.from_json)
    for i in range(1, len(points)):
        f.ensure(points[i].t_s > points[i - 1].t_s, f"series[{i}].t_s", "the series must be in time order")
    return points


@dataclass(frozen=True, kw_only=True)
class LoadError:
    """One distinct failure message of a load run and how often it occurred (Locust groups failures by text)."""

    name: str  # the request name: `auth:signup`, `rpc:<function>`
    error: str  # `HTTP 429: {"code": "rate_limited", ...}`
    occurrences: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "error": self.error, "occurrences": self.occurrences}

    @classmethod
    def from_json(cls, f: Fields) -> LoadError:
        return cls(name=f.text("name"), error=f.text("error", allow_empty=True), occurrences=f.count("occurrences"))


@dataclass(frozen=True, kw_only=True)
class BreakpointStep:
    """One step of a breakpoint climb: its arrival rate and what that step's own samples showed."""

    rate_per_s: float
    requests: int
    error_rate: float
    p95_ms: float
    p99_ms: float
    verdict: str  # held, broke or generator_saturated
    missed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "rate_per_s": self.rate_per_s,
            "requests": self.requests,
            "error_rate": self.error_rate,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "verdict": self.verdict,
            "missed": list(self.missed),
        }

    @classmethod
    def from_json(cls, f: Fields) -> BreakpointStep:
        raw = f.raw.get("missed") or []
        missed = [m for m in raw if isinstance(m, str)] if isinstance(raw, list) else []
        f.ensure(isinstance(raw, list) and len(missed) == len(raw), "missed", "expected a list of strings")
        return cls(
            rate_per_s=f.number("rate_per_s"),
            requests=f.count("requests"),
            error_rate=f.number("error_rate"),
            p95_ms=f.number("p95_ms"),
            p99_ms=f.number("p99_ms"),
            verdict=f.choice("verdict", BREAKPOINT_VERDICTS),
            missed=missed,
        )


@dataclass(frozen=True, kw_only=True)
class Breakpoint:
    """A breakpoint climb (`gauntlet load --scenario breakpoint`): the knee and the per-step table."""

    knee_per_s: float | None
    broke_at_per_s: float | None
    limited_by: str  # slo, generator or max
    first_broken: str | None
    summary: str
    steps: list[BreakpointStep]

    def to_json(self) -> dict[str, Any]:
        return {
            "knee_per_s": self.knee_per_s,
            "broke_at_per_s": self.broke_at_per_s,
            "limited_by": self.limited_by,
            "first_broken": self.first_broken,
            "summary": self.summary,
            "steps": [s.to_json() for s in self.steps],
        }

    @classmethod
    def from_json(cls, f: Fields) -> Breakpoint:
        return cls(
            knee_per_s=f.optional_number("knee_per_s"),
            broke_at_per_s=f.optional_number("broke_at_per_s"),
            limited_by=f.choice("limited_by", BREAKPOINT_LIMITS),
            first_broken=f.optional_text("first_broken"),
            summary=f.text("summary"),
            steps=f.items("steps", BreakpointStep.from_json, required=True),
        )


@dataclass(frozen=True, kw_only=True)
class LoadEntry:
    """One load run: per request name statistics, a per-second series and the SLO thresholds as checks."""

    name: str
    profile: str
    scenario: str
    started_at: datetime
    finished_at: datetime
    checks: list[Check]
    requests: dict[str, RequestStats]
    overall: RequestStats | None = None
    series: list[SeriesPoint] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)  # most frequent first
    breakpoint: Breakpoint | None = None  # `--scenario breakpoint` only

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def culprits(self) -> list[Culprit]:
        return failed_checks("load", self.name, "threshold", self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": not self.culprits(),
            "profile": self.profile,
            "scenario": self.scenario,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "checks": [c.to_json() for c in self.checks],
            "overall": self.overall.to_json() if self.overall else None,
            "requests": {n: s.to_json() for n, s in self.requests.items()},
            "series": [p.to_json() for p in self.series],
            **({"errors": [e.to_json() for e in self.errors]} if self.errors else {}),
            **({"breakpoint": self.breakpoint.to_json()} if self.breakpoint else {}),
        }

    @classmethod
    def from_json(cls, f: Fields) -> LoadEntry:
        started, finished = _span(f)
        overall = f.optional_obj("overall")
        climb = f.optional_obj("breakpoint")
        return _checked(
            f,
            cls(
                name=f.text("name"),
                profile=f.text("profile"),
                scenario=f.text("scenario"),
                started_at=started,
                finished_at=finished,
                checks=f.items("checks", Check.from_json, required=True),
                requests=f.mapping("requests", RequestStats.from_json),
                overall=RequestStats.from_json(overall) if overall else None,
                series=_series(f),
                errors=f.items("errors", LoadError.from_json),
                breakpoint=Breakpoint.from_json(climb) if climb else None,
            ),
        )


@dataclass(frozen=True, kw_only=True)
class Activity:
    """A probe or action of a drill's journal (chaostoolkit's shape)."""

    kind: Literal["probe", "action"]
    name: str
    phase: str  # setup, steady-state-before, method, steady-state-after, rollback
    started_at: datetime
    finished_at: datetime
    status: Literal["succeeded", "failed"]
    output: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "phase": self.phase,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "status": self.status,
            "output": self.output,
        }

    @classmethod
    def from_json(cls, f: Fields) -> Activity:
        kind = cast(Literal["probe", "action"], f.choice("kind", ("probe", "action")))
        status = cast(Literal["succeeded", "failed"], f.choice("status", ("succeeded", "failed")))
        started, finished = f.moment("started_at"), f.moment("finished_at")
        f.ensure(finished >= started, "finished_at", "ends before it starts")
        return cls(
            kind=kind,
            name=f.text("name"),
            phase=f.choice("phase", PHASES),
            started_at=started,
            finished_at=finished,
            status=status,
            output=f.optional_text("output"),
        )


@dataclass(frozen=True, kw_only=True)
class DrillEntry:
    """One failure drill: its journal, the fault window, detection and recovery, and its invariants."""

    name: str
    status: DrillStatus
    deviated: bool
    started_at: datetime
    finished_at: datetime
    fault_started_at: datetime | None
    fault_ended_at: datetime | None
    detected_at: datetime | None
    recovered_at: datetime | None
    invariants: list[Check]
    checks: list[Check] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    series: list[SeriesPoint] = field(default_factory=list)
    description: str = ""
    reasons: list[str] = field(default_factory=list)  # why it failed, aborted or deviated, one line each

    def culprits(self) -> list[Culprit]:
        named = failed_checks("drill", self.name, "invariant", self.invariants) + failed_checks(
            "drill", self.name, "check", self.checks
        )
        found = []
        if self.status != "completed":
            why = f": {'; '.join(self.reasons)}" if self.reasons else ""
            found.append(
                Culprit(
                    section="drill",
                    entry=self.name,
                    kind="status",
                    name="experiment status",
                    detail=f"{self.status} (expected completed){why}",
                )
            )
        if self.deviated and not named:
            # Deviation is usually explained by a failed invariant or check, named below; say it only alone.
            found.append(
                Culprit(
                    section="drill",
                    entry=self.name,
                    kind="status",
                    name="steady state",
                    detail="deviated: the steady-state hypothesis did not hold after the fault",
                )
            )
        return found + named

    def to_json(self) -> dict[str, Any]:
        def opt(moment: datetime | None) -> str | None:
            return iso(moment) if moment else None

        return {
            "name": self.name,
            "passed": not self.culprits(),
            "description": self.description,
            "status": self.status,
            "deviated": self.deviated,
            "reasons": list(self.reasons),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "fault": {"started_at": opt(self.fault_started_at), "ended_at": opt(self.fault_ended_at)},
            "detected_at": opt(self.detected_at),
            "recovered_at": opt(self.recovered_at),
            "invariants": [c.to_json() for c in self.invariants],
            "checks": [c.to_json() for c in self.checks],
            "activities": [a.to_json() for a in self.activities],
            "series": [p.to_json() for p in self.series],
        }

    @classmethod
    def from_json(cls, f: Fields) -> DrillEntry:
        started, finished = _span(f)
        fault = f.optional_obj("fault")
        fault_start = fault.optional_moment("started_at") if fault else None
        fault_end = fault.optional_moment("ended_at") if fault else None
        if fault and fault_start and fault_end:
            fault.ensure(fault_end >= fault_start, "ended_at", "the fault ends before it starts")
        status = cast(DrillStatus, f.choice("status", DRILL_STATUSES))
        return _checked(
            f,
            cls(
                name=f.text("name"),
                status=status,
                deviated=f.flag("deviated"),
                started_at=started,
                finished_at=finished,
                fault_started_at=fault_start,
                fault_ended_at=fault_end,
                detected_at=f.optional_moment("detected_at"),
                recovered_at=f.optional_moment("recovered_at"),
                invariants=f.items("invariants", Check.from_json, required=True),
                checks=f.items("checks", Check.from_json),
                activities=f.items("activities", Activity.from_json),
                series=_series(f),
                description=f.optional_text("description") or "",
                reasons=_strings(f, "reasons"),
            ),
        )


@dataclass(frozen=True, kw_only=True)
class JourneyStep:
    name: str
    started_at: datetime
    duration_ms: float
    ok: bool
    error: str | None = None
    screenshot: str | None = None
    trace: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "started_at": iso(self.started_at),
            "duration_ms": self.duration_ms,
            "ok": self.ok,
            "error": self.error,
            "screenshot": self.screenshot,
            "trace": self.trace,
        }

    @classmethod
    def from_json(cls, f: Fields) -> JourneyStep:
        return cls(
            name=f.text("name"),
            started_at=f.moment("started_at"),
            duration_ms=f.number("duration_ms"),
            ok=f.flag("ok"),
            error=f.optional_text("error"),
            screenshot=f.optional_text("screenshot"),
            trace=f.optional_text("trace"),
        )


@dataclass(frozen=True, kw_only=True)
class JourneyEntry:
    """One synthetic journey in a browser: its steps in order."""

    name: str
    started_at: datetime
    finished_at: datetime
    steps: list[JourneyStep]
    checks: list[Check] = field(default_factory=list)

    def culprits(self) -> list[Culprit]:
        found = []
        for step in self.steps:
            if not step.ok:
                where = f" (screenshot {step.screenshot})" if step.screenshot else ""
                found.append(
                    Culprit(
                        section="journey",
                        entry=self.name,
                        kind="step",
                        name=step.name,
                        detail=f"{step.error or 'no error message recorded'}{where}",
                    )
                )
        return found + failed_checks("journey", self.name, "check", self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": not self.culprits(),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "steps": [s.to_json() for s in self.steps],
            "checks": [c.to_json() for c in self.checks],
        }

    @classmethod
    def from_json(cls, f: Fields) -> JourneyEntry:
        started, finished = _span(f)
        steps = f.items("steps", JourneyStep.from_json, required=True)
        f.ensure(bool(steps), "steps", "a journey with no steps checked nothing; record at least one step")
        return _checked(
            f,
            cls(
                name=f.text("name"),
                started_at=started,
                finished_at=finished,
                steps=steps,
                checks=f.items("checks", Check.from_json),
            ),
        )


@dataclass(frozen=True, kw_only=True)
class ChecklistEntry:
    """A list of pass/fail checks: the smoke test (one per section, 2A-2H) or the acceptance phase (one per rule).

    `name` is the section too ("smoke" or "acceptance"): culprits read "acceptance acceptance: check ... failed".
    """

    name: str
    checks: list[Check]

    def culprits(self) -> list[Culprit]:
        return failed_checks(self.name, self.name, "check", self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": not self.culprits(), "checks": [c.to_json() for c in self.checks]}

    @classmethod
    def from_json(cls, f: Fields, default_name: str = "smoke") -> ChecklistEntry:
        checks = f.items("checks", Check.from_json, required=True)
        name = f.optional_text("name") or default_name
        f.ensure(bool(checks), "checks", f"a {name} entry with no checks checked nothing")
        return _checked(f, cls(name=name, checks=checks))


Entry = LoadEntry | DrillEntry | JourneyEntry | ChecklistEntry
E = TypeVar("E", LoadEntry, DrillEntry, JourneyEntry, ChecklistEntry)


def _checked(f: Fields, entry: E) -> E:
    """Refuse an entry whose stored `passed` disagrees with its checks (a writer bug hiding a failure)."""
    if "passed" in f.raw:
        stored = f.flag("passed")
        culprits = entry.culprits()
        if stored and culprits:
            f.ensure(False, "passed", f"true, but {culprits[0].sentence()}")
        f.ensure(stored or bool(culprits), "passed", "false, but no check, invariant or step failed: name the culprit")
    return entry


FaultVerdict = Literal["caught", "missed", "error"]
FAULT_VERDICTS: tuple[str, ...] = ("caught", "missed", "error")


@dataclass(frozen=True, kw_only=True)
class FaultOutcome:
    """One seeded fault of `gauntlet prove`: did the gate, run against the mutant, fail, and through what?

    `error` means the gate could not run against the mutant (exit 2, a timeout): not caught.
    """

    name: str
    protects: str
    verdict: FaultVerdict
    caught_by: list[str] = field(default_factory=list)  # the gate's culprits, short: `acceptance:ID`, `drill:NAME`
    expected: list[str] = field(default_factory=list)  # the checks, drills and journeys meant to catch it
    seconds: float = 0.0
    exit_code: int | None = None  # the gate's; None: stopped for time, or it never started
    detail: str = ""  # why it is an error, or a note

    @property
    def expected_caught(self) -> bool | None:
        """Whether one of the expected catchers is among `caught_by`; None when the catalogue names none."""
        if not self.expected:
            return None
        return any(_catches(want, got) for want in self.expected for got in self.caught_by)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "protects": self.protects,
            "verdict": self.verdict,
            "caught_by": list(self.caught_by),
            "expected": list(self.expected),
            "expected_caught": self.expected_caught,
            "seconds": self.seconds,
            "exit_code": self.exit_code,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, f: Fields) -> FaultOutcome:
        exit_code = _exit_code(f)
        return cls(
            name=f.text("name"),
            protects=f.text("protects", allow_empty=True),
            verdict=cast(FaultVerdict, f.choice("verdict", FAULT_VERDICTS)),
            caught_by=_strings(f, "caught_by"),
            expected=_strings(f, "expected"),
            seconds=f.number("seconds"),
            exit_code=exit_code,
            detail=f.optional_text("detail") or "",
        )


def _exit_code(f: Fields) -> int | None:
    value = f.raw.get("exit_code")
    if value is None:
        return None
    f.ensure(
        isinstance(value, int) and not isinstance(value, bool),
        "exit_code",
        f"expected a whole number or null, got {value!r}",
    )
    assert isinstance(value, int)
    return value


def _catches(expected: str, culprit: str) -> bool:
    """`acceptance:feed` (a group) catches through `acceptance:feed.caps`; `drill:x` through `drill:x` only."""
    return culprit == expected or culprit.startswith(f"{expected}.")


@dataclass(frozen=True, kw_only=True)
class CleanRun:
    """One gate run of the unmutated platform: any failure is a false alarm."""

    index: int
    exit_code: int | None
    culprits: list[str] = field(default_factory=list)
    seconds: float = 0.0
    detail: str = ""

    @property
    def false_alarm(self) -> bool:
        return self.exit_code != 0

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "exit_code": self.exit_code,
            "false_alarm": self.false_alarm,
            "culprits": list(self.culprits),
            "seconds": self.seconds,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, f: Fields) -> CleanRun:
        exit_code = _exit_code(f)
        return cls(
            index=f.count("index"),
            exit_code=exit_code,
            culprits=_strings(f, "culprits"),
            seconds=f.number("seconds"),
            detail=f.optional_text("detail") or "",
        )


@dataclass(frozen=True, kw_only=True)
class ProveEntry:
    """`gauntlet prove`: the gate run against seeded faults (mutants) and against the clean platform.

    It fails when the detection score is below `min_score` or any clean run failed (a false alarm).
    """

    name: str  # the gate profile and mode, e.g. `ci --quick`
    min_score: float
    faults: list[FaultOutcome]
    clean_runs: list[CleanRun] = field(default_factory=list)

    @property
    def caught(self) -> int:
        return sum(1 for f in self.faults if f.verdict == "caught")

    @property
    def score(self) -> float:
        return self.caught / len(self.faults) if self.faults else 0.0

    @property
    def false_alarms(self) -> list[CleanRun]:
        return [r for r in self.clean_runs if r.false_alarm]

    def culprits(self) -> list[Culprit]:
        found = []
        if self.score < self.min_score:
            missed = [f.name for f in self.faults if f.verdict != "caught"]
            found.append(
                Culprit(
                    section="prove",
                    entry=self.name,
                    kind="check",
                    name=f"detection score >= {self.min_score:.0%}",
                    detail=f"observed {self.caught}/{len(self.faults)} ({self.score:.1%}); not caught: "
                    + (", ".join(missed) or "none (no faults were run)"),
                )
            )
        for run in self.false_alarms:
            found.append(
                Culprit(
                    section="prove",
                    entry=self.name,
                    kind="check",
                    name=f"clean run {run.index} passed",
                    detail=f"false alarm (exit {run.exit_code}): " + (", ".join(run.culprits) or run.detail),
                )
            )
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": not self.culprits(),
            "min_score": self.min_score,
            "score": self.score,
            "faults": [f.to_json() for f in self.faults],
            "clean_runs": [r.to_json() for r in self.clean_runs],
        }

    @classmethod
    def from_json(cls, f: Fields) -> ProveEntry:
        min_score = f.number("min_score")
        f.ensure(min_score <= 1.0, "min_score", f"{min_score:g} must be a fraction in [0, 1], e.g. 0.95")
        entry = cls(
            name=f.text("name"),
            min_score=min_score,
            faults=f.items("faults", FaultOutcome.from_json, required=True),
            clean_runs=f.items("clean_runs", CleanRun.from_json),
        )
        if "passed" in f.raw:
            stored, culprits = f.flag("passed"), entry.culprits()
            f.ensure(not (stored and culprits), "passed", f"true, but {culprits[0].sentence() if culprits else ''}")
            f.ensure(stored or bool(culprits), "passed", "false, but every fault was caught and no clean run failed")
        return entry
