"""What a person sees during and after a run: rich renderables and plain lines, no I/O."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from gauntlet.load.results import LoadResult, RequestStats
from gauntlet.reports.formatting import rate_limit_hint

# `aborted.reason` of a run cut short by Ctrl-C or SIGTERM (then ` (SIGTERM)` follows).
INTERRUPTED = "interrupted"


def progress_line(p: dict[str, Any]) -> str:
    """One line of live progress (for logs and non-terminals)."""
    requests = int(p.get("requests", 0))
    failures = int(p.get("failures", 0))
    rate = failures / requests * 100 if requests else 0.0
    line = (
        f"{p.get('t_s', 0):>7.1f}s  users {p.get('users', 0):>6}  rps {p.get('rps', 0):>8.1f}  "
        f"p95 {p.get('p95_ms', 0):>8.1f} ms  errors {failures} ({rate:.2f} %)"
    )
    if p.get("aborted"):
        line += f"  ABORTING: {p['aborted']}"
    return line


def progress_panel(p: dict[str, Any] | None, title: str) -> Table:
    table = Table(title=title, show_header=True, header_style="bold", expand=False)
    for column in ("elapsed", "users", "rps", "p95", "requests", "errors"):
        table.add_column(column, justify="right")
    if p is None:
        table.add_row("starting", "-", "-", "-", "-", "-")
        return table
    requests = int(p.get("requests", 0))
    failures = int(p.get("failures", 0))
    rate = failures / requests * 100 if requests else 0.0
    table.add_row(
        f"{p.get('t_s', 0):.0f} s",
        str(p.get("users", 0)),
        f"{p.get('rps', 0):.1f}",
        f"{p.get('p95_ms', 0):.1f} ms",
        str(requests),
        Text(f"{failures} ({rate:.2f} %)", style="red" if failures else ""),
    )
    return table


def _row(name: str, s: RequestStats) -> list[str]:
    return [
        name,
        str(s["requests"]),
        f"{s['error_rate'] * 100:.2f} %",
        f"{s['rps']:.1f}",
        f"{s['p50_ms']:.1f}",
        f"{s['p90_ms']:.1f}",
        f"{s['p95_ms']:.1f}",
        f"{s['p99_ms']:.1f}",
        f"{s['p99_9_ms']:.1f}",
        f"{s['max_ms']:.1f}",
    ]


def summary_table(result: LoadResult) -> Table:
    run = result["run"]
    table = Table(title=f"{run['profile']} / {run['scenario']} against {run['target']} ({run['duration_s']:.1f} s)")
    for column in ("request", "count", "errors", "rps", "p50", "p90", "p95", "p99", "p99.9", "max (ms)"):
        if column == "request":
            table.add_column(column, justify="left", no_wrap=True, overflow="fold")
        else:
            table.add_column(column, justify="right")
    for name, stats in result["requests"].items():
        table.add_row(*_row(name, stats))
    table.add_row(*_row("overall", result["overall"]), style="bold")
    return table


def verdict_lines(result: LoadResult) -> list[Text]:
    lines = []
    for v in result["thresholds"]:
        style = "green" if v["passed"] else "red"
        lines.append(Text(("PASS " if v["passed"] else "FAIL ") + v["text"], style=style))
    arrivals = result["arrivals"]
    if arrivals is not None:
        lines.append(
            Text(
                f"arrivals: {arrivals['scheduled']} scheduled, {arrivals['on_time']} on time, "
                f"{arrivals['late']} late, {arrivals['missed']} could not start "
                f"(worst start delay {arrivals['max_lateness_ms']:.1f} ms)",
                style="yellow" if arrivals["late"] or arrivals["missed"] else "",
            )
        )
    if result["aborted"]:
        lines.append(Text(f"aborted at {result['aborted']['at_s']:.1f} s: {result['aborted']['reason']}", style="red"))
    checks = result["checks"]
    if not checks["consistent"]:
        lines.append(
            Text(
                f"warning: HDR recorded {checks['hdr_requests']} requests, Locust counted {checks['locust_requests']}",
                style="yellow",
            )
        )
    report = result.get("baseline")
    if report is not None:
        for c in report["comparisons"]:
            style = {"regressed": "red", "ok": "green"}.get(c["status"], "yellow")
            tag = {"regressed": "FAIL ", "ok": "PASS "}.get(c["status"], "NOTE ")
            lines.append(Text(tag + "baseline " + c["text"], style=style))
        for warning in report["warnings"]:
            lines.append(Text(f"warning: baseline: {warning}", style="yellow"))
    errors = sorted(result["errors"], key=lambda e: -e["occurrences"])
    for error in errors[:5]:
        lines.append(Text(f"error x{error['occurrences']}: {error['name']}: {error['error'][:160]}", style="dim"))
    hint = next((h for h in (rate_limit_hint(e["error"]) for e in errors) if h), None)
    if hint is not None:
        lines.append(Text(hint, style="yellow"))
    aborted = result["aborted"]
    if aborted is not None and aborted["reason"].startswith(INTERRUPTED):
        lines.append(Text("INTERRUPTED: partial results, not judged", style="bold yellow"))
        return lines
    regressed = report is not None and any(c["status"] == "regressed" for c in report["comparisons"])
    missed = result["aborted"] is not None or not all(v["passed"] for v in result["thresholds"])
    failed = [what for what, bad in (("SLO MISSED", missed), ("P95 REGRESSED", regressed)) if bad]
    verdict = " and ".join(failed) if failed else "all thresholds met"
    lines.append(Text(verdict, style="bold red" if failed else "bold green"))
    return lines


def phase_figure(p: dict[str, Any], total_s: float | None) -> str:
    """A load run's progress in one short cell (the gate's live table): users, rps, p95, errors, time left."""
    requests = int(p.get("requests", 0))
    failures = int(p.get("failures", 0))
    rate = failures / requests * 100 if requests else 0.0
    parts = [
        f"users {p.get('users', 0)}",
        f"{float(p.get('rps', 0)):.1f} rps",
        f"p95 {float(p.get('p95_ms', 0)):.0f} ms",
        f"errors {failures} ({rate:.1f} %)",
    ]
    if total_s is not None:
        parts.append(f"{max(0.0, total_s - float(p.get('t_s', 0))):.0f} s left")
    if p.get("aborted"):
        parts.append(f"ABORTING: {p['aborted']}")
    return " · ".join(parts)
