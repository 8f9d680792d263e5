"""One direction of a proxied connection: source -> toxic stages -> sink.

Like Toxiproxy's ToxicLink, each toxic runs as its own stage (an asyncio task reading
an inbox and writing to the next outlet), so toxics apply in order and can be added,
updated or removed while the connection is live. With no toxics the source writes
straight into the sink transport: the fast path has no task, queue or copy.

Flow control: every outlet reports ``saturated``; whoever pushes into a saturated
outlet waits for ``when_drained`` (the source by pausing its transport's reading).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from gauntlet.faultproxy.metrics import ByteCounters
from gauntlet.faultproxy.model import ToxicSpec

log = logging.getLogger(__name__)

# Enough to keep a latency toxic full at tens of MB/s without unbounded buffering.
CHANNEL_HIGH_WATER = 1 << 20
CHANNEL_LOW_WATER = CHANNEL_HIGH_WATER // 4


@dataclass(slots=True)
class Chunk:
    data: bytes
    stamp: float  # loop time the bytes were read from the socket; latency is relative to it


class Outlet(Protocol):
    """Where a source or a stage pushes bytes."""

    @property
    def saturated(self) -> bool: ...

    def push(self, data: bytes, stamp: float) -> None: ...

    def finish(self) -> None: ...

    def when_drained(self, callback: Callable[[], None]) -> None: ...


class Channel:
    """An unbounded FIFO with byte accounting; producers honour ``saturated`` themselves."""

    def __init__(self) -> None:
        self._chunks: deque[Chunk] = deque()
        self._bytes = 0
        self._eof = False
        self._getter: asyncio.Future[None] | None = None
        self._drain_callbacks: list[Callable[[], None]] = []

    @property
    def saturated(self) -> bool:
        return self._bytes >= CHANNEL_HIGH_WATER

    def push(self, data: bytes, stamp: float) -> None:
        if self._eof:
            return
        self._chunks.append(Chunk(data, stamp))
        self._bytes += len(data)
        self._wake_getter()

    def finish(self) -> None:
        self._eof = True
        self._wake_getter()

    def when_drained(self, callback: Callable[[], None]) -> None:
        if self.saturated:
            self._drain_callbacks.append(callback)
        else:
            callback()

    async def get(self) -> Chunk | None:
        """The next chunk, or None once the channel is finished and empty (every time after)."""
        while not self._chunks and not self._eof:
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        if not self._chunks:
            return None
        chunk = self._chunks.popleft()
        self._bytes -= len(chunk.data)
        if self._bytes <= CHANNEL_LOW_WATER:
            self._fire_drained()
        return chunk

    def take_all(self) -> tuple[list[Chunk], bool]:
        """Empty the channel (chunks, finished?) and release anyone waiting on it."""
        chunks = list(self._chunks)
        self._chunks.clear()
        self._bytes = 0
        self._fire_drained()
        return chunks, self._eof

    def _wake_getter(self) -> None:
        if self._getter is not None and not self._getter.done():
            self._getter.set_result(None)

    def _fire_drained(self) -> None:
        callbacks, self._drain_callbacks = self._drain_callbacks, []
        for callback in callbacks:
            callback()


class Source(Protocol):
    """The socket a link reads from; paused while the link's head is saturated."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class ConnectionControl(Protocol):
    """What a stage may do to the whole connection (reset_peer)."""

    def reset(self) -> None: ...


class Behaviour(Protocol):
    """A toxic's effect: consumes the stage's inbox until the stage ends or is interrupted."""

    async def __call__(self, stage: Stage) -> None: ...


class Stage:
    """One toxic on one connection direction (Toxiproxy's ToxicStub)."""

    def __init__(
        self,
        spec: ToxicSpec,
        output: Outlet,
        behaviours: Mapping[str, Behaviour],
        connection: ConnectionControl,
    ) -> None:
        self.spec = spec
        self.inbox = Channel()
        self.output = output
        self.state: dict[str, int] = {}  # per-connection toxic state, kept across updates
        self.pending: Chunk | None = None  # taken from the inbox, owed to the output
        self.closed = False
        self.connection = connection
        self._behaviours = behaviours
        self._loop = asyncio.get_running_loop()
        self.active = False
        self._task: asyncio.Task[None] | None = None
        self.start()

    @property
    def attributes(self) -> Mapping[str, int]:
        return self.spec.attributes

    def now(self) -> float:
        return self._loop.time()

    def start(self) -> None:
        # Toxicity is drawn when the toxic attaches to this connection, not per chunk.
        self.active = random.random() < self.spec.toxicity
        behaviour = self._behaviours[self.spec.type if self.active else "noop"]
        self._task = self._loop.create_task(self._run(behaviour))

    async def _run(self, behaviour: Behaviour) -> None:
        try:
            await behaviour(self)
        except Exception:  # a broken toxic ends its connection rather than stalling it
            log.exception("action=toxic_failed toxic=%s type=%s", self.spec.name, self.spec.type)
            self.close()

    async def interrupt(self) -> None:
        """Stop the running toxic; ``pending`` then holds what it still owed downstream."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def take(self) -> Chunk | None:
        """The next input chunk (None at end of stream); it is pending until sent or dropped."""
        chunk = await self.inbox.get()
        self.pending = chunk
        return chunk

    async def send(self, data: bytes, stamp: float, remainder: Chunk | None = None) -> None:
        """Push ``data`` on; ``remainder`` is what is still owed if interrupted while waiting."""
        if data:
            self.output.push(data, stamp)
        self.pending = remainder
        if self.output.saturated:
            drained: asyncio.Future[None] = self._loop.create_future()

            def release() -> None:
                if not drained.done():
                    drained.set_result(None)

            self.output.when_drained(release)
            await drained

    def close(self) -> None:
        """End this direction's stream here (the toxic closed the link)."""
        self.pending = None
        self.closed = True
        self.output.finish()

    def flush_pending(self) -> None:
        if self.pending is not None and not self.closed:
            self.output.push(self.pending.data, self.pending.stamp)
        self.pending = None


class Link:
    """The pipeline for one direction of one connection."""

    def __init__(
        self,
        source: Source,
        sink: Outlet,
        specs: list[ToxicSpec],
        counters: ByteCounters,
        behaviours: Mapping[str, Behaviour],
        connection: ConnectionControl,
    ) -> None:
        self.source = source
        self.sink = sink
        self.head: Outlet = sink
        self.stages: list[Stage] = []
        self.counters = counters
        self.finished = False
        self._behaviours = behaviours
        self._connection = connection
        self._source_paused = False
        self._clock = asyncio.get_running_loop().time
        for spec in specs:
            self.add(spec)

    def feed(self, data: bytes) -> None:
        """Bytes read from the source socket."""
        self.counters.received += len(data)
        head = self.head
        # The sink ignores the stamp; skip the clock on the no-toxic fast path.
        head.push(data, 0.0 if head is self.sink else self._clock())
        if head.saturated and not self._source_paused:
            self._source_paused = True
            self.source.pause_reading()
            head.when_drained(self._on_head_drained)

    def finish(self) -> None:
        """The source reached end of stream (or failed)."""
        if not self.finished:
            self.finished = True
            self.head.finish()

    def _on_head_drained(self) -> None:
        if self._source_paused:
            self._source_paused = False
            self.source.resume_reading()

    def _set_head(self, outlet: Outlet) -> None:
        self.head = outlet
        if self.finished:
            outlet.finish()
        # A source paused on the old head must not wait on it any more; the next
        # feed re-checks saturation against the new head.
        self._on_head_drained()

    def add(self, spec: ToxicSpec) -> None:
        """Append a toxic at the end of the chain, as Toxiproxy does."""
        stage = Stage(spec, self.sink, self._behaviours, self._connection)
        if self.stages:
            self.stages[-1].output = stage.inbox
        else:
            self._set_head(stage.inbox)
        self.stages.append(stage)

    def find(self, name: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.spec.name == name), None)

    async def update(self, spec: ToxicSpec) -> None:
        stage = self.find(spec.name)
        if stage is None:
            return
        await stage.interrupt()
        # Toxiproxy's interrupted toxics pass the chunk in hand on without effect.
        stage.flush_pending()
        stage.spec = spec
        if not stage.closed:
            stage.start()

    async def remove(self, name: str) -> None:
        stage = self.find(name)
        if stage is None:
            return
        await stage.interrupt()
        if stage not in self.stages:
            return
        if stage.active and stage.spec.type == "timeout" and not stage.closed:
            # Toxiproxy's timeout toxic closes the link when it is removed (its Cleanup).
            stage.close()
        stage.flush_pending()
        chunks, eof = stage.inbox.take_all()
        if not stage.closed:
            for chunk in chunks:
                stage.output.push(chunk.data, chunk.stamp)
            if eof:
                stage.output.finish()
        # Rewire only after the leftovers went out, so byte order is kept.
        index = self.stages.index(stage)
        if index > 0:
            self.stages[index - 1].output = stage.output
        else:
            self._set_head(stage.output)
        del self.stages[index]

    def cancel(self) -> None:
        for stage in self.stages:
            stage.cancel()
