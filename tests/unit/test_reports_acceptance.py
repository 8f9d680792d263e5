"""An acceptance result in the report model: a failed rule is a culprit, a skipped one too (and <skipped> in JUnit)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from gauntlet.reports.errors import ResultFileError
from gauntlet.reports.html import report_html
from gauntlet.reports.junit import junit_xml
from gauntlet.reports.markdown import summary_markdown
from gauntlet.reports.resultfile import read_result


def _result(*statuses: str) -> dict[str, Any]:
    checks = [
        {
            "id": f"feed.rule_{i}",
            "title": f"rule {i} holds",
            "seeds": "003",
            "status": status,
            "message": "" if status == "passed" else f"{status} because of reason {i}",
            "seconds": 0.5,
        }
        for i, status in enumerate(statuses)
    ]
    return {
        "schema": "gauntlet.acceptance/1",
        "target": "http://127.0.0.1:8000",
        "started_at": "2026-12-06T05:00:00+00:00",
        "finished_at": "2026-12-06T05:00:20+00:00",
        "passed": all(s == "passed" for s in statuses),
        "checks": checks,
    }


def _write(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "acceptance.json"
    path.write_text(json.dumps(raw))
    return path


def test_every_rule_held_is_a_passed_run(tmp_path: Path) -> None:
    run = read_result(_write(tmp_path, _result("passed", "passed")))
    assert run.verdict == "passed"
    assert run.acceptance is not None and len(run.acceptance.checks) == 2


def test_a_failed_and_a_skipped_rule_are_both_culprits(tmp_path: Path) -> None:
    run = read_result(_write(tmp_path, _result("passed", "failed", "skipped")))
    assert run.verdict == "failed"
    sentences = [c.sentence() for c in run.culprits()]
    assert any("feed.rule_1" in s and "failed because of reason 1" in s for s in sentences), sentences
    assert any("feed.rule_2" in s and "skipped: skipped because of reason 2" in s for s in sentences), sentences


def test_junit_marks_the_skipped_rule_skipped_and_the_failed_one_failed(tmp_path: Path) -> None:
    run = read_result(_write(tmp_path, _result("passed", "failed", "skipped")))
    suite = next(s for s in ET.fromstring(junit_xml(run)).iter("testsuite") if s.get("name") == "acceptance")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["feed.rule_1"].find("failure") is not None
    skipped = cases["feed.rule_2"].find("skipped")
    assert skipped is not None and "reason 2" in (skipped.get("message") or "")
    assert cases["feed.rule_2"].find("failure") is None


def test_html_and_markdown_show_the_rules(tmp_path: Path) -> None:
    run = read_result(_write(tmp_path, _result("passed", "failed", "skipped")))
    html = report_html(run)
    assert 'id="acceptance"' in html and "feed.rule_1" in html and "SKIPPED" in html
    assert "Acceptance: 1/3 rules held, 1 failed, 1 skipped." in summary_markdown(run)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: r.update(passed=True), "passed"),
        (lambda r: r["checks"][0].update(status="ok"), "status"),
        (lambda r: r.update(checks=[]), "checks"),
    ],
)
def test_an_inconsistent_file_is_refused_naming_the_field(tmp_path: Path, change: Any, problem: str) -> None:
    raw = _result("passed", "failed")
    change(raw)
    with pytest.raises(ResultFileError, match=problem):
        read_result(_write(tmp_path, raw))
