"""The target file: parsing, validation messages, env overrides, resolution; the gate's plan for a target."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gauntlet.chaos.evidence import FaultEvidence, effect_seen, inconclusive_reasons, parse_proxy_bytes
from gauntlet.gate.config import GateProfile
from gauntlet.gate.phases import remote_plan
from gauntlet.journeys.files import JourneyFileError
from gauntlet.target import (
    Target,
    TargetFileError,
    add_accounts_file,
    load_target_file,
    parse_target,
    render_target_file,
    resolve_target,
    stack_target,
    write_stack_target_file,
)

GOOD = """
api_url = "http://127.0.0.1:8000/"
anon_key = "anon"
service_key = "svc"
dsn = "postgresql://u@h/db"
accounts_file = "accounts.json"
toxiproxy_url = "http://127.0.0.1:8474"

[proxies]
primary_db = "pg_a"
redis = "r"
"""


def test_a_good_file_parses_with_relative_accounts_and_proxies(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(GOOD)
    target = load_target_file(path, env={})
    assert target.api_url == "http://127.0.0.1:8000" and target.pages_url == target.api_url
    assert target.accounts_file == tmp_path / "accounts.json"
    assert target.proxies == {"primary_db": "pg_a", "redis": "r"}
    assert target.as_arg() == str(path.resolve())
    assert target.public_json()["service_key"] == "set"
    assert target.public_json(secrets=True)["service_key"] == "svc"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(GOOD)
    env = {"GAUNTLET_SERVICE_KEY": "other", "TOXIPROXY_URL": "http://127.0.0.1:9"}
    target = load_target_file(path, env=env)
    assert target.service_key == "other" and target.toxiproxy_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({}, "`api_url` is missing"),
        ({"api_url": "ftp://x"}, "`api_url` = 'ftp://x' is not an http(s) URL"),
        ({"api_url": "http://x", "servce_key": "k"}, "unknown key `servce_key`"),
        ({"api_url": "http://x", "service_key": 3}, "`service_key` must be a string"),
        ({"api_url": "http://x", "proxies": {"primary": "p"}}, "unknown role `proxies.primary`"),
        ({"api_url": "http://x", "proxies": {"redis": "r"}}, "`toxiproxy_url` is missing"),
        ({"api_url": "http://x", "proxies": "pg"}, "`proxies` must be a table"),
    ],
)
def test_a_bad_file_names_the_key_and_the_fix(raw: dict[str, object], named: str) -> None:
    with pytest.raises(TargetFileError) as caught:
        parse_target(raw, where="t.toml", env={})
    assert named in str(caught.value)
    assert caught.value.exit_code == 2


def test_not_toml_and_missing_files_are_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("api_url = \n")
    with pytest.raises(TargetFileError, match="not valid TOML"):
        load_target_file(bad, env={})
    with pytest.raises(TargetFileError, match="does not exist"):
        load_target_file(tmp_path / "nope.toml", env={})


def test_resolution_url_file_env_or_none(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(GOOD)
    assert resolve_target(None, env={}) is None
    by_url = resolve_target("http://h:1", env={"GAUNTLET_API_URL": "http://ignored", "GAUNTLET_SERVICE_KEY": "k"})
    assert by_url is not None and by_url.api_url == "http://h:1" and by_url.service_key == "k"
    assert by_url.source is None
    by_env = resolve_target(None, env={"GAUNTLET_TARGET_FILE": str(path)})
    assert by_env is not None and by_env.source == path.resolve()
    with pytest.raises(TargetFileError, match="not an http"):
        resolve_target("staging", env={})
    with pytest.raises(TargetFileError, match="not both"):
        resolve_target("http://h", path, env={})


def test_the_stack_file_is_private_round_trips_and_takes_an_accounts_file(tmp_path: Path) -> None:
    target = stack_target("http://127.0.0.1:5/", "a", "s", "postgresql://x@y/z", "http://127.0.0.1:6")
    path = write_stack_target_file(tmp_path, target)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_target_file(path, env={})
    assert again.proxies == {"primary_db": "pg_primary", "replica_db": "pg_replica_1", "redis": "redis"}
    assert again.service_key == "s" and again.dsn == "postgresql://x@y/z"
    add_accounts_file(path, tmp_path / "acc.json")
    assert load_target_file(path, env={}).accounts_file == tmp_path / "acc.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "[proxies]" in render_target_file(again)


def test_the_gate_plan_for_a_target_skips_with_reasons() -> None:
    profile = GateProfile(name="x", smoke=True, drills=("db-latency", "worker-crash", "redis-stall"))
    bare = Target(api_url="http://h")
    plan = remote_plan(profile, bare)
    assert plan.smoke is not None and "dsn" in plan.smoke and "service_key" in plan.smoke
    assert plan.load is not None and "accounts" in plan.load
    assert plan.drills == [] and set(plan.skipped_drills) == {"db-latency", "worker-crash", "redis-stall"}
    full = Target(
        api_url="http://h",
        service_key="k",
        dsn="postgresql://x",
        accounts_file=Path("a.json"),
        toxiproxy_url="http://t",
        proxies={"primary_db": "p"},
    )
    plan = remote_plan(profile, full)
    assert plan.smoke is None and plan.load is None
    assert plan.drills == ["db-latency"]
    assert "process control" in plan.skipped_drills["worker-crash"]
    assert "redis" in plan.skipped_drills["redis-stall"] and "[proxies]" in plan.skipped_drills["redis-stall"]


def test_the_gate_plan_skips_a_journey_file_that_signs_up_every_run_unless_the_target_allows_sign_ups(
    tmp_path: Path,
) -> None:
    signs_up = tmp_path / "signs_up.py"
    signs_up.write_text("SIGNS_UP_EVERY_RUN = True\n\ndef test_new_member(page):\n    pass\n")
    quiet = tmp_path / "quiet.py"
    quiet.write_text("def test_browse(page):\n    pass\n")
    profile = GateProfile(name="x", journeys=(str(signs_up), f"{quiet}::test_browse", "returning_user"))
    plan = remote_plan(profile, Target(api_url="http://h"))
    assert plan.journeys == [f"{quiet}::test_browse", "returning_user"]
    assert list(plan.skipped_journeys) == [str(signs_up)] and "allow_signups" in plan.skipped_journeys[str(signs_up)]
    allowed = remote_plan(profile, Target(api_url="http://h", allow_signups=True))
    assert allowed.journeys == list(profile.journeys) and allowed.skipped_journeys == {}
    with pytest.raises(JourneyFileError, match="no such journey file"):
        remote_plan(GateProfile(name="x", journeys=(str(tmp_path / "gone.py"),)), Target(api_url="http://h"))


def test_fault_evidence() -> None:
    text = (
        'toxiproxy_proxy_received_bytes_total{direction="upstream",listener="a",proxy="pg",upstream="b"} 10\n'
        'toxiproxy_proxy_received_bytes_total{direction="downstream",listener="a",proxy="pg",upstream="b"} 5\n'
        'toxiproxy_proxy_sent_bytes_total{direction="downstream",listener="a",proxy="pg",upstream="b"} 99\n'
    )
    assert parse_proxy_bytes(text) == {"pg": 15}
    unused = FaultEvidence("x", "latency", bytes_before=0, bytes_during=0)
    used = FaultEvidence("pg", "latency", bytes_before=10, bytes_during=30)
    cut = FaultEvidence("pg", "disabled", bytes_before=10, bytes_during=0)
    assert unused.landed is False and used.landed is True and cut.landed is True
    assert FaultEvidence("x", "latency", None, None).landed is None
    assert inconclusive_reasons([used], effect=True) == []
    assert len(inconclusive_reasons([unused], effect=False)) == 2
    assert effect_seen(detected=True, before={}, during={})
    assert effect_seen(detected=False, before={"p95": 20, "error_rate": 0}, during={"p95": 900, "error_rate": 0})
    assert not effect_seen(detected=False, before={"p95": 20, "error_rate": 0}, during={"p95": 22, "error_rate": 0})
