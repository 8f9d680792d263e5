"""`gauntlet prove` results in the report model: JSON round trip, HTML section, Markdown, one JUnit case per fault."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from gauntlet.reports.entries import CleanRun, FaultOutcome, ProveEntry
from gauntlet.reports.errors import ResultFileError
from gauntlet.reports.html import report_html
from gauntlet.reports.junit import junit_xml
from gauntlet.reports.markdown import summary_markdown
from gauntlet.reports.model import Run
from gauntlet.reports.resultfile import ensure_result_is_valid

T0 = datetime(2025, 1, 31, 12, tzinfo=UTC)


def outcome(name: str, verdict: str, caught_by: tuple[str, ...] = (), detail: str = "") -> FaultOutcome:
    return FaultOutcome(
        name=name,
        protects=f"the rule {name} guards <b>",
        verdict=verdict,  # type: ignore[arg-type]
        caught_by=list(caught_by),
        expected=["acceptance:notifications"],
        seconds=12.5,
        exit_code={"caught": 1, "missed": 0, "error": 2}[verdict],
        detail=detail,
    )


def run_of(entry: ProveEntry) -> Run:
    return Run(
        id="prove-ci", started_at=T0, finished_at=T0 + timedelta(minutes=3), target="", profile="ci", prove=entry
    )


CAUGHT = outcome("cap-off-by-one", "caught", ("acceptance:notifications.daily_cap_stops_at_n",))
MISSED = outcome("quiet-hours-utc", "missed")
ERROR = outcome("stack-broken", "error", detail="the gate could not run (exit 2): the stack did not come up")


def test_score_and_verdict() -> None:
    good = ProveEntry(
        name="ci --quick", min_score=0.5, faults=[CAUGHT, MISSED], clean_runs=[CleanRun(index=1, exit_code=0)]
    )
    assert good.score == 0.5 and not good.culprits() and run_of(good).verdict == "passed"
    low = ProveEntry(name="ci --quick", min_score=0.95, faults=[CAUGHT, MISSED, ERROR])
    [culprit] = low.culprits()
    assert "1/3" in culprit.detail and "quiet-hours-utc" in culprit.detail and "stack-broken" in culprit.detail
    alarm = ProveEntry(
        name="ci --quick",
        min_score=0.5,
        faults=[CAUGHT],
        clean_runs=[CleanRun(index=1, exit_code=0), CleanRun(index=2, exit_code=1, culprits=["drill:worker-crash"])],
    )
    assert [c.name for c in alarm.culprits()] == ["clean run 2 passed"]
    assert "drill:worker-crash" in alarm.culprits()[0].detail


def test_json_round_trip() -> None:
    entry = ProveEntry(
        name="ci --quick",
        min_score=0.95,
        faults=[CAUGHT, MISSED, ERROR],
        clean_runs=[CleanRun(index=1, exit_code=1, culprits=["acceptance:feed.shop_pages"], seconds=30.0)],
    )
    raw = json.loads(json.dumps(run_of(entry).to_json()))
    assert raw["sections"]["prove"]["score"] == pytest.approx(1 / 3)
    back = ensure_result_is_valid(raw, source="t")
    assert back.prove == entry and back.verdict == "failed"


def test_a_stored_passed_that_hides_a_missed_fault_is_refused() -> None:
    raw = run_of(ProveEntry(name="ci", min_score=0.95, faults=[CAUGHT, MISSED])).to_json()
    raw["sections"]["prove"]["passed"] = True
    with pytest.raises(ResultFileError, match=r"prove\.passed"):
        ensure_result_is_valid(raw, source="t")


def test_html_has_a_table_row_per_fault_and_the_clean_runs() -> None:
    entry = ProveEntry(
        name="ci --quick", min_score=0.95, faults=[CAUGHT, MISSED], clean_runs=[CleanRun(index=1, exit_code=0)]
    )
    html = report_html(run_of(entry))
    assert 'data-testid="prove-faults"' in html and 'data-testid="prove-clean-runs"' in html
    assert "cap-off-by-one" in html and "acceptance:notifications.daily_cap_stops_at_n" in html
    assert "the rule cap-off-by-one guards &lt;b&gt;" in html  # escaped
    assert "detection score 1/2" in html


def test_markdown_has_the_score_and_missed_faults() -> None:
    entry = ProveEntry(
        name="ci --quick", min_score=0.95, faults=[CAUGHT, MISSED], clean_runs=[CleanRun(index=1, exit_code=0)]
    )
    text = summary_markdown(run_of(entry))
    assert "detection score 1/2 (50 %)" in text and "false alarms: 0 of 1 clean runs" in text
    assert "| quiet-hours-utc |" in text


def test_junit_one_case_per_fault_missed_and_error_are_failures() -> None:
    entry = ProveEntry(
        name="ci --quick",
        min_score=0.95,
        faults=[CAUGHT, MISSED, ERROR],
        clean_runs=[CleanRun(index=1, exit_code=1, culprits=["acceptance:feed.shop_pages"])],
    )
    root = ET.fromstring(junit_xml(run_of(entry)))
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "prove: ci --quick")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["fault cap-off-by-one"].find("failure") is None
    assert cases["fault quiet-hours-utc"].find("failure") is not None
    assert "could not run" in (cases["fault stack-broken"].find("failure").get("message") or "")  # type: ignore[union-attr]
    assert cases["clean run 1"].find("failure") is not None
