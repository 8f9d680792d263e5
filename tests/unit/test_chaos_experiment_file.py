"""Experiment files (chaostoolkit's format): read into drills, and every bad file refused naming the
line, the key and the fix. Pure: nothing runs against a stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gauntlet.chaos.drills import drill_specs, get_drill
from gauntlet.chaos.experiment import LoadSpec
from gauntlet.chaos.experiment_file import InvalidExperiment, load_experiment, parse_experiment
from gauntlet.chaos.export import dump_experiment, export_drill

EXAMPLE = Path(__file__).parents[2] / "examples" / "experiments" / "primary-latency.yaml"
TEXT = EXAMPLE.read_text(encoding="utf-8")


def _parse(text: str, *, fmt: str = "yaml", env: dict[str, str] | None = None) -> object:
    return parse_experiment(text, source="exp.yaml", fmt=fmt, env=env or {})  # type: ignore[arg-type]


def test_the_example_reads_into_a_drill_with_its_providers() -> None:
    drill = load_experiment(EXAMPLE)
    assert drill.name == "primary-latency"
    assert drill.requires == {"fault_proxy", "database"} and drill.roles == {"primary_db"}
    assert [p.name for p in drill.steady_state] == [
        "health says ok",
        "users' requests succeed",
        "replicas stream from the primary",
    ]
    assert [(a.name, a.fault, a.pause_after_s) for a in drill.method] == [
        ("slow down the primary", "start", 3.0),
        ("remove the latency", "end", 0.0),
    ]
    assert drill.load == LoadSpec(rate_per_s=12, before_s=1.5, after_s=1.5)
    assert drill.error_budget.during_p99_ms == 5000 and drill.error_budget.during_error_rate == 0.5
    assert [i.name for i in drill.invariants] == [
        "acknowledged writes stored exactly once",
        "replica reads unaffected",
        "replicas still streaming",
    ]
    slow = drill.method[0].provider
    assert slow is not None and slow.arguments["attributes"] == {"latency": 200, "jitter": 50}  # a number stays one
    assert slow.arguments["name"] == "example_primary_latency"  # the env entry's default


def test_configuration_from_the_environment() -> None:
    drill = parse_experiment(TEXT, source="exp.yaml", fmt="yaml", env={"GAUNTLET_EXAMPLE_TOXIC": "mine"})
    assert drill.method[0].provider is not None and drill.method[0].provider.arguments["name"] == "mine"


def test_the_steady_state_tolerances_judge_what_the_providers_return() -> None:
    drill = load_experiment(EXAMPLE)
    health, errors, replicas = (p.tolerance for p in drill.steady_state)
    assert health.accepts({"status": 200, "headers": {}, "body": {"status": "ok"}})
    assert not health.accepts({"status": 503, "headers": {}, "body": {"status": "degraded"}})
    assert errors.accepts(0.01) and not errors.accepts(0.5)
    assert replicas.accepts(2) and not replicas.accepts(0)


@pytest.mark.parametrize(
    ("name", "variant"),
    [(spec.name, v) for spec in drill_specs().values() for v in (spec.variants or (None,))],
)
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_every_built_in_drill_exports_and_reads_back_the_same(name: str, variant: str | None, fmt: str) -> None:
    drill = get_drill(name, variant)
    text = dump_experiment(export_drill(drill, variant), fmt)  # type: ignore[arg-type]
    back = parse_experiment(text, source=f"{name}.{fmt}", fmt=fmt)  # type: ignore[arg-type]
    assert (back.name, back.title, back.proves) == (drill.name, drill.title, drill.proves)
    assert [(p.name, p.tolerance.spec, p.timeout_s) for p in back.steady_state] == [
        (p.name, p.tolerance.spec, p.timeout_s) for p in drill.steady_state
    ]
    for got, want in ((back.method, drill.method), (back.setup, drill.setup), (back.rollbacks, drill.rollbacks)):
        assert [(a.name, a.fault, a.pause_before_s, a.pause_after_s, a.timeout_s) for a in got] == [
            (a.name, a.fault, a.pause_before_s, a.pause_after_s, a.timeout_s) for a in want
        ]
    assert [(i.name, i.timeout_s) for i in back.invariants] == [(i.name, i.timeout_s) for i in drill.invariants]
    assert back.load == drill.load and back.error_budget == drill.error_budget
    assert (back.requires, back.roles, back.settings) == (drill.requires, drill.roles, drill.settings)
    assert (back.recovery_timeout_s, back.probe_interval_s) == (drill.recovery_timeout_s, drill.probe_interval_s)


def test_an_export_names_shared_steps_by_their_providers() -> None:
    document = export_drill(get_drill("db-latency"))
    method = document["method"]
    assert isinstance(method, list)
    modules = [a["provider"]["module"] for a in method if isinstance(a, dict) and isinstance(a["provider"], dict)]
    assert modules == [
        "gauntlet.chaos.providers.load",
        "gauntlet.chaos.providers.toxiproxy",
        "gauntlet.chaos.providers.toxiproxy",
    ]
    worker = json.dumps(export_drill(get_drill("worker-crash")))
    assert '"module": "gauntlet.chaos.providers.drills"' in worker  # its mid-batch wait is its own


def _swap(old: str, new: str) -> str:
    assert old in TEXT, old
    return TEXT.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            _swap("method:\n", "methods:\n"),
            "exp.yaml:50: methods: unknown key in an experiment (did you mean 'method'?)",
        ),
        (
            TEXT[: TEXT.index("method:\n")] + TEXT[TEXT.index("rollbacks:\n") :],
            "exp.yaml:10: (top level): add a method: the list of actions that inject (and remove) the fault",
        ),
        (
            _swap("func: add_toxic", "func: add_toxik"),
            "exp.yaml:64: method[1].provider.func: gauntlet.chaos.providers.toxiproxy has no function 'add_toxik' "
            "(did you mean 'add_toxic'?); its functions: add_toxic, remove_toxic",
        ),
        (
            _swap("module: gauntlet.chaos.providers.sql", "module: chaosk8s.pod.probes"),
            "exp.yaml:45: steady-state-hypothesis.probes[2].provider.module: unknown provider module "
            "'chaosk8s.pod.probes' (did you mean 'gauntlet.chaos.providers.probes'?): Gauntlet runs its own "
            "providers, not chaostoolkit extensions; known modules: gauntlet.chaos.providers.toxiproxy",
        ),
        (
            _swap("tolerance: {type: range, range: [0, 0.02]}", "tolerance: {type: range, range: [0.02]}"),
            'exp.yaml:34: steady-state-hypothesis.probes[1].tolerance: a range tolerance needs "range": [low, high]',
        ),
        (
            _swap("tolerance: {type: range, range: [0, 0.02]}", "tolerance: {type: between, range: [0, 1]}"),
            "tolerance: unknown tolerance type 'between'; give one of range, regex, jsonpath",
        ),
        (
            _swap("      tolerance: {type: range, range: [0, 0.02]}\n", ""),
            "exp.yaml:32: steady-state-hypothesis.probes[1]: a steady-state probe needs a tolerance",
        ),
        (
            _swap("  title: the platform is healthy", "  title: [the platform is healthy"),
            "exp.yaml:24: not valid YAML (expected ',' or ']', but got ':'); fix the syntax there",
        ),
        (
            _swap("role: primary_db\n        type: latency", "role: primary\n        type: latency"),
            "exp.yaml:66: method[1].provider.arguments.role: argument 'role': 'primary' is not one of primary_db,",
        ),
        (
            _swap("arguments: {rate_per_s: 12,", "arguments: {rate: 12,"),
            "method[0].provider.arguments.rate: unknown argument 'rate' (did you mean 'rate_per_s'?)",
        ),
        (
            _swap("arguments: {rate_per_s: 12,", "arguments: {rate_per_s: fast,"),
            "arguments.rate_per_s: argument 'rate_per_s' must be a number",
        ),
        (
            _swap('latency: "${latency_ms}"', 'latency: "${latencyms}"'),
            "method[1].provider.arguments: ${latencyms} is not defined: add it under configuration (or secrets)",
        ),
        (
            _swap("default: example_primary_latency}", "}"),
            "configuration.toxic_name: $GAUNTLET_EXAMPLE_TOXIC is not set; set it in the environment or give",
        ),
        (
            _swap("    background: true\n", ""),
            "method[0].background: the background load runs alongside the method: set background: true",
        ),
        (
            _swap("fault: {start: slow down the primary,", "fault: {start: slow the primary,"),
            "extensions[0].fault.start: no method action is named 'slow the primary' "
            "(did you mean 'slow down the primary'?)",
        ),
        (
            _swap("    pauses: {after: 3}", "    pauses: {after: 400}"),
            "method[1].pauses.after: 400 is out of range: give a number within 0-120 (seconds)",
        ),
        (
            _swap("  - name: gauntlet\n", "  - name: gauntlet\n    budget: {}\n"),
            "extensions[0].budget: unknown key in the gauntlet extension",
        ),
        ("- just a list\n", "exp.yaml:1: (top level): must be an object (one experiment"),
    ],
)
def test_a_bad_file_is_refused_naming_the_line_key_and_fix(text: str, message: str) -> None:
    with pytest.raises(InvalidExperiment) as caught:
        _parse(text)
    assert message in str(caught.value)


def test_an_invariant_in_the_method_is_refused() -> None:
    text = _swap("func: remove_toxic", "func: remove_toxic")  # unchanged; add an invariant step instead
    text = text.replace(
        "rollbacks:\n",
        "  - type: probe\n    name: writes\n    provider: {type: python, module: gauntlet.chaos.providers.invariants, "
        "func: load_writes_exactly_once}\n\nrollbacks:\n",
        1,
    )
    with pytest.raises(
        InvalidExperiment, match=r"method\[3\]\.provider\.func: load_writes_exactly_once is an invariant"
    ):
        _parse(text)


def test_a_json_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"title": "x",\n "description": "y",\n "method": []\n,}', encoding="utf-8")
    with pytest.raises(InvalidExperiment, match=r"bad\.json:4: not valid JSON \(column 2: Expecting property name"):
        load_experiment(path)


def test_a_json_experiment_names_lines_too() -> None:
    document = json.loads(dump_experiment(export_drill(get_drill("db-latency")), "json"))
    document["method"][1]["provider"]["arguments"]["role"] = "postgres"
    text = json.dumps(document, indent=2)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"postgres"' in row)
    with pytest.raises(InvalidExperiment, match=rf"x\.json:{line}: method\[1\]\.provider\.arguments\.role: "):
        parse_experiment(text, source="x.json", fmt="json")


def test_files_that_are_not_experiments(tmp_path: Path) -> None:
    with pytest.raises(InvalidExperiment, match="no such file"):
        load_experiment(tmp_path / "missing.yaml")
    with pytest.raises(InvalidExperiment, match=r"ends in \.json, \.yaml or \.yml"):
        load_experiment(tmp_path / "experiment.txt")


def test_an_unknown_built_in_drill_activity_has_a_did_you_mean() -> None:
    document = json.loads(dump_experiment(export_drill(get_drill("worker-crash")), "json"))
    document["method"][3]["provider"]["arguments"]["name"] = "SIGKILL worker_queue_9"
    with pytest.raises(InvalidExperiment, match=r"has no action 'SIGKILL worker_queue_9' \(did you mean 'SIGKILL"):
        parse_experiment(json.dumps(document), source="x.json", fmt="json")
