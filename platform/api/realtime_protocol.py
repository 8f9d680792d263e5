"""Supabase Realtime's wire protocol (Phoenix channels, serializer 1.0.0), pure: parsing and building.

A message both ways is one JSON object per text frame::

    {"topic": "realtime:room", "event": "phx_join", "payload": {...}, "ref": "1", "join_ref": "1"}

Client events: `phx_join` (payload `{"config": {"postgres_changes": [{"event", "schema", "table",
"filter"}], ...}, "access_token": jwt}`), `phx_leave`, `access_token` (`{"access_token": jwt}`) and
`heartbeat` on topic `phoenix`. Server events: `phx_reply` (`{"status": "ok"|"error", "response":
{...}}`, same ref), `postgres_changes` (`{"data": {schema, table, commit_timestamp, type, columns,
errors, record?, old_record?}, "ids": [binding ids]}`, ref null), `system`, `phx_close`.

Filters are Supabase Realtime's: `column=op.value` with op one of eq neq lt lte gt gte in is
(`in.(a,b)`, `is.null|true|false`), optionally `not.`-prefixed, several joined by `,` (AND).
Values compare as numbers when both sides are numbers, as booleans/null for `is`, else as text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

PHOENIX_TOPIC = "phoenix"
TOPIC_PREFIX = "realtime:"
VSN = "1.0.0"

MAX_MESSAGE_BYTES = 64 * 1024  # one client frame
MAX_JOIN_PAYLOAD_BYTES = 16 * 1024  # a phx_join payload, compact JSON (the token included)
MAX_TOPIC_CHARS = 255
MAX_BINDINGS_PER_CHANNEL = 20
MAX_FILTER_CHARS = 1024
MAX_FILTER_CONDITIONS = 8
MAX_IN_VALUES = 100
MAX_REF_CHARS = 64

ChangeType = Literal["INSERT", "UPDATE", "DELETE"]
EVENTS = frozenset({"*", "INSERT", "UPDATE", "DELETE"})
OPERATORS = frozenset({"eq", "neq", "lt", "lte", "gt", "gte", "in", "is"})
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ProtocolError(ValueError):
    """A client message or binding this server refuses; the text is the reply's `reason`."""


@dataclass(frozen=True, slots=True)
class ClientMessage:
    topic: str
    event: str
    payload: dict[str, Any]
    ref: str | None
    join_ref: str | None


def _ref(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ProtocolError("ref must be a string")
    text = str(value)
    if len(text) > MAX_REF_CHARS:
        raise ProtocolError(f"ref is longer than {MAX_REF_CHARS} characters")
    return text


def parse_message(text: str) -> ClientMessage:
    """One client frame; ProtocolError names what is wrong (the caller replies on `phoenix`)."""
    if len(text.encode()) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message is larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("message is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ProtocolError("message must be a JSON object (serializer 1.0.0)")
    topic, event, payload = data.get("topic"), data.get("event"), data.get("payload", {})
    if not isinstance(topic, str) or not topic or len(topic) > MAX_TOPIC_CHARS:
        raise ProtocolError(f"topic must be a string of 1-{MAX_TOPIC_CHARS} characters")
    if not isinstance(event, str) or not event or len(event) > 64:
        raise ProtocolError("event must be a string of 1-64 characters")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ProtocolError("payload must be a JSON object")
    return ClientMessage(topic, event, payload, _ref(data.get("ref")), _ref(data.get("join_ref")))


# --- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    column: str
    op: str
    value: str | tuple[str, ...]
    negate: bool = False

    def matches(self, record: dict[str, Any]) -> bool:
        result = _compare(self.op, record.get(self.column), self.value)
        return not result if self.negate else result


@dataclass(frozen=True, slots=True)
class Filter:
    text: str
    conditions: tuple[Condition, ...]

    @property
    def columns(self) -> frozenset[str]:
        return frozenset(c.column for c in self.conditions)

    def matches(self, record: dict[str, Any]) -> bool:
        return all(c.matches(record) for c in self.conditions)


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_filter(text: str) -> Filter:
    """`user_id=eq.<uuid>`, `id=in.(1,2)`, `read_at=is.null`, `kind=not.eq.x`, joined by `,`."""
    if len(text) > MAX_FILTER_CHARS:
        raise ProtocolError(f"filter is longer than {MAX_FILTER_CHARS} characters")
    parts = _split_top_level(text)
    if len(parts) > MAX_FILTER_CONDITIONS:
        raise ProtocolError(f"filter has more than {MAX_FILTER_CONDITIONS} conditions")
    conditions = []
    for part in parts:
        column, sep, rest = part.partition("=")
        if not sep or not _IDENT.match(column):
            raise ProtocolError(f"invalid filter {part!r}: expected column=operator.value")
        negate = rest.startswith("not.")
        if negate:
            rest = rest[4:]
        op, dot, value = rest.partition(".")
        if not dot or op not in OPERATORS:
            raise ProtocolError(f"invalid filter {part!r}: the operator must be one of {', '.join(sorted(OPERATORS))}")
        parsed: str | tuple[str, ...] = value
        if op == "in":
            if not (value.startswith("(") and value.endswith(")")):
                raise ProtocolError(f"invalid filter {part!r}: in takes a list, in.(a,b)")
            items = [v.strip().strip('"') for v in value[1:-1].split(",")] if value[1:-1].strip() else []
            if len(items) > MAX_IN_VALUES:
                raise ProtocolError(f"invalid filter {part!r}: more than {MAX_IN_VALUES} values")
            parsed = tuple(items)
        elif op == "is" and value.lower() not in {"null", "true", "false", "unknown"}:
            raise ProtocolError(f"invalid filter {part!r}: is takes null, true, false or unknown")
        conditions.append(Condition(column, op, parsed, negate))
    return Filter(text, tuple(conditions))


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _order(actual: object, expected: str) -> int | None:
    """-1/0/1 comparing a record value with a filter value; None when the record value is NULL.

    A JSON number compares numerically (a filter value that is no number never equals it); any
    other value compares as its text (uuids, text, timestamps as Postgres renders them in JSON).
    """
    if actual is None:
        return None
    if isinstance(actual, int | float) and not isinstance(actual, bool):
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            return -1 if _text(actual) < expected else 1
        return (left > right) - (left < right)
    a = _text(actual)
    return (a > expected) - (a < expected)


def _compare(op: str, actual: object, expected: str | tuple[str, ...]) -> bool:
    if op == "is":
        assert isinstance(expected, str)
        wanted = expected.lower()
        if wanted in {"null", "unknown"}:
            return actual is None
        return isinstance(actual, bool) and actual is (wanted == "true")
    if op == "in":
        assert isinstance(expected, tuple)
        return actual is not None and any(_order(actual, item) == 0 for item in expected)
    assert isinstance(expected, str)
    order = _order(actual, expected)
    if order is None:
        return False  # SQL: a comparison with NULL is not true
    return {
        "eq": order == 0,
        "neq": order != 0,
        "lt": order < 0,
        "lte": order <= 0,
        "gt": order > 0,
        "gte": order >= 0,
    }[op]


# --- bindings --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BindingSpec:
    """One entry of a join's `postgres_changes` list, validated (the table is checked later)."""

    event: str
    schema: str
    table: str | None
    filter: Filter | None
    select: tuple[str, ...] | None

    def reply(self, binding_id: int) -> dict[str, Any]:
        """The entry of the join reply: the client compares event/schema/table/filter with its own."""
        entry: dict[str, Any] = {"id": binding_id, "event": self.event, "schema": self.schema, "table": self.table}
        entry["filter"] = self.filter.text if self.filter else None
        if self.select is not None:
            entry["select"] = list(self.select)
        return entry


def parse_bindings(payload: dict[str, Any]) -> tuple[BindingSpec, ...]:
    """The `config.postgres_changes` of a phx_join payload (empty: a channel with no changes)."""
    config = payload.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ProtocolError("config must be a JSON object")
    raw = config.get("postgres_changes", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ProtocolError("config.postgres_changes must be a list")
    if len(raw) > MAX_BINDINGS_PER_CHANNEL:
        raise ProtocolError(f"a channel takes at most {MAX_BINDINGS_PER_CHANNEL} postgres_changes bindings")
    specs = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ProtocolError("each postgres_changes binding must be a JSON object")
        event = entry.get("event", "*")
        if not isinstance(event, str) or event.upper() not in EVENTS:
            raise ProtocolError(f"event must be one of *, INSERT, UPDATE, DELETE (got {event!r})")
        schema = entry.get("schema") or "public"
        table = entry.get("table")
        if table == "*":
            table = None
        if not isinstance(schema, str) or not _IDENT.match(schema):
            raise ProtocolError(f"invalid schema {schema!r}")
        if table is not None and (not isinstance(table, str) or not _IDENT.match(table)):
            raise ProtocolError(f"invalid table {table!r}")
        raw_filter = entry.get("filter")
        if raw_filter is not None and not isinstance(raw_filter, str):
            raise ProtocolError("filter must be a string")
        select = entry.get("select")
        if select is not None and (
            not isinstance(select, list)
            or not select
            or len(select) > 200
            or not all(isinstance(c, str) and _IDENT.match(c) for c in select)
        ):
            raise ProtocolError("select must be a non-empty list of column names")
        specs.append(
            BindingSpec(
                event=event.upper(),
                schema=schema,
                table=table,
                filter=parse_filter(raw_filter) if raw_filter else None,
                select=tuple(select) if select is not None else None,
            )
        )
    return tuple(specs)


# --- server messages -------------------------------------------------------------------------


def encode(topic: str, event: str, payload: dict[str, Any], ref: str | None = None, join_ref: str | None = None) -> str:
    message: dict[str, Any] = {"topic": topic, "event": event, "payload": payload, "ref": ref}
    if join_ref is not None:
        message["join_ref"] = join_ref
    return json.dumps(message, separators=(",", ":"), default=str)


def reply_ok(topic: str, ref: str | None, response: dict[str, Any] | None = None, join_ref: str | None = None) -> str:
    return encode(topic, "phx_reply", {"status": "ok", "response": response or {}}, ref, join_ref)


def reply_error(topic: str, ref: str | None, reason: str, join_ref: str | None = None) -> str:
    return encode(topic, "phx_reply", {"status": "error", "response": {"reason": reason}}, ref, join_ref)


def system(topic: str, status: Literal["ok", "error"], message: str, extension: str = "postgres_changes") -> str:
    channel = topic[len(TOPIC_PREFIX) :] if topic.startswith(TOPIC_PREFIX) else topic
    return encode(topic, "system", {"channel": channel, "extension": extension, "message": message, "status": status})


def change_payload(
    *,
    schema: str,
    table: str,
    change: ChangeType,
    commit_timestamp: str,
    columns: list[dict[str, str]],
    record: dict[str, Any] | None,
    old_record: dict[str, Any] | None,
) -> dict[str, Any]:
    """The `data` of a postgres_changes message (ids are added per channel)."""
    data: dict[str, Any] = {
        "schema": schema,
        "table": table,
        "commit_timestamp": commit_timestamp,
        "type": change,
        "columns": columns,
        "errors": None,
    }
    if record is not None:
        data["record"] = record
    if old_record is not None:
        data["old_record"] = old_record
    return data


def change_message(topic: str, data_json: str, ids: list[int]) -> str:
    """A postgres_changes frame around pre-encoded `data` (encoded once per change and visibility)."""
    return (
        '{"topic":'
        + json.dumps(topic)
        + ',"event":"postgres_changes","payload":{"data":'
        + data_json
        + ',"ids":'
        + json.dumps(ids)
        + '},"ref":null}'
    )
