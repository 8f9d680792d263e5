"""Postgres errors map to the statuses the RPC contract promises."""

from __future__ import annotations

import asyncpg
import pytest

from gauntlet.platform.api.errors import from_postgres, map_sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "status", "retry_after"),
    [
        ("23505", 409, None),
        ("23514", 422, None),
        ("22P02", 400, None),
        ("22023", 400, None),
        ("22003", 400, None),
        ("P0001", 400, None),
        ("P0002", 404, None),
        ("28000", 401, None),
        ("42501", 403, None),
        ("42883", 404, None),
        ("57014", 503, 1),
        ("40001", 503, 1),
        ("40P01", 503, 1),
        ("08006", 503, 1),
        ("53300", 503, 1),
        ("57P01", 503, 1),
        ("42P01", 500, None),
        ("XX000", 500, None),
        (None, 500, None),
    ],
)
def test_sqlstate_mapping(sqlstate: str | None, status: int, retry_after: int | None) -> None:
    mapped = map_sqlstate(sqlstate)
    assert (mapped.status, mapped.retry_after) == (status, retry_after)


def test_raise_exception_keeps_the_message_and_json_detail() -> None:
    # Built the way asyncpg builds errors from the server's fields (C sqlstate, M message, D detail).
    exc = asyncpg.PostgresError.new(
        {"C": "22023", "M": "onboarding cannot complete: choose a handle", "D": '{"missing": ["handle"]}'}
    )
    error = from_postgres(exc)
    assert (error.status, error.code) == (400, "22023")
    assert error.message == "onboarding cannot complete: choose a handle" and error.details == {"missing": ["handle"]}


def test_statement_timeout_is_503_with_retry_after_and_a_plain_message() -> None:
    error = from_postgres(
        asyncpg.PostgresError.new({"C": "57014", "M": "canceling statement due to statement timeout"})
    )
    assert error.status == 503 and error.headers == {"Retry-After": "1"} and "timeout" in error.message


def test_unexpected_errors_do_not_leak_internals() -> None:
    error = from_postgres(asyncpg.PostgresError.new({"C": "42P01", "M": 'relation "secret_table" does not exist'}))
    assert error.status == 500 and "secret_table" not in error.message
