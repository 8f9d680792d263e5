"""Gauntlet's actions and probes as chaostoolkit Python providers, for experiment files.

An experiment file names an activity as chaostoolkit does:
`{"type": "python", "module": "gauntlet.chaos.providers.toxiproxy", "func": "add_toxic",
"arguments": {...}}`. Each module here has a `PROVIDERS` table (function name -> `Provider`): what
kind of activity it gives (an action, a probe, a nothing-lost invariant or the background load),
its arguments, and how to build it. Arguments are checked here, before anything runs; a wrong one
raises ProviderError naming it. The built-in drills' own probes and invariants carry the same
`ProviderCall`, so `gauntlet chaos export` writes them in this form.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from gauntlet.base.hints import closest
from gauntlet.chaos.experiment import (
    Action,
    ActionFn,
    Capability,
    Drill,
    FaultMark,
    InvariantFn,
    JsonValue,
    LoadSpec,
    ProviderCall,
)

PREFIX = "gauntlet.chaos.providers."
MODULES = ("toxiproxy", "process", "probes", "sql", "invariants", "load", "drills")
ProviderKind = Literal["action", "probe", "invariant", "load"]
ParamKind = Literal["str", "number", "int", "bool", "strings", "object", "any"]
_KIND_WORDS: dict[ParamKind, str] = {
    "str": "a string",
    "number": "a number",
    "int": "a whole number",
    "bool": "true or false",
    "strings": "a list of strings",
    "object": "an object (mapping)",
    "any": "any value",
}


class ProviderError(ValueError):
    """A provider or one of its arguments is wrong; `key` names the argument (None: the provider itself)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: ParamKind
    help: str
    required: bool = False
    default: JsonValue = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Built:
    """What a provider call gives: one of fn (action or probe), invariant or load, and what it needs."""

    fn: ActionFn | None = None
    invariant: InvariantFn | None = None
    load: LoadSpec | None = None
    requires: frozenset[Capability] = frozenset()
    roles: frozenset[str] = frozenset()
    timeout_s: float | None = None  # how long it may take, when longer than an activity's default


@dataclass
class Session:
    """State shared by the provider calls of one experiment: the built-in drills it borrows from.

    Activities borrowed from one built-in drill share one instance of it (a lock one action takes
    and another releases), so a file is parsed afresh for every run.
    """

    drills: dict[tuple[str, str | None], Drill] = field(default_factory=dict)


class Args:
    """A provider call's arguments, checked against its params (types, choices, required ones)."""

    def __init__(self, values: Mapping[str, JsonValue]) -> None:
        self._values = dict(values)

    def raw(self, name: str) -> JsonValue:
        return self._values.get(name)

    def text(self, name: str) -> str:
        return cast(str, self._values[name])

    def opt_text(self, name: str) -> str | None:
        value = self._values.get(name)
        return None if value is None else str(value)

    def number(self, name: str) -> float:
        return float(cast(float, self._values[name]))

    def whole(self, name: str) -> int:
        return cast(int, self._values[name])

    def strings(self, name: str) -> list[str]:
        return list(cast(list[str], self._values[name]))

    def mapping(self, name: str) -> dict[str, JsonValue]:
        return dict(cast(dict[str, JsonValue], self._values[name]))


@dataclass(frozen=True, slots=True)
class Provider:
    kind: ProviderKind
    summary: str
    build: Callable[[Args, Session], Built]
    params: tuple[Param, ...] = ()


def provider_table(module: str) -> dict[str, Provider]:
    """The providers of `module` (its full name); ProviderError names the known modules."""
    short = module.removeprefix(PREFIX) if module.startswith(PREFIX) else None
    if short not in MODULES:
        known = ", ".join(PREFIX + m for m in MODULES)
        hint = did_you_mean(module, [PREFIX + m for m in MODULES])
        if not module.startswith("gauntlet."):
            hint = f"{hint}: Gauntlet runs its own providers, not chaostoolkit extensions"
        raise ProviderError(f"unknown provider module {module!r}{hint}; known modules: {known}")
    table: dict[str, Provider] = importlib.import_module(PREFIX + short).PROVIDERS
    return table


def find_provider(module: str, func: str) -> Provider:
    table = provider_table(module)
    provider = table.get(func)
    if provider is None:
        hint = did_you_mean(func, list(table))
        raise ProviderError(f"{module} has no function {func!r}{hint}; its functions: {', '.join(table)}")
    return provider


def check_arguments(provider: Provider, arguments: Mapping[str, JsonValue]) -> Args:
    """The arguments with defaults filled in; ProviderError(key=...) for the first wrong one."""
    params = {p.name: p for p in provider.params}
    for name in arguments:
        if name not in params:
            known = ", ".join(params) or "none"
            raise ProviderError(
                f"unknown argument {name!r}{did_you_mean(name, list(params))}; its arguments: {known}", key=name
            )
    values: dict[str, JsonValue] = {}
    for param in provider.params:
        if param.name not in arguments or arguments[param.name] is None:
            if param.required:
                raise ProviderError(f"argument {param.name!r} is required: {param.help}", key=param.name)
            values[param.name] = param.default
            continue
        value = arguments[param.name]
        if not _is_kind(value, param.kind):
            raise ProviderError(
                f"argument {param.name!r} must be {_KIND_WORDS[param.kind]} ({param.help}), not {value!r}",
                key=param.name,
            )
        if param.choices:
            chosen = value if isinstance(value, list) else [value]
            wrong = [v for v in chosen if v not in param.choices]
            if wrong:
                raise ProviderError(
                    f"argument {param.name!r}: {wrong[0]!r} is not one of {', '.join(param.choices)}", key=param.name
                )
        values[param.name] = value
    return Args(values)


def build(call: ProviderCall, session: Session | None = None) -> tuple[Provider, Built]:
    """Build a provider call; ProviderError names what is wrong."""
    provider = find_provider(call.module, call.func)
    return provider, provider.build(check_arguments(provider, call.arguments), session or Session())


def _is_kind(value: JsonValue, kind: ParamKind) -> bool:
    if kind == "any":
        return True
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "strings":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, dict)


def did_you_mean(word: str, known: list[str]) -> str:
    """` (did you mean 'x'?)` for the closest known word, or nothing."""
    close = closest(word, known)
    return f" (did you mean {close!r}?)" if close else ""


def provided_action(
    name: str,
    call: ProviderCall,
    *,
    pause_before_s: float = 0.0,
    pause_after_s: float = 0.0,
    fault: FaultMark | None = None,
    timeout_s: float = 60.0,
) -> Action:
    """A drill's action made by a provider, carrying the call (so `chaos export` writes the provider)."""
    _, built = build(call)
    if built.fn is None:
        raise ProviderError(f"{call.module}: {call.func} is not an action")
    return Action(
        name,
        built.fn,
        pause_before_s=pause_before_s,
        pause_after_s=pause_after_s,
        fault=fault,
        timeout_s=timeout_s,
        provider=call,
    )
