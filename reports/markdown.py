"""A short Markdown summary, for a CI job summary ($GITHUB_STEP_SUMMARY) or a pull-request comment."""

from __future__ import annotations

from collections.abc import Sequence

from gauntlet.reports.formatting import (
    ms,
    objective,
    percent,
    rate,
    seconds,
    time_to_detect,
    time_to_recover,
    verdict_word,
)
from gauntlet.reports.jsonfields import iso
from gauntlet.reports.model import ProveEntry, Run

MAX_CULPRITS = 20  # a PR comment that scrolls forever helps nobody; the HTML report has them all


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell: no pipes breaking columns, no newlines breaking rows."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]


def summary_markdown(run: Run) -> str:
    """The verdict, every culprit (up to 20), and one table per section."""
    culprits = run.culprits()
    icon = "✅" if not culprits else "❌"
    lines = [
        f"## {icon} Gauntlet {run.verdict}: run `{run.id}`",
        "",
        f"Profile `{run.profile or '-'}` against `{run.target or '-'}`, {iso(run.started_at)} "
        f"({seconds(run.duration_s)}).",
        "",
    ]
    if culprits:
        lines.append(f"**{len(culprits)} failure{'s' if len(culprits) != 1 else ''}:**")
        lines.append("")
        lines += [f"- {c.sentence()}" for c in culprits[:MAX_CULPRITS]]
        if len(culprits) > MAX_CULPRITS:
            lines.append(f"- ... and {len(culprits) - MAX_CULPRITS} more (see report.html or junit.xml)")
        lines.append("")
    if run.slos:
        lines += ["### SLOs", ""]
        lines += table(
            ["SLO", "entry", "objective", "good / total", "burn rate", "30-day budget burned", "alerts", "verdict"],
            [
                [
                    s.name,
                    s.entry,
                    objective(s),
                    f"{s.good:,} / {s.total:,}",
                    rate(s.burn_rate),
                    percent(s.budget_consumed),
                    ", ".join(s.alerts) or "-",
                    verdict_word(s.passed),
                ]
                for s in run.slos
            ],
        )
        lines.append("")
    if run.load:
        lines += ["### Load", ""]
        rows = []
        for e in run.load:
            o = e.overall
            rows.append(
                [
                    e.name,
                    f"{o.count:,}" if o else "-",
                    percent(o.error_rate) if o else "-",
                    f"{o.rps:.1f}" if o else "-",
                    ms(o.p95_ms) if o else "-",
                    ms(o.p99_ms) if o else "-",
                    f"{sum(c.passed for c in e.checks)}/{len(e.checks)}",
                    verdict_word(not e.culprits()),
                ]
            )
        lines += table(["run", "requests", "errors", "rps", "p95", "p99", "thresholds met", "verdict"], rows)
        lines.append("")
    if run.drills:
        lines += ["### Drills", ""]
        lines += table(
            ["drill", "status", "time to detect", "time to recover", "invariants held", "verdict"],
            [
                [
                    d.name,
                    d.status + (" (deviated)" if d.deviated else ""),
                    seconds(time_to_detect(d)),
                    seconds(time_to_recover(d)),
                    f"{sum(c.passed for c in d.invariants)}/{len(d.invariants)}",
                    verdict_word(not d.culprits()),
                ]
                for d in run.drills
            ],
        )
        lines.append("")
    if run.journeys:
        lines += ["### Journeys", ""]
        lines += table(
            ["journey", "steps ok", "duration", "verdict"],
            [
                [
                    j.name,
                    f"{sum(s.ok for s in j.steps)}/{len(j.steps)}",
                    seconds((j.finished_at - j.started_at).total_seconds()),
                    verdict_word(not j.culprits()),
                ]
                for j in run.journeys
            ],
        )
        lines.append("")
    if run.smoke:
        passed = sum(c.passed for c in run.smoke.checks)
        lines += [f"Smoke test: {passed}/{len(run.smoke.checks)} checks passed.", ""]
    if run.acceptance:
        checks = run.acceptance.checks
        skipped = sum(c.skipped for c in checks)
        failed = len(checks) - skipped - sum(c.passed for c in checks)
        lines += [
            f"Acceptance: {sum(c.passed for c in checks)}/{len(checks)} rules held, "
            f"{failed} failed, {skipped} skipped.",
            "",
        ]
    if run.prove:
        lines += _prove(run.prove)
    return "\n".join(lines).rstrip() + "\n"


def _prove(entry: ProveEntry) -> list[str]:
    lines = [f"### Prove ({entry.name})", ""]
    lines += table(
        ["fault", "protects", "verdict", "caught by", "seconds"],
        [
            [
                f.name,
                f.protects,
                f.verdict,
                ", ".join(f.caught_by) if f.verdict == "caught" else (f.detail or "-"),
                f"{f.seconds:.0f}",
            ]
            for f in entry.faults
        ],
    )
    lines += [
        "",
        f"detection score {entry.caught}/{len(entry.faults)} ({percent(entry.score)}), "
        f"false alarms: {len(entry.false_alarms)} of {len(entry.clean_runs)} clean runs",
        "",
    ]
    return lines
