"""Every journey by name: what `gauntlet journey run` and the monitor run."""

from __future__ import annotations

from gauntlet.journeys import returning_user, seller, signup_to_notification
from gauntlet.journeys.framework import Journey

JOURNEYS: dict[str, Journey] = {
    j.name: j for j in (signup_to_notification.JOURNEY, returning_user.JOURNEY, seller.JOURNEY)
}
