"""Routes, status codes, defaults and error bodies of the Toxiproxy 2.x HTTP API."""

from __future__ import annotations

import socket

import httpx
import pytest

from gauntlet.faultproxy.client import ToxiproxyClient, ToxiproxyError

from .conftest import ToxiproxyTarget
from .upstreams import TcpUpstream, connect, echo, read_to_close, recv_until_closed, round_trip, upstream, wait_for


def assert_error(response: httpx.Response, status: int, message: str) -> None:
    """Toxiproxy's error body: ``{"error": message, "status": status}``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == message
    assert body["status"] == status


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def port_of(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


def test_version_is_json_with_a_2x_version(http: httpx.Client) -> None:
    response = http.get("/version")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["version"].lstrip("v").startswith("2.")


def test_create_proxy_returns_201_with_the_real_listen_port(http: httpx.Client, echo_upstream: TcpUpstream) -> None:
    response = http.post("/proxies", json={"name": "echo", "listen": "127.0.0.1:0", "upstream": echo_upstream.address})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"name", "listen", "upstream", "enabled", "toxics"}
    assert body["name"] == "echo"
    assert body["upstream"] == echo_upstream.address
    assert body["enabled"] is True
    assert body["toxics"] == []
    port = port_of(body["listen"])
    assert port != 0
    with connect(port) as sock:
        assert round_trip(sock, b"through the proxy") < 2.0


def test_proxy_index_is_an_object_keyed_by_name(http: httpx.Client, client: ToxiproxyClient) -> None:
    assert http.get("/proxies").json() == {}
    client.create_proxy("one", "127.0.0.1:1")
    client.create_proxy("two", "127.0.0.1:2", enabled=False)
    body = http.get("/proxies").json()
    assert sorted(body) == ["one", "two"]
    assert body["two"]["enabled"] is False
    assert body["one"]["upstream"] == "127.0.0.1:1"


def test_disabled_proxy_is_created_without_listening(client: ToxiproxyClient) -> None:
    proxy = client.create_proxy("off", "127.0.0.1:1", listen="127.0.0.1:0", enabled=False)
    assert proxy.enabled is False
    assert proxy.listen == "127.0.0.1:0"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"upstream": "127.0.0.1:1"}, "missing required field: name"),
        ({"name": "", "upstream": "127.0.0.1:1"}, "missing required field: name"),
        ({"name": "x"}, "missing required field: upstream"),
        ({}, "missing required field: name"),
    ],
)
def test_create_proxy_without_required_fields_is_400(http: httpx.Client, body: dict[str, object], message: str) -> None:
    assert_error(http.post("/proxies", json=body), 400, message)
    assert http.get("/proxies").json() == {}


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'{"name": 5, "upstream": "127.0.0.1:1"}', b"{"])
def test_create_proxy_with_a_bad_body_is_400(http: httpx.Client, raw: bytes) -> None:
    response = http.post("/proxies", content=raw)
    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert response.json()["error"].startswith("bad request body")


def test_duplicate_proxy_is_409(http: httpx.Client, client: ToxiproxyClient) -> None:
    client.create_proxy("dup", "127.0.0.1:1")
    response = http.post("/proxies", json={"name": "dup", "upstream": "127.0.0.1:2", "listen": "127.0.0.1:0"})
    assert_error(response, 409, "proxy already exists")
    assert client.get_proxy("dup").upstream == "127.0.0.1:1"


def test_listen_address_in_use_is_500(http: httpx.Client) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        response = http.post(
            "/proxies", json={"name": "busy", "upstream": "127.0.0.1:1", "listen": f"127.0.0.1:{port}"}
        )
    assert response.status_code == 500
    assert response.json()["status"] == 500
    assert "address already in use" in response.json()["error"]
    assert http.get("/proxies").json() == {}


def test_unknown_proxy_is_404_on_every_route(http: httpx.Client) -> None:
    for method, path in [
        ("GET", "/proxies/ghost"),
        ("POST", "/proxies/ghost"),
        ("PATCH", "/proxies/ghost"),
        ("DELETE", "/proxies/ghost"),
        ("GET", "/proxies/ghost/toxics"),
        ("POST", "/proxies/ghost/toxics"),
        ("GET", "/proxies/ghost/toxics/t"),
        ("PATCH", "/proxies/ghost/toxics/t"),
        ("DELETE", "/proxies/ghost/toxics/t"),
    ]:
        body = b'{"type": "latency"}' if method in ("POST", "PATCH") else None
        assert_error(http.request(method, path, content=body), 404, "proxy not found")


def test_show_proxy(http: httpx.Client, client: ToxiproxyClient) -> None:
    created = client.create_proxy("shown", "127.0.0.1:1")
    body = http.get("/proxies/shown").json()
    assert body == {"name": "shown", "listen": created.listen, "upstream": "127.0.0.1:1", "enabled": True, "toxics": []}


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_disabling_closes_listener_and_connections_but_keeps_toxics(
    http: httpx.Client, client: ToxiproxyClient, echo_upstream: TcpUpstream, method: str
) -> None:
    proxy = client.create_proxy("flip", echo_upstream.address)
    client.add_toxic("flip", "latency", attributes={"latency": 1})
    with connect(proxy.listen_port) as sock:
        round_trip(sock)
        response = http.request(method, "/proxies/flip", json={"enabled": False})
        assert response.status_code == 200
        body = response.json()
        assert body["enabled"] is False
        assert body["listen"] == proxy.listen  # fields left out keep their values
        assert body["upstream"] == echo_upstream.address
        assert [toxic["name"] for toxic in body["toxics"]] == ["latency_downstream"]
        assert read_to_close(sock) == b""
    assert not is_listening(proxy.listen_port)
    enabled = http.request(method, "/proxies/flip", json={"enabled": True}).json()
    assert enabled["enabled"] is True
    assert enabled["listen"] == proxy.listen
    with connect(proxy.listen_port) as sock:
        round_trip(sock)


def test_changing_upstream_restarts_the_proxy(client: ToxiproxyClient, echo_upstream: TcpUpstream) -> None:
    proxy = client.create_proxy("moving", echo_upstream.address)
    with upstream(lambda conn: conn.sendall(b"second")) as second:
        with connect(proxy.listen_port) as sock:
            round_trip(sock)
            updated = client.update_proxy("moving", upstream=second.address)
            assert updated.upstream == second.address
            assert updated.enabled is True
            assert read_to_close(sock) == b""  # live connection was closed
        with connect(updated.listen_port) as sock:
            assert recv_until_closed(sock, limit=5.0)[0] == b"second"


def test_changing_listen_moves_the_listener(client: ToxiproxyClient, echo_upstream: TcpUpstream) -> None:
    proxy = client.create_proxy("relisten", echo_upstream.address)
    updated = client.update_proxy("relisten", listen="127.0.0.1:0")
    assert updated.listen_port not in (0, proxy.listen_port)
    with connect(updated.listen_port) as sock:
        round_trip(sock)
    assert wait_for(lambda: not is_listening(proxy.listen_port), timeout=3.0)


def test_update_with_a_bad_body_is_400_and_changes_nothing(http: httpx.Client, client: ToxiproxyClient) -> None:
    client.create_proxy("kept", "127.0.0.1:1")
    response = http.patch("/proxies/kept", content=b"{nope")
    assert response.status_code == 400
    assert response.json()["error"].startswith("bad request body")
    assert client.get_proxy("kept").enabled is True


def test_delete_proxy_is_204_then_404(http: httpx.Client, client: ToxiproxyClient, echo_upstream: TcpUpstream) -> None:
    proxy = client.create_proxy("doomed", echo_upstream.address)
    with connect(proxy.listen_port) as sock:
        round_trip(sock)
        response = http.delete("/proxies/doomed")
        assert response.status_code == 204
        assert response.content == b""
        assert read_to_close(sock) == b""
    assert_error(http.get("/proxies/doomed"), 404, "proxy not found")
    assert_error(http.delete("/proxies/doomed"), 404, "proxy not found")
    assert wait_for(lambda: not is_listening(proxy.listen_port), timeout=3.0)


def test_toxic_defaults(http: httpx.Client, client: ToxiproxyClient) -> None:
    client.create_proxy("p", "127.0.0.1:1")
    response = http.post("/proxies/p/toxics", json={"type": "latency", "attributes": {"latency": 10}})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"name", "type", "stream", "toxicity", "attributes"}
    assert body["name"] == "latency_downstream"
    assert body["stream"] == "downstream"
    assert body["toxicity"] == 1.0
    assert body["attributes"] == {"latency": 10, "jitter": 0}
    upstream_toxic = http.post("/proxies/p/toxics", json={"type": "bandwidth", "stream": "upstream"}).json()
    assert upstream_toxic["name"] == "bandwidth_upstream"
    assert upstream_toxic["attributes"] == {"rate": 0}


def test_toxic_index_show_update_delete(http: httpx.Client, client: ToxiproxyClient) -> None:
    client.create_proxy("p", "127.0.0.1:1")
    assert http.get("/proxies/p/toxics").json() == []
    client.add_toxic("p", "latency", name="slow", attributes={"latency": 100, "jitter": 5})
    client.add_toxic("p", "limit_data", stream="upstream", attributes={"bytes": 7})
    listed = http.get("/proxies/p/toxics").json()
    assert isinstance(listed, list)
    assert {toxic["name"] for toxic in listed} == {"slow", "limit_data_upstream"}
    assert http.get("/proxies/p").json()["toxics"] == listed
    shown = http.get("/proxies/p/toxics/slow").json()
    assert shown == {
        "name": "slow",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"latency": 100, "jitter": 5},
    }
    for method, latency in (("POST", 200), ("PATCH", 300)):
        updated = http.request(method, "/proxies/p/toxics/slow", json={"attributes": {"latency": latency}})
        assert updated.status_code == 200
        assert updated.json()["attributes"] == {"latency": latency, "jitter": 5}  # merged, jitter kept
    retoxic = http.patch("/proxies/p/toxics/slow", json={"toxicity": 0.25}).json()
    assert retoxic["toxicity"] == 0.25
    assert retoxic["attributes"] == {"latency": 300, "jitter": 5}
    deleted = http.delete("/proxies/p/toxics/slow")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert [toxic["name"] for toxic in http.get("/proxies/p/toxics").json()] == ["limit_data_upstream"]
    assert_error(http.get("/proxies/p/toxics/slow"), 404, "toxic not found")
    assert_error(http.delete("/proxies/p/toxics/slow"), 404, "toxic not found")
    assert_error(http.patch("/proxies/p/toxics/slow", json={"toxicity": 1}), 404, "toxic not found")


def test_toxic_errors(http: httpx.Client, client: ToxiproxyClient) -> None:
    client.create_proxy("p", "127.0.0.1:1")
    client.add_toxic("p", "latency")
    assert_error(http.post("/proxies/p/toxics", json={"type": "latency"}), 409, "toxic already exists")
    assert_error(
        http.post("/proxies/p/toxics", json={"type": "latency", "stream": "sideways"}),
        400,
        "stream was invalid, can be either upstream or downstream",
    )
    assert_error(http.post("/proxies/p/toxics", json={"type": "gremlins"}), 400, "invalid toxic type")
    assert_error(http.post("/proxies/p/toxics", json={}), 400, "invalid toxic type")
    bad = http.post("/proxies/p/toxics", content=b"}{")
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("bad request body")
    wrong_type = http.post("/proxies/p/toxics", json={"type": "timeout", "attributes": {"timeout": "soon"}})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["error"].startswith("bad request body")
    assert [toxic.name for toxic in client.get_proxy("p").toxics] == ["latency_downstream"]


@pytest.mark.parametrize(
    "body",
    [
        {"type": "latency", "attributes": {"latency": -5}},
        {"type": "latency", "attributes": {"latnecy": 5}},
        {"type": "latency", "toxicity": 1.5},
        {"type": "latency", "toxicity": -0.1},
        {"type": "bandwidth", "attributes": {"rate": 1.5}},
        {"type": "slicer", "attributes": {"average_size": 0}},
    ],
)
def test_builtin_refuses_out_of_range_or_unknown_attributes(
    target: ToxiproxyTarget, http: httpx.Client, client: ToxiproxyClient, body: dict[str, object]
) -> None:
    target.require_builtin("Toxiproxy accepts negative values, unknown attributes and any toxicity")
    client.create_proxy("p", "127.0.0.1:1")
    response = http.post("/proxies/p/toxics", json=body)
    assert response.status_code == 400
    assert response.json()["error"].startswith("bad request body: ")
    assert http.get("/proxies/p/toxics").json() == []
    client.add_toxic("p", "latency", attributes={"latency": 1})
    update = http.patch("/proxies/p/toxics/latency_downstream", json={"attributes": {"jitter": -1}})
    assert update.status_code == 400
    assert client.get_proxy("p").toxics[0].attributes == {"latency": 1, "jitter": 0}


def test_reset_enables_everything_and_removes_toxics(http: httpx.Client, client: ToxiproxyClient) -> None:
    client.create_proxy("a", "127.0.0.1:1")
    client.create_proxy("b", "127.0.0.1:2")
    client.add_toxic("a", "latency", attributes={"latency": 100})
    client.add_toxic("b", "timeout", stream="upstream")
    client.update_proxy("b", enabled=False)
    response = http.post("/reset")
    assert response.status_code == 204
    assert response.content == b""
    proxies = client.proxies()
    assert sorted(proxies) == ["a", "b"]  # nothing deleted
    assert all(proxy.enabled and proxy.toxics == [] for proxy in proxies.values())
    assert is_listening(proxies["b"].listen_port)


def test_populate_creates_keeps_replaces_and_leaves_unlisted(
    http: httpx.Client, client: ToxiproxyClient, echo_upstream: TcpUpstream
) -> None:
    same = client.create_proxy("same", echo_upstream.address)
    client.add_toxic("same", "latency", attributes={"latency": 1})
    client.create_proxy("changed", "127.0.0.1:1")
    client.add_toxic("changed", "latency", attributes={"latency": 1})
    client.create_proxy("unlisted", "127.0.0.1:3")
    response = http.post(
        "/populate",
        json=[
            {"name": "same", "listen": same.listen, "upstream": echo_upstream.address},
            {"name": "changed", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:2"},
            {"name": "fresh", "listen": "127.0.0.1:0", "upstream": echo_upstream.address},
            {"name": "idle", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:4", "enabled": False},
        ],
    )
    assert response.status_code == 201
    body = response.json()
    assert [proxy["name"] for proxy in body["proxies"]] == ["same", "changed", "fresh", "idle"]
    proxies = client.proxies()
    assert sorted(proxies) == ["changed", "fresh", "idle", "same", "unlisted"]
    assert [toxic.name for toxic in proxies["same"].toxics] == ["latency_downstream"]  # untouched
    assert proxies["same"].listen == same.listen
    assert proxies["changed"].upstream == "127.0.0.1:2"
    assert proxies["changed"].toxics == []  # replaced without toxics
    assert proxies["idle"].enabled is False
    with connect(proxies["fresh"].listen_port) as sock:
        round_trip(sock)


def test_populate_validates_every_entry_before_applying_any(http: httpx.Client) -> None:
    response = http.post(
        "/populate",
        json=[
            {"name": "good", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"},
            {"name": "bad", "listen": "127.0.0.1:0"},
        ],
    )
    assert response.status_code == 400
    assert response.json()["error"] == "missing required field: upstream at proxy 2"
    assert response.json()["status"] == 400
    assert http.get("/proxies").json() == {}
    not_a_list = http.post("/populate", json={"name": "x", "upstream": "127.0.0.1:1"})
    assert not_a_list.status_code == 400
    assert not_a_list.json()["error"].startswith("bad request body")
    assert http.get("/proxies").json() == {}


def test_browsers_are_refused_with_403(http: httpx.Client) -> None:
    ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
    for method, path in (("GET", "/proxies"), ("GET", "/version"), ("POST", "/reset")):
        response = http.request(method, path, headers=ua)
        assert response.status_code == 403
        assert "User agent not allowed" in response.text
    assert http.get("/proxies", headers={"User-Agent": "curl/8.5 Mozilla/5.0"}).status_code == 200


def test_unknown_route_and_method(http: httpx.Client) -> None:
    assert http.get("/nowhere").status_code == 404
    assert http.put("/proxies").status_code == 405
    assert http.get("/reset").status_code == 405


def test_metrics_count_bytes_per_proxy_and_direction(
    target: ToxiproxyTarget, http: httpx.Client, client: ToxiproxyClient, echo_upstream: TcpUpstream
) -> None:
    proxy = client.create_proxy("metered", echo_upstream.address)
    payload = b"x" * 1000
    with connect(proxy.listen_port) as sock:
        round_trip(sock, payload)
    # Toxiproxy adds a link's bytes when the link ends, so wait for the close to be seen.
    wanted = [
        f'toxiproxy_proxy_{kind}_bytes_total{{direction="{direction}",listener="{proxy.listen}",'
        f'proxy="metered",upstream="{echo_upstream.address}"}} 1000'
        for kind in ("received", "sent")
        for direction in ("upstream", "downstream")
    ]

    def all_counted() -> bool:
        text = http.get("/metrics").text
        return all(line in text for line in wanted)

    assert wait_for(all_counted, timeout=5.0), http.get("/metrics").text


def test_typed_client_maps_errors(client: ToxiproxyClient) -> None:
    with pytest.raises(ToxiproxyError) as missing:
        client.get_proxy("nope")
    assert (missing.value.status, missing.value.message) == (404, "proxy not found")
    client.create_proxy("c", "127.0.0.1:1")
    with pytest.raises(ToxiproxyError) as exists:
        client.create_proxy("c", "127.0.0.1:1")
    assert (exists.value.status, exists.value.message) == (409, "proxy already exists")
    assert client.is_running()
    assert not ToxiproxyClient("http://127.0.0.1:1", timeout=0.5).is_running()


def test_toxiproxy_python_client_drives_the_server(target: ToxiproxyTarget, echo_upstream: TcpUpstream) -> None:
    import toxiproxy
    from toxiproxy.api import APIConsumer

    url = httpx.URL(target.url)
    saved = (APIConsumer.host, APIConsumer.port)
    server = toxiproxy.Toxiproxy()
    server.update_api_consumer(url.host, url.port)
    try:
        assert server.running()
        assert b'"version"' in server.version()
        proxy = server.create(upstream=echo_upstream.address, name="py")
        assert proxy.name in server.proxies()
        proxy.add_toxic(type="latency", attributes={"latency": 5})
        toxics = proxy.toxics()
        assert list(toxics) == ["latency_downstream"]
        assert toxics["latency_downstream"].attributes["latency"] == 5
        listen_port = port_of(server.get_proxy("py").listen)
        with proxy.down():
            assert server.get_proxy("py").enabled is False
            assert not is_listening(listen_port)
        assert server.get_proxy("py").enabled is True
        with connect(listen_port) as sock:
            round_trip(sock)
        proxy.destroy_toxic("latency_downstream")
        assert proxy.toxics() == {}
        assert server.reset()
        server.destroy(proxy)
        assert server.proxies() == {}
    finally:
        APIConsumer.host, APIConsumer.port = saved


def test_echo_upstream_helper_is_sane() -> None:
    with upstream(echo) as server, connect(server.port) as sock:
        assert round_trip(sock, b"abc") < 2.0


def test_real_toxiproxy_server_is_on_path() -> None:
    """Reports, as one skip with its reason, when the real server could not be compared."""
    from .conftest import NO_REAL_SERVER, real_server_binary

    binary = real_server_binary()
    if binary is None:
        pytest.skip(NO_REAL_SERVER)
    import subprocess

    shown = subprocess.run([binary, "-version"], capture_output=True, text=True, timeout=10, check=False)
    assert "2." in shown.stdout + shown.stderr, "the conformance suite targets Toxiproxy 2.x"
