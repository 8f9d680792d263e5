"""Named SQL kept in `.sql` files: the one loader of the platform and the harness.

Each query in a file starts with a header::

    -- name: lease_discovery_items
    -- Lease up to $1 queued discovery items for $2 seconds.
    -- params: $1 limit, $2 ttl_seconds
    SELECT ...;

A file is parsed once per process; callers use queries by name, so no SQL lives in
Python strings. `QueryFolder` serves a folder of such files by stem (`platform/queries/`,
`chaos/sql/`); `query_sql` reads one named query of one file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_NAME = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\s*$")
_PARAMS = re.compile(r"^--\s*params:\s*(?P<params>.*)$")


class QueryFileError(ValueError):
    """A `.sql` query file is malformed (missing header, duplicate name, empty body) or lacks a query."""


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    description: str
    params: tuple[str, ...]
    sql: str


def parse_queries(text: str, *, source: str = "<string>") -> dict[str, Query]:
    """Parse the `-- name:` sections of one query file."""
    queries: dict[str, Query] = {}
    name: str | None = None
    description: list[str] = []
    params: tuple[str, ...] = ()
    body: list[str] = []

    def flush() -> None:
        if name is None:
            if any(line.strip() and not line.strip().startswith("--") for line in body):
                raise QueryFileError(f"{source}: SQL before the first '-- name:' header")
            return
        sql = "\n".join(body).strip()
        if not sql:
            raise QueryFileError(f"{source}: query {name!r} has no SQL")
        if name in queries:
            raise QueryFileError(f"{source}: query {name!r} is defined twice")
        queries[name] = Query(name, " ".join(description).strip(), params, sql.rstrip(";"))

    for line in text.splitlines():
        header = _NAME.match(line)
        if header:
            flush()
            name, description, params, body = header["name"], [], (), []
            continue
        params_line = _PARAMS.match(line)
        if name is not None and not body and params_line:
            params = tuple(p.strip() for p in params_line["params"].split(",") if p.strip())
        elif name is not None and not body and line.startswith("--"):
            description.append(line.lstrip("-").strip())
        else:
            body.append(line)
    flush()
    return queries


@cache
def load_file(path: Path) -> dict[str, Query]:
    """The queries of one `.sql` file, parsed once per process."""
    return parse_queries(path.read_text(encoding="utf-8"), source=str(path))


def query_sql(path: Path, name: str) -> str:
    """The SQL text of the query `name` in the file `path`."""
    queries = load_file(path)
    if name not in queries:
        raise QueryFileError(f"{path}: no query named {name!r} (it has {', '.join(sorted(queries))})")
    return queries[name].sql


@dataclass(frozen=True, slots=True)
class QueryFolder:
    """The `.sql` query files of one folder, addressed by stem (`workers` is `workers.sql`)."""

    folder: Path

    def path(self, file_stem: str) -> Path:
        return self.folder / f"{file_stem}.sql"

    def load(self, file_stem: str) -> dict[str, Query]:
        """Every query of `{folder}/{file_stem}.sql`."""
        return load_file(self.path(file_stem))

    def sql(self, file_stem: str, name: str) -> str:
        """The SQL text of one named query of `{folder}/{file_stem}.sql`."""
        return query_sql(self.path(file_stem), name)
