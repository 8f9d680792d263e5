"""`gauntlet load --workers K --worker-backend docker`: Locust workers in containers on their own network.

Against the tier's Docker stack (the workers join its network to reach its API). The
master runs here, bound to the run's network gateway: the workers reach it over that network, never
loopback. The merged HDR result must count exactly what the workers say they recorded, and nothing
(containers, network) may outlive a run, Ctrl-C included.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from gauntlet.load.docker_workers import LABEL_RUN, LOAD_IMAGE, SOURCE_LABEL
from gauntlet.load.hdr import decode
from gauntlet.stack.docker import engine
from tests.acceptance.cli_harness import default_sigint

pytestmark = pytest.mark.docker

GAUNTLET = [sys.executable, "-c", "from gauntlet.cli import main; main()"]
# Gentle enough for the stack's rate limits; the run is about distribution, not the platform's speed.
PLAN = ("suggestions", "--users", "2", "--think-time", "0.3", "--no-progress")


def gauntlet(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GAUNTLET, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
        env={**os.environ, **(env or {})},
    )


def left_behind(run_id: str | None = None) -> list[str]:
    """Containers and networks of docker-worker runs (of one run, or of any) still on the engine."""
    label = f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN
    client = engine.client()
    found = [f"container {c.name}" for c in client.containers.list(all=True, filters={"label": label})]
    return found + [f"network {n.name}" for n in client.networks.list(filters={"label": label})]


def master_address(stderr: str) -> str:
    found = re.search(r"master on (\S+):(\d+)", " ".join(stderr.split()))
    assert found, stderr
    return found.group(1)


def requests_so_far(progress: Path) -> int:
    """The requests the master's last progress line counts (0 before the first)."""
    lines = [line for line in progress.read_text().splitlines() if line.endswith("}")] if progress.exists() else []
    return int(json.loads(lines[-1])["requests"]) if lines else 0


@pytest.fixture
def stale_image() -> Iterator[str]:
    """The load image, labelled as built from other load sources than this checkout's."""
    tag = "gauntlet/load:stale-test"
    dockerfile = f"FROM {LOAD_IMAGE}\nLABEL {SOURCE_LABEL}=0000-other-sources\n".encode()
    engine.client().images.build(fileobj=BytesIO(dockerfile), tag=tag, rm=True)
    try:
        yield tag
    finally:
        engine.client().images.remove(tag)


def test_two_worker_containers_reach_the_master_over_their_network_and_merge_exactly(
    docker_stack_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = ("--workers", "2", "--worker-backend", "docker", "--duration", "6s", "--out", str(out))
    run = gauntlet("load", *PLAN, *args, "--state-dir", str(docker_stack_dir))
    # 1: an SLO missed on a busy machine (not this test's subject); 2 would be a failed run or check.
    assert run.returncode in (0, 1), run.stdout + run.stderr
    master = ipaddress.ip_address(master_address(run.stderr))
    assert not master.is_loopback and master.is_private, master
    result: dict[str, Any] = json.loads((out / "results.json").read_text())
    assert result["run"]["workers"] == 2
    assert result["checks"]["consistent"], result["checks"]
    tallies = json.loads((out / "workers.json").read_text())
    recorded = [w["recorded"] for w in tallies["workers"]]
    assert all(n > 0 for n in recorded), tallies  # both workers loaded the stack
    merged = sum(stats["requests"] for stats in result["requests"].values())
    assert merged == result["overall"]["requests"] == sum(recorded) == tallies["merged_requests"], tallies
    timed = sum(decode(stats["hdr"]).get_total_count() for stats in result["requests"].values())
    assert timed == merged - result["overall"]["failures"]  # the HDR histograms hold every success
    assert tallies["consistent"] and "the merged result counts" in run.stderr
    for index in (0, 1):
        log = (out / f"locust-worker-{index}.log").read_text()
        assert "gauntlet worker tally" in log, log[-2000:]
    assert left_behind(result["run"]["id"].lower()) == []


def test_ctrl_c_stops_the_workers_keeps_partial_results_and_leaves_nothing(
    docker_stack_dir: Path, tmp_path: Path, stale_image: str
) -> None:
    """Also: an image built from other load sources is run, with a warning naming the rebuild."""
    out = tmp_path / "run"
    args = ("--workers", "2", "--worker-backend", "docker", "--duration", "120s", "--out", str(out))
    load = subprocess.Popen(
        [*GAUNTLET, "load", *PLAN, *args, "--state-dir", str(docker_stack_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "GAUNTLET_DOCKER_LOAD_IMAGE": stale_image},
        preexec_fn=default_sigint,  # Ctrl-C as a terminal delivers it, even from a backgrounded suite
    )
    try:
        deadline = time.monotonic() + 150
        while requests_so_far(out / "progress.jsonl") == 0:
            assert load.poll() is None, load.communicate()
            assert time.monotonic() < deadline, "no requests were made"
            time.sleep(0.5)
        load.send_signal(signal.SIGINT)
        stdout, stderr = load.communicate(timeout=120)
    finally:
        if load.poll() is None:
            load.kill()
            load.communicate()
    assert load.returncode == 2, stdout + stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    said = " ".join(stderr.split())
    assert f"warning: {stale_image} was built from other load code" in said and "build-images.sh" in said, said
    result = json.loads((out / "results.json").read_text())
    assert result["aborted"]["reason"] == "interrupted"
    assert left_behind(result["run"]["id"].lower()) == []


def test_a_missing_image_exits_2_naming_the_build_command(tmp_path: Path) -> None:
    before = left_behind()
    args = ("--workers", "2", "--worker-backend", "docker", "--duration", "5s", "--out", str(tmp_path / "run"))
    run = gauntlet(
        "load", *PLAN, *args, "--target", "http://10.255.255.1:9",
        env={"GAUNTLET_DOCKER_LOAD_IMAGE": "gauntlet/load:not-built"},
    )  # fmt: skip
    said = " ".join(run.stderr.split())
    assert run.returncode == 2, run.stdout + run.stderr
    assert "image gauntlet/load:not-built is not built yet: run `docker/build-images.sh --offline`" in said, said
    assert "Traceback" not in said
    assert left_behind() == before
