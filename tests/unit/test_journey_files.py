"""Journey files: found, checked and refused (exit 2 naming the file, the line and the fix) before any browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gauntlet.journeys.catalog import JOURNEYS, UnknownJourney, select
from gauntlet.journeys.cli import register
from gauntlet.journeys.files import DEFAULT_BUDGET_MS, JourneyFileError, is_file_spec, load_file, plan_source
from tests.cli_area import area_app

GOOD = '''"""Looks at the shop."""
BUDGET_MS = 20000

def test_shop(page, journey):
    """open the shop lane"""
    with journey.step("open", budget_ms=5000):
        page.goto(journey.url("/home?lane=shop"))

async def test_cart_async(page, base_url, retries=3):
    await page.goto(base_url)

def helper(page):
    pass
'''


def write(tmp_path: Path, source: str, name: str = "my_journey.py") -> str:
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return str(path)


def refusal(spec: str) -> str:
    with pytest.raises(JourneyFileError) as raised:
        load_file(spec)
    assert raised.value.exit_code == 2
    return str(raised.value)


class TestPlan:
    def test_finds_each_test_function_its_fixtures_and_whether_it_is_async(self) -> None:
        plan = plan_source(GOOD, "j.py")
        assert [(t.function, t.line, t.fixtures, t.is_async) for t in plan.tests] == [
            ("test_shop", 4, ("page", "journey"), False),
            ("test_cart_async", 9, ("page", "base_url"), True),
        ]
        assert plan.budget_ms == 20000 and plan.signs_up_every_run is False
        assert plan.tests[0].description == "open the shop lane" and plan.description == "Looks at the shop."

    def test_without_a_budget_the_default_applies(self) -> None:
        assert plan_source("def test_x(page):\n    pass\n", "j.py").budget_ms == DEFAULT_BUDGET_MS

    def test_a_syntax_error_names_the_line(self) -> None:
        with pytest.raises(JourneyFileError, match=r"j\.py:2: syntax error: .*py_compile j\.py"):
            plan_source("def test_x(page):\n    with journey.step('a')\n", "j.py")

    def test_no_test_function_says_how_to_write_one(self) -> None:
        with pytest.raises(JourneyFileError, match=r"j\.py: no test functions; .*def test_checkout\(page, journey\)"):
            plan_source("def check(page):\n    pass\n", "j.py")

    def test_a_fixture_we_cannot_supply_names_it_the_line_and_the_ones_there_are(self) -> None:
        with pytest.raises(JourneyFileError) as raised:
            plan_source("import x\n\ndef test_x(page,\n           live_server):\n    pass\n", "j.py")
        message = str(raised.value)
        assert message.startswith("j.py:4: test_x asks for fixture 'live_server', which Gauntlet cannot supply")
        assert "page, context, browser, base_url, journey" in message

    def test_a_misspelt_fixture_gets_a_did_you_mean(self) -> None:
        with pytest.raises(JourneyFileError, match="did you mean 'journey'"):
            plan_source("def test_x(page, journy):\n    pass\n", "j.py")

    def test_star_args_are_refused(self) -> None:
        with pytest.raises(JourneyFileError, match=r"j\.py:1: test_x takes \*args/\*\*kwargs"):
            plan_source("def test_x(**fixtures):\n    pass\n", "j.py")

    @pytest.mark.parametrize("value", ["0", "-1", "2.5", "True", "'30s'"])
    def test_a_budget_that_is_no_budget_names_its_line(self, value: str) -> None:
        with pytest.raises(JourneyFileError, match=r"j\.py:2: BUDGET_MS = .*whole number > 0"):
            plan_source(f"import os\nBUDGET_MS = {value}\ndef test_x(page):\n    pass\n", "j.py")

    def test_a_computed_budget_is_left_for_the_import(self) -> None:
        plan = plan_source("BUDGET_MS = 10 * N\ndef test_x(page):\n    pass\n", "j.py")
        assert plan.budget_ms == DEFAULT_BUDGET_MS and plan.setting_lines == {"BUDGET_MS": 1}

    def test_signs_up_every_run_is_true_or_false(self) -> None:
        assert plan_source("SIGNS_UP_EVERY_RUN = True\ndef test_x(page): pass\n", "j.py").signs_up_every_run
        with pytest.raises(JourneyFileError, match=r"j\.py:1: SIGNS_UP_EVERY_RUN = 'yes': write True or False"):
            plan_source("SIGNS_UP_EVERY_RUN = 'yes'\ndef test_x(page): pass\n", "j.py")

    def test_two_functions_making_one_journey_name_are_refused(self) -> None:
        with pytest.raises(JourneyFileError, match="two test functions make the journey 'shop'"):
            plan_source("def test_shop(page): pass\ndef testshop(page): pass\n", "j.py")


class TestLoad:
    def test_every_test_function_is_a_journey_named_without_its_prefix(self, tmp_path: Path) -> None:
        path = write(tmp_path, GOOD)
        shop, cart = load_file(path)
        assert (shop.name, shop.total_budget_ms, shop.is_async, shop.description) == (
            "shop", 20000, False, "open the shop lane",
        )  # fmt: skip
        assert (cart.name, cart.is_async, cart.fixtures) == ("cart_async", True, ("page", "base_url"))
        assert shop.source == f"{Path(path).resolve()}::test_shop"
        assert callable(shop.test)

    def test_path_colons_test_name_picks_one(self, tmp_path: Path) -> None:
        [only] = load_file(write(tmp_path, GOOD) + "::test_cart_async")
        assert only.name == "cart_async"

    def test_an_unknown_test_name_lists_the_ones_there_are(self, tmp_path: Path) -> None:
        message = refusal(write(tmp_path, GOOD) + "::test_nope")
        assert "has no test function 'test_nope'; it has test_shop, test_cart_async" in message

    def test_a_file_that_raises_on_import_names_the_line(self, tmp_path: Path) -> None:
        path = write(tmp_path, "import os\nFOO = {}['missing']\ndef test_x(page):\n    pass\n")
        message = refusal(path)
        assert message.startswith(f"{path}:2: importing it raised KeyError: 'missing'; fix the file")

    def test_a_computed_budget_is_read_once_imported(self, tmp_path: Path) -> None:
        [journey] = load_file(write(tmp_path, "SECONDS = 20\nBUDGET_MS = SECONDS * 1000\ndef test_x(page): pass\n"))
        assert journey.total_budget_ms == 20000

    def test_a_computed_budget_that_is_no_budget_names_its_line(self, tmp_path: Path) -> None:
        path = write(tmp_path, "import os\nBUDGET_MS = 0.5 * 1000\ndef test_x(page): pass\n")
        assert refusal(path).startswith(f"{path}:2: BUDGET_MS = 500.0: give the whole journey's budget in ms")

    def test_a_missing_file(self, tmp_path: Path) -> None:
        assert "no such journey file" in refusal(str(tmp_path / "nope.py"))

    def test_not_python(self, tmp_path: Path) -> None:
        assert "name it *.py" in refusal(write(tmp_path, "x", name="journey.txt"))

    def test_its_folder_is_importable_while_it_loads(self, tmp_path: Path) -> None:
        (tmp_path / "shop_helpers.py").write_text("LANE = 'shop'\n", encoding="utf-8")
        [journey] = load_file(write(tmp_path, "from shop_helpers import LANE\ndef test_x(page):\n    pass\n"))
        assert journey.name == "x"


class TestSelect:
    def test_names_and_paths_mix(self, tmp_path: Path) -> None:
        chosen = select(["seller", write(tmp_path, GOOD)])
        assert [j.name for j in chosen] == ["seller", "shop", "cart_async"]

    def test_file_specs_are_told_from_names(self) -> None:
        assert [is_file_spec(s) for s in ("seller", "x.py", "dir/x", "x.py::test_y")] == [False, True, True, True]

    def test_an_unknown_name_lists_the_built_ins_and_mentions_files(self) -> None:
        with pytest.raises(UnknownJourney, match="no journey named 'nope'; journeys: signup_to_notification"):
            select(["nope"])

    def test_one_journey_twice_is_refused(self, tmp_path: Path) -> None:
        path = write(tmp_path, "def test_seller(page): pass\n")
        with pytest.raises(UnknownJourney, match="'seller' is named twice"):
            select(["seller", path])

    def test_single_needs_one_journey_per_spec(self, tmp_path: Path) -> None:
        path = write(tmp_path, GOOD)
        with pytest.raises(JourneyFileError, match=r"holds 2 journeys \(test_shop, test_cart_async\); pick one"):
            select([path], single=True)

    def test_the_built_ins_are_journey_files_too(self) -> None:
        assert list(JOURNEYS) == ["signup_to_notification", "returning_user", "seller"]
        for journey in JOURNEYS.values():
            path = journey.source.split("::")[0]
            assert path.endswith(".py") and [j.name for j in load_file(path)] == [journey.name]
        assert JOURNEYS["signup_to_notification"].signs_up_every_run
        assert not JOURNEYS["seller"].signs_up_every_run


def invoke(*args: str) -> tuple[int, str]:
    app = area_app(register)

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def test_x(page)\n    pass\n", ":1: syntax error"),
        ("def check(page):\n    pass\n", ": no test functions"),
        ("def test_x(page, db):\n    pass\n", ":1: test_x asks for fixture 'db'"),
    ],
)
def test_journey_run_refuses_a_bad_file_with_exit_2_before_any_browser(
    tmp_path: Path, source: str, expected: str
) -> None:
    path = write(tmp_path, source)
    code, output = invoke("journey", "run", path, "--target", "http://127.0.0.1:9", "--artifacts", str(tmp_path))
    assert code == 2, output
    assert "error:" in output and f"{path}{expected}" in " ".join(output.split())
    assert "Traceback" not in output and not list(tmp_path.glob("x-*"))


def test_journey_list_checks_a_file_and_lists_its_journeys_without_running_them(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    code, output = invoke("journey", "list", path)
    assert code == 0, output
    text = " ".join(output.split())
    assert "shop (total budget 20 s): open the shop lane" in text
    assert "cart_async (total budget 20 s): Looks at the shop." in text
    code, output = invoke("journey", "list", write(tmp_path, "def test_x(page, db): pass\n", name="bad.py"))
    assert code == 2 and "bad.py:1: test_x asks for fixture 'db'" in " ".join(output.split())
