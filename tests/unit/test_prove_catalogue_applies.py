"""Every fault of the real catalogue lands on the code as it is now: a fault whose code moved fails CI."""

from __future__ import annotations

import pytest

import gauntlet.acceptance.checks  # noqa: F401 - registers the checks
from gauntlet.acceptance.registry import CHECKS
from gauntlet.prove.catalogue import load_catalogue
from gauntlet.prove.mutation import mutated
from gauntlet.prove.runner import ensure_fault_is_on_platform, project_root

CATALOGUE = load_catalogue()


def test_the_catalogue_has_a_python_fault_and_enough_faults() -> None:
    assert len(CATALOGUE) >= 25
    assert any(f.file.endswith(".py") for f in CATALOGUE.values())


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_fault_applies_to_the_current_code(name: str) -> None:
    fault = CATALOGUE[name]
    ensure_fault_is_on_platform(fault)
    text = (project_root() / fault.file).read_text()
    changed = mutated(text, fault)  # raises FaultDoesNotApply, naming the fault, when its code moved
    assert changed != text and fault.new in changed


def test_every_acceptance_check_is_shown_to_fail_by_a_fault_and_every_named_check_exists() -> None:
    """A check no fault names has never been seen to fail: it may be one that cannot."""
    named = {check for fault in CATALOGUE.values() for check in fault.checks}
    assert sorted(set(CHECKS) - named) == [], "acceptance checks that no fault of the catalogue names"
    assert sorted(named - set(CHECKS)) == [], "faults naming acceptance checks that do not exist"
