"""SQL from a parsed PostgREST request (postgrest_grammar) and the catalogue (postgrest_catalog).

Pure logic: statements and their parameter values come out, nothing runs here. Every
identifier in the SQL is a name the catalogue holds (relation, column, foreign key), quoted;
every type name is the catalogue's format_type() or one of the grammar's fixed casts; every
value from the request is a parameter (`$n`). Anything the catalogue does not know is an
`RestError` (4xx with PostgREST's code) before any SQL exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gauntlet.platform.api.postgrest_catalog import ColumnInfo, ForeignKey, Relation
from gauntlet.platform.api.postgrest_grammar import (
    Column,
    Condition,
    Embed,
    Filter,
    Logic,
    OrderTerm,
    Query,
    SelectItem,
    Star,
)
from gauntlet.platform.api.rpc_args import quote_ident

MAX_ROWS = 1000  # PostgREST's db-max-rows as Supabase configures it: a read returns at most this many
MAX_PAIRS_PER_OBJECT = 50  # json_build_object takes at most 100 arguments


class RestError(Exception):
    """A request the catalogue cannot satisfy: status and PostgREST's code."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint


_COMPARE = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_RANGE_OPS = {"cs": "@>", "cd": "<@", "ov": "&&", "sl": "<<", "sr": ">>", "nxl": "&<", "nxr": "&>", "adj": "-|-"}
_FTS = {"fts": "to_tsquery", "plfts": "plainto_tsquery", "phfts": "phraseto_tsquery", "wfts": "websearch_to_tsquery"}
_IS = {"null": "IS NULL", "not_null": "IS NOT NULL", "true": "IS TRUE", "false": "IS FALSE", "unknown": "IS UNKNOWN"}


class Params:
    """Parameter values in placeholder order, numbered from `start`."""

    def __init__(self, start: int = 1) -> None:
        self.start = start
        self.values: list[Any] = []

    def add(self, value: Any, cast: str = "text") -> str:
        self.values.append(value)
        return f"${self.start + len(self.values) - 1}::{cast}"


@dataclass(frozen=True, slots=True)
class Source:
    """What `_t` is: a relation of the catalogue, or a row-returning function's call."""

    label: str  # for messages: the relation or function name
    sql: str  # `public."notifications"` or `public."fn"("p" => $1::integer)`
    columns: Mapping[str, ColumnInfo]
    relation: Relation | None = None


def relation_source(relation: Relation) -> Source:
    return Source(relation.name, f"public.{quote_ident(relation.name)}", relation.columns, relation)


def unknown_column(label: str, name: str) -> RestError:
    return RestError(400, "42703", f"column {label}.{name} does not exist")


def _column(source: Source, name: str) -> ColumnInfo:
    info = source.columns.get(name)
    if info is None:
        raise unknown_column(source.label, name)
    return info


# ---- projection -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Relationship:
    target: Relation
    to_one: bool
    pairs: tuple[tuple[str, str], ...]  # (parent column, target column)


def find_relationship(relations: Mapping[str, Relation], parent: Source, embed: Embed) -> Relationship:
    target = relations.get(embed.relation)
    if target is None or parent.relation is None:
        raise RestError(
            400,
            "PGRST200",
            f"Could not find a relationship between '{parent.label}' and '{embed.relation}' in the schema cache",
            hint="Embed a relation that has a foreign key to or from this one",
        )
    owner = parent.relation
    candidates: list[tuple[ForeignKey, Relationship]] = []
    for fk in owner.foreign_keys:
        if fk.target == target.name:
            candidates.append((fk, Relationship(target, True, tuple(zip(fk.columns, fk.target_columns, strict=True)))))
    for fk in target.foreign_keys:
        if fk.target == owner.name:
            candidates.append((fk, Relationship(target, False, tuple(zip(fk.target_columns, fk.columns, strict=True)))))
    if embed.hint is not None:
        candidates = [(fk, rel) for fk, rel in candidates if embed.hint == fk.name or embed.hint in fk.columns]
    if not candidates:
        raise RestError(
            400,
            "PGRST200",
            f"Could not find a relationship between '{owner.name}' and '{embed.relation}' in the schema cache",
            details=f"hint {embed.hint!r} matched no foreign key" if embed.hint else None,
        )
    if len(candidates) > 1:
        raise RestError(
            300,
            "PGRST201",
            f"Could not embed because more than one relationship was found for '{owner.name}' and '{embed.relation}'",
            details=", ".join(fk.name for fk, _ in candidates),
            hint=f"Try changing '{embed.relation}' to one of: "
            + ", ".join(f"'{embed.relation}!{fk.name}'" for fk, _ in candidates),
        )
    return candidates[0][1]


class Projection:
    """The JSON object of one row: keys are parameters, values catalogue columns and embeds."""

    def __init__(
        self,
        relations: Mapping[str, Relation],
        source: Source,
        items: Sequence[SelectItem],
        params: Params,
        embed_filters: Mapping[str, Sequence[Filter]] | None = None,
        alias: str = "_t",
    ) -> None:
        self.relations = relations
        self.source = source
        self.items = tuple(items)
        self.params = params
        self.embed_filters = dict(embed_filters or {})
        self.alias = alias
        self.inner_conditions: list[str] = []
        self.referenced: set[str] = set()
        self.star = False
        self._embeds = 0

    def sql(self) -> str:
        pairs: list[tuple[str, str]] = []
        used_embeds: set[str] = set()
        for item in self.items:
            if isinstance(item, Star):
                self.star = True
                for name in self.source.columns:
                    pairs.append((self.params.add(name), f"{self.alias}.{quote_ident(name)}"))
            elif isinstance(item, Column):
                _column(self.source, item.name)
                self.referenced.add(item.name)
                value = f"{self.alias}.{quote_ident(item.name)}"
                if item.cast:
                    value = f"({value})::{item.cast}"
                pairs.append((self.params.add(item.key), value))
            else:
                used_embeds.add(item.key)
                pairs.append((self.params.add(item.key), self._embed(item)))
        unknown = set(self.embed_filters) - used_embeds
        if unknown:
            name = sorted(unknown)[0]
            raise RestError(
                400,
                "PGRST108",
                f"'{name}' is not an embedded resource in this request",
                hint=f"Add {name}(...) to select",
            )
        return build_object(pairs)

    def _embed(self, embed: Embed) -> str:
        rel = find_relationship(self.relations, self.source, embed)
        self._embeds += 1
        alias = f"_e{self._embeds}"
        target = relation_source(rel.target)
        join = []
        for parent_col, target_col in rel.pairs:
            self.referenced.add(parent_col)
            join.append(f"{alias}.{quote_ident(target_col)} = {self.alias}.{quote_ident(parent_col)}")
        inner = Projection(self.relations, target, embed.items, self.params, None, alias)
        obj = inner.sql()
        where = list(join)
        for flt in self.embed_filters.get(embed.key, ()):
            where.append(filter_sql(target, flt, self.params, alias))
        condition = " AND ".join(where)
        source = f"{target.sql} AS {alias}"
        if embed.inner:
            self.inner_conditions.append(f"EXISTS (SELECT 1 FROM {source} WHERE {condition})")
        if rel.to_one:
            return f"(SELECT {obj} FROM {source} WHERE {condition} LIMIT 1)"
        return (
            f"coalesce((SELECT json_agg(_x._j) FROM (SELECT {obj} AS _j FROM {source} WHERE {condition}) AS _x),"
            " '[]'::json)"
        )


def build_object(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return "json_build_object()"
    chunks = [pairs[i : i + MAX_PAIRS_PER_OBJECT] for i in range(0, len(pairs), MAX_PAIRS_PER_OBJECT)]
    objects = ["json_build_object(" + ", ".join(f"{k}, {v}" for k, v in chunk) + ")" for chunk in chunks]
    if len(objects) == 1:
        return objects[0]
    return "(" + " || ".join(f"{o}::jsonb" for o in objects) + ")::json"


# ---- filters --------------------------------------------------------------------------------


def filter_sql(source: Source, flt: Filter, params: Params, alias: str = "_t") -> str:
    if isinstance(flt, Logic):
        joiner = " AND " if flt.op == "and" else " OR "
        inner = joiner.join(filter_sql(source, item, params, alias) for item in flt.items)
        return f"NOT ({inner})" if flt.negated else f"({inner})"
    return condition_sql(source, flt, params, alias)


def condition_sql(source: Source, cond: Condition, params: Params, alias: str = "_t") -> str:
    info = _column(source, cond.column)
    expr = f"{alias}.{quote_ident(cond.column)}"
    op = cond.operator
    value = cond.value
    if op == "in":
        assert isinstance(value, tuple)
        if info.is_array:
            raise RestError(400, "PGRST100", f"in. does not apply to the array column {cond.column}; use cs or ov")
        text = f"{expr} = ANY({params.add(list(value), 'text[]')}::{info.type}[])"
    elif op == "is":
        assert isinstance(value, str)
        text = f"{expr} {_IS[value]}"
    else:
        assert isinstance(value, str)
        if op in _COMPARE:
            text = f"{expr} {_COMPARE[op]} {_typed(params, value, info)}"
        elif op == "isdistinct":
            text = f"{expr} IS DISTINCT FROM {_typed(params, value, info)}"
        elif op in ("like", "ilike"):
            keyword = "LIKE" if op == "like" else "ILIKE"
            text = f"{expr}::text {keyword} {params.add(value.replace('*', '%'))}"
        elif op in ("match", "imatch"):
            text = f"{expr}::text {'~' if op == 'match' else '~*'} {params.add(value)}"
        elif op in _RANGE_OPS:
            text = f"{expr} {_RANGE_OPS[op]} {_typed(params, value, info)}"
        else:  # full-text search
            function = _FTS[op]
            config = f"{params.add(cond.modifier, 'regconfig')}, " if cond.modifier else ""
            vector = expr if info.type == "tsvector" else f"to_tsvector({config}{expr}::text)"
            text = f"{vector} @@ {function}({config}{params.add(value)})"
    return f"NOT ({text})" if cond.negated else text


def _typed(params: Params, value: str, info: ColumnInfo) -> str:
    placeholder = params.add(value)
    return placeholder if info.type == "text" else f"{placeholder}::{info.type}"


def where_sql(source: Source, filters: Sequence[Filter], params: Params, extra: Sequence[str] = ()) -> str:
    parts = [filter_sql(source, f, params) for f in filters]
    parts.extend(extra)
    return " WHERE " + " AND ".join(parts) if parts else ""


def order_sql(source: Source, terms: Sequence[OrderTerm], alias: str = "_t") -> str:
    if not terms:
        return ""
    parts = []
    for term in terms:
        _column(source, term.column)
        text = f"{alias}.{quote_ident(term.column)} {'DESC' if term.descending else 'ASC'}"
        if term.nulls:
            text += f" NULLS {term.nulls.upper()}"
        parts.append(text)
    return " ORDER BY " + ", ".join(parts)


# ---- statements -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    values: tuple[Any, ...]


def window(query: Query, range_: tuple[int, int | None] | None) -> tuple[int, int]:
    """(offset, limit) from limit/offset and a Range header, capped at MAX_ROWS."""
    offset = query.offset or 0
    limit = query.limit if query.limit is not None else MAX_ROWS
    if range_ is not None:
        start, end = range_
        offset = max(offset, start)
        if end is not None:
            limit = min(limit, end - offset + 1) if query.limit is not None else end - offset + 1
    return offset, max(0, min(limit, MAX_ROWS))


def read_statement(
    relations: Mapping[str, Relation],
    source: Source,
    query: Query,
    offset: int,
    limit: int,
    *,
    start: int = 1,
    with_total: bool = False,
) -> Statement:
    """`SELECT body::text, n, total`: the JSON array of the page, how many rows it holds, and (with
    `with_total`) how many rows the filters match, counted in the same statement (before LIMIT)."""
    params = Params(start)
    projection = Projection(relations, source, query.select, params, query.embed_filters)
    obj = projection.sql()
    where = where_sql(source, query.filters, params, projection.inner_conditions)
    order = order_sql(source, query.order)
    page = f" LIMIT {params.add(limit, 'bigint')} OFFSET {params.add(offset, 'bigint')}"
    total = ", count(*) OVER () AS _total" if with_total else ""
    text = (
        "SELECT coalesce(json_agg(_r._j), '[]'::json)::text AS body, count(*) AS n, max(_r._total) AS total FROM ("
        f"SELECT {obj} AS _j{total or ', NULL::bigint AS _total'} FROM {source.sql} AS _t{where}{order}{page}) AS _r"
    )
    return Statement(text, tuple(params.values))


def count_statement(
    relations: Mapping[str, Relation], source: Source, query: Query, *, start: int = 1, planned: bool = False
) -> Statement:
    """How many rows the filters (and `!inner` embeds) match: `count(*)`, or the planner's estimate."""
    params = Params(start)
    inner_conditions = _inner_conditions(relations, source, query, params)
    where = where_sql(source, query.filters, params, inner_conditions)
    head = "EXPLAIN (FORMAT JSON) SELECT 1" if planned else "SELECT count(*)"
    return Statement(f"{head} FROM {source.sql} AS _t{where}", tuple(params.values))


def _inner_conditions(relations: Mapping[str, Relation], source: Source, query: Query, params: Params) -> list[str]:
    """The EXISTS conditions of `!inner` embeds, with their parameters in `params`."""
    conditions: list[str] = []
    for n, item in enumerate(query.select, start=1):
        if not isinstance(item, Embed) or not item.inner:
            continue
        rel = find_relationship(relations, source, item)
        alias = f"_c{n}"
        target = relation_source(rel.target)
        where = [f"{alias}.{quote_ident(t)} = _t.{quote_ident(p)}" for p, t in rel.pairs]
        where.extend(filter_sql(target, f, params, alias) for f in query.embed_filters.get(item.key, ()))
        conditions.append(f"EXISTS (SELECT 1 FROM {target.sql} AS {alias} WHERE {' AND '.join(where)})")
    return conditions


Returning = Literal["minimal", "representation", "headers-only"]


def _returning(projection: Projection) -> str:
    if projection.star:
        return " RETURNING _t.*"
    columns = sorted(projection.referenced)
    if not columns:
        return " RETURNING 1 AS _one"
    return " RETURNING " + ", ".join(f"_t.{quote_ident(c)}" for c in columns)


def _wrap(mutation: str, projection_sql: str) -> str:
    return (
        f"WITH _m AS ({mutation}) "
        f"SELECT coalesce(json_agg({projection_sql}), '[]'::json)::text AS body, count(*) AS n FROM _m AS _t"
    )


def payload_columns(relation: Relation, names: Sequence[str]) -> list[str]:
    for name in names:
        if name not in relation.columns:
            raise RestError(
                400, "PGRST204", f"Could not find the '{name}' column of '{relation.name}' in the schema cache"
            )
    return list(dict.fromkeys(names))


def insert_statement(
    relations: Mapping[str, Relation],
    relation: Relation,
    rows: list[dict[str, Any]],
    query: Query,
    returning: Returning,
    resolution: str | None,
) -> Statement:
    names = query.columns or tuple(dict.fromkeys(k for row in rows for k in row))
    columns = payload_columns(relation, names)
    if not columns:
        raise RestError(400, "PGRST102", "Empty or invalid JSON: an insert needs at least one column")
    params = Params(1)
    body = params.add(rows, "json")
    quoted = ", ".join(quote_ident(c) for c in columns)
    selected = ", ".join(f"_b.{quote_ident(c)}" for c in columns)
    text = (
        f"INSERT INTO public.{quote_ident(relation.name)} AS _t ({quoted}) "
        f"SELECT {selected} FROM json_populate_recordset(NULL::public.{quote_ident(relation.name)}, {body}) AS _b"
    )
    if resolution is not None:
        conflict = list(query.on_conflict) or list(relation.primary_key)
        if not conflict:
            raise RestError(400, "PGRST100", f"{relation.name} has no primary key: name the columns with on_conflict")
        for name in conflict:
            _column(relation_source(relation), name)
        target = ", ".join(quote_ident(c) for c in conflict)
        updates = [c for c in columns if c not in conflict]
        if resolution == "merge-duplicates" and updates:
            sets = ", ".join(f"{quote_ident(c)} = EXCLUDED.{quote_ident(c)}" for c in updates)
            text += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
        else:
            text += f" ON CONFLICT ({target}) DO NOTHING"
    return _mutation(relations, relation, text, query, returning, params)


def update_statement(
    relations: Mapping[str, Relation], relation: Relation, patch: dict[str, Any], query: Query, returning: Returning
) -> Statement:
    columns = payload_columns(relation, list(patch))
    source = relation_source(relation)
    params = Params(1)
    body = params.add(patch, "json")
    sets = ", ".join(f"{quote_ident(c)} = _b.{quote_ident(c)}" for c in columns)
    where = where_sql(source, query.filters, params)
    text = (
        f"UPDATE public.{quote_ident(relation.name)} AS _t SET {sets} "
        f"FROM json_populate_record(NULL::public.{quote_ident(relation.name)}, {body}) AS _b{where}"
    )
    return _mutation(relations, relation, text, query, returning, params)


def delete_statement(
    relations: Mapping[str, Relation], relation: Relation, query: Query, returning: Returning
) -> Statement:
    source = relation_source(relation)
    params = Params(1)
    where = where_sql(source, query.filters, params)
    text = f"DELETE FROM public.{quote_ident(relation.name)} AS _t{where}"
    return _mutation(relations, relation, text, query, returning, params)


def _mutation(
    relations: Mapping[str, Relation],
    relation: Relation,
    mutation: str,
    query: Query,
    returning: Returning,
    params: Params,
) -> Statement:
    if returning != "representation":
        return Statement(mutation, tuple(params.values))
    projection = Projection(relations, relation_source(relation), query.select, params, query.embed_filters)
    obj = projection.sql()
    return Statement(_wrap(mutation + _returning(projection), obj), tuple(params.values))
