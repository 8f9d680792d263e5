"""The HTML report opened in headless Chromium: no errors, no network, every chart drawn, the culprits on screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request

from gauntlet.reports.example import example_run
from gauntlet.reports.html import report_html
from gauntlet.reports.model import Run

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHARTS = [
    "chart-slo-burn",
    "chart-load-latency-0",
    "chart-load-throughput-0",
    "chart-load-errors-0",
    "chart-drill-timeline-0",
    "chart-journey-waterfall-0",
]


class Opened:
    """A report open in a page, with everything the page complained about or tried to fetch."""

    def __init__(self, page: Page, path: Path) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("request", self._request)
        page.goto(path.as_uri(), wait_until="load")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"console {message.type}: {message.text}")

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)


def open_report(browser: Browser, run: Run, folder: Path) -> Opened:
    path = folder / "report.html"
    path.write_text(report_html(run), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    return Opened(page, path)


def test_a_failing_report_renders_cleanly_with_every_chart(browser: Browser, tmp_path: Path) -> None:
    run = example_run(failing=True)
    opened = open_report(browser, run, tmp_path)
    page = opened.page
    try:
        table = page.get_by_test_id("slo-verdict-table")
        assert table.is_visible()
        assert table.locator("tbody tr").count() == len(run.slos) == 4
        assert "burn rate" in table.locator("thead").inner_text()
        assert "FAILED" in table.locator("tbody tr").nth(2).inner_text()  # the feed's p95 budget row

        for testid in CHARTS:
            chart = page.get_by_test_id(testid)
            assert chart.is_visible(), testid
            box = chart.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100, (testid, box)
            # The SVG decoded and drew: a broken image has naturalWidth 0.
            assert chart.evaluate("img => img.complete && img.naturalWidth > 0"), testid

        culprits = page.get_by_test_id("culprits").inner_text()
        assert "threshold `rpc:feed_fusion_home p95_ms < 800 ms` missed" in culprits
        assert "invariant `jobs enqueued = done + dead-lettered` broken" in culprits
        assert "step `submit onboarding` failed" in culprits
        assert page.get_by_test_id("run-verdict").inner_text() == "FAILED"

        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        page.get_by_test_id("chart-drill-timeline-0").screenshot(path=str(tmp_path / "drill.png"))
        assert shot.stat().st_size > 50_000 and (tmp_path / "drill.png").stat().st_size > 5_000

        assert opened.errors == []
        # Self-contained: the only thing fetched is the file itself (data: images are not requests).
        assert [url for url in opened.requests if not url.startswith("data:")] == [(tmp_path / "report.html").as_uri()]
    finally:
        page.close()


def test_a_passing_report_says_passed(browser: Browser, tmp_path: Path) -> None:
    opened = open_report(browser, example_run(), tmp_path)
    try:
        assert opened.page.get_by_test_id("run-verdict").inner_text() == "PASSED"
        assert (
            "Every threshold, invariant and journey step passed." in opened.page.get_by_test_id("culprits").inner_text()
        )
        assert opened.errors == []
    finally:
        opened.page.close()


def test_these_checks_catch_a_broken_report(browser: Browser, tmp_path: Path) -> None:
    # The same checks on a report with a corrupt chart, a script and a remote image must all complain.
    broken = report_html(example_run()).replace(
        "</main>",
        '<img data-testid="chart-broken" src="data:image/svg+xml;base64,bm90IGFuIHN2Zw==">'
        '<img src="https://example.invalid/pixel.png"><script>throw new Error("boom")</script></main>',
    )
    path = tmp_path / "report.html"
    path.write_text(broken, encoding="utf-8")
    opened = Opened(browser.new_page(), path)
    try:
        assert not opened.page.get_by_test_id("chart-broken").evaluate("img => img.complete && img.naturalWidth > 0")
        assert any("example.invalid" in e for e in opened.errors), opened.errors  # blocked by the report's CSP
        assert any("script" in e.lower() for e in opened.errors), opened.errors
    finally:
        opened.page.close()
