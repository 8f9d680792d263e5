"""k6's threshold syntax in an SLO file: what each key and expression becomes, and what is refused (naming the key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.load.k6 import K6Threshold, K6ThresholdError, parse_k6_thresholds
from gauntlet.load.locustfiles import parse_locustfile
from gauntlet.load.plan import thresholds_from_dicts, thresholds_to_dicts
from gauntlet.load.thresholds import SloFileError, load_slo_file, parse_slo_text, unmade_requests

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def one(key: str, value: object) -> K6Threshold:
    (found,) = parse_k6_thresholds({key: value}, where="t")
    return found


@pytest.mark.parametrize(
    ("key", "expression", "scope", "metric", "op", "limit"),
    [
        ("http_req_duration", "p(95)<500", "overall", "p95_ms", "<", 500.0),
        ("http_req_duration", "p(99.9) <= 1500", "overall", "p99.9_ms", "<=", 1500.0),
        ("http_req_duration", "avg<200", "overall", "mean_ms", "<", 200.0),
        ("http_req_duration", "med<100", "overall", "p50_ms", "<", 100.0),
        ("http_req_duration", "max<2000", "overall", "max_ms", "<", 2000.0),
        ("http_req_failed", "rate<0.01", "overall", "error_rate", "<", 0.01),
        ("http_reqs", "count>=100", "overall", "requests", ">=", 100.0),
        ("http_reqs", "rate>5", "overall", "rps", ">", 5.0),
        ("http_req_duration{name:rpc:feed_fusion_home}", "p(95)<800", "rpc:feed_fusion_home", "p95_ms", "<", 800.0),
        ("http_req_failed{ name: auth:token }", "rate<0.05", "auth:token", "error_rate", "<", 0.05),
    ],
)
def test_k6_expressions_become_gauntlet_thresholds(
    key: str, expression: str, scope: str, metric: str, op: str, limit: float
) -> None:
    assert one(key, [expression]) == K6Threshold(scope=scope, metric=metric, op=op, limit=limit)  # type: ignore[arg-type]


def test_the_object_form_carries_abort_on_fail() -> None:
    found = one("http_req_failed", [{"threshold": "rate<0.01", "abortOnFail": True}])
    assert found.abort_on_fail and found.metric == "error_rate"
    assert not one("http_req_failed", [{"threshold": "rate<0.01"}]).abort_on_fail


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("checks", ["rate>0.99"], "t.checks: Gauntlet has no separate checks"),
        ("http_req_duraton", ["p(95)<500"], "t.http_req_duraton: unknown k6 metric 'http_req_duraton'; did you mean"),
        ("http_req_waiting", ["p(95)<500"], "use one of http_req_duration, http_req_failed, http_reqs"),
        ("http_req_duration{method:GET}", ["p(95)<500"], "t.http_req_duration{method:GET}: the tag 'method'"),
        ("http_req_duration{name}", ["p(95)<500"], "cannot read the tag filter"),
        ("http_req_duration{}", ["p(95)<500"], "an empty tag filter"),
        ("http_req_duration", "p(95)<500", "t.http_req_duration: expected a list"),
        ("http_req_duration", [], "expected a list"),
        ("http_req_duration", ["p95<500"], "t.http_req_duration: http_req_duration has no aggregation 'p95'"),
        ("http_req_duration", ["min<5"], "min is not kept"),
        ("http_req_duration", ["p(95)==500"], "only <, <=, > and >= can be judged"),
        ("http_req_duration", ["p(95)<fast"], "cannot read 'p(95)<fast'"),
        ("http_req_duration", ["p(100)<5"], "a percentile is between 0 and 100"),
        ("http_req_duration", [500], "expected a string like 'p(95)<500'"),
        ("http_req_failed", ["rate<5"], "a rate is a fraction in [0, 1]"),
        ("http_req_failed", ["p(95)<5"], "http_req_failed has no aggregation"),
        ("http_req_failed", [{"threshold": "rate<0.1", "abortOnFail": "yes"}], "abortOnFail must be true or false"),
        ("http_req_failed", [{"threshold": "rate<0.1", "delayAbortEval": "10s"}], "delayAbortEval is not supported"),
        ("http_req_failed", [{"abortOnFail": True}], "an object needs threshold:"),
        ("http_req_failed", [{"threshold": "rate<0.1", "abort": True}], "unknown field 'abort'"),
        ("http_reqs", [{"threshold": "count>10", "abortOnFail": True}], "abortOnFail on a floor"),
    ],
)
def test_bad_k6_thresholds_are_refused_naming_the_key(key: str, value: object, message: str) -> None:
    with pytest.raises(K6ThresholdError) as caught:
        parse_k6_thresholds({key: value}, where="t")
    assert message in str(caught.value)


def test_an_slo_file_holds_k6_thresholds_next_to_its_own_keys() -> None:
    text = "overall:\n  p99_ms: 900\nthresholds:\n  http_req_failed: ['rate<0.01']\n"
    spec = parse_slo_text(text, source="slo.yaml", fmt="yaml")
    assert [(t.scope, t.metric, t.limit) for t in spec.thresholds] == [
        ("overall", "p99_ms", 900.0),
        ("overall", "error_rate", 0.01),
    ]


def test_a_bad_k6_key_in_an_slo_file_names_the_file_and_the_key() -> None:
    with pytest.raises(SloFileError, match=r"slo.toml: thresholds.checks: Gauntlet has no separate checks"):
        parse_slo_text('[thresholds]\nchecks = ["rate>0.99"]\n', source="slo.toml", fmt="toml")


def test_abort_on_fail_travels_in_the_plan() -> None:
    spec = parse_slo_text(
        "thresholds:\n  http_req_failed:\n    - {threshold: 'rate<0.01', abortOnFail: true}\n", source="s", fmt="yaml"
    )
    assert thresholds_from_dicts(thresholds_to_dicts(spec.thresholds)) == spec.thresholds
    assert spec.thresholds[0].abort_on_fail


def test_the_example_thresholds_name_only_requests_the_example_locustfile_makes() -> None:
    spec = load_slo_file(EXAMPLES / "k6_thresholds.yaml")
    requests = parse_locustfile(EXAMPLES / "locustfile.py")
    assert not requests.open_ended
    assert unmade_requests(spec, requests.names) == ()
    assert any(t.abort_on_fail for t in spec.thresholds)
