"""SLO files: parsing, the errors a person gets, and evaluation (including "no samples" failing)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from gauntlet.load.hdr import LatencyRecorder
from gauntlet.load.thresholds import (
    ArrivalCounts,
    HistogramMetrics,
    SloFileError,
    Threshold,
    all_met,
    already_lost,
    applicable,
    default_slo,
    ensure_slo_file_is_valid,
    evaluate,
    load_slo_file,
    parse_slo_text,
)


@dataclass(frozen=True)
class FakeScope:
    requests: int
    failures: int = 0
    p: float = 100.0  # every percentile reads as this
    max_ms: float = 150.0
    mean_ms: float = 90.0

    @property
    def latency_samples(self) -> int:
        return self.requests - self.failures

    def latency_ms(self, stat: float | Literal["max", "mean"]) -> float:
        if stat == "max":
            return self.max_ms
        if stat == "mean":
            return self.mean_ms
        return self.p


def one(text: str) -> Threshold:
    spec = parse_slo_text(text, source="t.yaml", fmt="yaml")
    assert len(spec.thresholds) == 1
    return spec.thresholds[0]


# -- the defaults -------------------------------------------------------------------------------------


def test_defaults_are_designs_slos() -> None:
    spec = default_slo()
    found = {(t.scope, t.metric, t.op, t.limit) for t in spec.thresholds}
    assert found == {
        ("overall", "p95_ms", "<", 500.0),
        ("overall", "p99_ms", "<", 1000.0),
        ("overall", "error_rate", "<", 0.001),
        ("auth:token", "p95_ms", "<", 500.0),
        ("rpc:complete_onboarding", "p95_ms", "<", 1000.0),
        ("rpc:feed_fusion_home", "p95_ms", "<", 800.0),
        ("rpc:marketplace_suggestions_for_user", "p95_ms", "<", 200.0),
    }
    assert spec.scope == "profile"


def test_profile_scope_keeps_overall_and_the_requests_the_profile_makes() -> None:
    spec = default_slo()
    chosen = applicable(spec, {"rpc:feed_fusion_home", "auth:token"})
    scopes = {t.scope for t in chosen}
    assert scopes == {"overall", "rpc:feed_fusion_home", "auth:token"}


def test_all_scope_keeps_everything() -> None:
    spec = parse_slo_text('requests: {"rpc:x": {p95_ms: 5}}', source="s", fmt="yaml")
    assert applicable(spec, set()) == spec.thresholds


# -- values, units and operators ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "metric", "op", "limit"),
    [
        ("overall: {p95_ms: 500}", "p95_ms", "<", 500.0),
        ("overall: {p95_ms: '<= 500ms'}", "p95_ms", "<=", 500.0),
        ("overall: {p99_ms: '< 1s'}", "p99_ms", "<", 1000.0),
        ("overall: {p99_ms: '<1.5s'}", "p99_ms", "<", 1500.0),
        ("overall: {'p99.9_ms': 2000}", "p99.9_ms", "<", 2000.0),
        ("overall: {p99_9_ms: 2000}", "p99_9_ms", "<", 2000.0),
        ("overall: {p75_ms: 10}", "p75_ms", "<", 10.0),
        ("overall: {max_ms: 3000}", "max_ms", "<", 3000.0),
        ("overall: {mean_ms: '> 1'}", "mean_ms", ">", 1.0),
        ("overall: {error_rate: 0.001}", "error_rate", "<", 0.001),
        ("overall: {error_rate: '< 0.1%'}", "error_rate", "<", 0.001),
        ("overall: {error_rate: '<= 2 %'}", "error_rate", "<=", 0.02),
        ("overall: {rps: 50}", "rps", ">=", 50.0),
        ("overall: {rps: '> 50'}", "rps", ">", 50.0),
        ("overall: {requests: 10}", "requests", ">=", 10.0),
        ("overall: {late_arrival_rate: '1%'}", "late_arrival_rate", "<=", 0.01),
        ("overall: {p95_ms: 1e3}", "p95_ms", "<", 1000.0),
    ],
)
def test_limits_read_as_written(text: str, metric: str, op: str, limit: float) -> None:
    t = one(text)
    assert (t.scope, t.metric, t.op) == ("overall", metric, op)
    assert t.limit == pytest.approx(limit)


def test_toml_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "slo.toml"
    path.write_text(
        'scope = "all"\n[overall]\np95_ms = "< 250ms"\n\n[requests."rpc:feed_fusion_home"]\n"p99.9_ms" = 900\n'
    )
    spec = load_slo_file(path)
    assert {(t.scope, t.metric, t.limit) for t in spec.thresholds} == {
        ("overall", "p95_ms", 250.0),
        ("rpc:feed_fusion_home", "p99.9_ms", 900.0),
    }


def test_yaml_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "slo.yml"
    path.write_text("overall:\n  error_rate: 1%\n")
    assert load_slo_file(path).thresholds[0].limit == pytest.approx(0.01)


# -- errors name the bad key ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("overal: {p95_ms: 5}", "unknown top-level key 'overal'"),
        ("overall: {p95: 5}", "overall.p95: unknown metric 'p95'"),
        ("overall: {p100_ms: 5}", "unknown metric 'p100_ms'"),
        ("overall: {p0_ms: 5}", "unknown metric 'p0_ms'"),
        ("requests: {'rpc:x': {latency: 5}}", "requests.rpc:x.latency: unknown metric"),
        ("overall: {p95_ms: fast}", "overall.p95_ms: cannot read 'fast'"),
        ("overall: {p95_ms: true}", "overall.p95_ms: expected a number"),
        ("overall: {p95_ms: [1]}", "overall.p95_ms: expected a number"),
        ("overall: {p95_ms: '5%'}", "'%' only applies to error_rate"),
        ("overall: {error_rate: '5ms'}", "a time unit only applies to latency"),
        ("overall: {error_rate: 5}", "is a fraction in [0, 1]"),
        ("overall: {p95_ms: -1}", "overall.p95_ms: the limit must be a finite number >= 0"),
        ("overall: {p95_ms: '-1'}", "cannot read '-1'"),
        ("overall: {p95_ms: .nan}", "finite number"),
        ("requests: {'rpc:x': {late_arrival_rate: 0.1}}", "only measured overall"),
        ("scope: some", "scope: must be 'all' or 'profile'"),
        ("version: 2\noverall: {p95_ms: 1}", "only version 1"),
        ("requests: [1, 2]", "requests: expected a table"),
        ("requests: {overall: {p95_ms: 1}}", "is not a usable request name"),
        ("overall: 5", "expected a table of metric: limit"),
        ("- 1\n- 2", "expected a table at the top level"),
        ("", "no thresholds"),
        ("overall: {}", "no thresholds"),
        ("overall: {p95_ms: [", "not valid YAML"),
    ],
)
def test_bad_files_get_an_error_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(SloFileError) as caught:
        parse_slo_text(text, source="slo.yaml", fmt="yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("slo.yaml")


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SloFileError, match="not valid TOML"):
        parse_slo_text("[overall\n", source="x.toml", fmt="toml")
    with pytest.raises(SloFileError, match="cannot read SLO file"):
        load_slo_file(tmp_path / "missing.yaml")


def test_errors_are_usage_errors() -> None:
    with pytest.raises(SloFileError) as caught:
        ensure_slo_file_is_valid({"nope": 1}, source="s")
    assert caught.value.exit_code == 2


# -- evaluation -------------------------------------------------------------------------------------------


def t(metric: str, op: Literal["<", "<=", ">", ">="], limit: float, scope: str = "overall") -> Threshold:
    return Threshold(scope=scope, metric=metric, op=op, limit=limit)


@pytest.mark.parametrize(
    ("threshold", "passed", "observed"),
    [
        (t("p95_ms", "<", 101), True, 100.0),
        (t("p95_ms", "<", 100), False, 100.0),
        (t("p95_ms", "<=", 100), True, 100.0),
        (t("max_ms", "<", 150), False, 150.0),
        (t("max_ms", "<=", 150), True, 150.0),
        (t("mean_ms", "<", 100), True, 90.0),
        (t("error_rate", "<", 0.1), True, 0.05),
        (t("error_rate", "<", 0.05), False, 0.05),
        (t("rps", ">=", 10), True, 10.0),
        (t("rps", ">", 10), False, 10.0),
        (t("requests", ">=", 100), True, 100.0),
        (t("requests", ">=", 101), False, 100.0),
    ],
)
def test_each_metric_against_its_limit(threshold: Threshold, passed: bool, observed: float) -> None:
    scopes = {"overall": FakeScope(requests=100, failures=5)}
    (verdict,) = evaluate([threshold], scopes, duration_s=10.0)
    assert verdict.passed is passed
    assert verdict.observed == pytest.approx(observed)
    assert verdict.reason == ("met" if passed else "missed")


@pytest.mark.parametrize("metric", ["p95_ms", "max_ms", "mean_ms", "error_rate", "rps", "requests"])
def test_a_metric_without_samples_fails(metric: str) -> None:
    op: Literal["<", ">="] = ">=" if metric in ("rps", "requests") else "<"
    for scopes in ({}, {"rpc:x": FakeScope(requests=0)}):
        (verdict,) = evaluate([t(metric, op, 1e9 if op == "<" else 0, scope="rpc:x")], scopes, duration_s=5)
        assert not verdict.passed
        assert verdict.reason == "no samples"
        assert verdict.observed is None
        assert "FAILED (no samples)" in verdict.describe()


def test_rps_needs_a_duration() -> None:
    (verdict,) = evaluate([t("rps", ">=", 0)], {"overall": FakeScope(requests=5)}, duration_s=0)
    assert verdict.reason == "no samples"


def test_late_arrival_rate() -> None:
    threshold = t("late_arrival_rate", "<=", 0.01)
    scopes = {"overall": FakeScope(requests=10)}
    (none,) = evaluate([threshold], scopes, duration_s=1)
    assert none.reason == "no samples"
    (ok,) = evaluate([threshold], scopes, duration_s=1, arrivals=ArrivalCounts(scheduled=1000, late=5, missed=5))
    assert ok.passed and ok.observed == pytest.approx(0.01)
    (bad,) = evaluate([threshold], scopes, duration_s=1, arrivals=ArrivalCounts(scheduled=100, late=1, missed=1))
    assert not bad.passed
    (empty,) = evaluate([threshold], scopes, duration_s=1, arrivals=ArrivalCounts(scheduled=0, late=0, missed=0))
    assert empty.reason == "no samples"


def test_histogram_metrics_reads_real_histograms() -> None:
    recorder = LatencyRecorder()
    for ms in range(1, 101):
        recorder.record("x", float(ms), failed=ms > 98, at_s=1.0)
    tally = recorder.names["x"]
    scope = HistogramMetrics(tally.histogram, tally.requests, tally.failures)
    verdicts = evaluate(
        [t("p50_ms", "<=", 50.1, "x"), t("p99_ms", "<", 99.0, "x"), t("error_rate", "<=", 0.02, "x")],
        {"x": scope},
        duration_s=1.0,
    )
    # The two failed requests (99 and 100 ms) are not in the percentiles: p99 of 1..98 ms is 98 ms.
    assert [v.passed for v in verdicts] == [True, True, True]
    assert scope.latency_ms("mean") == pytest.approx(49.5, rel=1e-2)
    (slow,) = evaluate([t("p99_ms", "<", 97.0, "x")], {"x": scope}, duration_s=1.0)
    assert not slow.passed and not all_met([slow])


def test_failed_requests_are_not_in_latency_percentiles() -> None:
    """k6's semantics: fast failures (a 503 in 2 ms) cannot hide a slow endpoint's latency."""
    recorder = LatencyRecorder()
    for _ in range(50):
        recorder.record("x", 900.0, failed=False, at_s=1.0)
        recorder.record("x", 2.0, failed=True, at_s=1.0)
    tally = recorder.names["x"]
    scope = HistogramMetrics(tally.histogram, tally.requests, tally.failures)
    assert (scope.requests, scope.failures, scope.latency_samples) == (100, 50, 50)
    (p50, errors) = evaluate([t("p50_ms", "<", 800, "x"), t("error_rate", "<", 0.01, "x")], {"x": scope}, duration_s=1)
    assert not p50.passed and p50.observed == pytest.approx(900.0, rel=1e-3)
    assert not errors.passed and errors.observed == 0.5


def test_a_latency_threshold_with_no_successful_request_fails() -> None:
    recorder = LatencyRecorder()
    for _ in range(20):
        recorder.record("x", 3.0, failed=True, at_s=1.0)
    tally = recorder.names["x"]
    scope = HistogramMetrics(tally.histogram, tally.requests, tally.failures)
    verdicts = evaluate(
        [t(m, "<", 500, "x") for m in ("p95_ms", "max_ms", "mean_ms")] + [t("requests", ">=", 1, "x")],
        {"x": scope},
        duration_s=1.0,
    )
    assert [(v.passed, v.reason) for v in verdicts[:3]] == [(False, "no samples")] * 3
    assert verdicts[3].passed  # the requests were made; they just all failed
    (fake,) = evaluate([t("p95_ms", "<", 500)], {"overall": FakeScope(requests=5, failures=5)}, duration_s=1)
    assert fake.reason == "no samples" and fake.describe().endswith("FAILED (no samples)")


def test_describe_says_what_was_seen() -> None:
    (v,) = evaluate([t("error_rate", "<", 0.001)], {"overall": FakeScope(requests=1000, failures=2)}, duration_s=1)
    assert v.describe() == "overall error_rate < 0.1 %: MISSED (observed 0.2 %)"
    (w,) = evaluate([t("p95_ms", "<", 500)], {"overall": FakeScope(requests=1)}, duration_s=1)
    assert w.describe() == "overall p95_ms < 500 ms: ok (observed 100 ms)"


# -- abort-on-fail --------------------------------------------------------------------------------------


def test_only_lost_ceilings_with_enough_samples_abort() -> None:
    thresholds = [
        t("p95_ms", "<", 50),  # missed, ceiling
        t("rps", ">=", 1000),  # missed, floor: may still be reached
        t("error_rate", "<", 0.5),  # met
        t("max_ms", "<", 100, scope="rpc:few"),  # missed, max only grows: loses at once
        t("p99_ms", "<", 50, scope="rpc:few"),  # missed, but too few samples yet
        t("p99_ms", "<", 50, scope="rpc:none"),  # no samples: not lost yet
    ]
    scopes = {"overall": FakeScope(requests=200), "rpc:few": FakeScope(requests=3)}
    verdicts = evaluate(thresholds, scopes, duration_s=10)
    lost = already_lost(verdicts, scopes, min_samples=50)
    assert [(v.threshold.scope, v.threshold.metric) for v in lost] == [("overall", "p95_ms"), ("rpc:few", "max_ms")]
