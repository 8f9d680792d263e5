"""PostgREST's URL grammar -> a small AST (pure logic: no I/O, no SQL).

What `/rest/v1/{relation}` and the RPC modifiers accept, as PostgREST spells it:

- `select=alias:column::cast,*,alias:relation!hint!inner(column,...)`: columns, aliases,
  casts, one level of embedding along a foreign key;
- filters `column=[not.]operator.value` with the operators of `OPERATORS`, `in.(a,"b,c")`,
  `is.null|not_null|true|false|unknown`, full-text `fts(config).query`;
- `or=(a.eq.1,and(b.gt.2,c.is.null))`, `and=(...)`, `not.or=(...)`, nested to `MAX_DEPTH`;
- `relation.column=...` filters an embedded relation;
- `order=column.desc.nullslast,other`, `limit`, `offset`, `on_conflict`, `columns`.

Every problem is a `GrammarError` (PostgREST's PGRST100, a 400) naming the offending part.
Names are only *parsed* here; the SQL builder resolves each against pg_catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

MAX_NAME = 63  # NAMEDATALEN - 1
MAX_DEPTH = 8  # nesting of or/and groups
MAX_LIST = 1000  # items of an in.(...) list, a select list, conditions of one request
MAX_VALUE = 100_000  # characters of one filter value

# PostgREST operator -> what the SQL builder emits (the builder owns the SQL; this is the closed set).
OPERATORS: frozenset[str] = frozenset(
    {
        "eq",
        "neq",
        "gt",
        "gte",
        "lt",
        "lte",
        "like",
        "ilike",
        "match",
        "imatch",
        "in",
        "is",
        "isdistinct",
        "cs",
        "cd",
        "ov",
        "sl",
        "sr",
        "nxl",
        "nxr",
        "adj",
        "fts",
        "plfts",
        "phfts",
        "wfts",
    }
)
FTS_OPERATORS: frozenset[str] = frozenset({"fts", "plfts", "phfts", "wfts"})
IS_VALUES: frozenset[str] = frozenset({"null", "not_null", "true", "false", "unknown"})
# Casts a select item may ask for: the input spelling -> the canonical SQL type name.
CASTS: dict[str, str] = {
    "text": "text",
    "varchar": "character varying",
    "int": "integer",
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "integer": "integer",
    "bigint": "bigint",
    "smallint": "smallint",
    "numeric": "numeric",
    "float": "double precision",
    "float4": "real",
    "float8": "double precision",
    "real": "real",
    "double": "double precision",
    "bool": "boolean",
    "boolean": "boolean",
    "json": "json",
    "jsonb": "jsonb",
    "date": "date",
    "time": "time without time zone",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "uuid": "uuid",
}
RESERVED: frozenset[str] = frozenset({"select", "order", "limit", "offset", "on_conflict", "columns", "and", "or"})


class GrammarError(ValueError):
    """The request does not parse; PostgREST answers these with 400 PGRST100."""

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass(frozen=True, slots=True)
class Column:
    """`alias:name::cast` in a select list."""

    name: str
    alias: str | None = None
    cast: str | None = None  # canonical SQL type name from CASTS

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True, slots=True)
class Star:
    """`*`: every column of the relation."""


@dataclass(frozen=True, slots=True)
class Embed:
    """`alias:relation!hint!inner(items)`: rows of a relation joined along one foreign key."""

    relation: str
    items: tuple[SelectItem, ...]
    alias: str | None = None
    hint: str | None = None
    inner: bool = False

    @property
    def key(self) -> str:
        return self.alias or self.relation


SelectItem = Column | Star | Embed


@dataclass(frozen=True, slots=True)
class Condition:
    """`column=[not.]operator[(modifier)].value`; `value` is a string, or a tuple for `in`."""

    column: str
    operator: str
    value: str | tuple[str, ...]
    negated: bool = False
    modifier: str | None = None  # the text-search config of fts(config)


@dataclass(frozen=True, slots=True)
class Logic:
    """`or=(...)` / `and=(...)`, possibly negated, holding conditions and further groups."""

    op: Literal["and", "or"]
    items: tuple[Filter, ...]
    negated: bool = False


Filter = Condition | Logic


@dataclass(frozen=True, slots=True)
class OrderTerm:
    column: str
    descending: bool = False
    nulls: Literal["first", "last"] | None = None


@dataclass
class Query:
    """Everything a request's query string says, parsed."""

    select: tuple[SelectItem, ...] = (Star(),)
    filters: list[Filter] = field(default_factory=list)
    embed_filters: dict[str, list[Filter]] = field(default_factory=dict)  # by embed key
    order: tuple[OrderTerm, ...] = ()
    limit: int | None = None
    offset: int | None = None
    on_conflict: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    select_given: bool = False

    @property
    def has_modifiers(self) -> bool:
        return bool(
            self.select_given
            or self.filters
            or self.embed_filters
            or self.order
            or self.limit is not None
            or self.offset is not None
        )


def parse_query(params: Iterable[tuple[str, str]], *, skip: Sequence[str] = ()) -> Query:
    """A request's query parameters -> Query. `skip` names parameters that are not the grammar's
    (an RPC's GET arguments)."""
    query = Query()
    conditions = 0
    for key, value in params:
        if key in skip:
            continue
        if key == "select":
            query.select = parse_select(value)
            query.select_given = True
        elif key == "order":
            query.order = parse_order(value)
        elif key == "limit":
            query.limit = _non_negative(key, value)
        elif key == "offset":
            query.offset = _non_negative(key, value)
        elif key == "on_conflict":
            query.on_conflict = tuple(_name(part.strip(), "on_conflict") for part in _split_names(value))
        elif key == "columns":
            query.columns = tuple(_name(part.strip(), "columns") for part in _split_names(value))
        else:
            target, parsed = parse_filter_param(key, value)
            conditions += 1
            if conditions > MAX_LIST:
                raise GrammarError(f"too many filters (at most {MAX_LIST})")
            if target is None:
                query.filters.append(parsed)
            else:
                query.embed_filters.setdefault(target, []).append(parsed)
    return query


def _non_negative(key: str, raw: str) -> int:
    text = raw.strip()
    if not text.isdigit() or len(text) > 12:
        raise GrammarError(f"'{key}' must be a non-negative integer", f"got {_short(raw)}")
    return int(text)


def _name(raw: str, where: str) -> str:
    """An identifier as written (optionally double-quoted); resolved against the catalogue later."""
    name = raw
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        name = name[1:-1].replace('""', '"')
    if not name:
        raise GrammarError(f"empty name in {where}")
    if len(name) > MAX_NAME:
        raise GrammarError(f"name too long in {where} (at most {MAX_NAME} characters)", _short(name))
    if any(ord(c) < 32 for c in name) or "\x00" in name:
        raise GrammarError(f"control characters in a name in {where}")
    return name


def _split_names(raw: str) -> list[str]:
    parts = split_top(raw, ",")
    if len(parts) > MAX_LIST:
        raise GrammarError(f"too many names (at most {MAX_LIST})")
    return parts


def split_top(text: str, sep: str) -> list[str]:
    """Split at `sep` outside parentheses and double quotes (backslash escapes inside quotes)."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    while i < len(text):
        c = text[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise GrammarError("unbalanced parentheses", _short(text))
        elif c == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if quoted:
        raise GrammarError("unterminated double quote", _short(text))
    if depth != 0:
        raise GrammarError("unbalanced parentheses", _short(text))
    parts.append(text[start:])
    return parts


# ---- select ---------------------------------------------------------------------------------


def parse_select(raw: str, *, depth: int = 0) -> tuple[SelectItem, ...]:
    text = raw.strip()
    if not text:
        return (Star(),)
    items: list[SelectItem] = []
    parts = split_top(text, ",")
    if len(parts) > MAX_LIST:
        raise GrammarError(f"too many select items (at most {MAX_LIST})")
    for part in parts:
        item = part.strip()
        if not item:
            raise GrammarError("empty item in select", _short(raw))
        items.append(_select_item(item, depth))
    return tuple(items)


def _select_item(item: str, depth: int) -> SelectItem:
    if item == "*":
        return Star()
    if item.startswith("..."):
        raise GrammarError("spread embeddings (...relation) are not supported", _short(item))
    alias: str | None = None
    head, paren, rest = _partition_outside_quotes(item, "(")
    label, colon, body = _partition_outside_quotes(head, ":")
    if colon and not body.startswith(":"):
        alias, head_body = _name(label.strip(), "select alias"), body
    else:
        head_body = head
    if paren:
        if depth >= 1:
            raise GrammarError("only one level of embedding is supported", _short(item))
        if not rest.endswith(")"):
            raise GrammarError("an embedding must end with ')'", _short(item))
        inside = rest[:-1]
        names = head_body.split("!")
        relation = _name(names[0].strip(), "select")
        hint: str | None = None
        inner = False
        for extra in names[1:]:
            flag = extra.strip()
            if flag == "inner":
                inner = True
            elif flag == "left":
                inner = False
            elif hint is None:
                hint = _name(flag, "embedding hint")
            else:
                raise GrammarError("an embedding takes one hint", _short(item))
        return Embed(relation, parse_select(inside, depth=depth + 1), alias, hint, inner)
    name, cast_sep, cast = head_body.partition("::")
    if "->" in name:
        raise GrammarError("JSON paths (->, ->>) are not supported in select", _short(item))
    if cast_sep:
        canonical = CASTS.get(cast.strip().lower())
        if canonical is None:
            raise GrammarError(
                f"cast to {_short(cast)} is not supported", f"supported casts: {', '.join(sorted(CASTS))}"
            )
        return Column(_name(name.strip(), "select"), alias, canonical)
    if name.strip() == "*":
        raise GrammarError("'*' cannot have an alias", _short(item))
    return Column(_name(name.strip(), "select"), alias)


def _partition_outside_quotes(text: str, sep: str) -> tuple[str, str, str]:
    quoted = False
    for i, c in enumerate(text):
        if c == '"':
            quoted = not quoted
        elif c == sep and not quoted:
            return text[:i], sep, text[i + 1 :]
    return text, "", ""


# ---- order ----------------------------------------------------------------------------------


def parse_order(raw: str) -> tuple[OrderTerm, ...]:
    terms: list[OrderTerm] = []
    for part in _split_names(raw):
        pieces = part.strip().split(".")
        if not pieces[0]:
            raise GrammarError("empty column in order", _short(raw))
        if "(" in pieces[0]:
            raise GrammarError("ordering by an embedded relation is not supported", _short(part))
        column = _name(pieces[0], "order")
        descending = False
        nulls: Literal["first", "last"] | None = None
        for flag in pieces[1:]:
            if flag == "asc":
                descending = False
            elif flag == "desc":
                descending = True
            elif flag == "nullsfirst":
                nulls = "first"
            elif flag == "nullslast":
                nulls = "last"
            else:
                raise GrammarError(f"unknown order modifier {_short(flag)}", "use asc, desc, nullsfirst, nullslast")
        terms.append(OrderTerm(column, descending, nulls))
    return tuple(terms)


# ---- filters --------------------------------------------------------------------------------


def parse_filter_param(key: str, value: str) -> tuple[str | None, Filter]:
    """One filter parameter -> (embed key or None, Filter)."""
    negated = False
    name = key
    if name.startswith("not."):
        negated, name = True, name[4:]
    if name in ("or", "and"):
        return None, _logic(name, value, negated, depth=0)
    if negated:
        raise GrammarError(f"'not.' prefixes only or/and parameters, got {_short(key)}")
    target: str | None = None
    if "." in name and not name.startswith('"'):
        target, _, name = name.partition(".")
        if name in ("or", "and"):
            return _name(target, "filter"), _logic(name, value, False, depth=0)
        target = _name(target, "filter")
    return target, parse_condition(_name(name, "filter"), value)


def parse_condition(column: str, expression: str) -> Condition:
    """`[not.]operator[(modifier)].value` for `column`."""
    negated = False
    rest = expression
    if rest.startswith("not."):
        negated, rest = True, rest[4:]
    operator, dot, value = rest.partition(".")
    if not dot:
        raise GrammarError(f"filter {_short(column)}={_short(expression)} has no operator", "expected operator.value")
    modifier: str | None = None
    if "(" in operator:
        base, _, mod = operator.partition("(")
        if not mod.endswith(")") or base not in FTS_OPERATORS:
            raise GrammarError(f"unknown operator {_short(operator)}", f"operators: {', '.join(sorted(OPERATORS))}")
        operator, modifier = base, _name(mod[:-1], "text search configuration")
    if operator not in OPERATORS:
        raise GrammarError(f"unknown operator {_short(operator)}", f"operators: {', '.join(sorted(OPERATORS))}")
    if len(value) > MAX_VALUE:
        raise GrammarError(f"filter value too long (at most {MAX_VALUE} characters)")
    if "\x00" in value:
        raise GrammarError("filter values must not contain NUL characters")
    if operator == "in":
        return Condition(column, operator, parse_list(value), negated)
    if operator == "is":
        if value.lower() not in IS_VALUES:
            raise GrammarError(f"is. takes null, not_null, true, false or unknown, got {_short(value)}")
        return Condition(column, operator, value.lower(), negated)
    return Condition(column, operator, value, negated, modifier)


def parse_list(raw: str) -> tuple[str, ...]:
    """`(a,"b,c",d)` -> ('a', 'b,c', 'd')."""
    text = raw.strip()
    if not (text.startswith("(") and text.endswith(")")):
        raise GrammarError("in. takes a parenthesised list: in.(a,b,c)", _short(raw))
    inner = text[1:-1]
    if not inner.strip():
        return ()
    items = [_unquote(part.strip()) for part in split_top(inner, ",")]
    if len(items) > MAX_LIST:
        raise GrammarError(f"too many values in in.(...) (at most {MAX_LIST})")
    return tuple(items)


def _unquote(item: str) -> str:
    if len(item) >= 2 and item[0] == '"' and item[-1] == '"':
        out: list[str] = []
        i = 1
        while i < len(item) - 1:
            c = item[i]
            if c == "\\" and i + 1 < len(item) - 1:
                i += 1
                c = item[i]
            out.append(c)
            i += 1
        return "".join(out)
    return item


def _logic(op: str, raw: str, negated: bool, depth: int) -> Logic:
    if depth >= MAX_DEPTH:
        raise GrammarError(f"or/and groups nest deeper than {MAX_DEPTH} levels")
    text = raw.strip()
    if not (text.startswith("(") and text.endswith(")")):
        raise GrammarError(f"{op}= takes a parenthesised list: {op}=(a.eq.1,b.gt.2)", _short(raw))
    inner = text[1:-1]
    if not inner.strip():
        raise GrammarError(f"empty {op}=() group")
    items: list[Filter] = []
    for part in split_top(inner, ","):
        items.append(_logic_item(part.strip(), depth))
    if len(items) > MAX_LIST:
        raise GrammarError(f"too many conditions in one group (at most {MAX_LIST})")
    kind: Literal["and", "or"] = "and" if op == "and" else "or"
    return Logic(kind, tuple(items), negated)


def _logic_item(item: str, depth: int) -> Filter:
    negated = False
    rest = item
    if rest.startswith("not.") and (rest[4:].startswith("or(") or rest[4:].startswith("and(")):
        negated, rest = True, rest[4:]
    for op in ("or", "and"):
        if rest.startswith(op + "("):
            return _logic(op, rest[len(op) :], negated, depth + 1)
    column, dot, expression = _partition_outside_quotes(item, ".")
    if not dot or not column:
        raise GrammarError(f"bad condition {_short(item)} in a logic group", "expected column.operator.value")
    value_expression = expression
    condition = parse_condition(_name(column, "filter"), value_expression)
    if isinstance(condition.value, str):
        condition = Condition(
            condition.column, condition.operator, _unquote(condition.value), condition.negated, condition.modifier
        )
    return condition


def _short(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- request headers ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prefer:
    count: Literal["exact", "planned", "estimated"] | None = None
    returning: Literal["minimal", "representation", "headers-only"] = "minimal"
    resolution: Literal["merge-duplicates", "ignore-duplicates"] | None = None
    missing_default: bool = False


def parse_prefer(values: Iterable[str]) -> Prefer:
    """`Prefer: return=representation, count=exact, resolution=merge-duplicates, missing=default`.

    Unknown preferences are ignored, as PostgREST does by default (lenient handling)."""
    count: Literal["exact", "planned", "estimated"] | None = None
    returning: Literal["minimal", "representation", "headers-only"] = "minimal"
    resolution: Literal["merge-duplicates", "ignore-duplicates"] | None = None
    missing_default = False
    for header in values:
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            key, value = key.strip(), value.strip()
            if key == "count" and value in ("exact", "planned", "estimated"):
                count = value  # type: ignore[assignment]
            elif key == "return" and value in ("minimal", "representation", "headers-only"):
                returning = value  # type: ignore[assignment]
            elif key == "resolution" and value in ("merge-duplicates", "ignore-duplicates"):
                resolution = value  # type: ignore[assignment]
            elif key == "missing":
                missing_default = value == "default"
    return Prefer(count, returning, resolution, missing_default)


def parse_range(header: str | None) -> tuple[int, int | None] | None:
    """`Range: 0-24` -> (0, 24); `10-` -> (10, None); anything else is ignored (None)."""
    if not header:
        return None
    text = header.strip()
    if text.startswith("items="):
        text = text[len("items=") :]
    lo, dash, hi = text.partition("-")
    if not dash or not lo.strip().isdigit() or len(lo) > 12:
        return None
    start = int(lo)
    if not hi.strip():
        return start, None
    if not hi.strip().isdigit() or len(hi) > 12 or int(hi) < start:
        return None
    return start, int(hi)
