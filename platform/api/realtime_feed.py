"""The change feed of `/realtime/v1/websocket`: one LISTEN connection per API process, fanned out in-process.

Migration 810 makes every published table's row trigger `pg_notify('realtime_changes', ...)` with
the row's keys and operation (never the row). This module holds one asyncpg connection listening
on that channel (while anyone is subscribed) and, for each change, finds the channel bindings that
ask for it (schema, table, event, filter) and decides who may see it:

- INSERT / UPDATE: the row is re-read on the primary *as each subscriber* (its role and
  `request.jwt.claims`, so RLS and grants decide, exactly as a SELECT of its own would). One read
  per change per distinct caller identity (role, sub, email, session: a user's ten tabs cost one
  read); a binding whose filter only names the row's keys or
  owner column (`user_id=eq.<uuid>`) is decided from the notification alone, without a read. The
  reads are batched: `realtime.visible_rows` (migration 810) switches role and claims per caller
  inside one statement, `READ_BATCH` callers a query. A row the subscriber cannot select is not
  sent to it. The row is read when the change is fanned out (milliseconds after the commit), so a
  row deleted meanwhile is not sent for its INSERT/UPDATE, and a record may already show a later
  update of the same row.
- DELETE: the row is gone and cannot be re-read, so the rule is declared by the publication: a
  table with an owner column sends the deleted keys to service_role and to the owner (its `sub`
  equals the old row's owner column); a table without one (rows public to its readers, e.g.
  feature_flags) sends them to every role with SELECT on it. `old_record` holds the primary key
  only (as Supabase with the default replica identity); a DELETE filter can only name the key or
  owner columns (any other column: not matched).

Changes committed while the listener is down (a drill cut the proxy) are not replayed, as in
Supabase Realtime; the listener reconnects every second, and on each (re)connect every joined
channel gets a `system` "Subscribed to PostgreSQL" message (`announce`), so clients can re-read
what they hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from gauntlet.platform.api.realtime_protocol import (
    BindingSpec,
    ChangeType,
    change_message,
    change_payload,
    system,
)
from gauntlet.platform.auth.tokens import Claims
from gauntlet.platform.db import UNAVAILABLE, Database
from gauntlet.platform.queries import sql

log = logging.getLogger("gauntlet.platform.api.realtime")

CHANNEL = "realtime_changes"
QUEUE_MAX = 10_000  # changes waiting to be fanned out; past it new ones are dropped (and counted)
READ_CONCURRENCY = 4  # visibility queries at once (the API's pool is shared)
READ_BATCH = 50  # callers per visibility query (810's realtime.visible_rows)
CATALOG_TTL_S = 30.0
RECONNECT_S = 1.0


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class PublishedTable:
    schema: str
    table: str
    pk: tuple[str, ...]
    owner: str | None
    columns: tuple[dict[str, str], ...]
    readers: frozenset[str]

    @property
    def column_names(self) -> frozenset[str]:
        return frozenset(c["name"] for c in self.columns)

    def select_sql(self) -> str:
        """The row by its keys as JSON text; names from the catalogue, keys as one jsonb parameter."""
        relation = f"{_quote(self.schema)}.{_quote(self.table)}"
        where = " AND ".join(
            f"t.{_quote(c)} = (jsonb_populate_record(NULL::{relation}, $1::jsonb)).{_quote(c)}" for c in self.pk
        )
        return f"SELECT to_jsonb(t)::text FROM {relation} t WHERE {where} LIMIT 1"


class Subscriber(Protocol):
    """What the feed needs of a socket: hand it a frame (never blocks), and tell it a channel's token expired."""

    def send(self, text: str) -> None: ...

    def token_expired(self, topic: str) -> None: ...


@dataclass(eq=False)
class Channel:
    """One joined topic of one socket."""

    socket: Subscriber
    topic: str
    claims: Claims
    specs: tuple[BindingSpec, ...]
    ids: list[int] = field(default_factory=list)
    closed: bool = False
    announced: int = 0  # the listener connection (ChangeFeed.epoch) this channel was told "Subscribed" for

    @property
    def identity(self) -> tuple[str, str | None, str | None, str | None]:
        """Callers that RLS cannot tell apart (the expiry aside): one visibility read serves them all."""
        c = self.claims
        return (c.role, c.sub, c.email, c.session_id)


@dataclass(frozen=True, slots=True)
class Binding:
    channel: Channel
    id: int
    spec: BindingSpec


@dataclass(frozen=True, slots=True)
class Change:
    schema: str
    table: str
    op: ChangeType
    pk: dict[str, Any]
    owner: str | None
    ts: str
    received: float


def parse_change(payload: str) -> Change | None:
    """A NOTIFY payload of 810's trigger; None for anything else."""
    try:
        data = json.loads(payload)
        op = data["op"]
        if op not in ("INSERT", "UPDATE", "DELETE") or not isinstance(data["pk"], dict):
            return None
        owner = data.get("owner")
        return Change(
            schema=str(data["s"]),
            table=str(data["t"]),
            op=op,
            pk=data["pk"],
            owner=str(owner) if owner is not None else None,
            ts=str(data.get("ts") or ""),
            received=time.monotonic(),
        )
    except (ValueError, KeyError, TypeError):
        return None


class CatalogUnavailable(Exception):
    """The publication could not be read (the database is unreachable)."""


class ChangeFeed:
    def __init__(
        self,
        db: Database,
        dsn: str,
        connect_timeout_s: float,
        session_ended: Callable[[str | None], bool] = lambda _session_id: False,
    ) -> None:
        """`session_ended`: whether a token's session is known to have ended (its channels get nothing more)."""
        self._db = db
        self._session_ended = session_ended
        self._dsn = dsn
        self._connect_timeout_s = connect_timeout_s
        self._bindings: dict[str, list[Binding]] = {}  # by schema
        self._channels = 0
        self._ids = itertools.count(1)
        self._catalog: dict[tuple[str, str], PublishedTable] = {}
        self._catalog_at = 0.0
        self._catalog_lock = asyncio.Lock()
        self._queue: asyncio.Queue[Change] = asyncio.Queue(maxsize=QUEUE_MAX)
        self._listener: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._read_slots = asyncio.Semaphore(READ_CONCURRENCY)
        self.listening = False
        self.epoch = 0  # LISTEN connections made so far (each one announced to the channels)
        self.dropped = 0
        self.delivered = 0

    # --- catalogue ---

    async def catalog(self) -> dict[tuple[str, str], PublishedTable]:
        if self._catalog and time.monotonic() - self._catalog_at < CATALOG_TTL_S:
            return self._catalog
        async with self._catalog_lock:
            if self._catalog and time.monotonic() - self._catalog_at < CATALOG_TTL_S:
                return self._catalog
            try:
                async with self._db.primary() as conn:
                    rows = await conn.fetch(sql("realtime", "published_tables"))
            except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
                if self._catalog:
                    return self._catalog  # keep the last one while the database is away
                raise CatalogUnavailable(str(exc)) from exc
            self._catalog = {
                (r["schema_name"], r["table_name"]): PublishedTable(
                    schema=r["schema_name"],
                    table=r["table_name"],
                    pk=tuple(r["pk_columns"]),
                    owner=r["owner_column"],
                    columns=tuple(json.loads(r["columns"])),
                    readers=frozenset(r["readers"]),
                )
                for r in rows
            }
            self._catalog_at = time.monotonic()
            return self._catalog

    # --- subscriptions ---

    def subscribe(self, channel: Channel) -> None:
        """Register a joined channel's bindings and start listening.

        Binding ids are assigned here unless the channel brings them (a refreshed token keeps the
        ids the client got in its join reply).
        """
        if len(channel.ids) != len(channel.specs):
            channel.ids[:] = [next(self._ids) for _ in channel.specs]
        for spec, binding_id in zip(channel.specs, channel.ids, strict=True):
            self._bindings.setdefault(spec.schema, []).append(Binding(channel, binding_id, spec))
        self._channels += 1
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen_while_subscribed(), name="realtime-changes-listen")
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._fan_out_forever(), name="realtime-changes-fan-out")

    def unsubscribe(self, channel: Channel) -> None:
        if channel.closed:
            return
        channel.closed = True
        self._channels -= 1
        for schema in {s.schema for s in channel.specs}:
            kept = [b for b in self._bindings.get(schema, ()) if b.channel is not channel]
            if kept:
                self._bindings[schema] = kept
            else:
                self._bindings.pop(schema, None)

    @property
    def channels(self) -> int:
        return self._channels

    # --- listening ---

    def _notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        change = parse_change(payload)
        if change is None:
            return
        try:
            self._queue.put_nowait(change)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("realtime: fan-out queue full, changes dropped", extra={"dropped": self.dropped})

    async def _listen_while_subscribed(self) -> None:
        down = False
        while self._channels > 0:
            try:
                await self._listen_once()
                down = False
            except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
                if not down:
                    log.warning("realtime changes listener down", extra={"error": repr(exc)})
                down = True
            if self._channels > 0:
                await asyncio.sleep(RECONNECT_S)

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(self._dsn, timeout=self._connect_timeout_s)
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, self._notify)
            self.listening = True
            self.epoch += 1
            self._catalog_at = 0.0  # re-read the publication on every (re)connect
            for channel in {id(b.channel): b.channel for bs in self._bindings.values() for b in bs}.values():
                self.announce(channel)
            while self._channels > 0 and not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), timeout=1.0)
        finally:
            self.listening = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=1.0)

    def announce(self, channel: Channel) -> None:
        """Tell a joined channel, once per LISTEN connection, that its changes arrive from now on.

        As Supabase Realtime's `system` "Subscribed to PostgreSQL": sent when the feed listens,
        at the join if it already does, else when the listener connects; and again after the
        listener was lost and came back. Changes committed before it were not heard; a client that
        keeps state (the bell's unread count) re-reads it then, so a lost change costs a re-read,
        never a stale badge.
        """
        if channel.closed or not channel.specs or not self.listening or channel.announced == self.epoch:
            return
        channel.announced = self.epoch
        channel.socket.send(system(channel.topic, "ok", "Subscribed to PostgreSQL"))

    async def _fan_out_forever(self) -> None:
        while True:
            change = await self._queue.get()
            try:
                await self.fan_out(change)
            except Exception:  # one bad change must not stop the feed
                log.exception("realtime: fan-out of a change failed")

    # --- fan-out ---

    def _candidates(self, change: Change, table: PublishedTable) -> list[Binding]:
        known = dict(change.pk)
        if table.owner is not None:
            known[table.owner] = change.owner
        found = []
        now = time.time()
        for binding in self._bindings.get(change.schema, ()):
            spec, channel = binding.spec, binding.channel
            if channel.closed or (spec.table is not None and spec.table != change.table):
                continue
            if spec.event != "*" and spec.event != change.op:
                continue
            if (channel.claims.exp is not None and channel.claims.exp <= now) or self._session_ended(
                channel.claims.session_id
            ):
                channel.socket.token_expired(channel.topic)  # the socket drops the channel, saying why
                continue
            if spec.filter is not None:
                if spec.filter.columns <= known.keys():
                    if not spec.filter.matches(known):
                        continue
                elif change.op == "DELETE" or not spec.filter.columns <= table.column_names:
                    continue  # a DELETE carries only keys and owner; a column this table lacks never matches
            found.append(binding)
        return found

    async def _visible(
        self, table: PublishedTable, pk: dict[str, Any], callers: list[Claims]
    ) -> list[dict[str, Any] | None]:
        """The row as each caller may select it (None: it may not), in one query per `READ_BATCH` callers."""
        found: list[dict[str, Any] | None] = [None] * len(callers)
        readers = [i for i, c in enumerate(callers) if c.role in table.readers]  # no grant: nothing to read

        async def read(chunk: list[int]) -> None:
            identities = [{"role": callers[i].role, "claims": callers[i].as_jwt_claims()} for i in chunk]
            async with self._read_slots:
                try:
                    async with self._db.primary() as conn:
                        rows = await conn.fetch(
                            sql("realtime", "visible_rows"), table.schema, table.table, pk, identities
                        )
                except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
                    log.warning("realtime: visibility read failed", extra={"error": repr(exc), "table": table.table})
                    return
            for row in rows:
                found[chunk[row["caller"]]] = json.loads(row["row_json"])

        chunks = [readers[i : i + READ_BATCH] for i in range(0, len(readers), READ_BATCH)]
        await asyncio.gather(*(read(chunk) for chunk in chunks))
        return found

    def _may_see_delete(self, claims: Claims, table: PublishedTable, change: Change) -> bool:
        if claims.role not in table.readers:
            return False
        if table.owner is None or claims.role == "service_role":
            return True
        return claims.sub is not None and change.owner is not None and claims.sub == change.owner

    async def fan_out(self, change: Change) -> int:
        """Send one change to every binding that asked for it and may see it; returns frames sent."""
        catalog = await self.catalog()
        table = catalog.get((change.schema, change.table))
        if table is None:
            return 0
        candidates = self._candidates(change, table)
        if not candidates:
            return 0
        matched: list[tuple[Binding, dict[str, Any] | None]] = []  # (binding, record; None for DELETE)
        if change.op == "DELETE":
            matched = [(b, None) for b in candidates if self._may_see_delete(b.channel.claims, table, change)]
        else:
            groups: dict[tuple[str, str | None, str | None, str | None], list[Binding]] = {}
            for binding in candidates:
                groups.setdefault(binding.channel.identity, []).append(binding)
            keys = list(groups)
            records = await self._visible(table, change.pk, [groups[k][0].channel.claims for k in keys])
            for key, record in zip(keys, records, strict=True):
                if record is None:
                    continue
                for binding in groups[key]:
                    f = binding.spec.filter
                    if f is None or f.matches(record):
                        matched.append((binding, record))
        return self._send(change, table, matched)

    def _send(
        self, change: Change, table: PublishedTable, matched: Iterable[tuple[Binding, dict[str, Any] | None]]
    ) -> int:
        encoded: dict[tuple[int, tuple[str, ...] | None], str] = {}  # (record identity, select) -> data json
        frames: dict[tuple[int, str], tuple[Channel, list[int]]] = {}  # (channel, data json) -> ids
        old = dict(change.pk) if change.op != "INSERT" else None
        for binding, record in matched:
            select = binding.spec.select
            key = (id(record), select)
            data = encoded.get(key)
            if data is None:
                columns = [c for c in table.columns if select is None or c["name"] in select]
                shown = None
                if record is not None:
                    shown = record if select is None else {k: v for k, v in record.items() if k in select}
                data = json.dumps(
                    change_payload(
                        schema=table.schema,
                        table=table.table,
                        change=change.op,
                        commit_timestamp=change.ts,
                        columns=columns,
                        record=shown,
                        old_record=old,
                    ),
                    separators=(",", ":"),
                    default=str,
                )
                encoded[key] = data
            slot = frames.setdefault((id(binding.channel), data), (binding.channel, []))
            slot[1].append(binding.id)
        for (_, data), (channel, ids) in frames.items():
            if not channel.closed:
                channel.socket.send(change_message(channel.topic, data, ids))
        self.delivered += len(frames)
        return len(frames)
