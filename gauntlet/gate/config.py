"""Gate profiles from a TOML file a user can copy and edit (default: profiles.toml beside this file)."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gauntlet.base.errors import GauntletError
from gauntlet.durations import DurationError, parse_duration

DEFAULT_CONFIG = Path(__file__).with_name("profiles.toml")
_PROFILE_KEYS = {"description", "smoke", "acceptance", "drills", "journeys", "slo", "load", "platform", "fixtures"}
_LOAD_KEYS = {"profile", "scenario", "users", "duration", "rate", "baseline", "regression_factor"}
_FIXTURES_KEYS = {"users", "posts", "accounts", "seed"}


class GateConfigError(GauntletError):
    """The gate's profile file is wrong; the message names the file, the key and the fix."""


@dataclass(frozen=True, kw_only=True)
class LoadPhase:
    profile: str
    scenario: str
    users: int | None = None
    duration: str | None = None
    rate: float | None = None
    # "last" (the last passing run of this profile here), a results.json path, or None (no comparison).
    baseline: str | None = None
    regression_factor: float | None = None


@dataclass(frozen=True, kw_only=True)
class Fixtures:
    """The scale data set loaded before the load phase (`gauntlet fixtures load --if-absent`)."""

    users: int
    posts: int
    accounts: int = 100  # of them get a known password; the load phase signs in as them
    seed: int = 1


@dataclass(frozen=True, kw_only=True)
class GateProfile:
    name: str
    description: str = ""
    smoke: bool = True
    # The acceptance phase: off (None), every check (()), or the named checks/groups.
    acceptance: tuple[str, ...] | None = None
    load: LoadPhase | None = None
    drills: tuple[str, ...] = ()
    journeys: tuple[str, ...] = ()
    slo: Path | None = None
    platform: dict[str, str] = field(default_factory=dict)
    fixtures: Fixtures | None = None


def duration_seconds(text: str) -> int:
    """Whole seconds (rounded up) in Gauntlet's one duration grammar (gauntlet.durations)."""
    try:
        return math.ceil(parse_duration(text, option="duration"))
    except DurationError as exc:
        raise GateConfigError(str(exc)) from None


def load_profile(name: str, config: Path | None = None) -> GateProfile:
    path = config or DEFAULT_CONFIG
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise GateConfigError(f"gate config {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise GateConfigError(f"{path}: not valid TOML: {exc}") from None
    profiles = raw.get("profile")
    if not isinstance(profiles, dict) or not profiles:
        raise GateConfigError(f"{path}: no [profile.NAME] tables")
    if name not in profiles:
        raise GateConfigError(f"{path}: no profile {name!r}; known: {', '.join(sorted(profiles))}")
    return ensure_profile_is_valid(name, profiles[name], source=path)


def ensure_profile_is_valid(name: str, raw: Any, *, source: Path) -> GateProfile:
    where = f"{source}: [profile.{name}]"
    if not isinstance(raw, dict):
        raise GateConfigError(f"{where} must be a table")
    unknown = set(raw) - _PROFILE_KEYS
    if unknown:
        raise GateConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {sorted(_PROFILE_KEYS)}")
    load = _load_phase(raw.get("load"), where, source)
    fixtures = _fixtures(raw.get("fixtures"), where)
    drills = _names(raw.get("drills", []), f"{where}.drills")
    journeys = _names(raw.get("journeys", []), f"{where}.journeys")
    smoke = raw.get("smoke", True)
    if not isinstance(smoke, bool):
        raise GateConfigError(f"{where}.smoke must be true or false")
    acceptance = _acceptance(raw.get("acceptance", False), f"{where}.acceptance")
    platform = raw.get("platform", {})
    if not isinstance(platform, dict) or not all(isinstance(v, str) for v in platform.values()):
        raise GateConfigError(f'{where}.platform: settings are strings, e.g. GAUNTLET_RATE_LIMIT_MULTIPLIER = "50"')
    slo = raw.get("slo", "")
    if not isinstance(slo, str):
        raise GateConfigError(f"{where}.slo must be a path (a string)")
    slo_path = (source.parent / slo) if slo else None
    if slo_path is not None and not slo_path.exists():
        raise GateConfigError(f"{where}.slo: {slo_path} not found")
    return GateProfile(
        name=name,
        description=str(raw.get("description", "")),
        smoke=smoke,
        acceptance=acceptance,
        load=load,
        drills=drills,
        journeys=journeys,
        slo=slo_path,
        platform=dict(platform),
        fixtures=fixtures,
    )


def _load_phase(raw: Any, where: str, source: Path) -> LoadPhase | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise GateConfigError(f"{where}.load must be a table")
    unknown = set(raw) - _LOAD_KEYS
    if unknown:
        raise GateConfigError(
            f"{where}.load: unknown key(s) {', '.join(sorted(unknown))}; allowed: {sorted(_LOAD_KEYS)}"
        )
    if not isinstance(raw.get("profile"), str) or not isinstance(raw.get("scenario"), str):
        raise GateConfigError(f"{where}.load needs profile and scenario (strings)")
    users = raw.get("users")
    if users is not None and (not isinstance(users, int) or users < 1):
        raise GateConfigError(f"{where}.load.users must be a whole number >= 1")
    duration = raw.get("duration")
    if duration is not None:
        duration_seconds(str(duration))
    rate = raw.get("rate")
    if rate is not None and (not isinstance(rate, int | float) or rate <= 0):
        raise GateConfigError(f"{where}.load.rate must be a positive number of requests per second")
    baseline = raw.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or not baseline):
        raise GateConfigError(f'{where}.load.baseline: "last", "none" or the path of a results.json')
    if baseline not in (None, "last", "none"):
        baseline = str(source.parent / str(baseline))  # a path in the file is relative to the file
        if not Path(baseline).exists():
            raise GateConfigError(f'{where}.load.baseline: {baseline} not found; use "last", "none" or a results.json')
    factor = raw.get("regression_factor")
    if factor is not None and (isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 1):
        raise GateConfigError(f"{where}.load.regression_factor must be a number > 1, e.g. 2.0")
    return LoadPhase(
        profile=raw["profile"],
        scenario=raw["scenario"],
        users=users,
        duration=duration,
        rate=float(rate) if rate is not None else None,
        baseline=baseline,
        regression_factor=float(factor) if factor is not None else None,
    )


def _fixtures(raw: Any, where: str) -> Fixtures | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise GateConfigError(f"{where}.fixtures must be a table, e.g. users = 5000, posts = 50000")
    unknown = set(raw) - _FIXTURES_KEYS
    if unknown:
        raise GateConfigError(
            f"{where}.fixtures: unknown key(s) {', '.join(sorted(unknown))}; allowed: {sorted(_FIXTURES_KEYS)}"
        )
    users = raw.get("users")
    values = {"accounts": min(100, users) if isinstance(users, int) and users > 0 else 100, "seed": 1, **raw}
    for key, low in (("users", 1), ("posts", 0), ("accounts", 1), ("seed", 0)):
        value = values.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise GateConfigError(f"{where}.fixtures.{key} must be a whole number >= {low}")
    if values["accounts"] > values["users"]:
        raise GateConfigError(f"{where}.fixtures.accounts ({values['accounts']}) cannot exceed users")
    return Fixtures(users=values["users"], posts=values["posts"], accounts=values["accounts"], seed=values["seed"])


def _acceptance(raw: Any, where: str) -> tuple[str, ...] | None:
    """`true` runs every acceptance check, `false` none, a list the named checks or groups."""
    if isinstance(raw, bool):
        return () if raw else None
    if isinstance(raw, list) and raw:
        return _names(raw, where)
    raise GateConfigError(f'{where} must be true, false or a list of check ids or groups, e.g. ["feed", "queues"]')


def _names(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise GateConfigError(f"{where} must be a list of names")
    return tuple(raw)
