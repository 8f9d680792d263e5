"""The notifications worker drains the outbox on the live stack, exactly once per notification."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from gauntlet.stack.state import StackState

pytestmark = pytest.mark.integration


async def test_sent_notification_is_delivered_once_by_the_worker(gauntlet_stack: StackState) -> None:
    conn = await asyncpg.connect(gauntlet_stack.direct["primary_dsn"])
    try:
        user = await conn.fetchval(
            "INSERT INTO auth.users (email, encrypted_password) VALUES ($1, '!') RETURNING id",
            f"notif-{uuid.uuid4().hex}@example.test",
        )
        raw = await conn.fetchval("SELECT public.notif_send($1, 'snackbar', 'hello from a test')", user)
        sent = json.loads(raw) if isinstance(raw, str) else raw
        assert sent["sent"], sent
        notification_id = sent["notification_id"]
        for _ in range(100):  # the worker polls every second; bounded at ~10 s
            delivered_at = await conn.fetchval("SELECT delivered_at FROM notifications WHERE id = $1", notification_id)
            if delivered_at is not None:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the notifications worker never delivered the notification")
        outbox = await conn.fetchrow(
            "SELECT status, attempts FROM events_queue WHERE topic = 'notifications.deliver' AND key = $1",
            str(notification_id),
        )
        assert outbox is not None and outbox["status"] == "done"
        # A replayed outbox item cannot deliver again: delivered_at keeps its first value.
        assert await conn.fetchval("SELECT public.notif_mark_delivered($1)", notification_id) is False
    finally:
        await conn.close()
