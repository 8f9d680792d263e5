"""Gauntlet: load, chaos and synthetic-journey test harness for the Rocker platform.

The harness core (CLI, stack supervisor, settings, pytest plugin) lives in this
folder; the areas live in top-level folders reached as subpackages:
``gauntlet.platform``, ``gauntlet.load``, ``gauntlet.chaos``,
``gauntlet.journeys``, ``gauntlet.fixtures`` and ``gauntlet.reports``.
"""

__version__ = "0.1.0"
