"""Benchmark: cold `up` of the Docker backend against the embedded one, as a ratio.

Run: `GAUNTLET_DOCKER_IMAGES=offline TESTCONTAINERS_CONNECTION_MODE=docker_host
.venv/bin/python benchmarks/bench_docker.py [--runs 3]`. Both backends are measured in the same run,
alternating, each `up` in a fresh state dir (embedded: initdb every time; Docker: new containers
and network from images already built or pulled, so image builds and pulls are not counted).
Prints median/min/max of each, `down` too, and the ratio of the cold-up medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gauntlet.stack import supervisor
from gauntlet.stack.docker import backend as docker_backend

Up = Callable[[Path, supervisor.UpOptions], supervisor.UpResult]
Down = Callable[[Path], list[str]]
BACKENDS: dict[str, tuple[Up, Down]] = {
    "embedded": (supervisor.up, supervisor.down),
    "docker": (docker_backend.up, docker_backend.down),
}


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def one_run(name: str, options: supervisor.UpOptions) -> tuple[float, float]:
    up, down = BACKENDS[name]
    state_dir = Path(tempfile.mkdtemp(prefix=f"gauntlet-bench-{name}-"))
    state_dir.chmod(0o755)
    try:
        cold = timed(lambda: up(state_dir, options))
        stop = timed(lambda: down(state_dir))
        return cold, stop
    finally:
        down(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    options = supervisor.UpOptions()
    results: dict[str, dict[str, list[float]]] = {name: {"up": [], "down": []} for name in BACKENDS}
    for _ in range(args.runs):
        for name in BACKENDS:  # alternating, so both see the same machine load
            cold, stop = one_run(name, options)
            results[name]["up"].append(cold)
            results[name]["down"].append(stop)
    print(f"{'backend / measure':<26}{'median s':>10}{'min s':>8}{'max s':>8}")
    for name, measures in results.items():
        for measure, values in measures.items():
            label = f"{name} cold up" if measure == "up" else f"{name} down"
            print(f"{label:<26}{statistics.median(values):>10.2f}{min(values):>8.2f}{max(values):>8.2f}")
    ratio = statistics.median(results["docker"]["up"]) / statistics.median(results["embedded"]["up"])
    print(f"cold up, docker / embedded: {ratio:.2f}x (medians of {args.runs} runs each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
