"""Stands in for the journey child process (`python -m gauntlet.journeys.monitor.journey_adapter`).

Takes the same arguments; the journey name picks the behaviour:
pass / fail (write a result like `JourneyResult.to_json()`), hang (and leave a grandchild
behind in the session), crash (exit 3 with a message), garbage (an unreadable result).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--target", required=True)
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--result-file", type=Path, required=True)
    parser.add_argument("--headed", action="store_true")
    args = parser.parse_args()
    args.artifacts.mkdir(parents=True, exist_ok=True)
    (args.artifacts / "seen.json").write_text(
        json.dumps(
            {
                "target": args.target,
                "service_key": os.environ.get("GAUNTLET_SERVICE_KEY"),
                "accounts": os.environ.get("GAUNTLET_JOURNEY_ACCOUNTS"),
                "argv": sys.argv,
            }
        )
    )
    if args.name == "hang":
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        (args.artifacts / "grandchild.pid").write_text(str(grandchild.pid))
        time.sleep(600)
        return 0
    if args.name == "crash":
        print("loading the journey\nerror: cannot start Chromium (/usr/bin/chromium): gone", file=sys.stderr)
        return 3
    if args.name == "garbage":
        args.result_file.write_text("{not json")
        return 0
    ok = args.name == "pass"
    step = {"name": "open", "ok": ok, "status": "passed" if ok else "failed", "duration_ms": 12.5, "budget_ms": 1000,
            "error": None if ok else "page showed a 500", "screenshot": None, "trace": None}  # fmt: skip
    result = {
        "name": args.name, "ok": ok, "started_at": dt.datetime.now(dt.UTC).isoformat(), "duration_ms": 12.5,
        "total_budget_ms": 5000, "target": args.target, "steps": [step], "console_errors": [],
        "error": None if ok else "step 'open' failed: page showed a 500", "artifacts_dir": str(args.artifacts),
    }  # fmt: skip
    args.result_file.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
