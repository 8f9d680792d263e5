"""Experiment files: chaostoolkit's experiment format (JSON or YAML), read into a `Drill`.

`gauntlet chaos run FILE` runs what this returns with the same runner, journal, RTO and verdicts as
a built-in drill. The file has chaostoolkit's keys (`title`, `description`, `configuration`,
`secrets`, `steady-state-hypothesis` with probes and tolerances, `method`, `rollbacks`); activities
use Gauntlet's Python providers (gauntlet/chaos/providers/) or chaostoolkit's `http` and `process`
providers. What chaostoolkit has no words for lives in an extension named `gauntlet`: which method
actions open and close the fault window, the error budget, the nothing-lost invariants, setup
actions, platform settings, the recovery timeout. The background load is a method activity with
`"background": true` (provider gauntlet.chaos.providers.load: background_load).

Everything is checked before the stack is touched; a problem raises InvalidExperiment naming the
file, the line, the key (`method[1].provider.func`) and the fix.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

import yaml

from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.experiment import (
    ALL_GROUPS,
    MAX_PAUSE_S,
    Action,
    ActionFn,
    Capability,
    Drill,
    ErrorBudget,
    FaultMark,
    InvalidDrill,
    Invariant,
    InvariantFn,
    InvariantResult,
    JsonValue,
    LoadSpec,
    Probe,
    ProviderCall,
    RequestGroup,
    Tolerance,
    ensure_drill_is_valid,
)
from gauntlet.chaos.providers import Provider, ProviderError, Session, check_arguments, did_you_mean, find_provider
from gauntlet.chaos.providers.native import RUNTIME_NAMES, fill, http_activity, placeholders, process_activity
from gauntlet.chaos.tolerances import tolerance_from_spec

Path_ = tuple[str | int, ...]
Format = Literal["json", "yaml"]
SUFFIXES: dict[str, Format] = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}
EXTENSION = "gauntlet"
TOP_KEYS = (
    "version",
    "title",
    "description",
    "tags",
    "contributions",
    "configuration",
    "secrets",
    "extensions",
    "steady-state-hypothesis",
    "method",
    "rollbacks",
    "runtime",
    "controls",
)
ACTIVITY_KEYS = ("type", "name", "provider", "tolerance", "pauses", "background", "secrets", "controls", "ref")
EXTENSION_KEYS = (
    "name",
    "drill",
    "fault",
    "error_budget",
    "invariants",
    "setup",
    "recovery_timeout_s",
    "probe_interval_s",
    "settings",
)
BUDGET_KEYS = ("during_error_rate", "after_error_rate", "during_p99_ms", "groups", "after_groups")
_CONFIG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_SLUG = re.compile(r"[^a-z0-9]+")


class InvalidExperiment(InvalidDrill):
    """An experiment file is malformed; the message names the file, line, key and the fix (exit 2)."""


def looks_like_experiment_file(argument: str) -> bool:
    """A `gauntlet chaos run` argument that names a file (by suffix or path) rather than a drill."""
    return Path(argument).suffix.lower() in SUFFIXES or "/" in argument or os.sep in argument


def load_experiment(path: Path) -> Drill:
    """Read and check an experiment file (JSON or YAML by suffix); a fresh Drill on every call."""
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InvalidExperiment(f"{path}: an experiment file ends in .json, .yaml or .yml")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidExperiment(f"{path}: no such file; give the path of an experiment file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidExperiment(f"{path}: cannot read it ({exc}); give a readable UTF-8 file") from exc
    return parse_experiment(text, source=str(path), fmt=fmt, default_name=path.stem)


def experiment_document(path: Path) -> dict[str, JsonValue]:
    """The experiment file's document as it is (for a chaostoolkit journal); it was checked by load_experiment."""
    fmt = SUFFIXES.get(path.suffix.lower(), "yaml")
    raw, _ = _decode(path.read_text(encoding="utf-8"), str(path), fmt)
    if not isinstance(raw, dict):
        raise InvalidExperiment(f"{path}: the file must hold one experiment object")
    return raw


def parse_experiment(
    text: str, *, source: str, fmt: Format, default_name: str = "experiment", env: Mapping[str, str] | None = None
) -> Drill:
    """The drill an experiment's text describes; InvalidExperiment for the first problem."""
    raw, lines = _decode(text, source, fmt)
    reader = _Reader(source, lines, os.environ if env is None else env)
    return reader.drill(raw, default_name)


# -- decoding with line numbers ---------------------------------------------------------------------


def _decode(text: str, source: str, fmt: Format) -> tuple[JsonValue, dict[Path_, int]]:
    if fmt == "json":
        try:
            raw = cast(JsonValue, json.loads(text))
        except json.JSONDecodeError as exc:
            raise InvalidExperiment(
                f"{source}:{exc.lineno}: not valid JSON (column {exc.colno}: {exc.msg}); fix the syntax there"
            ) from None
        try:
            return raw, _line_map(yaml.compose(text, Loader=yaml.SafeLoader))
        except yaml.YAMLError:  # valid JSON that YAML cannot read (tabs): no line numbers, still checked
            return raw, {}
    try:
        raw = cast(JsonValue, yaml.safe_load(text))
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise InvalidExperiment(f"{where}: not valid YAML ({exc.problem or exc}); fix the syntax there") from None
    except yaml.YAMLError as exc:
        raise InvalidExperiment(f"{source}: not valid YAML ({exc}); fix the syntax") from None
    return raw, _line_map(node)


def _line_map(node: yaml.Node | None) -> dict[Path_, int]:
    lines: dict[Path_, int] = {}

    def walk(item: yaml.Node, path: Path_) -> None:
        if isinstance(item, yaml.MappingNode):
            for key, value in item.value:
                child = (*path, str(key.value))
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(item, yaml.SequenceNode):
            for index, value in enumerate(item.value):
                child = (*path, index)
                lines[child] = value.start_mark.line + 1
                walk(value, child)

    if node is not None:
        lines[()] = node.start_mark.line + 1
        walk(node, ())
    return lines


def key_text(path: Path_) -> str:
    """`method[1].provider.func` for ("method", 1, "provider", "func")."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


# -- reading ------------------------------------------------------------------------------------------


@dataclass
class _Activity:
    name: str
    kind: Literal["action", "probe"]
    fn: ActionFn | None
    invariant: InvariantFn | None
    load: LoadSpec | None
    tolerance: Tolerance | None
    pause_before_s: float
    pause_after_s: float
    timeout_s: float | None
    call: ProviderCall | None
    path: Path_


@dataclass
class _Reader:
    source: str
    lines: dict[Path_, int]
    env: Mapping[str, str]
    names: dict[str, JsonValue] = field(default_factory=dict)  # configuration and secrets, for ${name}
    session: Session = field(default_factory=Session)
    requires: set[Capability] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)

    def fail(self, path: Path_, message: str) -> InvalidExperiment:
        line = None
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                break
        where = f"{self.source}:{line}" if line is not None else self.source
        return InvalidExperiment(f"{where}: {key_text(path)}: {message}")

    # -- shapes ------------------------------------------------------------------------------------

    def mapping(self, value: JsonValue, path: Path_, what: str) -> dict[str, JsonValue]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be an object ({what}), not {_kind(value)}")
        return value

    def sequence(self, value: JsonValue, path: Path_, what: str) -> list[JsonValue]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list ({what}), not {_kind(value)}")
        return value

    def text(self, value: JsonValue, path: Path_, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"must be a non-empty string ({what})")
        return value

    def number(self, value: JsonValue, path: Path_, what: str, low: float = 0.0, high: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"must be a number ({what}), not {_kind(value)}")
        if value < low or (high is not None and value > high):
            bound = f"within {low:g}-{high:g}" if high is not None else f"at least {low:g}"
            raise self.fail(path, f"{value} is out of range: give a number {bound} ({what})")
        return float(value)

    def known_keys(self, raw: Mapping[str, JsonValue], path: Path_, known: tuple[str, ...], what: str) -> None:
        for key in raw:
            if key not in known:
                raise self.fail(
                    (*path, key),
                    f"unknown key in {what}{did_you_mean(key, list(known))}; known keys: {', '.join(known)}",
                )

    # -- the experiment ----------------------------------------------------------------------------

    def drill(self, raw: JsonValue, default_name: str) -> Drill:
        top = self.mapping(raw, (), "one experiment: title, description, steady-state-hypothesis, method")
        self.known_keys(top, (), TOP_KEYS, "an experiment")
        if "controls" in top:
            raise self.fail(("controls",), "controls are not supported by Gauntlet; remove them")
        for key in ("title", "description", "steady-state-hypothesis", "method"):
            if key not in top:
                raise self.fail((), _MISSING[key])
        title = self.text(top["title"], ("title",), "a one-line title")
        proves = self.text(top["description"], ("description",), "what passing this experiment shows")
        self.read_configuration(top.get("configuration"), top.get("secrets"))
        gauntlet, ext_path = self.extension(top.get("extensions"))
        name = self.drill_name(gauntlet, ext_path, default_name)

        hypothesis = self.mapping(top["steady-state-hypothesis"], ("steady-state-hypothesis",), "title and probes")
        self.known_keys(hypothesis, ("steady-state-hypothesis",), ("title", "probes", "controls"), "the hypothesis")
        probes_raw = self.sequence(
            hypothesis.get("probes"), ("steady-state-hypothesis", "probes"), "the probes that define steady state"
        )
        if not probes_raw:
            raise self.fail(("steady-state-hypothesis", "probes"), "add at least one probe with a tolerance")
        steady = tuple(
            self.hypothesis_probe(item, ("steady-state-hypothesis", "probes", i)) for i, item in enumerate(probes_raw)
        )

        method_raw = self.sequence(top["method"], ("method",), "the actions that inject the fault")
        method_items = [self.activity(item, ("method", i)) for i, item in enumerate(method_raw)]
        load = [a for a in method_items if a.load is not None]
        if len(load) > 1:
            raise self.fail(load[1].path, "only one background load per experiment; remove this one")
        method_items = [a for a in method_items if a.load is None]
        if not method_items:
            raise self.fail(("method",), "the method has no actions; add the action that injects the fault")
        rollbacks_raw = self.sequence(top.get("rollbacks", []), ("rollbacks",), "actions that always run at the end")
        rollbacks = [self.activity(item, ("rollbacks", i)) for i, item in enumerate(rollbacks_raw)]
        setup_raw = self.sequence(gauntlet.get("setup", []), (*ext_path, "setup"), "actions before the load starts")
        setup = [self.activity(item, (*ext_path, "setup", i)) for i, item in enumerate(setup_raw)]
        for item in (*rollbacks, *setup):
            if item.load is not None:
                raise self.fail(item.path, "the background load belongs in the method, with background: true")
        marks = self.fault_marks(gauntlet.get("fault"), (*ext_path, "fault"), method_items)
        invariants_raw = self.sequence(
            gauntlet.get("invariants", []), (*ext_path, "invariants"), "checks once the platform recovered"
        )
        invariants = tuple(self.invariant(item, (*ext_path, "invariants", i)) for i, item in enumerate(invariants_raw))

        drill = Drill(
            name=name,
            title=title,
            proves=proves,
            steady_state=steady,
            method=tuple(self.action(a, marks.get(a.name)) for a in method_items),
            rollbacks=tuple(self.action(a, None) for a in rollbacks),
            invariants=invariants,
            setup=tuple(self.action(a, None) for a in setup),
            error_budget=self.budget(gauntlet.get("error_budget"), (*ext_path, "error_budget")),
            load=load[0].load if load else None,
            recovery_timeout_s=self.number(
                gauntlet.get("recovery_timeout_s", 30.0),
                (*ext_path, "recovery_timeout_s"),
                "seconds the steady state may take to come back",
                0.1,
                600,
            ),
            probe_interval_s=self.number(
                gauntlet.get("probe_interval_s", 0.5),
                (*ext_path, "probe_interval_s"),
                "seconds between probes",
                0.05,
                10,
            ),
            settings=self.settings(gauntlet.get("settings"), (*ext_path, "settings")),
            requires=frozenset(self.requires),
            roles=frozenset(self.roles),
        )
        try:
            ensure_drill_is_valid(drill)
        except InvalidDrill as exc:
            raise InvalidExperiment(f"{self.source}: {exc}") from None
        return drill

    def drill_name(self, gauntlet: Mapping[str, JsonValue], ext_path: Path_, default_name: str) -> str:
        if "drill" in gauntlet:
            name = self.text(gauntlet["drill"], (*ext_path, "drill"), "the run's name in journals")
            if not re.match(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", name):
                raise self.fail((*ext_path, "drill"), "use lower-case words joined by '-', e.g. 'primary-latency'")
            return name
        slug = _SLUG.sub("-", default_name.lower()).strip("-")
        return slug if slug and slug[0].isalpha() else f"experiment-{slug}".rstrip("-")

    def read_configuration(self, configuration: JsonValue, secrets: JsonValue) -> None:
        if configuration is not None:
            for key, value in self.mapping(configuration, ("configuration",), "name -> value").items():
                self.names[key] = self.config_value(value, ("configuration", key))
        if secrets is not None:
            for scope, entries in self.mapping(secrets, ("secrets",), "scope -> {name: value}").items():
                for key, value in self.mapping(entries, ("secrets", scope), "name -> value").items():
                    self.names[key] = self.config_value(value, ("secrets", scope, key))

    def config_value(self, value: JsonValue, path: Path_) -> JsonValue:
        if not _CONFIG_NAME.match(str(path[-1])):
            raise self.fail(path, "a name is letters, digits, '_', '.' or '-', starting with a letter")
        if isinstance(value, dict):
            if value.get("type") != "env":
                raise self.fail(path, 'a value is a string or number, or {"type": "env", "key": "VAR"}')
            key = self.text(value.get("key"), (*path, "key"), "the environment variable to read")
            if key in self.env:
                return self.env[key]
            if "default" in value:
                return value["default"]
            raise self.fail(path, f"${key} is not set; set it in the environment or give this entry a default")
        if isinstance(value, list) or value is None:
            raise self.fail(path, "a value is a string, number or true/false")
        return value

    def extension(self, raw: JsonValue) -> tuple[dict[str, JsonValue], Path_]:
        if raw is None:
            return {}, ("extensions",)
        found: tuple[dict[str, JsonValue], Path_] | None = None
        for i, item in enumerate(self.sequence(raw, ("extensions",), "objects with a name")):
            ext = self.mapping(item, ("extensions", i), "an extension with a name")
            if ext.get("name") != EXTENSION:
                continue  # another tool's extension: not ours to judge
            if found is not None:
                raise self.fail(("extensions", i), f"a second '{EXTENSION}' extension; merge it into the first")
            self.known_keys(ext, ("extensions", i), EXTENSION_KEYS, f"the {EXTENSION} extension")
            found = (ext, ("extensions", i))
        return found or ({}, ("extensions",))

    # -- activities --------------------------------------------------------------------------------

    def activity(self, raw: JsonValue, path: Path_) -> _Activity:
        item = self.mapping(raw, path, "an activity: type, name, provider")
        self.known_keys(item, path, ACTIVITY_KEYS, "an activity")
        if "ref" in item:
            raise self.fail((*path, "ref"), "ref activities are not supported; repeat the activity under its own name")
        if "controls" in item:
            raise self.fail((*path, "controls"), "controls are not supported by Gauntlet; remove them")
        kind = item.get("type")
        if kind not in ("action", "probe"):
            raise self.fail((*path, "type"), f"type must be 'action' or 'probe', not {kind!r}")
        name = self.text(item.get("name"), (*path, "name"), "the activity's name, unique in the experiment")
        if "provider" not in item:
            raise self.fail(path, "add a provider: {type: python, module, func, arguments}, {type: http, url} ...")
        pauses = self.pauses(item.get("pauses"), (*path, "pauses"))
        built = self.provider(item["provider"], (*path, "provider"))
        provider, fn, invariant, load, timeout_s, call = built
        background = item.get("background", False)
        if not isinstance(background, bool):
            raise self.fail((*path, "background"), "must be true or false")
        if load is not None and not background:
            raise self.fail(
                (*path, "background"), "the background load runs alongside the method: set background: true"
            )
        if background and load is None:
            raise self.fail(
                (*path, "background"),
                "only the background load (gauntlet.chaos.providers.load: background_load) may run in the "
                "background; remove background: true",
            )
        if provider is not None and provider.kind == "invariant" and path[0] != "extensions":
            raise self.fail(
                (*path, "provider", "func"),
                f"{call.func if call else 'this'} is an invariant: list it under the "
                f"{EXTENSION} extension's invariants",
            )
        tolerance = None
        if "tolerance" in item:
            tolerance = self.tolerance(item["tolerance"], (*path, "tolerance"), http=_is_status_provider(item))
        return _Activity(
            name=name,
            kind=cast(Literal["action", "probe"], kind),
            fn=fn,
            invariant=invariant,
            load=load,
            tolerance=tolerance,
            pause_before_s=pauses[0],
            pause_after_s=pauses[1],
            timeout_s=timeout_s,
            call=call,
            path=path,
        )

    def pauses(self, raw: JsonValue, path: Path_) -> tuple[float, float]:
        if raw is None:
            return 0.0, 0.0
        pauses = self.mapping(raw, path, "before and after, in seconds")
        self.known_keys(pauses, path, ("before", "after"), "pauses")
        before = self.number(pauses.get("before", 0), (*path, "before"), "seconds", 0, MAX_PAUSE_S)
        after = self.number(pauses.get("after", 0), (*path, "after"), "seconds", 0, MAX_PAUSE_S)
        return before, after

    def provider(
        self, raw: JsonValue, path: Path_
    ) -> tuple[
        Provider | None, ActionFn | None, InvariantFn | None, LoadSpec | None, float | None, ProviderCall | None
    ]:
        spec = self.mapping(raw, path, "type python, http or process")
        kind = spec.get("type")
        timeout_s = None
        if "timeout" in spec:
            timeout_s = self.number(spec["timeout"], (*path, "timeout"), "seconds the activity may take", 0.001, 3600)
        if kind == "python":
            self.known_keys(spec, path, ("type", "module", "func", "arguments", "timeout", "secrets"), "a provider")
            module = self.text(spec.get("module"), (*path, "module"), "e.g. gauntlet.chaos.providers.toxiproxy")
            func = self.text(spec.get("func"), (*path, "func"), "a function of that module")
            arguments = self.mapping(spec.get("arguments", {}), (*path, "arguments"), "argument name -> value")
            arguments = cast(dict[str, JsonValue], self.substituted(arguments, (*path, "arguments"), runtime=False))
            try:
                provider = find_provider(module, func)
            except ProviderError as exc:
                raise self.fail((*path, "module" if "module" in str(exc) else "func"), str(exc)) from None
            call = ProviderCall(module, func, arguments)
            try:
                built = provider.build(check_arguments(provider, arguments), self.session)
            except ProviderError as exc:
                where = (*path, "arguments", exc.key) if exc.key else (*path, "arguments")
                raise self.fail(where, str(exc)) from None
            self.requires |= built.requires
            self.roles |= built.roles
            return provider, built.fn, built.invariant, built.load, timeout_s or built.timeout_s, call
        if kind == "http":
            keys = ("type", "url", "method", "headers", "arguments", "timeout", "expected_status", "verify_tls")
            self.known_keys(spec, path, keys, "an http provider")
            url = self.text(spec.get("url"), (*path, "url"), "absolute, or a path on the target's API")
            url = str(self.substituted(url, (*path, "url"), runtime=True))
            method = self.text(spec.get("method", "GET"), (*path, "method"), "GET, POST ...").upper()
            headers = self.mapping(spec.get("headers", {}), (*path, "headers"), "header -> value")
            headers = cast(dict[str, JsonValue], self.substituted(headers, (*path, "headers"), runtime=True))
            body = self.substituted(spec.get("arguments"), (*path, "arguments"), runtime=True)
            expected = spec.get("expected_status")
            if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)):
                raise self.fail((*path, "expected_status"), "must be an HTTP status code, e.g. 200")
            fn = http_activity(
                url, method=method, headers=headers, body=body, timeout_s=timeout_s or 10.0, expected_status=expected
            )
            return None, fn, None, None, (timeout_s or 10.0) + 1.0, None
        if kind == "process":
            self.known_keys(spec, path, ("type", "path", "arguments", "timeout"), "a process provider")
            program = self.text(spec.get("path"), (*path, "path"), "the program to run")
            given = spec.get("arguments", [])
            if isinstance(given, str):
                argv = shlex.split(given)
            elif isinstance(given, list) and all(isinstance(a, str | int | float) for a in given):
                argv = [str(a) for a in given]
            else:
                raise self.fail((*path, "arguments"), "a string or a list of strings")
            argv = [str(self.substituted(a, (*path, "arguments"), runtime=False)) for a in argv]
            return None, process_activity(program, argv), None, None, timeout_s, None
        raise self.fail((*path, "type"), f"provider type must be python, http or process, not {kind!r}")

    def substituted(self, value: JsonValue, path: Path_, *, runtime: bool) -> JsonValue:
        allowed = set(self.names) | (set(RUNTIME_NAMES) if runtime else set())
        for name in placeholders(value):
            if name not in allowed:
                known = ", ".join(sorted(allowed)) or "none"
                raise self.fail(
                    path,
                    f"${{{name}}} is not defined: add it under configuration (or secrets); defined here: {known}",
                )
        return fill(value, self.names)

    def tolerance(self, raw: JsonValue, path: Path_, *, http: bool) -> Tolerance:
        try:
            return tolerance_from_spec(raw, status_of_dict=http)
        except ValueError as exc:
            raise self.fail(path, str(exc)) from None

    # -- into the drill model ----------------------------------------------------------------------

    def hypothesis_probe(self, raw: JsonValue, path: Path_) -> Probe:
        activity = self.activity(raw, path)
        if activity.fn is None:
            raise self.fail((*path, "provider"), "a steady-state probe needs a provider that observes something")
        if activity.tolerance is None:
            raise self.fail(path, "a steady-state probe needs a tolerance: the value, list, or range it must meet")
        if activity.pause_before_s or activity.pause_after_s:
            raise self.fail((*path, "pauses"), "steady-state probes run back to back; remove the pauses")
        return Probe(activity.name, activity.fn, activity.tolerance, activity.timeout_s or 5.0, activity.call)

    def action(self, activity: _Activity, mark: FaultMark | None) -> Action:
        if activity.fn is None:
            raise self.fail((*activity.path, "provider"), "this provider does nothing as a method step")
        return Action(
            activity.name,
            activity.fn,
            pause_before_s=activity.pause_before_s,
            pause_after_s=activity.pause_after_s,
            fault=mark,
            timeout_s=activity.timeout_s or 60.0,
            provider=activity.call,
        )

    def invariant(self, raw: JsonValue, path: Path_) -> Invariant:
        activity = self.activity(raw, path)
        if activity.invariant is not None:
            return Invariant(activity.name, activity.invariant, activity.timeout_s or 30.0, activity.call)
        if activity.fn is None or activity.tolerance is None:
            raise self.fail(
                path,
                "an invariant is a gauntlet.chaos.providers.invariants function, or a probe with a tolerance",
            )
        return Invariant(
            activity.name, _judged(activity.fn, activity.tolerance), activity.timeout_s or 30.0, activity.call
        )

    def fault_marks(self, raw: JsonValue, path: Path_, method: list[_Activity]) -> dict[str, FaultMark]:
        names = [a.name for a in method]
        if raw is None:
            return {names[0]: "start"}  # without a word, the first action injects the fault
        marks = self.mapping(raw, path, "start and end: names of method actions")
        self.known_keys(marks, path, ("start", "end"), "fault")
        result: dict[str, FaultMark] = {}
        keys: tuple[FaultMark, ...] = ("start", "end")
        for key in keys:
            value = marks.get(key)
            if value is None:
                if key == "start":
                    raise self.fail(path, "name the method action that injects the fault under start")
                continue
            name = self.text(value, (*path, key), "a method action's name")
            if name not in names:
                raise self.fail((*path, key), f"no method action is named {name!r}{did_you_mean(name, names)}")
            result[name] = key
        return result

    def budget(self, raw: JsonValue, path: Path_) -> ErrorBudget:
        if raw is None:
            return ErrorBudget()
        budget = self.mapping(raw, path, "how much of the background load may fail")
        self.known_keys(budget, path, BUDGET_KEYS, "error_budget")
        defaults = ErrorBudget()

        def rate(key: str, default: float) -> float:
            return self.number(budget.get(key, default), (*path, key), "a share of requests", 0, 1)

        def groups(key: str, default: frozenset[RequestGroup]) -> frozenset[RequestGroup]:
            if key not in budget:
                return default
            items = self.sequence(budget[key], (*path, key), "request groups")
            wrong = [g for g in items if g not in ALL_GROUPS]
            if wrong or not items:
                raise self.fail((*path, key), f"request groups are a non-empty list of {', '.join(sorted(ALL_GROUPS))}")
            return frozenset(cast(list[RequestGroup], items))

        p99 = budget.get("during_p99_ms")
        return ErrorBudget(
            during_error_rate=rate("during_error_rate", defaults.during_error_rate),
            after_error_rate=rate("after_error_rate", defaults.after_error_rate),
            during_p99_ms=None if p99 is None else self.number(p99, (*path, "during_p99_ms"), "milliseconds", 0.001),
            groups=groups("groups", defaults.groups),
            after_groups=groups("after_groups", defaults.after_groups),
        )

    def settings(self, raw: JsonValue, path: Path_) -> dict[str, dict[str, str]]:
        if raw is None:
            return {}
        result: dict[str, dict[str, str]] = {}
        for service, env in self.mapping(raw, path, "service -> {GAUNTLET_*: value}").items():
            values = self.mapping(env, (*path, service), "GAUNTLET_* setting -> value")
            result[service] = {key: str(value) for key, value in values.items()}
        return result


_MISSING = {
    "title": "add a title: one line saying what the experiment breaks",
    "description": "add a description: what passing this experiment shows",
    "steady-state-hypothesis": "add a steady-state-hypothesis with probes and tolerances (how you know it is healthy)",
    "method": "add a method: the list of actions that inject (and remove) the fault",
}


def _kind(value: JsonValue) -> str:
    if value is None:
        return "nothing"
    return {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}[
        type(value)
    ]


def _is_status_provider(item: Mapping[str, JsonValue]) -> bool:
    provider = item.get("provider")
    return isinstance(provider, dict) and provider.get("type") in ("http", "process")


def _judged(fn: ActionFn, tolerance: Tolerance) -> InvariantFn:
    """A probe with a tolerance as an invariant: passed when the observed value is within it."""

    async def check(ctx: DrillContext) -> InvariantResult:
        value = await fn(ctx)
        ok = tolerance.accepts(value)
        return InvariantResult.check(
            ok, value, tolerance.description, f"observed {value!r}, expected {tolerance.description}"
        )

    return check
