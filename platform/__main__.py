"""`python -m gauntlet.platform migrate|serve`: see platform/cli.py."""

from __future__ import annotations

import sys

from gauntlet.platform.cli import main

if __name__ == "__main__":
    sys.exit(main())
