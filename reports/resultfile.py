"""Reading, checking, writing and merging result files.

`read_result` accepts a `gauntlet.result/1` file, a `gauntlet load`
results.json, a drill journal (`gauntlet.chaos.journal/1`), journey results
(`JourneyResult.to_json()`, one or a list) or an acceptance result
(`gauntlet.acceptance/1`); anything else is a ResultFileError
whose message is one line: the file, where in it, and what is wrong.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from gauntlet.base.files import write_atomically
from gauntlet.reports.acceptance_adapter import is_acceptance_result, run_from_acceptance_result
from gauntlet.reports.chaos_adapter import is_chaos_journal, run_from_chaos_journal
from gauntlet.reports.errors import ResultFileError
from gauntlet.reports.journey_adapter import is_journey_result, run_from_journey_results
from gauntlet.reports.jsonfields import Fields
from gauntlet.reports.load_adapter import is_load_result, run_from_load_result
from gauntlet.reports.model import ChecklistEntry, DrillEntry, JourneyEntry, LoadEntry, Run, SloRecord

# A result holds encoded histograms and per-second series; anything far bigger is not a result.
MAX_RESULT_BYTES = 256 * 1024 * 1024


def ensure_result_is_valid(raw: object, *, source: str) -> Run:
    """Parsed JSON -> Run, or ResultFileError("SOURCE: path.in.file: problem")."""
    # The other areas' own result files are read as they are (each area owns its format).
    if is_load_result(raw):
        return run_from_load_result(raw, source=source)
    if is_chaos_journal(raw):
        return run_from_chaos_journal(raw, source=source)
    if is_journey_result(raw):
        return run_from_journey_results(raw, source=source)
    if is_acceptance_result(raw):
        return run_from_acceptance_result(raw, source=source)
    try:
        return Run.from_json(Fields(raw, ""))
    except ResultFileError as exc:
        raise ResultFileError(f"{source}: {exc}") from None


def read_result(path: Path) -> Run:
    """Read and check one result file."""
    try:
        size = path.stat().st_size
        if size > MAX_RESULT_BYTES:
            raise ResultFileError(f"{path}: {size} bytes is too big for a result file (limit {MAX_RESULT_BYTES})")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultFileError(
            f"{path}: no such file; write one with `gauntlet gate --out DIR`, or name it with --from FILE"
        ) from None
    except IsADirectoryError:
        raise ResultFileError(f"{path}: is a folder; name the result JSON file inside it") from None
    except UnicodeDecodeError as exc:
        raise ResultFileError(f"{path}: not UTF-8 text (byte {exc.start}); is this a result JSON file?") from None
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if not text.strip():
        raise ResultFileError(f"{path}: empty file (was the run interrupted before it wrote its result?)")
    try:
        raw: object = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise ResultFileError(f"{path}: JSON nested too deeply to be a result file") from None
    return ensure_result_is_valid(raw, source=str(path))


def write_result(path: Path, run: Run) -> None:
    write_atomically(path, json.dumps(run.to_json(), indent=2) + "\n")


N = TypeVar("N", LoadEntry, DrillEntry, JourneyEntry)


def _unique(entries: Sequence[N], taken: set[str], run_id: str) -> list[N]:
    """The entries, each renamed NAME@RUN_ID if an earlier run already had that name."""
    unique = []
    for entry in entries:
        name = entry.name if entry.name not in taken else f"{entry.name}@{run_id}"
        taken.add(name)
        unique.append(entry if name == entry.name else dataclasses.replace(entry, name=name))
    return unique


def _merged_checklist(runs: Sequence[Run], section: str) -> ChecklistEntry | None:
    """The runs' smoke (or acceptance) entries as one; with several, each check's name gets `@RUN_ID`."""
    found = [(r, entry) for r in runs if (entry := getattr(r, section)) is not None]
    if len(found) <= 1:
        return found[0][1] if found else None
    # Keep every run's checks: dropping one would hide its failures.
    checks = [dataclasses.replace(c, name=f"{c.name}@{r.id}") for r, entry in found for c in entry.checks]
    return ChecklistEntry(name=section, checks=checks)


def merge_runs(runs: Sequence[Run]) -> Run:
    """Several runs as one report: all their entries (a repeated name gets `@RUN_ID`), spanning all their times."""
    if not runs:
        raise ResultFileError("no result files to merge: pass at least one with --from")
    if len(runs) == 1:
        return runs[0]
    taken_load: set[str] = set()
    taken_drills: set[str] = set()
    taken_journeys: set[str] = set()
    load: list[LoadEntry] = []
    drills: list[DrillEntry] = []
    journeys: list[JourneyEntry] = []
    slos: list[SloRecord] = []
    for run in runs:
        entries = _unique(run.load, taken_load, run.id)
        renames = {old.name: new.name for old, new in zip(run.load, entries, strict=True)}
        load += entries
        slos += [dataclasses.replace(s, entry=renames.get(s.entry, s.entry)) for s in run.slos]
        drills += _unique(run.drills, taken_drills, run.id)
        journeys += _unique(run.journeys, taken_journeys, run.id)
    return Run(
        id="+".join(r.id for r in runs),
        started_at=min(r.started_at for r in runs),
        finished_at=max(r.finished_at for r in runs),
        target=", ".join(dict.fromkeys(r.target for r in runs if r.target)),
        profile=", ".join(dict.fromkeys(r.profile for r in runs if r.profile)),
        load=load,
        drills=drills,
        journeys=journeys,
        smoke=_merged_checklist(runs, "smoke"),
        acceptance=_merged_checklist(runs, "acceptance"),
        slos=slos,
        checks=[dataclasses.replace(c, name=f"{c.name}@{r.id}") for r in runs for c in r.checks],
    )


def read_results(paths: Sequence[Path]) -> Run:
    return merge_runs([read_result(p) for p in paths])
