"""The acceptance checks, one module per kernel of the seeds. Importing this package registers them all.

Imported by name, not discovered: a check module with a broken import fails
loudly here instead of silently disappearing from the gate.
"""

from gauntlet.acceptance.checks import (  # noqa: F401 - imported to register their checks
    access,
    actions,
    auth,
    earnings,
    feed,
    limits,
    notifications,
    onboarding,
    queues,
    ranker,
    rest,
    workers,
)
