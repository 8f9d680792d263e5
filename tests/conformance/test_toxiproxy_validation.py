"""Where the built-in server is stricter than Toxiproxy: proxy names and listen addresses (issue #16).

Toxiproxy answers 500 for any listen address it cannot use and accepts any proxy name,
even one with a `/` that no URL can address again. The built-in server answers 400 for
an invalid address or name and keeps 500 for a valid address that cannot be bound.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from .conftest import ToxiproxyTarget

INVALID_LISTEN = [
    "127.0.0.1:99999",  # port out of range
    "127.0.0.1:-1",
    "abc",  # no port
    "127.0.0.1:abc",
    "1:2:3",  # too many colons
    "[::1",  # unclosed bracket
    "no-such-host.invalid:0",  # does not resolve (RFC 2606 .invalid)
    "bad\x00host:0",
    "x" * 300 + ":0",
]
INVALID_NAMES = ["a/b", "/", "nul\x00name", "x" * 256, "x" * 1_000_000, "sp ace", "..", ".", "é", "a?b", "a%2Fb"]
VALID_NAMES = ["a", "pg_primary", "pg-replica.1", "A" * 255]


@pytest.mark.parametrize("listen", INVALID_LISTEN)
def test_invalid_listen_address_is_400_and_creates_nothing(
    target: ToxiproxyTarget, http: httpx.Client, listen: str
) -> None:
    target.require_builtin("Toxiproxy answers 500 for an invalid listen address")
    response = http.post("/proxies", json={"name": "bad_listen", "listen": listen, "upstream": "127.0.0.1:1"})
    assert response.status_code == 400, response.text
    assert response.json()["status"] == 400 and "listen" in response.json()["error"]
    assert http.get("/proxies").json() == {}


def test_invalid_listen_in_populate_and_update_is_400_and_changes_nothing(
    target: ToxiproxyTarget, http: httpx.Client
) -> None:
    target.require_builtin("Toxiproxy answers 500 for an invalid listen address")
    populate = http.post("/populate", json=[{"name": "p", "listen": "127.0.0.1:99999", "upstream": "127.0.0.1:1"}])
    assert populate.status_code == 400, populate.text
    created = http.post("/proxies", json={"name": "p", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}).json()
    moved = http.post("/proxies/p", json={"listen": "nowhere"})
    assert moved.status_code == 400, moved.text
    # Refused before anything changed: still listening where it was.
    assert http.get("/proxies/p").json()["listen"] == created["listen"]
    port = int(created["listen"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_valid_address_that_cannot_be_bound_is_still_500(target: ToxiproxyTarget, http: httpx.Client) -> None:
    target.require_builtin("the built-in server's split between 400 and 500")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = http.post(
            "/proxies",
            json={"name": "busy", "upstream": "127.0.0.1:1", "listen": f"127.0.0.1:{taken.getsockname()[1]}"},
        )
    assert busy.status_code == 500, busy.text
    not_local = http.post("/proxies", json={"name": "far", "upstream": "127.0.0.1:1", "listen": "192.0.2.1:0"})
    assert not_local.status_code == 500, not_local.text  # valid (TEST-NET-1) but not an address of this host


@pytest.mark.parametrize("name", INVALID_NAMES, ids=lambda n: repr(n[:12]) + f"-{len(n)}")
def test_proxy_names_outside_the_safe_set_are_400(target: ToxiproxyTarget, http: httpx.Client, name: str) -> None:
    target.require_builtin("Toxiproxy accepts any proxy name")
    response = http.post("/proxies", json={"name": name, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"})
    assert response.status_code == 400, response.text[:200]
    assert "invalid proxy name" in response.json()["error"]
    populate = http.post("/populate", json=[{"name": name, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}])
    assert populate.status_code == 400
    assert http.get("/proxies").json() == {}


@pytest.mark.parametrize("name", VALID_NAMES, ids=lambda n: n[:12])
def test_valid_names_can_be_addressed_after_creation(target: ToxiproxyTarget, http: httpx.Client, name: str) -> None:
    created = http.post("/proxies", json={"name": name, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"})
    assert created.status_code == 201, created.text
    assert http.get(f"/proxies/{name}").json()["name"] == name
    assert http.delete(f"/proxies/{name}").status_code == 204
