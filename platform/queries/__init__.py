"""Named SQL queries of the API and workers, kept in `.sql` files next to this module.

The format and the loader are gauntlet.base.sql's; this module names the folder.
"""

from __future__ import annotations

from pathlib import Path

from gauntlet.base.sql import Query, QueryFolder

QUERY_DIR = Path(__file__).parent
_FOLDER = QueryFolder(QUERY_DIR)


def load(file_stem: str) -> dict[str, Query]:
    """The queries of `platform/queries/{file_stem}.sql`, parsed once per process."""
    return _FOLDER.load(file_stem)


def sql(file_stem: str, name: str) -> str:
    """The SQL text of one named query."""
    return _FOLDER.sql(file_stem, name)
