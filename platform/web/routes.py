"""The web pages people and journeys use: `/signup`, `/onboarding`, `/home`, `/cart`, ...

Each page is a server-rendered shell (Jinja2 templates in `templates/`); its
script (in `static/`) calls the platform's RPCs with the signed-in user's JWT,
kept in localStorage, so a journey through the pages exercises the real RPC
surface. Every element a journey touches carries a stable `data-testid`.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from gauntlet.platform.api.deps import platform_state
from gauntlet.platform.api.errors import ApiError
from gauntlet.platform.settings import PlatformSettings

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
_STATIC_NAME = re.compile(r"^[a-z0-9_]+\.(js|css)$")
_MEDIA = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
# Where a page may send the user after logging in: a path on this site and nothing else. One slash,
# then no second slash or backslash (browsers read `/\\host`, `//host` and `/<tab>/host` as another
# host), then printable ASCII only (no spaces, control characters or backslashes anywhere).
SAFE_NEXT = re.compile(r"^/(?![/\\])[!-\[\]-~]*$")
MAX_NEXT_LENGTH = 2048
DEFAULT_NEXT = "/home?lane=for_you"

router = APIRouter(tags=["web"], include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Page:
    template: str
    title: str
    script: str
    signed_in: bool = True  # the shell sends anonymous visitors to /login


PAGES: dict[str, Page] = {
    "signup": Page("signup.html", "Sign up", "auth", signed_in=False),
    "login": Page("login.html", "Log in", "auth", signed_in=False),
    "onboarding": Page("onboarding.html", "Welcome", "onboarding"),
    "home": Page("home.html", "Home", "feed"),
    "discover": Page("discover.html", "Discover", "discover"),
    "profile": Page("profile.html", "Profile", "feed"),
    "listing": Page("listing.html", "Listing", "listing"),
    "listing_new": Page("listing_new.html", "New listing", "listing"),
    "cart": Page("cart.html", "Cart", "cart"),
    "calendar": Page("calendar.html", "Calendar", "calendar"),
    "notifications": Page("notifications.html", "Notifications", "notifications"),
    "earnings": Page("earnings.html", "Earnings", "earnings"),
    "admin_workers": Page("admin_workers.html", "Workers", "admin_workers"),
}


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a typo in a template is an error, not an empty string
    )


def faults(settings: PlatformSettings) -> dict[str, bool]:
    """The web fault switches in force; honoured only in development, so a deployment cannot break itself."""
    if settings.environment != "development":
        return {"no_cart_suppression": False, "no_live_badge": False}
    return {
        "no_cart_suppression": settings.fault_web_no_cart_suppression,
        "no_live_badge": settings.fault_web_no_live_badge,
    }


def safe_next(raw: str | None) -> str | None:
    """`raw` when it is a same-origin path the login page may send the user to, else None."""
    if raw is None or len(raw) > MAX_NEXT_LENGTH or SAFE_NEXT.match(raw) is None:
        return None
    return raw


def render(request: Request, name: str, **params: Any) -> HTMLResponse:
    page = PAGES[name]
    settings = platform_state(request).settings
    config = {"page": name, "signedIn": page.signed_in, "params": params, "faults": faults(settings)}
    html = (
        _templates()
        .get_template(page.template)
        .render(
            page=page,
            name=name,
            params=params,
            # Embedded as JSON for the scripts; `</` is escaped so the data cannot close the script tag.
            config_json=json.dumps(config).replace("</", "<\\/"),
        )
    )
    # Pages are shells: the data is fetched per user by the script, so never cache the shell's HTML wrongly.
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _uuid(raw: str, what: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError(404, "not_found", f"No {what} with id {raw!r}") from None


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/home", status_code=303)


@router.get("/signup")
async def signup_page(request: Request) -> HTMLResponse:
    return render(request, "signup")


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    # The page sends the user only to what this rule let through (auth.js reads params.next).
    return render(request, "login", next=safe_next(request.query_params.get("next")) or DEFAULT_NEXT)


@router.get("/onboarding")
async def onboarding_page(request: Request) -> HTMLResponse:
    return render(request, "onboarding")


@router.get("/home")
async def home_page(request: Request, lane: str = "for_you") -> HTMLResponse:
    # Legacy lane names map as the feed kernel maps them (seed 003).
    lane = {"combined": "for_you", "personal": "following"}.get(lane, lane)
    if lane not in ("for_you", "following", "shop"):
        raise ApiError(404, "unknown_lane", f"No lane {lane!r}; lanes are for_you, following and shop")
    return render(request, "home", lane=lane)


@router.get("/discover")
async def discover_page(request: Request) -> HTMLResponse:
    return render(request, "discover")


@router.get("/profile/{entity_id}")
async def profile_page(request: Request, entity_id: str) -> HTMLResponse:
    return render(request, "profile", entity_id=_uuid(entity_id, "profile"))


@router.get("/listing/new")
async def listing_new_page(request: Request) -> HTMLResponse:
    return render(request, "listing_new")


@router.get("/listing/{listing_id}")
async def listing_page(request: Request, listing_id: str) -> HTMLResponse:
    return render(request, "listing", listing_id=_uuid(listing_id, "listing"))


@router.get("/cart")
async def cart_page(request: Request) -> HTMLResponse:
    return render(request, "cart")


@router.get("/calendar")
async def calendar_page(request: Request, scope: str = "following") -> HTMLResponse:
    if scope not in ("following", "all"):
        raise ApiError(404, "unknown_scope", f"No calendar scope {scope!r}; scopes are following and all")
    return render(request, "calendar", scope=scope)


@router.get("/notifications")
async def notifications_page(request: Request) -> HTMLResponse:
    return render(request, "notifications")


@router.get("/earnings")
async def earnings_page(request: Request) -> HTMLResponse:
    return render(request, "earnings")


@router.get("/admin/workers")
async def admin_workers_page(request: Request) -> HTMLResponse:
    return render(request, "admin_workers")


@router.get("/web/static/{name}")
async def static_file(name: str) -> FileResponse:
    # Only flat, known kinds of file: no path walks out of the static folder.
    match = _STATIC_NAME.match(name)
    path = STATIC_DIR / name
    if match is None or not path.is_file():
        raise ApiError(404, "not_found", f"No static file {name!r}")
    return FileResponse(path, media_type=_MEDIA[match.group(1)], headers={"Cache-Control": "no-cache"})
