"""Benchmark `gauntlet up` / `down`: cold up (fresh state dir), warm up (data kept), down.

Run: `.venv/bin/python benchmarks/bench_stack.py [--runs 5]`. Prints the median
and spread of each. Target (issue #2): cold `up` under 5 s on a 2-core machine.
Also prints the cost of the parts that bound it (initdb, one Python process
import of the API), measured in the same run, so the figure can be read.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gauntlet.stack import supervisor


def fresh_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="gauntlet-bench-"))
    path.chmod(0o755)
    return path


def timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    options = supervisor.UpOptions.from_env()
    cold: list[float] = []
    warm: list[float] = []
    down: list[float] = []
    for _ in range(args.runs):
        state_dir = fresh_dir()
        try:
            cold.append(timed(lambda d=state_dir: supervisor.up(d, options)))
            down.append(timed(lambda d=state_dir: supervisor.down(d)))
            warm.append(timed(lambda d=state_dir: supervisor.up(d, options)))
            supervisor.down(state_dir)
        finally:
            supervisor.down(state_dir, purge=True)
            shutil.rmtree(state_dir, ignore_errors=True)
    api_import = timed(lambda: subprocess.run([sys.executable, "-c", "import gauntlet.platform.api.main"], check=True))
    print(f"{'measure':<28}{'median s':>10}{'min s':>8}{'max s':>8}")
    for name, values in (("cold up (fresh state dir)", cold), ("warm up (data kept)", warm), ("down", down)):
        print(f"{name:<28}{statistics.median(values):>10.2f}{min(values):>8.2f}{max(values):>8.2f}")
    print(f"{'(API process import alone)':<28}{api_import:>10.2f}")
    target = 5.0
    verdict = "meets" if statistics.median(cold) < target else "MISSES"
    print(f"cold up median {statistics.median(cold):.2f}s {verdict} the {target:.0f}s target ({args.runs} runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
