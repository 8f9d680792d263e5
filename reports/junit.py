"""JUnit XML for CI systems: each threshold, drill invariant and journey step is a test case.

One <testsuite> per entry (load run, drill, journey, smoke, acceptance, run-level checks).
A check that did not run (skipped) is a <skipped> case, never a passing one.
A failure's `message` names observed vs expected (or the step's error), so a CI
test tab shows the culprit without opening the HTML report.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from gauntlet.reports.checks import Check, broken
from gauntlet.reports.jsonfields import iso
from gauntlet.reports.model import ChecklistEntry, DrillEntry, JourneyEntry, LoadEntry, ProveEntry, Run

# Characters XML 1.0 cannot carry at all (control characters from a stray error message).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


@dataclass(frozen=True, kw_only=True)
class Case:
    name: str
    failure_type: str
    failure: str | None  # None: passed
    time_s: float = 0.0
    output: str = ""
    skipped: str | None = None  # why it did not run; a skipped case has no failure


def _check_case(check: Check, kind: str) -> Case:
    if check.skipped:
        return Case(name=check.name, failure_type=kind, failure=None, skipped=check.message or "not run")
    return Case(name=check.name, failure_type=kind, failure=None if check.passed else check.detail())


def _load_cases(entry: LoadEntry) -> list[Case]:
    return [_check_case(c, "threshold") for c in entry.checks]


def _drill_cases(entry: DrillEntry) -> list[Case]:
    cases = [
        Case(
            name="experiment status",
            failure_type="status",
            failure=None if entry.status == "completed" else f"{entry.status} (expected completed)",
        ),
        Case(
            name="steady state",
            failure_type="status",
            failure="deviated: the steady-state hypothesis did not hold after the fault" if entry.deviated else None,
        ),
    ]
    cases += [_check_case(c, "invariant") for c in entry.invariants]
    return cases + [_check_case(c, "check") for c in entry.checks]


def _journey_cases(entry: JourneyEntry) -> list[Case]:
    cases = []
    for step in entry.steps:
        # Jenkins and GitLab pick up attachments written this way in system-out.
        output = "".join(f"[[ATTACHMENT|{path}]]\n" for path in (step.screenshot, step.trace) if path)
        failure = None if step.ok else (step.error or "no error message recorded")
        cases.append(
            Case(name=step.name, failure_type="step", failure=failure, time_s=step.duration_ms / 1000, output=output)
        )
    return cases + [_check_case(c, "check") for c in entry.checks]


def _checklist_cases(entry: ChecklistEntry) -> list[Case]:
    return [_check_case(c, "check") for c in entry.checks]


def _prove_cases(entry: ProveEntry) -> list[Case]:
    """One case per seeded fault (missed or could not run: a failure), one per clean run (a false alarm fails)."""
    cases = []
    for f in entry.faults:
        if f.verdict == "caught":
            failure = None
        elif f.verdict == "missed":
            failure = f"missed: the gate passed with this fault in ({f.protects})"
        else:
            failure = f"could not run, so not caught: {f.detail or 'no detail'}"
        output = f"caught by {', '.join(f.caught_by)}\n" if f.caught_by else ""
        cases.append(
            Case(name=f"fault {f.name}", failure_type="check", failure=failure, time_s=f.seconds, output=output)
        )
    for r in entry.clean_runs:
        failure = f"false alarm (exit {r.exit_code}): {', '.join(r.culprits) or r.detail}" if r.false_alarm else None
        cases.append(Case(name=f"clean run {r.index}", failure_type="check", failure=failure, time_s=r.seconds))
    return cases


def _suite(parent: ET.Element, *, name: str, classname: str, cases: list[Case], time_s: float, when: str) -> None:
    failures = sum(1 for c in cases if c.failure is not None)
    skipped = sum(1 for c in cases if c.skipped is not None)
    suite = ET.SubElement(
        parent,
        "testsuite",
        name=_clean(name),
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{max(time_s, 0.0):.3f}",
        timestamp=when,
    )
    for case in cases:
        element = ET.SubElement(
            suite, "testcase", classname=_clean(classname), name=_clean(case.name), time=f"{case.time_s:.3f}"
        )
        if case.failure is not None:
            first_line = case.failure.splitlines()[0] if case.failure else "no detail recorded"
            message = f"{case.failure_type} `{case.name}` {broken(case.failure_type)}: {first_line}"
            failure = ET.SubElement(element, "failure", message=_clean(message), type=case.failure_type)
            failure.text = _clean(case.failure)
        if case.skipped is not None:
            ET.SubElement(element, "skipped", message=_clean(case.skipped))
        if case.output:
            ET.SubElement(element, "system-out").text = _clean(case.output)


def junit_xml(run: Run) -> str:
    """The run as a JUnit XML document (a <testsuites> root)."""
    root = ET.Element("testsuites", name=_clean(f"gauntlet {run.id}"))
    if run.checks or not run.entries:
        cases = [_check_case(c, "check") for c in run.checks]
        cases += [
            Case(name=c.name, failure_type=c.kind, failure=c.detail)
            for c in run.culprits()
            if c.section == "run" and c.name not in {k.name for k in run.checks}
        ]
        _suite(root, name="run", classname="gauntlet.run", cases=cases, time_s=run.duration_s, when=iso(run.started_at))
    for load in run.load:
        _suite(
            root,
            name=f"load: {load.name}",
            classname=f"gauntlet.load.{load.name}",
            cases=_load_cases(load),
            time_s=load.duration_s,
            when=iso(load.started_at),
        )
    for drill in run.drills:
        _suite(
            root,
            name=f"drill: {drill.name}",
            classname=f"gauntlet.drill.{drill.name}",
            cases=_drill_cases(drill),
            time_s=(drill.finished_at - drill.started_at).total_seconds(),
            when=iso(drill.started_at),
        )
    for journey in run.journeys:
        _suite(
            root,
            name=f"journey: {journey.name}",
            classname=f"gauntlet.journey.{journey.name}",
            cases=_journey_cases(journey),
            time_s=(journey.finished_at - journey.started_at).total_seconds(),
            when=iso(journey.started_at),
        )
    for checklist in (run.smoke, run.acceptance):
        if checklist is not None:
            _suite(
                root,
                name=checklist.name,
                classname=f"gauntlet.{checklist.name}",
                cases=_checklist_cases(checklist),
                time_s=0.0,
                when=iso(run.started_at),
            )
    if run.prove is not None:
        _suite(
            root,
            name=f"prove: {run.prove.name}",
            classname="gauntlet.prove",
            cases=_prove_cases(run.prove),
            time_s=run.duration_s,
            when=iso(run.started_at),
        )
    suites = root.findall("testsuite")
    root.set("tests", str(sum(int(s.get("tests", "0")) for s in suites)))
    root.set("failures", str(sum(int(s.get("failures", "0")) for s in suites)))
    root.set("skipped", str(sum(int(s.get("skipped", "0")) for s in suites)))
    root.set("errors", "0")
    root.set("time", f"{max(run.duration_s, 0.0):.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
