"""The result model `gauntlet.result/1`: round trips, culprits, and one clear line for every bad input."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gauntlet.reports.errors import ResultFileError
from gauntlet.reports.example import T0, example_run
from gauntlet.reports.model import SCHEMA, Run
from gauntlet.reports.resultfile import ensure_result_is_valid, merge_runs, read_result, write_result

Raw = dict[str, Any]


@pytest.fixture(scope="module")
def failing() -> Raw:
    return example_run(failing=True).to_json()


@pytest.fixture(scope="module")
def passing() -> Raw:
    return example_run().to_json()


def test_a_run_survives_a_json_round_trip(failing: Raw, tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    write_result(path, ensure_result_is_valid(failing, source="x"))
    again = read_result(path)
    assert again.to_json() == failing
    assert json.loads(path.read_text())["schema"] == SCHEMA == "gauntlet.result/1"
    assert not list(tmp_path.glob(".*.tmp"))


def test_verdict_and_culprits_of_the_example_runs() -> None:
    assert example_run().verdict == "passed" and example_run().culprits() == []
    culprits = [c.sentence() for c in example_run(failing=True).culprits()]
    assert culprits[0].startswith("load home_for_you/ramp: threshold `overall p95_ms < 500 ms` missed: observed ")
    assert any("invariant `jobs enqueued = done + dead-lettered` broken: observed 997 of 1000" in c for c in culprits)
    assert any("step `submit onboarding` failed: TimeoutError" in c for c in culprits)


def test_a_run_with_nothing_in_it_fails() -> None:
    empty = Run(id="r", started_at=T0, finished_at=T0, target="", profile="")
    assert empty.verdict == "failed"
    assert "a gate that checks nothing fails" in empty.culprits()[0].sentence()


def test_a_drill_fails_on_its_status_and_on_deviation(passing: Raw, failing: Raw) -> None:
    raw = copy.deepcopy(passing)
    raw["sections"]["drills"][0].update(
        status="aborted", deviated=True, passed=False, reasons=["Ctrl-C during the fault"]
    )
    raw["verdict"] = "failed"
    sentences = [c.sentence() for c in ensure_result_is_valid(raw, source="x").drills[0].culprits()]
    assert sentences == [
        "drill worker_crash: status `experiment status` was: aborted (expected completed): Ctrl-C during the fault",
        "drill worker_crash: status `steady state` was: deviated: "
        "the steady-state hypothesis did not hold after the fault",
    ]
    # When a broken invariant explains the deviation, it is named instead of a bare "deviated".
    raw = copy.deepcopy(failing)
    raw["sections"]["drills"][0]["deviated"] = True
    sentences = [c.sentence() for c in ensure_result_is_valid(raw, source="x").drills[0].culprits()]
    assert len(sentences) == 1 and "invariant `jobs enqueued = done + dead-lettered` broken" in sentences[0]


def _set(path: str, value: object) -> Callable[[Raw], None]:
    """A mutation: set `value` at a dotted path (list indexes as numbers); `...` deletes the key."""

    def mutate(raw: Raw) -> None:
        *parents, last = path.split(".")
        node: Any = raw
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is ...:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


BAD_INPUTS: list[tuple[str, Callable[[Raw], None], str]] = [
    ("no schema", _set("schema", ...), "schema: missing: not a Gauntlet result file"),
    ("newer schema", _set("schema", "gauntlet.result/2"), "'gauntlet.result/2' is not a schema this Gauntlet reads"),
    ("id not a string", _set("id", 3), "id: expected a non-empty string, got 3"),
    ("time not ISO", _set("started_at", "yesterday"), "started_at: 'yesterday' is not an ISO 8601 time"),
    ("time without zone", _set("started_at", "2025-01-31T12:00:00"), "has no time zone; add `Z` for UTC"),
    ("finish before start", _set("finished_at", "2025-01-30T00:00:00Z"), "finished_at: the run finishes before"),
    ("no sections", _set("sections", ...), "sections: missing"),
    ("load not a list", _set("sections.load", {}), "sections.load: expected a list, got dict"),
    ("check passed not bool", _set("sections.load.0.checks.0.passed", "yes"),
     "sections.load[0].checks[0].passed: expected true or false, got 'yes'"),
    ("checks missing", _set("sections.load.0.checks", ...), "sections.load[0].checks: missing"),
    ("impossible failures", _set("sections.load.0.overall.failures", 10**9), "failures among 3000 requests"),
    ("negative latency", _set("sections.load.0.overall.p95_ms", -1), "overall.p95_ms: expected a number >= 0"),
    ("corrupt histogram", _set("sections.load.0.overall.hdr", "HISTFAAAAB"),
     "sections.load[0].overall.hdr: not a valid HdrHistogram V2 base64 encoding"),
    ("entry ends first", _set("sections.journeys.0.finished_at", "2025-01-31T11:00:00Z"),
     "sections.journeys[0].finished_at: ends before it starts"),
    ("series out of order", _set("sections.load.0.series.1.t_s", 0.0), "series[1].t_s: the series must be in time"),
    ("entry says passed", _set("sections.load.0.passed", True),
     "sections.load[0].passed: true, but load home_for_you/ramp: threshold `overall p95_ms < 500 ms` missed"),
    ("unknown drill status", _set("sections.drills.0.status", "exploded"),
     "sections.drills[0].status: expected one of completed, failed, aborted, interrupted, got 'exploded'"),
    ("no invariants", _set("sections.drills.0.invariants", ...), "sections.drills[0].invariants: missing"),
    ("fault ends first", _set("sections.drills.0.fault.ended_at", "2025-01-31T12:00:00Z"),
     "sections.drills[0].fault.ended_at: the fault ends before it starts"),
    ("activity kind", _set("sections.drills.0.activities.0.kind", "prayer"), "activities[0].kind: expected one of"),
    ("journey without steps", _set("sections.journeys.0.steps", []), "a journey with no steps checked nothing"),
    ("step duration", _set("sections.journeys.0.steps.0.duration_ms", "fast"),
     "steps[0].duration_ms: expected a finite number, got 'fast'"),
    ("run says passed", _set("verdict", "passed"), "verdict: 'passed', but load home_for_you/ramp: threshold"),
    ("verdict word", _set("verdict", "maybe"), "verdict: expected one of passed, failed, got 'maybe'"),
    ("duplicate names", lambda raw: raw["sections"]["load"].append(copy.deepcopy(raw["sections"]["load"][0])),
     "sections.load: entry names must be unique, home_for_you/ramp repeats"),
    ("objective as percent", _set("slos.0.objective", 99.9), "slos[0].objective: 99.9 must be a fraction in (0, 1)"),
    ("smoke without checks", _set("sections.smoke.checks", []), "a smoke entry with no checks checked nothing"),
    ("check observed is a list", _set("sections.smoke.checks.0.observed", [1]),
     "checks[0].observed: expected a string, number, boolean or null, got list"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "mutate", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_one_line_naming_file_field_and_problem(
    failing: Raw, what: str, mutate: Callable[[Raw], None], message: str
) -> None:
    raw = copy.deepcopy(failing)
    mutate(raw)
    with pytest.raises(ResultFileError) as caught:
        ensure_result_is_valid(raw, source="out/result.json")
    text = str(caught.value)
    assert text.startswith("out/result.json: "), text
    assert message in text, text
    assert "\n" not in text
    assert caught.value.exit_code == 2


def test_a_failed_verdict_needs_a_culprit(passing: Raw) -> None:
    raw = copy.deepcopy(passing)
    raw["verdict"] = "failed"
    with pytest.raises(ResultFileError, match="'failed', but nothing in the file failed"):
        ensure_result_is_valid(raw, source="r.json")
    raw = copy.deepcopy(passing)
    raw["sections"]["journeys"][0]["passed"] = False
    with pytest.raises(ResultFileError, match="false, but no check, invariant or step failed: name the culprit"):
        ensure_result_is_valid(raw, source="r.json")


def test_the_top_level_must_be_an_object() -> None:
    with pytest.raises(ResultFileError, match=r"r\.json: top level: expected a JSON object, got list"):
        ensure_result_is_valid([], source="r.json")


def test_optional_sections_and_keys_may_be_left_out(passing: Raw) -> None:
    raw = copy.deepcopy(passing)
    raw["sections"] = {"smoke": {"checks": [{"name": "2A health ok", "passed": True}]}}
    for key in ("slos", "checks"):
        del raw[key]
    run = ensure_result_is_valid(raw, source="r.json")
    assert run.smoke is not None and run.smoke.name == "smoke" and run.verdict == "passed"
    assert run.load == [] and run.slos == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file (was the run interrupted"),
        (b"   \n", "empty file"),
        (b'{"schema": "gauntlet.result/1",\n  "id": }', "not valid JSON (line 2 column 9: Expecting value)"),
        (b"\xff\xfe\x00{", "not UTF-8 text"),
        (b'{"a": NaN}', "schema: missing"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_corrupt_files_are_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(ResultFileError) as caught:
        read_result(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_nan_is_not_a_latency(tmp_path: Path, failing: Raw) -> None:
    text = json.dumps(failing).replace('"p95_ms": 925.183', '"p95_ms": NaN', 1)
    path = tmp_path / "result.json"
    path.write_text(text)
    with pytest.raises(ResultFileError, match=r"overall.p95_ms: expected a finite number, got nan"):
        read_result(path)


def test_missing_files_and_folders_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ResultFileError, match=r"no such file; write one with `gauntlet gate --out DIR`"):
        read_result(tmp_path / "nope.json")
    with pytest.raises(ResultFileError, match="is a folder; name the result JSON file inside it"):
        read_result(tmp_path)


def test_merging_runs_keeps_every_entry_and_failure() -> None:
    a, b = example_run(run_id="a"), example_run(failing=True, run_id="b")
    merged = merge_runs([a, b])
    assert merged.id == "a+b"
    assert [e.name for e in merged.load] == ["home_for_you/ramp", "home_for_you/ramp@b"]
    assert [d.name for d in merged.drills] == ["worker_crash", "worker_crash@b"]
    assert merged.smoke is not None and [c.name for c in merged.smoke.checks][:2] == [
        "2A health ok@a",
        "2B signup and login@a",
    ]
    assert {s.entry for s in merged.slos} == {"home_for_you/ramp", "home_for_you/ramp@b"}
    assert merged.verdict == "failed"
    assert len(merged.culprits()) == len(b.culprits())
    # The merged run is itself a valid result file.
    assert ensure_result_is_valid(merged.to_json(), source="m").to_json() == merged.to_json()
    assert merge_runs([a]) is a
    with pytest.raises(ResultFileError, match="no result files to merge"):
        merge_runs([])
