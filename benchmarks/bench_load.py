"""Benchmark: what Gauntlet's measurement and profiles cost a Locust load generator.

    .venv/bin/python benchmarks/bench_load.py [--seconds 10] [--users 20] [--rounds 5]

Against the calibration target (a trivial, fast endpoint in its own process,
on its own CPU), with the load generator pinned to one CPU, it measures
requests per second per load-generator core for:

  plain        plain Locust FastHttpUser, POSTing one RPC in a loop (the bare baseline)
  measured     the same user with Gauntlet's measurement installed (HDR per request
               name, per-second series, progress, shape): measured / plain is the
               measurement overhead (target >= 0.9)
  plain-mixed  plain Locust FastHttpUsers making the `mixed` profile's request mix
               (`benchmarks/plain_mixed_locustfile.py`: same classes and weights,
               routes, methods, headers, bodies, flow, and the same status and body
               checks via catch_response; no Gauntlet code): the like-for-like baseline
  mixed-bare   Gauntlet's `mixed` profile with plain Locust stats only
  mixed        Gauntlet's `mixed` profile with Gauntlet's measurement, as `gauntlet load`
               runs it: mixed / plain-mixed is what Gauntlet adds (measurement and
               profile framework) to the same work (target >= 0.9); mixed / plain
               compares it with the bare POST loop, which checks nothing

and the cost of one HDR recording (ns per request) in-process. "Per core" is
requests per CPU-second of the generator process, counted over the steady
part of the run (from the end of spawning to the start of stopping, read by a
probe locustfile loaded alongside every variant), so neither Locust's start-up
nor CPU stolen by other work on a shared machine counts against a variant.
Rounds are interleaved (each starts with a different variant); each row is the
median of its rounds, with its spread across them, and each ratio is the ratio
of means with a 95 % paired-bootstrap interval over rounds (this shared
machine's speed drifts by 10-30 % over seconds, so a single ratio from a few
rounds can be that far off: read the interval). `--variants plain,measured
--rounds 20` narrows it for one ratio. Loopback only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gauntlet.load.hdr import LatencyRecorder, new_histogram
from gauntlet.load.plan import RunPlan, StageDict, UserConfig, write_plan
from gauntlet.load.runner import LOCUSTFILE
from gauntlet.stack.ports import free_ports, is_listening

PLAIN_LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class PlainUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def suggestions(self):
        self.client.post("/rest/v1/rpc/marketplace_suggestions_for_user", json={"p_user_id": "u", "p_limit": 12},
                         name="rpc:marketplace_suggestions_for_user")
"""

PLAIN_MIXED_LOCUSTFILE = Path(__file__).resolve().parent / "plain_mixed_locustfile.py"

# Loaded next to every variant's locustfile: process CPU and Locust's request count over the steady part.
PROBE_LOCUSTFILE = """
import json, os, resource, time
from locust import events

_marks = {}

def _mark(key, environment):
    if key in _marks:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _marks[key] = {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "wall_s": time.monotonic(),
        "requests": environment.runner.stats.total.num_requests,
    }

@events.init.add_listener
def _on_init(environment, **_):
    @events.spawning_complete.add_listener
    def _on_spawned(user_count, **_):
        _mark("spawned", environment)

@events.test_stopping.add_listener
def _on_stopping(environment, **_):
    _mark("stopping", environment)
    with open(os.environ["GAUNTLET_BENCH_PROBE"], "w") as handle:
        json.dump(_marks, handle)
"""

MIXED_BARE_LOCUSTFILE = """
from gauntlet.load.profiles import base
from gauntlet.load.profiles.feed import FollowingUser, HomeForYouUser, ShopUser
from gauntlet.load.profiles.onboarding import OnboardingUser
from gauntlet.load.profiles.suggestions import SuggestionsUser

base.RUNTIME.config = {
    "run_id": "bench", "api_key": None, "accounts_file": None, "think_time_s": (0.0, 0.0), "rate_per_s": None,
    "rate_duration_s": None, "generators": 1, "late_after_s": 0.01, "give_up_after_s": 1.0,
}
"""

MEASURED_LOCUSTFILE = (
    PLAIN_LOCUSTFILE
    + """
from locust import events
from gauntlet.load.instrumentation import GauntletShape, install

install(events)
"""
)


def _pin(cpu: int | None) -> Callable[[], None] | None:
    """A preexec_fn that keeps a child process on one CPU (None where that is not possible)."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def _cpus() -> tuple[int | None, int | None]:
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(available) >= 2:
        return available[0], available[1]  # generator, target
    return None, None


def _plan(out: Path, users: int, seconds: float, target: str) -> Path:
    plan = RunPlan(
        run_id="bench",
        profile="mixed",
        scenario="smoke",
        target=target,
        stages=[StageDict(until_s=seconds, users=users, spawn_rate=float(users))],
        thresholds=[],
        abort_on_fail=False,
        abort_min_samples=50,
        abort_grace_s=5.0,
        measurements_file=str(out / "measurements.json"),
        progress_file=str(out / "progress.jsonl"),
        expect_workers=1,
        users=UserConfig(
            run_id="bench",
            api_key=None,
            accounts_file=None,
            think_time_s=(0.0, 0.0),
            rate_per_s=None,
            rate_duration_s=None,
            generators=1,
            late_after_s=0.01,
            give_up_after_s=1.0,
        ),
    )
    path = out / "plan.json"
    write_plan(plan, path)
    return path


def _aggregated_rps(csv_prefix: Path) -> tuple[float, int, int]:
    with (csv_prefix.parent / f"{csv_prefix.name}_stats.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                return float(row["Requests/s"]), int(row["Request Count"]), int(row["Failure Count"])
    raise RuntimeError(f"no Aggregated row in {csv_prefix}_stats.csv")


MIXED_CLASSES = ["HomeForYouUser", "FollowingUser", "ShopUser", "SuggestionsUser", "OnboardingUser"]
PLAIN_MIXED_CLASSES = [f"Plain{name}" for name in MIXED_CLASSES]
VARIANTS = ("plain", "measured", "plain-mixed", "mixed-bare", "mixed")
ROW_LABELS = {
    "plain": "Locust FastHttpUser, bare POST loop",
    "measured": "+ Gauntlet measurement",
    "plain-mixed": "Locust FastHttpUsers, the mixed mix",
    "mixed-bare": "`mixed` profile, Locust stats only",
    "mixed": "`mixed` profile + Gauntlet measurement",
}
RATIOS = (
    ("mixed", "plain-mixed", "what Gauntlet adds to the same work (target >= 0.9)"),
    ("measured", "plain", "measurement overhead on a bare loop (target >= 0.9)"),
    ("mixed", "mixed-bare", "measurement overhead on the mixed profile"),
    ("mixed", "plain", "vs a bare POST loop that checks nothing"),
    ("plain-mixed", "plain", "what the mix's work itself costs plain Locust"),
)


@dataclass(frozen=True)
class Sample:
    rps: float  # Locust's requests per second over the whole run
    busy: float  # share of a core the generator used over the steady part
    per_cpu_s: float  # requests per CPU-second of the generator over the steady part


def run_variant(variant: str, *, target: str, users: int, seconds: float, cpu: int | None, work: Path) -> Sample:
    out = work / f"{variant}-{time.monotonic_ns()}"
    out.mkdir()
    csv_prefix = out / "locust"
    probe = out / "probe_locustfile.py"
    probe.write_text(PROBE_LOCUSTFILE)
    common = ["--headless", "--only-summary", "--host", target, "--csv", str(csv_prefix), "--loglevel", "WARNING"]
    timed = ["-u", str(users), "-r", str(users), "-t", f"{seconds:g}s"]
    if variant in ("plain", "mixed-bare"):
        locustfile = out / f"{variant}_locustfile.py"
        locustfile.write_text(PLAIN_LOCUSTFILE if variant == "plain" else MIXED_BARE_LOCUSTFILE)
        classes = ["PlainUser"] if variant == "plain" else MIXED_CLASSES
        cmd = ["-f", f"{locustfile},{probe}", *common, *timed, *classes]
    elif variant == "plain-mixed":
        cmd = ["-f", f"{PLAIN_MIXED_LOCUSTFILE},{probe}", *common, *timed, *PLAIN_MIXED_CLASSES]
    else:
        if variant == "measured":
            locustfile = out / "measured_locustfile.py"
            locustfile.write_text(MEASURED_LOCUSTFILE)
            classes = ["PlainUser"]
        else:
            locustfile = LOCUSTFILE
            classes = MIXED_CLASSES
        plan = _plan(out, users, seconds, target)
        users_json = json.dumps(json.loads(plan.read_text())["users"])
        cmd = [
            "-f",
            f"{locustfile},{probe}",
            *common,
            "--gauntlet-plan",
            str(plan),
            "--gauntlet-users",
            users_json,
            *classes,
        ]
    probe_out = out / "probe.json"
    with (out / "locust.out").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "locust", *cmd],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_pin(cpu),
            env={**os.environ, "GAUNTLET_BENCH_PROBE": str(probe_out)},
        )
        try:
            _, status, _usage = os.wait4(proc.pid, 0)
        finally:
            if proc.returncode is None and proc.poll() is None:
                proc.kill()
    rps, count, failures = _aggregated_rps(csv_prefix)
    if count == 0 or failures > count * 0.001:
        raise RuntimeError(f"{variant}: {failures} of {count} requests failed (status {status}); see {out}")
    marks = json.loads(probe_out.read_text()) if probe_out.exists() else {}
    if set(marks) != {"spawned", "stopping"}:
        raise RuntimeError(f"{variant}: the probe did not see both spawning end and stopping; see {out}")
    cpu_s = marks["stopping"]["cpu_s"] - marks["spawned"]["cpu_s"]
    requests = marks["stopping"]["requests"] - marks["spawned"]["requests"]
    wall_s = marks["stopping"]["wall_s"] - marks["spawned"]["wall_s"]
    return Sample(rps=rps, busy=cpu_s / wall_s, per_cpu_s=requests / cpu_s)


def hdr_ns_per_record(n: int = 300_000) -> tuple[float, float]:
    """(Gauntlet's LatencyRecorder.record, the bare HdrHistogram.record_value), ns per call."""
    values = [(i * 7919) % 250_000 / 1000 + 0.2 for i in range(n)]
    recorder = LatencyRecorder()
    names = ["rpc:feed_fusion_home", "rpc:emit_signal", "auth:token"]
    start = time.perf_counter()
    for i, v in enumerate(values):
        recorder.record(names[i % 3], v, failed=False, at_s=1000.0 + i / 5000)
    ours = (time.perf_counter() - start) / n * 1e9
    hist = new_histogram()
    micros = [round(v * 1000) for v in values]
    start = time.perf_counter()
    for m in micros:
        hist.record_value(m)
    bare = (time.perf_counter() - start) / n * 1e9
    return ours, bare


def ratio_ci(top: list[float], bottom: list[float], *, draws: int = 4000, seed: int = 0) -> tuple[float, float, float]:
    """mean(top) / mean(bottom), with a 95 % paired-bootstrap interval (rounds resampled, pairs kept).

    Rounds are paired because both variants of a round ran back to back, so a slow stretch of the
    shared machine hits both; resampling whole rounds keeps that pairing.
    """
    pairs = list(zip(top, bottom, strict=True))
    rng = random.Random(seed)
    estimates = []
    for _ in range(draws):
        sample = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        estimates.append(sum(t for t, _ in sample) / sum(b for _, b in sample))
    estimates.sort()
    point = sum(top) / sum(bottom)
    return point, estimates[int(0.025 * draws)], estimates[int(0.975 * draws) - 1]


def _spread(values: list[float]) -> str:
    """Each round's value relative to the median: how well the rounds agree."""
    middle = statistics.median(values)
    return f"rounds {min(values) / middle - 1:+.0%}..{max(values) / middle - 1:+.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {', '.join(VARIANTS)} (default: all)"
    )
    args = parser.parse_args()
    variants = tuple(v for v in VARIANTS if v in {x.strip() for x in args.variants.split(",")})
    unknown = {x.strip() for x in args.variants.split(",")} - set(VARIANTS)
    if unknown or not variants:
        parser.error(f"--variants: unknown {', '.join(sorted(unknown)) or '(none given)'}; choose from {VARIANTS}")
    if not (1 <= args.rounds <= 100 and 1 <= args.seconds <= 120 and 1 <= args.users <= 500):
        parser.error("--rounds must be in [1, 100], --seconds in [1, 120] and --users in [1, 500]")
    generator_cpu, target_cpu = _cpus()
    (port,) = free_ports(1)
    server = subprocess.Popen(
        [sys.executable, "-m", "gauntlet.load.calibration_target", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        preexec_fn=_pin(target_cpu),
    )
    results: dict[str, list[float]] = {v: [] for v in variants}
    try:
        deadline = time.monotonic() + 10
        while not is_listening(port):
            if time.monotonic() > deadline:
                raise RuntimeError("the calibration target did not start")
            time.sleep(0.05)
        target = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
            for round_no in range(1, args.rounds + 1):
                # Each round starts with a different variant, so none always runs first (or after the same one).
                shift = (round_no - 1) % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    sample = run_variant(
                        variant,
                        target=target,
                        users=args.users,
                        seconds=args.seconds,
                        cpu=generator_cpu,
                        work=Path(tmp),
                    )
                    results[variant].append(sample.per_cpu_s)
                    print(
                        f"round {round_no} {variant:<12} {sample.per_cpu_s:7.0f} req/CPU-s  ({sample.rps:.0f} req/s,"
                        f" generator busy {sample.busy:.0%})",
                        flush=True,
                    )
    finally:
        server.terminate()
        server.wait(timeout=10)
    ours_ns, bare_ns = hdr_ns_per_record()
    m = {k: statistics.median(v) for k, v in results.items()}
    where = f"pinned to CPU {generator_cpu}, target on CPU {target_cpu}" if generator_cpu is not None else "not pinned"
    lines = [
        "",
        f"load generator: one Locust process ({where}), {args.users} users, wait 0, {args.seconds:g} s x {args.rounds},"
        " requests per CPU-second of the generator (steady part); rows: median of rounds",
    ]
    for variant, label in ROW_LABELS.items():
        if variant in results:
            lines.append(f"{variant:<12} {label:<40} {m[variant]:7.0f} req/CPU-s  ({_spread(results[variant])})")
    lines.append("ratios: mean over rounds, [95 % paired-bootstrap interval over rounds]")
    for top, bottom, meaning in RATIOS:
        if top in results and bottom in results:
            point, low, high = ratio_ci(results[top], results[bottom])
            lines.append(f"{top + ' / ' + bottom:<24} {point:.3f} [{low:.2f}-{high:.2f}]   {meaning}")
    lines += [
        f"HDR recording: {ours_ns:.0f} ns per request (per-name + per-second histograms),"
        f" bare HdrHistogram.record_value {bare_ns:.0f} ns",
    ]
    if "plain" in m:
        lines.append(f"  = {ours_ns / 1e9 * m['plain'] * 100:.2f} % of a core at the plain loop's request rate")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
