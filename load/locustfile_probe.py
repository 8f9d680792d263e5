"""`python -m gauntlet.load.locustfile_probe FILE.py`: import a locustfile as Locust does, report what it holds.

Runs in a child process of `gauntlet load -f` (importing Locust patches the interpreter
with gevent). Prints one line, `gauntlet-locustfile-probe: {json}`: the runnable User
classes and LoadTestShape classes, or the error the import raised and the file's line
it came from (`gauntlet.load.locustfiles` turns that into the message).
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

PROBE_MARK = "gauntlet-locustfile-probe:"


def _line_in(path: Path, exc: BaseException) -> int | None:
    """The last line of `path` in the exception's traceback (the user's line, not Locust's)."""
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == path:
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path:
            line = frame.lineno
    return line


def probe(path: Path) -> dict[str, Any]:
    from locust.util.load_locustfile import load_locustfile

    try:
        user_classes, shapes = load_locustfile(str(path))
    except BaseException as exc:  # the user's code: anything at all, SystemExit included
        report: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc), "line": _line_in(path, exc)}
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            report["missing_module"] = exc.name.split(".")[0]
        return report
    return {"user_classes": sorted(user_classes), "shapes": sorted(type(s).__name__ for s in shapes)}


def main(argv: list[str]) -> int:
    report = probe(Path(argv[0]).resolve())
    sys.stdout.write(f"\n{PROBE_MARK}{json.dumps(report)}\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
