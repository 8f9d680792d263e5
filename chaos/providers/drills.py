"""The built-in drills' own activities, borrowed by name: `gauntlet chaos export` writes them so.

A drill's steps that only make sense inside it (publish work marked with the run id, hold a row
lock until the victim is mid-batch, count the drill's own unsettled items) are named here by
drill, variant and activity name. Every activity borrowed from one drill in a file shares one
instance of it, so state they pass between them (the lock) still works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from gauntlet.chaos.drills import drill_specs, get_drill
from gauntlet.chaos.experiment import Drill, UnknownDrill
from gauntlet.chaos.providers import Args, Built, Param, Provider, ProviderError, Session, did_you_mean

MODULE = "gauntlet.chaos.providers.drills"
T = TypeVar("T")


def _drill(args: Args, session: Session) -> Drill:
    name, variant = args.text("drill"), args.opt_text("variant")
    key = (name, variant)
    if key not in session.drills:
        known = list(drill_specs())
        if name not in known:
            raise ProviderError(
                f"unknown drill {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}", "drill"
            )
        try:
            session.drills[key] = get_drill(name, variant)
        except UnknownDrill as exc:
            raise ProviderError(str(exc), key="variant") from exc
    return session.drills[key]


def _named(drill: Drill, kind: str, name: str, items: Sequence[T], names: Sequence[str]) -> T:
    for item, item_name in zip(items, names, strict=True):
        if item_name == name:
            return item
    hint = did_you_mean(name, list(names))
    raise ProviderError(f"drill {drill.name!r} has no {kind} {name!r}{hint}; its {kind}s: {', '.join(names)}", "name")


def _action(args: Args, session: Session) -> Built:
    drill = _drill(args, session)
    actions = (*drill.setup, *drill.method, *drill.rollbacks)
    action = _named(drill, "action", args.text("name"), actions, [a.name for a in actions])
    return Built(fn=action.fn, requires=drill.requires, roles=drill.roles)


def _probe(args: Args, session: Session) -> Built:
    drill = _drill(args, session)
    probe = _named(drill, "probe", args.text("name"), drill.steady_state, [p.name for p in drill.steady_state])
    return Built(fn=probe.fn, requires=drill.requires, roles=drill.roles)


def _invariant(args: Args, session: Session) -> Built:
    drill = _drill(args, session)
    check = _named(drill, "invariant", args.text("name"), drill.invariants, [i.name for i in drill.invariants])
    return Built(invariant=check.fn, requires=drill.requires, roles=drill.roles)


_PARAMS = (
    Param("drill", "str", "the built-in drill (gauntlet chaos list)", required=True),
    Param("name", "str", "the activity's name in that drill", required=True),
    Param("variant", "str", "the drill's variant [default: its first]"),
)
PROVIDERS = {
    "action": Provider("action", "an action of a built-in drill, by name", _action, _PARAMS),
    "probe": Provider("probe", "a steady-state probe of a built-in drill, by name", _probe, _PARAMS),
    "invariant": Provider("invariant", "an invariant of a built-in drill, by name", _invariant, _PARAMS),
}
