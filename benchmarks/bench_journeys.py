"""Benchmark: a full `signup_to_notification` journey run, median of 5 (target: under 15 s).

    .venv/bin/python benchmarks/bench_journeys.py [--state-dir DIR] [--runs 5]

Uses the stack running in DIR (default: start a private one and stop it after).
Its API is restarted with the edge rate limits raised for the benchmark (five
signups from one loopback address in a minute would trip the auth profile)
and put back afterwards. Two figures per run: the journey itself (first step
to last, what the monitor reports) and the whole `run_journey` call including
Chromium's launch and shutdown (what a cold `gauntlet journey run` costs).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gauntlet.journeys.runner import run_journey
from gauntlet.stack import control, supervisor
from gauntlet.stack.state import load_state

TARGET_S = 15.0
JOURNEY = "signup_to_notification"
RAISED_LIMITS = "GAUNTLET_RATE_LIMIT_MULTIPLIER"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, help="a running stack (default: start a private one)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    own_stack = args.state_dir is None
    state_dir = Path(tempfile.mkdtemp(prefix="gauntlet-bench-journeys-")) if own_stack else args.state_dir.resolve()
    artifacts = Path(tempfile.mkdtemp(prefix="gauntlet-bench-journey-artifacts-"))
    if own_stack:
        state_dir.chmod(0o755)
        supervisor.up(state_dir, supervisor.UpOptions.from_env())
    state = load_state(state_dir)
    assert state is not None, f"no stack in {state_dir}"
    previous = state.services["api"].env.get(RAISED_LIMITS)
    journey_s: list[float] = []
    wall_s: list[float] = []
    try:
        control.restart(state_dir, "api", env={RAISED_LIMITS: "100"})
        for run in range(1, args.runs + 1):
            began = time.perf_counter()
            result = run_journey(JOURNEY, target=state.api_url, artifacts_dir=artifacts, service_key=state.service_key)
            wall = time.perf_counter() - began
            if not result.ok:
                print(f"run {run}: FAILED: {result.error} (artifacts: {result.artifacts_dir})")
                return 1
            journey_s.append(result.duration_ms / 1000)
            wall_s.append(wall)
            slowest = max(result.steps, key=lambda s: s.duration_ms)
            print(
                f"run {run}: journey {journey_s[-1]:.2f} s, with browser launch {wall:.2f} s "
                f"(slowest step {slowest.name} {slowest.duration_ms:.0f} ms)"
            )
    finally:
        if own_stack:
            supervisor.down(state_dir, purge=True)
            shutil.rmtree(state_dir, ignore_errors=True)
        else:
            control.restart(state_dir, "api", env={RAISED_LIMITS: previous})
        shutil.rmtree(artifacts, ignore_errors=True)
    median_journey, median_wall = statistics.median(journey_s), statistics.median(wall_s)
    print(f"median of {args.runs}: journey {median_journey:.2f} s, with browser launch {median_wall:.2f} s")
    verdict = "met" if median_wall < TARGET_S else "MISSED"
    print(f"target: a full {JOURNEY} run under {TARGET_S:.0f} s -> {verdict}")
    return 0 if median_wall < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
