"""CLI commands of gauntlet.chaos, registered on the `gauntlet` app by gauntlet.cli."""

from __future__ import annotations

from typing import Annotated

import typer

from gauntlet.base.errors import EnvironmentProblem


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main `gauntlet` app."""
    from gauntlet.chaos.drill_cli import app as drills_app

    app.command("toxiproxy")(toxiproxy)
    app.add_typer(drills_app, name="chaos")  # `gauntlet chaos list` / `gauntlet chaos run`


def toxiproxy(
    host: Annotated[str, typer.Option(help="Address the Toxiproxy HTTP API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the Toxiproxy HTTP API.")] = 8474,
) -> None:
    """Run the built-in fault proxy (Toxiproxy 2.x HTTP API) until SIGTERM or Ctrl-C.

    Example: gauntlet toxiproxy --host 127.0.0.1 --port 8474
    """
    from gauntlet.faultproxy.server import run

    try:
        run(host, port)
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot serve the Toxiproxy API on {host}:{port}: {exc}; "
            "pick a free port with --port, or stop whatever listens there"
        ) from exc
