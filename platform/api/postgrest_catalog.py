"""The relations `/rest/v1/{relation}` may name, read from pg_catalog and cached.

Every identifier the table grammar names (relation, column, foreign key) is looked up
here; the SQL builder quotes what it found, so no identifier text reaches SQL unchecked.
The snapshot is re-read after `CATALOG_TTL_S`, so a migration is picked up without a restart.
Which relation a caller may actually read or write is decided by Postgres (grants, RLS).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from gauntlet.platform.queries import sql

CATALOG_TTL_S = 30.0


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    name: str
    type: str  # format_type(), e.g. "timestamp with time zone", "text[]"
    category: str  # pg_type.typcategory: A array, B boolean, N numeric, S string, U user (json)...
    element_type: str | None = None
    nullable: bool = True
    has_default: bool = False
    generated: bool = False

    @property
    def is_array(self) -> bool:
        return self.category == "A"


@dataclass(frozen=True, slots=True)
class ForeignKey:
    name: str
    target: str
    columns: tuple[str, ...]
    target_columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Relation:
    name: str
    kind: str  # r table, p partitioned table, v view, m materialized view, f foreign table
    columns: Mapping[str, ColumnInfo]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    estimated_rows: int = -1

    @property
    def is_view(self) -> bool:
        return self.kind in ("v", "m")

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Relation:
        columns = _json(row["columns"])
        fks = _json(row["foreign_keys"])
        return cls(
            name=str(row["name"]),
            kind=str(row["kind"]),
            columns={
                c["name"]: ColumnInfo(
                    c["name"],
                    c["type"],
                    c["category"],
                    c.get("element_type"),
                    bool(c["nullable"]),
                    bool(c["has_default"]),
                    bool(c["generated"]),
                )
                for c in columns
            },
            primary_key=tuple(_json(row["primary_key"])),
            foreign_keys=tuple(
                ForeignKey(f["name"], f["target"], tuple(f["columns"] or ()), tuple(f["target_columns"] or ()))
                for f in fks
            ),
            estimated_rows=int(row["estimated_rows"]),
        )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class Catalog:
    """A snapshot of `public`'s relations (cached), and result columns of row-returning functions."""

    def __init__(self, ttl_s: float = CATALOG_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._relations: dict[str, Relation] = {}
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self._function_columns: dict[tuple[str, str], tuple[float, dict[str, ColumnInfo]]] = {}

    async def relations(self, conn: asyncpg.Connection) -> dict[str, Relation]:
        if time.monotonic() < self._expires:
            return self._relations
        async with self._lock:
            if time.monotonic() >= self._expires:
                rows = await conn.fetch(sql("postgrest", "relations"))
                self._relations = {str(r["name"]): Relation.from_row(r) for r in rows}
                self._expires = time.monotonic() + self._ttl_s
        return self._relations

    async def function_columns(self, conn: asyncpg.Connection, function: str, arg_types: str) -> dict[str, ColumnInfo]:
        key = (function, arg_types)
        hit = self._function_columns.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        rows = await conn.fetch(sql("postgrest", "function_columns"), function, arg_types)
        columns = {
            str(r["name"]): ColumnInfo(str(r["name"]), str(r["type"]), str(r["category"]), r["element_type"])
            for r in rows
        }
        if columns:
            self._function_columns[key] = (time.monotonic() + self._ttl_s, columns)
        return columns

    def forget(self) -> None:
        self._expires = 0.0
        self._function_columns.clear()
