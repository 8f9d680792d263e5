"""A failure drill as data plus small functions, modelled on chaostoolkit's experiment.

A drill has a steady-state hypothesis (probes, each with a tolerance), a method
(actions with pauses; one of them starts the fault and, usually, one removes
it), rollbacks that always run, and invariants that prove nothing was lost.
While the method runs, background load measures what users saw before,
during and after the fault; the error budget says how much of that may fail.

Everything here is declarative and checked by `ensure_drill_is_valid` before
a drill touches the stack. The runner (runner.py) gives these functions
meaning; the drills themselves live in `chaos/drills/`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, TypeAlias

from gauntlet.base.errors import GauntletError

if TYPE_CHECKING:
    from gauntlet.chaos.context import DrillContext

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
Capability = Literal["process_control", "fault_proxy", "database", "logs"]
FaultMark = Literal["start", "end"]
InvariantStatus = Literal["passed", "failed", "skipped"]
# What the load driver's requests are grouped by, so a budget can count only what it is about
# (a partition from the primary is allowed to fail writes, never replica reads).
RequestGroup = Literal["replica_read", "primary_read", "write", "health"]
ALL_GROUPS: frozenset[RequestGroup] = frozenset({"replica_read", "primary_read", "write", "health"})
USER_GROUPS: frozenset[RequestGroup] = frozenset({"replica_read", "primary_read", "write"})

MAX_LOAD_RATE_PER_S = 500.0  # bounded load: a drill is not a load test
MAX_PAUSE_S = 120.0
MAX_RECOVERY_TIMEOUT_S = 600.0
UNBOUNDED = 1e300  # the open end of an exported range tolerance (chaostoolkit's ranges have two numbers)
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_ENV_KEY = re.compile(r"^GAUNTLET_[A-Z0-9_]+$")


class DrillError(GauntletError):
    """Base of every drill problem a person can act on (exit code 2: usage or environment)."""


class InvalidDrill(DrillError):
    """A drill definition is malformed; the message names the field and the fix."""


class UnsupportedTarget(DrillError):
    """The target lacks something the drill needs (process control, the fault proxy, the database)."""


class UnknownDrill(DrillError):
    """No drill has that name; the message lists the known ones."""


@dataclass(frozen=True, slots=True)
class Tolerance:
    """What a probe's observation must satisfy; `description` is what the journal shows as expected.

    `spec` is the same tolerance in chaostoolkit's experiment format (a value, a list, or a
    range/regex/jsonpath object) for `gauntlet chaos export`; None when it has no such form.
    """

    description: str
    accepts: Callable[[JsonValue], bool]
    spec: JsonValue = None


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """Where an activity comes from in an experiment file: a Python provider and its arguments.

    `module` is one of gauntlet.chaos.providers.* (see gauntlet/chaos/providers/), `func` one of
    its functions; `gauntlet chaos export` writes it as `{"type": "python", module, func, arguments}`.
    """

    module: str
    func: str
    arguments: Mapping[str, JsonValue] = field(default_factory=dict)


def equals(expected: JsonValue) -> Tolerance:
    return Tolerance(f"== {expected!r}", lambda value: value == expected, expected)


def at_most(limit: float) -> Tolerance:
    def accepts(value: JsonValue) -> bool:
        number = _number(value)
        return number is not None and number <= limit

    # Exported as a range from 0: what the drills bound from above (rates, latencies, counts) is never negative.
    return Tolerance(f"<= {limit:g}", accepts, {"type": "range", "range": [0, limit]})


def at_least(limit: float) -> Tolerance:
    def accepts(value: JsonValue) -> bool:
        number = _number(value)
        return number is not None and number >= limit

    return Tolerance(f">= {limit:g}", accepts, {"type": "range", "range": [limit, UNBOUNDED]})


def _number(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


ProbeFn = Callable[["DrillContext"], Awaitable[JsonValue]]
ActionFn = Callable[["DrillContext"], Awaitable[JsonValue]]


@dataclass(frozen=True, slots=True)
class Probe:
    """Observes one thing about the platform; in steady state its value is within `tolerance`."""

    name: str
    fn: ProbeFn
    tolerance: Tolerance
    timeout_s: float = 5.0  # a probe that hangs is a failed probe, not a hung drill
    provider: ProviderCall | None = None  # how an experiment file names it (None: only this drill has it)


@dataclass(frozen=True, slots=True)
class Action:
    """Does one thing to the stack. `fault` marks the action that injects ("start") or removes ("end") it."""

    name: str
    fn: ActionFn
    pause_before_s: float = 0.0
    pause_after_s: float = 0.0
    fault: FaultMark | None = None
    timeout_s: float = 60.0
    provider: ProviderCall | None = None  # how an experiment file names it (None: only this drill has it)


@dataclass(frozen=True, slots=True)
class InvariantResult:
    status: InvariantStatus
    observed: JsonValue
    expected: JsonValue
    message: str

    @classmethod
    def check(cls, ok: bool, observed: JsonValue, expected: JsonValue, message: str) -> InvariantResult:
        return cls("passed" if ok else "failed", observed, expected, message)

    @classmethod
    def skipped(cls, reason: str) -> InvariantResult:
        """Not checked, and saying why: a skipped invariant is recorded, never counted as passed."""
        return cls("skipped", None, None, reason)


InvariantFn = Callable[["DrillContext"], Awaitable[InvariantResult]]


@dataclass(frozen=True, slots=True)
class Invariant:
    """A fact about the data that must hold once the platform recovered (nothing lost, nothing twice)."""

    name: str
    fn: InvariantFn
    timeout_s: float = 30.0
    provider: ProviderCall | None = None  # how an experiment file names it (None: only this drill has it)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorBudget:
    """How many of the background load's requests may fail, and how slow they may be.

    `during_*` applies to the fault window, `after_*` to the time after it (which includes the
    recovery). Only requests of `groups` (during) and `after_groups` (after) count; the journal
    still reports every request.
    """

    during_error_rate: float = 0.01
    after_error_rate: float = 0.02
    during_p99_ms: float | None = None
    groups: frozenset[RequestGroup] = USER_GROUPS
    after_groups: frozenset[RequestGroup] = USER_GROUPS


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadSpec:
    """Background load: an open model at `rate_per_s`, over `mix` (request kind -> weight)."""

    rate_per_s: float = 20.0
    mix: Mapping[str, int] = field(
        default_factory=lambda: {
            "health": 5,
            "catalog_browse": 35,
            "suggestions": 10,
            "my_interests": 15,
            "interests_upsert": 15,
            "emit_signal": 20,
        }
    )
    before_s: float = 2.0  # baseline before the method starts
    after_s: float = 2.0  # kept running after recovery, for the "after" window
    request_timeout_s: float = 10.0
    users: int = 6
    max_in_flight: int = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class Drill:
    name: str
    title: str
    proves: str  # one paragraph: what passing this drill shows
    steady_state: tuple[Probe, ...]
    method: tuple[Action, ...]
    rollbacks: tuple[Action, ...] = ()
    invariants: tuple[Invariant, ...] = ()
    setup: tuple[Action, ...] = ()  # data the drill needs (items to enqueue, a subject user)
    error_budget: ErrorBudget = field(default_factory=ErrorBudget)
    load: LoadSpec | None = field(default_factory=LoadSpec)
    recovery_timeout_s: float = 30.0
    probe_interval_s: float = 0.5
    # Platform settings the drill needs, per service (e.g. a short lease TTL on the queue workers);
    # applied by restarting those services, and restored afterwards.
    settings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    requires: frozenset[Capability] = frozenset()
    # The proxies the drill faults, by role (primary_db, replica_db, redis, api): the target maps them to names.
    roles: frozenset[str] = frozenset()

    def with_(self, **changes: object) -> Drill:
        """A copy with some fields changed (tests shorten timeouts this way)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def fault_ends(self) -> bool:
        return any(action.fault == "end" for action in self.method)


def ensure_drill_is_valid(drill: Drill) -> None:
    """Raise InvalidDrill naming the first problem; a valid drill can be run by the runner."""
    where = f"drill {drill.name!r}"
    if not _NAME.match(drill.name):
        raise InvalidDrill(f"{where}: name must be lower-case words joined by '-', e.g. 'worker-crash'")
    if not drill.title.strip() or not drill.proves.strip():
        raise InvalidDrill(f"{where}: give it a title and say what it proves (`proves`)")
    if not drill.steady_state:
        raise InvalidDrill(
            f"{where}: the steady-state hypothesis needs at least one probe, or recovery is unmeasurable"
        )
    if not drill.method:
        raise InvalidDrill(f"{where}: the method has no actions; add the action that injects the fault")
    _ensure_unique(where, "probe", [p.name for p in drill.steady_state])
    _ensure_unique(where, "action", [a.name for a in (*drill.setup, *drill.method, *drill.rollbacks)])
    _ensure_unique(where, "invariant", [i.name for i in drill.invariants])
    _ensure_fault_marks(where, drill)
    for action in (*drill.setup, *drill.method, *drill.rollbacks):
        for label, pause in (("pause_before_s", action.pause_before_s), ("pause_after_s", action.pause_after_s)):
            if not 0 <= pause <= MAX_PAUSE_S:
                raise InvalidDrill(
                    f"{where}: action {action.name!r} {label}={pause} must be within 0-{MAX_PAUSE_S:g} s"
                )
        if action.timeout_s <= 0:
            raise InvalidDrill(f"{where}: action {action.name!r} needs a positive timeout_s")
    for probe in drill.steady_state:
        if probe.timeout_s <= 0:
            raise InvalidDrill(f"{where}: probe {probe.name!r} needs a positive timeout_s")
    if not 0 < drill.recovery_timeout_s <= MAX_RECOVERY_TIMEOUT_S:
        raise InvalidDrill(f"{where}: recovery_timeout_s must be within (0, {MAX_RECOVERY_TIMEOUT_S:g}] s")
    if not 0.05 <= drill.probe_interval_s <= 10:
        raise InvalidDrill(f"{where}: probe_interval_s must be within 0.05-10 s")
    _ensure_budget(where, drill.error_budget)
    if drill.load is not None:
        _ensure_load(where, drill.load)
    for service, env in drill.settings.items():
        for key in env:
            if not _ENV_KEY.match(key):
                raise InvalidDrill(f"{where}: setting {key!r} for {service} is not a GAUNTLET_* platform setting")


def _ensure_unique(where: str, kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if not name.strip():
            raise InvalidDrill(f"{where}: every {kind} needs a name")
        if name in seen:
            raise InvalidDrill(
                f"{where}: two {kind}s are named {name!r}; names must be unique (the journal keys on them)"
            )
        seen.add(name)


def _ensure_fault_marks(where: str, drill: Drill) -> None:
    starts = [i for i, a in enumerate(drill.method) if a.fault == "start"]
    ends = [i for i, a in enumerate(drill.method) if a.fault == "end"]
    if len(starts) != 1:
        raise InvalidDrill(
            f"{where}: exactly one method action must have fault='start' (found {len(starts)}); "
            "it marks when the fault window opens"
        )
    if len(ends) > 1:
        raise InvalidDrill(f"{where}: at most one method action may have fault='end' (found {len(ends)})")
    if ends and ends[0] < starts[0]:
        raise InvalidDrill(f"{where}: the fault='end' action must come after the fault='start' action")
    for action in (*drill.setup, *drill.rollbacks):
        if action.fault is not None:
            raise InvalidDrill(f"{where}: only method actions may mark the fault ({action.name!r} is not one)")


def _ensure_budget(where: str, budget: ErrorBudget) -> None:
    for label, rate in (("during_error_rate", budget.during_error_rate), ("after_error_rate", budget.after_error_rate)):
        if not 0 <= rate <= 1:
            raise InvalidDrill(f"{where}: error_budget.{label}={rate} must be a share between 0 and 1")
    if budget.during_p99_ms is not None and budget.during_p99_ms <= 0:
        raise InvalidDrill(f"{where}: error_budget.during_p99_ms must be positive (or None for no latency bound)")
    for label, groups in (("groups", budget.groups), ("after_groups", budget.after_groups)):
        if not groups or not groups <= ALL_GROUPS:
            raise InvalidDrill(f"{where}: error_budget.{label} must be a non-empty subset of {sorted(ALL_GROUPS)}")


def _ensure_load(where: str, load: LoadSpec) -> None:
    if not 0 < load.rate_per_s <= MAX_LOAD_RATE_PER_S:
        raise InvalidDrill(f"{where}: load.rate_per_s={load.rate_per_s} must be within (0, {MAX_LOAD_RATE_PER_S:g}]")
    if not load.mix or any(weight < 0 for weight in load.mix.values()) or sum(load.mix.values()) <= 0:
        raise InvalidDrill(f"{where}: load.mix needs at least one request kind with a positive weight")
    if load.before_s < 0 or load.after_s < 0 or load.request_timeout_s <= 0:
        raise InvalidDrill(f"{where}: load.before_s/after_s must be >= 0 and request_timeout_s > 0")
    if load.users < 1 or load.max_in_flight < 1:
        raise InvalidDrill(f"{where}: load.users and load.max_in_flight must be at least 1")


def ensure_target_supports(
    drill: Drill,
    available: frozenset[Capability],
    target_label: str,
    proxies: Mapping[str, str] | None = None,
) -> None:
    """Raise UnsupportedTarget when the drill needs something the target cannot give.

    `proxies` is the target's map from role to proxy name (None: not checked).
    """
    missing = sorted(drill.requires - available)
    if not missing and proxies is not None and "fault_proxy" in drill.requires:
        unmapped = sorted(drill.roles - set(proxies))
        if unmapped:
            raise UnsupportedTarget(
                f"drill {drill.name!r} faults the {', '.join(unmapped)} proxy, which {target_label} does not map: "
                + ", ".join(f'add {role} = "PROXY NAME"' for role in unmapped)
                + " under [proxies] in the target file"
            )
    if not missing:
        return
    why = {
        "process_control": "the embedded stack's process control (kill/restart)",
        "fault_proxy": "a Toxiproxy API in front of Postgres and Redis",
        "database": "a direct database connection (to enqueue work and check invariants)",
        "logs": "the embedded stack's service logs",
    }
    needs = "; ".join(why[m] for m in missing)
    raise UnsupportedTarget(
        f"drill {drill.name!r} needs {needs}, which {target_label} does not offer: "
        "run it against the embedded stack (`gauntlet up`, then `gauntlet chaos run` without --target)"
    )
