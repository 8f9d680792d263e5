"""The README's CLI examples run as written, in order, on one embedded stack, and exit 0.

The examples are the ```bash blocks of README.md's "The CLI" section (up to the next `## `
heading), one command line each (`a && b` and pipes included); a trailing `# comment` is not
part of the command. Each runs with `bash -o pipefail -c` in the test's own working directory
(shared by the examples, as a reader's checkout is), with the venv's `gauntlet` first on PATH
and no GAUNTLET_STATE_DIR, so `.gauntlet/` in an example is this test's own state dir. They
share one stack: the first example (`gauntlet up`) starts it, `gauntlet down` stops it, and
whatever is still running at the end is stopped.

What runs here may differ from the README only through SHORTER (a README fragment -> the
shorter run used here: durations and data sizes; the whole file still takes about 10 minutes on
the shared 2-core VM, 3.5 of them the ci gate), PLACEHOLDERS (words a reader replaces, such as
the run folder `RUN-mixed`) and OWN_PATHS (a fixed path outside the checkout -> one under this
test's directory). Each entry must apply to an example (test_every_substitution_still_applies).
An example that cannot run here is listed in NOT_HERE with the reason, one that another test runs
as written (with more checks) in RUN_ELSEWHERE; a README example that is neither run nor listed
fails test_every_example_is_run_or_listed_with_a_reason.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gauntlet.gate.config import DEFAULT_CONFIG, load_profile
from gauntlet.stack import processes

pytestmark = pytest.mark.acceptance

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## The CLI"
BIN = str(Path(sys.executable).parent)

# README fragment -> what runs here instead (durations and sizes only).
SHORTER: dict[str, str] = {
    "--duration 60s": "--duration 30s",  # the ramp reaches every request (onboarding too) in 30 s
    # The ci profile as shipped, but its load phase 30 s instead of 60 s (GATE_CONFIG, written by `workspace`).
    "gauntlet gate --profile ci": "gauntlet gate --profile ci --config ci-30s.toml",
    # The gate ci profile's data set (~4 s here) instead of the README's ~25 s one.
    "fixtures load --users 100000 --posts 1000000": "fixtures load --users 5000 --posts 50000",
}
# A word the reader replaces -> how this test finds its value (given the examples' working dir).
PLACEHOLDERS: dict[str, Callable[[Path], str]] = {
    # "RUN": the folder an earlier `gauntlet load mixed` wrote (.gauntlet/load/<run id>-mixed).
    ".gauntlet/load/RUN-mixed": lambda cwd: str(max((cwd / ".gauntlet" / "load").glob("*-mixed"), key=_mtime)),
}
# A fixed path outside the checkout -> one under the test's own directory (a shared machine).
OWN_PATHS: dict[str, str] = {"/tmp/stack2": "stack2"}
# Examples that cannot run here, and why. Everything else in the section runs.
NOT_HERE: dict[str, str] = {
    "gauntlet prove --quick --faults notif-daily-cap-off-by-one api-refusal-answers-500 --clean-runs 1": (
        "a scratch copy, a stack and a gate per fault plus a clean run (~3 min): tests/integration/prove runs prove"
    ),
    "gauntlet prove --quick --jobs 2 --clean-runs 10": "the whole catalogue with 10 clean runs: about an hour",
    "gauntlet prove --profile ci --faults nba-four-actions": "a full ci gate on a mutant: about 6 minutes",
}
# Examples another test runs as written, against the same kind of stack and with more checks of
# their results: example -> that test file (which must name the example's file). Not run twice.
RUN_ELSEWHERE: dict[str, str] = {
    "gauntlet chaos run examples/experiments/primary-latency.yaml": "tests/integration/chaos/test_experiment_files.py",
    "gauntlet journey run examples/journeys/shop_visit.py": "tests/integration/journeys/test_journey_files.py",
}
GATE_CONFIG = "ci-30s.toml"
TIMEOUT_S = 600  # one example; a hung command fails its test instead of the whole run


def shorter_gate_profiles(shipped: str) -> str:
    """Pure: the shipped gate profiles with only the ci load phase's duration cut from 60 s to 30 s."""
    head, ci_load, rest = shipped.partition("[profile.ci.load]")
    assert ci_load and '\nduration = "60s"\n' in rest.split("\n[", 1)[0], "the ci load phase no longer lasts 60s"
    return head + ci_load + rest.replace('\nduration = "60s"\n', '\nduration = "30s"\n', 1)


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


def readme_examples(text: str) -> list[str]:
    """Pure: the command lines of the ```bash blocks in the CLI section, in order, comments dropped."""
    start = text.index(SECTION)
    following = text.find("\n## ", start + len(SECTION))
    section = text[start : following if following != -1 else len(text)]
    examples: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL):
        for line in block.splitlines():
            command = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
            if command and not command.startswith("#"):
                examples.append(command)
    return examples


def as_run_here(example: str, cwd: Path) -> str:
    """The command this test runs for a README example (README text, with the documented substitutions)."""
    command = example
    for written, shorter in SHORTER.items():
        command = command.replace(written, shorter)
    for placeholder, find in PLACEHOLDERS.items():
        if placeholder in command:
            command = command.replace(placeholder, find(cwd))
    for path, own in OWN_PATHS.items():
        command = command.replace(path, str(cwd / own))
    return command


EXAMPLES = readme_examples(README.read_text(encoding="utf-8"))
TO_RUN = [e for e in EXAMPLES if e not in NOT_HERE and e not in RUN_ELSEWHERE]


def test_the_section_has_examples_and_the_parser_keeps_commands_whole() -> None:
    text = "## The CLI\n```bash\ngauntlet up   # starts it\n# a comment\n\na | b && c\n```\n## Next\n```bash\nx\n```\n"
    assert readme_examples(text) == ["gauntlet up", "a | b && c"]
    assert EXAMPLES[0] == "gauntlet up" and "gauntlet down" in EXAMPLES and len(EXAMPLES) >= 15


def test_every_example_is_run_or_listed_with_a_reason() -> None:
    gone = [example for example in NOT_HERE if example not in EXAMPLES]
    assert not gone, f"NOT_HERE lists examples the README no longer has: {gone}"
    assert all(reason.strip() for reason in NOT_HERE.values())
    for example, test_file in RUN_ELSEWHERE.items():
        assert example in EXAMPLES, f"RUN_ELSEWHERE lists an example the README no longer has: {example}"
        example_file = Path(example.split()[-1]).name
        assert example_file in (README.parent / test_file).read_text(), f"{test_file} does not run {example_file}"
    assert all(example.startswith(("gauntlet ", "GAUNTLET_")) for example in TO_RUN), TO_RUN


def test_every_substitution_still_applies(tmp_path: Path) -> None:
    """A substitution that no longer matches any example would silently run the README's long version."""
    for fragment in [*SHORTER, *PLACEHOLDERS, *OWN_PATHS]:
        assert any(fragment in example for example in TO_RUN), f"{fragment!r} is in no README example any more"
    (tmp_path / ".gauntlet" / "load" / "20261206T000000-ab12-mixed").mkdir(parents=True)
    ran = [as_run_here(example, tmp_path) for example in TO_RUN]
    substituted = [e for e in TO_RUN if any(f in e for f in [*SHORTER, *PLACEHOLDERS, *OWN_PATHS])]
    assert all(as_run_here(e, tmp_path) != e for e in substituted)
    assert not any(w in command for command in ran for w in (*PLACEHOLDERS, *OWN_PATHS, "--duration 60s"))
    assert all(int(d) <= 30 for command in ran for d in re.findall(r"--duration (\d+)s", command))


def test_the_shorter_gate_profile_differs_from_ci_only_in_its_load_duration(tmp_path: Path) -> None:
    config = tmp_path / GATE_CONFIG
    config.write_text(shorter_gate_profiles(DEFAULT_CONFIG.read_text(encoding="utf-8")))
    shipped, shorter = load_profile("ci", None), load_profile("ci", config)
    assert shipped.load is not None and shorter.load is not None and shorter.load.duration == "30s"
    assert dataclasses.replace(shorter, load=dataclasses.replace(shorter.load, duration="60s")) == shipped
    assert load_profile("nightly", config) == load_profile("nightly", None)


@dataclass
class Workspace:
    root: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("GAUNTLET_STATE_DIR", "GAUNTLET_TARGET_FILE")}
        env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
        return env


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    # Not under pytest's tmp dir: that one is 0700 and the Postgres user must traverse it.
    root = Path(tempfile.mkdtemp(prefix="gauntlet-readme-"))
    root.chmod(0o755)
    (root / GATE_CONFIG).write_text(shorter_gate_profiles(DEFAULT_CONFIG.read_text(encoding="utf-8")))
    try:
        yield Workspace(root)
    finally:
        for state_dir in (root / ".gauntlet", root / "stack2"):
            if (state_dir / "state.json").exists():
                subprocess.run(
                    [f"{BIN}/gauntlet", "down", "--purge", "--state-dir", str(state_dir)],
                    capture_output=True,
                    timeout=120,
                    stdin=subprocess.DEVNULL,
                )
            processes.sweep(str(state_dir.resolve()))
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("example", TO_RUN, ids=TO_RUN)
def test_the_example_runs(example: str, workspace: Workspace) -> None:
    command = as_run_here(example, workspace.root)
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=workspace.root,
        env=workspace.env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, (
        f"README example exited {done.returncode} after {took:.0f} s\n  README: {example}\n  ran:    {command}\n"
        f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
    )
