"""The smoke scenario against the embedded stack, driven as a target: every threshold gets samples and passes.

Before the fixed smoke mix, `gauntlet load mixed --scenario smoke --target ...` always exited 1: its three
users were all feed scrollers, so `complete_onboarding` and the suggestions RPC had "no samples".

The SLO is the shipped one (same scope, requests and metrics) with its latency limits raised to 10 s: on
a shared 2-core test machine the published milliseconds measure the machine, while what this checks is
that every threshold is reached, with no error.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml

from gauntlet.load.profiles.catalog import PROFILES
from gauntlet.load.thresholds import OVERALL, applicable, default_slo
from gauntlet.stack.state import StackState
from gauntlet.target import render_target_file, stack_target
from tests.integration.load.loadrun import RunLoad

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
ACCOUNTS = 6  # one per signed-in user of the mixed smoke run's five, and one spare


@pytest.fixture
def target_file(gauntlet_stack: StackState, tmp_path: Path) -> Path:
    """The stack as a target file with its own accounts, made through the service key (no sign-ups)."""
    password = f"Gauntlet-smoke-{uuid.uuid4().hex[:8]}-1"
    accounts = []
    headers = {"Authorization": f"Bearer {gauntlet_stack.service_key}", "apikey": gauntlet_stack.service_key}
    with httpx.Client(base_url=gauntlet_stack.api_url, timeout=10) as http:
        for _ in range(ACCOUNTS):
            email = f"smoke-{uuid.uuid4().hex[:10]}@accounts.gauntlet.test"
            body = {"email": email, "password": password, "email_confirm": True}
            answer = http.post("/auth/v1/admin/users", json=body, headers=headers)
            assert answer.status_code in (200, 201), answer.text
            accounts.append({"email": email, "password": password})
    accounts_path = tmp_path / "accounts.json"
    accounts_path.write_text(json.dumps(accounts))
    dsn = str(gauntlet_stack.direct.get("primary_dsn") or gauntlet_stack.primary_dsn)
    spec = stack_target(
        gauntlet_stack.api_url, gauntlet_stack.anon_key, gauntlet_stack.service_key, dsn, gauntlet_stack.toxiproxy_url
    )
    path = tmp_path / "gauntlet-target.toml"
    path.write_text(render_target_file(replace(spec, accounts_file=accounts_path)))
    return path


@pytest.fixture
def slo(tmp_path: Path) -> Path:
    """The shipped SLO with every latency limit at 10 s (the same scope, requests and metrics)."""
    spec = default_slo()
    overall: dict[str, str] = {}
    requests: dict[str, dict[str, str]] = {}
    for t in spec.thresholds:
        table = overall if t.scope == OVERALL else requests.setdefault(t.scope, {})
        table[t.metric] = "< 10s" if t.is_latency else f"{t.op} {t.limit * 100:g}%"
    path = tmp_path / "slo.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "scope": spec.scope, OVERALL: overall, "requests": requests}))
    return path


@pytest.mark.parametrize("profile", ["mixed", "supabase_frontend"])
def test_smoke_reaches_and_passes_every_threshold(
    profile: str, run_load: RunLoad, target_file: Path, slo: Path
) -> None:
    run = run_load(profile, "--scenario", "smoke", "--duration", "12s", "--target", str(target_file), "--slo", str(slo))
    result = run.result
    verdicts = result["thresholds"]
    shipped = applicable(default_slo(), PROFILES[profile].requests)
    assert sorted((v["scope"], v["metric"]) for v in verdicts) == sorted((t.scope, t.metric) for t in shipped)
    assert {v["scope"] for v in verdicts} - {"overall"}, "no per-request threshold applies"
    no_samples = [v["text"] for v in verdicts if v["observed"] is None]
    assert no_samples == [], no_samples
    assert run.exit_code == 0, "\n".join(v["text"] for v in verdicts) + "\n" + run.output
    assert set(result["requests"]) <= PROFILES[profile].requests
    if profile == "mixed":
        # One user of each class; the onboarding user signed up one person, not one per task.
        assert result["run"]["peak_users"] == 5
        assert result["requests"]["auth:signup"]["requests"] == 1
        assert result["requests"]["rpc:complete_onboarding"]["requests"] == 1


async def _people(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        count: int = await connection.fetchval("select count(*) from auth.users")
        return count
    finally:
        await connection.close()


def test_mixed_against_a_target_without_allow_signups_signs_nobody_up(
    run_load: RunLoad, target_file: Path, slo: Path, gauntlet_stack: StackState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same target file without `allow_signups`: mixed drops its OnboardingUser, makes no sign-up, and passes."""
    monkeypatch.delenv("GAUNTLET_ALLOW_SIGNUPS")  # run_load's opt-in for the harness's own targets
    strict = target_file.with_name("no-signups.toml")
    kept = [line for line in target_file.read_text().splitlines() if not line.startswith("allow_signups")]
    strict.write_text("\n".join(kept) + "\n")
    dsn = str(gauntlet_stack.direct.get("primary_dsn") or gauntlet_stack.primary_dsn)
    before = asyncio.run(_people(dsn))
    run = run_load("mixed", "--scenario", "smoke", "--duration", "12s", "--target", str(strict), "--slo", str(slo))
    assert asyncio.run(_people(dsn)) == before, "a run against a target without allow_signups signed people up"
    assert "mixed runs without OnboardingUser" in run.output and "allow_signups = true" in run.output
    result = run.result
    assert run.exit_code == 0, "\n".join(v["text"] for v in result["thresholds"]) + "\n" + run.output
    assert "auth:signup" not in result["requests"] and "rpc:complete_onboarding" not in result["requests"]
    assert "rpc:complete_onboarding" not in {v["scope"] for v in result["thresholds"]}  # out of scope, not failed
