"""Writing a file so that a reader never sees half of it: write beside it, then rename over it."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: str | bytes, *, private: bool = False) -> None:
    """Write `data` (text as UTF-8) to `.<name>.tmp` next to `path`, then rename it onto `path`.

    The folder is created when missing.
    A crash leaves either the old file or the new one, never a mix. `private` creates the file
    readable by its owner only (mode 0600), for files that hold secrets.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
    os.replace(tmp, path)
