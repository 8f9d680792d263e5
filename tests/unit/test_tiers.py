"""The tier-marker rule tests/conftest.py applies at collection (tests/tiers.py)."""

from __future__ import annotations

from pathlib import Path

from tests.tiers import CollectedTest, missing_markers_message, missing_tier_markers, tier_of

ROOT = Path("/repo")
TESTS = ROOT / "tests"


def _test(path: str, *markers: str) -> CollectedTest:
    return CollectedTest(f"{path}::test_x", TESTS / path, frozenset(markers))


def test_the_folder_under_tests_is_the_tier() -> None:
    assert tier_of(TESTS / "integration/load/test_x.py", TESTS) == "integration"
    assert tier_of(TESTS / "acceptance/test_x.py", TESTS) == "acceptance"
    assert tier_of(TESTS / "docker/test_x.py", TESTS) == "docker"
    assert tier_of(TESTS / "fuzz/test_x.py", TESTS) == "fuzz"
    assert tier_of(TESTS / "unit/test_x.py", TESTS) is None
    assert tier_of(TESTS / "conformance/test_x.py", TESTS) is None
    assert tier_of(TESTS / "test_top.py", TESTS) is None
    assert tier_of(ROOT / "elsewhere/integration/test_x.py", TESTS) is None


def test_a_test_without_its_tier_marker_is_named_with_the_fix() -> None:
    missing = missing_tier_markers(
        [
            _test("integration/supabase/test_a.py", "timeout"),  # only a timeout: missing
            _test("integration/supabase/test_b.py", "integration", "timeout"),
            _test("docker/test_c.py", "integration"),  # the wrong tier's marker: missing
            _test("fuzz/test_d.py", "fuzz"),
            _test("unit/test_e.py"),
        ],
        TESTS,
    )
    assert missing == {TESTS / "integration/supabase/test_a.py": "integration", TESTS / "docker/test_c.py": "docker"}
    message = missing_markers_message(missing, ROOT)
    assert "2 test module(s) lack their tier marker" in message
    assert "tests/docker/test_c.py: add `pytestmark = pytest.mark.docker`" in message
    assert "tests/integration/supabase/test_a.py: add `pytestmark = pytest.mark.integration`" in message


def test_one_unmarked_test_in_a_marked_module_is_enough() -> None:
    tests = [_test("integration/test_a.py", "integration"), _test("integration/test_a.py")]
    assert missing_tier_markers(tests, TESTS) == {TESTS / "integration/test_a.py": "integration"}
