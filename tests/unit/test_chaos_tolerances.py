"""chaostoolkit's tolerances as Gauntlet judges them: each accepts what it should, and refuses the rest."""

from __future__ import annotations

import pytest

from gauntlet.chaos.experiment import JsonValue
from gauntlet.chaos.tolerances import parse_jsonpath, select, tolerance_from_spec

HTTP_OK: JsonValue = {"status": 200, "headers": {}, "body": {"status": "ok", "items": [{"id": 1}, {"id": 2}]}}
HTTP_DOWN: JsonValue = {"status": 503, "headers": {}, "body": {"status": "degraded", "items": []}}


@pytest.mark.parametrize(
    ("spec", "good", "bad"),
    [
        (True, True, False),
        ("ok", "ok", "degraded"),
        (0, 0, 1),
        ([0, 1], 1, 2),
        ({"type": "range", "range": [0, 0.01]}, 0.005, 0.02),
        ({"type": "range", "range": [0, 0.01]}, 0, "0"),  # a string is not a number in range
        ({"type": "regex", "pattern": "^o[k]$"}, "ok", "not ok"),
        ({"type": "jsonpath", "path": "$.status", "expect": "ok"}, {"status": "ok"}, {"status": "no"}),
        ({"type": "jsonpath", "path": "$.items[*].id", "count": 2}, {"items": [{"id": 1}, {"id": 2}]}, {"items": []}),
        ({"type": "jsonpath", "path": "$.status", "expect": "ok", "target": "body"}, HTTP_OK, HTTP_DOWN),
        ({"type": "range", "range": [200, 299], "target": "status"}, HTTP_OK, HTTP_DOWN),
    ],
)
def test_a_tolerance_accepts_and_refuses(spec: JsonValue, good: JsonValue, bad: JsonValue) -> None:
    tolerance = tolerance_from_spec(spec)
    assert tolerance.accepts(good)
    assert not tolerance.accepts(bad)
    assert tolerance.spec == spec


def test_a_status_tolerance_for_http_and_process_providers() -> None:
    assert tolerance_from_spec(200, status_of_dict=True).accepts(HTTP_OK)
    assert not tolerance_from_spec(200, status_of_dict=True).accepts(HTTP_DOWN)
    assert tolerance_from_spec([200, 204], status_of_dict=True).accepts(HTTP_OK)
    assert not tolerance_from_spec([200, 204], status_of_dict=True).accepts(HTTP_DOWN)
    assert not tolerance_from_spec(200).accepts(HTTP_OK)  # a python probe's value is judged as it is


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (None, "null judges nothing"),
        ([], "an empty list accepts nothing"),
        ({"type": "range", "range": [2, 1]}, "low <= high"),
        ({"type": "regex", "pattern": "("}, "is not a regular expression"),
        ({"type": "jsonpath", "path": "status"}, "must start with '$'"),
        ({"type": "jsonpath", "path": "$..status"}, "goes beyond what Gauntlet reads"),
        ({"type": "probe", "name": "x"}, "probe tolerances are not supported"),
        ({"type": "between"}, "unknown tolerance type 'between'"),
        ({"type": "range", "range": [0, 1], "target": 3}, "target must be the name of a key"),
    ],
)
def test_a_bad_tolerance_says_what_to_write(spec: JsonValue, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("$", r"\$")):
        tolerance_from_spec(spec)


def test_jsonpath_steps() -> None:
    steps = parse_jsonpath("$.a['b c'][1][*].d")
    assert steps == ["a", "b c", 1, None, "d"]
    assert select({"a": {"b c": [0, [{"d": 1}, {"d": 2}]]}}, steps) == [1, 2]
