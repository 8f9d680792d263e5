"""The HTML report read at a glance, in headless Chromium: a summary card and contents first, folding
sections, each failure's message beside it, expected-during-fault probes not red, one time origin per
drill, and SLO threshold lines on the load charts."""

from __future__ import annotations

import base64
import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from gauntlet.reports import charts
from gauntlet.reports.entries import Activity, LoadError
from gauntlet.reports.example import example_run
from gauntlet.reports.formatting import time_to_recover
from gauntlet.reports.html import report_html
from gauntlet.reports.model import Run

pytestmark = [pytest.mark.integration, pytest.mark.browser]

RATE_LIMITED = (
    'HTTP 429: {"code": "rate_limited", "message": "Too many requests (auth limit); retry in 3 s", '
    '"details": null, "hint": null}'
)


def failing_run() -> Run:
    """The failing example, with sign-ups refused by the auth rate limit and probes failing during the fault."""
    run = example_run(failing=True)
    load = dataclasses.replace(run.load[0], errors=[LoadError(name="auth:signup", error=RATE_LIMITED, occurrences=57)])
    drill = run.drills[0]
    assert drill.fault_started_at is not None
    during = [
        Activity(
            kind="probe",
            name=f"feed answers ({n})",
            phase="method",
            started_at=drill.fault_started_at + timedelta(seconds=1 + n),
            finished_at=drill.fault_started_at + timedelta(seconds=1.5 + n),
            status="failed",
            output="HTTP 503",
        )
        for n in range(6)
    ]
    drill = dataclasses.replace(drill, activities=[*drill.activities, *during])
    return dataclasses.replace(run, load=[load], drills=[drill, *run.drills[1:]])


def open_page(browser: Browser, run: Run, folder: Path) -> Page:
    path = folder / "report.html"
    path.write_text(report_html(run), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri(), wait_until="load")
    return page


def test_summary_and_contents_come_first_and_every_link_lands(browser: Browser, tmp_path: Path) -> None:
    run = failing_run()
    page = open_page(browser, run, tmp_path)
    try:
        summary = page.get_by_test_id("summary")
        box = summary.bounding_box()
        assert box is not None and box["y"] < 200, box  # in the first screen, under the title
        text = summary.inner_text()
        assert "FAILED" in text and "culprits" in text and "load runs 0/1 passed" in text
        contents = page.get_by_test_id("contents")
        assert contents.bounding_box() is not None and contents.bounding_box()["y"] < 400  # type: ignore[index]
        hrefs = contents.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert len(hrefs) >= 5
        for href in hrefs:
            assert page.locator(href).count() == 1, href  # every entry of the contents exists
    finally:
        page.close()


def test_sections_fold_what_passed_is_closed_what_failed_open(browser: Browser, tmp_path: Path) -> None:
    passing = open_page(browser, example_run(), tmp_path)
    try:
        assert passing.locator("details.fold").count() >= 4
        assert passing.locator("details.fold[open]").count() == 0
        height = passing.evaluate("document.documentElement.scrollHeight")
        assert height < 2500, height  # everything that passed is folded away
        drill = passing.locator("#drill-0")
        chart = passing.get_by_test_id("chart-drill-timeline-0")
        assert not chart.is_visible()
        passing.locator("#drills > summary").click()
        drill.locator("summary").first.click()
        assert chart.is_visible()  # a click opens it: no script needed
    finally:
        passing.close()
    failing = open_page(browser, failing_run(), tmp_path)
    try:
        assert failing.locator("#load-0").get_attribute("open") is not None
        assert failing.get_by_test_id("chart-load-latency-0").is_visible()
    finally:
        failing.close()


def test_each_failure_shows_its_message_and_a_429_names_the_limit_and_the_fix(browser: Browser, tmp_path: Path) -> None:
    page = open_page(browser, failing_run(), tmp_path)
    try:
        culprits = page.get_by_test_id("culprits").inner_text()
        assert "rate_limited" in culprits and "Too many requests (auth limit)" in culprits
        assert "`auth` rate limit was hit" in culprits and "GAUNTLET_RATE_LIMIT_MULTIPLIER" in culprits
        errors = page.get_by_test_id("load-errors-0").inner_text()
        assert "auth:signup x57" in errors and "GAUNTLET_RATE_LIMIT_MULTIPLIER" in errors
        # Every failed check row carries its message in the same row.
        invariant = page.locator("tr.bad", has_text="jobs enqueued = done + dead-lettered").first
        assert invariant.locator("td").nth(4).inner_text().strip() != ""
    finally:
        page.close()


def test_probe_failures_during_the_fault_are_expected_not_red(browser: Browser, tmp_path: Path) -> None:
    page = open_page(browser, failing_run(), tmp_path)
    try:
        page.locator("#drill-0-journal > summary").click()
        rows = page.locator("#drill-0-journal tr.expected")
        assert rows.count() == 6
        for n in range(6):
            row = rows.nth(n)
            assert "expected during fault" in row.inner_text() and "FAILED" not in row.inner_text()
            background = row.locator("td").first.evaluate("td => getComputedStyle(td).backgroundColor")
            assert background == "rgb(255, 248, 225)", background  # amber, not the failure red
        assert "6 probe failures expected during the fault" in page.locator("#drill-0-journal > summary").inner_text()
    finally:
        page.close()


def test_a_drill_counts_time_from_the_fault_start_everywhere(browser: Browser, tmp_path: Path) -> None:
    run = failing_run()
    drill = run.drills[0]
    page = open_page(browser, run, tmp_path)
    try:
        facts = page.locator("#drill-0 p", has_text="time to recover").inner_text()
        recover = time_to_recover(drill)
        assert recover is not None and f"time to recover {recover:.1f} s" in facts
        assert (
            page.get_by_test_id("drill-origin-0").inner_text()
            == "times count from the fault start (t = 0 on the chart)"
        )
        page.locator("#drill-0-journal > summary").click()
        assert "at (from fault start)" in page.locator("#drill-0-journal thead").inner_text()
        assert "+1.0 s" in page.locator("#drill-0-journal tr.expected").first.inner_text()
    finally:
        page.close()
    # The chart marks recovery at the header's number (its labels are drawn as paths: compare the marks).
    marks = dict(charts.drill_marks(drill))
    assert marks["recovered"] == pytest.approx(recover) and marks["detected"] == pytest.approx(2.5)


def test_load_charts_draw_the_threshold_lines(browser: Browser, tmp_path: Path) -> None:
    run = failing_run()
    entry = run.load[0]
    limits = charts.overall_thresholds(entry)
    assert {"p95_ms", "error_rate"} <= set(limits), limits
    latency = charts.load_latency_chart(entry)
    errors = charts.load_error_chart(entry)
    assert 'id="threshold-p95_ms"' in latency
    assert 'id="threshold-error_rate"' in errors
    page = open_page(browser, run, tmp_path)
    try:
        for testid, line in (
            ("chart-load-latency-0", "threshold-p95_ms"),
            ("chart-load-errors-0", "threshold-error_rate"),
        ):
            src = page.get_by_test_id(testid).get_attribute("src") or ""
            svg = base64.b64decode(src.split(",", 1)[1]).decode("utf-8")
            assert f'id="{line}"' in svg, testid
            assert page.get_by_test_id(testid).evaluate("img => img.complete && img.naturalWidth > 0")
    finally:
        page.close()
