"""The retry policy: exponential backoff, capped, in step with the kernels' default."""

from __future__ import annotations

import pytest

from gauntlet.platform.workers.retry import DEFAULT_RETRY, RetryPolicy


def test_default_schedule_matches_the_sql_kernels() -> None:
    # fail_event/fail_discovery_item default: least(2^(attempts+1) * 5, 300) s.
    assert [DEFAULT_RETRY.delay_s(n) for n in range(1, 8)] == [10, 20, 40, 80, 160, 300, 300]


def test_dead_letters_on_the_fifth_failure() -> None:
    assert [DEFAULT_RETRY.dead_letters(n) for n in range(1, 7)] == [False] * 4 + [True, True]


def test_huge_attempt_counts_stay_capped_and_bad_input_is_refused() -> None:
    assert RetryPolicy(base_s=1, cap_s=60).delay_s(10**6) == 60
    with pytest.raises(ValueError, match=">= 1"):
        DEFAULT_RETRY.delay_s(0)
