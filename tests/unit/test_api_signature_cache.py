"""The RPC signature cache: a fresh hit needs no connection; a miss or an expired entry asks the database."""

from __future__ import annotations

import asyncio
from typing import Any

from gauntlet.platform.api.rpc_catalog import SignatureCache

ROW = {
    "args": [{"name": "p_lane", "type": "text", "category": "S"}],
    "n_defaults": 1,
    "returns_set": False,
    "returns_row": False,
    "returns_void": False,
    "volatility": "s",
}


class Catalog:
    """Stands in for a connection's pg_proc lookup (pure logic: only `fetch` is used), counting the questions."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows, self.asked = rows, 0

    async def fetch(self, query: str, *args: object) -> list[dict[str, Any]]:
        self.asked += 1
        return self.rows


def ask(cache: SignatureCache, conn: Catalog, function: str = "feed_fusion_home") -> int:
    found = asyncio.run(cache.get(conn, function))  # type: ignore[arg-type]  # duck-typed connection
    return len(found)


def test_a_fresh_hit_is_answered_without_a_connection() -> None:
    cache, conn = SignatureCache(), Catalog([ROW])
    assert cache.cached("feed_fusion_home") is None  # nothing cached: the caller must ask the database
    assert ask(cache, conn) == 1 and conn.asked == 1
    hit = cache.cached("feed_fusion_home")
    assert hit is not None and hit[0].function == "feed_fusion_home" and hit[0].args[0].name == "p_lane"
    assert ask(cache, conn) == 1 and conn.asked == 1  # get() answers a fresh hit from the cache too


def test_an_expired_entry_and_a_missing_function_ask_the_database_again() -> None:
    expired, conn = SignatureCache(ttl_s=0.0), Catalog([ROW])
    ask(expired, conn)
    assert expired.cached("feed_fusion_home") is None
    ask(expired, conn)
    assert conn.asked == 2
    cache, empty = SignatureCache(), Catalog([])
    ask(cache, empty, "not_yet_migrated")
    assert cache.cached("not_yet_migrated") is None  # a miss is never cached


def test_forget_drops_the_entry() -> None:
    cache, conn = SignatureCache(), Catalog([ROW])
    ask(cache, conn)
    cache.forget("feed_fusion_home")
    assert cache.cached("feed_fusion_home") is None
