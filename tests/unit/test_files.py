"""gauntlet.base.files.write_atomically: whole files only, folders made, private files private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gauntlet.base.files import write_atomically


def test_text_and_bytes_replace_the_file_and_leave_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "report.json"
    write_atomically(path, "first ✓")
    assert path.read_text(encoding="utf-8") == "first ✓"
    write_atomically(path, b"second")
    assert path.read_bytes() == b"second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.json"]


def test_private_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_atomically(path, "{}", private=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    umask = os.umask(0)
    os.umask(umask)
    write_atomically(tmp_path / "open.json", "{}")
    assert stat.S_IMODE((tmp_path / "open.json").stat().st_mode) == 0o666 & ~umask  # what open() would give
