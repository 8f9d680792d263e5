"""`gauntlet load -f FILE.py`: a locustfile is read, imported apart and refused with its line, before any load."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gauntlet.load.cli import register
from gauntlet.load.locustfiles import LocustfileError, parse_locustfile, read_locustfile, requests_of_source
from tests.cli_area import area_app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "locustfile.py"
TARGET = ("--target", "http://127.0.0.1:9")


def write(tmp_path: Path, text: str, name: str = "mine.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_request_names_are_read_as_locust_names_them() -> None:
    tree = ast.parse(
        "class U:\n"
        "    def t(self):\n"
        "        self.client.get('/a?x=1')\n"
        "        self.client.post('/rest/v1/rpc/f', json={}, name='rpc:f')\n"
        "        self.client.request('PUT', 'http://h:1/b/c')\n"
        "        self.client.get(url='/d')\n"
        "        requests.get('/not-locust')\n"
    )
    found = requests_of_source(tree)
    assert found.names == {"/a?x=1", "rpc:f", "/b/c", "/d"}
    assert not found.open_ended


def test_a_request_named_at_run_time_makes_the_set_open_ended() -> None:
    found = requests_of_source(ast.parse("def t(self, n):\n    self.client.get(f'/items/{n}')\n"))
    assert found.open_ended and found.dynamic_lines == (2,)
    named = requests_of_source(ast.parse("def t(self, n):\n    self.client.get(f'/items/{n}', name='/items/[n]')\n"))
    assert named.names == {"/items/[n]"} and not named.open_ended


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "from locust import HttpUser\n\nclass U(HttpUser:\n    pass\n")
    with pytest.raises(LocustfileError, match=rf"{path}:3: syntax error: .*; fix that line"):
        parse_locustfile(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "import gauntlet_no_such_module\n",
            r":1: importing the locustfile raised ModuleNotFoundError: .* pip install ",
        ),
        ("x = 1\nraise RuntimeError('no config')\n", r":2: importing the locustfile raised RuntimeError: no config"),
        (
            "from locust import HttpUser\n\nclass Base(HttpUser):\n    abstract = True\n",
            r"no Locust User class; add one",
        ),
    ],
)
def test_a_file_that_cannot_run_is_refused_with_its_line_and_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(LocustfileError, match=message):
        read_locustfile(write(tmp_path, text))


def test_the_example_is_two_user_classes_making_named_requests() -> None:
    found = read_locustfile(EXAMPLE)
    assert found.profile.user_classes == ("Reader", "Visitor")
    assert "rpc:feed_fusion_home" in found.profile.requests
    assert found.shapes == ()


# -- the command: exit 2 with one `error:` line, and no load started --------------------------------


@pytest.fixture
def app() -> typer.Typer:
    return area_app(register)


def run(app: typer.Typer, tmp_path: Path, *args: str) -> tuple[int, str]:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["load", *args, "--out", str(out), "--state-dir", str(tmp_path / "st")])
    assert not out.exists(), "a load started"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr + result.stdout


def test_a_profile_and_a_locustfile_are_mutually_exclusive(app: typer.Typer, tmp_path: Path) -> None:
    code, output = run(app, tmp_path, "shop", "-f", str(EXAMPLE), *TARGET)
    assert code == 2
    assert f"error: a profile (shop) and -f {EXAMPLE} cannot be combined" in output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("class U(:\n", ":1: syntax error"),
        ("import gauntlet_no_such_module\n", ":1: importing the locustfile raised ModuleNotFoundError"),
        ("X = 1\n", "no Locust User class"),
    ],
)
def test_a_bad_locustfile_exits_2_naming_it(app: typer.Typer, tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    code, output = run(app, tmp_path, "-f", str(path), *TARGET)
    assert code == 2
    assert f"error: {path}" in output and message in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("source", "threshold"),
    [
        (("-f", str(EXAMPLE)), '"http_req_duration{name:rpc:feed_fusion_hom}": ["p(95)<800"]'),
        (("home_for_you",), '"http_req_duration{name:rpc:feed_fusion_hom}": ["p(95)<800"]'),
    ],
)
def test_a_typod_threshold_fails_before_any_load_starts(
    app: typer.Typer, tmp_path: Path, source: tuple[str, ...], threshold: str
) -> None:
    slo = write(tmp_path, f"thresholds:\n  {threshold}\n", "slo.yaml")
    code, output = run(app, tmp_path, *source, *TARGET, "--slo", str(slo))
    assert code == 2, output
    assert "names a request no user of this run makes; did you mean rpc:feed_fusion_home?" in output


def test_with_profile_scope_another_profiles_request_is_skipped_but_a_typo_is_not(
    app: typer.Typer, tmp_path: Path
) -> None:
    slo = write(tmp_path, "scope: profile\nrequests:\n  'rpc:complete_onboardng': {p95_ms: 900}\n", "slo.yaml")
    code, output = run(app, tmp_path, "shop", *TARGET, "--slo", str(slo))
    assert code == 2 and "did you mean rpc:complete_onboarding?" in output


def test_a_locustfile_naming_requests_at_run_time_only_warns(app: typer.Typer, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "from locust import HttpUser, task\n\nclass U(HttpUser):\n"
        "    @task\n    def t(self):\n        self.client.get(f'/x/{1}')\n",
    )
    slo = write(tmp_path, "thresholds:\n  'http_req_duration{name:/x/[id]}': ['p(95)<800']\n", "slo.yaml")
    # Past the checks, the run needs a stack: a missing state dir is the next (and last) refusal.
    code, output = run(app, tmp_path, "-f", str(path), "--slo", str(slo))
    assert "warning:" in output and "names requests at run time (lines 6)" in output
    assert code == 2 and "no running stack" in output
