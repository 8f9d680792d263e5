"""Status colours and the flap-suppression state machine: red after K, one alert, cool-down, recovery."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from gauntlet.journeys.monitor.model import Observation, Verdict
from gauntlet.journeys.monitor.status import (
    Alert,
    AlertPolicy,
    CheckState,
    PolicyError,
    Transition,
    advance,
    overall_colour,
    record_delivery,
)

CHECK = "seller"
STEP = 60.0  # one run a minute


def observe(verdict: Verdict, *reasons: str) -> Observation:
    return Observation(check=CHECK, verdict=verdict, reasons=reasons)


def play(
    verdicts: Sequence[Verdict],
    policy: AlertPolicy,
    *,
    delivered: bool | Sequence[bool] = True,
    state: CheckState | None = None,
    start: float = 0.0,
) -> tuple[CheckState, list[Alert], list[CheckState]]:
    """Run the machine over a sequence of verdicts a minute apart; delivery answers in order."""
    answers = iter([delivered] * len(verdicts) if isinstance(delivered, bool) else delivered)
    state = state or CheckState(check=CHECK)
    alerts: list[Alert] = []
    history: list[CheckState] = []
    for i, verdict in enumerate(verdicts):
        transition: Transition = advance(state, observe(verdict, f"run {i}"), start + i * STEP, policy)
        state = transition.state
        if transition.alert is not None:
            alerts.append(transition.alert)
            state = record_delivery(state, transition.alert, delivered=next(answers))
        history.append(state)
    return state, alerts, history


K3 = AlertPolicy(fail_after=3, cooldown_s=1800)


def test_policy_validation_names_the_option() -> None:
    with pytest.raises(PolicyError, match="--fail-after must be at least 1"):
        AlertPolicy(fail_after=0)
    with pytest.raises(PolicyError, match="--cooldown must not be negative"):
        AlertPolicy(cooldown_s=-1)


def test_clean_passes_are_green() -> None:
    state, alerts, _ = play(["pass", "pass"], K3)
    assert (state.colour, state.failing_streak, alerts) == ("green", 0, [])


def test_degraded_runs_are_yellow_and_never_alert() -> None:
    state, alerts, _ = play(["degraded"] * 10, K3)
    assert state.colour == "yellow" and alerts == []
    assert state.reasons == ("run 9",)


def test_failures_below_k_show_yellow_then_red_at_k() -> None:
    _, alerts, history = play(["fail", "fail", "fail"], K3)
    assert [s.colour for s in history] == ["yellow", "yellow", "red"]
    assert [s.failing_streak for s in history] == [1, 2, 3]
    assert [(a.kind, a.failing_streak) for a in alerts] == [("red", 3)]


def test_k_of_one_turns_red_on_the_first_failure() -> None:
    _, alerts, history = play(["fail"], AlertPolicy(fail_after=1))
    assert history[0].colour == "red" and [a.kind for a in alerts] == ["red"]


def test_a_pass_between_failures_resets_the_streak_so_blips_never_page() -> None:
    _, alerts, history = play(["fail", "fail", "pass", "fail", "fail", "degraded", "fail", "fail"], K3)
    assert alerts == []
    assert "red" not in [s.colour for s in history]


def test_exactly_one_red_alert_however_long_the_incident() -> None:
    state, alerts, _ = play(["fail"] * 200, K3)
    assert [a.kind for a in alerts] == ["red"]
    assert state.colour == "red" and state.red_alerted and state.failing_streak == 200


def test_recovery_after_the_first_success_with_one_recovery_alert() -> None:
    _, alerts, history = play(["fail", "fail", "fail", "fail", "pass", "pass"], K3)
    assert [a.kind for a in alerts] == ["red", "recovered"]
    assert alerts[1].at == 4 * STEP
    assert [s.colour for s in history[-2:]] == ["green", "green"]


def test_recovering_into_a_degraded_run_is_yellow_but_still_a_recovery() -> None:
    _, alerts, history = play(["fail", "fail", "fail", "degraded"], K3)
    assert [a.kind for a in alerts] == ["red", "recovered"]
    assert history[-1].colour == "yellow"


def test_flapping_inside_the_cooldown_pages_once_and_recovers_once() -> None:
    flaps: list[Verdict] = ["fail", "fail", "fail", "pass"] * 5  # red/green every 4 minutes, cool-down 30 min
    _, alerts, history = play(flaps, K3)
    assert [a.kind for a in alerts] == ["red", "recovered"]
    assert [s.colour for s in history].count("red") == 5  # the page still shows every incident


def test_an_incident_that_outlasts_the_cooldown_is_alerted_when_it_ends() -> None:
    policy = AlertPolicy(fail_after=3, cooldown_s=600)  # 10 minutes
    fifteen_failures: list[Verdict] = ["fail"] * 15
    verdicts: list[Verdict] = ["fail", "fail", "fail", "pass", *fifteen_failures]
    _, alerts, _ = play(verdicts, policy)
    # Second incident turns red at minute 6 (within the cool-down of the minute-2 alert) and is
    # alerted at minute 12, the first failing run after the cool-down ran out.
    assert [(a.kind, a.at) for a in alerts] == [("red", 2 * STEP), ("recovered", 3 * STEP), ("red", 12 * STEP)]


def test_a_new_incident_after_the_cooldown_alerts_again() -> None:
    policy = AlertPolicy(fail_after=2, cooldown_s=120)
    _, alerts, _ = play(["fail", "fail", "pass", "pass", "pass", "fail", "fail", "pass"], policy)
    assert [a.kind for a in alerts] == ["red", "recovered", "red", "recovered"]


def test_zero_cooldown_alerts_every_incident() -> None:
    _, alerts, _ = play(["fail", "pass"] * 3, AlertPolicy(fail_after=1, cooldown_s=0))
    assert [a.kind for a in alerts] == ["red", "recovered"] * 3


def test_an_undelivered_red_alert_is_owed_and_retried_on_the_next_failing_run() -> None:
    state, alerts, _ = play(["fail", "fail", "fail", "fail", "fail"], K3, delivered=[False, True])
    assert [(a.kind, a.at) for a in alerts] == [("red", 2 * STEP), ("red", 3 * STEP)]
    assert state.red_alerted and state.last_red_alert_at == 3 * STEP


def test_no_recovery_alert_when_the_red_alert_never_got_through() -> None:
    _, alerts, _ = play(["fail", "fail", "fail", "pass"], K3, delivered=False)
    assert [a.kind for a in alerts] == ["red"]


def test_a_failed_recovery_delivery_does_not_reopen_the_incident() -> None:
    state, alerts, _ = play(["fail", "fail", "fail", "pass", "pass"], K3, delivered=[True, False])
    assert [a.kind for a in alerts] == ["red", "recovered"]
    assert not state.red and state.colour == "green"


def test_since_marks_when_the_colour_began() -> None:
    _, _, history = play(["pass", "pass", "fail", "fail", "fail", "fail"], K3, start=100.0)
    assert [s.since for s in history] == [100.0, 100.0, 220.0, 220.0, 340.0, 340.0]


def test_state_survives_a_restart_between_runs() -> None:
    """Cron starts a new process each minute: the saved state carries the streak and the alert."""
    first, alerts_1, _ = play(["fail", "fail"], K3)
    second, alerts_2, _ = play(["fail", "fail"], K3, state=first, start=2 * STEP)
    third, alerts_3, _ = play(["pass"], K3, state=second, start=4 * STEP)
    assert (alerts_1, [a.kind for a in alerts_2], [a.kind for a in alerts_3]) == ([], ["red"], ["recovered"])
    assert third.colour == "green"


def test_an_observation_for_another_check_is_refused() -> None:
    with pytest.raises(ValueError, match="applied to check"):
        advance(CheckState(check="other"), observe("pass"), 0.0, K3)


def test_record_delivery_ignores_recoveries_and_other_checks() -> None:
    state = CheckState(check=CHECK, red=True)
    recovered = Alert(check=CHECK, kind="recovered", at=5.0, failing_streak=0)
    elsewhere = Alert(check="other", kind="red", at=5.0, failing_streak=3)
    assert record_delivery(state, recovered, delivered=True) == state
    assert record_delivery(state, elsewhere, delivered=True) == state


@pytest.mark.parametrize(
    ("colours", "expected"),
    [
        ([], "green"),
        (["green", "green"], "green"),
        (["green", "yellow"], "yellow"),
        (["yellow", "red", "green"], "red"),
    ],
)
def test_overall_is_the_worst_check(colours: list[str], expected: str) -> None:
    states = [CheckState(check=f"c{i}", colour=c) for i, c in enumerate(colours)]  # type: ignore[arg-type]
    assert overall_colour(states) == expected
