"""The one base exception of gauntlet.reports, and its kinds; each message names the problem and the fix."""

from __future__ import annotations

from gauntlet.base.errors import GauntletError


class ReportError(GauntletError):
    """Something the reports area cannot work with (exit code 2: usage or input)."""


class SloInputError(ReportError):
    """An SLO calculation was given an objective, window, count or series that makes no sense."""


class ResultFileError(ReportError):
    """A result file is unreadable, not JSON, or does not follow the `gauntlet.result/1` schema."""
