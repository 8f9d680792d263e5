"""The gate's live table: elapsed time ticks while a phase runs, the duration stays, the load shows its progress."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from gauntlet.gate.cli import LiveTable
from gauntlet.gate.config import load_profile
from gauntlet.gate.phases import build_phases, steps_file
from gauntlet.progress import PROGRESS_ENV, StepEvent, step_figure, step_reporter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def text(view: LiveTable) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(view.render())
    return console.export_text()


def row(rendered: str, phase: str) -> list[str]:
    (line,) = [line for line in rendered.splitlines() if f" {phase} " in line]
    return [cell.strip() for cell in line.strip("│┃ ").split("│")]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("gauntlet.gate.cli.time.monotonic", fake)
    return fake


def test_elapsed_ticks_while_running_and_the_duration_stays(clock: Clock, tmp_path: Path) -> None:
    view = LiveTable(title="gauntlet gate --profile ci", load_dir=tmp_path / "load")
    view.progress("smoke", "running", "")
    clock.now += 7
    assert row(text(view), "smoke")[:3] == ["smoke", "running", "7"]
    clock.now += 5
    assert row(text(view), "smoke")[2] == "12"  # redrawn on every refresh, not only between phases
    view.progress("smoke", "passed", "15/15 sections")
    clock.now += 30
    assert row(text(view), "smoke") == ["smoke", "passed", "12", "15/15 sections"]
    assert "(42 s)" in text(view)  # the title's timer counts too


def test_the_load_phase_shows_users_rps_p95_errors_and_time_left(clock: Clock, tmp_path: Path) -> None:
    load_dir = tmp_path / "load"
    load_dir.mkdir()
    progress = load_dir / "progress.jsonl"
    progress.write_text(json.dumps({"t_s": 99, "users": 1, "requests": 1, "failures": 1}) + "\n")  # an earlier run
    view = LiveTable(title="gate", load_dir=load_dir)
    view.progress("load", "running", "")
    assert row(text(view), "load")[3] == "starting Locust"
    (load_dir / "plan.json").write_text(json.dumps({"stages": [{"until_s": 60.0, "users": 10, "spawn_rate": 1.0}]}))
    with progress.open("a") as handle:
        line = {"t_s": 20.0, "users": 10, "requests": 400, "failures": 4, "rps": 19.5, "p95_ms": 123.4}
        handle.write(json.dumps(line) + "\n")
    clock.now += 21
    figure = row(text(view), "load")[3]
    assert figure == "users 10 · 19.5 rps · p95 123 ms · errors 4 (1.0 %) · 40 s left"
    view.progress("load", "failed", "p95 612 ms > 500 ms")
    assert row(text(view), "load")[3] == "p95 612 ms > 500 ms"


@pytest.mark.parametrize("phase", ["drills", "journeys"])
def test_drills_and_journeys_show_which_one_and_which_step(
    phase: str, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = Clock()
    monkeypatch.setattr("gauntlet.progress.time.time", wall)
    report = step_reporter(steps_file(tmp_path, phase))
    report("earlier-run (1/1)", "passed (completed)")  # a file left by an earlier gate in the same --out
    view = LiveTable(title="gate", load_dir=tmp_path / "load", out_dir=tmp_path)
    view.progress(phase, "running", "")
    assert row(text(view), phase)[3] == "starting"
    report("replica-loss (1/2)", "fault injected (stop replica)")
    wall.now += 4
    clock.now += 4
    assert row(text(view), phase)[3] == "replica-loss (1/2) · fault injected (stop replica) (4 s)"
    report("replica-loss (1/2)", "recovering: waiting for the steady state")
    assert row(text(view), phase)[3] == "replica-loss (1/2) · recovering: waiting for the steady state (0 s)"
    clock.now += 10
    view.progress(phase, "passed", "2/2 passed")
    assert row(text(view), phase) == [phase, "passed", "14", "2/2 passed"]


def test_the_gate_passes_the_steps_file_to_drills_and_journeys(tmp_path: Path) -> None:
    profile = load_profile("ci", None)
    phases = build_phases(profile, target="http://127.0.0.1:1", state_dir=tmp_path, out_dir=tmp_path, embedded=True)
    envs = {p.name: p.env.get(PROGRESS_ENV) for p in phases}
    assert envs["drills"] == str(steps_file(tmp_path, "drills"))
    assert envs["journeys"] == str(steps_file(tmp_path, "journeys"))


def test_step_figure_before_any_step_and_after() -> None:
    assert step_figure(None, 10.0) == "starting"
    assert step_figure(StepEvent("checkout (2/3)", "pay", at=5.0), 12.4) == "checkout (2/3) · pay (7 s)"
