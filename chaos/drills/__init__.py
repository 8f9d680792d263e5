"""The shipped drills, by name. Each module builds a fresh `Drill` per run (its state is per run)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from gauntlet.chaos.experiment import Drill, UnknownDrill


@dataclass(frozen=True, slots=True)
class DrillSpec:
    name: str
    title: str
    build: Callable[[str | None], Drill]
    variants: tuple[str, ...] = ()  # the first one is the default


# In the order `--all` runs them: process faults first, then network faults, then data faults.
MODULES = (
    "worker_crash",
    "redis_stall",
    "replica_loss",
    "db_latency",
    "db_partition",
    "duplicate_delivery",
    "poison_job",
    "lease_expiry",
)


def _specs() -> list[DrillSpec]:
    # Imported here, not at the top: each drill module imports DrillSpec from this package. A drill
    # that fails to import is an error (the ImportError names it), never a drill that quietly goes missing.
    return [importlib.import_module(f"{__name__}.{module}").SPEC for module in MODULES]


def drill_specs() -> dict[str, DrillSpec]:
    """Every shipped drill, in the order `--all` runs them."""
    return {spec.name: spec for spec in _specs()}


def get_drill(name: str, variant: str | None = None) -> Drill:
    """A fresh drill by name (and variant); UnknownDrill lists the known ones."""
    specs = drill_specs()
    spec = specs.get(name)
    if spec is None:
        raise UnknownDrill(f"unknown drill {name!r}; known drills: {', '.join(specs)}")
    if variant is not None and variant not in spec.variants:
        known = ", ".join(spec.variants) or "none"
        raise UnknownDrill(f"drill {name!r} has no variant {variant!r}; its variants: {known}")
    return spec.build(variant)
