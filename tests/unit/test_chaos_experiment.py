"""Drill validation: every malformed drill is refused with a message a person can act on."""

from __future__ import annotations

import pytest

from gauntlet.base.errors import EXIT_USAGE, GauntletError
from gauntlet.chaos.context import DrillContext
from gauntlet.chaos.drills import drill_specs, get_drill
from gauntlet.chaos.experiment import (
    Action,
    Drill,
    DrillError,
    ErrorBudget,
    InvalidDrill,
    JsonValue,
    LoadSpec,
    Probe,
    UnknownDrill,
    UnsupportedTarget,
    at_least,
    at_most,
    ensure_drill_is_valid,
    ensure_target_supports,
    equals,
)


async def _noop(ctx: DrillContext) -> JsonValue:
    return None


def _drill(**changes: object) -> Drill:
    drill = Drill(
        name="good-drill",
        title="a drill",
        proves="something",
        steady_state=(Probe("health", _noop, equals(None)),),
        method=(Action("break", _noop, fault="start"), Action("mend", _noop, fault="end")),
    )
    return drill.with_(**changes) if changes else drill


def test_a_good_drill_is_valid() -> None:
    ensure_drill_is_valid(_drill())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Bad Name"}, "name must be lower-case words joined by '-'"),
        ({"proves": " "}, "say what it proves"),
        ({"steady_state": ()}, "needs at least one probe"),
        ({"method": ()}, "the method has no actions"),
        ({"method": (Action("break", _noop),)}, "exactly one method action must have fault='start' (found 0)"),
        (
            {"method": (Action("a", _noop, fault="start"), Action("b", _noop, fault="start"))},
            "exactly one method action must have fault='start' (found 2)",
        ),
        (
            {"method": (Action("a", _noop, fault="end"), Action("b", _noop, fault="start"))},
            "the fault='end' action must come after the fault='start' action",
        ),
        ({"rollbacks": (Action("break", _noop),)}, "two actions are named 'break'"),
        ({"rollbacks": (Action("undo", _noop, fault="end"),)}, "only method actions may mark the fault"),
        (
            {"method": (Action("a", _noop, fault="start", pause_after_s=-1),)},
            "action 'a' pause_after_s=-1 must be within 0-120 s",
        ),
        ({"recovery_timeout_s": 0}, "recovery_timeout_s must be within (0, 600] s"),
        ({"error_budget": ErrorBudget(during_error_rate=1.5)}, "error_budget.during_error_rate=1.5 must be a share"),
        ({"error_budget": ErrorBudget(groups=frozenset())}, "error_budget.groups must be a non-empty subset"),
        ({"load": LoadSpec(rate_per_s=10_000)}, "load.rate_per_s=10000 must be within (0, 500]"),
        ({"load": LoadSpec(mix={"health": 0})}, "load.mix needs at least one request kind"),
        ({"settings": {"api": {"PATH": "/tmp"}}}, "setting 'PATH' for api is not a GAUNTLET_* platform setting"),
    ],
)
def test_malformed_drills_are_refused_with_the_fix(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidDrill) as caught:
        ensure_drill_is_valid(_drill(**changes))
    assert message in str(caught.value)
    assert str(caught.value).startswith("drill ")


def test_drill_errors_are_usage_errors() -> None:
    assert issubclass(InvalidDrill, DrillError) and issubclass(DrillError, GauntletError)
    assert DrillError.exit_code == EXIT_USAGE


def test_a_target_without_process_control_is_refused_by_name() -> None:
    drill = _drill(requires=frozenset({"process_control", "database"}))
    with pytest.raises(UnsupportedTarget) as caught:
        ensure_target_supports(drill, frozenset({"database"}), "https://staging.example")
    text = str(caught.value)
    assert "drill 'good-drill' needs the embedded stack's process control (kill/restart)" in text
    assert "https://staging.example does not offer" in text
    ensure_target_supports(drill, frozenset({"process_control", "database"}), "the embedded stack")


def test_tolerances() -> None:
    assert at_most(0.01).accepts(0.0) and not at_most(0.01).accepts(0.5)
    assert not at_most(1).accepts(True)  # a bool is not a number here
    assert not at_most(1).accepts(None)
    assert at_least(1).accepts(3) and not at_least(1).accepts(0)
    assert equals("ok").accepts("ok") and not equals("ok").accepts("degraded")
    assert equals(True).description == "== True"


def test_every_shipped_drill_is_valid_and_declares_what_it_needs() -> None:
    specs = drill_specs()
    assert list(specs) == [
        "worker-crash",
        "redis-stall",
        "replica-loss",
        "db-latency",
        "db-partition",
        "duplicate-delivery",
        "poison-job",
        "lease-expiry",
    ]
    for name, spec in specs.items():
        for variant in spec.variants or (None,):
            drill = get_drill(name, variant)
            ensure_drill_is_valid(drill)
            assert drill.name == name
            assert drill.requires, f"{name} must say what it needs from the target"
            assert drill.recovery_timeout_s == 30.0  # the default pass criterion


def test_unknown_drills_and_variants_list_the_known_ones() -> None:
    with pytest.raises(UnknownDrill, match=r"unknown drill 'nope'; known drills: worker-crash, redis-stall, "):
        get_drill("nope")
    with pytest.raises(UnknownDrill, match=r"drill 'replica-loss' has no variant 'x'; its variants: kill, proxy"):
        get_drill("replica-loss", "x")
    with pytest.raises(UnknownDrill, match=r"its variants: none"):
        get_drill("poison-job", "x")
