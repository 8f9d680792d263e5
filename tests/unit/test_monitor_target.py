"""The monitor against a target: the target file's accounts, its URLs and keys, and no sign-up loop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gauntlet.journeys.catalog import JOURNEYS
from gauntlet.journeys.monitor.cli import MonitorTarget, _resolve_target, register, without_signup_loops
from gauntlet.load.profiles.accounts import AccountsFileError
from tests.cli_area import area_app

ALL = tuple(JOURNEYS)


@pytest.fixture(autouse=True)
def _no_target_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("GAUNTLET_TARGET_FILE", "GAUNTLET_ACCOUNTS_FILE", "GAUNTLET_SERVICE_KEY", "GAUNTLET_WEB_URL"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def accounts(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps([{"email": "a@accounts.gauntlet.test", "password": "Secret-pass-1"}]))
    return path


def remote(accounts_file: Path | None) -> MonitorTarget:
    return MonitorTarget("http://app.example", "http://api.example", "k", accounts_file, remote=True)


def test_the_running_stack_keeps_every_journey() -> None:
    local = MonitorTarget("http://127.0.0.1:8000", "http://127.0.0.1:8000", None, None, remote=False)
    assert without_signup_loops(ALL, named=False, where=local) == ALL


def test_against_a_target_the_journey_that_signs_up_every_run_is_left_out(accounts: Path) -> None:
    kept = without_signup_loops(ALL, named=False, where=remote(accounts))
    assert "signup_to_notification" in ALL and "signup_to_notification" not in kept
    assert kept == tuple(name for name in ALL if not JOURNEYS[name].signs_up_every_run) and kept


def test_naming_it_against_a_target_is_refused(accounts: Path) -> None:
    with pytest.raises(Exception, match="signs a new user up on every run") as caught:  # exit 2
        without_signup_loops(("signup_to_notification", "seller"), named=True, where=remote(accounts))
    assert getattr(caught.value, "exit_code", None) == 2


def test_without_accounts_a_target_is_refused_naming_how_to_make_them() -> None:
    with pytest.raises(Exception, match="gauntlet target accounts create") as caught:
        without_signup_loops(ALL, named=False, where=remote(None))
    assert getattr(caught.value, "exit_code", None) == 2


def test_a_wrong_accounts_file_is_refused_before_any_run(tmp_path: Path) -> None:
    bad = tmp_path / "accounts.json"
    bad.write_text("[]")
    with pytest.raises(AccountsFileError) as caught:
        without_signup_loops(ALL, named=False, where=remote(bad))
    assert caught.value.exit_code == 2


def test_a_target_file_gives_pages_api_key_and_accounts(
    tmp_path: Path, accounts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "gauntlet-target.toml"
    target.write_text(
        'api_url = "http://api.example"\nweb_url = "http://app.example"\nservice_key = "sk"\n'
        f'accounts_file = "{accounts.name}"\n'
    )
    where = _resolve_target(str(target), None, tmp_path / "no-stack")
    assert where == MonitorTarget("http://app.example", "http://api.example", "sk", accounts, remote=True)
    monkeypatch.setenv("GAUNTLET_TARGET_FILE", str(target))
    assert _resolve_target(None, "given", tmp_path / "no-stack").service_key == "given"


def test_the_command_refuses_a_signup_loop_in_one_line(tmp_path: Path) -> None:
    app = area_app(register)
    args = ["monitor", "--target", "http://127.0.0.1:9", "--journeys", "signup_to_notification", "--max-runs", "1"]
    result = CliRunner().invoke(app, [*args, "--state-dir", str(tmp_path)])
    output = result.stderr + result.stdout
    assert result.exit_code == 2, output
    assert output.strip().startswith("error:") and "never signs users up in a loop" in output
