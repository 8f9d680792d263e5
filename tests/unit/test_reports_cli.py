"""`gauntlet report OUT_DIR` and `gauntlet report compare A B`: outputs, exit codes and one-line errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gauntlet.cliutil import GauntletGroup
from gauntlet.reports.cli import register
from gauntlet.reports.example import example_run


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    main = typer.Typer(cls=GauntletGroup)

    @main.command()
    def other() -> None:
        """A second command, so `report` is a sub-command as in the real app."""

    register(main)
    return main


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("runs")
    paths = {}
    for name, failing in (("passing", False), ("failing", True)):
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps(example_run(failing=failing, run_id=name).to_json()))
    return paths


def invoke(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_report_of_a_passing_run_exits_0(app: typer.Typer, runs: dict[str, Path], tmp_path: Path) -> None:
    code, out, _ = invoke(app, "report", str(tmp_path / "out"), "--from", str(runs["passing"]))
    assert code == 0, out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "junit.xml",
        "report.html",
        "result.json",
        "summary.md",
    ]
    assert out.startswith("run passing: passed; wrote ")
    ET.parse(tmp_path / "out" / "junit.xml")


def test_report_of_a_failing_run_exits_1_and_prints_the_culprits(
    app: typer.Typer, runs: dict[str, Path], tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "result.json").write_text(runs["failing"].read_text())
    code, out, _ = invoke(app, "report", str(out_dir))  # default input: OUT_DIR/result.json
    assert code == 1
    assert "FAILED load home_for_you/ramp: threshold `rpc:feed_fusion_home p95_ms < 800 ms` missed" in out
    assert "FAILED drill worker_crash: invariant `jobs enqueued = done + dead-lettered` broken" in out
    assert "FAILED journey signup_onboarding: step `submit onboarding` failed" in out
    assert (out_dir / "result.json").read_text() == runs["failing"].read_text()  # the input is left alone
    assert "❌ Gauntlet failed" in (out_dir / "summary.md").read_text()


def test_several_inputs_are_merged(app: typer.Typer, runs: dict[str, Path], tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    code, _, _ = invoke(app, "report", str(out_dir), "--from", str(runs["passing"]), "--from", str(runs["failing"]))
    assert code == 1
    merged = json.loads((out_dir / "result.json").read_text())
    assert merged["id"] == "passing+failing"
    assert [e["name"] for e in merged["sections"]["load"]] == ["home_for_you/ramp", "home_for_you/ramp@failing"]
    assert 'data-testid="merged-percentiles"' in (out_dir / "report.html").read_text()


def test_render_can_be_named_explicitly(app: typer.Typer, runs: dict[str, Path], tmp_path: Path) -> None:
    code, _, _ = invoke(app, "report", "render", str(tmp_path / "o"), "--from", str(runs["passing"]))
    assert code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON (line 1 column 2"),
        ('{"schema": "gauntlet.result/1"}', "id: missing"),
        ("", "empty file"),
    ],
)
def test_a_corrupt_input_is_one_line_and_exit_2(app: typer.Typer, tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, _, err = invoke(app, "report", str(tmp_path / "out"), "--from", str(bad))
    assert code == 2
    assert err == f"error: {bad}: {err.split(': ', 2)[2]}"  # one line: the file, then the problem
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_a_missing_default_input_says_what_to_do(app: typer.Typer, tmp_path: Path) -> None:
    code, _, err = invoke(app, "report", str(tmp_path))
    assert code == 2
    assert f"{tmp_path / 'result.json'}: no such file; write one with `gauntlet gate --out DIR`" in err


def test_usage_errors_exit_2(app: typer.Typer, runs: dict[str, Path]) -> None:
    assert invoke(app, "report", "compare", str(runs["passing"]))[0] == 2
    assert invoke(app, "report", "somewhere", "--bogus")[0] == 2
    code, out, _ = invoke(app, "report", "--help")
    assert code == 0 and "compare" in out and "render" in out


def test_compare_exits_1_on_a_regression_and_writes_its_pages(
    app: typer.Typer, runs: dict[str, Path], tmp_path: Path
) -> None:
    code, out, _ = invoke(app, "report", "compare", str(runs["passing"]), str(runs["failing"]), "--out", str(tmp_path))
    assert code == 1
    assert out.startswith("## 🔴 Gauntlet compare: `passing` (A) vs `failing` (B)")
    assert (tmp_path / "compare.md").read_text() == out
    assert "<!DOCTYPE html>" in (tmp_path / "compare.html").read_text()


def test_compare_accepts_report_folders_and_exits_0_without_regression(
    app: typer.Typer, runs: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "baseline"
    folder.mkdir()
    (folder / "result.json").write_text(runs["passing"].read_text())
    code, out, _ = invoke(app, "report", "compare", str(folder), str(runs["passing"]))
    assert code == 0
    assert "No regression beyond the tolerance." in out


def test_compare_rejects_a_bad_tolerance(app: typer.Typer, runs: dict[str, Path]) -> None:
    code, _, err = invoke(
        app, "report", "compare", str(runs["passing"]), str(runs["passing"]), "--throughput-tolerance", "1.5"
    )
    assert code == 2 and "must be below 1" in err
