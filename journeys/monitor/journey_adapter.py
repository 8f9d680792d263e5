"""The one module where the monitor meets the journeys package (`gauntlet.journeys.runner`).

Each attempt runs `run_journey` in a child process (`python -m` this module), for three
reasons a long-lived monitor cares about: a hung browser is killed at a deadline instead of
stalling every later run; a leaked Chromium dies with the child's process group; and a
crash in the journeys cannot take the monitor down. Launching costs ~0.5 s a journey,
against a 60 s period.

The child writes `JourneyResult.to_json()` to a result file; `attempt_from_json` turns that
into the monitor's own `JourneyAttempt`. If the journeys' interface changes, this file is
the only one to change.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from gauntlet.journeys.monitor.model import JourneyAttempt, StepRecord
from gauntlet.settings import harness_settings

SERVICE_KEY_ENV = "GAUNTLET_SERVICE_KEY"
# Beyond the journey's own total budget: Chromium start, trace and screenshot writing.
TIMEOUT_SLACK_S = 30.0
STDERR_LINES_KEPT = 3


def journey_names() -> tuple[str, ...]:
    """The journeys there are (the catalog's order)."""
    from gauntlet.journeys.catalog import JOURNEYS

    return tuple(JOURNEYS)


def journey_sources(specs: Sequence[str]) -> dict[str, str]:
    """Each journey `specs` name (built-ins by name, journey files by path), by name -> how a child loads it.

    A file's journeys are checked here, once: a bad file is an exit 2 now, not a red journey every minute.
    """
    from gauntlet.journeys.catalog import JOURNEYS, select

    return {j.name: j.name if JOURNEYS.get(j.name) is j else j.source for j in select(specs)}


def signs_up_every_run(spec: str) -> bool:
    """Whether the journey signs a new user up on every run (the monitor never loops it against a target)."""
    from gauntlet.journeys.catalog import select

    return select([spec], single=True)[0].signs_up_every_run


def journey_timeout_s(spec: str) -> float:
    from gauntlet.journeys.catalog import select

    return select([spec], single=True)[0].total_budget_ms / 1000 + TIMEOUT_SLACK_S


def _epoch(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return datetime.fromisoformat(value).timestamp()
    if isinstance(value, datetime):
        return value.timestamp()
    raise ValueError(f"started_at {value!r} is not a time")


def attempt_from_json(data: dict[str, Any]) -> JourneyAttempt:
    """A `JourneyResult.to_json()` document as the monitor's attempt."""
    steps = tuple(
        StepRecord(
            name=str(s["name"]),
            ok=bool(s["ok"]),
            duration_ms=float(s.get("duration_ms") or 0.0),
            budget_ms=float(s["budget_ms"]) if s.get("budget_ms") is not None else None,
            error=s.get("error"),
            screenshot=s.get("screenshot"),
            trace=s.get("trace"),
            skipped=s.get("status") == "skipped",
        )
        for s in data.get("steps", [])
    )
    return JourneyAttempt(
        name=str(data["name"]),
        ok=bool(data["ok"]),
        started_at=_epoch(data["started_at"]),
        duration_ms=float(data.get("duration_ms") or 0.0),
        steps=steps,
        console_errors=tuple(str(e) for e in data.get("console_errors", [])),
        error=data.get("error"),
        artifacts_dir=data.get("artifacts_dir"),
    )


def _failed(name: str, started: float, error: str) -> JourneyAttempt:
    return JourneyAttempt(
        name=name, ok=False, started_at=started, duration_ms=(time.time() - started) * 1000, error=error
    )


class SubprocessJourneys:
    """The monitor's JourneyRunner: one child process per attempt, killed at the deadline."""

    def __init__(
        self,
        *,
        service_key: str | None = None,
        headed: bool = False,
        timeout_s: float | None = None,
        child: Sequence[str] | None = None,
        accounts_file: Path | None = None,
        sources: Mapping[str, str] | None = None,
    ) -> None:
        self.service_key = service_key
        # A journey's name -> what the child loads (a journey file's `PATH::test_name`); a built-in is its name.
        self.sources = dict(sources or {})
        # A target's accounts: journeys that need a user sign in as one of these, never sign up.
        self.accounts_file = accounts_file
        self.headed = headed
        self.timeout_s = timeout_s
        # The child command before its arguments; tests swap in a stand-in that hangs or crashes.
        self.child = list(child) if child is not None else [sys.executable, "-m", __name__]

    def run(self, name: str, *, target: str, artifacts_dir: Path) -> JourneyAttempt:
        started = time.time()
        spec = self.sources.get(name, name)
        timeout = self.timeout_s or journey_timeout_s(spec)
        env = dict(os.environ)
        if self.service_key:
            env[SERVICE_KEY_ENV] = self.service_key  # not on the command line, where `ps` shows it
        if self.accounts_file is not None:
            from gauntlet.journeys.accounts import ACCOUNTS_ENV

            env[ACCOUNTS_ENV] = str(self.accounts_file)
        with tempfile.TemporaryDirectory(prefix="gauntlet-journey-") as tmp:
            result_file = Path(tmp) / "result.json"
            argv = [
                *self.child, spec,
                "--target", target, "--artifacts", str(artifacts_dir), "--result-file", str(result_file),
                *(["--headed"] if self.headed else []),
            ]  # fmt: skip
            child = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                env=env, start_new_session=True,
            )  # fmt: skip
            try:
                _, stderr = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(child)
                child.communicate()
                return _failed(name, started, f"timed out after {timeout:g}s (the journey process was killed)")
            except BaseException:
                # Ctrl-C reaches only our process group, not the child's session: take it down too.
                _kill_group(child)
                child.wait()
                raise
            # Whatever the journey left behind in its session (a Chromium that outlived it) goes too.
            _kill_group(child)
            if result_file.exists():
                try:
                    return attempt_from_json(json.loads(result_file.read_text(encoding="utf-8")))
                except (ValueError, KeyError, TypeError) as exc:
                    return _failed(name, started, f"unreadable journey result: {type(exc).__name__}: {exc}")
            tail = " | ".join(line for line in (stderr or "").strip().splitlines()[-STDERR_LINES_KEPT:])
            return _failed(name, started, f"journey process exited {child.returncode}: {tail or 'no output'}")


def _kill_group(child: subprocess.Popen[str]) -> None:
    """SIGKILL the child's own session (start_new_session=True made its pid the group id)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    """Child side: run one journey, write its result JSON, exit 0 (a failed journey is a result)."""
    parser = argparse.ArgumentParser(prog="gauntlet-monitor-journey")
    parser.add_argument("name", help="a built-in journey's name, or a journey file's PATH::test_name")
    parser.add_argument("--target", required=True)
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--result-file", type=Path, required=True)
    parser.add_argument("--headed", action="store_true")
    args = parser.parse_args(argv)

    from gauntlet.base.errors import GauntletError
    from gauntlet.journeys.runner import run_journey

    try:
        result = run_journey(
            args.name,
            target=args.target,
            artifacts_dir=args.artifacts,
            headed=args.headed,
            service_key=harness_settings().service_key,
        )
    except GauntletError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    args.result_file.write_text(json.dumps(result.to_json()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
