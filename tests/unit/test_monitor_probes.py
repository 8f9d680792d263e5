"""Health probes: the health function's verdict, queue age over 300 s degrades, failures never raise."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gauntlet.journeys.monitor.probes import HttpProber, judge_health, judge_queue_view


@pytest.mark.parametrize("status", ["ok", "degraded", "down"])
def test_the_platforms_own_status_is_taken(status: str) -> None:
    assert judge_health(200, {"status": status}, 3.0).status == status


def test_failing_parts_are_named() -> None:
    body = {
        "status": "degraded",
        "checks": {"primary": {"ok": True}, "redis": {"ok": False}, "replica_1": {"ok": False}},
    }
    assert judge_health(200, body, 1.0).detail == "failing: redis, replica_1"


@pytest.mark.parametrize(("code", "body"), [(502, None), (200, {"hello": 1}), (200, ["ok"]), (404, {"status": "nope"})])
def test_anything_but_a_health_document_is_down(code: int, body: Any) -> None:
    result = judge_health(code, body, 1.0)
    assert result.status == "down" and f"HTTP {code}" in result.detail


def test_queue_waiting_longer_than_300s_at_p95_is_degraded() -> None:
    rows = [
        {"status": "queued", "ct": 4, "p95_age_sec": 412.4},
        {"status": "done", "ct": 900, "p95_age_sec": 86000.0},  # finished work is old by nature: ignored
    ]
    result = judge_queue_view("vw_discovery_queue_health", 200, rows, 2.0)
    assert result.status == "degraded"
    assert result.detail == "queued p95 age 412s > 300s"


def test_events_queue_rows_name_their_topic() -> None:
    rows = [{"topic": "notify", "status": "leased", "p95_age_sec": 301}]
    assert judge_queue_view("vw_events_queue_health", 200, rows, 1.0).detail == "notify/leased p95 age 301s > 300s"


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [{"status": "queued", "p95_age_sec": 300.0}],
        [{"status": "queued", "p95_age_sec": None}],
        [{"status": "error", "p95_age_sec": 9e9}],
    ],
)
def test_a_healthy_queue_is_ok(rows: list[dict[str, Any]]) -> None:
    assert judge_queue_view("vw_discovery_queue_health", 200, rows, 1.0).status == "ok"


def test_an_unreadable_view_is_degraded_with_the_platforms_message() -> None:
    result = judge_queue_view("vw_discovery_queue_health", 403, {"message": "permission denied"}, 1.0)
    assert result.status == "degraded"
    assert result.detail == "HTTP 403: permission denied (cannot read the view)"


class Recorder:
    def __init__(self, answers: dict[str, httpx.Response | Exception]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[request.url.path]
        if isinstance(answer, Exception):
            raise answer
        return answer


def prober(recorder: Recorder, service_key: str | None) -> HttpProber:
    client = httpx.Client(transport=httpx.MockTransport(recorder))
    return HttpProber("http://127.0.0.1:9/", service_key=service_key, client=client)


def test_probes_health_and_both_queue_views_with_the_service_key() -> None:
    recorder = Recorder(
        {
            "/functions/v1/health": httpx.Response(200, json={"status": "ok"}),
            "/rest/v1/vw_discovery_queue_health": httpx.Response(200, json=[]),
            "/rest/v1/vw_events_queue_health": httpx.Response(200, json=[{"status": "queued", "p95_age_sec": 999}]),
        }
    )
    results = prober(recorder, "service-secret").probe()
    assert [(r.name, r.status) for r in results] == [
        ("health", "ok"),
        ("vw_discovery_queue_health", "ok"),
        ("vw_events_queue_health", "degraded"),
    ]
    assert "authorization" not in recorder.requests[0].headers  # health is public
    assert recorder.requests[1].headers["authorization"] == "Bearer service-secret"
    assert str(recorder.requests[0].url) == "http://127.0.0.1:9/functions/v1/health"


def test_without_a_service_key_only_health_is_probed() -> None:
    recorder = Recorder({"/functions/v1/health": httpx.Response(503, json={"status": "down"})})
    results = prober(recorder, None).probe()
    assert [(r.name, r.status) for r in results] == [("health", "down")]


def test_an_unreachable_platform_is_down_and_unreachable_views_only_degrade() -> None:
    refused = httpx.ConnectError("connection refused")
    recorder = Recorder(
        {
            "/functions/v1/health": refused,
            "/rest/v1/vw_discovery_queue_health": refused,
            "/rest/v1/vw_events_queue_health": httpx.Response(200, text="not json"),
        }
    )
    results = prober(recorder, "k").probe()
    assert [r.status for r in results] == ["down", "degraded", "degraded"]
    assert "ConnectError" in results[0].detail
