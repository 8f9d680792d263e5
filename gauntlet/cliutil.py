"""How every `gauntlet` command shows itself and exits: problems as one `error:` line, flags without a type.

The one exit idiom of every command:
- a problem a person can act on is raised as a `GauntletError` (gauntlet/base/errors.py);
  `GauntletGroup`, the root group, prints it as one `error:` line and exits with
  its `exit_code` (2 unless the class says otherwise), under `gauntlet` and under
  Typer's CliRunner alike, so no command catches it to print it itself;
- a command that ran ends with `raise typer.Exit(code)`, `code` one of
  errors.EXIT_OK / EXIT_FAILED (or the gate's and drills' EXIT_INTERRUPTED);
  never `sys.exit` or `SystemExit` inside a command.

- `show_usage_error`: Typer's usage errors (an unknown option, a missing argument)
  printed the way Gauntlet prints its own problems, one line naming the problem
  and where to look: `error: No such option: --usres; see `gauntlet load --help``.
- `DefaultSubcommandGroup`: a group whose first word may be left out
  (`gauntlet report OUT_DIR` is `gauntlet report render OUT_DIR`, `gauntlet monitor
  --every 60s` is `gauntlet monitor run --every 60s`), so the group's own help
  lists its commands instead of repeating the default command's options.
- `flags_without_type`: a boolean flag shows as `--dry-run`, not `--dry-run <bool>`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup, TyperOption

from gauntlet.base.errors import EXIT_USAGE, GauntletError

T = TypeVar("T")
_err = Console(stderr=True)


def show_error(exc: GauntletError) -> None:
    """A GauntletError as Gauntlet prints every problem: `error: <what is wrong and the fix>`."""
    _err.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)


def problems_exit(call: Callable[[], T]) -> T:
    """Run a command; a GauntletError becomes its one `error:` line and its exit code."""
    try:
        return call()
    except GauntletError as exc:
        show_error(exc)
        raise typer.Exit(exc.exit_code) from None


def show_usage_error(exc: Exception) -> None:
    """One `error:` line: Typer's message and the command whose help explains it."""
    format_message = getattr(exc, "format_message", None)
    message = (format_message() if callable(format_message) else str(exc)).strip().rstrip(".")
    if not message:  # "no arguments, so here is the help": the help was printed already
        return
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) or "gauntlet"
    _err.print(f"[red]error:[/] {message}; see `{path} --help`", soft_wrap=True, highlight=False, markup=True)


def usage_errors_exit(call: Callable[[], T]) -> T:
    """Run a group's parsing or invocation; a usage error becomes one `error:` line and exit 2."""
    try:
        return call()
    except typer.TyperException as exc:
        if not hasattr(exc, "format_message"):
            raise
        show_usage_error(exc)
        raise typer.Exit(getattr(exc, "exit_code", EXIT_USAGE)) from None


class GauntletGroup(TyperGroup):
    """The root `gauntlet` group: every command's GauntletError ends as one `error:` line (problems_exit)."""

    def invoke(self, ctx: Any) -> Any:
        return problems_exit(lambda: super(GauntletGroup, self).invoke(ctx))


class DefaultSubcommandGroup(TyperGroup):
    """A group whose `default_command` runs when the first word is not one of its commands."""

    default_command: ClassVar[str] = ""

    # `Any` for the context: its class lives in typer's private vendored click (typer._click).
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return usage_errors_exit(lambda: super(DefaultSubcommandGroup, self).parse_args(ctx, args))

    def invoke(self, ctx: Any) -> Any:
        return usage_errors_exit(lambda: super(DefaultSubcommandGroup, self).invoke(ctx))


def flags_without_type() -> None:
    """Help shows a boolean flag as itself (`--ui`), not `--ui <bool>` (typer 0.2x prints `<bool>`)."""
    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_gauntlet", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None
        result: str | None = original(self, ctx)
        return result

    display_type_rich._gauntlet = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
