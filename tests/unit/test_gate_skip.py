"""`gauntlet gate --skip drills:NAME`: one drill waived (its reason kept in JUnit), the others still required."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gauntlet.gate.cli import _skips
from gauntlet.gate.config import GateProfile
from gauntlet.gate.phases import build_phases
from gauntlet.gate.runner import _drills_skipped_by_request, _skipped_on_remote
from gauntlet.reports.checks import Check
from gauntlet.reports.junit import junit_xml
from gauntlet.reports.model import Run
from gauntlet.target import Target

PROFILE = GateProfile(name="t", smoke=False, drills=("worker-crash", "redis-stall", "db-latency"))
# Toxiproxy with only the primary mapped: worker-crash needs process control, redis-stall a redis proxy.
SPEC = Target(
    api_url="http://staging.example",
    service_key="k",
    dsn="postgresql://gauntlet@db/postgres",
    toxiproxy_url="http://toxiproxy:8474",
    proxies={"primary_db": "pg_primary"},
)


def _rows(checks: list[Check]) -> dict[str, Check]:
    return {c.name.removeprefix("gate phase "): c for c in checks}


def test_a_drill_named_in_skip_is_waived_with_its_reason_and_the_others_still_fail() -> None:
    rows = _rows(_skipped_on_remote(PROFILE, frozenset({"drills:worker-crash"}), lambda *_: None, spec=SPEC))
    assert set(rows) == {"drill worker-crash", "drill redis-stall"}  # db-latency can run: not listed
    crash, redis = rows["drill worker-crash"], rows["drill redis-stall"]
    assert crash.skipped and crash.waived and not crash.passed
    assert "process control" in crash.message and "waived: --skip drills:worker-crash" in crash.message
    assert redis.skipped and not redis.waived  # still fails the gate
    assert "--skip drills:redis-stall" in redis.message  # and says how to waive it alone
    run = Run(id="r", started_at=_now(), finished_at=_now(), target="t", profile="t", checks=list(rows.values()))
    assert run.verdict == "failed"


def test_without_the_waiver_the_drill_that_cannot_run_fails_the_gate() -> None:
    rows = _rows(_skipped_on_remote(PROFILE, frozenset(), lambda *_: None, spec=SPEC))
    assert not rows["drill worker-crash"].waived
    rows = _rows(_skipped_on_remote(PROFILE, frozenset({"drills:redis-stall"}), lambda *_: None, spec=SPEC))
    assert not rows["drill worker-crash"].waived and rows["drill redis-stall"].waived


def test_waiving_each_drill_that_cannot_run_passes_and_junit_shows_them_skipped_with_the_reason() -> None:
    skip = frozenset({"drills:worker-crash", "drills:redis-stall"})
    checks = _skipped_on_remote(PROFILE, skip, lambda *_: None, spec=SPEC)
    run = Run(id="r", started_at=_now(), finished_at=_now(), target="t", profile="t", checks=checks)
    assert run.verdict == "passed"
    cases = {c.get("name"): c for c in ET.fromstring(junit_xml(run)).iter("testcase")}
    skipped = cases["gate phase drill worker-crash"].find("skipped")
    assert skipped is not None and cases["gate phase drill worker-crash"].find("failure") is None
    assert "process control" in (skipped.get("message") or "")
    assert "--skip drills:worker-crash" in (skipped.get("message") or "")


def test_a_bare_url_waives_the_drills_row_only_when_every_drill_is_named() -> None:
    some = _skipped_on_remote(PROFILE, frozenset({"drills:worker-crash"}), lambda *_: None)
    (drills,) = [c for c in some if "drills" in c.name]
    assert not drills.waived
    every = frozenset(f"drills:{d}" for d in PROFILE.drills)
    (drills,) = [c for c in _skipped_on_remote(PROFILE, every, lambda *_: None) if "drills" in c.name]
    assert drills.waived


def test_a_drill_skipped_by_name_is_left_out_of_the_drills_phase(tmp_path: Path) -> None:
    phases = build_phases(
        PROFILE,
        target="http://127.0.0.1:1",
        state_dir=tmp_path,
        out_dir=tmp_path,
        embedded=True,
        skip=frozenset({"drills:worker-crash"}),
    )
    (drills,) = [p for p in phases if p.name == "drills"]
    assert "worker-crash" not in drills.argv and {"redis-stall", "db-latency"} <= set(drills.argv)
    rows = _drills_skipped_by_request(
        PROFILE, frozenset({"drills:worker-crash"}), lambda *_: None, cannot_run=frozenset()
    )
    assert [(c.name, c.waived, c.message) for c in rows] == [
        ("gate phase drill worker-crash", True, "--skip drills:worker-crash")
    ]
    every = frozenset(f"drills:{d}" for d in PROFILE.drills)
    phases = build_phases(PROFILE, target="x", state_dir=tmp_path, out_dir=tmp_path, embedded=True, skip=every)
    assert not [p for p in phases if p.name == "drills"]


def test_a_drill_that_cannot_run_here_is_reported_once_with_its_reason_not_as_a_bare_request() -> None:
    rows = _drills_skipped_by_request(
        PROFILE, frozenset({"drills:worker-crash"}), lambda *_: None, cannot_run=frozenset({"worker-crash"})
    )
    assert rows == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("drils", "--skip drils: not a gate phase"),
        ("drills:no-such", "the t profile runs no drill 'no-such'; its drills are worker-crash, redis-stall"),
        ("smoke:x", "only drills can be skipped one by one"),
        ("drills:", "name the drill"),
    ],
)
def test_a_wrong_skip_is_a_usage_error_naming_the_fix(value: str, message: str) -> None:
    with pytest.raises(Exception, match=message) as caught:  # a GauntletError: exit 2
        _skips([value], PROFILE)
    assert getattr(caught.value, "exit_code", None) == 2


def test_skip_values_are_kept() -> None:
    assert _skips(["smoke", "drills:db-latency"], PROFILE) == frozenset({"smoke", "drills:db-latency"})


def _now() -> datetime:
    return datetime.now(UTC)
