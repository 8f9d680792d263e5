"""The xdist work units of `./dev test`'s parallel run (tests/parallel.py)."""

from __future__ import annotations

from tests.parallel import duplicate_node_ids, xdist_scope


def test_every_fuzz_module_is_one_unit_so_the_tiers_last_test_sees_all_their_cases() -> None:
    openapi = xdist_scope("tests/fuzz/test_openapi.py::test_no_generated_request_gets_a_server_error")
    rpc = xdist_scope("tests/fuzz/test_rpc_arguments.py::test_the_fuzz_tier_ran_enough_cases_and_the_api_is_healthy")
    assert openapi == rpc == "tests/fuzz/"


def test_any_other_test_goes_with_its_file() -> None:
    assert xdist_scope("tests/unit/test_x.py::test_one") == "tests/unit/test_x.py"
    assert xdist_scope("tests/unit/test_x.py::TestCase::test_two[a::b]") == "tests/unit/test_x.py"
    assert xdist_scope("tests/integration/fuzzy/test_y.py::test_three") == "tests/integration/fuzzy/test_y.py"


def test_a_node_id_two_tests_share_is_named_once() -> None:
    ids = ["tests/f.py::test_a", "tests/f.py::test_b", "tests/f.py::test_a", "tests/f.py::test_a"]
    assert duplicate_node_ids(ids) == ["tests/f.py::test_a"]
    assert duplicate_node_ids(["tests/f.py::test_a[1]", "tests/f.py::test_a[2]"]) == []
