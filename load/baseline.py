"""Latency regressions against a baseline run: the seeds' rollback rule "p95 latency > 2x baseline".

A run is compared request name by request name with a baseline `results.json`
(a file the user committed, or the gate's last passing run of the same
profile). A request *regressed* when its p95 is more than `factor` times the
baseline's **and** the change is larger than the sampling noise of the two
runs (and the same for all requests together, `overall`, the p95 the rollback
rule watches in production):

    current p95 lower bound  >  factor x  baseline p95 upper bound

Each bound is a distribution-free confidence interval of a quantile from
order statistics (e.g. Conover, *Practical Nonparametric Statistics*, 3.2):
for n independent samples, the k-th smallest value is below the true
q-quantile with probability P(Binomial(n, q) >= k), so the ranks (l, u) whose
binomial tail probabilities are (1 - confidence) / 2 on each side bound the
quantile with at least `confidence` coverage. The histograms in `results.json`
hold every sample (0.1 % resolution), so the values at those ranks are read
off them directly: no resampling, exact for any distribution. The ranks come
from the exact binomial distribution up to 20,000 samples and from its normal
approximation above.

What this measures is the noise of *sampling*, which is what makes a p95 of
40 requests meaningless; the drift of a machine between runs (10-30 % on a
shared CI runner) is what the factor (2x) absorbs. A difference of less than
`min_delta_ms` is never a regression (scheduler jitter, not a query plan). A
request with too few successful samples in either run for the interval to
exist (72 for a p95 at 95 %; `min_samples` can raise that floor) is reported
as "not compared" with the reason, never passed silently. Small samples need
no other guard: their intervals are wide (at 72 samples the baseline's upper
bound is its maximum), which makes a regression harder to claim, not easier.

Pure logic: no Locust, no I/O except `read_baseline`.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

from hdrh.histogram import HdrHistogram

from gauntlet.base.errors import GauntletError
from gauntlet.load.hdr import decode
from gauntlet.load.plan import RunPlan, StageDict
from gauntlet.load.results import (
    SCHEMA,
    SCHEMA_VERSION,
    BaselineComparison,
    BaselineReport,
    LoadResult,
    RunInfo,
)
from gauntlet.load.thresholds import OVERALL

DEFAULT_FACTOR = 2.0
DEFAULT_PERCENTILE = 95.0
DEFAULT_CONFIDENCE = 0.95
DEFAULT_MIN_SAMPLES = 0  # beyond what the interval itself needs (72 for a p95 at 95 %): a floor of your own
DEFAULT_MIN_DELTA_MS = 5.0
EXACT_UP_TO = 20_000


class BaselineError(GauntletError):
    """The baseline cannot be used: unreadable, not a load result, or recorded on a different plan."""


@dataclass(frozen=True, kw_only=True)
class RegressionRule:
    factor: float = DEFAULT_FACTOR
    percentile: float = DEFAULT_PERCENTILE
    confidence: float = DEFAULT_CONFIDENCE
    min_samples: int = DEFAULT_MIN_SAMPLES
    min_delta_ms: float = DEFAULT_MIN_DELTA_MS

    def __post_init__(self) -> None:
        if not math.isfinite(self.factor) or self.factor <= 1.0:
            raise BaselineError(f"regression factor must be a number > 1 (e.g. 2.0), not {self.factor!r}")
        if not 0.0 < self.percentile < 100.0:
            raise BaselineError(f"percentile must be between 0 and 100, not {self.percentile!r}")
        if not 0.5 <= self.confidence < 1.0:
            raise BaselineError(f"confidence must be in [0.5, 1), not {self.confidence!r}")


# -- order-statistic confidence intervals of a quantile --------------------------------------------------


def _binomial_cdf_table(n: int, q: float) -> list[float]:
    """P(Binomial(n, q) <= k) for k = 0..n, in log space (no underflow at large n)."""
    log_q, log_1q = math.log(q), math.log1p(-q)
    lg_n1 = math.lgamma(n + 1)
    cdf, total = [], 0.0
    for k in range(n + 1):
        total += math.exp(lg_n1 - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_q + (n - k) * log_1q)
        cdf.append(min(total, 1.0))
    return cdf


def quantile_ranks(n: int, q: float, confidence: float) -> tuple[int | None, int | None]:
    """1-based ranks (l, u) with P(X_(l) <= quantile) and P(X_(u) >= quantile) each >= 1 - alpha/2.

    None where n samples are too few for that bound to exist (e.g. the upper bound of a p95
    needs about 72 samples: below that even the maximum is not above the p95 often enough).
    """
    if n <= 0:
        return None, None
    tail = (1.0 - confidence) / 2.0
    if n > EXACT_UP_TO:
        z = NormalDist().inv_cdf(1.0 - tail)
        spread = z * math.sqrt(n * q * (1.0 - q))
        low_rank, high_rank = math.floor(n * q - spread), math.ceil(n * q + spread) + 1
    else:
        cdf = _binomial_cdf_table(n, q)
        # P(X_(l) <= xi) = P(B >= l) = 1 - cdf[l - 1] >= 1 - tail  <=>  cdf[l - 1] <= tail
        low_rank = max((k + 1 for k in range(n) if cdf[k] <= tail), default=0)
        # P(X_(u) >= xi) = P(B <= u - 1) = cdf[u - 1] >= 1 - tail
        high_rank = next((k + 1 for k in range(n) if cdf[k] >= 1.0 - tail), n + 1)
    return (low_rank if low_rank >= 1 else None), (high_rank if high_rank <= n else None)


@functools.cache
def min_samples_for(q: float, confidence: float) -> int:
    """The fewest samples for which both bounds of the q-quantile's interval exist."""
    n = 1
    while True:
        low, high = quantile_ranks(n, q, confidence)
        if low is not None and high is not None:
            return n
        n += 1


def value_at_rank_ms(histogram: HdrHistogram, rank: int) -> float:
    """The rank-th smallest sample (1-based), in milliseconds (to the histogram's 0.1 %)."""
    total = int(histogram.get_total_count())
    count = 0
    for item in histogram.get_recorded_iterator():
        count += item.count_at_value_iterated_to
        if count >= rank:
            return float(histogram.get_highest_equivalent_value(item.value_iterated_to)) / 1000.0
    assert rank <= total, (rank, total)
    return float(histogram.get_max_value()) / 1000.0


@dataclass(frozen=True, kw_only=True)
class QuantileInterval:
    samples: int
    estimate_ms: float
    low_ms: float | None
    high_ms: float | None


def quantile_interval(histogram: HdrHistogram, percentile: float, confidence: float) -> QuantileInterval:
    n = int(histogram.get_total_count())
    if n == 0:
        return QuantileInterval(samples=0, estimate_ms=0.0, low_ms=None, high_ms=None)
    low, high = quantile_ranks(n, percentile / 100.0, confidence)
    return QuantileInterval(
        samples=n,
        estimate_ms=float(histogram.get_value_at_percentile(percentile)) / 1000.0,
        low_ms=value_at_rank_ms(histogram, low) if low is not None else None,
        high_ms=value_at_rank_ms(histogram, high) if high is not None else None,
    )


# -- comparing runs --------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.3g} ms" if value < 100 else f"{value:.0f} ms"


def compare_request(
    name: str, current: HdrHistogram | None, baseline: HdrHistogram | None, rule: RegressionRule
) -> BaselineComparison:
    """One request name's verdict: regressed, ok, or not compared (with the reason)."""
    p = f"p{rule.percentile:g}"
    cur = quantile_interval(current, rule.percentile, rule.confidence) if current is not None else None
    base = quantile_interval(baseline, rule.percentile, rule.confidence) if baseline is not None else None

    def record(status: str, reason: str, text: str, ratio: float | None = None) -> BaselineComparison:
        return BaselineComparison(
            request=name,
            status=status,  # type: ignore[typeddict-item]
            passed=status != "regressed",
            reason=reason,
            current_samples=cur.samples if cur else 0,
            baseline_samples=base.samples if base else 0,
            current_ms=cur.estimate_ms if cur and cur.samples else None,
            baseline_ms=base.estimate_ms if base and base.samples else None,
            ratio=round(ratio, 3) if ratio is not None else None,
            current_low_ms=cur.low_ms if cur else None,
            baseline_high_ms=base.high_ms if base else None,
            text=f"{name} {p}: {text}",
        )

    if cur is None or base is None:
        where = "this run" if cur is None else "the baseline"
        return record("not compared", f"not in {where}", f"not compared: no such request in {where}")
    need = max(rule.min_samples, min_samples_for(rule.percentile / 100.0, rule.confidence))
    if cur.samples < need or base.samples < need or cur.low_ms is None or base.high_ms is None:
        return record(
            "not compared",
            "too few samples",
            f"not compared: {cur.samples} successful samples here, {base.samples} in the baseline; "
            f"at least {need} in each are needed to tell a {rule.factor:g}x change from noise",
        )
    ratio = cur.estimate_ms / base.estimate_ms if base.estimate_ms > 0 else math.inf
    seen = f"{_ms(cur.estimate_ms)} vs baseline {_ms(base.estimate_ms)} ({ratio:.2f}x)"
    if ratio <= rule.factor:
        return record("ok", "within factor", f"{seen}, limit {rule.factor:g}x", ratio)
    bound = rule.factor * base.high_ms
    noise = (
        f"{p} here >= {_ms(cur.low_ms)}, {rule.factor:g} x baseline {p} <= {_ms(bound)} "
        f"at {rule.confidence:.0%} confidence"
    )
    if cur.low_ms <= bound:
        return record("ok", "within noise", f"{seen}: above {rule.factor:g}x but within the noise ({noise})", ratio)
    if cur.estimate_ms - base.estimate_ms < rule.min_delta_ms:
        return record("ok", "below min delta", f"{seen}: a change under {_ms(rule.min_delta_ms)} is not counted", ratio)
    return record("regressed", "regressed", f"{seen} > {rule.factor:g}x baseline, beyond the noise ({noise})", ratio)


def compare_results(current: LoadResult, baseline: LoadResult, rule: RegressionRule) -> list[BaselineComparison]:
    """All requests together ("overall": the rollback rule's p95), then every request name of either run."""
    names = sorted(set(current["requests"]) | set(baseline["requests"]))

    def hist(result: LoadResult, name: str) -> HdrHistogram | None:
        stats = result.get("overall") if name == OVERALL else result["requests"].get(name)
        return decode(stats["hdr"]) if stats is not None else None

    return [compare_request(name, hist(current, name), hist(baseline, name), rule) for name in [OVERALL, *names]]


# -- is the baseline comparable at all -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PlanKey:
    """What must be equal for two runs' latencies to be comparable."""

    profile: str
    scenario: str
    stages: tuple[tuple[float, int, float], ...]
    rate_per_s: float | None
    workers: int

    @classmethod
    def of_run(cls, run: RunInfo) -> PlanKey:
        return cls(
            profile=run["profile"],
            scenario=run["scenario"],
            stages=cls.stage_key(run["stages"]),
            rate_per_s=run["rate_per_s"],
            workers=run["workers"],
        )

    @classmethod
    def of_plan(cls, plan: RunPlan) -> PlanKey:
        return cls(
            profile=plan["profile"],
            scenario=plan["scenario"],
            stages=cls.stage_key(plan["stages"]),
            rate_per_s=plan["users"]["rate_per_s"],
            workers=plan["expect_workers"],
        )

    @staticmethod
    def stage_key(stages: list[StageDict]) -> tuple[tuple[float, int, float], ...]:
        return tuple((float(s["until_s"]), int(s["users"]), round(float(s["spawn_rate"]), 6)) for s in stages)

    def describe_stages(self) -> str:
        peak = max((users for _, users, _ in self.stages), default=0)
        length = max((until for until, _, _ in self.stages), default=0.0)
        return f"{peak} users over {length:g} s"


def plan_differences(baseline: PlanKey, current: PlanKey) -> list[str]:
    """Why the two plans differ (empty when comparable)."""
    found = []
    if baseline.profile != current.profile:
        found.append(f"profile {baseline.profile} -> {current.profile}")
    if baseline.scenario != current.scenario:
        found.append(f"scenario {baseline.scenario} -> {current.scenario}")
    if baseline.stages != current.stages:
        found.append(f"stages {baseline.describe_stages()} -> {current.describe_stages()}")
    if baseline.rate_per_s != current.rate_per_s:
        found.append(f"rate {baseline.rate_per_s} -> {current.rate_per_s}")
    # With workers the master counts the generators that reported; one process is 1.
    if baseline.workers != current.workers:
        found.append(f"load generators {baseline.workers} -> {current.workers}")
    return found


def resolve_baseline_path(path: Path) -> Path:
    """A results.json, or a folder holding one (a load run's, or a gate's reports folder with load/)."""
    if path.is_dir():
        for candidate in (path / "results.json", path / "load" / "results.json"):
            if candidate.is_file():
                return candidate
        raise BaselineError(f"--baseline {path}: no results.json in that folder (nor in {path}/load/)")
    return path


def read_baseline(path: Path) -> LoadResult:
    """The baseline's result, or BaselineError naming what is wrong with the file."""
    file = resolve_baseline_path(path)
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"--baseline {file}: no such file; pass a results.json of an earlier run") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"--baseline {file}: not readable JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA or raw.get("version") != SCHEMA_VERSION:
        raise BaselineError(f"--baseline {file}: not a `gauntlet load` results.json ({SCHEMA} v{SCHEMA_VERSION})")
    if not isinstance(raw.get("requests"), dict) or not isinstance(raw.get("run"), dict):
        raise BaselineError(f"--baseline {file}: no `run` or `requests`: a truncated or hand-edited results.json")
    result: LoadResult = raw  # type: ignore[assignment]
    return result


def ensure_comparable(baseline: LoadResult, current: PlanKey, *, source: str) -> None:
    """Refuse a baseline recorded on another plan: its latencies say nothing about this one."""
    differences = plan_differences(PlanKey.of_run(baseline["run"]), current)
    if differences:
        raise BaselineError(
            f"--baseline {source} was recorded on a different plan ({'; '.join(differences)}): "
            "pass a baseline of the same profile, scenario and users, or drop --baseline"
        )


def baseline_warnings(baseline: LoadResult, current_host: str | None) -> list[str]:
    """What makes the comparison weaker without making it meaningless."""
    notes = []
    host = baseline["run"].get("host")
    if host is None:
        notes.append("the baseline does not say which machine ran it")
    elif current_host is not None and host != current_host:
        notes.append(f"the baseline ran on {host}, this run on {current_host}: latencies of two machines differ")
    if not baseline.get("passed", False):
        notes.append("the baseline run itself did not pass its thresholds")
    return notes


def build_report(current: LoadResult, baseline: LoadResult, rule: RegressionRule, *, source: str) -> BaselineReport:
    return BaselineReport(
        source=source,
        run_id=baseline["run"]["id"],
        started_at=baseline["run"]["started_at"],
        percentile=rule.percentile,
        factor=rule.factor,
        confidence=rule.confidence,
        min_samples=max(rule.min_samples, min_samples_for(rule.percentile / 100.0, rule.confidence)),
        min_delta_ms=rule.min_delta_ms,
        warnings=baseline_warnings(baseline, current["run"].get("host")),
        comparisons=compare_results(current, baseline, rule),
    )


def with_baseline(result: LoadResult, report: BaselineReport) -> LoadResult:
    """The result with the baseline report attached; a regression makes the run fail."""
    regressed = any(c["status"] == "regressed" for c in report["comparisons"])
    return {**result, "baseline": report, "passed": result["passed"] and not regressed}


def regressions(result: Mapping[str, object]) -> list[BaselineComparison]:
    report = result.get("baseline")
    if not isinstance(report, dict):
        return []
    return [c for c in report["comparisons"] if c["status"] == "regressed"]
