"""k6's threshold syntax, read into Gauntlet's terms (scope, metric, op, limit, abort).

An SLO file may hold a `thresholds:` table written as in k6's options::

    thresholds:
      http_req_duration: ["p(95)<500", "max<2000"]        # every request together
      http_req_failed: ["rate<0.01"]
      http_reqs: ["count>=100", "rate>5"]
      "http_req_duration{name:rpc:feed_fusion_home}": ["p(95)<800"]   # one request name
      "http_req_failed{name:auth:token}":
        - threshold: "rate<0.05"
          abortOnFail: true                                # stop the run once it is lost

Durations are milliseconds and rates fractions, as in k6. Only the `name` tag
filters (Gauntlet measures per request name); k6's `checks` metric has no
counterpart (a failed response check marks its request failed, so
`http_req_failed` judges it). Pure: no Locust, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gauntlet.base.hints import closest

K6Op = Literal["<", "<=", ">", ">="]
OVERALL = "overall"

# k6 metric -> aggregation -> Gauntlet metric ("p" stands for every p(N)).
_METRICS: dict[str, dict[str, str]] = {
    "http_req_duration": {"p": "p{}_ms", "avg": "mean_ms", "med": "p50_ms", "max": "max_ms"},
    "http_req_failed": {"rate": "error_rate"},
    "http_reqs": {"count": "requests", "rate": "rps"},
}
_CHECKS = "checks"
_KEY = re.compile(r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\{(?P<tags>.*)\})?\s*$")
_EXPRESSION = re.compile(
    r"^\s*(?P<agg>p\(\s*(?P<pct>\d+(?:\.\d+)?)\s*\)|[a-z][a-z0-9]*)\s*(?P<op>===|==|!=|<=|>=|<|>)\s*"
    r"(?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$"
)
_OBJECT_KEYS = ("threshold", "abortOnFail", "delayAbortEval")


class K6ThresholdError(ValueError):
    """A k6 threshold Gauntlet cannot read; the message names the key and the fix."""


@dataclass(frozen=True, kw_only=True)
class K6Threshold:
    scope: str
    metric: str
    op: K6Op
    limit: float
    abort_on_fail: bool = False


def _scope_of(key: str, tags: str | None) -> str:
    if tags is None:
        return OVERALL
    if not tags.strip():
        raise K6ThresholdError(f"{key}: an empty tag filter; write {{name:REQUEST_NAME}} or drop the braces")
    name: str | None = None
    for part in tags.split(","):
        tag, sep, value = part.partition(":")
        tag, value = tag.strip(), value.strip()
        if not sep or not tag:
            raise K6ThresholdError(f"{key}: cannot read the tag filter {{{tags}}}; write {{name:REQUEST_NAME}}")
        if tag != "name":
            raise K6ThresholdError(
                f"{key}: the tag {tag!r} cannot filter Gauntlet's measurements, which are kept per request "
                "name: write {name:REQUEST_NAME}"
            )
        if not value or value == OVERALL:
            raise K6ThresholdError(f"{key}: {{name:{value}}} is not a usable request name")
        name = value
    assert name is not None  # at least one part, each a name tag
    return name


def _metric_of(key: str, raw: str) -> tuple[str, str]:
    """(k6 metric, scope) of a key like `http_req_duration{name:auth:token}`; errors name `key`."""
    match = _KEY.match(raw)
    if match is None:
        raise K6ThresholdError(f"{key}: not a k6 metric; write e.g. http_req_duration or http_req_duration{{name:X}}")
    metric = match["metric"]
    if metric == _CHECKS:
        raise K6ThresholdError(
            f"{key}: Gauntlet has no separate checks: a failed response check marks its request failed; "
            "write http_req_failed: ['rate<0.01'] instead"
        )
    if metric not in _METRICS:
        close = closest(metric, _METRICS)
        hint = f"did you mean {close}? " if close else ""
        raise K6ThresholdError(f"{key}: unknown k6 metric {metric!r}; {hint}use one of {', '.join(_METRICS)}")
    return metric, _scope_of(key, match["tags"])


def _expression(key: str, metric: str, text: object) -> tuple[str, K6Op, float]:
    if not isinstance(text, str):
        raise K6ThresholdError(f"{key}: expected a string like 'p(95)<500', got {text!r}")
    match = _EXPRESSION.match(text)
    aggregations = _METRICS[metric]
    shown = ", ".join("p(N)" if a == "p" else a for a in aggregations)
    if match is None:
        raise K6ThresholdError(
            f"{key}: cannot read {text!r}; write AGGREGATION OP NUMBER with {shown} (e.g. 'p(95)<500')"
        )
    agg = "p" if match["pct"] is not None else match["agg"]
    if agg not in aggregations:
        why = " (min is not kept: use p(1) or avg)" if agg == "min" else ""
        if re.fullmatch(r"p\d+", agg):
            why = f" (write p({agg[1:]}))"
        raise K6ThresholdError(f"{key}: {metric} has no aggregation {match['agg']!r}{why}; use {shown}")
    op = match["op"]
    if op not in ("<", "<=", ">", ">="):
        raise K6ThresholdError(
            f"{key}: {text!r}: only <, <=, > and >= can be judged (a rate or latency is never exact)"
        )
    limit = float(match["number"])
    if limit < 0:
        raise K6ThresholdError(f"{key}: {text!r}: the limit must be >= 0")
    if agg == "rate" and metric == "http_req_failed" and limit > 1:
        raise K6ThresholdError(f"{key}: {text!r}: a rate is a fraction in [0, 1] (0.01 is one in a hundred)")
    gauntlet_metric = aggregations[agg]
    if agg == "p":
        pct = float(match["pct"])
        if not 0 < pct < 100:
            raise K6ThresholdError(f"{key}: {text!r}: a percentile is between 0 and 100 (exclusive)")
        gauntlet_metric = gauntlet_metric.format(match["pct"])
    return gauntlet_metric, op, limit  # type: ignore[return-value]


def _entry(key: str, metric: str, raw: object) -> tuple[object, bool]:
    """(expression, abortOnFail) of one list entry: a string or k6's object form."""
    if not isinstance(raw, Mapping):
        return raw, False
    for field in raw:
        if field not in _OBJECT_KEYS:
            raise K6ThresholdError(f"{key}: unknown field {field!r}; use threshold and abortOnFail")
    if "delayAbortEval" in raw:
        raise K6ThresholdError(
            f"{key}: delayAbortEval is not supported: Gauntlet judges an abort only after 5 s and 50 samples "
            "of the request; remove it"
        )
    if "threshold" not in raw:
        raise K6ThresholdError(f"{key}: an object needs threshold: 'p(95)<500' (and optionally abortOnFail: true)")
    abort = raw.get("abortOnFail", False)
    if not isinstance(abort, bool):
        raise K6ThresholdError(f"{key}: abortOnFail must be true or false, got {abort!r}")
    return raw["threshold"], abort


def parse_k6_thresholds(raw: object, *, where: str) -> list[K6Threshold]:
    """The thresholds of a k6 `thresholds` table; K6ThresholdError naming `where` and the key otherwise."""
    if not isinstance(raw, Mapping):
        raise K6ThresholdError(f"{where}: expected a table of metric: [expressions], got {type(raw).__name__}")
    found = []
    for key_raw, values in raw.items():
        key = f"{where}.{key_raw}"
        if not isinstance(key_raw, str):
            raise K6ThresholdError(f"{key}: a metric name must be a string")
        metric, scope = _metric_of(key, key_raw)
        if not isinstance(values, list) or not values:
            raise K6ThresholdError(f"{key}: expected a list, e.g. {key_raw}: ['p(95)<500']")
        for value in values:
            expression, abort = _entry(key, metric, value)
            gauntlet_metric, op, limit = _expression(key, metric, expression)
            if abort and op in (">", ">="):
                raise K6ThresholdError(
                    f"{key}: abortOnFail on a floor ({expression}) would stop every run at its start; "
                    "Gauntlet aborts only on ceilings (< or <=)"
                )
            found.append(K6Threshold(scope=scope, metric=gauntlet_metric, op=op, limit=limit, abort_on_fail=abort))
    if not found:
        raise K6ThresholdError(f"{where}: no thresholds")
    return found
