"""The platform settings `gauntlet up` gives a stack on one machine (its development defaults).

Everything Gauntlet drives against the embedded stack comes from one address, 127.0.0.1: the
load's simulated users, the acceptance checks' sign-ups, the monitor's journeys. At production
sizes the per-address buckets (10 sign-ups a minute from one address) refuse a 10-user load run
within seconds. So `gauntlet up` scales the edge rate limits as the gate's `ci` profile does
(`GAUNTLET_RATE_LIMIT_MULTIPLIER=50`), unless the environment sets the multiplier itself
(`GAUNTLET_RATE_LIMIT_MULTIPLIER=1 gauntlet up` gives production sizes). The per-account
failed-login limit is never scaled (platform/ratelimit.py UNSCALED), so brute force against one
account is still refused at its production size. The platform's own default stays 1; a stack the
test suite starts (gauntlet/pytest_plugin.py) keeps production sizes too.
"""

from __future__ import annotations

from collections.abc import Mapping

RATE_LIMIT_SETTING = "GAUNTLET_RATE_LIMIT_MULTIPLIER"
DEVELOPMENT_RATE_LIMIT_MULTIPLIER = "50"  # the gate's ci profile's value (gauntlet/gate/profiles.toml)


def development_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Pure: the settings `gauntlet up` adds for the API and workers (none the environment already sets)."""
    if RATE_LIMIT_SETTING in environ:
        return {}
    return {RATE_LIMIT_SETTING: DEVELOPMENT_RATE_LIMIT_MULTIPLIER}


def describe(settings: Mapping[str, str], environ: Mapping[str, str]) -> str:
    """Pure: the line `gauntlet up` prints about the stack's rate limits."""
    if RATE_LIMIT_SETTING in settings:
        return (
            f"rate limits: {RATE_LIMIT_SETTING}={settings[RATE_LIMIT_SETTING]} (development default: every user "
            f"comes from 127.0.0.1; `{RATE_LIMIT_SETTING}=1 gauntlet up` for production sizes)"
        )
    return f"rate limits: {RATE_LIMIT_SETTING}={environ.get(RATE_LIMIT_SETTING, '1')} (from the environment)"
