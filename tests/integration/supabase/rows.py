"""The official client's results as rows a test can index.

`postgrest` types a response's `data` as any JSON value (`None | bool | str | ... | Mapping`), so
`res.data[0]["id"]` does not type-check. These narrow it once, at the edge, and fail the test
naming what came back when it is not the shape the test expects.
"""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


def row(data: object) -> Row:
    """One JSON object (a row, or an RPC's object result)."""
    assert isinstance(data, dict), f"expected a JSON object, got {data!r}"
    return data


def rows(data: object) -> list[Row]:
    """A list of JSON objects (a table read, or a set-returning RPC)."""
    assert isinstance(data, list), f"expected a list of rows, got {data!r}"
    return [row(item) for item in data]
