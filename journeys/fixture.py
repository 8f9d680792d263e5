"""The `journey` fixture a journey file's test asks for: its steps, and the target it runs against.

    def test_shop(page, journey):
        with journey.step("login", budget_ms=6000):
            account = journey.account("returning")  # made once per target, kept in accounts.json
            page.goto(journey.url("/login"))

`journey.step(name, budget_ms=...)` is Playwright's `test.step` as a context manager, timed
against its budget (journeys/framework.py StepRecorder). In a sync test, `journey.session`
offers the page actions the built-in journeys share (journeys/session.py).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from gauntlet.journeys.accounts import Account, AccountStore, PlatformClient, ensure_account
from gauntlet.journeys.framework import StepMisuse, StepRecorder
from gauntlet.journeys.session import JourneySession


@dataclass
class JourneyRun:
    """What one run of a journey offers its test besides Playwright's own fixtures."""

    steps: StepRecorder
    target: str  # the platform's base URL (pages and API on one origin)
    run_dir: Path  # this run's folder (result.json, and a failure's evidence)
    platform: PlatformClient  # the platform's HTTP surface, for arranging (not timed as user actions)
    accounts: AccountStore
    service_key: str | None = None  # the service_role key, when the runner holds it
    sync_session: JourneySession | None = None

    def step(self, name: str, budget_ms: int | None = None) -> AbstractContextManager[None]:
        """A named, timed step (default budget: the whole journey's); the journey stops when it fails."""
        return self.steps.step(name, budget_ms)

    def url(self, path: str) -> str:
        return f"{self.target.rstrip('/')}{path}"

    def account(self, role: str) -> Account:
        """An onboarded account for `role`, made once per target and kept in the run's accounts.json."""
        account, _ = ensure_account(self.platform, self.accounts, self.target, role)
        return account

    @property
    def session(self) -> JourneySession:
        if self.sync_session is None:
            raise StepMisuse("journey.session drives a sync page: an async test uses its `page` directly")
        return self.sync_session
