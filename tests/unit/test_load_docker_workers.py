"""`--worker-backend docker`: the pure parts (targets, commands, tallies) and its usage errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gauntlet.load import docker_workers as dw
from gauntlet.load.cli import register
from gauntlet.load.plan import WORKER_TALLY
from gauntlet.load.runner import LOCUSTFILE, MEASURE_LOCUSTFILE
from gauntlet.stack.state import StackState
from tests.cli_area import area_app

# -- where the workers go -------------------------------------------------------------------------


def test_a_docker_stack_is_loaded_by_its_api_name_on_its_own_network() -> None:
    stack = StackState(state_dir="/tmp/s", backend="docker", docker_network="gauntlet-abc", status="up")
    found = dw.container_target("http://127.0.0.1:41234", stack)
    assert found == dw.WorkerTarget(url="http://api:8000", networks=("gauntlet-abc",))


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://127.9.9.9/", "http://[::1]:80"]
)
def test_a_loopback_target_is_refused_naming_the_fix(url: str) -> None:
    embedded = StackState(state_dir="/tmp/s", backend="embedded", status="up")
    with pytest.raises(dw.WorkerBackendProblem, match=r"cannot reach .*gauntlet up --backend docker"):
        dw.container_target(url, embedded)


def test_any_other_target_is_loaded_as_given() -> None:
    assert dw.container_target("https://api.example.test", None) == dw.WorkerTarget(url="https://api.example.test")


def test_the_workers_connect_to_the_networks_gateway_not_loopback() -> None:
    inside, binds = dw.container_locustfiles((LOCUSTFILE,))
    command = dw.worker_container_command(
        inside, master_host="172.30.0.1", master_port=41000, user_classes=("ShopUser",)
    )
    assert command[:5] == ["python", "-m", "locust", "-f", "/opt/gauntlet/load/locustfile.py"]
    assert command[command.index("--master-host") + 1] == "172.30.0.1"
    assert command[command.index("--master-port") + 1] == "41000"
    assert "--worker" in command and command[-1] == "ShopUser"
    assert "127.0.0.1" not in command and binds == {}


def test_a_persons_locustfile_is_mounted_read_only_at_the_same_path(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    inside, binds = dw.container_locustfiles((MEASURE_LOCUSTFILE, mine))
    assert inside == ["/opt/gauntlet/load/measure_locustfile.py", str(mine)]
    assert binds == {str(tmp_path): str(tmp_path)}


def test_the_master_binds_the_ipv4_gateway() -> None:
    attrs = {"IPAM": {"Config": [{"Subnet": "fd00::/64", "Gateway": "fd00::1"}, {"Gateway": "172.30.0.1"}]}}
    assert dw.network_gateway(attrs) == "172.30.0.1"
    assert dw.network_gateway({"IPAM": {"Config": None}}) is None


def test_the_image_can_be_overridden() -> None:
    assert dw.worker_image({}) == "gauntlet/load:dev"
    assert dw.worker_image({"GAUNTLET_DOCKER_LOAD_IMAGE": "me/load:1"}) == "me/load:1"


# -- the workers' tallies against the merged result -------------------------------------------------


def test_a_workers_tally_line_reads_back() -> None:
    # As instrumentation.log_tally writes it (a Locust worker's log line: time, level/logger, message).
    said = json.dumps({"recorded": 41, "shipped": 40})
    log = (
        "[2026-12-06 11:50:00,001] worker-0/INFO/locust.runners: Got quit message from master, shutting down...\n"
        f"[2026-12-06 11:50:00,100] worker-0/INFO/gauntlet.load: {WORKER_TALLY}{said}\n"
        "[2026-12-06 11:50:00,101] worker-0/INFO/locust.main: Shutting down (exit code 0)\n"
    )
    assert dw.parse_tally(log) == dw.WorkerTally(recorded=41, shipped=40)


def test_no_tally_line_or_a_torn_one_is_no_tally() -> None:
    assert dw.parse_tally("Gave up waiting for master\n") is None
    assert dw.parse_tally(f"x {WORKER_TALLY}{{'recorded': 1\n") is None


def test_merged_equal_to_the_workers_sum_is_consistent() -> None:
    check = dw.TallyCheck(merged=30, tallies=(dw.WorkerTally(10, 10), dw.WorkerTally(20, 20)))
    assert check.ok
    assert check.describe() == "workers recorded 10 + 20 = 30 requests; the merged result counts 30"
    assert check.to_json()["consistent"] is True


def test_a_lost_sample_fails_the_check() -> None:
    check = dw.TallyCheck(merged=29, tallies=(dw.WorkerTally(10, 10), dw.WorkerTally(20, 20)))
    assert not check.ok
    assert "1 samples lost or counted twice" in check.describe()


def test_a_worker_without_a_tally_fails_the_check() -> None:
    check = dw.TallyCheck(merged=10, tallies=(dw.WorkerTally(10, 10), None))
    assert not check.ok
    assert "no tally from worker 1" in check.describe()


def test_merged_requests_count_failures_too() -> None:
    names = {"a": {"requests": 5, "failures": 2}, "b": {"requests": 3, "failures": 0}}
    assert dw.merged_requests(names) == 8


# -- usage errors, before anything starts -------------------------------------------------------------


@pytest.fixture
def app() -> typer.Typer:
    return area_app(register)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--workers", "2", "--worker-backend", "k8s"),
            "'k8s' is not a backend: use process or docker",
        ),
        (("--worker-backend", "docker"), "--worker-backend docker needs --workers K"),
        (("--master", "--worker-backend", "docker"), "--worker-backend docker needs --workers K"),
        (
            ("--workers", "2", "--worker-backend", "docker", "--out", "json=r.jsonl"),
            "--out json=FILE is written by the workers",
        ),
        (("--workers", "2", "--worker-backend", "docker"), "the worker containers cannot reach http://127.0.0.1:9"),
    ],
)
def test_usage_errors_exit_2_before_any_container(
    app: typer.Typer, args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, ["load", "shop", *args, "--target", "http://127.0.0.1:9", "--state-dir", str(tmp_path)]
    )
    output = result.stderr + result.stdout
    assert result.exit_code == 2, output
    assert message in " ".join(output.split()), output
    assert "Traceback" not in output


def test_no_docker_engine_exits_2_naming_the_fix(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gauntlet.stack.docker import engine

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setattr(engine, "_client", None)
    args = ["load", "shop", "--workers", "2", "--worker-backend", "docker", "--target", "http://10.0.0.9:9"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "run"), "--state-dir", str(tmp_path)])
    output = " ".join((result.stderr + result.stdout).split())
    assert result.exit_code == 2, output
    assert "no Docker engine answers" in output and "start the Docker engine" in output, output


# -- is the image built from this checkout's load code? ---------------------------------------------


def test_the_source_digest_is_the_build_scripts(tmp_path: Path) -> None:
    for rel, text in {
        "a.py": "1",
        "a_b.py": "2",
        "B.py": "3",
        "profiles/x.py": "4",
        "slo.yaml": "5",
        "README.md": "not code",
        "__pycache__/a.cpython-311.pyc": "cache",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    script = Path(__file__).parents[2] / "docker" / "load-source-digest.sh"
    built = subprocess.run([str(script), str(tmp_path)], capture_output=True, text=True, check=True).stdout.strip()
    assert dw.source_digest(tmp_path) == built
    (tmp_path / "profiles" / "x.py").write_text("changed")
    assert dw.source_digest(tmp_path) != built
    (tmp_path / "README.md").write_text("docs change nothing")
    (tmp_path / "profiles" / "x.py").write_text("4")
    assert dw.source_digest(tmp_path) == built


def test_an_image_from_other_sources_is_stale() -> None:
    assert dw.stale_image({dw.SOURCE_LABEL: "abc"}, "def")
    assert not dw.stale_image({dw.SOURCE_LABEL: "abc"}, "abc")
    assert not dw.stale_image({}, "abc")  # built some other way: cannot tell
    assert not dw.stale_image({dw.SOURCE_LABEL: "unknown"}, "abc")


def test_a_run_whose_merged_count_differs_from_the_workers_exits_2(tmp_path: Path) -> None:
    from gauntlet.load.cli import _judge_tallies

    lost = dw.TallyCheck(merged=29, tallies=(dw.WorkerTally(10, 10), dw.WorkerTally(20, 20)))
    assert _judge_tallies(0, lost, tmp_path, interrupted=False) == 2
    assert json.loads((tmp_path / "workers.json").read_text())["consistent"] is False
    assert _judge_tallies(1, lost, tmp_path, interrupted=True) == 1  # interrupted: a note only, the run keeps its code
    whole = dw.TallyCheck(merged=30, tallies=(dw.WorkerTally(10, 10), dw.WorkerTally(20, 20)))
    assert _judge_tallies(0, whole, tmp_path, interrupted=False) == 0
    assert _judge_tallies(1, whole, tmp_path, interrupted=False) == 1
    assert json.loads((tmp_path / "workers.json").read_text())["workers_requests"] == 30
