"""The status page and the Prometheus text: what they show, escaping, links, and parseable metrics."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from gauntlet.journeys.monitor.metrics import exposition
from gauntlet.journeys.monitor.model import ProbeResult, StepRecord
from gauntlet.journeys.monitor.page import chart_svg, file_links, render, served_links
from gauntlet.journeys.monitor.stats import FailureRow, JourneySample, StatusSnapshot, build_snapshot, chart_buckets
from gauntlet.journeys.monitor.status import CheckState

NOW = 1_700_000_000.0


def snapshot(tmp_path: Path) -> StatusSnapshot:
    evidence = tmp_path / "artifacts" / "seller-20231114T221320Z-ab12cd"
    screenshot, trace = str(evidence / "03-publish.png"), str(evidence / "trace.zip")
    seller = CheckState(
        check="seller", colour="red", failing_streak=3, red=True, since=NOW - 120, reasons=("step publish: <boom>",)
    )
    publish = StepRecord(
        name="publish", ok=False, duration_ms=2400.0, budget_ms=2000.0, error="boom", screenshot=screenshot, trace=trace
    )
    return build_snapshot(
        now=NOW,
        journeys=["seller", "returning_user"],
        states=[
            seller,
            CheckState(check="returning_user", colour="green", since=NOW - 3600),
            CheckState(check="platform_health", colour="yellow", reasons=("redis degraded",)),
        ],
        samples=[
            JourneySample(journey="seller", at=NOW - 60, duration_ms=2500.0, verdict="fail"),
            JourneySample(journey="returning_user", at=NOW - 60, duration_ms=1200.0, verdict="pass"),
        ],
        step_p95={"seller": {"publish": {"1h": 2100.0}}},
        last_steps={"seller": (publish,)},
        failures=[
            FailureRow(
                run_id=7, at=NOW - 60, journey="seller", attempt=2, rescued=False, summary="step publish: <boom>",
                step="publish", screenshot=screenshot, trace=trace,
            ),
            FailureRow(
                run_id=6, at=NOW - 120, journey="seller", attempt=1, rescued=True, summary="step login: slow",
                step="login", screenshot=None, trace="/elsewhere/trace.zip",
            ),
        ],
        probes=(ProbeResult(name="health", status="degraded", detail="failing: redis", duration_ms=4.2),),
        run_oks=[(NOW - 60, False)],
    )  # fmt: skip


def test_page_shows_overall_and_per_journey_status(tmp_path: Path) -> None:
    html = render(snapshot(tmp_path), target="https://staging.example", link_for=file_links(tmp_path / "status.html"))
    assert html.startswith("<!doctype html>")
    assert 'data-testid="overall-status" data-status="red"' in html
    assert 'data-testid="status-seller">red<' in html
    assert 'data-testid="status-returning_user">green<' in html
    assert 'data-testid="check-status-platform_health">yellow<' in html
    assert 'data-testid="uptime-returning_user-1h">100.00%<' in html
    assert 'data-testid="uptime-seller-7d">0.00%<' in html
    assert 'data-testid="chart-seller"' in html and 'data-testid="chart-returning_user"' in html
    assert 'data-testid="probe-health"' in html and "failing: redis" in html
    assert '<meta http-equiv="refresh" content="60">' in html


def test_page_is_self_contained(tmp_path: Path) -> None:
    html = render(snapshot(tmp_path), target="t", link_for=file_links(tmp_path / "status.html"))
    for outside in ("<script", "<link", "src=", "@import", "url("):
        assert outside not in html


def test_failures_link_their_evidence_relative_to_the_page_file(tmp_path: Path) -> None:
    html = render(snapshot(tmp_path), target="t", link_for=file_links(tmp_path / "status.html"))
    assert html.count('data-testid="failure"') == 2
    assert 'href="artifacts/seller-20231114T221320Z-ab12cd/03-publish.png" data-testid="screenshot-link"' in html
    assert 'href="artifacts/seller-20231114T221320Z-ab12cd/trace.zip" data-testid="trace-link"' in html
    assert "(a retry passed)" in html


def test_served_links_stay_under_the_artifacts_folder(tmp_path: Path) -> None:
    link = served_links(tmp_path / "artifacts")
    assert link(str(tmp_path / "artifacts" / "seller-x" / "a b.png")) == "/artifacts/seller-x/a%20b.png"
    assert link("/elsewhere/trace.zip") is None
    assert link(str(tmp_path / "artifacts" / ".." / "history.sqlite3")) is None
    html = render(snapshot(tmp_path), target="t", link_for=link)
    assert "<code>/elsewhere/trace.zip</code>" in html  # shown, not linked


def test_everything_from_history_is_escaped(tmp_path: Path) -> None:
    html = render(snapshot(tmp_path), target="<script>x</script>", link_for=file_links(tmp_path / "s.html"))
    assert "<boom>" not in html and "&lt;boom&gt;" in html
    assert "<script>x" not in html


def test_an_empty_history_renders_a_page(tmp_path: Path) -> None:
    empty = build_snapshot(
        now=NOW, journeys=[], states=[], samples=[], step_p95={}, last_steps={}, failures=[], probes=(), run_oks=[]
    )
    html = render(empty, target="t", link_for=file_links(tmp_path / "s.html"))
    assert 'data-status="green"' in html and "no runs yet" in html and 'data-testid="no-failures"' in html


def test_chart_has_one_bar_per_bucket_coloured_by_failures() -> None:
    samples = [
        JourneySample(journey="s", at=NOW - 10, duration_ms=100.0, verdict="pass"),
        JourneySample(journey="s", at=NOW - 3600, duration_ms=200.0, verdict="fail"),
    ]
    svg = chart_svg("s", chart_buckets(samples, now=NOW))
    assert svg.count("<rect") == 96
    assert svg.count('fill="#cc1f1a"') == 1 and svg.count('fill="#1f9d55"') == 1
    assert "1 runs, 1 failed, p95 200 ms" in svg


def test_metrics_parse_and_carry_the_snapshot(tmp_path: Path) -> None:
    text = exposition(snapshot(tmp_path)).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert values[("gauntlet_journey_success", (("journey", "seller"),))] == 0.0
    assert values[("gauntlet_journey_success", (("journey", "returning_user"),))] == 1.0
    assert values[("gauntlet_journey_duration_seconds", (("journey", "seller"),))] == 2.5
    assert values[("gauntlet_journey_step_duration_seconds", (("journey", "seller"), ("step", "publish")))] == 2.4
    assert values[("gauntlet_journey_uptime_ratio", (("journey", "returning_user"), ("window", "24h")))] == 1.0
    assert values[("gauntlet_monitor_status", (("check", "seller"),))] == 2.0
    assert values[("gauntlet_monitor_status", (("check", "platform_health"),))] == 1.0
    assert values[("gauntlet_monitor_overall_status", ())] == 2.0
    assert values[("gauntlet_monitor_probe_status", (("probe", "health"),))] == 1.0
    assert values[("gauntlet_monitor_last_run_timestamp_seconds", ())] == NOW - 60
