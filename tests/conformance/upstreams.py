"""Small threaded TCP servers on 127.0.0.1 used as proxy upstreams, plus client-side probes."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType

Handler = Callable[[socket.socket], None]


class TcpUpstream:
    """Accepts on a free 127.0.0.1 port and runs ``handler`` per connection in a thread."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self.address = f"127.0.0.1:{self.port}"
        self.accepted = 0
        self._stopping = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def __enter__(self) -> TcpUpstream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(10.0)  # a stuck test must not hang a handler thread forever
            with self._lock:
                self.accepted += 1
                self._conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            self._handler(conn)

    def close(self) -> None:
        self._stopping.set()
        self._listener.close()
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.close()
        self._thread.join(2)


def echo(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def sender(payload: bytes, *, then_close: bool = True) -> Handler:
    """Send ``payload`` as soon as the connection opens (in one send call), then close."""

    def handle(conn: socket.socket) -> None:
        conn.sendall(payload)
        if then_close:
            conn.shutdown(socket.SHUT_WR)
            with contextlib.suppress(OSError):
                while conn.recv(65536):
                    pass
        else:
            while conn.recv(65536):
                pass

    return handle


def on_request(payload: bytes) -> Handler:
    """Answer every read with ``payload`` (one send call per read)."""

    def handle(conn: socket.socket) -> None:
        while conn.recv(65536):
            conn.sendall(payload)

    return handle


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def recv_until_closed(sock: socket.socket, *, limit: float = 10.0) -> tuple[bytes, list[int]]:
    """Everything until EOF (bytes, sizes of each recv), failing after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    data = bytearray()
    sizes: list[int] = []
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(data), sizes
        sizes.append(len(chunk))
        data += chunk
    raise TimeoutError(f"connection still open after {limit}s ({len(data)} bytes read)")


def read_to_close(sock: socket.socket, *, limit: float = 5.0) -> bytes:
    """Everything until the peer closes, by FIN or by RST (servers differ on which)."""
    data = bytearray()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk
    raise TimeoutError(f"connection still open after {limit}s ({len(data)} bytes read)")


def round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    """Seconds for ``payload`` to come back through an echo upstream."""
    started = time.perf_counter()
    sock.sendall(payload)
    echoed = recv_exactly(sock, len(payload))
    assert echoed == payload, f"echo returned {echoed!r}, sent {payload!r}"
    return time.perf_counter() - started


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@contextlib.contextmanager
def upstream(handler: Handler) -> Iterator[TcpUpstream]:
    server = TcpUpstream(handler)
    try:
        yield server
    finally:
        server.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
