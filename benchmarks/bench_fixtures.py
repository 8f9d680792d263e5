"""Benchmark `gauntlet fixtures load`: rows/s per table and the total time of a full-size load.

Run: `.venv/bin/python benchmarks/bench_fixtures.py [--users 100000] [--posts 1000000] [--dsn DSN]`.
Without --dsn it starts a throwaway Postgres from the pgserver wheel (as the
``gauntlet-pg`` user when run as root), migrates and seeds it, loads, and
removes it. Target (issue "Platform II"): 100k users and 1M posts well under a
minute on a 2-core machine. Also prints the generator alone (no database), so
the Python share of the time can be read off.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gauntlet.fixtures import scale
from gauntlet.platform.migrate import apply_migrations
from gauntlet.platform.seed import load_seed_data

PG_OS_USER = "gauntlet-pg"


def _pg_bin() -> Path:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the pgserver wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run(args: list[str]) -> None:
    argv = ["runuser", "-u", PG_OS_USER, "--", *args] if os.geteuid() == 0 else args
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A private server with an empty `rocker` database, removed afterwards."""
    pg_bin = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="gauntlet-bench-fixtures-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(PG_OS_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    try:
        _run([str(pg_bin / "initdb"), "-D", str(root / "data"), "-U", "postgres", "--auth=trust", "--no-sync"])
        _run([str(pg_bin / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w",
              "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"])  # fmt: skip
        try:
            _run([str(pg_bin / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres",
                  "-qc", "create database rocker"])  # fmt: skip
            yield f"postgresql://postgres@127.0.0.1:{port}/rocker"
        finally:
            _run([str(pg_bin / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def generator_only(plan: scale.ScalePlan) -> float:
    """Seconds to generate every row in Python, without a database."""
    started = time.perf_counter()
    clock = scale._Clock(dt.datetime.now(dt.UTC))
    cross: list[str] = []
    for rows in (
        scale.user_rows(plan, clock), scale.profile_rows(plan, clock), scale.entity_rows(plan, clock),
        scale.follow_rows(plan, clock), scale.post_rows(plan, clock, cross), scale.listing_rows(plan, clock, []),
        scale.event_rows(plan, clock),
    ):  # fmt: skip
        for _ in rows:
            pass
    return time.perf_counter() - started


async def bench(dsn: str, users: int, posts: int, seed: int) -> float:
    def report(table: str, rows: int, seconds: float) -> None:
        print(f"  {table:<30} {rows:>11,} rows {seconds:7.2f} s {rows / max(seconds, 1e-9):>11,.0f} rows/s", flush=True)

    started = time.perf_counter()
    written = await scale.load_scale_data(dsn, users=users, posts=posts, seed=seed, progress=report)
    elapsed = time.perf_counter() - started
    total = sum(written.values())
    print(f"  {'total':<30} {total:>11,} rows {elapsed:7.2f} s {total / elapsed:>11,.0f} rows/s")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dsn", help="a migrated database to load into (default: a throwaway server)")
    args = parser.parse_args()
    plan = scale.ScalePlan.for_counts(users=args.users, posts=args.posts, seed=args.seed)
    print(f"plan: {plan}")
    print(f"generator only (Python, no database): {generator_only(plan):.2f} s")
    try:
        load_average = os.getloadavg()[0]
    except OSError:
        load_average = float("nan")
    print(f"load average before the load: {load_average:.2f} on {os.cpu_count()} cores")
    if args.dsn:
        elapsed = asyncio.run(bench(args.dsn, args.users, args.posts, args.seed))
    else:
        with throwaway_postgres() as dsn:
            asyncio.run(apply_migrations(dsn))
            asyncio.run(load_seed_data(dsn))
            elapsed = asyncio.run(bench(dsn, args.users, args.posts, args.seed))
    verdict = "well under a minute" if elapsed < 45 else ("under a minute" if elapsed < 60 else "over a minute")
    print(f"full load: {elapsed:.1f} s ({verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
