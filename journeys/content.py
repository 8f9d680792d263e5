"""Making sure the platform has a feed to scroll before a journey scrolls it.

Journeys check what a user sees (three pages without duplicates, a listing to
cart, a shop lane). A real deployment has content; a freshly started embedded
stack has none. So the journeys that read the feed start with a step that
asks the feed (as a dedicated "creator" account) whether there is enough, and
only when there is not, publishes synthetic content through the ordinary
write RPCs (posts, listings, upcoming events under one page). On a platform
with content this costs one feed call; nothing is ever written there.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from gauntlet.journeys.accounts import AccountStore, PlatformClient, ensure_account
from gauntlet.journeys.fixture import JourneyRun

CREATOR = "creator"
# One feed call when there is content; sign-up, onboarding and ~60 writes when there is none.
CONTENT_BUDGET_MS = 10000


@dataclass(frozen=True, slots=True)
class ContentNeed:
    """What one feed call (of `probe` items) must show: enough for three pages of 10 with listings among them."""

    items: int = 30
    listings: int = 6
    probe: int = 50


@dataclass(frozen=True, slots=True)
class ContentPlan:
    """One batch of synthetic content, roughly in the for_you blend (posts 60 / listings 25 / events 15)."""

    posts: int = 24
    listings: int = 12
    events: int = 6


def publish(client: PlatformClient, token: str, plan: ContentPlan) -> dict[str, int]:
    """Publish a batch of synthetic content as the signed-in creator; returns what was made."""
    tag = uuid.uuid4().hex[:6]
    page = client.rpc(
        "entity_create",
        {"p_handle": f"gj_shop_{tag}", "p_display_name": f"Journey Tack Shop {tag}", "p_kind": "business"},
        token=token,
    )
    for n in range(plan.posts):
        client.rpc("post_create", {"p_body": f"Trail notes #{n + 1} ({tag})", "p_entity_id": page["id"]}, token=token)
    for n in range(plan.listings):
        client.rpc(
            "listing_create",
            {"p_title": f"Saddle pad {tag}-{n + 1}", "p_price_cents": 1500 + 250 * n, "p_entity_id": page["id"]},
            token=token,
        )
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    for n in range(plan.events):
        client.rpc(
            "event_create",
            {
                "p_title": f"Clinic {tag}-{n + 1}",
                "p_starts_at": (start + dt.timedelta(days=3 * n)).isoformat(),
                "p_entity_id": page["id"],
                "p_location": "Arena 1",
            },
            token=token,
        )
    return {"posts": plan.posts, "listings": plan.listings, "events": plan.events}


def ensure_feed_content(
    client: PlatformClient, accounts: AccountStore, target: str, need: ContentNeed = ContentNeed()
) -> dict[str, int]:
    """Publish synthetic content unless the for_you feed already shows enough; returns what was published."""
    _, creator = ensure_account(client, accounts, target, CREATOR)
    token = creator.access_token
    page = client.rpc("feed_fusion_home", {"p_lane": "for_you", "p_limit": need.probe}, token=token)
    items = page.get("items", [])
    listings = sum(1 for item in items if item.get("kind") == "listing")
    if len(items) >= need.items and listings >= need.listings:
        return {}
    return publish(client, token, ContentPlan())


def platform_content(journey: JourneyRun) -> None:
    """The first step of a journey that reads the feed: the platform must have one to read."""
    with journey.step("platform_content", budget_ms=CONTENT_BUDGET_MS):
        published = ensure_feed_content(journey.platform, journey.accounts, journey.target)
        if published:
            journey.session.notes["published_content"] = published
