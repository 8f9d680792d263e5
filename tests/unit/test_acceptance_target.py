"""`gauntlet acceptance run --target`: the keys and the DSN from the target file or the environment, never argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.acceptance.cli import _target
from gauntlet.gate.config import GateProfile
from gauntlet.gate.phases import build_phases
from gauntlet.target import load_target_file

SECRETS = ("service-secret", "anon-secret", "postgresql://gauntlet:pw@db:5432/postgres")


@pytest.fixture
def target_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("GAUNTLET_SERVICE_KEY", "GAUNTLET_ANON_KEY", "GAUNTLET_DSN", "GAUNTLET_TARGET_FILE"):
        monkeypatch.delenv(variable, raising=False)
    path = tmp_path / "gauntlet-target.toml"
    service, anon, dsn = SECRETS
    path.write_text(
        f'api_url = "http://staging.example"\nservice_key = "{service}"\nanon_key = "{anon}"\ndsn = "{dsn}"\n'
    )
    return path


def test_the_keys_and_dsn_come_from_the_target_file(target_file: Path) -> None:
    target = _target(str(target_file), None, None, None, None)
    assert (target.api_url, target.service_key, target.anon_key, target.dsn) == ("http://staging.example", *SECRETS)


def test_the_target_file_can_come_from_the_environment(target_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAUNTLET_TARGET_FILE", str(target_file))
    assert _target(None, None, None, None, None).service_key == "service-secret"


def test_a_url_takes_its_secrets_from_the_environment(target_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAUNTLET_SERVICE_KEY", "from-env")
    monkeypatch.setenv("GAUNTLET_DSN", "postgresql://env@db/postgres")
    target = _target("http://other.example", None, None, None, None)
    assert (target.api_url, target.service_key, target.dsn) == (
        "http://other.example",
        "from-env",
        "postgresql://env@db/postgres",
    )


def test_an_option_given_wins_over_the_file(target_file: Path) -> None:
    assert _target(str(target_file), "given", None, "postgresql://given", None).service_key == "given"


def test_without_a_service_key_the_error_names_the_file_and_the_environment(target_file: Path) -> None:
    with pytest.raises(Exception, match="set service_key in the target file or GAUNTLET_SERVICE_KEY") as caught:
        _target("http://other.example", None, None, None, None)
    assert getattr(caught.value, "exit_code", None) == 2


def test_the_gate_passes_the_target_file_to_acceptance_and_no_secret_on_its_command_line(
    target_file: Path, tmp_path: Path
) -> None:
    spec = load_target_file(target_file)
    profile = GateProfile(name="t", smoke=False, acceptance=())
    (phase,) = build_phases(
        profile, target=spec.api_url, state_dir=tmp_path, out_dir=tmp_path, embedded=False, spec=spec
    )
    assert phase.name == "acceptance"
    assert phase.argv[phase.argv.index("--target") + 1] == str(target_file.resolve())
    assert not [arg for arg in phase.argv if any(secret in arg for secret in SECRETS)], phase.argv
    assert "--dsn" not in phase.argv and "--service-key" not in phase.argv
