"""A cookie jar for virtual users that costs nothing while there are no cookies.

Locust's FastHttpUser gives every user a standard `http.cookiejar.CookieJar`,
which locks, walks its domains and scans the response headers on every
request. The platform authenticates with bearer tokens and sets no cookies,
so for the profiles that was pure overhead on every request. `QuietCookieJar`
skips that work while it holds no cookie and the response sets none, and
otherwise is the standard jar: a cookie the platform (or a proxy in front of
it) does set is kept and sent as before.

Pure (no Locust import), so the unit tests can check it.
"""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Any


class QuietCookieJar(CookieJar):
    def add_cookie_header(self, request: Any) -> None:
        if self._cookies:  # type: ignore[attr-defined]  # the standard jar's store: domain -> path -> name
            super().add_cookie_header(request)

    def extract_cookies(self, response: Any, request: Any) -> None:
        headers = response.info()  # case-insensitive, as in the standard library and geventhttpclient
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response, request)
