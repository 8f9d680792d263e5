"""The monitor's --journeys takes journey files: each checked once, before any run, and run by name."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gauntlet.journeys.monitor.cli import MonitorTarget, _journey_list, register, without_signup_loops
from tests.cli_area import area_app


def write(tmp_path: Path, source: str) -> str:
    path = tmp_path / "mine.py"
    path.write_text(source, encoding="utf-8")
    return str(path)


def test_a_file_adds_its_journeys_by_name_with_what_the_child_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "def test_shop(page):\n    pass\n\ndef test_cart(page):\n    pass\n")
    sources = _journey_list(f"seller,{path}")
    resolved = str(Path(path).resolve())
    assert sources == {"seller": "seller", "shop": f"{resolved}::test_shop", "cart": f"{resolved}::test_cart"}


def test_a_file_that_signs_up_every_run_is_refused_against_a_target(tmp_path: Path) -> None:
    path = write(tmp_path, "SIGNS_UP_EVERY_RUN = True\ndef test_join(page):\n    pass\n")
    sources = _journey_list(path)
    local = MonitorTarget("http://127.0.0.1:8000", "http://127.0.0.1:8000", None, None, remote=False)
    assert without_signup_loops(tuple(sources), named=True, where=local, sources=sources) == ("join",)
    remote = MonitorTarget("http://app.example", "http://api.example", "k", None, remote=True)
    assert without_signup_loops(tuple(sources), named=False, where=remote, sources=sources) == ()


def test_a_bad_journey_file_stops_the_monitor_before_its_first_run(tmp_path: Path) -> None:
    path = write(tmp_path, "def test_x(page, server):\n    pass\n")
    app = area_app(register)
    args = ["monitor", "--target", "http://127.0.0.1:9", "--journeys", path, "--max-runs", "1"]
    result = CliRunner().invoke(app, [*args, "--state-dir", str(tmp_path)])
    output = " ".join((result.stderr + result.stdout).split())
    assert result.exit_code == 2, output
    assert output.startswith("error:") and f"{path}:1: test_x asks for fixture 'server'" in output
