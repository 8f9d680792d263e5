"""Building the Locust commands and reading progress: no processes started here."""

from __future__ import annotations

from pathlib import Path

from gauntlet.load.runner import (
    LOCUSTFILE,
    STACK_MARKER,
    USERS_ENV,
    LocustLaunch,
    ProgressFeed,
    locust_env,
    master_command,
    worker_command,
    write_private,
)


def launch(**kw: object) -> LocustLaunch:
    base: dict[str, object] = {
        "mode": "local",
        "user_classes": ("HomeForYouUser",),
        "target": "http://127.0.0.1:9",
        "out_dir": Path("/tmp/out"),
    }
    base.update(kw)
    return LocustLaunch(**base)  # type: ignore[arg-type]


def test_local_command_is_headless_with_our_locustfile_csv_and_plan() -> None:
    cmd = master_command(launch(), Path("/tmp/out/plan.json"))
    assert cmd[1:4] == ["-m", "locust", "-f"] and cmd[4] == str(LOCUSTFILE)
    assert "--headless" in cmd and "--master" not in cmd
    assert cmd[cmd.index("--host") + 1] == "http://127.0.0.1:9"
    assert cmd[cmd.index("--csv") + 1] == "/tmp/out/locust"
    assert cmd[cmd.index("--gauntlet-plan") + 1] == "/tmp/out/plan.json"
    assert "--gauntlet-users" not in cmd  # the user config (API key) travels in the environment
    assert cmd[-1] == "HomeForYouUser"
    assert LOCUSTFILE.exists()


def test_workers_command_is_a_master_expecting_k_on_loopback() -> None:
    cmd = master_command(launch(mode="workers", workers=3, master_port=6001), Path("p"))
    assert "--master" in cmd
    assert cmd[cmd.index("--expect-workers") + 1] == "3"
    assert cmd[cmd.index("--master-bind-host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--master-bind-port") + 1] == "6001"
    worker = worker_command(launch(mode="workers", workers=3, master_port=6001), 2)
    assert "--worker" in worker and worker[worker.index("--master-port") + 1] == "6001"
    assert worker[worker.index("--logfile") + 1].endswith("locust-worker-2.log")


def test_ui_mode_is_not_headless() -> None:
    cmd = master_command(launch(ui=True, web_port=8123), Path("p"))
    assert "--headless" not in cmd
    assert cmd[cmd.index("--web-port") + 1] == "8123"
    assert cmd[cmd.index("--web-host") + 1] == "127.0.0.1"


def test_progress_feed_reads_only_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    feed = ProgressFeed(path)
    assert feed.poll() is None  # not there yet
    path.write_text('{"t_s": 1.0}\n{"t_s": 2.0}\n{"t_s": 3')
    assert feed.poll() == {"t_s": 2.0}
    with path.open("a") as handle:
        handle.write(".0}\nnot json\n")
    assert feed.poll() == {"t_s": 3.0}
    assert feed.poll() == {"t_s": 3.0}


def test_secrets_and_the_stack_marker_travel_in_the_environment() -> None:
    env = locust_env(launch(stack_marker="/tmp/state"), {USERS_ENV: '{"api_key": "k"}'})
    assert env[USERS_ENV] == '{"api_key": "k"}' and env[STACK_MARKER] == "/tmp/state"
    assert STACK_MARKER not in locust_env(launch()) or locust_env(launch())[STACK_MARKER] != "/tmp/state"


def test_private_files_are_0600_from_creation(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "new")
    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_locustfile_runs_next_to_gauntlets_measurement_with_its_tags() -> None:
    from gauntlet.load.runner import MEASURE_LOCUSTFILE

    mine = Path("/tmp/mine/locustfile.py")
    cmd = master_command(
        launch(locustfiles=(MEASURE_LOCUSTFILE, mine), user_classes=("Reader",), tags=("a", "b"), exclude_tags=("c",)),
        Path("/tmp/out/plan.json"),
    )
    assert cmd[4] == f"{MEASURE_LOCUSTFILE},{mine}"
    # Each tag option takes values up to the next option: never next to the class names.
    assert cmd[5:11] == ["--tags", "a", "b", "--exclude-tags", "c", "--host"]
    assert cmd[-1] == "Reader"
    worker = worker_command(launch(locustfiles=(MEASURE_LOCUSTFILE, mine)), 0)
    assert worker[4] == f"{MEASURE_LOCUSTFILE},{mine}" and "--tags" not in worker  # the master forwards tags
    assert MEASURE_LOCUSTFILE.exists()
