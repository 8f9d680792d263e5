"""`gauntlet load --scenario breakpoint` against the embedded stack: it finds a knee, and a lower one when
Postgres is slowed by a latency toxic on the fault proxy.

Bounded: two short climbs (3 s steps, at most three of them) with two slots for arrivals in flight and
a tight SLO on the one request the `suggestions` profile exists for, so the knees are low. Healthy, the
climb holds to its last step (2 slots of a ~25 ms request hold 20/s with room to spare); with every
Postgres round trip delayed, each request takes ~200 ms, two slots serve at most ~10/s, and 12/s breaks.
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
from gauntlet.stack.state import StackState
from tests.integration.load.loadrun import RunLoad

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
PASSWORD = "Gauntlet-load-fixture-1"
SLO = """
scope: profile
requests:
  "rpc:marketplace_suggestions_for_user":
    p95_ms: "< 400ms"
    error_rate: "< 1%"
"""
LADDER = ("--start", "4", "--step", "8", "--max", "20", "--every", "3s", "--users", "2")
TOXIC_MS = 20


@pytest.fixture
def climb_files(gauntlet_stack: StackState, tmp_path: Path) -> tuple[Path, Path]:
    """Two fresh accounts (the slots sign in as them) and the tight SLO file."""
    accounts = []
    with httpx.Client(base_url=gauntlet_stack.api_url, timeout=10) as client:
        for _ in range(2):
            email = f"breakpoint-{uuid.uuid4().hex[:10]}@load.gauntlet.test"
            answer = client.post(s.SIGNUP_PATH, json={"email": email, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            accounts.append({"email": email, "password": PASSWORD})
    accounts_file, slo_file = tmp_path / "accounts.json", tmp_path / "slo.yaml"
    accounts_file.write_text(json.dumps(accounts))
    slo_file.write_text(SLO)
    return accounts_file, slo_file


@pytest.fixture
def slow_database(gauntlet_stack: StackState, toxiproxy: ToxiproxyClient) -> Iterator[int]:
    """Every connection from the API to Postgres (primary and replicas) gets TOXIC_MS on each answer."""
    for proxy in gauntlet_stack.proxies:
        if proxy.startswith("pg_"):
            toxiproxy.add_toxic(proxy, "latency", name="breakpoint_latency", attributes={"latency": TOXIC_MS})
    yield TOXIC_MS  # the toxiproxy fixture resets every toxic afterwards


def climb(run_load: RunLoad, stack: StackState, files: tuple[Path, Path]) -> tuple[int, dict[str, Any], str]:
    accounts, slo = files
    run = run_load(
        "suggestions", "--scenario", "breakpoint", *LADDER, "--target", stack.api_url,
        "--accounts", str(accounts), "--slo", str(slo),
    )  # fmt: skip
    result = run.result
    assert "breakpoint" in result, run.output
    return run.exit_code, result["breakpoint"], run.output


def test_breakpoint_finds_a_knee_and_a_lower_one_when_postgres_is_slow(
    run_load: RunLoad, gauntlet_stack: StackState, climb_files: tuple[Path, Path], request: pytest.FixtureRequest
) -> None:
    code, healthy, output = climb(run_load, gauntlet_stack, climb_files)
    assert code == 0, output
    assert healthy["knee_per_s"] is not None and healthy["knee_per_s"] >= 12, healthy["summary"]
    assert healthy["limited_by"] in ("slo", "max"), healthy["summary"]  # never the generator at these rates
    assert f"knee: {healthy['knee_per_s']:g}/s" in output  # printed at the end of the run
    held = [step for step in healthy["steps"] if step["verdict"] == "held"]
    assert held and all(not step["missed"] for step in held)

    request.getfixturevalue("slow_database")
    code, slowed, output = climb(run_load, gauntlet_stack, climb_files)
    assert slowed["limited_by"] == "slo", slowed["summary"]
    # The slowed database breaks the suggestions SLO: its p95 or, on a busy machine, its error budget first.
    assert slowed["first_broken"].startswith("rpc:marketplace_suggestions_for_user "), slowed
    # Lower by at least one step (the margin): the slowed platform broke where the healthy one held.
    slowed_knee = slowed["knee_per_s"] if slowed["knee_per_s"] is not None else 0.0
    assert slowed_knee + 8 <= healthy["knee_per_s"], (slowed["summary"], healthy["summary"])
    assert slowed["broke_at_per_s"] <= healthy["knee_per_s"]
    assert code == (0 if slowed["knee_per_s"] is not None else 1), output
