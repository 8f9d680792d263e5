"""The result file: built from measurements + plan + verdicts, and documented in load/RESULTS.md."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest

from gauntlet.load import results as r
from gauntlet.load.arrivals import ArrivalReport
from gauntlet.load.breakpoint import BreakpointRecord, StepRecord
from gauntlet.load.hdr import LatencyRecorder, decode
from gauntlet.load.plan import RunPlan, StageDict, UserConfig, thresholds_from_dicts
from gauntlet.load.thresholds import Threshold

RESULTS_MD = Path(r.__file__).with_name("RESULTS.md")


def plan(rate: float | None = None) -> RunPlan:
    return RunPlan(
        run_id="run-1",
        profile="home_for_you",
        scenario="rate" if rate else "smoke",
        target="http://127.0.0.1:1",
        stages=[StageDict(until_s=10.0, users=2, spawn_rate=1.0)],
        thresholds=[],
        abort_on_fail=False,
        abort_min_samples=50,
        abort_grace_s=5.0,
        measurements_file="m.json",
        progress_file="p.jsonl",
        expect_workers=1,
        users=UserConfig(
            run_id="run-1",
            api_key=None,
            accounts_file=None,
            think_time_s=(0.0, 0.0),
            rate_per_s=rate,
            rate_duration_s=10.0 if rate else None,
            generators=1,
            late_after_s=0.01,
            give_up_after_s=1.0,
        ),
    )


def measurements(arrivals: ArrivalReport | None = None, aborted: r.AbortRecord | None = None) -> r.Measurements:
    rec = LatencyRecorder()
    for i in range(100):
        rec.record("rpc:a", 10.0 + i, failed=i < 2, at_s=1000.5 + i / 50)
    for _ in range(50):
        rec.record("auth:token", 5.0, failed=False, at_s=1001.2)
    return r.Measurements(
        version=r.MEASUREMENTS_VERSION,
        role="local",
        workers=1,
        started_at=1000.0,
        load_ended_at=1010.0,
        ended_at=1003.4,
        names=rec.snapshot()["names"],
        series=rec.series(),
        users=[r.UsersSample(second=1001, users=1), r.UsersSample(second=1002, users=2)],
        arrivals=arrivals,
        clamped=0,
        late_series_samples=0,
        locust=r.LocustTotals(requests=150, failures=2),
        locust_percentiles={},
        errors=[r.ErrorRecord(name="rpc:a", method="POST", error="HTTP 500", occurrences=2)],
        aborted=aborted,
    )


def thresholds(*specs: tuple[str, str, str, float]) -> tuple[Threshold, ...]:
    return thresholds_from_dicts([{"scope": s, "metric": m, "op": o, "limit": v} for s, m, o, v in specs])  # type: ignore[typeddict-item]


def test_build_result_reports_exact_stats_per_name_and_overall() -> None:
    m = measurements()
    ts = thresholds(("overall", "p95_ms", "<", 500.0), ("rpc:a", "error_rate", "<", 0.01))
    result = r.build_result(plan(), m, r.judge(m, ts))
    a = result["requests"]["rpc:a"]
    assert (a["requests"], a["failures"], a["error_rate"]) == (100, 2, 0.02)
    assert a["rps"] == 10.0  # 100 requests over the 10 s load period
    # Percentiles are over the 98 successful requests (12..109 ms): the two failed ones are not timed.
    assert 60.0 <= a["p50_ms"] <= 60.1 and 108.0 <= a["p99_ms"] <= 109.1 and a["max_ms"] == pytest.approx(109, rel=1e-3)
    assert a["min_ms"] == pytest.approx(12.0, rel=1e-3)
    assert result["overall"]["requests"] == 150
    assert decode(result["overall"]["hdr"]).get_total_count() == 148
    assert decode(a["hdr"]).get_total_count() == 98
    assert [v["passed"] for v in result["thresholds"]] == [True, False]
    assert result["passed"] is False
    assert result["checks"]["consistent"] is True
    assert result["run"]["latency_basis"] == "response"
    assert result["run"]["peak_users"] == 2
    assert result["run"]["started_at"] == "1970-01-01T00:16:40.000Z"


def test_series_has_one_point_per_second_with_users_carried_forward() -> None:
    result = r.build_result(plan(), measurements(), [])
    series = result["series"]
    assert [p["t_s"] for p in series] == [0, 1, 2, 3]
    assert [p["users"] for p in series] == [0, 1, 2, 2]
    assert sum(p["requests"] for p in series) == 150
    assert series[3]["requests"] == 0 and series[3]["p95_ms"] == 0.0


def test_inconsistent_counts_are_flagged() -> None:
    m = measurements()
    m["locust"]["requests"] = 151
    assert r.build_result(plan(), m, [])["checks"]["consistent"] is False


def test_an_aborted_run_does_not_pass() -> None:
    m = measurements(aborted=r.AbortRecord(at_s=3.0, reason="overall p95_ms < 1 ms"))
    assert r.build_result(plan(), m, [])["passed"] is False


def test_rate_runs_use_intended_start_and_judge_late_arrivals() -> None:
    arrivals = ArrivalReport(scheduled=100, on_time=90, late=6, missed=4, max_lateness_ms=800.0)
    m = measurements(arrivals=arrivals)
    verdicts = r.judge(m, thresholds(("overall", "late_arrival_rate", "<=", 0.05)))
    result = r.build_result(plan(rate=10.0), m, verdicts)
    assert result["run"]["latency_basis"] == "intended_start"
    assert result["arrivals"] == arrivals
    assert result["thresholds"][0]["observed"] == pytest.approx(0.10)
    assert not result["passed"]


def test_write_and_read_back(tmp_path: Path) -> None:
    result = r.build_result(plan(), measurements(), [])
    path = tmp_path / "results.json"
    r.write_json(path, result)
    assert r.read_result(path) == json.loads(json.dumps(result))
    assert not list(tmp_path.glob("*.tmp"))
    path.write_text('{"schema": "other"}')
    with pytest.raises(ValueError, match=r"not a gauntlet\.load\.result"):
        r.read_result(path)
    m_path = tmp_path / "m.json"
    r.write_json(m_path, measurements())
    assert r.read_measurements(m_path)["locust"]["requests"] == 150
    m_path.write_text('{"version": 7}')
    with pytest.raises(ValueError, match="unsupported measurements version"):
        r.read_measurements(m_path)


@pytest.mark.parametrize(
    "typed_dict",
    [
        r.LoadResult,
        r.RunInfo,
        r.RequestStats,
        r.SeriesPoint,
        r.VerdictRecord,
        r.Checks,
        r.AbortRecord,
        r.ErrorRecord,
        r.BaselineReport,
        r.BaselineComparison,
        ArrivalReport,
        BreakpointRecord,
        StepRecord,
    ],
)
def test_results_md_documents_every_key(typed_dict: type) -> None:
    text = RESULTS_MD.read_text()
    for key in typing.get_type_hints(typed_dict):
        assert f"`{key}`" in text or f"{key}," in text or f"{key}}}" in text, f"{typed_dict.__name__}.{key}"
