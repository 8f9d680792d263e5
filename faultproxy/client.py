"""A thin typed synchronous client for the Toxiproxy 2.x HTTP API (real server or built-in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, cast
from urllib.parse import quote

import httpx

from gauntlet.faultproxy.model import split_host_port

DEFAULT_URL = "http://127.0.0.1:8474"
_USER_AGENT = "gauntlet-toxiproxy-client"  # never Mozilla/: Toxiproxy refuses browsers


class ToxiproxyError(Exception):
    """The API answered with an error: ``status`` is the HTTP status, ``message`` its text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"toxiproxy: {message} (HTTP {status})")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, int | float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Toxic:
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            stream=str(data["stream"]),
            toxicity=float(data["toxicity"]),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: list[Toxic] = field(default_factory=list)

    @property
    def listen_port(self) -> int:
        return split_host_port(self.listen)[1]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proxy:
        return cls(
            name=str(data["name"]),
            listen=str(data["listen"]),
            upstream=str(data["upstream"]),
            enabled=bool(data["enabled"]),
            toxics=[Toxic.from_json(toxic) for toxic in data.get("toxics") or []],
        )


class ToxiproxyClient:
    """Drives a Toxiproxy server over HTTP; every failure is a ``ToxiproxyError``."""

    def __init__(self, url: str = DEFAULT_URL, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers={"User-Agent": _USER_AGENT})

    def __enter__(self) -> ToxiproxyClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, body: object = None) -> Any:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ToxiproxyError(0, f"cannot reach {self.url}: {exc}") from exc
        if response.status_code >= 400:
            raise ToxiproxyError(response.status_code, _error_message(response))
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ToxiproxyError(response.status_code, f"not JSON: {response.text[:200]!r}") from exc

    def version(self) -> str:
        data = self._request("GET", "/version")
        return str(data["version"]) if isinstance(data, dict) else str(data)

    def is_running(self) -> bool:
        try:
            self.version()
        except ToxiproxyError:
            return False
        return True

    def proxies(self) -> dict[str, Proxy]:
        data = cast(dict[str, Any], self._request("GET", "/proxies"))
        return {name: Proxy.from_json(proxy) for name, proxy in data.items()}

    def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0", *, enabled: bool = True) -> Proxy:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return Proxy.from_json(self._request("POST", "/proxies", body))

    def populate(self, proxies: list[dict[str, object]]) -> list[Proxy]:
        data = cast(dict[str, Any], self._request("POST", "/populate", proxies))
        return [Proxy.from_json(proxy) for proxy in data.get("proxies") or []]

    def get_proxy(self, name: str) -> Proxy:
        return Proxy.from_json(self._request("GET", f"/proxies/{_segment(name)}"))

    def update_proxy(
        self,
        name: str,
        *,
        enabled: bool | None = None,
        listen: str | None = None,
        upstream: str | None = None,
    ) -> Proxy:
        fields = {"enabled": enabled, "listen": listen, "upstream": upstream}
        body = {key: value for key, value in fields.items() if value is not None}
        return Proxy.from_json(self._request("POST", f"/proxies/{_segment(name)}", body))

    def delete_proxy(self, name: str) -> None:
        self._request("DELETE", f"/proxies/{_segment(name)}")

    def add_toxic(
        self,
        proxy: str,
        type: str,
        *,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, int | float] | None = None,
    ) -> Toxic:
        body: dict[str, object] = {
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes or {},
        }
        if name is not None:
            body["name"] = name
        return Toxic.from_json(self._request("POST", f"/proxies/{_segment(proxy)}/toxics", body))

    def update_toxic(
        self,
        proxy: str,
        name: str,
        *,
        toxicity: float | None = None,
        attributes: dict[str, int | float] | None = None,
    ) -> Toxic:
        body: dict[str, object] = {}
        if toxicity is not None:
            body["toxicity"] = toxicity
        if attributes is not None:
            body["attributes"] = attributes
        path = f"/proxies/{_segment(proxy)}/toxics/{_segment(name)}"
        return Toxic.from_json(self._request("POST", path, body))

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._request("DELETE", f"/proxies/{_segment(proxy)}/toxics/{_segment(name)}")

    def reset(self) -> None:
        self._request("POST", "/reset")


def _segment(value: str) -> str:
    return quote(value, safe="")


def _error_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return response.text.strip()
