"""The `.sql` query loader: headers, parameter lists, and every shipped file parses."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.base.sql import QueryFileError, parse_queries, query_sql
from gauntlet.platform.queries import QUERY_DIR, load


def test_parses_name_description_params_and_body() -> None:
    text = "-- name: a\n-- Does a.\n-- params: $1 x, $2 y\nSELECT $1, $2;\n\n-- name: b\n-- B.\nSELECT 1\n"
    queries = parse_queries(text)
    assert queries["a"].description == "Does a." and queries["a"].params == ("$1 x", "$2 y")
    assert queries["a"].sql == "SELECT $1, $2" and queries["b"].sql == "SELECT 1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1", "before the first"),
        ("-- name: a\n-- A.\n", "has no SQL"),
        ("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;", "defined twice"),
    ],
)
def test_malformed_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(QueryFileError, match=message):
        parse_queries(text)


def test_every_shipped_query_file_parses_with_descriptions() -> None:
    files = sorted(p.stem for p in QUERY_DIR.glob("*.sql"))
    assert {"rpc", "auth", "workers", "smoke", "features", "metrics"} <= set(files)
    for stem in files:
        for query in load(stem).values():
            assert query.description, f"{stem}.{query.name} has no description"
            assert query.params, f"{stem}.{query.name} lists no params (write 'params: none')"


def test_a_missing_query_names_the_file_and_the_queries_it_has(tmp_path: Path) -> None:
    path = tmp_path / "some.sql"
    path.write_text("-- name: present\n-- P.\n-- params: none\nSELECT 1;\n", encoding="utf-8")
    assert query_sql(path, "present") == "SELECT 1"
    with pytest.raises(QueryFileError, match=r"some\.sql: no query named 'absent' \(it has present\)"):
        query_sql(path, "absent")
