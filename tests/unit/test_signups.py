"""Sign-ups on a target (load/signups.py): which classes and requests a run may use, and the exit-2 refusal."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from gauntlet.gate.config import GateProfile, LoadPhase
from gauntlet.gate.phases import build_phases, remote_plan
from gauntlet.load.profiles import surface as s
from gauntlet.load.profiles.catalog import PROFILES
from gauntlet.load.signups import SignupsNotAllowed, for_target
from gauntlet.load.thresholds import applicable, default_slo
from gauntlet.target import Target, TargetFileError, parse_target, render_target_file, stack_target

ONBOARDING_ONLY = {s.rpc_name(n) for n in (s.CHECK_HANDLE, s.COMPLETE_ONBOARDING, s.PROFILE_UPDATE)}


def test_mixed_without_signups_drops_onboarding_and_its_requests() -> None:
    decision = for_target(PROFILES["mixed"], allow_signups=False, target="http://h")
    assert decision.dropped == ("OnboardingUser",)
    assert "OnboardingUser" not in decision.profile.user_classes and len(decision.profile.user_classes) == 4
    assert not ONBOARDING_ONLY & decision.profile.requests
    assert {s.rpc_name(s.FEED), s.rpc_name(s.SUGGESTIONS)} <= decision.profile.requests
    assert "allow_signups = true" in decision.note and "OnboardingUser" in decision.note


def test_signups_allowed_or_no_signing_up_class_keeps_the_profile() -> None:
    for name, allowed in (("mixed", True), ("onboarding", True), ("home_for_you", False), ("suggestions", False)):
        decision = for_target(PROFILES[name], allow_signups=allowed, target="http://h")
        assert decision.profile == PROFILES[name] and decision.dropped == () and decision.note == ""


def test_onboarding_without_signups_is_exit_2_naming_the_key() -> None:
    with pytest.raises(SignupsNotAllowed) as refused:
        for_target(PROFILES["onboarding"], allow_signups=False, target="http://staging")
    assert refused.value.exit_code == 2
    assert "allow_signups = true" in str(refused.value) and "http://staging" in str(refused.value)


def test_scope_profile_leaves_out_objectives_on_dropped_requests_scope_all_keeps_them() -> None:
    spec = default_slo()
    assert spec.scope == "profile"
    full = {t.scope for t in applicable(spec, PROFILES["mixed"].requests)}
    kept = {
        t.scope
        for t in applicable(spec, for_target(PROFILES["mixed"], allow_signups=False, target="h").profile.requests)
    }
    assert s.rpc_name(s.COMPLETE_ONBOARDING) in full and s.rpc_name(s.COMPLETE_ONBOARDING) not in kept
    explicit = {t.scope for t in applicable(replace(spec, scope="all"), kept)}
    assert s.rpc_name(s.COMPLETE_ONBOARDING) in explicit


def test_the_target_file_key_and_its_override() -> None:
    assert parse_target({"api_url": "http://h"}, where="t").allow_signups is False
    assert parse_target({"api_url": "http://h", "allow_signups": True}, where="t").allow_signups is True
    env = {"GAUNTLET_ALLOW_SIGNUPS": "0"}
    assert parse_target({"api_url": "http://h", "allow_signups": True}, where="t", env=env).allow_signups is False
    assert parse_target({"api_url": "http://h"}, where="t", env={"GAUNTLET_ALLOW_SIGNUPS": "yes"}).allow_signups
    with pytest.raises(TargetFileError, match="`allow_signups` must be true or false"):
        parse_target({"api_url": "http://h", "allow_signups": "true"}, where="t")
    with pytest.raises(TargetFileError, match="GAUNTLET_ALLOW_SIGNUPS"):
        parse_target({"api_url": "http://h"}, where="t", env={"GAUNTLET_ALLOW_SIGNUPS": "maybe"})
    ours = stack_target("http://h", "a", "s", "postgresql://x", "")
    assert ours.allow_signups and "allow_signups = true" in render_target_file(ours)
    assert ours.public_json()["allow_signups"] is True
    assert "allow_signups" not in render_target_file(Target(api_url="http://h"))


def test_the_gate_against_a_target_without_signups() -> None:
    spec = Target(api_url="http://h", accounts_file=Path("a.json"))
    profile = GateProfile(
        name="x",
        smoke=False,
        load=LoadPhase(profile="onboarding", scenario="smoke"),
        journeys=("signup_to_notification", "returning_user"),
    )
    plan = remote_plan(profile, spec)
    assert plan.load is not None and "allow_signups = true" in plan.load
    assert plan.journeys == ["returning_user"] and "allow_signups" in plan.skipped_journeys["signup_to_notification"]
    phases = build_phases(
        profile, target="http://h", state_dir=Path("/tmp/s"), out_dir=Path("/tmp/o"), embedded=False, spec=spec
    )
    journeys = next(p for p in phases if p.name == "journeys")
    assert "signup_to_notification" not in journeys.argv and "returning_user" in journeys.argv
    assert not [p for p in phases if p.name == "load"]
    allowed = remote_plan(profile, Target(api_url="http://h", accounts_file=Path("a.json"), allow_signups=True))
    assert allowed.load is None and allowed.journeys == ["signup_to_notification", "returning_user"]
    mixed = GateProfile(name="m", smoke=False, load=LoadPhase(profile="mixed", scenario="smoke"))
    assert remote_plan(mixed, spec).load is None  # mixed runs, without its OnboardingUser


def test_load_onboarding_against_a_target_without_the_key_exits_2(tmp_path: Path) -> None:
    target = tmp_path / "gauntlet-target.toml"
    target.write_text('api_url = "http://127.0.0.1:1"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "gauntlet", "load", "onboarding", "--scenario", "smoke", "--target", str(target),
         "--state-dir", str(tmp_path / "state")],
        capture_output=True, text=True, timeout=60, check=False, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and "allow_signups = true" in proc.stderr and "Traceback" not in proc.stderr
