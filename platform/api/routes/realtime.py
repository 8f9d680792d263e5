"""`/realtime/v1/websocket`: Supabase Realtime's Phoenix-channel protocol (postgres_changes), served by
realtime_socket / realtime_feed (see there).

The pages' bell badge listens here too, as supabase-js would (platform/web/static/realtime.js):
it joins `postgres_changes` on its user's notifications and re-reads the unread count
(`HEAD /rest/v1/notifications?read_at=is.null`, `Prefer: count=exact`) whenever a change or a
"Subscribed to PostgreSQL" system message (the change feed is listening again) arrives.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, WebSocket

from gauntlet.platform.api import realtime_socket
from gauntlet.platform.api.deps import platform_state
from gauntlet.platform.api.realtime_feed import ChangeFeed
from gauntlet.platform.api.state import PlatformState

router = APIRouter(prefix="/realtime/v1", tags=["realtime"])


def change_feed(app: FastAPI, state: PlatformState) -> tuple[ChangeFeed, realtime_socket.UserConnections]:
    """The process's one change feed (and its per-user connection counts), made on first use."""
    found: tuple[ChangeFeed, realtime_socket.UserConnections] | None = getattr(app.state, "realtime_feed", None)
    if found is None:
        settings = state.settings
        found = (
            ChangeFeed(state.db, settings.primary_dsn, settings.connect_timeout_s, state.sessions.known_ended),
            realtime_socket.UserConnections(),
        )
        app.state.realtime_feed = found
    return found


@router.websocket("/websocket")
async def realtime_websocket(websocket: WebSocket) -> None:
    state = platform_state(websocket)
    feed, users = change_feed(websocket.app, state)
    await realtime_socket.serve(websocket, feed, users, state.settings.jwt_secret, state.sessions)
