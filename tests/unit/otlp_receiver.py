"""A loopback OTLP/HTTP metrics receiver for tests: decodes each export and sums the counters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest


@dataclass
class OtlpReceiver:
    url: str = ""
    exports: list[ExportMetricsServiceRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def latest_sum(self, metric: str) -> dict[str, float]:
        """The cumulative value by `name` attribute of a counter in the last export that carried it."""
        with self.lock:
            exports = list(self.exports)
        found: dict[str, float] = {}
        for export in exports:
            for resource in export.resource_metrics:
                for scope in resource.scope_metrics:
                    for m in scope.metrics:
                        if m.name == metric:
                            for point in m.sum.data_points:
                                labels = {a.key: a.value.string_value for a in point.attributes}
                                found[labels["name"]] = point.as_int or point.as_double
        return found

    def histogram_counts(self, metric: str) -> dict[str, int]:
        with self.lock:
            exports = list(self.exports)
        found: dict[str, int] = {}
        for export in exports:
            for resource in export.resource_metrics:
                for scope in resource.scope_metrics:
                    for m in scope.metrics:
                        if m.name == metric:
                            for point in m.histogram.data_points:
                                labels = {a.key: a.value.string_value for a in point.attributes}
                                found[labels["name"]] = int(point.count)
        return found


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            export = ExportMetricsServiceRequest()
            export.ParseFromString(body)
            with receiver.lock:
                receiver.exports.append(export)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/v1/metrics"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
