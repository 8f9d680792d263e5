"""The acceptance checks, one module per kernel of the seeds. Importing this package registers them all.

Imported by name, not discovered: a check module with a broken import fails
loudly here instead of silently disappearing from the gate.
"""

from gauntlet.acceptance.checks import access  # noqa: F401
from gauntlet.acceptance.checks import actions  # noqa: F401
from gauntlet.acceptance.checks import earnings  # noqa: F401
from gauntlet.acceptance.checks import feed  # noqa: F401
from gauntlet.acceptance.checks import limits  # noqa: F401
from gauntlet.acceptance.checks import notifications  # noqa: F401
from gauntlet.acceptance.checks import onboarding  # noqa: F401
from gauntlet.acceptance.checks import queues  # noqa: F401
from gauntlet.acceptance.checks import ranker  # noqa: F401
