"""The status page: one self-contained HTML document (inline CSS and SVG, no scripts, no fetches).

Rendered from a status snapshot by a pure function. Links to screenshots and traces go
through `link_for`, because the same page is written as a file (links relative to the
file) and served by `gauntlet monitor serve` (links under /artifacts/). Every interesting
element has a `data-testid`, so the journeys' own browser tests can read the page.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from urllib.parse import quote

from gauntlet.journeys.monitor.model import COLOUR_RANK, Colour
from gauntlet.journeys.monitor.stats import WINDOWS, ChartBucket, FailureRow, JourneySummary, StatusSnapshot

LinkFor = Callable[[str], str | None]
CHART_W, CHART_H, BAR_GAP = 576, 80, 1

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem auto;max-width:64rem;color:#1d2330;padding:0 1rem}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
table{border-collapse:collapse;width:100%;margin:.25rem 0 1rem}th,td{text-align:left;padding:.25rem .5rem;
border-bottom:1px solid #e3e6ec;vertical-align:top}th{font-weight:600;color:#5b6475}
.pill{display:inline-block;padding:.05rem .6rem;border-radius:1rem;color:#fff;font-weight:600}
.green{background:#1f9d55}.yellow{background:#c98a00}.red{background:#cc1f1a}
.banner{padding:1rem;border-radius:.5rem;color:#fff;font-size:1.2rem;font-weight:600}
.muted{color:#5b6475}.journey{border:1px solid #e3e6ec;border-radius:.5rem;padding:.75rem 1rem;margin:1rem 0}
svg{display:block;max-width:100%}code{font-size:12px}
.axis{display:flex;justify-content:space-between;color:#5b6475;font-size:12px;margin-bottom:.5rem}
"""
_AXIS = (
    '<div class="axis"><span>24 h ago</span><span>p95 duration per 15 min; red: failures</span><span>now</span></div>'
)
_BANNER = {"green": "All journeys passing", "yellow": "Degraded", "red": "Failing"}
_BAR = {"ok": "#1f9d55", "some": "#c98a00", "all": "#cc1f1a"}


def _time(at: float | None) -> str:
    if at is None:
        return "never"
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"


def _pill(colour: Colour, testid: str) -> str:
    return f'<span class="pill {colour}" data-testid="{escape(testid)}">{colour}</span>'


def chart_svg(name: str, buckets: Sequence[ChartBucket]) -> str:
    """Bars of p95 duration per time bucket (24 h), coloured by failures; empty buckets show a tick."""
    slot = CHART_W / max(1, len(buckets))
    peak = max((b.p95_ms or 0.0 for b in buckets), default=0.0) or 1.0
    bars = []
    for i, bucket in enumerate(buckets):
        x = i * slot
        if bucket.runs == 0:
            bars.append(f'<rect x="{x:.1f}" y="{CHART_H - 1}" width="{slot - BAR_GAP:.1f}" height="1" fill="#d5d9e0"/>')
            continue
        height = max(2.0, (bucket.p95_ms or 0.0) / peak * (CHART_H - 4))
        kind = "ok" if bucket.failures == 0 else ("all" if bucket.failures == bucket.runs else "some")
        title = f"{_time(bucket.start)}: {bucket.runs} runs, {bucket.failures} failed, p95 {_ms(bucket.p95_ms)}"
        bars.append(
            f'<rect x="{x:.1f}" y="{CHART_H - height:.1f}" width="{slot - BAR_GAP:.1f}" height="{height:.1f}" '
            f'fill="{_BAR[kind]}"><title>{escape(title)}</title></rect>'
        )
    label = f"{name}: p95 duration per 15 minutes over 24 h (peak {peak:.0f} ms); red = failures"
    return (
        f'<svg data-testid="chart-{escape(name)}" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {CHART_W} {CHART_H}" preserveAspectRatio="none" width="100%" height="{CHART_H}" '
        'xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(bars)}</svg>"
    )


def _journey(summary: JourneySummary, link_for: LinkFor) -> str:
    name = escape(summary.name)
    uptime = "".join(f'<td data-testid="uptime-{name}-{w}">{_percent(summary.uptime[w])}</td>' for w in WINDOWS)
    p95 = "".join(f"<td>{_ms(summary.duration_p95_ms[w])}</td>" for w in WINDOWS)
    head = "".join(f"<th>{w}</th>" for w in WINDOWS)
    last = summary.last
    last_line = (
        f"last run {_time(last.at)}: {escape(last.verdict)} in {_ms(last.duration_ms)}" if last else "no runs yet"
    )
    step_rows = []
    last_by_name = {s.name: s for s in summary.last_steps}
    step_names = [s.name for s in summary.last_steps] + [s for s in summary.step_p95_ms if s not in last_by_name]
    for step_name in step_names:
        step = last_by_name.get(step_name)
        windows = summary.step_p95_ms.get(step_name, {})
        state = "-" if step is None else ("skipped" if step.skipped else ("passed" if step.ok else "failed"))
        evidence = _evidence(step.screenshot if step else None, step.trace if step else None, link_for)
        step_rows.append(
            f'<tr data-testid="step-{name}-{escape(step_name)}"><td>{escape(step_name)}</td><td>{state}</td>'
            f"<td>{_ms(step.duration_ms if step else None)}</td><td>{_ms(step.budget_ms if step else None)}</td>"
            + "".join(f"<td>{_ms(windows.get(w))}</td>" for w in WINDOWS)
            + f"<td>{evidence}</td></tr>"
        )
    steps_table = (
        "<table><tr><th>step</th><th>last</th><th>time</th><th>budget</th>"
        + "".join(f"<th>p95 {w}</th>" for w in WINDOWS)
        + "<th>evidence</th></tr>"
        + "".join(step_rows)
        + "</table>"
        if step_rows
        else ""
    )
    return (
        f'<section class="journey" data-testid="journey-{name}">'
        f"<h2>{name} {_pill(summary.colour, f'status-{summary.name}')}</h2>"
        f'<p class="muted">{last_line}</p>'
        f"<table><tr><th></th>{head}</tr><tr><th>uptime</th>{uptime}</tr><tr><th>p95 duration</th>{p95}</tr></table>"
        f"{chart_svg(summary.name, summary.chart)}"
        f"{_AXIS}"
        f"{steps_table}</section>"
    )


def _evidence(screenshot: str | None, trace: str | None, link_for: LinkFor) -> str:
    parts = []
    for label, path in (("screenshot", screenshot), ("trace", trace)):
        if not path:
            continue
        href = link_for(path)
        testid = f'data-testid="{label}-link"'
        parts.append(f'<a href="{escape(href)}" {testid}>{label}</a>' if href else f"<code>{escape(path)}</code>")
    return " ".join(parts) or "-"


def _failure(row: FailureRow, link_for: LinkFor) -> str:
    rescued = " (a retry passed)" if row.rescued else ""
    return (
        f'<tr data-testid="failure"><td>{_time(row.at)}</td>'
        f'<td data-testid="failure-journey">{escape(row.journey)}</td>'
        f"<td>run {row.run_id}, attempt {row.attempt}{rescued}</td><td>{escape(row.summary)}</td>"
        f"<td>{_evidence(row.screenshot, row.trace, link_for)}</td></tr>"
    )


def file_links(page_path: Path) -> LinkFor:
    """Links for the page written to a file: relative to its folder, so the folder can move."""
    base = page_path.resolve().parent

    def link(path: str) -> str:
        rel = Path(os.path.relpath(Path(path).resolve(), base))
        return quote(rel.as_posix())

    return link


def served_links(artifacts_root: Path) -> LinkFor:
    """Links for `gauntlet monitor serve`: only files under the artifacts folder are served."""
    root = artifacts_root.resolve()

    def link(path: str) -> str | None:
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(root):
            return None
        return "/artifacts/" + quote(resolved.relative_to(root).as_posix())

    return link


def render(snapshot: StatusSnapshot, *, target: str, link_for: LinkFor, refresh_s: int = 60) -> str:
    """The whole page as one HTML string."""
    checks = sorted(snapshot.checks, key=lambda s: (-COLOUR_RANK[s.colour], s.check))
    check_rows = "".join(
        f'<tr data-testid="check-{escape(s.check)}"><td>{escape(s.check)}</td>'
        f"<td>{_pill(s.colour, f'check-status-{s.check}')}</td>"
        f"<td>since {_time(s.since)}</td><td>{s.failing_streak}</td><td>{escape('; '.join(s.reasons)) or '-'}</td></tr>"
        for s in checks
    )
    probe_rows = "".join(
        f'<tr data-testid="probe-{escape(p.name)}"><td>{escape(p.name)}</td><td>{escape(p.status)}</td>'
        f"<td>{_ms(p.duration_ms)}</td><td>{escape(p.detail) or '-'}</td></tr>"
        for p in snapshot.probes
    )
    failures = "".join(_failure(f, link_for) for f in snapshot.failures)
    overall_uptime = " ".join(
        f'{w}: <b data-testid="overall-uptime-{w}">{_percent(snapshot.overall_uptime[w])}</b>' for w in WINDOWS
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{refresh_s}"><title>Gauntlet status: {snapshot.overall}</title>
<style>{_CSS}</style></head><body>
<h1>Gauntlet synthetic monitor</h1>
<p class="muted">target <code data-testid="target">{escape(target)}</code> - last run
<span data-testid="last-run">{_time(snapshot.last_run_at)}</span> - page generated {_time(snapshot.generated_at)}</p>
<div class="banner {snapshot.overall}" data-testid="overall-status" data-status="{snapshot.overall}">
{_BANNER[snapshot.overall]} ({snapshot.overall})</div>
<p>Uptime, all journeys and health: {overall_uptime}</p>
<h2>Checks</h2>
<table data-testid="checks">
<tr><th>check</th><th>status</th><th>since</th><th>consecutive failures</th><th>why</th></tr>
{check_rows or '<tr><td colspan="5">no runs yet</td></tr>'}</table>
<h2>Health probes (latest run)</h2>
<table data-testid="probes"><tr><th>probe</th><th>status</th><th>time</th><th>detail</th></tr>
{probe_rows or '<tr><td colspan="4">none</td></tr>'}</table>
{"".join(_journey(j, link_for) for j in snapshot.journeys)}
<h2>Last failures</h2>
<table data-testid="failures"><tr><th>when</th><th>journey</th><th>run</th><th>what failed</th><th>evidence</th></tr>
{failures or '<tr><td colspan="5" data-testid="no-failures">none in history</td></tr>'}</table>
<p class="muted">Traces open with <code>playwright show-trace FILE</code>.</p>
</body></html>
"""
