"""Step events: what a drill or journey run is doing now, for a live view in another process.

The gate runs `gauntlet chaos run` and `gauntlet journey run` as subprocesses. Each gets
`GAUNTLET_PROGRESS_FILE` in its environment; the runner calls its step callback at every step
(`fault injected`, `recovering`, a journey's step name...) and `step_reporter` appends one JSON
line per call to that file. The gate's live table tails the file (`StepFeed`) and shows the
latest step. Without the variable the callback does nothing, so the commands run alone as before.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gauntlet.load.runner import ProgressFeed
from gauntlet.settings import harness_settings

PROGRESS_ENV = "GAUNTLET_PROGRESS_FILE"

# (item, step): item is the drill or journey (with its place in the run, e.g. "replica-loss (1/2)").
StepCallback = Callable[[str, str], None]


@dataclass(frozen=True)
class StepEvent:
    item: str
    step: str
    at: float  # epoch seconds when the step began


def step_reporter(path: Path | None = None) -> StepCallback:
    """Appends each step to `path` (default: $GAUNTLET_PROGRESS_FILE); a no-op when there is none."""
    target = path or harness_settings().progress_file
    if target is None:
        return lambda item, step: None
    target.parent.mkdir(parents=True, exist_ok=True)

    def report(item: str, step: str) -> None:
        line = json.dumps({"item": item, "step": step, "at": round(time.time(), 3)})
        with target.open("a", encoding="utf-8") as handle:  # one short write per line: readers see whole lines
            handle.write(line + "\n")

    return report


@dataclass
class StepFeed:
    """The latest step written to a progress file since the feed was opened."""

    feed: ProgressFeed

    @classmethod
    def following(cls, path: Path) -> StepFeed:
        """Reads only what is appended from now on (a file left by an earlier run is ignored)."""
        return cls(ProgressFeed(path, offset=path.stat().st_size if path.exists() else 0))

    def latest(self) -> StepEvent | None:
        line = self.feed.poll()
        if not line:
            return None
        try:
            return StepEvent(item=str(line["item"]), step=str(line["step"]), at=float(line["at"]))
        except (KeyError, TypeError, ValueError):
            return None


def step_figure(event: StepEvent | None, now: float) -> str:
    """Pure: the live table's cell for a running drill or journey phase."""
    if event is None:
        return "starting"
    return f"{event.item} · {event.step} ({max(0.0, now - event.at):.0f} s)"
