"""Proxies: a listener, its live connections and its toxics; and the collection of them."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
from collections.abc import Iterable

from gauntlet.faultproxy.connection import Connection, Side
from gauntlet.faultproxy.link import Link
from gauntlet.faultproxy.metrics import ByteCounters, LinkLabels, ProxyMetrics
from gauntlet.faultproxy.model import (
    DIRECTIONS,
    PROXY_ALREADY_EXISTS,
    PROXY_NOT_FOUND,
    TOXIC_ALREADY_EXISTS,
    TOXIC_NOT_FOUND,
    ApiError,
    ProxyInput,
    ToxicSpec,
    join_host_port,
    split_host_port,
)
from gauntlet.faultproxy.toxics import BEHAVIOURS

_BACKLOG = 1024


def _listen_error(listen: str, detail: str, status: int = 500) -> ApiError:
    # Go's net.OpError wording, which Toxiproxy passes through with status 500. Gauntlet answers
    # 400 for an address that is not valid (bad syntax or port, unknown host): the caller's to fix;
    # 500 stays for a valid address that cannot be bound (in use, not permitted, not local).
    return ApiError(f"listen tcp {listen}: {detail}", status)


async def resolve_listen(listen: str) -> tuple[int, str, int]:
    """(family, ip, port) a listen address binds to; an empty host means every interface."""
    try:
        # Go listens on every interface, on a free port, for an empty address.
        host, port = split_host_port(listen) if listen else ("", 0)
    except ValueError as exc:
        raise _listen_error(listen, str(exc), 400) from None
    if host == "":
        return (socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET), ("::" if socket.has_ipv6 else ""), port
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return (socket.AF_INET6 if ip.version == 6 else socket.AF_INET), str(ip), port
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):  # ValueError: a NUL in the name; UnicodeError: a label IDNA refuses
        raise _listen_error(listen, f"lookup {host}: no such host", 400) from None
    # Go listens on the first IPv4 address of a name when there is one.
    family, _, _, _, sockaddr = sorted(infos, key=lambda info: info[0] != socket.AF_INET)[0]
    return family, str(sockaddr[0]), port


async def normalised_listen(listen: str) -> str:
    """The listen address as the proxy would report it (Go's ResolveTCPAddr().String())."""
    family, ip, port = await resolve_listen(listen)
    return join_host_port(ip, port) if ip or family == socket.AF_INET else f":{port}"


async def bind_listener(listen: str) -> tuple[socket.socket, str]:
    family, ip, port = await resolve_listen(listen)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and ip == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((ip, port))
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise _listen_error(listen, f"bind: {reason[:1].lower()}{reason[1:]}") from None
    return sock, join_host_port(ip or "::", sock.getsockname()[1])


class Proxy:
    """One named proxy (Toxiproxy's Proxy plus its ToxicCollection)."""

    def __init__(self, spec: ProxyInput, metrics: ProxyMetrics) -> None:
        self.name = spec.name
        self.listen = spec.listen
        self.upstream = spec.upstream
        self.enabled = False
        self.toxics: dict[str, list[ToxicSpec]] = {direction: [] for direction in DIRECTIONS}
        self.connections: set[Connection] = set()
        self._metrics = metrics
        self._server: asyncio.Server | None = None
        self._dials: set[asyncio.Task[None]] = set()

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [toxic.to_json() for toxic in self.toxic_list()],
        }

    def toxic_list(self) -> list[ToxicSpec]:
        return [toxic for direction in DIRECTIONS for toxic in self.toxics[direction]]

    def find_toxic(self, name: str) -> ToxicSpec:
        for toxic in self.toxic_list():
            if toxic.name == name:
                return toxic
        raise TOXIC_NOT_FOUND

    async def start(self) -> None:
        if self.enabled:
            return
        sock, self.listen = await bind_listener(self.listen)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, sock=sock, backlog=_BACKLOG)
        self.enabled = True

    async def stop(self) -> None:
        """Close the listener and every open connection; toxics stay."""
        if not self.enabled:
            return
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._dials):
            task.cancel()
        for connection in list(self.connections):
            connection.abort()
        if server is not None:
            await server.wait_closed()

    async def differs(self, spec: ProxyInput) -> bool:
        """Whether ``spec`` asks for another listen address or upstream (Toxiproxy's Differs)."""
        if spec.upstream != self.upstream:
            return True
        try:
            return await normalised_listen(spec.listen) != self.listen
        except ApiError:
            return True

    async def update(self, spec: ProxyInput) -> None:
        if await self.differs(spec):
            if spec.enabled:
                await resolve_listen(spec.listen)  # an invalid address is refused before the proxy stops
            await self.stop()
            self.listen, self.upstream = spec.listen, spec.upstream
        if spec.enabled and not self.enabled:
            await self.start()
        elif not spec.enabled:
            await self.stop()

    def add_toxic(self, toxic: ToxicSpec) -> None:
        if any(existing.name == toxic.name for existing in self.toxic_list()):
            raise TOXIC_ALREADY_EXISTS
        self.toxics[toxic.direction].append(toxic)
        for connection in self.connections:
            if connection.links:
                connection.links[toxic.direction].add(toxic)

    async def update_toxic(self, toxic: ToxicSpec) -> None:
        chain = self.toxics[toxic.direction]
        chain[[existing.name for existing in chain].index(toxic.name)] = toxic
        await asyncio.gather(*(link.update(toxic) for link in self._links(toxic.direction)))

    async def remove_toxic(self, name: str) -> None:
        toxic = self.find_toxic(name)
        self.toxics[toxic.direction].remove(toxic)
        await asyncio.gather(*(link.remove(name) for link in self._links(toxic.direction)))

    async def remove_all_toxics(self) -> None:
        for toxic in self.toxic_list():
            await self.remove_toxic(toxic.name)

    def _links(self, direction: str) -> Iterable[Link]:
        return [c.links[direction] for c in self.connections if c.links]

    # data plane
    def _accept(self) -> Side:
        connection = Connection(self._dial, self.connections.discard, BEHAVIOURS)
        self.connections.add(connection)
        return connection.client

    def _dial(self, connection: Connection) -> None:
        task = asyncio.get_running_loop().create_task(self._connect_upstream(connection))
        self._dials.add(task)
        task.add_done_callback(self._dials.discard)

    async def _connect_upstream(self, connection: Connection) -> None:
        loop = asyncio.get_running_loop()
        try:
            host, port = split_host_port(self.upstream)
            _, side = await loop.create_connection(lambda: Side(connection), host, port)
        except (OSError, ValueError):
            # Toxiproxy closes the client when the upstream cannot be reached.
            connection.client.finish()
            return
        except asyncio.CancelledError:
            connection.abort()
            raise
        if connection.closed or not self.enabled:
            side.abort()
            return
        counters: dict[str, ByteCounters] = {
            direction: self._metrics.counters(LinkLabels(direction, self.name, self.listen, self.upstream))
            for direction in DIRECTIONS
        }
        connection.wire(side, self.toxics, counters)


class ProxyCollection:
    """Every proxy by name; one lock serialises changes, as Toxiproxy's mutexes do."""

    def __init__(self) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.metrics = ProxyMetrics()
        self.lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise PROXY_NOT_FOUND
        return proxy

    async def add(self, spec: ProxyInput) -> Proxy:
        if spec.name in self.proxies:
            raise PROXY_ALREADY_EXISTS
        proxy = Proxy(spec, self.metrics)
        if spec.enabled:
            await proxy.start()
        self.proxies[spec.name] = proxy
        return proxy

    async def remove(self, name: str) -> None:
        proxy = self.get(name)
        del self.proxies[name]
        await proxy.stop()

    async def populate(self, specs: list[ProxyInput]) -> list[Proxy]:
        """Add or replace each listed proxy; unchanged ones keep their toxics, others stay."""
        for spec in specs:
            if spec.enabled:
                await resolve_listen(spec.listen)  # refuse bad addresses before changing anything
        before = dict(self.proxies)
        replaced: list[tuple[Proxy, bool]] = []  # with whether it was enabled
        started: list[Proxy] = []
        result: list[Proxy] = []
        try:
            for spec in specs:
                existing = self.proxies.get(spec.name)
                if existing is not None:
                    if not await existing.differs(spec):
                        result.append(existing)
                        continue
                    replaced.append((existing, existing.enabled))
                    await existing.stop()
                proxy = Proxy(spec, self.metrics)
                if spec.enabled:
                    await proxy.start()
                    started.append(proxy)
                self.proxies[spec.name] = proxy
                result.append(proxy)
        except ApiError:
            for proxy in started:
                await proxy.stop()
            self.proxies = before
            for proxy, was_enabled in replaced:
                if was_enabled:
                    with contextlib.suppress(ApiError):
                        await proxy.start()
            raise
        return result

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic; nothing is deleted."""
        for proxy in list(self.proxies.values()):
            await proxy.start()
            await proxy.remove_all_toxics()

    async def close(self) -> None:
        for proxy in list(self.proxies.values()):
            await proxy.stop()
