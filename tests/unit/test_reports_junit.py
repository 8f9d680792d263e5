"""JUnit XML: well formed, one test case per threshold / invariant / journey step, failures naming the culprit."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from gauntlet.reports.checks import Check
from gauntlet.reports.example import T0, example_run
from gauntlet.reports.junit import junit_xml
from gauntlet.reports.model import Run


def parse(run: Run) -> ET.Element:
    text = junit_xml(run)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text)


def failures(root: ET.Element) -> dict[str, str]:
    """testcase name -> failure message, for the failed ones."""
    found = {}
    for case in root.iter("testcase"):
        failure = case.find("failure")
        if failure is not None:
            found[case.get("name", "")] = failure.get("message", "")
    return found


def test_a_passing_run_has_every_case_and_no_failure() -> None:
    root = parse(example_run())
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == [
        "load: home_for_you/ramp",
        "drill: worker_crash",
        "journey: signup_onboarding",
        "smoke",
    ]
    # Every threshold, every invariant (+ status, steady state, checks) and every journey step is a case.
    assert [len(s.findall("testcase")) for s in suites.values()] == [4, 5, 5, 2]
    assert root.get("tests") == "16" and root.get("failures") == "0" and root.get("errors") == "0"
    assert failures(root) == {}


def test_failures_name_the_culprit_and_counts_add_up() -> None:
    root = parse(example_run(failing=True))
    found = failures(root)
    assert found["rpc:feed_fusion_home p95_ms < 800 ms"].startswith(
        "threshold `rpc:feed_fusion_home p95_ms < 800 ms` missed: observed 953.9 ms, expected < 800 ms"
    )
    assert found["jobs enqueued = done + dead-lettered"] == (
        "invariant `jobs enqueued = done + dead-lettered` broken: observed 997 of 1000, expected 1000 of 1000 "
        "(3 jobs lost after the worker crash)"
    )
    assert found["submit onboarding"] == (
        "step `submit onboarding` failed: TimeoutError: waiting for 'Continue' to be enabled (30000 ms)"
    )
    assert root.get("failures") == str(len(found)) == "4"
    for suite in root.findall("testsuite"):
        assert suite.get("failures") == str(sum(1 for c in suite.iter("testcase") if c.find("failure") is not None))
        assert suite.get("tests") == str(len(suite.findall("testcase")))


def test_journey_steps_carry_their_time_and_attachments() -> None:
    root = parse(example_run(failing=True))
    step = next(c for c in root.iter("testcase") if c.get("name") == "submit onboarding")
    assert step.get("time") == "30.000"
    assert step.get("classname") == "gauntlet.journey.signup_onboarding"
    output = step.findtext("system-out") or ""
    assert "[[ATTACHMENT|journeys/signup_onboarding/04-submit-onboarding.png]]" in output


def test_drill_status_is_a_case_of_its_own() -> None:
    run = example_run()
    run = dataclasses.replace(run, drills=[dataclasses.replace(run.drills[0], status="interrupted")])
    assert failures(parse(run)) == {
        "experiment status": "status `experiment status` was: interrupted (expected completed)"
    }


def test_an_empty_run_fails_in_junit_too() -> None:
    root = parse(Run(id="r", started_at=T0, finished_at=T0, target="", profile=""))
    assert root.get("failures") == "1"
    assert "a gate that checks nothing fails" in next(iter(failures(root).values()))


@pytest.mark.parametrize("nasty", ["\x00\x07 bell", "<tag> & 'quotes' \"double\"", "line\nbreak", "emoji 🔥 \ud800"])
def test_any_text_stays_well_formed_xml(nasty: str) -> None:
    run = example_run()
    bad = Check(name=f"check {nasty}", passed=False, observed=nasty, expected="x", message=nasty)
    root = parse(dataclasses.replace(run, checks=[bad]))
    (case,) = root.find("testsuite").iter("testcase")  # type: ignore[union-attr]
    assert case.get("name", "").startswith("check ")
    assert root.get("failures") == "1"
