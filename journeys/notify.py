"""The bell: reading its live badge, and sending the notification a journey waits for.

The notification is sent from outside the page on purpose: if the page itself
sent it, its own script could bump the badge and a broken realtime channel
would go unnoticed. With the service key the journey sends it the way the
platform's backend does (`notif_send` as service_role); without one (a
deployment whose key the monitor does not hold) the user sends it to itself,
which `notif_send` allows a client (and nothing more: a client may notify only
itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gauntlet.journeys.framework import JourneyCheckFailed
from gauntlet.journeys.session import JourneySession, testid

BADGE = testid("bell-badge")
POLL_MS = 50


def wait_bell_live(s: JourneySession) -> None:
    """Wait until the bell has joined its realtime channel and shown the unread count at least once."""
    s.wait_for(
        f"""() => document.querySelector('{BADGE}')?.dataset.live === "1" """,
        what="the bell never joined its realtime notifications channel",
    )


def badge_count(s: JourneySession) -> int:
    raw = s.page.get_attribute(BADGE, "data-count") or "0"
    return int(raw)


def wait_badge(s: JourneySession, accept: Callable[[int], bool], *, what: str) -> int:
    """Wait until the badge's count satisfies `accept` (checked in Python, polled through the page)."""
    deadline = time.monotonic() + s.timeout_ms / 1000
    while True:
        count = badge_count(s)
        if accept(count):
            return count
        if time.monotonic() >= deadline:
            break
        s.page.wait_for_timeout(POLL_MS)
    s.expect_no_error()
    raise JourneyCheckFailed(f"{what} (badge shows {badge_count(s)} after {s.timeout_ms} ms)")


def send_notification(s: JourneySession, *, title: str) -> None:
    """Send one in-app notification to the signed-in user; fail if the platform refuses it (consent rules)."""
    user_id = s.page.evaluate("(JSON.parse(localStorage.getItem('rocker.session') || 'null') || {}).user?.id")
    if not user_id:
        raise JourneyCheckFailed("no signed-in user in the page's storage to notify")
    token = s.service_key or s.access_token()
    args = {
        "p_user_id": user_id,
        "p_channel": "snackbar",
        "p_title": title,
        "p_body": "Sent by a synthetic journey",
        "p_kind": "journey.check",
    }
    outcome = s.platform.rpc("notif_send", args, token=token)
    if not isinstance(outcome, dict) or outcome.get("sent") is not True:
        raise JourneyCheckFailed(f"the platform did not send the notification: {outcome}")
