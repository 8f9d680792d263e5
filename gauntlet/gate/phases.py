"""The gate's phases, each a `gauntlet` subprocess that writes its own result file.

Subprocesses keep the areas apart as they are in production use: Locust's
gevent, the drills' asyncio and Playwright's browser never share a process,
and a phase that crashes is a failed phase, not a dead gate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from gauntlet.gate.config import Fixtures, GateProfile, LoadPhase, duration_seconds
from gauntlet.load.profiles.catalog import PROFILES
from gauntlet.load.signups import SignupsNotAllowed, for_target
from gauntlet.progress import PROGRESS_ENV
from gauntlet.target import Target

GAUNTLET = [sys.executable, "-m", "gauntlet"]
# A phase gets its own declared time plus this much for start-up and wrap-up, then it is stopped.
PHASE_GRACE_S = 240
# The acceptance phase is meant to finish in under a minute; past this something is stuck.
ACCEPTANCE_TIMEOUT_S = 180
# Phases that report each step (gauntlet/progress.py) for the live table.
STEPPED_PHASES = ("drills", "journeys")


def steps_file(out_dir: Path, phase: str) -> Path:
    """Where a stepped phase's step events go (the live table tails it)."""
    return out_dir / "progress" / f"{phase}.jsonl"


@dataclass(frozen=True, kw_only=True)
class Phase:
    name: str
    argv: list[str]
    timeout_s: float
    artifacts: list[Path]  # result files the phase writes (read by the reports module)
    stdout_artifact: Path | None = None  # the phase prints its result: keep stdout as this file
    env: dict[str, str] = field(default_factory=dict)  # added to the environment (keys: never on the command line)


@dataclass(kw_only=True)
class PhaseOutcome:
    name: str
    exit_code: int
    seconds: float
    log: Path
    artifacts: list[Path] = field(default_factory=list)
    summary: str = ""

    @property
    def ran(self) -> bool:
        """0 passed, 1 failed checks; anything else means it could not run (usage, environment, crash)."""
        return self.exit_code in (0, 1)


def build_phases(
    profile: GateProfile,
    *,
    target: str,
    state_dir: Path,
    out_dir: Path,
    embedded: bool,
    baseline: Path | None = None,
    spec: Target | None = None,
    skip: frozenset[str] = frozenset(),
) -> list[Phase]:
    """The phases to run; a drill named in `skip` (`drills:NAME`) is left out of the drills phase."""
    stack = ["--state-dir", str(state_dir)]
    phases: list[Phase] = []
    plan = remote_plan(profile, spec) if not embedded else None
    # A target file is passed on as the file (each phase reads its keys, accounts and proxies from it).
    target_arg = spec.as_arg() if spec is not None and not embedded else target
    if profile.smoke and (embedded or (plan is not None and plan.smoke is None)):
        smoke_file = out_dir / "smoke.json"
        where = stack if embedded else ["--target", target_arg]
        phases.append(
            Phase(
                name="smoke", argv=["smoke", "--json", *where], timeout_s=120, artifacts=[], stdout_artifact=smoke_file
            )
        )
    if profile.acceptance is not None:
        # Against a target, its file carries the keys and the DSN (secrets never on a command line).
        target_args = stack if embedded else ["--target", target_arg]
        phases.append(
            Phase(
                name="acceptance",
                argv=[
                    "acceptance",
                    "run",
                    *profile.acceptance,
                    "--out",
                    str(out_dir / "acceptance.json"),
                    *target_args,
                ],
                timeout_s=ACCEPTANCE_TIMEOUT_S,
                artifacts=[out_dir / "acceptance.json"],
                env=_key_env(spec) if not embedded else {},
            )
        )
    accounts = None
    if profile.fixtures is not None and embedded:
        accounts = state_dir / f"fixture-accounts-seed{profile.fixtures.seed}.json"
        phases.append(_fixtures_phase(profile.fixtures, accounts, stack))
    if profile.load is not None and (plan is None or plan.load is None):
        load = _load_phase(profile.load, profile, target=target_arg, state_dir=state_dir, out_dir=out_dir)
        if accounts is not None:
            load.argv.extend(["--accounts", str(accounts)])
        if baseline is not None:
            load.argv.extend(["--baseline", str(baseline)])
            if profile.load.regression_factor is not None:
                load.argv.extend(["--regression-factor", str(profile.load.regression_factor)])
        phases.append(load)
    drills = list(profile.drills) if embedded else (plan.drills if plan is not None else [])
    drills = [name for name in drills if f"drills:{name}" not in skip]
    if drills:
        journal_dir = out_dir / "drills"
        where = stack if embedded else ["--target", target_arg, *stack]
        phases.append(
            Phase(
                name="drills",
                argv=["chaos", "run", *drills, "--journal-dir", str(journal_dir), *where],
                timeout_s=PHASE_GRACE_S + 120 * len(drills),
                artifacts=[journal_dir],
                env={PROGRESS_ENV: str(steps_file(out_dir, "drills"))},
            )
        )
    journeys = list(profile.journeys) if embedded else (plan.journeys if plan is not None else [])
    if journeys:
        journeys_dir = out_dir / "journeys"
        phases.append(
            Phase(
                name="journeys",
                argv=[
                    "journey",
                    "run",
                    *journeys,
                    "--target",
                    target_arg,
                    "--artifacts",
                    str(journeys_dir),
                    "--json",
                    *stack,
                ],
                timeout_s=PHASE_GRACE_S + 60 * len(journeys),
                artifacts=[],
                stdout_artifact=out_dir / "journeys.json",
                env={PROGRESS_ENV: str(steps_file(out_dir, "journeys"))},
            )
        )
    return phases


@dataclass(frozen=True)
class RemotePlan:
    """What a gate profile can run against a target (not the embedded stack), and why the rest cannot."""

    smoke: str | None  # None: it can run; else why not
    load: str | None
    drills: list[str]  # the drills that can run
    skipped_drills: dict[str, str]  # drill -> why it cannot run here
    journeys: list[str] = field(default_factory=list)  # the journeys that can run
    skipped_journeys: dict[str, str] = field(default_factory=dict)  # journey -> why it cannot run here


def remote_journeys(profile: GateProfile, *, allow_signups: bool) -> tuple[list[str], dict[str, str]]:
    """The profile's journeys a target lets run: one that signs up a user every run needs allow_signups.

    A name is a built-in journey or a journey file (`PATH` or `PATH::test_name`), resolved as the
    journeys phase will resolve it; one that names nothing runnable raises (exit 2) before anything runs.
    """
    if not profile.journeys:
        return [], {}
    from gauntlet.journeys.catalog import select

    runnable: list[str] = []
    skipped: dict[str, str] = {}
    for name in profile.journeys:
        if any(journey.signs_up_every_run for journey in select([name])) and not allow_signups:
            skipped[name] = (
                "signs up a new user on every run, and the target does not allow sign-ups "
                "(set allow_signups = true in the target file to run it)"
            )
            continue
        runnable.append(name)
    return runnable, skipped


def remote_plan(profile: GateProfile, spec: Target | None) -> RemotePlan:
    """From what the target offers (keys, DSN, accounts, Toxiproxy and its proxy map) and what the journeys do."""
    journeys, skipped_journeys = remote_journeys(profile, allow_signups=spec is not None and spec.allow_signups)
    if spec is None:  # a bare URL and nothing else known
        drills = {name: "needs the target's Toxiproxy and service key (a target file)" for name in profile.drills}
        no_smoke = "needs the primary's DSN and the service key (a target file)"
        return RemotePlan(no_smoke, None, [], drills, journeys, skipped_journeys)
    smoke = None
    if not (spec.dsn and spec.service_key):
        missing = [k for k, v in (("dsn", spec.dsn), ("service_key", spec.service_key)) if not v]
        smoke = f"needs {' and '.join(missing)} in the target file (the cutover guide's SQL checks)"
    load = None
    if spec.accounts_file is None:
        load = "needs accounts (accounts_file; gauntlet target accounts create --count N), not sign-ups in a loop"
    elif profile.load is not None and profile.load.profile in PROFILES:
        try:
            for_target(PROFILES[profile.load.profile], allow_signups=spec.allow_signups, target=spec.label)
        except SignupsNotAllowed as exc:
            load = str(exc)
    runnable: list[str] = []
    skipped: dict[str, str] = {}
    if profile.drills:
        from gauntlet.chaos.drills import get_drill
        from gauntlet.chaos.experiment import Capability, UnsupportedTarget, ensure_target_supports

        capabilities: set[Capability] = set()
        if spec.toxiproxy_url:
            capabilities.add("fault_proxy")
        if spec.dsn:
            capabilities.add("database")
        for name in profile.drills:
            if not spec.service_key:
                skipped[name] = "needs the service key (service_key in the target file)"
                continue
            try:
                drill = get_drill(name, None)
                ensure_target_supports(drill, frozenset(capabilities), spec.label, spec.proxies)
            except UnsupportedTarget as exc:
                why = str(exc).removeprefix(f"drill {name!r} ")
                skipped[name] = why if "[proxies]" in why else why.split(", which ")[0] + "; this target cannot give it"
                continue
            runnable.append(name)
    return RemotePlan(smoke, load, runnable, skipped, journeys, skipped_journeys)


def _key_env(spec: Target | None) -> dict[str, str]:
    if spec is None:
        return {}
    env = {"GAUNTLET_SERVICE_KEY": spec.service_key or "", "GAUNTLET_ANON_KEY": spec.anon_key or ""}
    return {k: v for k, v in env.items() if v}


def _fixtures_phase(fixtures: Fixtures, accounts: Path, stack: list[str]) -> Phase:
    """The scale data set, loaded once per stack (`--if-absent`), and accounts the load phase signs in as."""
    argv = ["fixtures", "load", "--users", str(fixtures.users), "--posts", str(fixtures.posts),
            "--seed", str(fixtures.seed), "--if-absent", "--accounts-out", str(accounts),
            "--accounts-count", str(fixtures.accounts), *stack]  # fmt: skip
    # Generous: about 30k rows/s on a busy 2-core machine; the result is the stack's data, no file.
    return Phase(name="fixtures", argv=argv, timeout_s=60 + (fixtures.users + fixtures.posts) / 5_000, artifacts=[])


def _load_phase(load: LoadPhase, profile: GateProfile, *, target: str, state_dir: Path, out_dir: Path) -> Phase:
    load_dir = out_dir / "load"
    argv = [
        "load",
        load.profile,
        "--scenario",
        load.scenario,
        "--target",
        target,
        "--out",
        str(load_dir),
        "--no-progress",
        "--state-dir",
        str(state_dir),
    ]
    if load.users is not None:
        argv += ["--users", str(load.users)]
    if load.duration is not None:
        argv += ["--duration", load.duration]
    if load.rate is not None:
        argv += ["--rate", str(load.rate)]
    if profile.slo is not None:
        argv += ["--slo", str(profile.slo)]
    seconds = duration_seconds(load.duration) if load.duration else 600
    return Phase(name="load", argv=argv, timeout_s=seconds + PHASE_GRACE_S, artifacts=[load_dir / "results.json"])


def run_phase(phase: Phase, *, log_dir: Path) -> PhaseOutcome:
    log = log_dir / f"{phase.name}.log"
    started = time.monotonic()
    with open(log, "wb") as log_file:
        stdout = open(phase.stdout_artifact, "wb") if phase.stdout_artifact else log_file  # noqa: SIM115
        try:
            proc = subprocess.run(
                [*GAUNTLET, *phase.argv],
                env={**os.environ, **phase.env} if phase.env else None,
                stdout=stdout,
                stderr=log_file,
                stdin=subprocess.DEVNULL,
                timeout=phase.timeout_s,
                check=False,
            )
            code = proc.returncode
        except subprocess.TimeoutExpired:
            log_file.write(f"\ngate: phase {phase.name} stopped after {phase.timeout_s:.0f}s\n".encode())
            code = 124
        finally:
            if stdout is not log_file:
                stdout.close()
    artifacts = [p for p in _expand(phase.artifacts) if p.exists()]
    if phase.stdout_artifact and _is_json(phase.stdout_artifact):
        artifacts.append(phase.stdout_artifact)
    return PhaseOutcome(
        name=phase.name, exit_code=code, seconds=time.monotonic() - started, log=log, artifacts=artifacts
    )


def _expand(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return found


def _is_json(path: Path) -> bool:
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True
