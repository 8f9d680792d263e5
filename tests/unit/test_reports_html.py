"""The HTML report as text: self-contained, escaped, charts and verdict table marked for tests and people."""

from __future__ import annotations

import base64
import dataclasses
import re

import pytest

from gauntlet.reports.charts import downsample, drill_timeline_chart, load_latency_chart
from gauntlet.reports.checks import Check
from gauntlet.reports.example import example_run
from gauntlet.reports.html import report_html
from gauntlet.reports.model import SeriesPoint

CHARTS = [
    "chart-slo-burn",
    "chart-load-latency-0",
    "chart-load-throughput-0",
    "chart-load-errors-0",
    "chart-drill-timeline-0",
    "chart-journey-waterfall-0",
]


@pytest.fixture(scope="module")
def failing_html() -> str:
    return report_html(example_run(failing=True))


def test_every_chart_and_the_verdict_table_are_there(failing_html: str) -> None:
    for testid in [*CHARTS, "slo-verdict-table", "culprits", "run-verdict"]:
        assert f'data-testid="{testid}"' in failing_html, testid
    for svg in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', failing_html):
        assert base64.b64decode(svg).decode("utf-8").startswith("<svg")


def test_the_report_needs_no_network(failing_html: str) -> None:
    assert "Content-Security-Policy" in failing_html and "default-src 'none'" in failing_html
    assert "<script" not in failing_html
    for url in re.findall(r'(?:src|href)="([^"]+)"', failing_html):
        assert url.startswith(("data:", "journeys/", "#")), url  # images inline; links to local artifacts or in-page


def test_the_culprits_are_named_at_the_top(failing_html: str) -> None:
    top = failing_html.split('data-testid="slo-verdict-table"')[0]
    assert "What failed (4)" in top
    assert "threshold `rpc:feed_fusion_home p95_ms &lt; 800 ms` missed: observed 953.9 ms, expected &lt; 800 ms" in top
    assert "invariant `jobs enqueued = done + dead-lettered` broken" in top
    assert "step `submit onboarding` failed: TimeoutError" in top
    assert 'class="verdict failed" data-testid="run-verdict">FAILED' in top


def test_names_are_escaped() -> None:
    run = example_run()
    evil = Check(name="<script>alert(1)</script>", passed=False, observed="<b>", expected="&")
    html = report_html(dataclasses.replace(run, checks=[evil], load=[], drills=[], journeys=[]))
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_charts_render_the_same_bytes_every_time() -> None:
    entry = example_run().load[0]
    assert load_latency_chart(entry) == load_latency_chart(entry)


def test_charts_cope_with_empty_series() -> None:
    run = example_run()
    drill = dataclasses.replace(run.drills[0], series=[], activities=[], fault_started_at=None, fault_ended_at=None,
                                detected_at=None, recovered_at=None)  # fmt: skip
    assert "<svg" in drill_timeline_chart(drill)
    assert "<svg" in load_latency_chart(dataclasses.replace(run.load[0], series=[]))


def test_long_series_are_downsampled_keeping_the_worst_latency() -> None:
    points = [
        SeriesPoint(t_s=float(t), requests=10, failures=0, p95_ms=900.0 if t == 4321 else 50.0) for t in range(86_400)
    ]
    small = downsample(points, limit=1000)
    assert len(small) <= 1000
    assert max(p.p95_ms for p in small) == 900.0
    assert all(p.requests == 10 for p in small)  # still requests per second
    assert downsample(points[:10], limit=1000) == points[:10]
