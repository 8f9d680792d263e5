"""The gate's load baseline and scale fixtures: profile keys, `last` (first run, mismatch, remember), phases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gauntlet.gate import baseline as gb
from gauntlet.gate.config import DEFAULT_CONFIG, GateConfigError, ensure_profile_is_valid, load_profile
from gauntlet.gate.phases import build_phases

SOURCE = Path("/cfg/profiles.toml")


def profile(load: dict[str, object] | None = None, fixtures: dict[str, object] | None = None) -> object:
    raw: dict[str, object] = {"load": {"profile": "mixed", "scenario": "ramp", "users": 20, "duration": "60s"}}
    if load is not None:
        raw["load"] = {**raw["load"], **load}  # type: ignore[dict-item]
    if fixtures is not None:
        raw["fixtures"] = fixtures
    return ensure_profile_is_valid("ci", raw, source=SOURCE)


def test_the_ci_profile_loads_scale_data_and_compares_with_the_last_passing_run() -> None:
    ci = load_profile("ci", DEFAULT_CONFIG)
    assert ci.load is not None and ci.load.baseline == "last" and ci.load.regression_factor == 2.0
    assert ci.fixtures is not None and (ci.fixtures.users, ci.fixtures.posts) == (5000, 50000)


@pytest.mark.parametrize(
    ("load", "fixtures", "message"),
    [
        ({"baseline": 3}, None, 'load.baseline: "last", "none" or the path of a results.json'),
        ({"baseline": "missing.json"}, None, "load.baseline: /cfg/missing.json not found"),
        ({"regression_factor": 1}, None, "load.regression_factor must be a number > 1"),
        ({"regression_factor": "2"}, None, "load.regression_factor must be a number > 1"),
        (None, {"users": 10}, "fixtures.posts must be a whole number >= 0"),
        (None, {"users": 10, "posts": 5, "rows": 1}, "fixtures: unknown key(s) rows"),
        (None, {"users": 10, "posts": 5, "accounts": 11}, "fixtures.accounts (11) cannot exceed users"),
        (None, [1], "fixtures must be a table"),
    ],
)
def test_bad_keys_are_named(load: dict[str, object] | None, fixtures: object, message: str) -> None:
    with pytest.raises(GateConfigError) as caught:
        profile(load, fixtures)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_the_fixtures_phase_runs_before_the_load_which_signs_in_as_its_accounts(tmp_path: Path) -> None:
    chosen = profile({"regression_factor": 3.0}, {"users": 50, "posts": 500, "accounts": 7})
    phases = build_phases(
        chosen,  # type: ignore[arg-type]
        target="http://127.0.0.1:1",
        state_dir=tmp_path,
        out_dir=tmp_path / "out",
        embedded=True,
        baseline=tmp_path / "b.json",
    )
    names = [p.name for p in phases]
    assert names.index("fixtures") == names.index("load") - 1
    fixtures, load = phases[names.index("fixtures")], phases[names.index("load")]
    assert fixtures.argv[:6] == ["fixtures", "load", "--users", "50", "--posts", "500"]
    assert "--if-absent" in fixtures.argv and fixtures.artifacts == []
    accounts = fixtures.argv[fixtures.argv.index("--accounts-out") + 1]
    assert load.argv[load.argv.index("--accounts") + 1] == accounts
    assert load.argv[-4:] == ["--baseline", str(tmp_path / "b.json"), "--regression-factor", "3.0"]
    remote = build_phases(
        chosen,  # type: ignore[arg-type]
        target="https://staging.example",
        state_dir=tmp_path,
        out_dir=tmp_path / "out",
        embedded=False,
    )
    assert "fixtures" not in [p.name for p in remote]  # a remote target's data is its own
    assert "--accounts" not in next(p for p in remote if p.name == "load").argv


def test_last_first_run_is_a_noted_skip_and_a_passing_run_becomes_the_baseline(tmp_path: Path) -> None:
    chosen = profile({"baseline": "last"}, {"users": 50, "posts": 500})
    first = gb.choose(chosen, override=None, state_dir=tmp_path, target=None)  # type: ignore[arg-type]
    assert first.path is None and first.remember_to == tmp_path / "baselines" / "ci"
    (note,) = first.checks
    assert note.skipped and note.waived and not note.passed
    assert note.message.startswith("no baseline yet: this run becomes it if the gate passes")
    results = tmp_path / "out" / "results.json"
    results.parent.mkdir()
    results.write_text('{"schema": "gauntlet.load.result"}')
    assert gb.remember(first, chosen, results) == tmp_path / "baselines" / "ci" / "results.json"  # type: ignore[arg-type]
    second = gb.choose(chosen, override=None, state_dir=tmp_path, target=None)  # type: ignore[arg-type]
    assert second.path == tmp_path / "baselines" / "ci" / "results.json" and second.checks == []


def test_last_recorded_with_other_settings_is_not_compared(tmp_path: Path) -> None:
    before = profile({"baseline": "last"}, {"users": 50, "posts": 500})
    choice = gb.choose(before, override=None, state_dir=tmp_path, target=None)  # type: ignore[arg-type]
    results = tmp_path / "results.json"
    results.write_text("{}")
    gb.remember(choice, before, results)  # type: ignore[arg-type]
    after = profile({"baseline": "last", "users": 40}, {"users": 50, "posts": 500})
    changed = gb.choose(after, override=None, state_dir=tmp_path, target=None)  # type: ignore[arg-type]
    assert changed.path is None and changed.remember_to is not None
    (note,) = changed.checks
    assert "recorded with other settings" in note.message and "'users': 20" in note.message
    assert note.skipped and not note.passed
    meta = json.loads((tmp_path / "baselines" / "ci" / "gate.json").read_text())
    assert meta["fixtures"] == {"users": 50, "posts": 500, "accounts": 50, "seed": 1}


def test_override_and_none(tmp_path: Path) -> None:
    chosen = profile({"baseline": "last"})
    off = gb.choose(chosen, override="none", state_dir=tmp_path, target=None)  # type: ignore[arg-type]
    assert (off.path, off.remember_to, off.checks) == (None, None, [])
    named = gb.choose(chosen, override="base/results.json", state_dir=tmp_path, target=None)  # type: ignore[arg-type]
    assert named.path == Path("base/results.json").resolve() and named.remember_to is None
    plain = gb.choose(profile(), override=None, state_dir=tmp_path, target=None)  # type: ignore[arg-type]
    assert plain.path is None and plain.checks == []
    remote = gb.baselines_dir(tmp_path, chosen, "https://staging.example")  # type: ignore[arg-type]
    assert remote.parent == tmp_path / "baselines" and remote.name.startswith("ci-")
