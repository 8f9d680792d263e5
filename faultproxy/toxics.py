"""What each toxic does to the bytes of one connection direction.

Each behaviour mirrors the ``Pipe`` of the Toxiproxy toxic of the same name (times in
milliseconds unless said otherwise, bandwidth in KB/s with KB = 1000 bytes). A
behaviour loops on ``stage.take()`` until end of stream, then calls ``stage.close()``;
it may be cancelled at any await (toxic updated or removed), leaving in
``stage.pending`` whatever it still owes downstream.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping

from gauntlet.faultproxy.link import Behaviour, Chunk, Stage


async def noop(stage: Stage) -> None:
    while (chunk := await stage.take()) is not None:
        await stage.send(chunk.data, chunk.stamp)
    stage.close()


async def latency(stage: Stage) -> None:
    while (chunk := await stage.take()) is not None:
        delay_ms = stage.attributes["latency"]
        jitter = stage.attributes["jitter"]
        if jitter > 0:
            delay_ms += random.randrange(2 * jitter) - jitter
        # Relative to when the bytes were read, so back-to-back chunks do not add up.
        sleep = delay_ms / 1000 - (stage.now() - chunk.stamp)
        if sleep > 0:
            await asyncio.sleep(sleep)
        await stage.send(chunk.data, chunk.stamp + sleep)
    stage.close()


async def bandwidth(stage: Stage) -> None:
    rate = stage.attributes["rate"]  # bytes per millisecond
    debt = 0.0  # seconds of transmission owed; corrects for sleep overshoot like Toxiproxy
    while (chunk := await stage.take()) is not None:
        if rate <= 0:
            # Toxiproxy never delivers anything at rate 0: hold the data until interrupted.
            await asyncio.get_running_loop().create_future()
        data = chunk.data
        debt += len(data) / rate / 1000
        slice_size = rate * 100  # what 100 ms carries
        while len(data) > slice_size:
            await asyncio.sleep(0.1)
            piece, data = data[:slice_size], data[slice_size:]
            await stage.send(piece, chunk.stamp, Chunk(data, chunk.stamp))
            debt -= 0.1
        started = stage.now()
        if debt > 0:
            await asyncio.sleep(debt)
        debt -= stage.now() - started
        await stage.send(data, chunk.stamp)
    stage.close()


async def slow_close(stage: Stage) -> None:
    while (chunk := await stage.take()) is not None:
        await stage.send(chunk.data, chunk.stamp)
    await asyncio.sleep(stage.attributes["delay"] / 1000)
    stage.close()


async def timeout(stage: Stage) -> None:
    limit = stage.attributes["timeout"] / 1000
    while True:
        try:
            # Toxiproxy restarts its timer on every chunk it drops.
            chunk = await (asyncio.wait_for(stage.take(), limit) if limit > 0 else stage.take())
        except TimeoutError:
            break
        stage.pending = None  # dropped on the floor, never owed
        if chunk is None:
            break
    stage.close()


async def reset_peer(stage: Stage) -> None:
    await stage.take()
    stage.pending = None
    await asyncio.sleep(stage.attributes["timeout"] / 1000)
    stage.closed = True
    stage.connection.reset()


def slice_offsets(start: int, end: int, average: int, variation: int) -> list[tuple[int, int]]:
    """Split ``[start, end)`` into pieces of about ``average`` bytes, +/- ``variation``."""
    if (end - start) - average <= variation or end - start < 2:
        return [(start, end)]
    jitter = random.randrange(2 * variation) - variation if variation > 0 else 0
    mid = start + (end - start) // 2 + jitter
    return slice_offsets(start, mid, average, variation) + slice_offsets(mid, end, average, variation)


async def slicer(stage: Stage) -> None:
    while (chunk := await stage.take()) is not None:
        average = stage.attributes["average_size"]
        variation = stage.attributes["size_variation"]
        data = chunk.data
        for begin, end in slice_offsets(0, len(data), average, variation):
            rest = Chunk(data[end:], chunk.stamp) if end < len(data) else None
            await stage.send(data[begin:end], chunk.stamp, rest)
            stage.pending = rest
            await asyncio.sleep(stage.attributes["delay"] / 1_000_000)
        stage.pending = None
    stage.close()


async def limit_data(stage: Stage) -> None:
    limit = stage.attributes["bytes"]
    while (chunk := await stage.take()) is not None:
        sent = stage.state.get("bytes_transmitted", 0)
        allowed = chunk.data[: max(limit - sent, 0)]
        stage.state["bytes_transmitted"] = sent + len(allowed)
        await stage.send(allowed, chunk.stamp)
        if stage.state["bytes_transmitted"] >= limit:
            break
    stage.close()


BEHAVIOURS: Mapping[str, Behaviour] = {
    "noop": noop,
    "latency": latency,
    "bandwidth": bandwidth,
    "slow_close": slow_close,
    "timeout": timeout,
    "reset_peer": reset_peer,
    "slicer": slicer,
    "limit_data": limit_data,
}
