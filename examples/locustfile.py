"""A plain Locust file against the Rocker platform's public API, run by Gauntlet.

    gauntlet load -f examples/locustfile.py -u 4 -r 2 -t 30s --slo examples/k6_thresholds.yaml

Gauntlet runs these User classes as `locust -f examples/locustfile.py` would, with its own
shapes (--scenario), exact HDR percentiles, thresholds, results.json and reports. Nothing
here imports Gauntlet: the same file runs under plain Locust (`locust -f ... -H URL`).

Name each request (`name="rpc:..."`) with a literal string: Gauntlet reads the names from
this file before the run and refuses a threshold on a request no User here makes.
"""

from __future__ import annotations

import uuid
from typing import Any

from locust import HttpUser, between, tag, task

RPC = "/rest/v1/rpc/"
PASSWORD = "Example-load-password-1"


class Visitor(HttpUser):
    """Someone not signed in: looks the interest catalog over and the service's health."""

    weight = 3
    wait_time = between(0.5, 1.5)

    @tag("anonymous")
    @task(3)
    def browse_interests(self) -> None:
        with self.client.post(
            RPC + "interest_catalog_browse", json={}, name="rpc:interest_catalog_browse", catch_response=True
        ) as resp:
            if resp.status_code != 200 or not isinstance(resp.json(), list):
                resp.failure(f"HTTP {resp.status_code}: expected a JSON list of interests")

    @tag("anonymous")
    @task
    def search_interests(self) -> None:
        self.client.post(
            RPC + "interest_catalog_search", json={"p_query": "art", "p_limit": 10}, name="rpc:interest_catalog_search"
        )

    @tag("anonymous")
    @task
    def health(self) -> None:
        self.client.get("/functions/v1/health", name="fn:health")


class Reader(HttpUser):
    """A new person: signs up once, then scrolls the for_you lane of the home feed."""

    weight = 1
    wait_time = between(0.5, 1.5)
    token: str | None = None

    def on_start(self) -> None:
        email = f"example-{uuid.uuid4().hex[:12]}@example.com"
        with self.client.post(
            "/auth/v1/signup", json={"email": email, "password": PASSWORD}, name="auth:signup", catch_response=True
        ) as resp:
            body: Any = resp.json() if resp.status_code in (200, 201) else None
            self.token = body.get("access_token") if isinstance(body, dict) else None
            if self.token is None:
                resp.failure(f"HTTP {resp.status_code}: no access_token in the sign-up answer")

    @tag("signed_in")
    @task
    def scroll_home(self) -> None:
        if self.token is None:
            return
        with self.client.post(
            RPC + "feed_fusion_home",
            json={"p_lane": "for_you", "p_cursor": None, "p_limit": 20},
            headers={"Authorization": f"Bearer {self.token}"},
            name="rpc:feed_fusion_home",
            catch_response=True,
        ) as resp:
            if resp.status_code != 200 or not isinstance(resp.json(), dict):
                resp.failure(f"HTTP {resp.status_code}: expected a feed page")
