"""SLO thresholds for a load run: parse an SLO file, evaluate it against what was measured.

An SLO file (YAML or TOML) has up to five top-level keys::

    scope: all            # or `profile`: per-request thresholds only for requests the profile makes
    overall:              # every request of the run together
      p95_ms: 500         # a bare number uses the metric's usual comparison (latency: `<`)
      p99_ms: "< 1s"
      error_rate: "< 0.1%"
    requests:
      "rpc:feed_fusion_home":
        p95_ms: 800
      "auth:token":
        p95_ms: 500
        rps: ">= 5"

Metrics: any percentile `pNN_ms` (`p50_ms`, `p99.9_ms`, also written `p99_9_ms`),
`max_ms`, `mean_ms`, `error_rate` (a fraction, or a string with `%`), `rps`
(throughput over the load period), `requests` (a count) and, overall only,
`late_arrival_rate` (open-model `rate` runs: arrivals started late or never).

k6's syntax is accepted too, under a top-level `thresholds:` key (see
`gauntlet.load.k6`): `http_req_duration{name:auth:token}: ['p(95)<500']`.
Every per-request threshold is checked against the requests the run's users can
make before any load starts (`unmade_requests`), with a did-you-mean.

A threshold whose metric saw no samples *fails* with reason "no samples": a
gate that cannot see its subject must not pass. Latency metrics are read over
successful requests only (k6's semantics: failures are judged by `error_rate`),
so a latency threshold on a scope where every request failed has no samples.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import yaml
from hdrh.histogram import HdrHistogram

from gauntlet.base.errors import GauntletError
from gauntlet.base.hints import closest
from gauntlet.load.hdr import percentile_ms, percentile_of_metric
from gauntlet.load.k6 import K6ThresholdError, parse_k6_thresholds

Op = Literal["<", "<=", ">", ">="]
Scope = Literal["all", "profile"]
OVERALL = "overall"
DEFAULTS_FILE = Path(__file__).with_name("slo_defaults.yaml")

_EXPRESSION = re.compile(
    r"^\s*(?P<op><=|>=|<|>)?\s*(?P<number>[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*(?P<unit>ms|s|%)?\s*$"
)
_LATENCY_NAMED = {"max_ms": "max", "mean_ms": "mean"}
_RATE_METRICS = ("error_rate", "late_arrival_rate")
_COUNT_METRICS = ("rps", "requests")
_DEFAULT_OP: dict[str, Op] = {"error_rate": "<", "late_arrival_rate": "<=", "rps": ">=", "requests": ">="}
_TOP_LEVEL_KEYS = ("version", "scope", OVERALL, "requests", "thresholds")


class SloFileError(GauntletError):
    """The SLO file is unreadable or names a key or value Gauntlet does not understand."""


@dataclass(frozen=True, kw_only=True)
class Threshold:
    """One objective: `scope` (overall or a request name) `metric` `op` `limit`."""

    scope: str
    metric: str
    op: Op
    limit: float
    # k6's `abortOnFail`: losing this threshold stops the run (as --abort-on-fail does for all).
    abort_on_fail: bool = False

    @property
    def is_latency(self) -> bool:
        return self.metric.endswith("_ms")

    def describe(self) -> str:
        return f"{self.scope} {self.metric} {self.op} {_format_value(self.metric, self.limit)}"


@dataclass(frozen=True, kw_only=True)
class SloSpec:
    thresholds: tuple[Threshold, ...]
    scope: Scope = "all"
    source: str = "<defaults>"


def _format_value(metric: str, value: float) -> str:
    if metric.endswith("_ms"):
        return f"{value:g} ms"
    if metric in _RATE_METRICS:
        return f"{value * 100:.4g} %"
    if metric == "rps":
        return f"{value:.4g} req/s"
    return f"{value:g}"


def _is_known_metric(metric: str) -> bool:
    if percentile_of_metric(metric) is not None:
        return True
    return metric in _LATENCY_NAMED or metric in _RATE_METRICS or metric in _COUNT_METRICS


def _parse_limit(metric: str, raw: object, where: str) -> tuple[Op, float]:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise SloFileError(f"{where}: expected a number or a string like '< 500ms', got {raw!r}")
    default_op: Op = _DEFAULT_OP.get(metric, "<")
    if isinstance(raw, int | float):
        op, value, unit = default_op, float(raw), None
    else:
        match = _EXPRESSION.match(raw)
        if match is None:
            raise SloFileError(f"{where}: cannot read {raw!r}; write e.g. '< 500ms', '<= 0.1%' or '>= 20'")
        op = match["op"] or default_op  # type: ignore[assignment]
        value, unit = float(match["number"]), match["unit"]
    if unit == "%":
        if metric not in _RATE_METRICS:
            raise SloFileError(f"{where}: '%' only applies to error_rate or late_arrival_rate")
        value /= 100.0
    elif unit in ("ms", "s"):
        if not metric.endswith("_ms"):
            raise SloFileError(f"{where}: a time unit only applies to latency metrics (*_ms)")
        value = value * 1000.0 if unit == "s" else value
    if not math.isfinite(value) or value < 0:
        raise SloFileError(f"{where}: the limit must be a finite number >= 0, got {raw!r}")
    if metric in _RATE_METRICS and value > 1.0:
        raise SloFileError(f"{where}: {metric} is a fraction in [0, 1] (write '0.1%' for one in a thousand)")
    return op, value


def _thresholds_of(scope: str, raw: object, where: str) -> list[Threshold]:
    if not isinstance(raw, Mapping):
        raise SloFileError(f"{where}: expected a table of metric: limit, got {type(raw).__name__}")
    found = []
    for metric, limit in raw.items():
        key = f"{where}.{metric}"
        if not isinstance(metric, str) or not _is_known_metric(metric):
            raise SloFileError(
                f"{key}: unknown metric {metric!r}; use pNN_ms (e.g. p95_ms, p99.9_ms), max_ms, mean_ms, "
                "error_rate, rps, requests or late_arrival_rate"
            )
        if metric == "late_arrival_rate" and scope != OVERALL:
            raise SloFileError(f"{key}: late_arrival_rate is only measured overall; move it under `overall`")
        op, value = _parse_limit(metric, limit, key)
        found.append(Threshold(scope=scope, metric=metric, op=op, limit=value))
    return found


def ensure_slo_file_is_valid(raw: object, *, source: str) -> SloSpec:
    """Turn the parsed content of an SLO file into a spec, or raise SloFileError naming the bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise SloFileError(f"{source}: expected a table at the top level, got {type(raw).__name__}")
    for key in raw:
        if key not in _TOP_LEVEL_KEYS:
            raise SloFileError(f"{source}: unknown top-level key {key!r}; allowed: {', '.join(_TOP_LEVEL_KEYS)}")
    if raw.get("version", 1) != 1:
        raise SloFileError(f"{source}: version: only version 1 is understood, got {raw.get('version')!r}")
    scope = raw.get("scope", "all")
    if scope not in ("all", "profile"):
        raise SloFileError(f"{source}: scope: must be 'all' or 'profile', got {scope!r}")
    thresholds = _thresholds_of(OVERALL, raw.get(OVERALL, {}), f"{source}: {OVERALL}")
    requests = raw.get("requests", {})
    if not isinstance(requests, Mapping):
        raise SloFileError(f"{source}: requests: expected a table of request name: metrics")
    for name, metrics in requests.items():
        if not isinstance(name, str) or not name or name == OVERALL:
            raise SloFileError(f"{source}: requests: {name!r} is not a usable request name")
        thresholds += _thresholds_of(name, metrics, f"{source}: requests.{name}")
    if "thresholds" in raw:
        try:
            k6 = parse_k6_thresholds(raw["thresholds"], where=f"{source}: thresholds")
        except K6ThresholdError as exc:
            raise SloFileError(str(exc)) from None
        thresholds += [
            Threshold(scope=t.scope, metric=t.metric, op=t.op, limit=t.limit, abort_on_fail=t.abort_on_fail) for t in k6
        ]
    if not thresholds:
        raise SloFileError(f"{source}: no thresholds: a gate with nothing to check would always pass")
    return SloSpec(thresholds=tuple(thresholds), scope=scope, source=source)


def parse_slo_text(text: str, *, source: str, fmt: Literal["yaml", "toml"]) -> SloSpec:
    try:
        raw: object = tomllib.loads(text) if fmt == "toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise SloFileError(f"{source}: not valid {fmt.upper()}: {exc}") from exc
    return ensure_slo_file_is_valid(raw, source=source)


def load_slo_file(path: Path) -> SloSpec:
    """Read an SLO file; `.toml` is TOML, anything else YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SloFileError(f"cannot read SLO file {path}: {exc.strerror or exc}") from exc
    return parse_slo_text(text, source=str(path), fmt="toml" if path.suffix.lower() == ".toml" else "yaml")


def default_slo() -> SloSpec:
    """The platform's published objectives (DESIGN.md), mapped to request names."""
    return load_slo_file(DEFAULTS_FILE)


def applicable(spec: SloSpec, profile_requests: Iterable[str]) -> tuple[Threshold, ...]:
    """The thresholds to check for a run of a profile making `profile_requests`."""
    if spec.scope == "all":
        return spec.thresholds
    made = set(profile_requests)
    return tuple(t for t in spec.thresholds if t.scope == OVERALL or t.scope in made)


def unmade_requests(
    spec: SloSpec, makes: Iterable[str], *, made_elsewhere: Iterable[str] = (), open_ended: bool = False
) -> tuple[Threshold, ...]:
    """Refuse, before any load, a threshold on a request that no user of the run can make.

    `makes`: the request names the run's users can make. With `scope: profile`, a request that
    another profile makes (`made_elsewhere`) is simply not judged, as `applicable` does. When some
    of the run's requests are named only at run time (`open_ended`), an unknown name cannot be
    refused: the thresholds it concerns are returned, to be named in a warning.
    """
    made = set(makes)
    elsewhere = set(made_elsewhere) if spec.scope == "profile" else set()
    unsure = []
    for t in spec.thresholds:
        if t.scope == OVERALL or t.scope in made or t.scope in elsewhere:
            continue
        if open_ended:
            unsure.append(t)
            continue
        close = closest(t.scope, sorted(made | elsewhere))
        hint = f"did you mean {close}? " if close else ""
        listed = ", ".join(sorted(made)) or "none"
        raise SloFileError(
            f"{spec.source}: threshold {t.describe()!r} names a request no user of this run makes; {hint}"
            f"the run's requests: {listed}"
        )
    return tuple(unsure)


class ScopeMetrics(Protocol):
    """What one scope (overall or a request name) measured."""

    @property
    def requests(self) -> int: ...

    @property
    def failures(self) -> int: ...

    @property
    def latency_samples(self) -> int:
        """Requests with a recorded latency: the successful ones (failures are not in the percentiles)."""
        ...

    def latency_ms(self, stat: float | Literal["max", "mean"]) -> float: ...


@dataclass(frozen=True)
class HistogramMetrics:
    """ScopeMetrics over an HdrHistogram of microseconds."""

    histogram: HdrHistogram
    requests: int
    failures: int

    @property
    def latency_samples(self) -> int:
        return int(self.histogram.get_total_count())

    def latency_ms(self, stat: float | Literal["max", "mean"]) -> float:
        if stat == "max":
            return percentile_ms(self.histogram, 100.0)
        if stat == "mean":
            return float(self.histogram.get_mean_value()) / 1000.0
        return percentile_ms(self.histogram, stat)


@dataclass(frozen=True, kw_only=True)
class ArrivalCounts:
    scheduled: int
    late: int
    missed: int


@dataclass(frozen=True, kw_only=True)
class Verdict:
    threshold: Threshold
    passed: bool
    observed: float | None
    reason: str  # "met", "missed" or "no samples"

    def describe(self) -> str:
        t = self.threshold
        if self.observed is None:
            return f"{t.describe()}: FAILED (no samples)"
        seen = _format_value(t.metric, self.observed)
        return f"{t.describe()}: {'ok' if self.passed else 'MISSED'} (observed {seen})"


def _compare(observed: float, op: Op, limit: float) -> bool:
    if op == "<":
        return observed < limit
    if op == "<=":
        return observed <= limit
    if op == ">":
        return observed > limit
    return observed >= limit


def _observe(
    t: Threshold, scope: ScopeMetrics | None, duration_s: float, arrivals: ArrivalCounts | None
) -> float | None:
    if t.metric == "late_arrival_rate":
        if arrivals is None or arrivals.scheduled == 0:
            return None
        return (arrivals.late + arrivals.missed) / arrivals.scheduled
    if scope is None or scope.requests == 0:
        return None
    if t.metric == "requests":
        return float(scope.requests)
    if t.metric == "rps":
        return scope.requests / duration_s if duration_s > 0 else None
    if t.metric == "error_rate":
        return scope.failures / scope.requests
    if scope.latency_samples == 0:
        return None  # every request failed: no latency to judge, and a threshold that sees nothing fails
    named = _LATENCY_NAMED.get(t.metric)
    if named == "max":
        return scope.latency_ms("max")
    if named == "mean":
        return scope.latency_ms("mean")
    pct = percentile_of_metric(t.metric)
    assert pct is not None, t.metric  # validated at parse time
    return scope.latency_ms(pct)


def evaluate(
    thresholds: Iterable[Threshold],
    scopes: Mapping[str, ScopeMetrics],
    *,
    duration_s: float,
    arrivals: ArrivalCounts | None = None,
) -> list[Verdict]:
    """One verdict per threshold; `scopes` maps "overall" and request names to what they measured."""
    verdicts = []
    for t in thresholds:
        observed = _observe(t, scopes.get(t.scope), duration_s, arrivals)
        if observed is None:
            verdicts.append(Verdict(threshold=t, passed=False, observed=None, reason="no samples"))
            continue
        passed = _compare(observed, t.op, t.limit)
        verdicts.append(Verdict(threshold=t, passed=passed, observed=observed, reason="met" if passed else "missed"))
    return verdicts


def all_met(verdicts: Iterable[Verdict]) -> bool:
    return all(v.passed for v in verdicts)


def already_lost(verdicts: Iterable[Verdict], scopes: Mapping[str, ScopeMetrics], *, min_samples: int) -> list[Verdict]:
    """Verdicts that justify stopping a run early (`--abort-on-fail`).

    Only ceilings (`<`, `<=`) can be lost mid-run: a throughput floor may still
    be reached. A scope needs `min_samples` requests before one slow or failed
    request can end a run, except `max_ms`, which can only grow.
    """
    lost = []
    for v in verdicts:
        t = v.threshold
        if v.passed or v.observed is None or t.op not in ("<", "<="):
            continue
        scope = scopes.get(t.scope)
        enough = t.metric == "max_ms" or (scope is not None and scope.requests >= min_samples)
        if enough:
            lost.append(v)
    return lost
