"""One run's browser session, and the page actions every journey shares (open a page, sign in, read the feed).

Pages tell the journey when their first render is done with
`body[data-ready="1"]`, and show RPC errors in `[data-testid="error"]`: a
journey waits for the first and fails on the second, so it never sleeps and
never misses an error the user would have seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from gauntlet.journeys.accounts import Account, AccountStore, PlatformClient
from gauntlet.journeys.framework import JourneyCheckFailed

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

READY = 'body[data-ready="1"]'
SelectorState = Literal["attached", "detached", "hidden", "visible"]


def testid(name: str) -> str:
    return f'[data-testid="{name}"]'


@dataclass
class JourneySession:
    """What a journey's steps act on: the page (one browser context, so one user signed in at a time)."""

    page: Page
    context: BrowserContext
    target: str
    platform: PlatformClient
    accounts: AccountStore
    run_dir: Path
    service_key: str | None = None
    timeout_ms: int = 5000
    notes: dict[str, Any] = field(default_factory=dict)  # what a step found, for the run's record

    def url(self, path: str) -> str:
        return f"{self.target.rstrip('/')}{path}"

    def by_testid(self, name: str) -> Locator:
        return self.page.locator(testid(name))

    # --- waiting for pages -------------------------------------------------------------------

    def wait_ready(self, path_prefix: str | None = None) -> None:
        """Wait until the current page (which must be under `path_prefix`) has rendered, and shows no error."""
        if path_prefix is not None and not httpx.URL(self.page.url).path.startswith(path_prefix):
            raise JourneyCheckFailed(f"expected a page under {path_prefix}, but the browser is at {self.page.url}")
        self.wait_selector(READY, what="the page never finished its first render", state="attached")
        self.expect_no_error()

    def open(self, path: str) -> None:
        """Navigate to a page of the target and wait for its first render."""
        self.page.goto(self.url(path), wait_until="domcontentloaded")
        self.wait_ready(path.split("?")[0])

    def navigate(self, action: Callable[[], None], path_prefix: str) -> None:
        """Do what leads to another page (a click, a form submit) and wait until that page has rendered.

        Waiting for the navigation itself matters: the page being left is also `data-ready`.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        def arrived(url: str) -> bool:
            return httpx.URL(url).path.startswith(path_prefix)

        try:
            with self.page.expect_navigation(url=arrived, wait_until="domcontentloaded"):
                action()
        except PlaywrightTimeout:
            self.expect_no_error()
            raise JourneyCheckFailed(f"expected to reach {path_prefix}, still at {self.page.url}") from None
        self.wait_ready(path_prefix)

    def click_to(self, name: str, path_prefix: str) -> None:
        """Click the element with data-testid `name` and wait for the page it leads to."""
        self.navigate(self.by_testid(name).click, path_prefix)

    def wait_selector(self, selector: str, *, what: str, state: SelectorState = "visible") -> None:
        """Wait for an element; on timeout fail naming what the user should have seen, and any page error."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_selector(selector, state=state)
        except PlaywrightTimeout:
            self.expect_no_error()
            raise JourneyCheckFailed(f"{self.page.url}: {what} (waited {self.timeout_ms} ms)") from None

    def expect_no_error(self) -> None:
        box = self.by_testid("error")
        if box.count() and box.is_visible():
            raise JourneyCheckFailed(f"{self.page.url} shows an error: {box.inner_text().strip()}")

    def wait_for(self, expression: str, arg: Any = None, *, what: str) -> Any:
        """Wait for a JS predicate; on timeout fail naming what the user should have seen, and any page error."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            return self.page.wait_for_function(expression, arg=arg).json_value()
        except PlaywrightTimeout:
            self.expect_no_error()
            raise JourneyCheckFailed(f"{self.page.url}: {what} (waited {self.timeout_ms} ms)") from None

    # --- signing in ----------------------------------------------------------------------------

    def log_in(self, account: Account, *, then: str = "/home") -> None:
        self.open("/login")
        self.by_testid("login-email").fill(account.email)
        self.by_testid("login-password").fill(account.password)
        self.click_to("login-submit", then)

    def log_out(self) -> None:
        self.page.evaluate("localStorage.removeItem('rocker.session')")

    def access_token(self) -> str:
        """The signed-in user's JWT, as the page keeps it (for calls a journey makes outside the page)."""
        token = self.page.evaluate("(JSON.parse(localStorage.getItem('rocker.session') || 'null') || {}).access_token")
        if not isinstance(token, str) or not token:
            raise JourneyCheckFailed("no signed-in session in the page's storage")
        return token

    # --- the feed ------------------------------------------------------------------------------

    def feed_ids(self) -> list[str]:
        ids = self.page.eval_on_selector_all(
            f"{testid('feed')} {testid('feed-item')}", "nodes => nodes.map(n => n.dataset.id)"
        )
        return [str(i) for i in ids]

    def scroll_feed(self, pages: int) -> list[str]:
        """Scroll the feed until `pages` pages have loaded (or it ends); returns the item ids in order."""
        feed = self.by_testid("feed")
        feed.wait_for(state="attached")
        for _ in range(pages):
            loaded = int(feed.get_attribute("data-pages") or "0")
            if loaded >= pages or feed.get_attribute("data-end") == "1":
                break
            self.page.mouse.wheel(0, 20000)  # a person scrolling: the sentinel comes into view
            self.wait_for(
                """([n]) => { const f = document.querySelector('[data-testid="feed"]');
                              return Number(f.dataset.pages) > n || f.dataset.end === "1"; }""",
                [loaded],
                what=f"the feed did not load page {loaded + 1} on scroll",
            )
        self.expect_no_error()
        return self.feed_ids()
