"""Running the CLI in tests: one area alone in a Typer app (in-process), or the whole `gauntlet` in a child."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import typer

from gauntlet.cliutil import GauntletGroup


def area_app(register: Callable[[typer.Typer], None]) -> typer.Typer:
    """The area's commands under a GauntletGroup, plus a second command so the area stays a subcommand."""
    app = typer.Typer(cls=GauntletGroup)
    register(app)

    @app.command("noop")
    def _noop() -> None:
        pass

    return app


def run_gauntlet(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    """`gauntlet ARGS` in a child process with its own state dir and a plain environment (no stdin)."""
    return subprocess.run(
        [sys.executable, "-c", "from gauntlet.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"GAUNTLET_STATE_DIR": str(state_dir), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        check=False,
    )
