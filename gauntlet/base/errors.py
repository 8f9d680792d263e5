"""Errors the harness reports to a person, each with the exit code it maps to."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # an SLO, drill or journey failed
EXIT_USAGE = 2  # usage or environment error


class GauntletError(Exception):
    """A problem a person can act on: the message names what is wrong and the fix."""

    exit_code = EXIT_USAGE


class EnvironmentProblem(GauntletError):
    """Something the machine lacks (a binary, a free port, a permission)."""


class StackNotRunning(GauntletError):
    """A command needs the stack, and `gauntlet up` has not been run (or it died)."""
