"""RPC argument handling: a function's signature, matching named JSON args to it, coercion.

Pure logic (no I/O): the catalog query's rows come in, a `BoundCall` (SQL text
and parameter values) or an `ArgumentError` naming the argument comes out. A
wrong name or an uncastable value is therefore a 400 before any SQL runs.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

INTEGER_TYPES = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
FLOAT_TYPES = {"real", "double precision"}
# Built-in text types asyncpg encodes directly; other string-like types (citext, enums) go via text.
TEXT_TYPES = {"text", "character varying", "character", "name"}


class ArgumentError(ValueError):
    """A caller's arguments do not fit the function; the message names the argument."""


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    type: str
    category: str
    element_type: str | None = None
    element_category: str | None = None


@dataclass(frozen=True, slots=True)
class Signature:
    """One overload of a public SQL function, as the RPC surface needs it."""

    function: str
    args: tuple[Arg, ...]
    n_defaults: int
    returns_set: bool
    returns_row: bool
    returns_void: bool
    volatility: str
    returns_json: bool = False  # json or jsonb: the API answers with Postgres's text of it, unparsed

    @property
    def answers_json_text(self) -> bool:
        """json, jsonb or rows: the RPC route answers with Postgres's JSON text of the result."""
        return self.returns_json or self.returns_row

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.args[: len(self.args) - self.n_defaults])

    @property
    def read_only(self) -> bool:
        """STABLE or IMMUTABLE: safe to run on a replica."""
        return self.volatility in ("s", "i")

    @classmethod
    def from_row(cls, function: str, row: Mapping[str, Any]) -> Signature:
        raw_args = row["args"]
        if isinstance(raw_args, str):
            raw_args = json.loads(raw_args)
        args = tuple(
            Arg(a["name"] or "", a["type"], a["category"], a.get("element_type"), a.get("element_category"))
            for a in raw_args
        )
        return cls(
            function,
            args,
            int(row["n_defaults"]),
            bool(row["returns_set"]),
            bool(row["returns_row"]),
            bool(row["returns_void"]),
            str(row["volatility"]),
            bool(row.get("returns_json", False)),
        )


@dataclass(frozen=True, slots=True)
class BoundCall:
    signature: Signature
    source: str  # the call, `public."f"("a" => $1::integer)`: what the SQL selects from
    values: tuple[Any, ...]

    @property
    def sql(self) -> str:
        return f"SELECT * FROM {self.source}"

    @property
    def json_text_sql(self) -> str:
        """The call's result as Postgres's JSON text of it, to pass on without parsing."""
        if self.signature.returns_json:
            return f"SELECT j::text FROM {self.source} AS j"
        return f"SELECT to_json(j)::text FROM {self.source} AS j"


def choose_overload(function: str, overloads: Sequence[Signature], given: Mapping[str, Any]) -> Signature:
    """The one overload whose argument names fit `given`; ArgumentError naming the misfit otherwise."""
    if not overloads:
        raise LookupError(function)
    fitting = [sig for sig in overloads if _fits(sig, given)]
    if len(fitting) == 1:
        return fitting[0]
    if len(fitting) > 1:
        # Several overloads accept these names: take the one with the fewest parameters, the
        # closest fit to what was given (Postgres would call the call ambiguous).
        fitting.sort(key=lambda s: len(s.args))
        return fitting[0]
    best = overloads[0] if len(overloads) == 1 else max(overloads, key=lambda s: len(set(given) & _names(s)))
    unknown = sorted(set(given) - _names(best))
    if unknown:
        expected = ", ".join(a.name for a in best.args) or "no arguments"
        raise ArgumentError(f"{function}: unknown argument {unknown[0]!r} (expected: {expected})")
    missing = [name for name in best.required if name not in given]
    raise ArgumentError(f"{function}: missing required argument {missing[0]!r}")


def _names(sig: Signature) -> set[str]:
    return {a.name for a in sig.args}


def _fits(sig: Signature, given: Mapping[str, Any]) -> bool:
    return set(given) <= _names(sig) and all(name in given for name in sig.required)


def bind(sig: Signature, given: Mapping[str, Any]) -> BoundCall:
    """SQL in named notation with explicit casts, and the coerced values in placeholder order.

    The one SQL text built in Python: its shape depends on which arguments were given. Every
    identifier comes from pg_proc (never from the request) and is quoted anyway.
    """
    parts: list[str] = []
    values: list[Any] = []
    for arg in sig.args:
        if arg.name not in given:
            continue
        value, cast_via_text = coerce(arg, given[arg.name], where=f"{sig.function}.{arg.name}")
        values.append(value)
        placeholder = f"${len(values)}::text::{arg.type}" if cast_via_text else f"${len(values)}::{arg.type}"
        parts.append(f"{quote_ident(arg.name)} => {placeholder}")
    return BoundCall(sig, f"public.{quote_ident(sig.function)}({', '.join(parts)})", tuple(values))


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def coerce(arg: Arg, value: Any, *, where: str) -> tuple[Any, bool]:
    """(value asyncpg can send, whether SQL must cast it from text) for one argument."""
    if value is None:
        return None, False
    kind = arg.type
    try:
        if kind in ("json", "jsonb"):
            return value, False
        if arg.category == "A" and arg.element_type is not None:
            if not isinstance(value, list):
                raise ArgumentError(f"{where}: expected an array of {arg.element_type}, got {_json_type(value)}")
            element = Arg(arg.name, arg.element_type, arg.element_category or "X")
            coerced = [coerce(element, item, where=f"{where}[{i}]") for i, item in enumerate(value)]
            if any(via_text for _, via_text in coerced):
                # Arrays of types we cast from text: send Postgres's array literal syntax.
                return _array_literal([None if v is None else str(v) for v, _ in coerced]), True
            return [v for v, _ in coerced], False
        return _coerce_scalar(kind, arg.category, value, where)
    except ArgumentError:
        raise
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ArgumentError(f"{where}: {_json_type(value)} {_short(value)} is not a valid {kind}") from exc


def _coerce_scalar(kind: str, category: str, value: Any, where: str) -> tuple[Any, bool]:
    if isinstance(value, dict | list) and kind != "vector":
        raise ArgumentError(f"{where}: expected {kind}, got {_json_type(value)}")
    if kind == "boolean":
        if isinstance(value, bool):
            return value, False
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true", False
        raise ArgumentError(f"{where}: expected boolean, got {_json_type(value)} {_short(value)}")
    if kind in INTEGER_TYPES:
        number = _integer(value, kind, where)
        bound = INTEGER_TYPES[kind]
        if not -bound <= number < bound:
            raise ArgumentError(f"{where}: {number} is out of range for {kind}")
        return number, False
    if kind in FLOAT_TYPES or kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ArgumentError(f"{where}: expected a number, got {_json_type(value)}")
        decimal_value = decimal.Decimal(str(value).strip())
        if not decimal_value.is_finite():
            raise ArgumentError(f"{where}: {value!r} is not a finite number")
        return (float(decimal_value), False) if kind in FLOAT_TYPES else (decimal_value, False)
    if kind == "uuid":
        if not isinstance(value, str):
            raise ArgumentError(f"{where}: expected a uuid string, got {_json_type(value)}")
        return uuid.UUID(value), False
    if kind in ("timestamp with time zone", "timestamp without time zone"):
        parsed = dt.datetime.fromisoformat(_require_str(value, kind, where).replace("Z", "+00:00"))
        if kind == "timestamp with time zone" and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed, False
    if kind == "date":
        return dt.date.fromisoformat(_require_str(value, kind, where)), False
    if kind == "vector":
        if not isinstance(value, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in value
        ):
            raise ArgumentError(f"{where}: expected an array of numbers (vector), got {_json_type(value)}")
        if not all(math.isfinite(x) for x in value):
            raise ArgumentError(f"{where}: vector components must be finite")
        return "[" + ",".join(repr(float(x)) for x in value) + "]", True
    if kind in TEXT_TYPES or category in ("S", "E"):
        return _require_str(value, kind, where), kind not in TEXT_TYPES
    # Any other type (interval, inet, domains over them...): let Postgres parse the text form;
    # a bad value is then invalid_text_representation, which maps to 400.
    if isinstance(value, bool):
        return ("true" if value else "false"), True
    return str(value), True


def _integer(value: Any, kind: str, where: str) -> int:
    if isinstance(value, bool):
        raise ArgumentError(f"{where}: expected {kind}, got boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    raise ArgumentError(f"{where}: expected {kind}, got {_json_type(value)} {_short(value)}")


def _require_str(value: Any, kind: str, where: str) -> str:
    if not isinstance(value, str):
        raise ArgumentError(f"{where}: expected {kind} as a string, got {_json_type(value)}")
    if "\x00" in value:
        raise ArgumentError(f"{where}: text must not contain NUL characters")
    return value


def _array_literal(items: list[str | None]) -> str:
    def quote(item: str | None) -> str:
        if item is None:
            return "NULL"
        return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "{" + ",".join(quote(i) for i in items) + "}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
