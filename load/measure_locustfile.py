"""Gauntlet's measurement without any user class: `gauntlet load -f FILE.py` runs `locust -f <this>,FILE.py`.

The person's file brings the User classes; this one brings the shape that follows the
plan's stage table and installs Gauntlet's HDR recording, progress and thresholds on
Locust's events, exactly as `locustfile.py` does for the built-in profiles.
"""

from __future__ import annotations

from locust import events

from gauntlet.load.instrumentation import GauntletShape, install

__all__ = ["GauntletShape"]

install(events)
