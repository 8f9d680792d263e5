"""``python -m gauntlet.faultproxy --host 127.0.0.1 --port 8474``: the built-in Toxiproxy server."""

from __future__ import annotations

import argparse
import sys

from gauntlet.faultproxy.server import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gauntlet.faultproxy",
        description="Fault proxy speaking the Toxiproxy 2.x HTTP API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address of the HTTP API (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8474, help="port of the HTTP API (default 8474)")
    args = parser.parse_args(argv)
    try:
        run(args.host, args.port)
    except OSError as exc:
        print(f"error: cannot serve the Toxiproxy API on {args.host}:{args.port}: {exc}", file=sys.stderr)
        print("fix: pick a free port with --port, or stop whatever listens there", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
