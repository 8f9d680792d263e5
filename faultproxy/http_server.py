"""A small HTTP/1.1 server (h11 over asyncio streams) for the API, with keep-alive.

Hand-rolled rather than uvicorn so the server stays one event loop we own, headers are
exactly what Toxiproxy sends, and garbage on the wire costs one 400, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import urlsplit

import h11

from gauntlet.faultproxy.api import Request, Response, ToxiproxyApi

log = logging.getLogger(__name__)

MAX_BODY = 8 << 20
MAX_HEADERS = 64 << 10
IDLE_TIMEOUT = 60.0  # Go's IdleTimeout in Toxiproxy's API server
READ_TIMEOUT = 15.0  # Go's ReadTimeout


_KNOWN = {status.value for status in HTTPStatus}


class _BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class HttpServer:
    """Serves ``ToxiproxyApi`` on asyncio streams."""

    def __init__(self, api: ToxiproxyApi) -> None:
        self.api = api
        self._handlers: set[asyncio.Task[None]] = set()

    async def handle_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADERS)
        try:
            await self._serve(conn, reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # client gone, idle, or the server is shutting down
        except Exception:  # a bug must cost one connection, never the server
            log.exception("action=api_connection_failed")
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def close(self) -> None:
        for task in list(self._handlers):
            task.cancel()

    async def _serve(self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request = await self._read_request(conn, reader, writer)
            except _BadRequest as bad:
                await self._send_error(conn, writer, bad.status)
                return
            except h11.RemoteProtocolError as exc:
                await self._send_error(conn, writer, exc.error_status_hint)
                return
            if request is None:
                return
            response = await self.api.handle(request)
            await self._send(conn, writer, response)
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _next_event(self, conn: h11.Connection, reader: asyncio.StreamReader, timeout: float) -> object:
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await asyncio.wait_for(reader.read(65536), timeout)
            conn.receive_data(data)

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Request | None:
        event = await self._next_event(conn, reader, IDLE_TIMEOUT)
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise _BadRequest(400)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in event.headers}
        if conn.they_are_waiting_for_100_continue:
            writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")
        body = bytearray()
        while True:
            part = await self._next_event(conn, reader, READ_TIMEOUT)
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > MAX_BODY:
                    raise _BadRequest(413)
            elif isinstance(part, h11.EndOfMessage):
                break
            else:
                raise _BadRequest(400)
        target = event.target.decode("latin-1")
        return Request(
            method=event.method.decode("latin-1"),
            path=urlsplit(target).path or "/",
            user_agent=headers.get("user-agent", ""),
            body=bytes(body),
        )

    async def _send(self, conn: h11.Connection, writer: asyncio.StreamWriter, response: Response) -> None:
        headers = [("Date", formatdate(usegmt=True))]
        if response.content_type is not None:
            headers.append(("Content-Type", response.content_type))
        headers += list(response.headers)
        if response.status != 204:
            headers.append(("Content-Length", str(len(response.body))))
        reason = HTTPStatus(response.status).phrase.encode() if response.status in _KNOWN else b""
        data = conn.send(h11.Response(status_code=response.status, headers=headers, reason=reason)) or b""
        if response.body:
            data += conn.send(h11.Data(data=response.body)) or b""
        data += conn.send(h11.EndOfMessage()) or b""
        writer.write(data)
        await writer.drain()

    async def _send_error(self, conn: h11.Connection, writer: asyncio.StreamWriter, status: int) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = f"{status} Bad Request".encode() if status == 400 else b""
        response = Response(status, body, "text/plain; charset=utf-8", (("Connection", "close"),))
        with contextlib.suppress(h11.LocalProtocolError, ConnectionError):
            await self._send(conn, writer, response)
