"""Named SQL of the drills (fixtures they arrange, invariants they check), in `.sql` files here.

The format and the loader are gauntlet.base.sql's (the same as the platform's queries):
each query starts with `-- name:`, a one-line description and `-- params:`.
"""

from __future__ import annotations

from pathlib import Path

from gauntlet.base.sql import Query, QueryFolder

SQL_DIR = Path(__file__).parent
_FOLDER = QueryFolder(SQL_DIR)


def load(file_stem: str) -> dict[str, Query]:
    """The queries of `chaos/sql/{file_stem}.sql`, parsed once per process."""
    return _FOLDER.load(file_stem)


def sql(file_stem: str, name: str) -> str:
    """The SQL text of one named query of `chaos/sql/{file_stem}.sql`."""
    return _FOLDER.sql(file_stem, name)
