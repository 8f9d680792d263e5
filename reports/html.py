"""One self-contained HTML report: inline CSS, charts as embedded SVG images, no scripts, no network.

A Content-Security-Policy forbids every fetch except `data:` images, so the
file renders the same from a CI artifact, an e-mail or a laptop offline, and a
test can prove it needs nothing else. Elements tests and people look for carry
`data-testid`: `run-verdict`, `culprits`, `slo-verdict-table`, and `chart-*`
on every chart.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from gauntlet import __version__
from gauntlet.reports import charts
from gauntlet.reports.checks import Check, show
from gauntlet.reports.formatting import (
    ms,
    objective,
    percent,
    rate,
    seconds,
    since,
    time_to_detect,
    time_to_recover,
    verdict_word,
)
from gauntlet.reports.histogram import merge_by_name
from gauntlet.reports.jsonfields import iso
from gauntlet.reports.model import SCHEMA, DrillEntry, JourneyEntry, LoadEntry, ProveEntry, Run

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#212121;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:20px 0 6px}
.meta{color:#555}.verdict{padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}
.passed{background:#2e7d32}.failed{background:#c62828}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;background:#fff}
th,td{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.bad td{background:#ffebee}.ok{color:#2e7d32;font-weight:600}.no{color:#c62828;font-weight:600}
.culprits{background:#ffebee;border-left:4px solid #c62828;padding:8px 16px}
.culprits li{margin:4px 0}code{background:#eee;padding:0 3px;border-radius:3px}
img.chart{display:block;max-width:100%;height:auto;margin:8px 0;background:#fff;border:1px solid #eee}
footer{color:#777;margin-top:32px;font-size:12px}
"""


def _chart(svg: str, testid: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<img class="chart" data-testid="{escape(testid)}" alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}">'
    )


def html_table(header: Sequence[str], rows: Sequence[tuple[Sequence[str], bool]], *, testid: str = "") -> str:
    """Rows of already-escaped cells; a row flagged bad is highlighted."""
    attr = f' data-testid="{escape(testid)}"' if testid else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        f"<tr{' class=bad' if bad else ''}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>" for cells, bad in rows
    )
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _verdict_cell(passed: bool) -> str:
    return f'<span class="{"ok" if passed else "no"}">{verdict_word(passed)}</span>'


def _checks_table(checks: Sequence[Check], what: str) -> str:
    if not checks:
        return ""
    rows = [
        (
            [
                escape(c.name),
                escape(show(c.expected)),
                escape(show(c.observed)),
                '<span class="no">SKIPPED</span>' if c.skipped else _verdict_cell(c.passed),
                escape(c.message),
            ],
            not c.passed and not c.waived,
        )
        for c in checks
    ]
    return html_table([what, "expected", "observed", "verdict", "message"], rows)


def _header(run: Run) -> str:
    verdict = run.verdict
    return (
        f"<header><h1>Gauntlet run <code>{escape(run.id)}</code> "
        f'<span class="verdict {verdict}" data-testid="run-verdict">{verdict.upper()}</span></h1>'
        f'<p class="meta">profile <b>{escape(run.profile or "-")}</b> · target <b>{escape(run.target or "-")}</b>'
        f" · {escape(iso(run.started_at))} → {escape(iso(run.finished_at))} ({seconds(run.duration_s)})</p></header>"
    )


def _culprits(run: Run) -> str:
    culprits = run.culprits()
    if not culprits:
        return '<section data-testid="culprits"><p>Every threshold, invariant and journey step passed.</p></section>'
    items = "".join(f"<li>{escape(c.sentence())}</li>" for c in culprits)
    return (
        f'<section class="culprits" data-testid="culprits"><h2>What failed ({len(culprits)})</h2>'
        f"<ul>{items}</ul></section>"
    )


def _slos(run: Run) -> str:
    rows = [
        (
            [
                escape(s.name),
                escape(s.entry),
                objective(s),
                f"{s.good:,} / {s.total:,}",
                rate(s.burn_rate),
                percent(s.budget_consumed),
                escape(", ".join(s.alerts) or "-"),
                _verdict_cell(s.passed),
            ],
            not s.passed,
        )
        for s in run.slos
    ]
    if not rows:
        rows = [(["no SLO budgets in this result", "", "", "", "", "", "", ""], False)]
    header = [
        "SLO",
        "entry",
        "objective",
        "good / total",
        "burn rate",
        "30-day budget burned",
        "alerts if sustained",
        "verdict",
    ]
    chart = _chart(charts.slo_burn_chart(run.slos), "chart-slo-burn", "SLO burn rates") if run.slos else ""
    return f"<section><h2>SLO verdicts</h2>{html_table(header, rows, testid='slo-verdict-table')}{chart}</section>"


def _load(entry: LoadEntry, i: int) -> str:
    stats = [("overall", entry.overall)] if entry.overall else []
    stats += sorted(entry.requests.items())
    rows = [
        (
            [
                escape(name),
                f"{s.count:,}",
                f"{s.failures:,}",
                percent(s.error_rate),
                f"{s.rps:.1f}",
                ms(s.p50_ms),
                ms(s.p90_ms),
                ms(s.p95_ms),
                ms(s.p99_ms),
                ms(s.p999_ms),
                ms(s.max_ms),
            ],
            False,
        )
        for name, s in stats
        if s is not None
    ]
    header = ["request", "count", "failures", "errors", "rps", "p50", "p90", "p95", "p99", "p99.9", "max"]
    return (
        f'<section id="load-{i}"><h3>load {escape(entry.name)}: {_verdict_cell(not entry.culprits())}</h3>'
        f"{_checks_table(entry.checks, 'threshold')}{html_table(header, rows)}"
        f"{_chart(charts.load_latency_chart(entry), f'chart-load-latency-{i}', f'{entry.name} latency')}"
        f"{_chart(charts.load_throughput_chart(entry), f'chart-load-throughput-{i}', f'{entry.name} throughput')}"
        f"{_chart(charts.load_error_chart(entry), f'chart-load-errors-{i}', f'{entry.name} error rate')}</section>"
    )


def _merged(run: Run) -> str:
    """Percentiles of each request name over every load entry: merged histograms, not averaged percentiles."""
    named = [(name, s.hdr) for e in run.load for name, s in e.requests.items() if s.hdr]
    if len(run.load) < 2 or not named:
        return ""
    rows = [
        (
            [
                escape(name),
                f"{p.count:,}",
                ms(p.p50_ms),
                ms(p.p90_ms),
                ms(p.p95_ms),
                ms(p.p99_ms),
                ms(p.p999_ms),
                ms(p.max_ms),
            ],
            False,
        )
        for name, p in merge_by_name(named).items()
    ]
    header = ["request", "count", "p50", "p90", "p95", "p99", "p99.9", "max"]
    return f"<h3>All {len(run.load)} load runs merged</h3>{html_table(header, rows, testid='merged-percentiles')}"


def _drill(drill: DrillEntry, i: int) -> str:
    facts = (
        f"<p>status <b>{escape(drill.status)}</b>{' (deviated)' if drill.deviated else ''}"
        f" · time to detect <b>{seconds(time_to_detect(drill))}</b>"
        f" · time to recover <b>{seconds(time_to_recover(drill))}</b></p>"
    )
    if drill.reasons:
        facts += "<ul>" + "".join(f"<li>{escape(r)}</li>" for r in drill.reasons) + "</ul>"
    activities = [
        (
            [
                escape(a.phase),
                escape(a.kind),
                escape(a.name),
                seconds(since(drill.started_at, a.started_at)),
                _verdict_cell(a.status == "succeeded"),
                escape(a.output or ""),
            ],
            a.status == "failed",
        )
        for a in drill.activities
    ]
    journal = html_table(["phase", "kind", "name", "at", "status", "output"], activities) if activities else ""
    return (
        f'<section id="drill-{i}"><h3>drill {escape(drill.name)}: {_verdict_cell(not drill.culprits())}</h3>'
        f"<p>{escape(drill.description)}</p>{facts}"
        f"{_chart(charts.drill_timeline_chart(drill), f'chart-drill-timeline-{i}', f'drill {drill.name} timeline')}"
        f"{_checks_table(drill.invariants, 'invariant')}{_checks_table(drill.checks, 'check')}{journal}</section>"
    )


def _journey(journey: JourneyEntry, i: int) -> str:
    def artifacts(paths: Sequence[str | None]) -> str:
        return " ".join(f'<a href="{escape(p)}">{escape(p)}</a>' for p in paths if p)

    rows = [
        (
            [
                escape(s.name),
                seconds(since(journey.started_at, s.started_at)),
                ms(s.duration_ms),
                _verdict_cell(s.ok),
                escape(s.error or ""),
                artifacts([s.screenshot, s.trace]),
            ],
            not s.ok,
        )
        for s in journey.steps
    ]
    waterfall = _chart(charts.journey_waterfall_chart(journey), f"chart-journey-waterfall-{i}", f"{journey.name}")
    return (
        f'<section id="journey-{i}"><h3>journey {escape(journey.name)}: {_verdict_cell(not journey.culprits())}</h3>'
        f"{waterfall}{html_table(['step', 'at', 'duration', 'verdict', 'error', 'artifacts'], rows)}"
        f"{_checks_table(journey.checks, 'check')}</section>"
    )


def _prove(entry: ProveEntry) -> str:
    """`gauntlet prove`: one row per seeded fault (caught by what), then the clean runs."""
    expected = {True: "yes", False: "no", None: "-"}
    rows = [
        (
            [
                f"<code>{escape(f.name)}</code>",
                escape(f.protects),
                f'<span class="{"ok" if f.verdict == "caught" else "no"}">{escape(f.verdict.upper())}</span>',
                escape(", ".join(f.caught_by) if f.verdict == "caught" else (f.detail or "-")),
                escape(expected[f.expected_caught]),
                seconds(f.seconds),
            ],
            f.verdict != "caught",
        )
        for f in entry.faults
    ]
    faults = html_table(
        ["fault", "protects", "verdict", "caught by", "by an expected check", "time"], rows, testid="prove-faults"
    )
    clean = [
        (
            [
                str(r.index),
                _verdict_cell(not r.false_alarm),
                escape(", ".join(r.culprits) or r.detail or "-"),
                seconds(r.seconds),
            ],
            r.false_alarm,
        )
        for r in entry.clean_runs
    ]
    cleans = html_table(["clean run", "verdict", "false alarm culprits", "time"], clean, testid="prove-clean-runs")
    alarms = f"false alarms: {len(entry.false_alarms)} of {len(entry.clean_runs)} clean runs"
    score = (
        f"<p>detection score {entry.caught}/{len(entry.faults)} ({percent(entry.score)}, "
        f"needed {percent(entry.min_score)}) · {alarms}</p>"
    )
    title = f"<h2>Prove: the gate against seeded faults ({escape(entry.name)})</h2>"
    return f"<section id='prove'>{title}{score}{faults}{cleans}</section>"


def report_html(run: Run) -> str:
    """The whole report as one HTML document."""
    parts = [_header(run), _culprits(run), _slos(run)]
    if run.checks:
        parts.append(f"<section><h2>Run checks</h2>{_checks_table(run.checks, 'check')}</section>")
    if run.load:
        parts.append("<h2>Load</h2>" + _merged(run) + "".join(_load(e, i) for i, e in enumerate(run.load)))
    if run.drills:
        parts.append("<h2>Drills</h2>" + "".join(_drill(d, i) for i, d in enumerate(run.drills)))
    if run.journeys:
        parts.append("<h2>Journeys</h2>" + "".join(_journey(j, i) for i, j in enumerate(run.journeys)))
    if run.smoke:
        parts.append(f"<section id='smoke'><h2>Smoke test</h2>{_checks_table(run.smoke.checks, 'check')}</section>")
    if run.acceptance:
        table = _checks_table(run.acceptance.checks, "rule")
        parts.append(f"<section id='acceptance'><h2>Acceptance: the seeds' rules</h2>{table}</section>")
    if run.prove:
        parts.append(_prove(run.prove))
    parts.append(f"<footer>gauntlet {escape(__version__)} · {SCHEMA}</footer>")
    return page(f"Gauntlet {run.id}: {run.verdict}", "".join(parts))


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML document around already-escaped `body`."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{escape(title)}</title><style>{_CSS}</style></head>'
        f"<body><main>{body}</main></body></html>\n"
    )
