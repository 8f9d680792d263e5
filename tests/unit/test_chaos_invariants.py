"""The nothing-half-written judgement of a drill's load writes (pure logic: outcomes vs what is stored)."""

from __future__ import annotations

from gauntlet.chaos.invariants import judge_writes
from gauntlet.chaos.windows import NO_RESPONSE

OUTCOMES = {1: 201, 2: 200, 3: 503, 4: NO_RESPONSE, 5: 503}


def test_acknowledged_stored_once_and_refused_not_stored_passes() -> None:
    result = judge_writes(OUTCOMES, set(), {1: 1, 2: 1, 4: 1})  # no answer: may or may not be stored
    assert result.status == "passed", result.message
    assert "2 acknowledged writes stored once each" in result.message


def test_an_acknowledged_write_missing_fails() -> None:
    result = judge_writes(OUTCOMES, set(), {1: 1})
    assert result.status == "failed"
    assert "1 acknowledged writes lost" in result.message


def test_a_write_stored_twice_fails_even_when_in_doubt() -> None:
    result = judge_writes(OUTCOMES, {5}, {1: 1, 2: 1, 5: 2})
    assert result.status == "failed"
    assert "1 writes stored twice" in result.message


def test_a_refused_write_that_was_stored_fails() -> None:
    result = judge_writes(OUTCOMES, set(), {1: 1, 2: 1, 3: 1})
    assert result.status == "failed"
    assert "writes refused yet stored (half-written)" in result.message


def test_a_write_the_platform_said_was_in_doubt_may_be_stored_once() -> None:
    result = judge_writes(OUTCOMES, {3}, {1: 1, 2: 1, 3: 1})
    assert result.status == "passed", result.message
    assert result.observed is not None and isinstance(result.observed, dict)
    assert result.observed["in_doubt_stored"] == 1


def test_no_acknowledged_write_at_all_fails() -> None:
    result = judge_writes({1: 503, 2: 503}, set(), {})
    assert result.status == "failed"
    assert "no write was acknowledged" in result.message
