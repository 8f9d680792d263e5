"""`gauntlet load` usage errors: exit 2 with one line naming the problem, before any Locust starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gauntlet.load.cli import register
from tests.cli_area import area_app


@pytest.fixture
def app() -> typer.Typer:
    return area_app(register)


def run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["load", *args])
    return result.exit_code, result.stderr + result.stdout


TARGET = ("--target", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", *TARGET), "unknown profile 'nope'; choose one of home_for_you"),
        (TARGET, "name a profile: gauntlet load PROFILE"),
        (("shop", "-s", "burst", *TARGET), "unknown scenario 'burst'"),
        (("shop", "--rate", "5", *TARGET), "--rate applies only to --scenario rate"),
        (("shop", "--duration", "5x", *TARGET), "--duration '5x'"),
        (("shop", "--users", "0", *TARGET), "--users must be at least 1"),
        # a target that does not allow sign-ups: mixed without OnboardingUser (load/signups.py)
        (("mixed", "--users", "3", *TARGET), "one user of each of its 4 classes"),
        (("shop", "--scale", "-1", *TARGET), "--scale must be a positive number"),
        (("shop", "--target", "localhost:8000"), "--target 'localhost:8000' is not an http(s) URL"),
        (("shop", "--worker", *TARGET), "--worker needs --master-host HOST"),
        (("shop", "--master", "--workers", "2", *TARGET), "--master and --workers cannot be combined"),
        (("shop", "--workers", "-1", *TARGET), "--workers must be >= 0"),
        (("shop", "--master", "--expect-workers", "0", *TARGET), "--expect-workers must be at least 1"),
        (("shop", "--think-time", "a,b", *TARGET), "--think-time 'a,b'"),
        (("shop", "--think-time", "2,1", *TARGET), "need 0 <= MIN <= MAX"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    app: typer.Typer, args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    code, output = run(app, *args, "--state-dir", str(tmp_path))
    assert code == 2, output
    assert message in output
    assert output.strip().startswith("error:")
    assert "Traceback" not in output
    assert not (tmp_path / "load").exists()  # refused before anything was written


def test_no_running_stack(app: typer.Typer, tmp_path: Path) -> None:
    code, output = run(app, "shop", "--state-dir", str(tmp_path))
    assert code == 2
    assert "no running stack: run `gauntlet up` or pass --target URL" in output


def test_stale_or_torn_state_file_is_no_stack(app: typer.Typer, tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    assert "no running stack" in run(app, "shop", "--state-dir", str(tmp_path))[1]
    (tmp_path / "state.json").write_text('{"state_dir": "x", "status": "stopped", "api_url": "http://127.0.0.1:1"}')
    assert "no running stack" in run(app, "shop", "--state-dir", str(tmp_path))[1]


def test_bad_slo_file_names_the_key(app: typer.Typer, tmp_path: Path) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text("overall:\n  p95: 500\n")
    code, output = run(app, "shop", *TARGET, "--slo", str(slo))
    assert code == 2
    assert "overall.p95: unknown metric 'p95'" in output


def test_bad_accounts_file(app: typer.Typer, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.json"
    accounts.write_text("[]")
    code, output = run(app, "shop", *TARGET, "--accounts", str(accounts))
    assert code == 2 and "no accounts in the file" in output


def _baseline_file(folder: Path, profile: str = "shop", users: int = 3) -> Path:
    """A minimal results.json of a smoke run (what the baseline check reads before any load)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    run = {
        "id": "base",
        "profile": profile,
        "scenario": "smoke",
        "started_at": "2024-01-01T00:00:00.000Z",
        "stages": [{"until_s": 30.0, "users": users, "spawn_rate": float(users)}],
        "rate_per_s": None,
        "workers": 1,
    }
    path.write_text(json.dumps({"schema": "gauntlet.load.result", "version": 1, "run": run, "requests": {}}))
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--regression-factor", "3"), "--regression-factor needs --baseline FILE"),
        (("--baseline", "{tmp}/missing.json"), "missing.json: no such file"),
        (("--baseline", "{tmp}/same", "--regression-factor", "1"), "regression factor must be a number > 1"),
        (("--baseline", "{tmp}/other"), "was recorded on a different plan (profile following -> shop"),
        (("--baseline", "{tmp}/bigger"), "stages 9 users over 30 s -> 3 users over 30 s"),
    ],
)
def test_baseline_usage_errors_exit_2_before_any_load(
    app: typer.Typer, extra: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    _baseline_file(tmp_path / "same")
    _baseline_file(tmp_path / "other", profile="following")
    _baseline_file(tmp_path / "bigger", users=9)
    out = tmp_path / "out"
    args = [a.format(tmp=tmp_path) for a in extra]
    code, output = run(app, "shop", *TARGET, "--state-dir", str(tmp_path), "--out", str(out), *args)
    assert code == 2, output
    assert message in output and "Traceback" not in output
    assert not out.exists()  # refused before anything was written
