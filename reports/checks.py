"""What a check is, and how a failure is named: the common ground of every result section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gauntlet.reports.jsonfields import Fields, Scalar

CulpritKind = Literal["threshold", "invariant", "check", "step", "status"]
_BROKEN = {"threshold": "missed", "invariant": "broken", "check": "failed", "step": "failed", "status": "was"}


def broken(kind: str) -> str:
    """The verb for a failed thing of this kind: a threshold is missed, an invariant broken, a step failed."""
    return _BROKEN.get(kind, "failed")


def show(value: Scalar) -> str:
    """A scalar as a person reads it: 612.0 -> 612, 0.0012 -> 0.0012, None -> none."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass(frozen=True, kw_only=True)
class Culprit:
    """One named thing that made a run fail."""

    section: str  # load, drill, journey, smoke, run
    entry: str
    kind: CulpritKind
    name: str
    detail: str

    def sentence(self) -> str:
        return f"{self.section} {self.entry}: {self.kind} `{self.name}` {broken(self.kind)}: {self.detail}"


@dataclass(frozen=True, kw_only=True)
class Check:
    """One thing checked: a threshold, an invariant, a smoke step. `observed` vs `expected` says why it failed."""

    name: str
    passed: bool
    observed: Scalar = None
    expected: Scalar = None
    message: str = ""
    # Not run (the target lacks what it needs): never passed, and a failure; `message` says why.
    skipped: bool = False
    # Skipped at the user's request (`gauntlet gate --skip PHASE`): shown as skipped, not counted as a failure.
    waived: bool = False

    def __post_init__(self) -> None:
        if self.skipped and self.passed:
            raise ValueError(f"check {self.name!r}: a skipped check proved nothing, so it cannot be passed")
        if self.waived and not self.skipped:
            raise ValueError(f"check {self.name!r}: only a skipped check can be waived")

    def detail(self) -> str:
        if self.waived:
            return f"skipped at your request: {self.message or 'not run'}"
        if self.skipped:
            return f"skipped: {self.message or 'not run'}"
        numbers = f"observed {show(self.observed)}, expected {show(self.expected)}"
        return f"{numbers} ({self.message})" if self.message else numbers

    def to_json(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "name": self.name,
            "passed": self.passed,
            "observed": self.observed,
            "expected": self.expected,
            "message": self.message,
        }
        if self.skipped:
            fields["skipped"] = True
        if self.waived:
            fields["waived"] = True
        return fields

    @classmethod
    def from_json(cls, f: Fields) -> Check:
        skipped = f.flag("skipped") if "skipped" in f.raw else False
        waived = f.flag("waived") if "waived" in f.raw else False
        f.ensure(not (skipped and f.flag("passed")), "skipped", "a skipped check cannot also be passed")
        f.ensure(skipped or not waived, "waived", "only a skipped check can be waived")
        return cls(
            name=f.text("name"),
            passed=f.flag("passed"),
            observed=f.scalar("observed"),
            expected=f.scalar("expected"),
            message=f.optional_text("message") or "",
            skipped=skipped,
            waived=waived,
        )


def failed_checks(section: str, entry: str, kind: CulpritKind, checks: list[Check]) -> list[Culprit]:
    return [
        Culprit(section=section, entry=entry, kind=kind, name=c.name, detail=c.detail())
        for c in checks
        if not c.passed and not c.waived
    ]
