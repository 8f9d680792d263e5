"""`gauntlet monitor` usage errors: exit 2 with one line naming the problem, before any journey runs."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gauntlet.journeys.monitor.cli import _stop_on_sigterm, register
from gauntlet.journeys.monitor.runner import exclusive
from tests.cli_area import area_app


@pytest.fixture
def app() -> typer.Typer:
    return area_app(register)


def run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["monitor", *args])
    return result.exit_code, result.stderr + result.stdout


TARGET = ("--target", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--every", "60x"), "--every '60x': not a duration; write seconds (90) or a number with a unit"),
        (("--every", "0s"), "--every '0s': must be more than zero"),
        (("--every", "1.5.m"), "--every '1.5.m'"),
        (("--every", "60s", "--jitter", "60s"), "must be at least 0 and less than --every"),
        (("--jitter", "soon"), "--jitter 'soon'"),
        (("--cooldown", "5x"), "--cooldown '5x'"),
        (("--fail-after", "0"), "--fail-after must be at least 1"),
        (("--retries", "-1"), "--retries must be 0 or more"),
        (("--max-runs", "0"), "--max-runs must be at least 1"),
        (("--for", "forever"), "--for 'forever'"),
        (("--retention", "0d"), "--retention '0d': must be more than zero"),
        (("--journey-timeout", "1 s"), "--journey-timeout '1 s'"),
        (("--journeys", "nope,seller"), "--journeys: unknown journey 'nope'; choose from signup_to_notification"),
        (("--journeys", " , "), "names no journey"),
        (("--journeys", "seller,seller"), "names a journey twice"),
        (("--webhook", "hooks.slack.com/x"), "--webhook 'hooks.slack.com/x' is not an http(s) URL"),
        (("--page-url", "status"), "--page-url 'status' is not an http(s) URL"),
        (("--slow-at", "0"), "--slow-at 0: give a share of the step budget"),
        (("--slow-at", "1.5"), "--slow-at 1.5"),
    ],
)
@pytest.mark.parametrize("command", [(), ("run",)], ids=["monitor", "monitor-run"])
def test_usage_errors_exit_2_with_one_line(
    app: typer.Typer, command: tuple[str, ...], args: tuple[str, ...], message: str
) -> None:
    code, output = run(app, *command, *args, *TARGET)
    assert code == 2, output
    assert message in output
    assert output.strip().startswith("error:")
    assert len(output.strip().splitlines()) == 1
    assert "Traceback" not in output


def test_a_bad_target_is_named(app: typer.Typer) -> None:
    code, output = run(app, "--target", "localhost:8000")
    assert code == 2 and "--target 'localhost:8000' is not an http(s) URL" in output


def test_without_a_target_or_a_stack_the_error_names_gauntlet_up(app: typer.Typer, tmp_path: Path) -> None:
    code, output = run(app, "--state-dir", str(tmp_path), "--max-runs", "1")
    assert code == 2
    assert "no running stack" in output and "gauntlet up" in output


def test_a_second_monitor_on_the_same_history_is_refused(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = tmp_path / "accounts.json"  # a target: the monitor signs in as its accounts
    accounts.write_text('[{"email": "a@accounts.gauntlet.test", "password": "Secret-pass-1"}]')
    monkeypatch.setenv("GAUNTLET_ACCOUNTS_FILE", str(accounts))
    history = tmp_path / "history.sqlite3"
    with exclusive(history):
        code, output = run(
            app, *TARGET, "--history", str(history), "--page", str(tmp_path / "p.html"), "--max-runs", "1"
        )
    assert code == 2
    assert "another `gauntlet monitor`" in output and "--history" in output


def test_serve_refuses_an_impossible_port(app: typer.Typer, tmp_path: Path) -> None:
    code, output = run(app, "serve", "--port", "70000", "--state-dir", str(tmp_path))
    assert code == 2 and "--port 70000 is not a port" in output


def test_help_lists_both_commands(app: typer.Typer) -> None:
    code, output = run(app, "--help")
    assert code == 0
    assert "run" in output and "serve" in output and "--every" in output


def test_sigterm_asks_the_loop_to_stop_and_the_old_handler_comes_back() -> None:
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    with _stop_on_sigterm(stop):
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--alert", "nosuch://x/y"), "--alert 'nosuch://x/...': Apprise cannot send to it (unknown scheme 'nosuch'"),
        (("--alert", "hooks.slack.com"), "--alert 'hooks.slack.com': Apprise cannot send to it"),
        (("--alert", "slack://"), "e.g. mailto://user:pass@example.com"),
    ],
)
def test_a_bad_alert_url_exits_2_naming_it_and_the_fix(app: typer.Typer, args: tuple[str, ...], message: str) -> None:
    code, output = run(app, *args, *TARGET)
    assert code == 2, output
    assert message in " ".join(output.split())
    assert output.strip().startswith("error:") and "Traceback" not in output


def test_a_bad_alerts_file_names_the_channel_and_key(app: typer.Typer, tmp_path: Path) -> None:
    bad = tmp_path / "alerts.toml"
    bad.write_text('[[channel]]\nname = "ops"\nurl = "json://127.0.0.1:9/hook"\n\n[[channel]]\nurl = "nosuch://x"\n')
    code, output = run(app, "--alerts", str(bad), *TARGET)
    assert code == 2 and "channel 2" in output and "Apprise cannot send to it" in " ".join(output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--out", "monitor-files"), "--out 'monitor-files': the monitor's files go to --history/--page/--artifacts"),
        (("--out", "otlp=collector:4318"), "give the OTLP/HTTP metrics URL"),
        (("--out", "statsd=127.0.0.1:8125"), "unknown output 'statsd'"),
    ],
)
def test_a_bad_out_exits_2_naming_it(app: typer.Typer, args: tuple[str, ...], message: str) -> None:
    code, output = run(app, *args, *TARGET)
    assert code == 2, output
    assert message in " ".join(output.split())
    assert output.strip().startswith("error:") and "Traceback" not in output
