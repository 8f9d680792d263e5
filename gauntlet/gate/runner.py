"""Runs a gate profile: stack, phases, one merged result, and the reports.

Exit codes: 0 every phase passed; 1 an SLO threshold, drill or journey (or the
smoke test) failed; 2 the gate could not run something (the stack did not
come up, a phase hit a usage or environment error, or was stopped for time).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gauntlet.base.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, GauntletError
from gauntlet.gate import baseline as gate_baseline
from gauntlet.gate.config import GateProfile
from gauntlet.gate.phases import Phase, PhaseOutcome, build_phases, remote_plan, run_phase
from gauntlet.reports.checks import Check
from gauntlet.reports.entries import ChecklistEntry
from gauntlet.reports.model import Run
from gauntlet.stack import control, supervisor
from gauntlet.stack.state import StackState, load_state
from gauntlet.target import Target

Progress = Callable[[str, str, str], None]  # (phase, status, figure)
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports it
# A target that does not answer its health endpoint within this long is not there (exit 2, at once).
REACHABLE_TIMEOUT_S = 5.0


@dataclass(frozen=True, kw_only=True)
class GateOptions:
    profile: GateProfile
    out_dir: Path
    state_dir: Path
    target: str | None = None  # None: the embedded stack (started if needed)
    target_spec: Target | None = None  # the target file (keys, accounts, proxies) when one was given
    keep_stack: bool = False
    # Phases the user accepts not running (`--skip PHASE`): reported as skipped, not failed.
    skip: frozenset[str] = frozenset()
    # `--baseline FILE|last|none` for the load phase; None: the profile's `baseline` key.
    baseline: str | None = None
    # `--fail-fast`: stop at the first phase that fails; the phases after it are listed as not run.
    fail_fast: bool = False


@dataclass(frozen=True)
class GateOutcome:
    exit_code: int
    run: Run
    phases: list[PhaseOutcome]


def run_gate(options: GateOptions, progress: Progress = lambda *_: None) -> GateOutcome:
    started = datetime.now(UTC)
    out = options.out_dir
    (out / "logs").mkdir(parents=True, exist_ok=True)
    embedded = options.target is None
    we_started = False
    run_checks: list[Check] = []
    # Chosen before any stack starts: a wrong baseline is exit 2 with nothing left running.
    baseline = gate_baseline.choose(
        options.profile, override=options.baseline, state_dir=options.state_dir, target=options.target
    )
    run_checks += baseline.checks
    if embedded:
        progress("stack", "running", "")
        state, we_started = _embedded_stack(options)
        target = state.api_url
        progress("stack", "passed", "started" if we_started else "already up")
        run_checks.append(Check(name="the embedded stack came up", passed=True, observed=target, expected="healthy"))
    else:
        assert options.target is not None
        target = options.target
        ensure_reachable(target)
    try:
        phases = build_phases(
            options.profile,
            target=target,
            state_dir=options.state_dir,
            out_dir=out,
            embedded=embedded,
            baseline=baseline.path,
            spec=options.target_spec,
            skip=options.skip,
        )
        run_checks += _skipped_by_request([p for p in phases if p.name in options.skip], progress)
        cannot_run = frozenset() if embedded else _drills_that_cannot_run(options.profile, options.target_spec)
        run_checks += _drills_skipped_by_request(options.profile, options.skip, progress, cannot_run=cannot_run)
        to_run = [phase for phase in phases if phase.name not in options.skip]
        outcomes: list[PhaseOutcome] = []
        interrupted = False
        try:
            for i, phase in enumerate(to_run):
                outcomes.append(_run(phase, out, progress))
                if options.fail_fast and outcomes[-1].exit_code != 0:
                    run_checks += _stopped_early(to_run[i + 1 :], phase.name, progress)
                    break
        except KeyboardInterrupt:
            # Ctrl-C: keep what finished, say what did not, and still write the reports.
            interrupted = True
            run_checks.append(_interrupted(to_run, outcomes))
    finally:
        if we_started and not options.keep_stack:
            supervisor.down(options.state_dir)
    if not embedded:
        run_checks += _skipped_on_remote(options.profile, options.skip, progress, spec=options.target_spec)
    run = _assemble(options, target, started, outcomes, run_checks)
    _render(run, out)
    code = EXIT_INTERRUPTED if interrupted else _exit_code(run, outcomes)
    if code == EXIT_OK:  # `baseline = "last"`: only a passing run becomes the next one's baseline
        gate_baseline.remember(
            baseline,
            options.profile,
            next((o.artifacts[0] for o in outcomes if o.name == "load" and o.artifacts), None),
        )
    return GateOutcome(code, run, outcomes)


def _interrupted(phases: list[Phase], finished: list[PhaseOutcome]) -> Check:
    done = [o.name for o in finished]
    left = [p.name for p in phases if p.name not in done]
    return Check(
        name="the gate ran every phase",
        passed=False,
        observed=f"interrupted during {left[0]}" if left else "interrupted",
        expected="every phase run",
        message=f"finished: {', '.join(done) or 'none'}; not run: {', '.join(left) or 'none'} (a partial report)",
    )


def _exit_code(run: Run, outcomes: list[PhaseOutcome]) -> int:
    if any(not o.ran for o in outcomes):
        return EXIT_USAGE  # something could not run: the verdict is not to be trusted either way
    return EXIT_OK if run.verdict == "passed" else EXIT_FAILED


def _embedded_stack(options: GateOptions) -> tuple[StackState, bool]:
    """The stack in the state dir, started if needed, with the profile's platform settings applied."""
    current = load_state(options.state_dir)
    if current is None or current.status != "up":
        result = supervisor.up(
            options.state_dir, supervisor.UpOptions.from_env(platform_env=dict(options.profile.platform))
        )
        return result.state, True
    wanted: dict[str, str | None] = dict(options.profile.platform)
    for record in list(current.services.values()):
        if record.kind in ("api", "worker") and any(record.env.get(k) != v for k, v in wanted.items()):
            control.restart(options.state_dir, record.name, env=wanted)
    refreshed = load_state(options.state_dir)
    assert refreshed is not None
    return refreshed, False


def _run(phase: Phase, out: Path, progress: Progress) -> PhaseOutcome:
    progress(phase.name, "running", "")
    outcome = run_phase(phase, log_dir=out / "logs")
    outcome.summary = _figure(outcome)
    status = {0: "passed", 1: "failed"}.get(outcome.exit_code, "error")
    progress(phase.name, status, outcome.summary or f"exit {outcome.exit_code}, see {outcome.log}")
    return outcome


def _figure(outcome: PhaseOutcome) -> str:
    """The phase's key figure for the live display, read from its result file."""
    try:
        if outcome.name == "load" and outcome.artifacts:
            result = json.loads(outcome.artifacts[0].read_text())
            overall, verdicts = result["overall"], result["thresholds"]
            met = sum(1 for v in verdicts if v.get("passed"))
            return (
                f"{overall['requests']} requests, p95 {overall['p95_ms']:.0f} ms, "
                f"errors {overall['error_rate']:.2%}, thresholds {met}/{len(verdicts)}"
            )
        if outcome.name == "smoke" and outcome.artifacts:
            sections = json.loads(outcome.artifacts[0].read_text())["sections"]
            return f"{sum(1 for s in sections if s['ok'])}/{len(sections)} sections ok"
        if outcome.name == "drills":
            journals = [json.loads(p.read_text()) for p in outcome.artifacts]
            passed = sum(1 for j in journals if j.get("status") == "completed" and not j.get("deviated"))
            return f"{passed}/{len(journals)} drills passed"
        if outcome.name == "acceptance" and outcome.artifacts:
            checks = json.loads(outcome.artifacts[0].read_text())["checks"]
            held = sum(1 for c in checks if c["status"] == "passed")
            skipped = sum(1 for c in checks if c["status"] == "skipped")
            return f"{held}/{len(checks)} rules held" + (f", {skipped} skipped" if skipped else "")
        if outcome.name == "journeys" and outcome.artifacts:
            results = json.loads(outcome.artifacts[0].read_text())
            results = results if isinstance(results, list) else [results]
            return f"{sum(1 for r in results if r.get('ok'))}/{len(results)} journeys passed"
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return ""


def _smoke_entry(outcome: PhaseOutcome) -> ChecklistEntry | None:
    if not outcome.artifacts:
        return None
    sections = json.loads(outcome.artifacts[0].read_text())["sections"]
    checks = [
        Check(name=f"{s['section']} {s['title']}", passed=bool(s["ok"]), observed=str(s.get("detail", "")))
        for s in sections
    ]
    return ChecklistEntry(name="smoke", checks=checks)


def _phase_check(outcome: PhaseOutcome) -> Check:
    return Check(
        name=f"gate phase {outcome.name} ran",
        passed=outcome.ran,
        observed=f"exit {outcome.exit_code} after {outcome.seconds:.0f}s",
        expected="exit 0 or 1",
        message="" if outcome.ran else f"it could not run: see {outcome.log}",
    )


def ensure_reachable(target: str, timeout_s: float = REACHABLE_TIMEOUT_S) -> None:
    """Fail fast (exit 2) when nothing answers at the target, instead of load-testing a dead address."""
    import httpx

    url = f"{target.rstrip('/')}/functions/v1/health"
    try:
        httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise GauntletError(
            f"target {target} is unreachable ({type(exc).__name__}: {exc}): GET {url} got no answer within "
            f"{timeout_s:.0f} s; check the URL (gauntlet health --target {target})"
        ) from None


def _skipped_by_request(phases: list[Phase], progress: Progress) -> list[Check]:
    """The phases the user named in --skip: listed as skipped at their request (not a failure)."""
    for phase in phases:
        progress(phase.name, "skipped", "--skip")
    return [
        Check(
            name=f"gate phase {phase.name}",
            passed=False,
            skipped=True,
            waived=True,
            message=f"--skip {phase.name}",
        )
        for phase in phases
    ]


def _drills_that_cannot_run(profile: GateProfile, spec: Target | None) -> frozenset[str]:
    """The profile's drills a remote target cannot give what they need (reported by `_skipped_on_remote`)."""
    if spec is None:
        return frozenset(profile.drills)
    return frozenset(remote_plan(profile, spec).skipped_drills)


def _drills_skipped_by_request(
    profile: GateProfile, skip: frozenset[str], progress: Progress, *, cannot_run: frozenset[str]
) -> list[Check]:
    """`--skip drills:NAME`: that drill is not run (the profile's other drills still must), listed as skipped.

    A drill that could not run here anyway is listed by `_skipped_on_remote`, with its reason.
    """
    if "drills" in skip:
        return []  # the whole phase is skipped: one row says so
    checks = []
    for drill in profile.drills:
        if f"drills:{drill}" in skip and drill not in cannot_run:
            why = f"--skip drills:{drill}"
            progress(f"drill {drill}", "skipped", why)
            checks.append(Check(name=f"gate phase drill {drill}", passed=False, skipped=True, waived=True, message=why))
    return checks


def _stopped_early(phases: list[Phase], failed: str, progress: Progress) -> list[Check]:
    """`--fail-fast`: the phases after the first failure, not run (skipped, never passed).

    Waived, because the user asked to stop there: the verdict is already failed by the phase that
    failed, and the not-run phases must not be mistaken for more things that broke.
    """
    why = f"not run: --fail-fast stopped the gate after {failed} failed"
    for phase in phases:
        progress(phase.name, "skipped", why)
    return [
        Check(name=f"gate phase {phase.name}", passed=False, skipped=True, waived=True, message=why) for phase in phases
    ]


def _skipped_on_remote(
    profile: GateProfile, skip: frozenset[str], progress: Progress, *, spec: Target | None = None
) -> list[Check]:
    """Against a remote target the phases (and drills) it cannot give what they need are not run: say so.

    What can run follows from the target file (`phases.remote_plan`); without one, smoke and drills cannot.
    A skipped phase proved nothing: it fails the gate unless the user named it in `--skip PHASE` (a
    drill: `--skip drills` or `--skip drills:NAME`); a waived one keeps its reason in the report.
    """
    notes = []
    if spec is None:
        if profile.smoke:
            notes.append(("smoke", "smoke", "needs the embedded stack's database (the cutover guide's SQL checks)"))
        if profile.drills:
            notes.append(
                (
                    "drills",
                    f"drills {', '.join(profile.drills)}",
                    "needs the embedded stack's fault proxy and processes",
                )
            )
        for journey, why in remote_plan(profile, None).skipped_journeys.items():
            notes.append(("journeys", f"journey {journey}", why))
    else:
        plan = remote_plan(profile, spec)
        if profile.smoke and plan.smoke is not None:
            notes.append(("smoke", "smoke", plan.smoke))
        if profile.load is not None and plan.load is not None:
            notes.append(("load", "load", plan.load))
        for drill, why in plan.skipped_drills.items():
            notes.append(("drills", f"drill {drill}", why))
        for journey, why in plan.skipped_journeys.items():
            notes.append(("journeys", f"journey {journey}", why))
    checks = []
    for phase, what, why in notes:
        waiver = _waiver(phase, what, skip, profile)
        row = what if what.startswith(("drill ", "journey ")) else phase  # a drill (journey) skipped here: its own row
        progress(row, "skipped", why if waiver is None else f"{why} (waived: --skip {waiver})")
        if waiver is not None:
            hint = f"{why} (waived: --skip {waiver})"
        else:
            one = f" or --skip drills:{what.removeprefix('drill ')}" if what.startswith("drill ") else ""
            hint = f"{why}; pass --skip {phase}{one} to accept running without it"
        checks.append(
            Check(name=f"gate phase {what}", passed=False, skipped=True, waived=waiver is not None, message=hint)
        )
    return checks


def _waiver(phase: str, what: str, skip: frozenset[str], profile: GateProfile) -> str | None:
    """The `--skip` value that waives a phase (or drill) a target cannot run, or None."""
    if phase in skip:
        return phase
    if what.startswith("drill "):
        one = f"drills:{what.removeprefix('drill ')}"
        return one if one in skip else None
    if phase == "drills" and profile.drills and all(f"drills:{d}" in skip for d in profile.drills):
        return " ".join(f"drills:{d}" for d in profile.drills)
    return None


def _assemble(
    options: GateOptions, target: str, started: datetime, outcomes: list[PhaseOutcome], run_checks: list[Check]
) -> Run:
    from gauntlet.reports.resultfile import read_results

    files = [p for o in outcomes if o.name != "smoke" for p in o.artifacts]
    base = (
        read_results(files)
        if files
        else Run(id="", started_at=started, finished_at=started, target=target, profile=options.profile.name)
    )
    smoke = next((_smoke_entry(o) for o in outcomes if o.name == "smoke"), None)
    return dataclasses.replace(
        base,
        id=f"gate-{options.profile.name}-{started.strftime('%Y%m%dT%H%M%SZ')}",
        started_at=started,
        finished_at=datetime.now(UTC),
        target=target,
        profile=options.profile.name,
        smoke=smoke,
        checks=[*run_checks, *(_phase_check(o) for o in outcomes), *base.checks],
    )


def _render(run: Run, out: Path) -> None:
    from gauntlet.base.files import write_atomically
    from gauntlet.reports.html import report_html
    from gauntlet.reports.junit import junit_xml
    from gauntlet.reports.markdown import summary_markdown
    from gauntlet.reports.resultfile import write_result

    write_result(out / "result.json", run)
    write_atomically(out / "junit.xml", junit_xml(run))
    write_atomically(out / "summary.md", summary_markdown(run))
    write_atomically(out / "report.html", report_html(run))
