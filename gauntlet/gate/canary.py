"""`gauntlet gate canary`: the seeds' auto-rollback gate against a running platform.

    if (error_rate > 0.02 || burn_rate > 2.0 || |exploration_rate - epsilon| > epsilon * 0.5)
        setFeatureFlag('global.safe_mode', true)

The rules are pure (`evaluate`); the platform is read and changed only through
its own HTTP surface with a service key, so this works against a staging URL as
well as the embedded stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from gauntlet.base.errors import GauntletError

MAX_ERROR_RATE = 0.02
MAX_BURN_RATE = 2.0
MAX_EXPLORATION_DRIFT = 0.5  # a fraction of epsilon
# Fewer impressions than this cannot tell drift from noise: the rule reports, but does not fire.
MIN_IMPRESSIONS = 200
SAFE_MODE = "global.safe_mode"


@dataclass(frozen=True, kw_only=True)
class CanaryMetrics:
    requests: int
    error_rate: float
    burn_rates: dict[str, float]  # surface -> 5 min vs 24 h p95 ratio
    epsilon: float
    exploration_rate: float | None
    impressions: int
    safe_mode: bool


@dataclass(frozen=True, kw_only=True)
class Rule:
    name: str
    breached: bool
    observed: str
    limit: str
    note: str = ""


def evaluate(m: CanaryMetrics) -> list[Rule]:
    """One verdict per rule; a rule without enough data says so and does not fire."""
    worst_surface, worst_burn = max(m.burn_rates.items(), key=lambda kv: kv[1], default=("-", 0.0))
    rules = [
        Rule(
            name="error rate (5 min)",
            breached=m.error_rate > MAX_ERROR_RATE,
            observed=f"{m.error_rate:.2%} of {m.requests} requests",
            limit=f"<= {MAX_ERROR_RATE:.0%}",
            note="" if m.requests else "no traffic in the window",
        ),
        Rule(
            name="burn rate (5 min vs 24 h p95)",
            breached=worst_burn > MAX_BURN_RATE,
            observed=f"{worst_burn:.2f} ({worst_surface})",
            limit=f"<= {MAX_BURN_RATE}",
            note="" if m.burn_rates else "no surface has both windows yet",
        ),
    ]
    rules.append(_exploration_rule(m))
    return rules


def _exploration_rule(m: CanaryMetrics) -> Rule:
    limit = f"epsilon {m.epsilon:g} +/- {MAX_EXPLORATION_DRIFT:.0%}"
    if m.safe_mode:
        return Rule(
            name="exploration drift",
            breached=False,
            observed="safe mode on",
            limit=limit,
            note="exploration is off in safe mode",
        )
    if m.exploration_rate is None or m.impressions < MIN_IMPRESSIONS:
        return Rule(
            name="exploration drift",
            breached=False,
            observed=f"{m.impressions} impressions",
            limit=limit,
            note=f"needs {MIN_IMPRESSIONS}+ impressions to judge",
        )
    drift = abs(m.exploration_rate - m.epsilon)
    return Rule(
        name="exploration drift",
        breached=drift > m.epsilon * MAX_EXPLORATION_DRIFT,
        observed=f"exploration rate {m.exploration_rate:.3f} over {m.impressions} impressions",
        limit=limit,
    )


class PlatformClient:
    """The few calls the canary makes, through the platform's HTTP surface with a service key."""

    def __init__(self, target: str, service_key: str, *, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {service_key}", "apikey": service_key}
        self._http = httpx.Client(base_url=target.rstrip("/"), headers=headers, timeout=timeout)

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def view(self, name: str) -> list[dict[str, Any]]:
        rows = self._call("GET", f"/rest/v1/{name}")
        return rows if isinstance(rows, list) else []

    def rpc(self, function: str, **args: Any) -> Any:
        return self._call("POST", f"/rest/v1/rpc/{function}", json=args)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise GauntletError(f"canary: {method} {path} failed: {exc}") from exc
        if response.status_code >= 400:
            raise GauntletError(f"canary: {method} {path} answered {response.status_code}: {response.text[:200]}")
        return response.json()


def read_metrics(client: PlatformClient) -> CanaryMetrics:
    traffic = (client.view("vw_canary_metrics") or [{}])[0]
    flags = client.rpc("flags_for") or {}
    policy = flags.get("ranker.policy") or {}
    epsilon = float(policy.get("epsilon", 0.0))
    version = policy.get("version")
    health = client.view("vw_policy_health")
    row = next((r for r in health if r.get("policy") == version), None)
    return CanaryMetrics(
        requests=int(traffic.get("requests") or 0),
        error_rate=float(traffic.get("error_rate") or 0.0),
        burn_rates={
            str(r["surface"]): float(r["burn_rate"])
            for r in client.view("vw_slo_burnrate")
            if r.get("burn_rate") is not None
        },
        epsilon=epsilon,
        exploration_rate=float(row["exploration_rate"]) if row and row.get("exploration_rate") is not None else None,
        impressions=int(row["impression_count"]) if row else 0,
        safe_mode=bool((flags.get(SAFE_MODE) or {}).get("enabled", False)),
    )


def roll_back(client: PlatformClient, rules: list[Rule]) -> None:
    """Turn safe mode on, saying which rules breached (kept in the platform's action ledger)."""
    reason = "; ".join(f"{r.name}: {r.observed} (limit {r.limit})" for r in rules if r.breached)
    client.rpc("set_feature_flag", p_key=SAFE_MODE, p_value={"enabled": True}, p_reason=f"canary: {reason}")
