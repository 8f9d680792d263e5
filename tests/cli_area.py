"""One CLI area (load, journey, monitor, ...) alone in a Typer app, as the real `gauntlet` app holds it."""

from __future__ import annotations

from collections.abc import Callable

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
