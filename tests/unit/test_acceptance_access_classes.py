"""The access checks classify every RPC of the reference platform's allow-list.

This compares the harness with the reference platform's own constant, so it is a test of this
repository, not an acceptance check: a real deployment is judged only through its surface.
"""

from __future__ import annotations

from gauntlet.acceptance.checks.access import ACCESS
from gauntlet.platform.api.rpc_catalog import ALLOWED_FUNCTIONS


def unclassified(allowed: frozenset[str], classified: set[str]) -> list[str]:
    return sorted(allowed - classified)


def test_every_allow_listed_rpc_has_an_access_class() -> None:
    missing = unclassified(ALLOWED_FUNCTIONS, set(ACCESS))
    assert not missing, (
        f"allow-listed RPC(s) {missing} have no access class in gauntlet/acceptance/checks/access.py: "
        "classify each (who may call it, whose rows it reads or changes) so the access checks cover it"
    )


def test_a_new_unclassified_rpc_is_named() -> None:
    assert unclassified(ALLOWED_FUNCTIONS | {"brand_new_rpc"}, set(ACCESS)) == ["brand_new_rpc"]
