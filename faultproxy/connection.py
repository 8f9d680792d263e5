"""A proxied TCP connection: client socket, upstream socket and the two links between them.

Closing follows Toxiproxy: when one direction reaches end of stream (after its toxics),
the socket it writes to is closed outright; the other direction then sees its source
end and closes the other socket. There is no TCP half-close through a proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable, Mapping
from typing import cast

from gauntlet.faultproxy.link import Behaviour, Link
from gauntlet.faultproxy.metrics import ByteCounters
from gauntlet.faultproxy.model import DOWNSTREAM, UPSTREAM, ToxicSpec

_LINGER_ZERO = struct.pack("ii", 1, 0)


class Side(asyncio.Protocol):
    """One socket of a connection; it is also the sink of the link that writes to it."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.transport: asyncio.Transport | None = None
        self.source_of: Link | None = None  # the link this socket feeds
        self.counters = ByteCounters()  # sent bytes of the link writing here, once wired
        # link.Outlet's `saturated`, as a plain attribute: it is read on every chunk.
        self.saturated = False
        self._finished = False
        self._drain_callbacks: list[Callable[[], None]] = []
        self._early: list[bytes] = []
        self._eof = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but they implement it.
        self.transport = cast(asyncio.Transport, transport)
        if self is self.connection.client:
            # Nothing may be read from the client before the upstream is connected.
            self.transport.pause_reading()
            self.connection.on_client(self.connection)

    def data_received(self, data: bytes) -> None:
        if self.source_of is not None:
            self.source_of.feed(data)
        else:
            # uvloop may deliver data despite pause_reading() in connection_made.
            self._early.append(data)
            self.pause_reading()

    def eof_received(self) -> bool:
        self._eof = True
        if self.source_of is not None:
            self.source_of.finish()
        return True  # keep writing until the other direction is done

    def connection_lost(self, exc: Exception | None) -> None:
        self._finished = True
        self.saturated = False
        self._eof = True
        self._fire_drained()
        if self.source_of is not None:
            self.source_of.finish()
        self.connection.side_lost(self)

    def start_feeding(self, link: Link) -> None:
        """Feed ``link`` from now on, starting with anything read before it existed."""
        self.source_of = link
        early, self._early = self._early, []
        for data in early:
            link.feed(data)
        if self._eof:
            link.finish()
        else:
            self.resume_reading()

    def pause_writing(self) -> None:
        self.saturated = True

    def resume_writing(self) -> None:
        self.saturated = False
        self._fire_drained()

    # link.Outlet
    def push(self, data: bytes, stamp: float) -> None:
        transport = self.transport
        if transport is None or self._finished or transport.is_closing():
            return
        transport.write(data)
        self.counters.sent += len(data)

    def finish(self) -> None:
        if not self._finished:
            self._finished = True
            if self.transport is not None:
                self.transport.close()

    def when_drained(self, callback: Callable[[], None]) -> None:
        if self.saturated and not self._finished:
            self._drain_callbacks.append(callback)
        else:
            callback()

    def _fire_drained(self) -> None:
        callbacks, self._drain_callbacks = self._drain_callbacks, []
        for callback in callbacks:
            callback()

    def pause_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def abort(self, *, reset: bool = False) -> None:
        self._finished = True
        transport = self.transport
        if transport is None:
            return
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER 0 makes close() send RST instead of FIN, like Toxiproxy's SetLinger(0).
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        transport.abort()


class Connection:
    """The client and upstream sockets of one accepted connection."""

    def __init__(
        self,
        on_client: Callable[[Connection], None],
        on_closed: Callable[[Connection], None],
        behaviours: Mapping[str, Behaviour],
    ) -> None:
        self.client = Side(self)
        self.upstream: Side | None = None
        self.links: dict[str, Link] = {}
        self.on_client = on_client
        self._on_closed = on_closed
        self._behaviours = behaviours
        self._lost: set[int] = set()
        self.closed = False

    def wire(
        self,
        upstream: Side,
        toxics: Mapping[str, list[ToxicSpec]],
        counters: Mapping[str, ByteCounters],
    ) -> None:
        """Start both links once the upstream socket is connected."""
        client = self.client
        self.upstream = upstream
        up = Link(client, upstream, toxics[UPSTREAM], counters[UPSTREAM], self._behaviours, self)
        down = Link(upstream, client, toxics[DOWNSTREAM], counters[DOWNSTREAM], self._behaviours, self)
        self.links = {UPSTREAM: up, DOWNSTREAM: down}
        upstream.counters, client.counters = counters[UPSTREAM], counters[DOWNSTREAM]
        upstream.start_feeding(down)
        client.start_feeding(up)

    def reset(self) -> None:
        """Close both sockets with RST (reset_peer)."""
        self.client.abort(reset=True)
        if self.upstream is not None:
            self.upstream.abort(reset=True)

    def abort(self) -> None:
        """Close both sockets now (proxy disabled, removed or changed)."""
        self.client.abort()
        if self.upstream is not None:
            self.upstream.abort()

    def side_lost(self, side: Side) -> None:
        self._lost.add(id(side))
        sides = [self.client] + ([self.upstream] if self.upstream is not None else [])
        if all(id(other) in self._lost for other in sides) and not self.closed:
            self.closed = True
            for link in self.links.values():
                link.cancel()
            self._on_closed(self)
