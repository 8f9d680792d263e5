"""Every command's `--help` has a runnable example; flags show as flags; usage errors are one `error:` line."""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
import sys
from typing import Any, NamedTuple

import pytest
import typer
from typer.testing import CliRunner

from gauntlet import cli

pytestmark = pytest.mark.acceptance
GAUNTLET = [sys.executable, "-m", "gauntlet"]
EXAMPLE = re.compile(r"Example: (gauntlet .+)")
RUNNER = CliRunner()


class HelpText(NamedTuple):
    exit_code: int
    stdout: str
    stderr: str


@functools.cache
def _root() -> Any:
    cli._register_areas()
    return typer.main.get_command(cli.app)


def command_paths() -> list[list[str]]:
    """Every command and group, as the words after `gauntlet`."""
    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(_root(), [])
    return found


def _help(path: list[str]) -> HelpText:
    """`gauntlet PATH --help`, in this process: the same text as from a shell (checked once below, by
    subprocess), in milliseconds instead of a Python start-up per command."""
    done = RUNNER.invoke(cli.app, [*path, "--help"], env={"COLUMNS": "200", "TERM": "dumb"}, prog_name="gauntlet")
    return HelpText(done.exit_code, done.output, "" if done.exception is None else repr(done.exception))


def _help_from_a_shell(path: list[str]) -> HelpText:
    env = {"COLUMNS": "200", "TERM": "dumb", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [*GAUNTLET, *path, "--help"], capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL
    )
    return HelpText(done.returncode, done.stdout.replace("python -m gauntlet", "gauntlet"), done.stderr)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def _examples(text: str) -> list[str]:
    """Each `Example: gauntlet ...` paragraph of a help text, its wrapped lines joined."""
    found, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if "Example: gauntlet" in line:
            paragraph = [line]
            for following in lines[i + 1 :]:
                if not following.strip() or following.lstrip().startswith(("╭", "│", "╰")):
                    break
                paragraph.append(following)
            match = EXAMPLE.search(" ".join(" ".join(paragraph).split()))
            assert match is not None
            found.append(match.group(1))
    return found


def _resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The command these words name, and its arguments (a default subcommand taken when the word is not one)."""
    command, rest = _root(), list(words)
    while hasattr(command, "commands"):
        if rest and rest[0] in command.commands:
            command = command.commands[rest.pop(0)]
        elif getattr(command, "default_command", ""):
            command = command.commands[command.default_command]
        else:
            break
    return command, rest


def test_every_help_shows_a_parseable_example_and_flags_without_a_type() -> None:
    paths = command_paths()
    assert len(paths) > 30
    results = [_help(path) for path in paths]
    missing, bad = [], []
    for path, done in zip(paths, results, strict=True):
        name = " ".join(["gauntlet", *path])
        assert done.exit_code == 0, (name, done.stderr)
        assert "<bool>" not in done.stdout, name
        examples = _examples(done.stdout)
        if not examples:
            missing.append(name)
        for example in examples:
            for part in example.split("&&"):
                words = shlex.split(part.split(" #")[0])
                assert words[0] == "gauntlet", example
                command, args = _resolve(words[1:])
                try:
                    command.make_context(name, args, resilient_parsing=False)
                except Exception as exc:
                    bad.append(f"{example!r} in {name}: {exc}")
    assert missing == [], f"no `Example:` in the help of {missing}"
    assert bad == [], bad


@pytest.mark.parametrize("path", [[], ["load"], ["chaos", "run"]])
def test_help_in_process_is_what_a_shell_shows(path: list[str]) -> None:
    assert _lines(_help(path).stdout) == _lines(_help_from_a_shell(path).stdout)


def test_top_level_help_lists_the_exit_codes() -> None:
    text = " ".join(_help([]).stdout.split())
    assert "Exit codes: 0 passed" in text and "130 interrupted" in text


def test_monitor_help_lists_its_commands_not_run_options() -> None:
    text = _help(["monitor"]).stdout
    options = text.split("─ Options")[1].split("─ Commands")[0]
    assert "--every" not in options and "--help" in options
    assert "run" in text.split("─ Commands")[1] and "serve" in text.split("─ Commands")[1]


def test_report_help_and_readme_agree_on_the_short_form() -> None:
    text = " ".join(_help(["report"]).stdout.split())
    assert "gauntlet report OUT_DIR" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["load", "mixed", "--usres", "3"], "error: No such option: --usres"),
        (["report", "compare", "a.json"], "error: Missing argument 'candidate'"),
        (["nosuch"], "error: No such command 'nosuch'"),
    ],
)
def test_usage_errors_are_one_error_line_and_exit_2(args: list[str], message: str) -> None:
    done = subprocess.run([*GAUNTLET, *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(message) and "--help" in lines[0], done.stderr
    assert "╭" not in done.stderr  # not Typer's box
