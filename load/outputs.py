"""Metrics out during a load run (k6's `--out`): a JSON line per request, and a Prometheus endpoint.

`--out json=FILE` appends one line per completed request, `{"time", "name", "ms", "ok"}`
(`time`: epoch seconds it finished; `ms`: its latency, what the HDR recorder records). Each load
generator writes its own requests: the one local process, or, with `--workers`, every worker,
appending whole lines to the same FILE (one `write` per batch of complete lines, so lines
never interleave); a remote `--worker` writes FILE on its own machine.

`--out prometheus[=HOST:PORT]` (default 127.0.0.1:9646) serves `/metrics` while the run lasts:
`gauntlet_load_requests_total`, `gauntlet_load_request_failures_total` and the histogram
`gauntlet_load_request_duration_seconds` (successful requests, as the HDR percentiles), each
labelled by request `name`. The local process feeds it per request; with workers the master
serves it, fed by the HDR deltas every worker ships each report interval (every 3 s).

`--out otlp[=URL]` (default http://127.0.0.1:4318/v1/metrics, an OpenTelemetry Collector's OTLP/HTTP
receiver) pushes the same three as OpenTelemetry metrics (`gauntlet.load.requests`,
`gauntlet.load.request.failures`, the histogram `gauntlet.load.request.duration` in ms; attribute
`name`) every 5 s and once more at the end of the run; fed like the Prometheus endpoint.

`gauntlet chaos run DRILL --out ...` gives the same outputs for a drill's background load (one
process: `RequestOutputs`, fed from the load driver's every sample; `name` is the request kind).

Specs are parsed here (pure); `JsonLines` and `LiveMetrics` are the writers the Locust process
calls from Gauntlet's request listener.
"""

from __future__ import annotations

import bisect
import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypedDict
from urllib.parse import urlparse

from hdrh.histogram import HdrHistogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from gauntlet.base.errors import GauntletError

OutputKind = Literal["json", "prometheus", "otlp"]
KINDS = ("json", "prometheus", "otlp")
DEFAULT_PROMETHEUS = "127.0.0.1:9646"
DEFAULT_OTLP = "http://127.0.0.1:4318/v1/metrics"
OTLP_EXPORT_EVERY_S = 5.0
# Latency bucket bounds (seconds) of the Prometheus histogram; HDR keeps the exact percentiles.
BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
FLUSH_LINES = 512  # a JSON output writes at least this often (and once a second, and at the end)
FLUSH_EVERY_S = 1.0
USAGE = "write --out json=FILE, --out prometheus[=HOST:PORT], --out otlp[=URL] or --out DIR (the results folder)"


@dataclass(frozen=True, slots=True)
class Subject:
    """What the metrics count, which names them: `{prefix}_{word}s_total`, `{prefix}_{word}_failures_total`,
    `{prefix}_{word}_duration_seconds` (OTLP: dots for underscores, the duration in ms)."""

    prefix: str
    word: str
    buckets_s: tuple[float, ...]

    def name(self, what: str, separator: str = "_") -> str:
        return f"{self.prefix}_{what}".replace("_", separator)


LOAD = Subject("gauntlet_load", "request", BUCKETS_S)


class OutputProblem(GauntletError):
    """An `--out` that cannot work as given."""


class OutputDict(TypedDict):
    kind: OutputKind
    target: str  # json: an absolute file path; prometheus: HOST:PORT; otlp: the OTLP/HTTP metrics URL


@dataclass(frozen=True, slots=True)
class OutSplit:
    folder: Path | None
    outputs: tuple[OutputDict, ...]


def split_out(values: Sequence[str] | None) -> OutSplit:
    """`--out` values: at most one results folder, plus metric outputs (`KIND=...` or `prometheus`)."""
    folder: Path | None = None
    outputs: list[OutputDict] = []
    for value in values or ():
        kind, sep, rest = value.partition("=")
        if kind in KINDS or (sep and kind.isalpha() and "/" not in kind):
            outputs.append(_output(value, kind, rest, has_value=bool(sep)))
        elif folder is not None:
            raise OutputProblem(f"--out {value!r}: a second results folder (already {str(folder)!r}); {USAGE}")
        else:
            folder = Path(value)
    kinds = [o["kind"] for o in outputs]
    for kind in set(kinds):
        if kinds.count(kind) > 1:
            raise OutputProblem(f"--out {kind}= given twice; give each output once")
    return OutSplit(folder, tuple(outputs))


def _output(value: str, kind: str, rest: str, *, has_value: bool) -> OutputDict:
    if kind == "otlp":
        url = rest if has_value else DEFAULT_OTLP
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise OutputProblem(f"--out {value!r}: give the OTLP/HTTP metrics URL, e.g. --out otlp={DEFAULT_OTLP}")
        return OutputDict(kind="otlp", target=url)
    if kind == "json":
        if not rest:
            raise OutputProblem(f"--out {value!r}: name the file, e.g. --out json=requests.jsonl")
        return OutputDict(kind="json", target=str(Path(rest).expanduser().resolve()))
    if kind == "prometheus":
        address = rest if has_value else DEFAULT_PROMETHEUS
        host, colon, port = address.rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) <= 65535:
            raise OutputProblem(f"--out {value!r}: give HOST:PORT, e.g. --out prometheus={DEFAULT_PROMETHEUS}")
        return OutputDict(kind="prometheus", target=address)
    raise OutputProblem(f"--out {value!r}: unknown output {kind!r}; {USAGE}")


def checked_out(values: Sequence[str] | None) -> OutSplit:
    """`split_out`, then every Prometheus address refused now if it is taken: all checked before anything runs."""
    split = split_out(values)
    _check_listeners(split.outputs)
    return split


def streams_only(values: Sequence[str] | None, *, files_go_to: str) -> tuple[OutputDict, ...]:
    """`--out` for a command without a results folder (drills, the monitor): metric outputs only, checked."""
    split = split_out(values)
    if split.folder is not None:
        raise OutputProblem(
            f"--out {str(split.folder)!r}: {files_go_to}; --out takes json=FILE, prometheus[=HOST:PORT] or otlp[=URL]"
        )
    _check_listeners(split.outputs)
    return split.outputs


def _check_listeners(outputs: Sequence[OutputDict]) -> None:
    for output in outputs:
        if output["kind"] == "prometheus":
            check_can_listen(output)


def check_can_listen(output: OutputDict) -> None:
    """Refuse a Prometheus address that is taken now, before Locust starts (exit 2, naming it)."""
    host, _, port = output["target"].rpartition(":")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), int(port)))
        except OSError as exc:
            raise OutputProblem(
                f"--out prometheus={output['target']}: cannot listen there ({exc.strerror or exc}); "
                "pick a free port, e.g. --out prometheus=127.0.0.1:9647"
            ) from None


def request_line(*, at_s: float, name: str, latency_ms: float, ok: bool) -> str:
    """One request as a JSON line (pure)."""
    return json.dumps({"time": round(at_s, 6), "name": name, "ms": round(latency_ms, 3), "ok": ok}) + "\n"


class JsonLines:
    """Appends request lines to a file; whole lines per `write`, so several processes can share it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._pending: list[str] = []
        self._flushed_at = time.monotonic()

    def record(self, *, at_s: float, name: str, latency_ms: float, ok: bool) -> None:
        self._pending.append(request_line(at_s=at_s, name=name, latency_ms=latency_ms, ok=ok))
        if len(self._pending) >= FLUSH_LINES or time.monotonic() - self._flushed_at >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        self._flushed_at = time.monotonic()
        if not self._pending:
            return
        data = "".join(self._pending).encode()
        self._pending = []
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])

    def close(self) -> None:
        self.flush()
        os.close(self._fd)


@dataclass
class NameSeries:
    buckets: list[int]  # one per bound, the last +Inf
    requests: int = 0
    failures: int = 0
    sum_s: float = 0.0


class RequestMetrics(Protocol):
    """A metrics output fed per request (local) or per worker delta (master)."""

    def record(self, name: str, latency_ms: float, *, ok: bool) -> None: ...

    def add(self, name: str, *, requests: int, failures: int, histogram: HdrHistogram) -> None: ...

    def close(self) -> None: ...


class LiveMetrics(Collector):
    """Per request name counters and a latency histogram, as Prometheus reads them at each scrape."""

    def __init__(self, subject: Subject = LOAD) -> None:
        self.subject = subject
        self.names: dict[str, NameSeries] = {}

    def _series(self, name: str) -> NameSeries:
        series = self.names.get(name)
        if series is None:
            series = self.names[name] = NameSeries([0] * (len(self.subject.buckets_s) + 1))
        return series

    def record(self, name: str, latency_ms: float, *, ok: bool) -> None:
        """One request (the local process)."""
        series = self._series(name)
        series.requests += 1
        if not ok:
            series.failures += 1
            return
        seconds = latency_ms / 1000.0
        series.buckets[bisect.bisect_left(self.subject.buckets_s, seconds)] += 1
        series.sum_s += seconds

    def add(self, name: str, *, requests: int, failures: int, histogram: HdrHistogram) -> None:
        """A worker's delta for one name (the master): counts, and the HDR latencies (microseconds)."""
        series = self._series(name)
        series.requests += requests
        series.failures += failures
        for item in histogram.get_recorded_iterator():
            seconds = float(item.value_iterated_to) / 1_000_000.0
            count = int(item.count_at_value_iterated_to)
            series.buckets[bisect.bisect_left(self.subject.buckets_s, seconds)] += count
            series.sum_s += seconds * count

    def close(self) -> None:
        """Nothing to flush: Prometheus pulls."""

    def collect(self) -> Iterator[Metric]:
        word = self.subject.word
        requests = CounterMetricFamily(self.subject.name(f"{word}s"), f"{word}s completed", labels=["name"])
        failures = CounterMetricFamily(self.subject.name(f"{word}_failures"), f"{word}s failed", labels=["name"])
        latency = HistogramMetricFamily(
            self.subject.name(f"{word}_duration_seconds"), f"Duration of successful {word}s", labels=["name"]
        )
        for name, series in sorted(self.names.items()):
            requests.add_metric([name], series.requests)
            failures.add_metric([name], series.failures)
            latency.add_metric([name], _cumulative(self.subject.buckets_s, series.buckets), series.sum_s)
        yield requests
        yield failures
        yield latency


def _cumulative(bounds_s: Iterable[float], buckets: Iterable[int]) -> list[tuple[str, float]]:
    bounds = [*(repr(b) for b in bounds_s), "+Inf"]
    total = 0
    out = []
    for bound, count in zip(bounds, buckets, strict=True):
        total += count
        out.append((bound, float(total)))
    return out


def serve_metrics(live: LiveMetrics, address: str) -> Callable[[], None]:
    """Serve `live` on http://HOST:PORT/metrics (a daemon thread); returns what stops it."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(live)
    host, _, port = address.rpartition(":")
    server, thread = start_http_server(int(port), addr=host.strip("[]"), registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop


class OtlpMetrics:
    """The same counters and latency histogram, pushed as OpenTelemetry metrics over OTLP/HTTP."""

    def __init__(self, url: str, *, subject: Subject = LOAD, export_every_s: float = OTLP_EXPORT_EVERY_S) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource

        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=url, timeout=5), export_interval_millis=export_every_s * 1000
        )
        self._provider = MeterProvider(
            metric_readers=[reader], resource=Resource.create({"service.name": subject.prefix.replace("_", "-")})
        )
        meter = self._provider.get_meter(subject.prefix.replace("_", "."))
        word = subject.word
        self._requests = meter.create_counter(
            subject.name(f"{word}s", "."), unit=f"{{{word}}}", description=f"{word}s completed"
        )
        self._failures = meter.create_counter(
            subject.name(f"{word}_failures", "."), unit=f"{{{word}}}", description=f"{word}s failed"
        )
        self._latency = meter.create_histogram(
            subject.name(f"{word}_duration", "."),
            unit="ms",
            description=f"Duration of successful {word}s",
            explicit_bucket_boundaries_advisory=[b * 1000.0 for b in subject.buckets_s],
        )

    def record(self, name: str, latency_ms: float, *, ok: bool) -> None:
        labels = {"name": name}
        self._requests.add(1, labels)
        if ok:
            self._latency.record(latency_ms, labels)
        else:
            self._failures.add(1, labels)

    def add(self, name: str, *, requests: int, failures: int, histogram: HdrHistogram) -> None:
        labels = {"name": name}
        self._requests.add(requests, labels)
        self._failures.add(failures, labels)
        for item in histogram.get_recorded_iterator():
            latency_ms = float(item.value_iterated_to) / 1000.0
            for _ in range(int(item.count_at_value_iterated_to)):
                self._latency.record(latency_ms, labels)

    def close(self) -> None:
        """Export what is left, then stop (the last push carries the run's final counts)."""
        self._provider.shutdown()


def open_metrics(output: OutputDict, subject: Subject = LOAD) -> RequestMetrics:
    """A Prometheus endpoint (serving from now on) or an OTLP pusher, for a `prometheus`/`otlp` output."""
    if output["kind"] == "otlp":
        return OtlpMetrics(output["target"], subject=subject)
    live = LiveMetrics(subject)
    stop = serve_metrics(live, output["target"])
    return _Served(live, stop)


class _Served:
    """A Prometheus collector and the server showing it; closing stops the server."""

    def __init__(self, live: LiveMetrics, stop: Callable[[], None]) -> None:
        self.live, self._stop = live, stop

    def record(self, name: str, latency_ms: float, *, ok: bool) -> None:
        self.live.record(name, latency_ms, ok=ok)

    def add(self, name: str, *, requests: int, failures: int, histogram: HdrHistogram) -> None:
        self.live.add(name, requests=requests, failures=failures, histogram=histogram)

    def close(self) -> None:
        self._stop()


class RequestOutputs:
    """Every `--out` of one process that records all its requests itself (a drill's background load)."""

    def __init__(self, outputs: Sequence[OutputDict], subject: Subject = LOAD) -> None:
        self.json_out: JsonLines | None = None
        self.metrics: list[RequestMetrics] = []
        for output in outputs:
            if output["kind"] == "json":
                self.json_out = JsonLines(Path(output["target"]))
            else:
                self.metrics.append(open_metrics(output, subject))

    def record(self, *, at_s: float, name: str, latency_ms: float, ok: bool) -> None:
        if self.json_out is not None:
            self.json_out.record(at_s=at_s, name=name, latency_ms=latency_ms, ok=ok)
        for metrics in self.metrics:
            metrics.record(name, latency_ms, ok=ok)

    def flush(self) -> None:
        if self.json_out is not None:
            self.json_out.flush()

    def close(self) -> None:
        if self.json_out is not None:
            self.json_out.close()
            self.json_out = None
        for metrics in self.metrics:
            metrics.close()
        self.metrics = []
