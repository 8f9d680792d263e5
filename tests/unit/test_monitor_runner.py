"""The monitor loop with recording fakes and a fake clock: alerts, retries, schedule, retention, publishing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gauntlet.journeys.monitor.alerts import Delivery
from gauntlet.journeys.monitor.fakes import START, FakeClock, RecordingSink, ScriptedJourneys, StaticProber, outcomes
from gauntlet.journeys.monitor.history import History
from gauntlet.journeys.monitor.model import HEALTH_CHECK, JourneyAttempt, ProbeResult
from gauntlet.journeys.monitor.runner import (
    LoopReport,
    Monitor,
    MonitorBusy,
    MonitorConfig,
    exclusive,
    expired_artifact_dirs,
)
from gauntlet.journeys.monitor.schedule import Schedule
from gauntlet.journeys.monitor.status import AlertPolicy

DAY = 86400.0


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    with History(tmp_path / "history.sqlite3") as store:
        yield store


def config(tmp_path: Path, **overrides: Any) -> MonitorConfig:
    values: dict[str, Any] = {
        "target": "http://127.0.0.1:9",
        "journeys": ("seller",),
        "schedule": Schedule(every_s=60, max_runs=1),
        "policy": AlertPolicy(fail_after=3, cooldown_s=1800),
        "retries": 0,
        "artifacts_dir": tmp_path / "artifacts",
        "page_path": tmp_path / "page" / "status.html",
        "metrics_path": tmp_path / "page" / "metrics.prom",
    }
    values.update(overrides)
    return MonitorConfig(**values)


class Rig:
    """A monitor wired to fakes; `loop(n)` runs n scheduled runs."""

    def __init__(self, tmp_path: Path, history: History, script: dict[str, list[bool]], **overrides: Any) -> None:
        self.clock = FakeClock()
        self.journeys = ScriptedJourneys(self.clock, script, write_evidence=True)
        self.prober = StaticProber()
        self.sink = RecordingSink()
        self.tmp_path = tmp_path
        self.history = history
        self.overrides = overrides

    def loop(self, runs: int, **overrides: Any) -> LoopReport:
        cfg = config(self.tmp_path, **{"schedule": Schedule(every_s=60, max_runs=runs), **self.overrides, **overrides})
        monitor = Monitor(
            cfg, journeys=self.journeys, prober=self.prober, history=self.history, sink=self.sink,
            clock=self.clock, draw=lambda: 0.0,
        )  # fmt: skip
        return monitor.run()


def test_red_after_k_failures_with_exactly_one_alert_and_one_recovery_alert(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(0, 0, 0, 0, 0, 1, 1)})
    report = rig.loop(7)
    assert [r.colour for r in report.runs] == ["yellow", "yellow", "red", "red", "red", "green", "green"]
    assert [[a.kind for a in r.alerts] for r in report.runs] == [[], [], ["red"], [], [], ["recovered"], []]
    assert len(rig.sink.payloads) == 2
    assert "RED: seller" in rig.sink.texts()[0] and "after 3 consecutive failures" in rig.sink.texts()[0]
    assert "recovered: seller" in rig.sink.texts()[1]
    assert [(a["kind"], a["delivered"]) for a in history.alerts_since(0)] == [("red", 1), ("recovered", 1)]


def test_a_retry_rescues_the_run_but_shows_yellow(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(0, 1)}, retries=1)
    (run,) = rig.loop(1).runs
    assert len(rig.journeys.calls) == 2
    assert run.colour == "yellow" and run.record.outcomes[0].verdict == "degraded"
    assert run.states["seller"].reasons == ("passed on attempt 2 (retry needed)",)
    assert rig.sink.payloads == []


def test_retries_are_configurable_and_the_last_attempt_decides(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(0)}, retries=2, policy=AlertPolicy(fail_after=1))
    (run,) = rig.loop(1).runs
    assert len(rig.journeys.calls) == 3
    assert run.colour == "red" and len(rig.sink.payloads) == 1


def test_every_attempt_gets_the_target_and_the_shared_artifacts_folder(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(1), "returning_user": outcomes(1)})
    rig.loop(1, journeys=("returning_user", "seller"))
    assert [(c.name, c.target, c.artifacts_dir) for c in rig.journeys.calls] == [
        ("returning_user", "http://127.0.0.1:9", tmp_path / "artifacts"),
        ("seller", "http://127.0.0.1:9", tmp_path / "artifacts"),
    ]


def test_no_repeat_within_the_cooldown_while_flapping(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(*[0, 0, 0, 1] * 4, 1)})
    rig.loop(17)
    assert len(rig.sink.payloads) == 2  # one red, one recovery; three more incidents inside 30 min stay quiet


def test_alerts_for_several_checks_in_one_run_go_in_one_message(tmp_path: Path, history: History) -> None:
    rig = Rig(
        tmp_path, history, {"seller": outcomes(0), "returning_user": outcomes(0)}, policy=AlertPolicy(fail_after=1)
    )
    rig.loop(1, journeys=("returning_user", "seller"))
    assert len(rig.sink.payloads) == 1
    assert "RED: returning_user, seller" in rig.sink.texts()[0]


def test_degraded_health_is_yellow_and_down_health_turns_red_after_k(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(1)})
    degraded = (ProbeResult(name="vw_discovery_queue_health", status="degraded", detail="queued p95 age 412s > 300s"),)
    down = (ProbeResult(name="health", status="down", detail="ConnectError"),)
    rig.prober.script = [degraded, down, down, down]
    report = rig.loop(4)
    assert [r.colour for r in report.runs] == ["yellow", "yellow", "yellow", "red"]
    assert report.runs[0].states[HEALTH_CHECK].reasons == (
        "vw_discovery_queue_health degraded: queued p95 age 412s > 300s",
    )
    assert [a.check for a in report.runs[3].alerts] == [HEALTH_CHECK]
    assert [r.record.ok for r in report.runs] == [True, False, False, False]


def test_without_probes_there_is_no_health_check(tmp_path: Path, history: History) -> None:
    clock = FakeClock()
    monitor = Monitor(
        config(tmp_path), journeys=ScriptedJourneys(clock, {"seller": outcomes(1)}), prober=None, history=history,
        sink=RecordingSink(), clock=clock,
    )  # fmt: skip
    (run,) = monitor.run().runs
    assert set(run.states) == {"seller"} and run.record.probes == ()


def test_a_crashing_journey_runner_is_a_failed_journey_not_a_dead_loop(tmp_path: Path, history: History) -> None:
    class Exploding:
        def run(self, name: str, *, target: str, artifacts_dir: Path) -> Any:
            raise RuntimeError("chromium vanished")

    monitor = Monitor(
        config(tmp_path, schedule=Schedule(every_s=60, max_runs=3), policy=AlertPolicy(fail_after=3)),
        journeys=Exploding(), prober=None, history=history, sink=RecordingSink(), clock=FakeClock(), draw=lambda: 0.0,
    )  # fmt: skip
    report = monitor.run()
    assert [r.colour for r in report.runs] == ["yellow", "yellow", "red"]
    assert report.runs[-1].states["seller"].reasons == ("runner raised RuntimeError: chromium vanished",)


def test_a_crashing_prober_reports_health_down(tmp_path: Path, history: History) -> None:
    class Exploding:
        def probe(self) -> tuple[ProbeResult, ...]:
            raise OSError("no route")

    clock = FakeClock()
    monitor = Monitor(
        config(tmp_path), journeys=ScriptedJourneys(clock, {"seller": outcomes(1)}), prober=Exploding(),
        history=history, sink=RecordingSink(), clock=clock,
    )  # fmt: skip
    (run,) = monitor.run().runs
    assert run.record.probes[0].status == "down" and "OSError: no route" in run.record.probes[0].detail


def test_an_undelivered_alert_is_sent_again_next_run_and_then_only_once(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(0)}, policy=AlertPolicy(fail_after=1))
    rig.sink.refuse = 1
    report = rig.loop(4)
    assert [len(r.alerts) for r in report.runs] == [1, 1, 0, 0]
    assert [r.delivery.delivered if r.delivery else None for r in report.runs] == [False, True, None, None]
    assert [a["delivered"] for a in history.alerts_since(0)] == [0, 1]


def test_a_sink_that_raises_does_not_stop_the_loop(tmp_path: Path, history: History) -> None:
    class Raising:
        def send(self, payload: dict[str, Any]) -> Delivery:
            raise RuntimeError("bug in sink")

    clock = FakeClock()
    monitor = Monitor(
        config(tmp_path, schedule=Schedule(every_s=60, max_runs=2), policy=AlertPolicy(fail_after=1)),
        journeys=ScriptedJourneys(clock, {"seller": outcomes(0)}), prober=None, history=history, sink=Raising(),
        clock=clock,
    )  # fmt: skip
    report = monitor.run()
    assert len(report.runs) == 2
    assert report.runs[0].delivery == Delivery(delivered=False, error="RuntimeError: bug in sink")


def test_flap_memory_survives_a_new_process_per_run(tmp_path: Path) -> None:
    """As under cron: each invocation is one run with a fresh Monitor on the same history file."""
    colours, alerts = [], 0
    script = outcomes(0, 0, 0, 1)
    for _ in range(4):
        with History(tmp_path / "history.sqlite3") as store:
            rig = Rig(tmp_path, store, {"seller": [script.pop(0)]})
            (run,) = rig.loop(1).runs
            colours.append(run.colour)
            alerts += len(rig.sink.payloads)
    assert colours == ["yellow", "yellow", "red", "green"]
    assert alerts == 2


def test_runs_never_overlap_and_overruns_skip_slots(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(1)})
    rig.journeys.takes_s = 150  # each run takes 2.5 periods
    report = rig.loop(3)
    starts = [c.at for c in rig.journeys.calls]
    assert starts == [START, START + 180, START + 360]
    assert [r.record.skipped_slots for r in report.runs] == [0, 2, 2]
    ends = [r.record.finished_at for r in report.runs]
    assert all(start >= end for start, end in zip(starts[1:], ends, strict=False))


def test_jitter_delays_each_start_within_its_slot(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(1)})
    cfg = config(tmp_path, schedule=Schedule(every_s=60, jitter_s=10, max_runs=3))
    draws = iter([0.5, 0.1, 0.9, 0.0])
    Monitor(
        cfg, journeys=rig.journeys, prober=None, history=history, sink=rig.sink, clock=rig.clock,
        draw=lambda: next(draws),
    ).run()  # fmt: skip
    assert [c.at - START for c in rig.journeys.calls] == [5.0, 61.0, 129.0]


def test_for_bounds_the_loop_in_time(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(1)})
    report = rig.loop(1000, schedule=Schedule(every_s=60, max_duration_s=600))
    assert len(report.runs) == 10 and rig.clock.now - START < 600 + 60


def test_a_stop_request_ends_the_loop_between_runs(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(1)})
    rig.clock.stop_after_sleeps = 3  # the first sleep is the zero wait before run 1
    report = rig.loop(100, schedule=Schedule(every_s=60))
    assert report.stopped_early and len(report.runs) == 2


def test_final_colour_of_an_empty_loop_is_green() -> None:
    assert LoopReport().final_colour == "green"


def test_each_run_rewrites_the_page_and_the_metrics_file(tmp_path: Path, history: History) -> None:
    rig = Rig(tmp_path, history, {"seller": outcomes(0, 0, 0)})
    rig.loop(3)
    html = (tmp_path / "page" / "status.html").read_text()
    assert 'data-status="red"' in html
    assert html.count('data-testid="failure"') == 3
    assert 'href="../artifacts/seller-' in html  # screenshot links relative to the page
    prom = (tmp_path / "page" / "metrics.prom").read_text()
    assert 'gauntlet_monitor_status{check="seller"} 2.0' in prom
    assert not list((tmp_path / "page").glob(".*.tmp"))


def test_retention_prunes_old_history_and_only_journey_run_folders(tmp_path: Path, history: History) -> None:
    artifacts = tmp_path / "artifacts"
    old_run = artifacts / "seller-20231101T000000Z-abc123"
    foreign = artifacts / "keep-me"
    for folder in (old_run, foreign):
        folder.mkdir(parents=True)
    (artifacts / "accounts.json").write_text("{}")
    old = START - 30 * DAY
    for path in (old_run, foreign, artifacts / "accounts.json"):
        os.utime(path, (old, old))
    rig = Rig(tmp_path, history, {"seller": outcomes(1)}, retention_s=14 * DAY)
    rig.clock.now = START - 20 * DAY
    rig.loop(1)  # a run that is already past retention when the next one happens
    rig.clock.now = START
    rig.loop(1)
    assert history.run_count() == 1
    assert not old_run.exists()
    assert foreign.exists() and (artifacts / "accounts.json").exists()


def test_a_passing_attempts_folder_is_dropped_and_a_failing_ones_kept(tmp_path: Path, history: History) -> None:
    artifacts = tmp_path / "artifacts"
    passed, failed, outside = artifacts / "seller-pass", artifacts / "seller-fail", tmp_path / "elsewhere"
    for folder in (passed, failed, outside):
        folder.mkdir(parents=True)
    results = iter([(False, failed), (True, passed)])

    class Recording:
        def run(self, name: str, *, target: str, artifacts_dir: Path) -> JourneyAttempt:
            ok, folder = next(results)
            return JourneyAttempt(name=name, ok=ok, started_at=START, duration_ms=1.0, artifacts_dir=str(folder))

    monitor = Monitor(
        config(tmp_path, retries=1), journeys=Recording(), prober=None, history=history, sink=RecordingSink(),
        clock=FakeClock(),
    )  # fmt: skip
    (run,) = monitor.run().runs
    assert run.colour == "yellow"
    assert not passed.exists() and failed.exists() and outside.exists()


def test_a_folder_outside_the_artifacts_root_is_never_removed(tmp_path: Path, history: History) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    class Passing:
        def run(self, name: str, *, target: str, artifacts_dir: Path) -> JourneyAttempt:
            return JourneyAttempt(name=name, ok=True, started_at=START, duration_ms=1.0, artifacts_dir=str(outside))

    Monitor(
        config(tmp_path), journeys=Passing(), prober=None, history=history, sink=RecordingSink(), clock=FakeClock()
    ).run()
    assert outside.exists()


def test_expired_artifact_dirs_is_pure_and_conservative() -> None:
    entries = [("seller-a", 10.0), ("seller-b", 100.0), ("sellers", 1.0), ("returning_user-x", 1.0), ("seller", 1.0)]
    assert expired_artifact_dirs(entries, journeys=("seller", "returning_user"), before=50.0) == [
        "returning_user-x",
        "seller-a",
    ]


def test_only_one_monitor_per_history_file(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    busy = pytest.raises(MonitorBusy, match=rf"pid {os.getpid()}\) is using .*history.sqlite3")
    with exclusive(path), busy, exclusive(path):
        pass
    with exclusive(path):  # released after use
        pass


def test_negative_retries_are_refused(tmp_path: Path, history: History) -> None:
    with pytest.raises(ValueError, match="retries"):
        Monitor(
            config(tmp_path, retries=-1), journeys=ScriptedJourneys(FakeClock(), {}), prober=None, history=history,
            sink=RecordingSink(), clock=FakeClock(),
        )  # fmt: skip
