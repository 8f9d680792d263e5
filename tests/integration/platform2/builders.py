"""Builders for the Platform II tests: users, pages, content with chosen timestamps, and feed calls.

Content is inserted directly as the superuser so a test can choose created_at
and the ranking score (clients cannot set either through the RPCs); feed,
cart, notification and earnings calls go through the RPCs as the user, the
way the API calls them (``acting_as``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from gauntlet.fixtures.roles import Role, acting_as, make_user

NOW = dt.datetime.now(dt.UTC)


def ago(**delta: float) -> dt.datetime:
    """A moment before the test session started (``ago(hours=2)``)."""
    return NOW - dt.timedelta(**delta)


def ahead(**delta: float) -> dt.datetime:
    """A moment after the test session started (``ahead(days=2)``)."""
    return NOW + dt.timedelta(**delta)


async def new_user(conn: asyncpg.Connection, *, avatar: bool = False, bio: bool = False) -> uuid.UUID:
    """A fresh user (its profile comes from the signup trigger)."""
    user = await make_user(conn)
    await conn.execute(
        "update public.profiles set avatar_url = $2, bio = $3 where user_id = $1",
        user,
        "https://img.test/a.png" if avatar else None,
        "Rider and breeder." if bio else None,
    )
    return user


async def new_entity(conn: asyncpg.Connection, owner: uuid.UUID, name: str = "Page") -> uuid.UUID:
    """A page owned by ``owner``."""
    entity: uuid.UUID = await conn.fetchval(
        "insert into public.entities (kind, handle, display_name, owner_id) values ('business', $1, $2, $3) "
        "returning id",
        f"p_{uuid.uuid4().hex[:20]}",
        name,
        owner,
    )
    return entity


def _metadata(score: Any) -> str:
    return json.dumps({} if score is None else {"score": score})


async def new_post(
    conn: asyncpg.Connection,
    author: uuid.UUID,
    *,
    entity: uuid.UUID | None = None,
    created_at: dt.datetime | None = None,
    score: Any = None,
    targets: Sequence[uuid.UUID] = (),
) -> uuid.UUID:
    """A post (as ``entity`` when given, which becomes an approved target), optionally cross-posted."""
    post: uuid.UUID = await conn.fetchval(
        "insert into public.posts (author_id, entity_id, body, metadata, created_at) "
        "values ($1, $2, 'post body', $3::jsonb, coalesce($4, now())) returning id",
        author,
        entity,
        _metadata(score),
        created_at,
    )
    for target in ([entity] if entity else []) + list(targets):
        await conn.execute(
            "insert into public.post_targets (post_id, entity_id, status, post_created_at) "
            "values ($1, $2, 'approved', now()) on conflict do nothing",
            post,
            target,
        )
    return post


async def new_listing(
    conn: asyncpg.Connection,
    seller: uuid.UUID,
    *,
    entity: uuid.UUID | None = None,
    created_at: dt.datetime | None = None,
    price_cents: int = 1000,
    score: Any = None,
    currency: str = "USD",
) -> uuid.UUID:
    """An active listing."""
    listing: uuid.UUID = await conn.fetchval(
        "insert into public.marketplace_listings (seller_id, seller_entity_id, title, price_cents, currency, metadata, "
        "created_at) values ($1, $2, 'listing', $3, $4, $5::jsonb, coalesce($6, now())) returning id",
        seller,
        entity,
        price_cents,
        currency,
        _metadata(score),
        created_at,
    )
    return listing


async def new_event(
    conn: asyncpg.Connection,
    creator: uuid.UUID,
    *,
    starts_at: dt.datetime,
    entity: uuid.UUID | None = None,
    created_at: dt.datetime | None = None,
    score: Any = None,
) -> uuid.UUID:
    """A calendar event."""
    event: uuid.UUID = await conn.fetchval(
        "insert into public.events (host_entity_id, created_by, title, starts_at, metadata, created_at) "
        "values ($1, $2, 'event', $3, $4::jsonb, coalesce($5, now())) returning id",
        entity,
        creator,
        starts_at,
        _metadata(score),
        created_at,
    )
    return event


async def follow(conn: asyncpg.Connection, user: uuid.UUID, entity: uuid.UUID) -> None:
    await conn.execute("insert into public.entity_edges (follower_id, entity_id) values ($1, $2)", user, entity)


async def set_flag(conn: asyncpg.Connection, key: str, value: dict[str, Any]) -> None:
    """Set a feature flag (this test's database only)."""
    await conn.execute(
        "insert into public.feature_flags (key, value) values ($1, $2::jsonb) "
        "on conflict (key) do update set value = excluded.value",
        key,
        json.dumps(value),
    )


async def rpc(conn: asyncpg.Connection, user: uuid.UUID | None, sql: str, *args: Any) -> Any:
    """One RPC call as ``user`` (authenticated) or as service_role when ``user`` is None; the value decoded."""
    role: Role = "service_role" if user is None else "authenticated"
    async with acting_as(conn, role, user):
        value = await conn.fetchval(sql, *args)
    return json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value


async def rpc_rows(conn: asyncpg.Connection, user: uuid.UUID, sql: str, *args: Any) -> list[asyncpg.Record]:
    """A set-returning RPC call as ``user``."""
    async with acting_as(conn, "authenticated", user):
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
    return rows


@dataclass
class FeedPage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    has_more: bool
    raw: dict[str, Any] = field(repr=False)

    @property
    def keys(self) -> list[tuple[str, str]]:
        return [(item["kind"], item["id"]) for item in self.items]

    def count(self, kind: str) -> int:
        return sum(1 for item in self.items if item["kind"] == kind)


async def home(
    conn: asyncpg.Connection, user: uuid.UUID, lane: str, cursor: str | None = None, limit: int = 10
) -> FeedPage:
    """One page of feed_fusion_home as ``user``."""
    raw = await rpc(
        conn,
        user,
        "select public.feed_fusion_home(p_lane => $1, p_cursor => $2, p_limit => $3)",
        lane,
        cursor,
        limit,
    )
    return FeedPage(raw["items"], raw["next_cursor"], raw["has_more"], raw)


async def profile(
    conn: asyncpg.Connection, user: uuid.UUID | None, entity: uuid.UUID, cursor: str | None = None, limit: int = 10
) -> FeedPage:
    """One page of feed_fusion_profile as ``user`` (anon when None)."""
    role: Role = "anon" if user is None else "authenticated"
    async with acting_as(conn, role, user):
        value = await conn.fetchval(
            "select public.feed_fusion_profile(p_entity_id => $1, p_cursor => $2, p_limit => $3)",
            entity,
            cursor,
            limit,
        )
    raw = json.loads(value)
    return FeedPage(raw["items"], raw["next_cursor"], raw["has_more"], raw)


async def scroll(
    conn: asyncpg.Connection, user: uuid.UUID, lane: str, *, limit: int = 10, max_pages: int = 100
) -> list[FeedPage]:
    """Every page of a lane, following next_cursor until has_more is false (bounded)."""
    pages = [await home(conn, user, lane, limit=limit)]
    while pages[-1].has_more:
        assert len(pages) < max_pages, f"lane {lane} did not end within {max_pages} pages"
        pages.append(await home(conn, user, lane, pages[-1].next_cursor, limit))
    return pages
