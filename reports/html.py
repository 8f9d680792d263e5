"""One self-contained HTML report: inline CSS, charts as embedded SVG images, no scripts, no network.

A Content-Security-Policy forbids every fetch except `data:` images, so the
file renders the same from a CI artifact, an e-mail or a laptop offline, and a
test can prove it needs nothing else. Elements tests and people look for carry
`data-testid`: `run-verdict`, `summary`, `contents`, `culprits`, `slo-verdict-table`,
and `chart-*` on every chart.

Reading order: a summary card and the contents first, then what failed (each
culprit with its message), then one section per area. Sections and entries fold
(`<details>`, no script needed): what failed is open, what passed is closed.
A drill counts time from one origin, the fault's start, in its header, its
chart and its journal; probes failing while the fault is on are shown as
expected, not as failures.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from gauntlet import __version__
from gauntlet.reports import charts
from gauntlet.reports.checks import Check, show
from gauntlet.reports.entries import LoadError
from gauntlet.reports.formatting import (
    drill_origin,
    expected_during_fault,
    ms,
    objective,
    percent,
    rate,
    rate_limit_hint,
    seconds,
    since,
    since_origin,
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
.card{display:flex;flex-wrap:wrap;gap:8px 28px;align-items:baseline;background:#fff;border:1px solid #e0e0e0;
border-left:6px solid #2e7d32;border-radius:6px;padding:10px 16px;margin:8px 0 12px}
.card.failed{border-left-color:#c62828;background:#fff}.card .big{font-size:20px;font-weight:700}
.card .n{font-variant-numeric:tabular-nums;font-weight:600}
nav.contents{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:6px 16px;margin:0 0 12px}
nav.contents ul{margin:4px 0;padding-left:18px;columns:2}nav.contents li{margin:2px 0}
details.fold{margin:10px 0}details.fold>summary{cursor:pointer;list-style-position:outside}
details.fold>summary>h2,details.fold>summary>h3{display:inline-block;margin:8px 0 4px;border:0}
details.fold.section>summary{border-bottom:1px solid #ddd}
tr.expected td{background:#fff8e1}.exp{color:#8d6e00;font-weight:600}
.hint{color:#5d4037;font-style:italic}ul.errors{margin:2px 0 6px}
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


def _fold(anchor: str, title: str, body: str, *, open_: bool, level: int = 2, section: bool = False) -> str:
    """A part of the report that folds (`<details>`: no script); `title` is already-escaped HTML."""
    classes = "fold section" if section else "fold"
    return (
        f'<details class="{classes}" id="{escape(anchor)}"{" open" if open_ else ""}>'
        f"<summary><h{level}>{title}</h{level}></summary>{body}</details>"
    )


def _failed_count(items: Sequence[LoadEntry | DrillEntry | JourneyEntry]) -> int:
    return sum(1 for item in items if item.culprits())


def _summary(run: Run) -> str:
    """The card at the top: the verdict and, per area, how many ran and how many failed."""
    verdict = run.verdict
    parts = [f'<span class="big">{verdict.upper()}</span>']
    culprits = len(run.culprits())
    parts.append(f'<span><span class="n">{culprits}</span> culprit{"" if culprits == 1 else "s"}</span>')
    for label, items in (("load runs", run.load), ("drills", run.drills), ("journeys", run.journeys)):
        if items:
            failed = _failed_count(items)
            parts.append(f'<span>{label} <span class="n">{len(items) - failed}/{len(items)}</span> passed</span>')
    for label, checklist in (("smoke", run.smoke), ("acceptance", run.acceptance)):
        if checklist is not None:
            good = sum(1 for c in checklist.checks if c.passed)
            parts.append(f'<span>{label} <span class="n">{good}/{len(checklist.checks)}</span> checks</span>')
    if run.slos:
        good = sum(1 for s in run.slos if s.passed)
        parts.append(f'<span>SLOs <span class="n">{good}/{len(run.slos)}</span> met</span>')
    parts.append(f"<span>took {seconds(run.duration_s)}</span>")
    return f'<section class="card {verdict}" data-testid="summary">{"".join(parts)}</section>'


def _contents(run: Run) -> str:
    """Links to every section and entry, each with its verdict."""

    def link(anchor: str, text: str, passed: bool | None = None) -> str:
        mark = "" if passed is None else f" {_verdict_cell(passed)}"
        return f'<li><a href="#{escape(anchor)}">{escape(text)}</a>{mark}</li>'

    items = [link("culprits", "What failed" if run.culprits() else "Verdict")]
    items.append(link("slos", "SLO verdicts", all(s.passed for s in run.slos)))
    if run.checks:
        items.append(link("run-checks", "Run checks", all(c.passed for c in run.checks)))
    items += [link(f"load-{i}", f"load {e.name}", not e.culprits()) for i, e in enumerate(run.load)]
    items += [link(f"drill-{i}", f"drill {d.name}", not d.culprits()) for i, d in enumerate(run.drills)]
    items += [link(f"journey-{i}", f"journey {j.name}", not j.culprits()) for i, j in enumerate(run.journeys)]
    if run.smoke:
        items.append(link("smoke", "Smoke test", not run.smoke.culprits()))
    if run.acceptance:
        items.append(link("acceptance", "Acceptance", not run.acceptance.culprits()))
    if run.prove:
        items.append(link("prove", "Prove"))
    return f'<nav class="contents" data-testid="contents"><b>Contents</b><ul>{"".join(items)}</ul></nav>'


def _error_items(errors: Sequence[LoadError], limit: int = 5) -> str:
    """The most frequent failure messages, each with what to do about a rate limit."""
    items = []
    for e in errors[:limit]:
        hint = rate_limit_hint(e.error)
        hint_html = f'<br><span class="hint">{escape(hint)}</span>' if hint else ""
        items.append(f"<li><code>{escape(e.name)}</code> x{e.occurrences:,}: {escape(e.error)}{hint_html}</li>")
    return f'<ul class="errors">{"".join(items)}</ul>' if items else ""


def _culprits(run: Run) -> str:
    culprits = run.culprits()
    if not culprits:
        return (
            '<section id="culprits" data-testid="culprits">'
            "<p>Every threshold, invariant and journey step passed.</p></section>"
        )
    items = []
    errors_shown: set[str] = set()
    by_load = {e.name: e for e in run.load}
    for c in culprits:
        extra = ""
        entry = by_load.get(c.entry) if c.section == "load" else None
        if entry is not None and entry.errors and entry.name not in errors_shown:
            errors_shown.add(entry.name)
            extra = "most frequent failures:" + _error_items(entry.errors, limit=3)
        items.append(f"<li>{escape(c.sentence())}{'<br>' + extra if extra else ''}</li>")
    return (
        f'<section class="culprits" id="culprits" data-testid="culprits"><h2>What failed ({len(culprits)})</h2>'
        f"<ul>{''.join(items)}</ul></section>"
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
    body = html_table(header, rows, testid="slo-verdict-table") + chart
    return _fold("slos", "SLO verdicts", body, open_=not all(s.passed for s in run.slos), section=True)


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
    errors = ""
    if entry.errors:
        errors = f'<div data-testid="load-errors-{i}"><b>Failures by message</b>{_error_items(entry.errors)}</div>'
    body = (
        f"{_checks_table(entry.checks, 'threshold')}{errors}{_breakpoint(entry, i)}{html_table(header, rows)}"
        f"{_chart(charts.load_latency_chart(entry), f'chart-load-latency-{i}', f'{entry.name} latency')}"
        f"{_chart(charts.load_throughput_chart(entry), f'chart-load-throughput-{i}', f'{entry.name} throughput')}"
        f"{_chart(charts.load_error_chart(entry), f'chart-load-errors-{i}', f'{entry.name} error rate')}"
    )
    failed = bool(entry.culprits())
    title = f"load {escape(entry.name)}: {_verdict_cell(not failed)}"
    return _fold(f"load-{i}", title, body, open_=failed, level=3)


def _breakpoint(entry: LoadEntry, i: int) -> str:
    """A breakpoint climb: the knee in one sentence, one row per step, and the rate chart with the knee marked."""
    climb = entry.breakpoint
    if climb is None:
        return ""
    rows = [
        (
            [
                f"{s.rate_per_s:g}/s" + (" (knee)" if s.rate_per_s == climb.knee_per_s else ""),
                f"{s.requests:,}",
                percent(s.error_rate),
                ms(s.p95_ms),
                ms(s.p99_ms),
                escape(s.verdict.replace("_", " ") + (f": {s.missed[0]}" if s.missed else "")),
            ],
            s.verdict != "held",
        )
        for s in climb.steps
    ]
    header = ["rate", "requests", "errors", "p95", "p99", "step"]
    chart = charts.load_breakpoint_chart(entry)
    return (
        f'<p data-testid="breakpoint-knee-{i}"><b>Breakpoint</b>: {escape(climb.summary)}</p>'
        f"{html_table(header, rows, testid=f'breakpoint-steps-{i}')}"
        f"{_chart(chart, f'chart-load-breakpoint-{i}', f'{entry.name} latency and errors by arrival rate')}"
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
    _, origin = drill_origin(drill)
    facts = (
        f"<p>status <b>{escape(drill.status)}</b>{' (deviated)' if drill.deviated else ''}"
        f" · time to detect <b>{seconds(time_to_detect(drill))}</b>"
        f" · time to recover <b>{seconds(time_to_recover(drill))}</b>"
        f' · <span data-testid="drill-origin-{i}">times count from the {origin} (t = 0 on the chart)</span></p>'
    )
    if drill.reasons:
        facts += "<ul>" + "".join(f"<li>{escape(r)}</li>" for r in drill.reasons) + "</ul>"
    rows = []
    expected_count = unexpected = 0
    for a in drill.activities:
        expected = expected_during_fault(drill, a)
        expected_count += expected
        unexpected += a.status == "failed" and not expected
        status = (
            '<span class="exp">expected during fault</span>' if expected else _verdict_cell(a.status == "succeeded")
        )
        cells = [escape(a.phase), escape(a.kind), escape(a.name), _at(since_origin(drill, a.started_at)), status]
        rows.append(([*cells, escape(a.output or "")], a.status == "failed" and not expected, expected))
    journal = ""
    if rows:
        table = _activities_table(rows, origin)
        note = f", {expected_count} probe failures expected during the fault" if expected_count else ""
        title = f"journal: {len(rows)} activities{note}"
        journal = _fold(f"drill-{i}-journal", escape(title), table, open_=unexpected > 0, level=3)
    body = (
        f"<p>{escape(drill.description)}</p>{facts}"
        f"{_chart(charts.drill_timeline_chart(drill), f'chart-drill-timeline-{i}', f'drill {drill.name} timeline')}"
        f"{_checks_table(drill.invariants, 'invariant')}{_checks_table(drill.checks, 'check')}{journal}"
    )
    failed = bool(drill.culprits())
    return _fold(f"drill-{i}", f"drill {escape(drill.name)}: {_verdict_cell(not failed)}", body, open_=failed, level=3)


def _at(offset: float | None) -> str:
    return "-" if offset is None else f"{offset:+.1f} s"


def _activities_table(rows: Sequence[tuple[Sequence[str], bool, bool]], origin: str) -> str:
    """The drill's journal: failed rows red, expected-during-fault rows amber."""
    header = ["phase", "kind", "name", f"at (from {origin})", "status", "output"]
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        f"<tr{' class=bad' if bad else ' class=expected' if expected else ''}>"
        + "".join(f"<td>{c}</td>" for c in cells)
        + "</tr>"
        for cells, bad, expected in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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
    body = (
        f"{waterfall}{html_table(['step', 'at', 'duration', 'verdict', 'error', 'artifacts'], rows)}"
        f"{_checks_table(journey.checks, 'check')}"
    )
    failed = bool(journey.culprits())
    title = f"journey {escape(journey.name)}: {_verdict_cell(not failed)}"
    return _fold(f"journey-{i}", title, body, open_=failed, level=3)


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
    title = f"Prove: the gate against seeded faults ({escape(entry.name)})"
    return _fold("prove", title, f"{score}{faults}{cleans}", open_=True, section=True)


def report_html(run: Run) -> str:
    """The whole report as one HTML document."""
    parts = [_header(run), _summary(run), _contents(run), _culprits(run), _slos(run)]
    if run.checks:
        failed = not all(c.passed or c.waived for c in run.checks)
        parts.append(_fold("run-checks", "Run checks", _checks_table(run.checks, "check"), open_=failed, section=True))
    if run.load:
        body = _merged(run) + "".join(_load(e, i) for i, e in enumerate(run.load))
        parts.append(_fold("load", "Load", body, open_=_failed_count(run.load) > 0, section=True))
    if run.drills:
        body = "".join(_drill(d, i) for i, d in enumerate(run.drills))
        parts.append(_fold("drills", "Drills", body, open_=_failed_count(run.drills) > 0, section=True))
    if run.journeys:
        body = "".join(_journey(j, i) for i, j in enumerate(run.journeys))
        parts.append(_fold("journeys", "Journeys", body, open_=_failed_count(run.journeys) > 0, section=True))
    if run.smoke:
        smoke = _checks_table(run.smoke.checks, "check")
        parts.append(_fold("smoke", "Smoke test", smoke, open_=bool(run.smoke.culprits()), section=True))
    if run.acceptance:
        table = _checks_table(run.acceptance.checks, "rule")
        failed = bool(run.acceptance.culprits())
        parts.append(_fold("acceptance", "Acceptance: the seeds' rules", table, open_=failed, section=True))
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
