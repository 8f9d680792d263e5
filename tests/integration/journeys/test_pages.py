"""The web layer itself: page shells and the admin workers page (the bell's realtime channel: the journeys)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections.abc import Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import httpx
import pytest

from gauntlet.journeys.accounts import Account, PlatformClient, SignedIn, fresh_email, fresh_password

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from gauntlet.stack.state import StackState

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

T = TypeVar("T")

# A well-formed id no row has; fixed, so every xdist worker collects the same test ids.
UNKNOWN_ID = "5d1e2c3b-4a59-4f68-8a7b-9c0d1e2f3a4b"
SHELLS = [
    "/signup", "/login", "/onboarding", "/home?lane=for_you", "/home?lane=shop", "/discover", "/listing/new",
    f"/listing/{UNKNOWN_ID}", f"/profile/{UNKNOWN_ID}", "/cart", "/calendar", "/calendar?scope=all",
    "/notifications", "/earnings", "/admin/workers",
]  # fmt: skip


@pytest.fixture
def http(journey_stack: StackState) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=journey_stack.api_url, timeout=10) as client:
        yield client


def signed_up(http: httpx.Client) -> tuple[Account, SignedIn]:
    account = Account(fresh_email("pages"), fresh_password())
    return account, PlatformClient(http).signup(account)


@pytest.mark.parametrize("path", SHELLS)
def test_every_page_is_a_shell_with_the_shared_client(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert 'data-testid="error"' in html and 'data-ready="0"' in html
    assert '<script src="/web/static/rocker.js"></script>' in html


@pytest.mark.parametrize(
    "path", ["/home?lane=sideways", "/listing/not-a-uuid", "/profile/42", "/calendar?scope=mine", "/web/static/x.py"]
)
def test_bad_page_addresses_are_404s_naming_the_problem(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert response.json()["message"]


def test_static_files_cannot_walk_out_of_their_folder(http: httpx.Client) -> None:
    assert http.get("/web/static/rocker.js").status_code == 200
    assert http.get("/web/static/..%2Froutes.py").status_code == 404
    assert http.get("/web/static/%2e%2e/routes.py").status_code == 404


def test_legacy_lane_names_map_to_the_current_ones(http: httpx.Client) -> None:
    assert 'data-lane="following"' in http.get("/home?lane=personal").text
    assert 'data-lane="for_you"' in http.get("/home?lane=combined").text


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code that may sit inside Playwright's own event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _arrange_dead_letter(dsn: str, admin_id: str, kind: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO public.user_roles (user_id, role) VALUES ($1, 'admin')", uuid.UUID(admin_id))
        job = await conn.fetchval("INSERT INTO public.worker_jobs (kind, status) VALUES ($1, 'dlq') RETURNING id", kind)
        await conn.execute(
            "INSERT INTO public.dead_letter_queue (job_id, kind, reason, attempts) VALUES ($1, $2, 'poison', 3)",
            job,
            kind,
        )
        return int(job)
    finally:
        await conn.close()


async def _job_status(dsn: str, job: int) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SELECT status FROM public.worker_jobs WHERE id = $1", job))
    finally:
        await conn.close()


@pytest.mark.browser
def test_an_admin_retries_a_dead_letter_from_the_workers_page(
    http: httpx.Client, journey_stack: StackState, browser: Browser
) -> None:
    account, user = signed_up(http)
    PlatformClient(http).onboard(user)
    kind = f"pages.poison-{uuid.uuid4().hex[:6]}"
    job = run_async(_arrange_dead_letter(journey_stack.primary_dsn, user.user_id, kind))
    context = browser.new_context(base_url=journey_stack.api_url)
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill('[data-testid="login-email"]', account.email)
        page.fill('[data-testid="login-password"]', account.password)
        with page.expect_navigation(url="**/home**"):
            page.click('[data-testid="login-submit"]')
        page.goto("/admin/workers")
        row = page.locator(f'[data-testid="dead-letter-row"]:has-text("{kind}")')
        row.wait_for()
        assert page.locator(f'[data-testid="worker-job-row"][data-kind="{kind}"][data-status="dlq"]').count() == 1
        row.locator('[data-testid="dead-letter-retry"]').click()
        row.wait_for(state="detached")
        page.locator(f'[data-testid="worker-job-row"][data-kind="{kind}"][data-status="pending"]').wait_for()
        assert not page.locator('[data-testid="error"]').is_visible()
    finally:
        context.close()
    assert run_async(_job_status(journey_stack.primary_dsn, job)) in ("pending", "running", "completed", "failed")


@pytest.mark.browser
def test_a_non_admin_is_told_why_the_workers_page_is_empty(
    http: httpx.Client, journey_stack: StackState, browser: Browser
) -> None:
    _, user = signed_up(http)
    context = browser.new_context(base_url=journey_stack.api_url)
    try:
        page = context.new_page()
        page.goto("/login")  # any page: the session goes into the origin's storage
        page.evaluate(
            "([token, id]) => localStorage.setItem('rocker.session', JSON.stringify("
            "{access_token: token, refresh_token: '', expires_at: 0, user: {id, email: ''}}))",
            [user.access_token, user.user_id],
        )
        page.goto("/admin/workers")
        page.wait_for_selector('body[data-ready="1"]', state="attached")
        error = page.locator('[data-testid="error"]')
        assert error.is_visible() and "only admins" in error.inner_text()
    finally:
        context.close()
