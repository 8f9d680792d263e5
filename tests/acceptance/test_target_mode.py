"""Target mode end to end: stack A plays staging; another state dir drives it only through a target file.

- `gauntlet up` writes A's target file; `target accounts create` and `target check` work from it;
- `gauntlet gate --target FILE` (a light profile with every phase) runs smoke, acceptance, load, a drill
  through the mapped Toxiproxy and a journey, and passes; with one protection broken (unbounded waits
  for the primary) the same gate fails;
- a target file whose API is dead exits 2 within 10 s;
- a mapped proxy outside the platform's path makes the drill inconclusive, never passed.
"""

from __future__ import annotations

import json
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from tests.acceptance.cli_harness import Cli

pytestmark = pytest.mark.acceptance

PROFILES = """
[profile.target]
description = "every phase, light"
smoke = true
acceptance = ["access.anon_sees_nothing_personal", "actions.max_three_sorted_by_weight"]
drills = ["db-latency"]
journeys = ["returning_user"]
slo = ""

[profile.target.load]
profile = "suggestions"
scenario = "smoke"
users = 3
duration = "10s"

[profile.drill]
description = "the drill only"
drills = ["db-latency"]
"""


def _gate(cli: Cli, state_dir: Path, *args: str, timeout: float = 600) -> tuple[int, str, Path]:
    out = state_dir / f"out-{time.monotonic_ns()}"
    proc = cli.run("gate", *args, "--out", str(out), timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr, out


def test_a_deployment_driven_only_by_its_target_file(cli: Cli, tmp_path: Path) -> None:
    assert cli.run("up", timeout=180).returncode == 0
    stack_file = cli.state_dir / "gauntlet-target.toml"
    assert stack_file.stat().st_mode & 0o077 == 0
    status = json.loads(cli.run("status", "--json").stdout)
    assert status["target_file"] == str(stack_file) and "service_key" not in status

    # Another checkout: only the target file (copied) and its own state dir.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "gauntlet-target.toml"
    shutil.copy(stack_file, target)
    other = Cli(elsewhere / "state")
    made = other.run("target", "accounts", "create", "--count", "12", "--target-file", str(target))
    assert made.returncode == 0, made.stderr
    assert "accounts_file" in target.read_text()
    checked = other.run("target", "check", "--target-file", str(target))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "proxy primary_db" in checked.stdout

    profiles = elsewhere / "profiles.toml"
    profiles.write_text(PROFILES)
    code, err, out = _gate(other, elsewhere, "--profile", "target", "--config", str(profiles), "--target", str(target))
    assert code == 0, err
    junit = ET.parse(out / "junit.xml")
    assert not list(junit.iter("failure")) and not list(junit.iter("skipped"))
    names = {case.get("name") or "" for case in junit.iter("testcase")}
    for phase in ("smoke", "acceptance", "load", "drills", "journeys"):
        assert f"gate phase {phase} ran" in names, names
    journals = list((out / "drills").glob("*.json"))
    assert journals and json.loads(journals[0].read_text())["verdict"] == "passed"

    # A mapped proxy the platform does not use: the fault cannot land, so the drill is inconclusive.
    toxiproxy = cli.state()["toxiproxy_url"]
    primary_port = str(cli.state()["direct"]["primary_dsn"]).rsplit(":", 1)[1].split("/")[0]  # type: ignore[index]
    httpx.post(
        f"{toxiproxy}/proxies",
        json={"name": "pg_unused", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{primary_port}"},
    ).raise_for_status()
    wrong = elsewhere / "wrong.toml"
    wrong.write_text(target.read_text().replace('primary_db = "pg_primary"', 'primary_db = "pg_unused"'))
    journal_dir = elsewhere / "journals"
    ran = other.run(
        "chaos", "run", "db-latency", "--target", str(wrong), "--journal-dir", str(journal_dir), timeout=300
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "INCONCLUSIVE" in ran.stdout
    journal = json.loads(next(journal_dir.glob("*.json")).read_text())
    assert journal["verdict"] == "inconclusive" and not journal["passed"]
    assert journal["evidence"]["traffic"][0]["landed"] is False
    assert other.run("target", "check", "--target-file", str(wrong)).returncode == 1

    # One protection broken (waits for the primary unbounded): the same drill, through the target, fails the gate.
    broken = cli.run(
        "restart", "api", "--env", "GAUNTLET_CONNECT_TIMEOUT_S=120", "--env", "GAUNTLET_STATEMENT_TIMEOUT_MS=600000"
    )
    assert broken.returncode == 0, broken.stderr
    try:
        code, err, _ = _gate(other, elsewhere, "--profile", "drill", "--config", str(profiles), "--target", str(target))
        assert code == 1, err
    finally:
        cli.run("restart", "api", "--env", "GAUNTLET_CONNECT_TIMEOUT_S=", "--env", "GAUNTLET_STATEMENT_TIMEOUT_MS=")

    # A dead API in the target file: exit 2, within 10 s, naming the URL.
    dead = elsewhere / "dead.toml"
    dead.write_text(target.read_text().replace(str(status["api_url"]).rstrip("/"), "http://127.0.0.1:1"))
    started = time.monotonic()
    code, err, _ = _gate(other, elsewhere, "--profile", "target", "--config", str(profiles), "--target", str(dead))
    assert code == 2 and "http://127.0.0.1:1" in err and "unreachable" in err
    assert time.monotonic() - started < 10


def test_a_bad_target_file_is_exit_2_naming_the_key(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text('api_url = "http://127.0.0.1:1"\nservce_key = "k"\n')
    for args in (("gate", "--target", str(bad)), ("target", "check", "--target-file", str(bad))):
        proc = cli.run(*args)
        assert proc.returncode == 2
        assert "unknown key `servce_key`" in proc.stderr and "Traceback" not in proc.stderr
