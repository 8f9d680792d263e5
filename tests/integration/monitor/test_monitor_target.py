"""The monitor against a target file: its journeys sign in as the file's accounts and never sign users up.

- The journey child process gets the target's accounts file (in its environment, as `journey run` does).
- Against the embedded stack driven as a target (its target file plus accounts made through the service
  key), two monitor runs of the journeys that need a user pass, and the platform gains no user.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import asyncpg
import httpx
import pytest

from gauntlet.journeys.monitor.journey_adapter import SubprocessJourneys
from gauntlet.stack.state import StackState
from gauntlet.target import render_target_file, stack_target

pytestmark = pytest.mark.integration
STANDIN = [sys.executable, str(Path(__file__).with_name("journey_standin.py"))]


@pytest.mark.timeout(60)
def test_the_journey_process_gets_the_targets_accounts_file(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.json"
    with_accounts = SubprocessJourneys(child=STANDIN, timeout_s=30, accounts_file=accounts)
    assert with_accounts.run("pass", target="http://127.0.0.1:9", artifacts_dir=tmp_path / "a").ok
    assert json.loads((tmp_path / "a" / "seen.json").read_text())["accounts"] == str(accounts)
    assert (
        SubprocessJourneys(child=STANDIN, timeout_s=30)
        .run("pass", target="http://127.0.0.1:9", artifacts_dir=tmp_path / "b")
        .ok
    )
    assert json.loads((tmp_path / "b" / "seen.json").read_text())["accounts"] is None


async def _users(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("select count(*) from auth.users"))
    finally:
        await conn.close()


def _target_file(stack: StackState, folder: Path, count: int) -> Path:
    password = f"Gauntlet-monitor-{uuid.uuid4().hex[:8]}-1"
    made = []
    headers = {"Authorization": f"Bearer {stack.service_key}", "apikey": stack.service_key}
    with httpx.Client(base_url=stack.api_url, timeout=10) as http:
        for _ in range(count):
            email = f"monitor-{uuid.uuid4().hex[:10]}@accounts.gauntlet.test"
            body = {"email": email, "password": password, "email_confirm": True}
            answer = http.post("/auth/v1/admin/users", json=body, headers=headers)
            assert answer.status_code in (200, 201), answer.text
            made.append({"email": email, "password": password})
    accounts = folder / "accounts.json"
    accounts.write_text(json.dumps(made))
    dsn = str(stack.direct.get("primary_dsn") or stack.primary_dsn)
    spec = stack_target(stack.api_url, stack.anon_key, stack.service_key, dsn, stack.toxiproxy_url)
    path = folder / "gauntlet-target.toml"
    path.write_text(render_target_file(replace(spec, accounts_file=accounts)))
    return path


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_the_monitor_signs_in_as_the_targets_accounts_and_signs_nobody_up(
    gauntlet_stack_dir: Path, gauntlet_stack: StackState, tmp_path: Path
) -> None:
    from gauntlet.journeys.browser import find_chromium

    if find_chromium() is None:
        pytest.skip("no system Chromium (apt-get install chromium, or set GAUNTLET_CHROMIUM)")
    from tests.integration.journeys.apisettings import RAISED_LIMITS, api_settings

    target = _target_file(gauntlet_stack, tmp_path, count=2)
    dsn = str(gauntlet_stack.direct.get("primary_dsn") or gauntlet_stack.primary_dsn)
    argv = [
        sys.executable, "-m", "gauntlet", "monitor", "run", "--target", str(target),
        "--every", "1s", "--jitter", "0s", "--max-runs", "2", "--retries", "0", "--no-probes",
        "--history", str(tmp_path / "history.sqlite3"), "--page", str(tmp_path / "status.html"),
        "--artifacts", str(tmp_path / "artifacts"), "--state-dir", str(tmp_path / "state"),
    ]  # fmt: skip
    with api_settings(gauntlet_stack_dir, RAISED_LIMITS):  # the journeys' arranging calls come from one address
        before = asyncio.run(_users(dsn))
        done = subprocess.run(argv, capture_output=True, text=True, timeout=560, stdin=subprocess.DEVNULL)
        after = asyncio.run(_users(dsn))
    assert done.returncode == 0, done.stderr
    assert "signup_to_notification" not in done.stderr.splitlines()[0]  # left out against a target
    assert after == before, f"the monitor signed up {after - before} users"
    stored = json.loads((tmp_path / "artifacts" / "accounts.json").read_text())
    emails = {json.loads((tmp_path / "accounts.json").read_text())[i]["email"] for i in (0, 1)}
    used = {role["email"] for per_target in stored.values() for role in per_target.values()}
    assert used and used <= emails  # the journeys ran as the target file's accounts
