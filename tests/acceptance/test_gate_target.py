"""`gauntlet gate --target`: a dead URL fails fast with exit 2; phases that cannot run are skipped, never passed."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gauntlet.gate.config import load_profile
from gauntlet.gate.runner import _skipped_on_remote
from tests.acceptance.cli_harness import Cli

pytestmark = pytest.mark.acceptance


def test_an_unreachable_target_exits_2_within_10_seconds_naming_the_url(cli: Cli, tmp_path: Path) -> None:
    started = time.monotonic()
    proc = cli.run("gate", "--profile", "ci", "--target", "http://127.0.0.1:1", "--out", str(tmp_path), timeout=60)
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    assert "http://127.0.0.1:1" in proc.stderr and "unreachable" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert elapsed < 10, f"took {elapsed:.1f} s"


def test_an_unknown_phase_in_skip_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    proc = cli.run("gate", "--skip", "smok", "--target", "http://127.0.0.1:1", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "--skip smok: not a gate phase" in proc.stderr


def test_phases_a_remote_target_cannot_run_are_skipped_and_fail_unless_waived() -> None:
    seen: list[tuple[str, str]] = []
    profile = load_profile("ci")
    checks = _skipped_on_remote(profile, frozenset(), lambda phase, status, _: seen.append((phase, status)))
    # a bare URL does not allow sign-ups: the journey that signs up on every run is left out, saying so
    assert {c.name.split()[2] for c in checks} == {"smoke", "drills", "journey"}
    assert all(c.skipped and not c.passed and not c.waived for c in checks)
    assert ("smoke", "skipped") in seen and ("drills", "skipped") in seen
    assert ("journey signup_to_notification", "skipped") in seen
    waived = _skipped_on_remote(profile, frozenset({"smoke", "drills", "journeys"}), lambda *_: None)
    assert all(c.skipped and c.waived for c in waived)


def test_junit_shows_a_skipped_phase_as_skipped_not_passed() -> None:
    from datetime import UTC, datetime

    from gauntlet.reports.junit import junit_xml
    from gauntlet.reports.model import Run

    now = datetime.now(UTC)
    (skipped,) = _skipped_on_remote(load_profile("ci").__class__(name="x", smoke=True), frozenset(), lambda *_: None)
    run = Run(id="r", started_at=now, finished_at=now, target="t", profile="x", checks=[skipped])
    assert run.verdict == "failed"
    case = next(ET.fromstring(junit_xml(run)).iter("testcase"))
    assert case.find("skipped") is not None and case.find("failure") is None
