"""Run the built-in Toxiproxy server: one process, one event loop (uvloop when available)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from gauntlet.faultproxy.api import ToxiproxyApi
from gauntlet.faultproxy.http_server import HttpServer
from gauntlet.faultproxy.model import VERSION
from gauntlet.faultproxy.proxy import ProxyCollection

log = logging.getLogger(__name__)


async def serve(
    host: str,
    port: int,
    *,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the API on ``host:port`` until ``stop`` is set (or the task is cancelled)."""
    collection = ProxyCollection()
    http = HttpServer(ToxiproxyApi(collection))
    server = await asyncio.start_server(http.handle_connection, host, port, reuse_address=True)
    bound = ", ".join(str(sock.getsockname()[:2]) for sock in server.sockets)
    log.info("action=toxiproxy_started version=%s address=%s", VERSION, bound)
    try:
        if ready is not None:
            ready.set()
        await (stop or asyncio.Event()).wait()
    finally:
        server.close()
        await http.close()
        await collection.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
        log.info("action=toxiproxy_stopped")


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency, but it is only speed
        return asyncio.new_event_loop
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def run(host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, then close every proxy and connection and return."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(host, port, stop=stop)

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main())
