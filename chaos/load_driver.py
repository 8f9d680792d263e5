"""A small, bounded background load for drills: an open model at a constant arrival rate.

Requests are sent on a fixed schedule whatever the platform does (a closed
model would slow down with the platform and hide the fault), from a weighted
mix of platform requests spread over a few signed-in users so the per-user
edge rate limits are never the thing measured. Each request becomes one
`Sample`; the runner cuts them into before / during / after windows.

Bounded: at most `max_in_flight` requests at once (beyond that a request is
recorded as dropped, an error), at most `MAX_DURATION_S` of sending, and only
to the target's API.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from gauntlet.chaos.context import DrillUser
from gauntlet.chaos.experiment import LoadSpec, RequestGroup
from gauntlet.chaos.windows import NO_RESPONSE, Sample
from gauntlet.load.arrivals import ArrivalSchedule

MAX_DURATION_S = 900.0  # a drill's load never outlives this, whatever happens to the drill
SIGNAL_NAME = "chaos.load"  # the intent signals the load writes (their metadata carries run and seq)
# The error code of a 503 that says "the connection was lost mid-write: it may or may not be stored".
OUTCOME_UNKNOWN = "outcome_unknown"


@dataclass(frozen=True, slots=True)
class LoadRequest:
    method: str
    path: str
    body: dict[str, Any] | None
    token: str | None
    signal_seq: int | None = None  # for emit_signal: the sequence number the write carries


@dataclass(frozen=True, slots=True)
class RequestPlan:
    """What a request kind may draw on to build one request."""

    run_id: str
    users: list[DrillUser]
    interest_ids: list[str]


Builder = Callable[[RequestPlan, random.Random, int], LoadRequest]


def _rpc(function: str, body: dict[str, Any], token: str | None, seq: int | None = None) -> LoadRequest:
    return LoadRequest("POST", f"/rest/v1/rpc/{function}", body, token, seq)


def _user(plan: RequestPlan, rng: random.Random) -> str | None:
    return rng.choice(plan.users).token if plan.users else None


def _health(plan: RequestPlan, rng: random.Random, seq: int) -> LoadRequest:
    return LoadRequest("GET", "/functions/v1/health", None, None)


def _catalog_browse(plan: RequestPlan, rng: random.Random, seq: int) -> LoadRequest:
    return _rpc("interest_catalog_browse", {"p_limit": 20, "p_offset": rng.randrange(0, 200)}, _user(plan, rng))


def _suggestions(plan: RequestPlan, rng: random.Random, seq: int) -> LoadRequest:
    return _rpc("marketplace_suggestions_for_user", {"p_limit": 12}, _user(plan, rng))


def _my_interests(plan: RequestPlan, rng: random.Random, seq: int) -> LoadRequest:
    return _rpc("my_interests", {}, _user(plan, rng))


def _interests_upsert(plan: RequestPlan, rng: random.Random, seq: int) -> LoadRequest:
    if not plan.interest_ids:
        return _my_interests(plan, rng, seq)
    body = {"p_interest_id": rng.choice(plan.interest_ids), "p_affinity": round(rng.uniform(0.1, 0.9), 2)}
    return _rpc("user_interests_upsert", body, _user(plan, rng))


def _emit_signal(plan: RequestPlan, rng: random.Random, seq: int) -> LoadRequest:
    body = {"p_name": SIGNAL_NAME, "p_metadata": {"chaos_run": plan.run_id, "seq": seq}}
    return _rpc("emit_signal", body, _user(plan, rng), seq)


# name -> (group, builder). Replica reads are the RPCs the API sends to a replica (REPLICA_READS).
REQUEST_KINDS: Mapping[str, tuple[RequestGroup, Builder]] = {
    "health": ("health", _health),
    "catalog_browse": ("replica_read", _catalog_browse),
    "suggestions": ("replica_read", _suggestions),
    "my_interests": ("primary_read", _my_interests),
    "interests_upsert": ("write", _interests_upsert),
    "emit_signal": ("write", _emit_signal),
}


def _error_code(response: httpx.Response) -> str | None:
    """The `code` of the platform's JSON error body, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


class LoadDriver:
    """Runs `spec` against `api_url` from `start()` until `stop()`; `samples()` at any time."""

    def __init__(
        self,
        api_url: str,
        spec: LoadSpec,
        plan: RequestPlan,
        *,
        seed: int | None = None,
        max_duration_s: float = MAX_DURATION_S,
        transport: httpx.AsyncBaseTransport | None = None,  # tests drive a fake platform through this
        on_sample: Callable[[Sample], None] | None = None,  # each request as it completes (`--out`)
    ) -> None:
        unknown = sorted(set(spec.mix) - set(REQUEST_KINDS))
        if unknown:
            raise ValueError(f"unknown request kinds {unknown}; known: {', '.join(REQUEST_KINDS)}")
        self._api_url = api_url
        self._spec = spec
        self._plan = plan
        self._rng = random.Random(seed)
        self._kinds = [kind for kind, weight in spec.mix.items() if weight > 0]
        self._weights = [spec.mix[kind] for kind in self._kinds]
        self._max_duration_s = max_duration_s
        self._transport = transport
        self._on_sample = on_sample
        self._samples: list[Sample] = []
        self._signals: dict[int, int] = {}  # emit_signal seq -> HTTP status (NO_RESPONSE if none)
        self._signals_in_doubt: set[int] = set()  # emit_signal seqs answered "outcome_unknown"
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._scheduler: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        limits = httpx.Limits(max_connections=self._spec.max_in_flight, max_keepalive_connections=50)
        self._client = httpx.AsyncClient(
            base_url=self._api_url, limits=limits, timeout=self._spec.request_timeout_s, transport=self._transport
        )
        self._scheduler = asyncio.create_task(self._schedule(), name="chaos-load")

    async def stop(self) -> None:
        """Stop sending; wait for what is in flight (bounded by the request timeout), then close."""
        self._stop.set()
        if self._scheduler is not None:
            await self._scheduler
        if self._in_flight:
            _, late = await asyncio.wait(self._in_flight, timeout=self._spec.request_timeout_s + 1)
            for task in late:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*late, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def samples(self) -> list[Sample]:
        return list(self._samples)

    def signal_outcomes(self) -> dict[int, int]:
        """The intent signals the load tried to write: seq -> HTTP status it got (0: no answer)."""
        return dict(self._signals)

    def signals_in_doubt(self) -> set[int]:
        """The intent signals the platform said may or may not have been stored (connection lost mid-write)."""
        return set(self._signals_in_doubt)

    @property
    def run_id(self) -> str:
        return self._plan.run_id

    async def _schedule(self) -> None:
        # The harness's one arrival grammar (load/arrivals.py), bounded by the driver's lifetime; it
        # runs until stop() rather than to the schedule's end, and records statuses, not just latencies,
        # so it keeps its own loop instead of load/async_pacing.py's fixed-length run.
        loop = asyncio.get_running_loop()
        schedule = ArrivalSchedule(rate_per_s=self._spec.rate_per_s, duration_s=self._max_duration_s)
        started = loop.time()
        for seq in range(schedule.total):
            delay = started + schedule.due_at(seq) - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
            if self._stop.is_set():
                return
            kind = self._rng.choices(self._kinds, weights=self._weights)[0]
            group, build = REQUEST_KINDS[kind]
            request = build(self._plan, self._rng, seq)
            if len(self._in_flight) >= self._spec.max_in_flight:
                # The platform is not answering fast enough: a dropped request is an error, not a wait
                # (waiting would turn this into a closed model and hide the fault).
                self._record(request, kind, group, time.time(), 0.0, NO_RESPONSE, retry_after=False)
                continue
            task = asyncio.create_task(self._send(request, kind, group))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _send(self, request: LoadRequest, kind: str, group: RequestGroup) -> None:
        assert self._client is not None
        headers = {"Authorization": f"Bearer {request.token}"} if request.token else {}
        sent_at = time.time()
        began = time.perf_counter()
        status, retry_after = NO_RESPONSE, False
        try:
            response = await self._client.request(request.method, request.path, json=request.body, headers=headers)
            status, retry_after = response.status_code, "retry-after" in response.headers
            if request.signal_seq is not None and status == 503 and _error_code(response) == OUTCOME_UNKNOWN:
                self._signals_in_doubt.add(request.signal_seq)
        except (httpx.HTTPError, OSError):
            pass  # refused, reset or timed out: NO_RESPONSE
        finally:
            latency_ms = (time.perf_counter() - began) * 1000
            self._record(request, kind, group, sent_at, latency_ms, status, retry_after=retry_after)

    def _record(
        self,
        request: LoadRequest,
        kind: str,
        group: RequestGroup,
        sent_at: float,
        latency_ms: float,
        status: int,
        *,
        retry_after: bool,
    ) -> None:
        sample = Sample(sent_at, round(latency_ms, 3), status, kind, group, retry_after)
        self._samples.append(sample)
        if self._on_sample is not None:
            self._on_sample(sample)
        if request.signal_seq is not None:
            self._signals[request.signal_seq] = status
