"""Green / yellow / red per check and overall, with flap suppression and an alert cool-down.

A check (one journey, or the platform's health) is an incident state machine:

- each failing run adds to a streak; the check turns red when the streak reaches K
  (`fail_after`), so one blip shows yellow and pages nobody;
- the first passing run ends the incident (recovered after the first success);
- a red alert goes out once per incident, and never within `cooldown_s` of the check's
  previous red alert: a check that flaps red, green, red inside the cool-down pages once.
  If the incident outlasts the cool-down, its alert goes out then (an outage must not
  hide behind a flap);
- a recovery alert goes out only when that incident's red alert was delivered, so the
  receiver never sees a recovery without the matching red.

Delivery is fed back (`record_delivery`): a red alert the webhook refused stays owed and is
tried again on the next failing run. Everything here is pure; the loop does the I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from gauntlet.journeys.monitor.model import COLOUR_RANK, Colour, Observation

AlertKind = Literal["red", "recovered"]


class PolicyError(ValueError):
    """A status policy that cannot work (K < 1, a negative cool-down)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertPolicy:
    fail_after: int = 3
    cooldown_s: float = 1800.0

    def __post_init__(self) -> None:
        if self.fail_after < 1:
            raise PolicyError(f"--fail-after must be at least 1, got {self.fail_after}")
        if self.cooldown_s < 0:
            raise PolicyError(f"--cooldown must not be negative, got {self.cooldown_s}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckState:
    """One check's incident state, persisted between runs (and between processes, for cron)."""

    check: str
    colour: Colour = "green"
    failing_streak: int = 0
    red: bool = False
    red_alerted: bool = False
    last_red_alert_at: float | None = None
    since: float | None = None  # when the current colour began
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """An alert the loop should send now."""

    check: str
    kind: AlertKind
    at: float
    failing_streak: int
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    state: CheckState
    alert: Alert | None


def _cooled_down(state: CheckState, now: float, policy: AlertPolicy) -> bool:
    return state.last_red_alert_at is None or now - state.last_red_alert_at >= policy.cooldown_s


def advance(state: CheckState, observation: Observation, now: float, policy: AlertPolicy) -> Transition:
    """The check's state after one more run, and the alert that run calls for (if any)."""
    if observation.check != state.check:
        raise ValueError(f"observation for {observation.check!r} applied to check {state.check!r}")
    alert: Alert | None = None
    if observation.verdict == "fail":
        streak = state.failing_streak + 1
        red = state.red or streak >= policy.fail_after
        # Below K a failure is shown as degraded: visible on the page, not yet an incident.
        colour: Colour = "red" if red else "yellow"
        red_alerted = state.red_alerted
        if red and not red_alerted and _cooled_down(state, now, policy):
            alert = Alert(check=state.check, kind="red", at=now, failing_streak=streak, reasons=observation.reasons)
    else:
        streak, red, red_alerted = 0, False, False
        colour = "yellow" if observation.verdict == "degraded" else "green"
        if state.red and state.red_alerted:
            alert = Alert(check=state.check, kind="recovered", at=now, failing_streak=0, reasons=observation.reasons)
    since = state.since if colour == state.colour and state.since is not None else now
    new_state = dataclasses.replace(
        state,
        colour=colour,
        failing_streak=streak,
        red=red,
        red_alerted=red_alerted,
        since=since,
        reasons=observation.reasons,
    )
    return Transition(state=new_state, alert=alert)


def record_delivery(state: CheckState, alert: Alert, *, delivered: bool) -> CheckState:
    """Fold the webhook's answer back in: only a delivered red alert opens the cool-down."""
    if alert.check != state.check or alert.kind != "red" or not delivered:
        return state
    return dataclasses.replace(state, red_alerted=True, last_red_alert_at=alert.at)


def overall_colour(states: Iterable[CheckState]) -> Colour:
    """The worst colour of any check (green when there are none)."""
    worst: Colour = "green"
    for state in states:
        if COLOUR_RANK[state.colour] > COLOUR_RANK[worst]:
            worst = state.colour
    return worst
