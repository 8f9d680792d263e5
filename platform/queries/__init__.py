"""Named SQL queries of the API and workers, kept in `.sql` files next to this module.

Each query in a file starts with a header::

    -- name: lease_discovery_items
    -- Lease up to $1 queued discovery items for $2 seconds.
    -- params: $1 limit, $2 ttl_seconds
    SELECT ...;

The loader parses a file once into a dict; callers use queries by name, so no
SQL lives in Python strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

QUERY_DIR = Path(__file__).parent
_NAME = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\s*$")
_PARAMS = re.compile(r"^--\s*params:\s*(?P<params>.*)$")


class QueryFileError(ValueError):
    """A `.sql` query file is malformed (missing header, duplicate name, empty body)."""


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
def load(file_stem: str) -> dict[str, Query]:
    """The queries of `platform/queries/{file_stem}.sql`, parsed once per process."""
    path = QUERY_DIR / f"{file_stem}.sql"
    return parse_queries(path.read_text(encoding="utf-8"), source=str(path))


def sql(file_stem: str, name: str) -> str:
    """The SQL text of one named query."""
    return load(file_stem)[name].sql
