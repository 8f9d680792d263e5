"""`gauntlet load --baseline`: real runs against the embedded stack, a healthy baseline, then a slowed database.

Two healthy runs of the same plan are not a regression; the same plan with every
database connection slowed by a Toxiproxy latency toxic is (the feed's p95), and the
run fails (exit 1)
although its own SLO file (deliberately lenient here) is met: the absolute objective
alone would let it pass. Runs are 15 s each at 15 requests/s (40 slots), with fixture accounts:
enough feed samples to compare even on a busy CI machine.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gauntlet.faultproxy.client import ToxiproxyClient
from gauntlet.load.profiles import surface as s
from gauntlet.stack import control
from gauntlet.stack.state import StackState, load_state
from tests.integration.load.loadrun import LoadRun, RunLoad

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
PASSWORD = "Gauntlet-baseline-fixture-1"
FEED = "rpc:feed_fusion_home"
DB_LATENCY_MS = 100  # a feed page makes several round trips to Postgres: each is 100 ms slower
# Arrivals in flight at most (the same in every run: the plan a baseline is compared on). On a busy
# machine the slowed run's latency is sized from the healthy p95 (below) and a feed page can take
# seconds; 12 slots then left 26 samples of the 72 a comparison needs (one .ci/run). 40 slots keep
# about 90 at 1.1 s a round trip.
SLOTS = 40
RATE_LIMITS = "GAUNTLET_RATE_LIMIT_MULTIPLIER"


@pytest.fixture(scope="module")
def loopback_limits(gauntlet_stack_dir: Path) -> Iterator[None]:
    """All load comes from one loopback address: raise the API's edge rate limits as the gate does, then undo."""
    control.restart(gauntlet_stack_dir, "api", env={RATE_LIMITS: "50"})
    yield
    control.restart(gauntlet_stack_dir, "api", env={RATE_LIMITS: None})


@pytest.fixture(scope="module")
def accounts(gauntlet_stack_dir: Path, loopback_limits: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    stack = load_state(gauntlet_stack_dir)
    assert stack is not None, "no stack"
    found = []
    with httpx.Client(base_url=stack.api_url, timeout=10) as client:
        for _ in range(6):
            email = f"baseline-{uuid.uuid4().hex[:10]}@load.gauntlet.test"
            answer = client.post(s.SIGNUP_PATH, json={"email": email, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            found.append({"email": email, "password": PASSWORD})
        # Warm the API restarted by `loopback_limits` (connection pool, plans, caches): a cold first run
        # would make a slow baseline.
        for account in found:
            token = client.post(s.TOKEN_PATH, json=account, headers={"apikey": stack.anon_key})
            assert token.status_code == 200, token.text
            auth = {"apikey": stack.anon_key, "Authorization": f"Bearer {token.json()['access_token']}"}
            for _ in range(10):
                page = client.post(s.rpc_path(s.FEED), json={"p_lane": "for_you"}, headers=auth)
                assert page.status_code == 200, page.text
    path = tmp_path_factory.mktemp("baseline-accounts") / "accounts.json"
    path.write_text(json.dumps(found))
    return path


@pytest.fixture(scope="module")
def lenient_slo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Objectives a slowed database still meets: only the baseline can fail these runs."""
    path = tmp_path_factory.mktemp("baseline-slo") / "slo.yaml"
    path.write_text('overall:\n  max_ms: "< 60s"\n')
    return path


def feed_run(run_load: RunLoad, stack: StackState, accounts: Path, slo: Path, *extra: str) -> LoadRun:
    """The open model: a fixed arrival rate gives a slowed run as many samples as a healthy one (a closed
    model's users would make fewer, slower requests), and 15/s leaves a busy 2-core machine unsaturated."""
    return run_load(
        "home_for_you", "--scenario", "rate", "--rate", "15", "--duration", "15s", "--users", str(SLOTS),
        "--target", stack.api_url, "--accounts", str(accounts), "--api-key", stack.anon_key,
        "--slo", str(slo), *extra,
    )  # fmt: skip


def comparisons(run: LoadRun) -> dict[str, dict[str, Any]]:
    report = run.result["baseline"]
    return {c["request"]: c for c in report["comparisons"]}


def test_a_slowed_database_is_flagged_against_a_healthy_baseline_and_healthy_runs_are_not(
    run_load: RunLoad,
    gauntlet_stack: StackState,
    toxiproxy: ToxiproxyClient,
    accounts: Path,
    lenient_slo: Path,
) -> None:
    healthy = feed_run(run_load, gauntlet_stack, accounts, lenient_slo)
    assert healthy.exit_code == 0, healthy.output + healthy.locust_log()
    assert healthy.result["requests"][FEED]["requests"] >= 72, "too few feed requests to compare"

    again = feed_run(run_load, gauntlet_stack, accounts, lenient_slo, "--baseline", str(healthy.out_dir))
    same = comparisons(again)
    assert same[FEED]["status"] == "ok", same[FEED]["text"]
    assert not [c["text"] for c in same.values() if c["status"] == "regressed"]
    assert again.exit_code == 0, again.output

    # At least DB_LATENCY_MS per round trip, and on a busy machine half the healthy p95's upper bound (a noisy
    # healthy run widens that bound, and the slowed run must clear twice it): a feed page makes about six round
    # trips, so the slowed p95 is then several times that bound whatever the load.
    latency = max(DB_LATENCY_MS, round(same[FEED]["baseline_high_ms"] / 2))
    for proxy in gauntlet_stack.proxies:
        if proxy.startswith("pg_"):
            toxiproxy.add_toxic(proxy, "latency", name="baseline_latency", attributes={"latency": latency})
    slowed = feed_run(run_load, gauntlet_stack, accounts, lenient_slo, "--baseline", str(healthy.out_dir))
    flagged = comparisons(slowed)
    feed = flagged[FEED]
    assert feed["status"] == "regressed", feed["text"]
    assert feed["current_low_ms"] > 2 * feed["baseline_high_ms"]
    assert all(v["passed"] for v in slowed.result["thresholds"])  # the absolute objective alone passes it
    assert slowed.result["passed"] is False
    assert slowed.exit_code == 1, slowed.output
    assert "P95 REGRESSED" in slowed.output


def test_a_baseline_of_another_plan_is_refused_before_any_load(
    run_load: RunLoad, gauntlet_stack: StackState, accounts: Path, lenient_slo: Path, tmp_path: Path
) -> None:
    baseline = feed_run(run_load, gauntlet_stack, accounts, lenient_slo)
    assert baseline.exit_code == 0, baseline.output
    other = run_load(
        "home_for_you", "--scenario", "rate", "--rate", "10", "--duration", "15s", "--users", str(SLOTS),
        "--target", gauntlet_stack.api_url, "--accounts", str(accounts),
        "--baseline", str(baseline.out_dir / "results.json"),
    )  # fmt: skip
    assert other.exit_code == 2
    assert "was recorded on a different plan (rate 15.0 -> 10.0)" in other.output
    assert not (other.out_dir / "results.json").exists()
