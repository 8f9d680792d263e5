"""The retry policy as the database's schedule gives it: read, not computed, and refused when malformed."""

from __future__ import annotations

import pytest

from gauntlet.platform.workers.retry import policy_from_schedule

EVENTS: list[dict[str, int | None]] = [
    {"failure": 1, "retry_in_s": 10},
    {"failure": 2, "retry_in_s": 20},
    {"failure": 3, "retry_in_s": 40},
    {"failure": 4, "retry_in_s": 80},
    {"failure": 5, "retry_in_s": None},
]


def test_the_schedule_gives_each_wait_and_the_dead_letter_failure() -> None:
    policy = policy_from_schedule("events_queue", reversed(EVENTS))
    assert [policy.delay_s(n) for n in range(1, 7)] == [10, 20, 40, 80, None, None]
    assert [policy.dead_letters(n) for n in range(1, 7)] == [False] * 4 + [True, True]
    assert (policy.max_retries, policy.dead_letter_failure) == (4, 5)


def test_a_queue_without_retries_dead_letters_on_the_first_failure() -> None:
    policy = policy_from_schedule("worker_jobs", [{"failure": 1, "retry_in_s": None}])
    assert policy.dead_letters(1) and policy.max_retries == 0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "no queue_policy row"),
        ([{"failure": 1, "retry_in_s": 10}, {"failure": 3, "retry_in_s": None}], "not 1..2"),
        ([{"failure": 1, "retry_in_s": 10}], "only the schedule's last failure"),
        ([{"failure": 1, "retry_in_s": None}, {"failure": 2, "retry_in_s": None}], "only the schedule's last"),
    ],
)
def test_a_malformed_schedule_is_refused(rows: list[dict[str, int | None]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        policy_from_schedule("events_queue", rows)


def test_failure_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        policy_from_schedule("events_queue", EVENTS).delay_s(0)
