"""RPC argument matching and coercion: pure logic, every wrong input named in the error."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import pytest

from gauntlet.platform.api.rpc_args import Arg, ArgumentError, Signature, bind, choose_overload, coerce

UPSERT = Signature(
    function="user_interests_upsert",
    args=(Arg("p_interest_id", "uuid", "U"), Arg("p_affinity", "double precision", "N"), Arg("p_source", "text", "S")),
    n_defaults=2,
    returns_set=True,
    returns_row=True,
    returns_void=False,
    volatility="v",
)


def test_bind_uses_named_notation_with_casts_and_skips_defaults() -> None:
    call = bind(UPSERT, {"p_interest_id": "11111111-1111-1111-1111-111111111111", "p_affinity": 1})
    assert (
        call.sql == 'SELECT * FROM public."user_interests_upsert"("p_interest_id" => $1::uuid, '
        '"p_affinity" => $2::double precision)'
    )
    assert call.values == (uuid.UUID("11111111-1111-1111-1111-111111111111"), 1.0)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"p_interest": "x"}, "unknown argument 'p_interest'"),
        ({"p_affinity": 0.5}, "missing required argument 'p_interest_id'"),
    ],
)
def test_names_that_do_not_fit_are_named(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        choose_overload("user_interests_upsert", [UPSERT], given)


def test_overloads_choose_the_one_the_names_fit() -> None:
    one = Signature("f", (Arg("p_a", "integer", "N"),), 0, False, False, False, "s")
    two = Signature("f", (Arg("p_a", "integer", "N"), Arg("p_b", "text", "S")), 0, False, False, False, "s")
    assert choose_overload("f", [one, two], {"p_a": 1, "p_b": "x"}) is two
    assert choose_overload("f", [one, two], {"p_a": 1}) is one
    with pytest.raises(LookupError):
        choose_overload("f", [], {})


@pytest.mark.parametrize(
    ("arg", "value", "expected"),
    [
        (Arg("p", "integer", "N"), 5, 5),
        (Arg("p", "integer", "N"), 5.0, 5),
        (Arg("p", "bigint", "N"), " 12 ", 12),
        (Arg("p", "double precision", "N"), "0.25", 0.25),
        (Arg("p", "numeric", "N"), 1.5, decimal.Decimal("1.5")),
        (Arg("p", "boolean", "B"), "true", True),
        (Arg("p", "uuid", "U"), "00000000-0000-0000-0000-000000000001", uuid.UUID(int=1)),
        (Arg("p", "jsonb", "U"), {"a": [1]}, {"a": [1]}),
        (Arg("p", "text", "S"), "hi", "hi"),
        (Arg("p", "date", "D"), "2025-01-02", dt.date(2025, 1, 2)),
        (
            Arg("p", "timestamp with time zone", "D"),
            "2025-01-02T03:04:05Z",
            dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        ),
        (Arg("p", "uuid[]", "A", "uuid", "U"), ["00000000-0000-0000-0000-000000000002"], [uuid.UUID(int=2)]),
        (Arg("p", "text", "S"), None, None),
    ],
)
def test_values_are_coerced_for_asyncpg(arg: Arg, value: Any, expected: Any) -> None:
    coerced, via_text = coerce(arg, value, where="f.p")
    assert coerced == expected and via_text is False


@pytest.mark.parametrize(
    ("arg", "value", "message"),
    [
        (Arg("p_limit", "integer", "N"), "many", "f.p_limit: expected integer"),
        (Arg("p_limit", "integer", "N"), True, "got boolean"),
        (Arg("p_limit", "integer", "N"), 1.5, "expected integer"),
        (Arg("p_limit", "smallint", "N"), 40000, "out of range for smallint"),
        (Arg("p_limit", "integer", "N"), 2**31, "out of range"),
        (Arg("p_a", "double precision", "N"), "abc", "not a valid double precision"),
        (Arg("p_a", "double precision", "N"), [1], "expected double precision, got array"),
        (Arg("p_a", "double precision", "N"), "NaN", "not a finite number"),
        (Arg("p_id", "uuid", "U"), "nope", "not a valid uuid"),
        (Arg("p_id", "uuid", "U"), 7, "expected a uuid string"),
        (Arg("p_q", "text", "S"), {"a": 1}, "expected text, got object"),
        (Arg("p_q", "text", "S"), 3, "expected text as a string"),
        (Arg("p_q", "text", "S"), "a\x00b", "NUL"),
        (Arg("p_ids", "uuid[]", "A", "uuid", "U"), "x", "expected an array of uuid"),
        (Arg("p_ids", "uuid[]", "A", "uuid", "U"), ["bad"], r"f.p_ids\[0\]"),
        (Arg("p_v", "vector", "U"), ["a"], "array of numbers"),
        (Arg("p_b", "boolean", "B"), 1, "expected boolean"),
        (Arg("p_t", "timestamp with time zone", "D"), "yesterday", "not a valid timestamp"),
    ],
)
def test_uncastable_values_name_the_argument(arg: Arg, value: Any, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        coerce(arg, value, where=f"f.{arg.name}")


def test_unknown_types_are_cast_from_text_by_postgres() -> None:
    assert coerce(Arg("p", "interval", "T"), "5 minutes", where="f.p") == ("5 minutes", True)
    assert coerce(Arg("p", "vector", "U"), [1, 2.5], where="f.p") == ("[1.0,2.5]", True)
    assert coerce(Arg("p", "citext", "S"), "Ab", where="f.p") == ("Ab", True)
    assert coerce(Arg("p", "interval[]", "A", "interval", "T"), ["1 s", None], where="f.p") == ('{"1 s",NULL}', True)
    sig = Signature("f", (Arg("p_i", "interval", "T"),), 0, False, False, False, "v")
    assert bind(sig, {"p_i": "1 day"}).sql == 'SELECT * FROM public."f"("p_i" => $1::text::interval)'


def test_read_only_and_required() -> None:
    assert UPSERT.required == ("p_interest_id",) and not UPSERT.read_only
    row = {
        "n_defaults": 0,
        "returns_set": True,
        "returns_row": False,
        "returns_void": False,
        "volatility": "s",
        "args": '[{"name": "p_q", "type": "text", "category": "S"}]',
    }
    sig = Signature.from_row("search", row)
    assert sig.read_only and sig.args == (Arg("p_q", "text", "S"),)
