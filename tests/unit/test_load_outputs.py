"""`--out` for load: the specs (pure), the JSON lines, the Prometheus collector, and the exit-2 refusals."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import typer
from prometheus_client import CollectorRegistry, generate_latest
from typer.testing import CliRunner

from gauntlet.load.cli import register
from gauntlet.load.hdr import LatencyRecorder
from gauntlet.load.outputs import (
    DEFAULT_OTLP,
    DEFAULT_PROMETHEUS,
    JsonLines,
    LiveMetrics,
    OtlpMetrics,
    OutputDict,
    OutputProblem,
    check_can_listen,
    request_line,
    split_out,
)
from tests.cli_area import area_app
from tests.unit.otlp_receiver import otlp_receiver


def test_a_folder_and_metric_outputs_are_told_apart(tmp_path: Path) -> None:
    split = split_out(["runs/one", f"json={tmp_path}/r.jsonl", "prometheus"])
    assert split.folder == Path("runs/one")
    assert split.outputs == (
        OutputDict(kind="json", target=str(tmp_path / "r.jsonl")),
        OutputDict(kind="prometheus", target=DEFAULT_PROMETHEUS),
    )
    assert split_out(None) == split_out([])
    assert split_out(["prometheus=0.0.0.0:9700"]).outputs[0]["target"] == "0.0.0.0:9700"
    assert split_out(["otlp"]).outputs == (OutputDict(kind="otlp", target=DEFAULT_OTLP),)
    assert split_out(["otlp=https://otel.example/v1/metrics"]).outputs[0]["target"] == "https://otel.example/v1/metrics"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["otlp=127.0.0.1:4318"], "give the OTLP/HTTP metrics URL, e.g. --out otlp=http://127.0.0.1:4318/v1/metrics"),
        (["influxdb=http://127.0.0.1:8086"], "unknown output 'influxdb'"),
        (["json"], "name the file, e.g. --out json=requests.jsonl"),
        (["json="], "name the file"),
        (["prometheus=9646"], "give HOST:PORT"),
        (["prometheus=127.0.0.1:0"], "give HOST:PORT"),
        (["prometheus=127.0.0.1:99999"], "give HOST:PORT"),
        (["json=a", "json=b"], "--out json= given twice"),
        (["runs/a", "runs/b"], "a second results folder"),
    ],
)
def test_bad_outputs_name_the_value_and_the_fix(values: list[str], message: str) -> None:
    with pytest.raises(OutputProblem, match="--out") as caught:
        split_out(values)
    assert message in str(caught.value)


def test_a_taken_prometheus_port_is_refused() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OutputProblem, match=f"127.0.0.1:{port}: cannot listen there"):
            check_can_listen(OutputDict(kind="prometheus", target=f"127.0.0.1:{port}"))
    check_can_listen(OutputDict(kind="prometheus", target=f"127.0.0.1:{port}"))  # free again


def test_a_request_line_has_time_name_ms_ok() -> None:
    line = request_line(at_s=1700000000.1234567, name="rpc:feed", latency_ms=12.34567, ok=False)
    assert line.endswith("\n")
    assert json.loads(line) == {"time": 1700000000.123457, "name": "rpc:feed", "ms": 12.346, "ok": False}


def test_json_lines_writes_every_request_once_across_two_writers(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    first, second = JsonLines(path), JsonLines(path)
    for i in range(1200):  # more than one flush batch each
        (first if i % 2 else second).record(at_s=float(i), name=f"n{i % 3}", latency_ms=1.0, ok=True)
    first.close()
    second.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(line["time"] for line in lines) == [float(i) for i in range(1200)]


def scrape(live: LiveMetrics) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(live)
    return generate_latest(registry).decode()


def test_the_collector_counts_requests_failures_and_latency_by_name() -> None:
    live = LiveMetrics()
    live.record("rpc:feed", 20.0, ok=True)
    live.record("rpc:feed", 300.0, ok=True)
    live.record("rpc:feed", 5.0, ok=False)
    text = scrape(live)
    assert 'gauntlet_load_requests_total{name="rpc:feed"} 3.0' in text
    assert 'gauntlet_load_request_failures_total{name="rpc:feed"} 1.0' in text
    assert 'gauntlet_load_request_duration_seconds_bucket{le="0.025",name="rpc:feed"} 1.0' in text
    assert 'gauntlet_load_request_duration_seconds_bucket{le="0.5",name="rpc:feed"} 2.0' in text
    assert 'gauntlet_load_request_duration_seconds_count{name="rpc:feed"} 2.0' in text


def test_the_master_feeds_the_collector_from_worker_hdr_deltas() -> None:
    recorder = LatencyRecorder()
    for ms in (20.0, 20.0, 300.0):
        recorder.record("rpc:feed", ms, failed=False, at_s=1.0)
    recorder.record("rpc:feed", 1.0, failed=True, at_s=1.0)
    tally = recorder.names["rpc:feed"]
    live = LiveMetrics()
    live.add("rpc:feed", requests=tally.requests, failures=tally.failures, histogram=tally.histogram)
    text = scrape(live)
    assert 'gauntlet_load_requests_total{name="rpc:feed"} 4.0' in text
    assert 'gauntlet_load_request_failures_total{name="rpc:feed"} 1.0' in text
    assert 'gauntlet_load_request_duration_seconds_bucket{le="0.025",name="rpc:feed"} 2.0' in text
    assert 'gauntlet_load_request_duration_seconds_bucket{le="+Inf",name="rpc:feed"} 3.0' in text


@pytest.fixture
def app() -> typer.Typer:
    return area_app(register)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--out", "otlp=collector:4318"), "give the OTLP/HTTP metrics URL"),
        (("--out", "statsd=127.0.0.1:8125"), "unknown output 'statsd'"),
        (("--out", "prometheus=localhost"), "give HOST:PORT"),
    ],
)
def test_load_refuses_a_bad_out_with_exit_2(app: typer.Typer, args: tuple[str, ...], message: str) -> None:
    result = CliRunner().invoke(app, ["load", "shop", *args, "--target", "http://127.0.0.1:9"])
    output = result.stderr + result.stdout
    assert result.exit_code == 2, output
    assert output.strip().startswith("error:") and message in " ".join(output.split())
    assert "Traceback" not in output


def test_otlp_pushes_the_counts_and_latencies_to_a_real_receiver() -> None:
    with otlp_receiver() as receiver:
        otlp = OtlpMetrics(receiver.url, export_every_s=3600)  # only the final push, at close
        otlp.record("rpc:feed", 20.0, ok=True)
        otlp.record("rpc:feed", 5.0, ok=False)
        recorder = LatencyRecorder()
        for ms in (10.0, 30.0):
            recorder.record("auth:token", ms, failed=False, at_s=1.0)
        tally = recorder.names["auth:token"]
        otlp.add("auth:token", requests=3, failures=1, histogram=tally.histogram)
        otlp.close()
        assert receiver.latest_sum("gauntlet.load.requests") == {"rpc:feed": 2, "auth:token": 3}
        assert receiver.latest_sum("gauntlet.load.request.failures") == {"rpc:feed": 1, "auth:token": 1}
        assert receiver.histogram_counts("gauntlet.load.request.duration") == {"rpc:feed": 1, "auth:token": 2}


def test_otlp_to_nobody_does_not_raise(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        otlp = OtlpMetrics(f"http://127.0.0.1:{port}/v1/metrics", export_every_s=3600)
        otlp.record("rpc:feed", 20.0, ok=True)
        otlp.close()  # the exporter logs the failure; the run goes on
