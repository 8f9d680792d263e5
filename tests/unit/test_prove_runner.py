"""`gauntlet prove`'s pure parts: quick profiles, verdicts, scratch copies, refusing faults outside platform/."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from gauntlet.base.errors import EXIT_USAGE
from gauntlet.gate.config import GateProfile, LoadPhase, load_profile
from gauntlet.prove import cli as prove_cli
from gauntlet.prove.catalogue import Fault
from gauntlet.prove.mutation import FaultDoesNotApply
from gauntlet.prove.runner import (
    GateRun,
    ProveError,
    check_faults_apply,
    culprit_label,
    ensure_fault_is_on_platform,
    fault_outcome,
    profile_toml,
    quick_profile_table,
    scratch_copy,
    scratch_tree,
    verdict_of,
)
from gauntlet.reports.checks import Culprit


def fault(name: str = "f", **overrides: object) -> Fault:
    fields: dict[str, object] = {
        "name": name,
        "protects": "a rule",
        "file": "platform/migrations/900_x.sql",
        "scope": "fn",
        "old": "< 3",
        "new": "< 2",
        "phases": ("acceptance",),
        "checks": ("onboarding.requires_three_interests",),
        "source": "test.toml",
    }
    fields.update(overrides)
    return Fault(**fields)  # type: ignore[arg-type]


BASE = GateProfile(
    name="ci",
    smoke=True,
    acceptance=(),
    load=LoadPhase(profile="mixed", scenario="ramp", users=20, duration="60s"),
    drills=("worker-crash", "redis-stall"),
    journeys=("seller",),
    platform={"GAUNTLET_RATE_LIMIT_MULTIPLIER": "50"},
)


def parsed(table: dict[str, object], tmp_path: Path) -> GateProfile:
    path = tmp_path / "profiles.toml"
    path.write_text(profile_toml("prove", table))
    return load_profile("prove", path)


# --- quick profiles -------------------------------------------------------------------------


def test_quick_profile_runs_only_the_named_checks_and_keeps_platform_settings(tmp_path: Path) -> None:
    table = quick_profile_table(
        BASE, [fault("a"), fault("b", checks=("queues.x", "onboarding.requires_three_interests"))]
    )
    profile = parsed(table, tmp_path)
    assert profile.acceptance == ("onboarding.requires_three_interests", "queues.x")
    assert not profile.smoke and profile.load is None and profile.drills == () and profile.journeys == ()
    assert profile.platform == {"GAUNTLET_RATE_LIMIT_MULTIPLIER": "50"}


def test_quick_profile_runs_every_check_when_a_fault_names_none(tmp_path: Path) -> None:
    profile = parsed(quick_profile_table(BASE, [fault("a"), fault("b", checks=())]), tmp_path)
    assert profile.acceptance == ()  # () = every acceptance check


def test_quick_profile_drills_journeys_smoke_and_load_only_when_named(tmp_path: Path) -> None:
    faults = [
        fault("a", phases=("drills",), checks=(), drills=("duplicate-delivery",)),
        fault("b", phases=("journeys", "smoke", "load"), checks=(), journeys=("returning_user",)),
    ]
    profile = parsed(quick_profile_table(BASE, faults), tmp_path)
    assert profile.acceptance is None
    assert profile.drills == ("duplicate-delivery",)
    assert profile.journeys == ("returning_user",)
    assert profile.smoke
    assert profile.load == BASE.load


def test_quick_profile_takes_the_profiles_drills_when_a_fault_names_the_phase_only(tmp_path: Path) -> None:
    profile = parsed(quick_profile_table(BASE, [fault("a", phases=("drills",), checks=())]), tmp_path)
    assert profile.drills == BASE.drills


def test_profile_toml_round_trips_quotes_and_backslashes(tmp_path: Path) -> None:
    import dataclasses

    odd = dataclasses.replace(BASE, platform={"GAUNTLET_X": 'quotes " and \\ backslashes \u00e9'})
    profile = parsed(quick_profile_table(odd, [fault("a")]), tmp_path)
    assert profile.platform == odd.platform
    assert profile.acceptance == ("onboarding.requires_three_interests",)


# --- verdicts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "culprits", "verdict"),
    [
        (1, ["acceptance:onboarding.requires_three_interests"], "caught"),
        (0, [], "missed"),
        (2, ["run:gate phase acceptance ran"], "error"),
        (None, [], "error"),  # stopped for time
        (1, [], "error"),  # exit 1 without a culprit: nothing to show
    ],
)
def test_verdicts(code: int | None, culprits: list[str], verdict: str) -> None:
    assert verdict_of(GateRun(exit_code=code, culprits=culprits)) == verdict


def test_fault_outcome_says_whether_the_expected_check_caught_it() -> None:
    f = fault("a", checks=("notifications",), drills=("worker-crash",))
    caught = fault_outcome(f, GateRun(exit_code=1, culprits=["acceptance:notifications.daily_cap_stops_at_n"]))
    assert caught.verdict == "caught" and caught.expected_caught is True
    other = fault_outcome(f, GateRun(exit_code=1, culprits=["acceptance:feed.shop_pages"]))
    assert other.verdict == "caught" and other.expected_caught is False
    error = fault_outcome(f, GateRun(exit_code=2, detail="the stack did not come up"))
    assert error.verdict == "error" and error.detail == "the stack did not come up"
    assert fault_outcome(fault("b", checks=()), GateRun(exit_code=0)).expected_caught is None


def test_culprit_labels_name_checks_drills_and_journeys() -> None:
    def label(section: str, entry: str, name: str) -> str:
        return culprit_label(Culprit(section=section, entry=entry, kind="check", name=name, detail=""))

    assert label("acceptance", "acceptance", "feed.caps") == "acceptance:feed.caps"
    assert label("drill", "worker-crash", "jobs lost") == "drill:worker-crash"
    assert label("journey", "seller", "submit") == "journey:seller"
    assert label("smoke", "smoke", "2F run worker") == "smoke:2F run worker"


# --- what may be mutated, and where ---------------------------------------------------------


@pytest.mark.parametrize("file", ["gauntlet/cli.py", "reports/model.py", "../platform/x.sql", "/etc/passwd"])
def test_a_fault_outside_platform_is_refused(file: str) -> None:
    with pytest.raises(ProveError, match="not under platform/") as raised:
        ensure_fault_is_on_platform(fault("outside", file=file))
    assert raised.value.exit_code == EXIT_USAGE and "outside" in str(raised.value)


def test_the_cli_refuses_a_catalogue_with_a_fault_outside_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prove_cli, "load_catalogue", lambda: {"x": fault("x", file="gauntlet/cli.py")})
    with pytest.raises(ProveError, match="fault x"):
        prove_cli.prove_command(names=None, profile="ci", config=None, faults=None)


def test_a_stale_fault_is_exit_2_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = fake_project(tmp_path)
    stale = fault("stale-one", file="platform/migrations/900_x.sql", scope="fn", old="< 4", new="< 5")
    with pytest.raises(ProveError, match="stale-one") as raised:
        check_faults_apply(project, [stale])
    assert raised.value.exit_code == EXIT_USAGE and "test.toml" in str(raised.value)
    # Through the CLI: nothing runs, exit 2 (a GauntletError), the fault named.
    monkeypatch.setattr(prove_cli, "load_catalogue", lambda: {"stale-one": stale})
    monkeypatch.setattr(prove_cli, "project_root", lambda: project)
    with pytest.raises(ProveError, match=r"stale-one.*occurs 0 times"):
        prove_cli.prove_command(names=None, profile="ci", config=None, faults=None, out_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "faults").exists()


def test_a_fault_in_a_missing_file_is_exit_2(tmp_path: Path) -> None:
    with pytest.raises(ProveError, match=r"gone.*does not exist"):
        check_faults_apply(fake_project(tmp_path), [fault("gone", file="platform/nowhere.sql")])


def fake_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "platform" / "migrations").mkdir(parents=True)
    (root / "platform" / "migrations" / "900_x.sql").write_text(
        "create or replace function public.fn() returns int language plpgsql as $$\n"
        "begin if n < 3 then return 0; end if; return 1; end $$;\n"
    )
    (root / "gauntlet").mkdir()
    (root / "gauntlet" / "__init__.py").write_text("")
    (root / "gauntlet" / "platform").symlink_to("../platform")
    for junk in (".git", ".venv", "__pycache__", "platform/__pycache__", ".gauntlet", ".gauntlet-x", "reports-out"):
        (root / junk).mkdir(parents=True, exist_ok=True)
        (root / junk / "file").write_text("junk")
    return root


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_scratch_copy_keeps_symlinks_and_leaves_out_state_and_caches(tmp_path: Path) -> None:
    copy = scratch_copy(fake_project(tmp_path), tmp_path / "copy")
    assert (copy / "gauntlet" / "platform").is_symlink()
    assert os.readlink(copy / "gauntlet" / "platform") == "../platform"
    assert (copy / "platform" / "migrations" / "900_x.sql").is_file()
    for left_out in (".git", ".venv", "__pycache__", "platform/__pycache__", ".gauntlet", ".gauntlet-x", "reports-out"):
        assert not (copy / left_out).exists(), left_out


def test_the_fault_lands_in_the_copy_never_in_the_users_tree(tmp_path: Path) -> None:
    project = fake_project(tmp_path)
    before = tree_digest(project)
    work = tmp_path / "work"
    work.mkdir()
    with scratch_tree(project, fault("a"), work=work) as copy:
        mutated = (copy / "platform" / "migrations" / "900_x.sql").read_text()
        assert "if n < 2 then" in mutated
    assert tree_digest(project) == before
    assert "if n < 3 then" in (project / "platform" / "migrations" / "900_x.sql").read_text()
    assert list(work.iterdir()) == []  # the copy is gone


def test_a_fault_that_does_not_apply_leaves_no_copy(tmp_path: Path) -> None:
    project = fake_project(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(FaultDoesNotApply), scratch_tree(project, fault("a", old="nothing like it"), work=work):
        pass
    assert list(work.iterdir()) == []


def test_the_catalogue_loader_refuses_a_fault_outside_platform(tmp_path: Path) -> None:
    from gauntlet.prove.catalogue import CatalogueError, load_catalogue

    (tmp_path / "x.toml").write_text(
        '[[fault]]\nname = "harness-fault"\nprotects = "p"\nfile = "gauntlet/cli.py"\nscope = "main"\n'
        'old = "a"\nnew = "b"\nphases = ["acceptance"]\n'
    )
    with pytest.raises(CatalogueError, match=r"harness-fault.*not under platform/") as raised:
        load_catalogue(tmp_path)
    assert raised.value.exit_code == EXIT_USAGE
