"""The change feed's LISTEN connection goes through the pg_primary proxy: cut it, and the channel
hears "Subscribed to PostgreSQL" again once the feed listens again, and changes flow after it.

That system message is what the pages' bell re-reads the unread count on (platform/web/static/
rocker.js), so a change committed while the feed was deaf costs a re-read, never a stale badge.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from realtime.message import SuccessSystemPayload
from realtime.types import PostgresChangesPayload, RealtimePostgresChangesListenEvent
from supabase import acreate_client

from gauntlet.stack.state import StackState
from tests.integration.supabase.conftest import PASSWORD, SupaUser

if TYPE_CHECKING:
    from gauntlet.faultproxy.client import ToxiproxyClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SUBSCRIBED = "Subscribed to PostgreSQL"


async def _until(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


def test_the_feed_announces_itself_again_after_losing_its_database_connection(
    gauntlet_stack: StackState, make_user: Callable[[], SupaUser], toxiproxy: ToxiproxyClient
) -> None:
    user = make_user()
    title = f"after-cut-{uuid.uuid4().hex[:8]}"

    async def run() -> tuple[list[str], list[dict[str, Any]]]:
        client = await acreate_client(gauntlet_stack.api_url, gauntlet_stack.anon_key)
        await client.auth.sign_in_with_password({"email": user.email, "password": PASSWORD})
        service = await acreate_client(gauntlet_stack.api_url, gauntlet_stack.service_key)
        systems: list[str] = []
        changes: list[dict[str, Any]] = []

        def changed(change: PostgresChangesPayload) -> None:
            changes.append(dict[str, Any](change))

        def system(payload: SuccessSystemPayload) -> None:
            systems.append(payload.message)

        channel = client.channel("bell")
        channel.on_postgres_changes(
            RealtimePostgresChangesListenEvent.All,
            changed,
            table="notifications",
            schema="public",
            filter=f"user_id=eq.{user.id}",
        )
        channel.on_system(system)
        try:
            await channel.subscribe()
            assert await _until(lambda: systems.count(SUBSCRIBED) >= 1, 10), systems
            heard = len(systems)
            # Disabling the proxy closes its open connections (the listener's among them) at once.
            await asyncio.to_thread(toxiproxy.update_proxy, "pg_primary", enabled=False)
            await asyncio.to_thread(toxiproxy.update_proxy, "pg_primary", enabled=True)
            assert await _until(lambda: len(systems) > heard, 15), f"no new {SUBSCRIBED!r} after the cut: {systems}"
            send = {"p_user_id": user.id, "p_channel": "snackbar", "p_title": title}
            deadline = time.monotonic() + 10
            while True:  # the API's own pool may still be reconnecting: a 503 is expected then
                try:
                    await service.rpc("notif_send", send).execute()
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            assert await _until(lambda: any(c["data"]["record"]["title"] == title for c in changes), 10), changes
        finally:
            await client.remove_all_channels()
        return systems, changes

    systems, changes = asyncio.run(run())
    assert systems.count(SUBSCRIBED) >= 2
    assert all(c["data"]["record"]["user_id"] == user.id for c in changes)
