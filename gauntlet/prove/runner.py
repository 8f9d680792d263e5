"""`gauntlet prove`: run the gate against each seeded fault on its own scratch copy and stack, then score it.

For every fault: copy the project (the folder holding gauntlet/ and platform/) into
a temp dir, apply the fault there, and run `python -m gauntlet gate` as a
subprocess with the copy first on PYTHONPATH and as its cwd, so the gate, the
migrations it applies, and the API and workers its stack spawns (they inherit
the gate's environment) all import the mutated code. The user's tree is only
ever read. Every stack is brought down and every copy deleted afterwards, also
on an error or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import gauntlet
from gauntlet.base.errors import GauntletError
from gauntlet.gate.config import GateProfile
from gauntlet.gate.phases import build_phases
from gauntlet.prove.catalogue import Fault
from gauntlet.prove.mutation import FaultDoesNotApply, apply_fault
from gauntlet.reports.checks import Culprit
from gauntlet.reports.entries import CleanRun, FaultOutcome, ProveEntry

# Left out of a scratch copy: version control, environments, caches, state and reports.
EXCLUDED_TOP = ("prove-out", "reports-out", "build", "dist")
EXCLUDED_ANYWHERE = (
    ".git",
    ".venv",
    "__pycache__",
    "node_modules",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "*.egg-info",
)
# Time for a gate run beyond its phases' own time limits: stack up and down, reports.
STACK_GRACE_S = 180
# After Ctrl-C (or a timeout), how long the gate gets to bring its stack down itself.
STOP_GRACE_S = 30

Progress = Callable[[str], None]


class ProveError(GauntletError):
    """`gauntlet prove` cannot run (a fault names a file outside platform/, a copy failed, ...): exit 2."""


def project_root() -> Path:
    """The folder holding gauntlet/ and platform/ (the tree the scratch copies are made of)."""
    return Path(gauntlet.__file__).resolve().parent.parent


def ensure_fault_is_on_platform(fault: Fault) -> None:
    """Only files under platform/ may be mutated: the harness itself must stay what it is."""
    parts = Path(fault.file).parts
    if Path(fault.file).is_absolute() or not parts or parts[0] != "platform" or ".." in parts:
        raise ProveError(
            f"fault {fault.name} ({fault.source}): file {fault.file!r} is not under platform/; "
            "a fault may only change the reference platform (platform/...), never the harness"
        )


# --- profiles -------------------------------------------------------------------------------


def quick_profile_table(base: GateProfile, faults: Sequence[Fault]) -> dict[str, object]:
    """A `[profile.NAME]` table with only what the faults need: their phases, checks, drills and journeys.

    Smoke and load run only when a fault names them; acceptance runs the union of the
    faults' checks (every check when one of them names none); drills and journeys are the
    ones the faults name (the base profile's when a fault names the phase but none of them).
    The base profile's platform settings are kept.
    """
    phases = {p for f in faults for p in f.phases}
    table: dict[str, object] = {
        "description": f"gauntlet prove --quick ({base.name}): {', '.join(f.name for f in faults)}",
        "smoke": "smoke" in phases,
        "acceptance": False,
        "drills": [],
        "journeys": [],
        "platform": dict(base.platform),
    }
    if "acceptance" in phases:
        accepting = [f for f in faults if "acceptance" in f.phases]
        if any(not f.checks for f in accepting):
            table["acceptance"] = True
        else:
            table["acceptance"] = list(dict.fromkeys(c for f in accepting for c in f.checks))
    if "drills" in phases:
        named = list(dict.fromkeys(d for f in faults if "drills" in f.phases for d in f.drills))
        unnamed = any(not f.drills for f in faults if "drills" in f.phases)
        table["drills"] = list(dict.fromkeys([*named, *(base.drills if unnamed else ())]))
    if "journeys" in phases:
        named = list(dict.fromkeys(j for f in faults if "journeys" in f.phases for j in f.journeys))
        unnamed = any(not f.journeys for f in faults if "journeys" in f.phases)
        table["journeys"] = list(dict.fromkeys([*named, *(base.journeys if unnamed else ())]))
    if "load" in phases and base.load is not None:
        load = base.load
        table["load"] = {
            key: value
            for key, value in (
                ("profile", load.profile),
                ("scenario", load.scenario),
                ("users", load.users),
                ("duration", load.duration),
                ("rate", load.rate),
            )
            if value is not None
        }
    if base.slo is not None:
        table["slo"] = str(base.slo.resolve())
    return table


def profile_toml(name: str, table: dict[str, object]) -> str:
    """A profiles file holding one profile (strings and lists as JSON, which TOML reads the same)."""
    lines = [f"[profile.{name}]"]
    subtables = {k: v for k, v in table.items() if isinstance(v, dict)}
    for key, value in table.items():
        if key not in subtables:
            lines.append(f"{key} = {_toml_value(value)}")
    for sub, values in subtables.items():
        assert isinstance(values, dict)
        lines += ["", f"[profile.{name}.{sub}]"]
        lines += [f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def gate_timeout_s(profile_file: Path, profile: str) -> float:
    """The gate's own phase time limits plus time for the stack: past this the run is stopped (an error)."""
    from gauntlet.gate.config import load_profile

    chosen = load_profile(profile, profile_file)
    phases = build_phases(chosen, target="http://127.0.0.1:1", state_dir=Path("."), out_dir=Path("."), embedded=True)
    return STACK_GRACE_S + sum(p.timeout_s for p in phases)


# --- scratch copies -------------------------------------------------------------------------


def _ignore(root: Path, extra: Sequence[Path]) -> Callable[[str, list[str]], set[str]]:
    anywhere = shutil.ignore_patterns(*EXCLUDED_ANYWHERE)
    skipped = {p.resolve() for p in extra}

    def ignore(directory: str, names: list[str]) -> set[str]:
        found = set(anywhere(directory, names))
        here = Path(directory).resolve()
        if here == root:
            found |= {n for n in names if n in EXCLUDED_TOP or n.startswith(".gauntlet")}
        found |= {n for n in names if (here / n) in skipped}
        return found

    return ignore


def scratch_copy(source: Path, dest: Path, *, also_exclude: Sequence[Path] = ()) -> Path:
    """Copy the project tree into `dest` (symlinks kept as symlinks); returns `dest`."""
    try:
        shutil.copytree(source, dest, symlinks=True, ignore=_ignore(source.resolve(), also_exclude))
    except (OSError, shutil.Error) as exc:
        raise ProveError(f"cannot copy {source} to {dest}: {exc}; is there room in {dest.parent}?") from None
    return dest


@contextlib.contextmanager
def scratch_tree(source: Path, fault: Fault | None, *, work: Path, also_exclude: Sequence[Path] = ()) -> Iterator[Path]:
    """A scratch copy of `source` (with `fault` applied) under `work`, deleted on the way out."""
    tree = Path(tempfile.mkdtemp(prefix=f"{fault.name if fault else 'clean'}-", dir=work))
    tree.chmod(0o711)  # Postgres runs as its own user when we are root: it must reach the state dir inside
    try:
        copy = scratch_copy(source, tree / "project", also_exclude=also_exclude)
        if fault is not None:
            ensure_fault_is_on_platform(fault)
            apply_fault(copy, fault)
        yield copy
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def check_faults_apply(source: Path, faults: Sequence[Fault]) -> None:
    """Every fault lands on the current code (read only, nothing written): else exit 2 naming it."""
    from gauntlet.prove.mutation import mutated

    problems = []
    for fault in faults:
        try:
            ensure_fault_is_on_platform(fault)
            path = source / fault.file
            if not path.is_file():
                raise FaultDoesNotApply(f"fault {fault.name}: {fault.file} does not exist (was it moved?)")
            mutated(path.read_text(), fault)
        except (FaultDoesNotApply, ProveError) as exc:
            problems.append(f"{exc} [{fault.source}]")
    if problems:
        raise ProveError("; ".join(problems))


# --- one gate run ---------------------------------------------------------------------------


@dataclass(kw_only=True)
class GateRun:
    exit_code: int | None  # None: stopped for time
    culprits: list[str] = field(default_factory=list)
    seconds: float = 0.0
    detail: str = ""


def culprit_label(culprit: Culprit) -> str:
    """A culprit as the catalogue names catchers: `acceptance:ID`, `drill:NAME`, `journey:NAME`, ..."""
    if culprit.section in ("acceptance", "smoke"):
        return f"{culprit.section}:{culprit.name}"
    if culprit.section in ("drill", "journey", "load"):
        return f"{culprit.section}:{culprit.entry}"
    return f"{culprit.section}:{culprit.name}"


def expected_catchers(fault: Fault) -> list[str]:
    return [
        *(f"acceptance:{c}" for c in fault.checks),
        *(f"drill:{d}" for d in fault.drills),
        *(f"journey:{j}" for j in fault.journeys),
    ]


def run_gate_on(
    tree: Path,
    *,
    profile: str,
    config: Path,
    out: Path,
    timeout_s: float,
    state_dir: Path | None = None,
    fail_fast: bool = False,
) -> GateRun:
    """`python -m gauntlet gate` against a fresh stack started from `tree`; the stack is down afterwards.

    `fail_fast`: a mutant's gate stops at the first phase that catches it (what `prove` needs to know),
    which keeps a full-profile run of the catalogue within its time budget.
    """
    state = state_dir or tree / ".gauntlet-prove"
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tree), *_pythonpath()]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "COLUMNS": "250",  # the gate's messages unwrapped in its log
    }
    env.pop("GAUNTLET_STATE_DIR", None)
    argv = [sys.executable, "-m", "gauntlet", "gate", "--profile", profile, "--config", str(config)]
    argv += ["--state-dir", str(state), "--out", str(out)]
    if fail_fast:
        argv.append("--fail-fast")
    started = time.monotonic()
    code: int | None
    with open(out / "gate.log", "wb") as log:
        if _STOPPING.is_set():
            raise KeyboardInterrupt
        proc = subprocess.Popen(
            argv, cwd=tree, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        with _LIVE_LOCK:
            _LIVE[proc.pid] = (proc, state)
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop(proc)
            code = None
        except BaseException:  # Ctrl-C: let the gate bring its own stack down, then make sure of it
            _stop(proc)
            _down(state)
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.pop(proc.pid, None)
    _down(state)
    if _STOPPING.is_set():
        raise KeyboardInterrupt
    seconds = time.monotonic() - started
    culprits, detail = _read_culprits(out / "result.json")
    if code is None:
        detail = f"the gate was stopped after {timeout_s:.0f}s (see {out / 'gate.log'})"
    elif code not in (0, 1):
        detail = f"the gate could not run (exit {code}): {_last_error(out / 'gate.log')}"
    elif code == 1 and not culprits:
        detail = detail or (
            f"exit 1 but no culprit in {out / 'result.json'}"
            if (out / "result.json").exists()
            else f"the gate crashed before writing its result: {_last_error(out / 'gate.log')}"
        )
    return GateRun(exit_code=code, culprits=culprits, seconds=seconds, detail=detail)


# The gates running now (pid -> process, state dir), so Ctrl-C in the main thread can stop them all.
_LIVE: dict[int, tuple[subprocess.Popen[bytes], Path]] = {}
_LIVE_LOCK = threading.Lock()
_STOPPING = threading.Event()


def stop_live_gates() -> None:
    """Stop every running gate (SIGINT, then SIGKILL) and bring its stack down."""
    with _LIVE_LOCK:
        live = list(_LIVE.values())
    for proc, _ in live:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
    for proc, state in live:
        _stop(proc)
        _down(state)


def _pythonpath() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT first (the gate then brings its stack down), SIGKILL to its group if it does not end."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_GRACE_S)


def _down(state_dir: Path) -> None:
    """Stop whatever stack is recorded in `state_dir` (a no-op when the gate already did)."""
    from gauntlet.stack import supervisor

    if state_dir.exists():
        with contextlib.suppress(GauntletError, OSError):
            supervisor.down(state_dir, purge=True)


def _read_culprits(result: Path) -> tuple[list[str], str]:
    from gauntlet.reports.errors import ResultFileError
    from gauntlet.reports.resultfile import read_result

    if not result.exists():
        return [], ""
    try:
        run = read_result(result)
    except ResultFileError as exc:
        return [], f"unreadable result: {exc}"
    return list(dict.fromkeys(culprit_label(c) for c in run.culprits())), ""


def _last_error(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    errors = [line for line in lines if line.startswith("error:")] or [x for x in lines if "error" in x.lower()]
    return (errors or lines or ["no output"])[-1][:400]


# --- the whole run --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ProveOptions:
    profile: GateProfile
    config: Path  # the profiles file `profile` came from (full mode passes it to the gate as it is)
    faults: list[Fault]
    quick: bool
    clean_runs: int
    out_dir: Path
    min_score: float
    jobs: int = 1
    source: Path = field(default_factory=project_root)


def verdict_of(run: GateRun) -> str:
    """caught (exit 1 with culprits), missed (exit 0), error (anything else: it could not run)."""
    if run.exit_code == 1 and run.culprits:
        return "caught"
    if run.exit_code == 0:
        return "missed"
    return "error"


def fault_outcome(fault: Fault, run: GateRun) -> FaultOutcome:
    verdict = verdict_of(run)
    return FaultOutcome(
        name=fault.name,
        protects=fault.protects,
        verdict=verdict,  # type: ignore[arg-type]
        caught_by=run.culprits,
        expected=expected_catchers(fault),
        seconds=round(run.seconds, 1),
        exit_code=run.exit_code,
        detail=run.detail if verdict == "error" else "",
    )


def _profile_for(options: ProveOptions, faults: Sequence[Fault], work: Path, name: str) -> tuple[Path, str]:
    """The profiles file and profile name a gate run uses."""
    if not options.quick:
        return options.config.resolve(), options.profile.name
    path = work / f"{name}.profiles.toml"
    path.write_text(profile_toml("prove", quick_profile_table(options.profile, faults)))
    return path, "prove"


def prove(options: ProveOptions, progress: Progress = lambda _: None) -> ProveEntry:
    """Every fault on its own mutant and stack, then the clean runs; the result as a ProveEntry.

    With `jobs` > 1 that many mutants run at once (each its own copy, stack and ports).
    On Ctrl-C every running gate is stopped and its stack brought down before it returns.
    """
    check_faults_apply(options.source, options.faults)
    _STOPPING.clear()
    out = options.out_dir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    total = len(options.faults)
    with tempfile.TemporaryDirectory(prefix="gauntlet-prove-") as tmp:
        work = Path(tmp)
        work.chmod(0o711)  # as for scratch_tree: Postgres' own user must reach the state dirs

        def one_fault(i: int, fault: Fault) -> FaultOutcome:
            config, profile = _profile_for(options, [fault], work, fault.name)
            progress(f"[{i}/{total}] {fault.name}: gate --profile {profile} on the mutant")
            with scratch_tree(options.source, fault, work=work, also_exclude=[out]) as tree:
                run = run_gate_on(
                    tree,
                    profile=profile,
                    config=config,
                    out=out / "faults" / fault.name,
                    timeout_s=gate_timeout_s(config, profile),
                    fail_fast=True,
                )
            outcome = fault_outcome(fault, run)
            caught_by = ", ".join(outcome.caught_by) or outcome.detail
            progress(f"[{i}/{total}] {fault.name}: {outcome.verdict} {caught_by} ({run.seconds:.0f}s)")
            return outcome

        outcomes = _in_parallel(options.jobs, [partial(one_fault, i, f) for i, f in enumerate(options.faults, 1)])
        cleans: list[CleanRun] = []
        if options.clean_runs:
            config, profile = _profile_for(options, options.faults, work, "clean")
            with scratch_tree(options.source, None, work=work, also_exclude=[out]) as tree:

                def one_clean(n: int) -> CleanRun:
                    progress(f"clean run {n}/{options.clean_runs}: gate --profile {profile} on the unmutated copy")
                    run = run_gate_on(
                        tree,
                        profile=profile,
                        config=config,
                        out=out / "clean" / str(n),
                        timeout_s=gate_timeout_s(config, profile),
                        state_dir=work / f"clean-state-{n}",
                    )
                    alarm = "passed" if run.exit_code == 0 else f"FALSE ALARM {', '.join(run.culprits) or run.detail}"
                    progress(f"clean run {n}/{options.clean_runs}: {alarm} ({run.seconds:.0f}s)")
                    return CleanRun(
                        index=n, exit_code=run.exit_code, culprits=run.culprits, seconds=round(run.seconds, 1),
                        detail=run.detail,
                    )  # fmt: skip

                cleans = _in_parallel(options.jobs, [partial(one_clean, n) for n in range(1, options.clean_runs + 1)])
    mode = "--quick" if options.quick else "full"
    return ProveEntry(
        name=f"{options.profile.name} {mode}", min_score=options.min_score, faults=outcomes, clean_runs=cleans
    )


T = TypeVar("T")


def _in_parallel(jobs: int, tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Run the tasks, `jobs` at a time, results in order; on Ctrl-C stop every live gate first."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(task) for task in tasks]
        try:
            return [future.result() for future in futures]
        except BaseException:
            _STOPPING.set()
            for future in futures:
                future.cancel()
            stop_live_gates()
            raise
