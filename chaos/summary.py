"""A readable summary of drill journals (rich renderables); the maths stays in the journal.

`drill_summary` renders one run; `repeat_summary` renders many runs of the
same drills (flakiness: how often each passed, and how RTO varied).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gauntlet.chaos.journal import BudgetCheck, Journal
from gauntlet.chaos.windows import WindowStats


def _verdict(journal: Journal) -> Text:
    if journal["passed"]:
        return Text("PASS", style="bold green")
    if journal["status"] == "interrupted":
        return Text("INTERRUPTED", style="bold yellow")
    if journal.get("verdict") == "inconclusive":  # the fault was not shown to land: not a pass
        return Text("INCONCLUSIVE", style="bold red")
    return Text("FAIL", style="bold red")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _rate(value: float) -> str:
    return f"{value * 100:.2f} %"


def _window_row(name: str, window: WindowStats) -> list[str]:
    return [
        name,
        str(window["requests"]),
        str(window["errors"]),
        _rate(window["error_rate"]),
        _ms(window["p50"]),
        _ms(window["p95"]),
        _ms(window["p99"]),
    ]


def _budgeted(check: BudgetCheck) -> str:
    """The label of the requests a budget check counted, the same in the load table and in the check."""
    return f"{check['window']} · budgeted ({', '.join(check['groups'])})"


def _budget_detail(check: BudgetCheck) -> str:
    """Observed against the limit, formatted as the load table formats the same number."""
    show = _rate if check["metric"] == "error_rate" else (lambda v: f"{_ms(v)} ms")
    observed = "-" if check["observed"] is None else show(check["observed"])
    return f"{observed} {'<=' if check['passed'] else '>'} {show(check['limit'])}"


def drill_summary(journal: Journal) -> RenderableType:
    """One run: verdict, timing, the load's windows, the budget, invariants, and the clean-stack check."""
    header = Text.assemble(
        _verdict(journal),
        "  ",
        (journal["drill"], "bold"),
        f"  {journal['status']}{', deviated' if journal['deviated'] else ''}  ({journal['duration_s']:.1f} s)",
    )
    facts = Table.grid(padding=(0, 2))
    facts.add_row("what", journal["title"])
    facts.add_row(
        "fault", f"{journal['fault_window']['start'] or '-'} -> {journal['fault_window']['end'] or '(instant)'}"
    )
    facts.add_row("detected", _seconds(journal["time_to_detect_s"]) + " after the fault")
    facts.add_row(
        "recovered",
        f"RTO {_seconds(journal['rto_s'])} (limit {journal['recovery_timeout_s']:g} s)"
        if journal["recovered_at"]
        else f"not within {journal['recovery_timeout_s']:g} s",
    )
    windows = Table(title="background load", title_justify="left")
    for column in ("window", "requests", "errors", "error rate", "p50 ms", "p95 ms", "p99 ms"):
        windows.add_column(column, justify="right" if column != "window" else "left")
    load = journal["windows"]
    # Each window over every request, then over the requests its budget counts (the checks' own numbers).
    budgeted = {_budgeted(b): b["counted"] for b in journal["budget"] if "counted" in b}
    for name, window in (("before", load["before"]), ("during", load["during"]), ("after", load["after"])):
        windows.add_row(*_window_row(f"{name} · all requests", window))
        for label, counted in budgeted.items():
            if label.startswith(f"{name} "):
                windows.add_row(*_window_row(label, counted))
    checks = Table(title="checks", title_justify="left", show_header=False)
    checks.add_column("result")
    checks.add_column("check")
    checks.add_column("detail", overflow="fold")
    for budget in journal["budget"]:
        metric = "error rate" if budget["metric"] == "error_rate" else "p99"
        checks.add_row(_mark(budget["passed"]), f"budget {metric}, {_budgeted(budget)}", _budget_detail(budget))
    for invariant in journal["invariants"]:
        checks.add_row(_mark(invariant["passed"]), invariant["name"], invariant["message"])
    clean = journal["clean_stack"]
    if clean is not None:
        checks.add_row(_mark(clean["passed"]), "clean stack", clean["message"])
    parts: list[RenderableType] = [header, facts, windows, checks]
    if journal["reasons"]:
        parts.append(Text("\n".join(f"- {reason}" for reason in journal["reasons"]), style="red"))
    return Group(*parts)


def _mark(passed: bool | None) -> Text:
    if passed is None:
        return Text("skip", style="yellow")
    return Text("ok", style="green") if passed else Text("FAIL", style="bold red")


def repeat_summary(journals: Sequence[Journal]) -> Table:
    """Per drill over all runs: passes, failures, flakiness and the spread of RTO and detection."""
    table = Table(title="drill runs", title_justify="left")
    for column in ("drill", "runs", "passed", "failed", "verdict", "RTO min / median / max", "detect median"):
        table.add_column(column)
    by_drill: dict[str, list[Journal]] = {}
    for journal in journals:
        by_drill.setdefault(journal["drill"], []).append(journal)
    for drill, runs in by_drill.items():
        passed = sum(1 for j in runs if j["passed"])
        rtos = [j["rto_s"] for j in runs if j["rto_s"] is not None]
        detects = [j["time_to_detect_s"] for j in runs if j["time_to_detect_s"] is not None]
        if passed == len(runs):
            verdict = Text("stable pass", style="green")
        elif passed == 0:
            verdict = Text("stable fail", style="red")
        else:
            verdict = Text(f"FLAKY ({passed}/{len(runs)})", style="bold yellow")
        spread = f"{min(rtos):.2f} / {statistics.median(rtos):.2f} / {max(rtos):.2f} s" if rtos else "-"
        table.add_row(
            drill,
            str(len(runs)),
            str(passed),
            str(len(runs) - passed),
            verdict,
            spread,
            f"{statistics.median(detects):.2f} s" if detects else "-",
        )
    return table
