"""RPC result shapes (PostgREST's) and JSON conversion of database values."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

from gauntlet.platform.api.rpc_args import Signature
from gauntlet.platform.api.rpc_catalog import is_allowed, shape_result, to_json


def _sig(*, returns_set: bool = False, returns_row: bool = False, returns_void: bool = False) -> Signature:
    return Signature("f", (), 0, returns_set, returns_row, returns_void, "s")


def test_shapes() -> None:
    rows = [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert shape_result(_sig(returns_set=True, returns_row=True), rows) == rows
    assert shape_result(_sig(returns_set=True), [{"f": 1}, {"f": 2}]) == [1, 2]
    assert shape_result(_sig(returns_row=True), rows) == {"a": 1, "b": 2}
    assert shape_result(_sig(), [{"f": True}]) is True
    assert shape_result(_sig(), []) is None
    assert shape_result(_sig(returns_void=True), [{"f": ""}]) is None


def test_to_json_values() -> None:
    when = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    value = {
        "id": uuid.UUID(int=1),
        "n": decimal.Decimal("2"),
        "x": decimal.Decimal("1.5"),
        "t": when,
        "d": dt.timedelta(seconds=3),
        "l": (1, [2]),
    }
    assert to_json(value) == {
        "id": "00000000-0000-0000-0000-000000000001",
        "n": 2,
        "x": 1.5,
        "t": "2025-01-02T00:00:00+00:00",
        "d": 3.0,
        "l": [1, [2]],
    }


def test_allow_list() -> None:
    assert is_allowed("marketplace_suggestions_for_user") and is_allowed("lease_events") and is_allowed("gc_x")
    assert not is_allowed("_require_self_or_trusted") and not is_allowed("pg_sleep")
    assert not is_allowed("upsert_marketplace_gap")
