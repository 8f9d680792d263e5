"""Named SQL of the drills (fixtures they arrange, invariants they check), in `.sql` files here.

Same format and parser as the platform's queries (gauntlet.platform.queries):
each query starts with `-- name:`, a one-line description and `-- params:`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from gauntlet.platform.queries import Query, parse_queries

SQL_DIR = Path(__file__).parent


@cache
def load(file_stem: str) -> dict[str, Query]:
    path = SQL_DIR / f"{file_stem}.sql"
    return parse_queries(path.read_text(encoding="utf-8"), source=str(path))


def sql(file_stem: str, name: str) -> str:
    """The SQL text of one named query of `chaos/sql/{file_stem}.sql`."""
    return load(file_stem)[name].sql
