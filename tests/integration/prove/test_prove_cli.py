"""`gauntlet prove --quick` for real: a SQL fault and a Python fault (in the API) are caught on their own mutant
stacks, a clean run raises no alarm, and the user's tree, processes and temp dirs are as they were."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

from gauntlet.prove.catalogue import load_catalogue
from gauntlet.prove.runner import project_root

pytestmark = pytest.mark.integration

SQL_FAULT = "notif-daily-cap-off-by-one"
PYTHON_FAULT = "api-refusal-answers-500"  # platform/api/errors.py: live only if the API imports the mutant


def digest(paths: list[Path]) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()


def test_prove_quick_catches_a_sql_and_a_python_fault_and_leaves_nothing_behind(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    faults = [catalogue[SQL_FAULT], catalogue[PYTHON_FAULT]]
    assert faults[1].file.endswith(".py") and faults[1].file.startswith("platform/api/")
    touched = [project_root() / f.file for f in faults]
    before = digest(touched)
    # TMPDIR of the run: its copies and stacks live here, and must be gone after. Not under pytest's tmp_path:
    # that is private to us, and Postgres runs as its own user when the tests run as root.
    scratch_tmp = Path(tempfile.mkdtemp(prefix="prove-it-"))
    scratch_tmp.chmod(0o711)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "gauntlet", "prove", "--quick", "--faults", SQL_FAULT, PYTHON_FAULT]
    try:
        proc = subprocess.run(
            [*argv, "--clean-runs", "1", "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "TMPDIR": str(scratch_tmp)},
            check=False,
        )
        left_on_disk = list(scratch_tmp.iterdir())
    finally:
        shutil.rmtree(scratch_tmp, ignore_errors=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    prove = result["sections"]["prove"]
    verdicts = {f["name"]: f for f in prove["faults"]}
    assert verdicts[SQL_FAULT]["verdict"] == "caught"
    assert verdicts[PYTHON_FAULT]["verdict"] == "caught"
    assert "acceptance:onboarding.requires_three_interests" in verdicts[PYTHON_FAULT]["caught_by"]
    assert [r["false_alarm"] for r in prove["clean_runs"]] == [False]
    assert "detection score 2/2" in proc.stdout and "false alarms: 0 of 1 clean runs" in proc.stdout
    for name in ("report.html", "junit.xml", "summary.md"):
        assert (out / name).is_file()
    # The user's tree is untouched, and nothing is left running or on disk.
    assert digest(touched) == before
    assert left_on_disk == []
    left = [p for p in psutil.process_iter(["cmdline"]) if str(scratch_tmp) in " ".join(p.info["cmdline"] or [])]
    assert left == []
