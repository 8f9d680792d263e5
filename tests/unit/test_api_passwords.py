"""Password hashing: salted scrypt, constant-time verify, malformed hashes never raise."""

from __future__ import annotations

import pytest

from gauntlet.platform.auth.passwords import WeakPassword, hash_password, verify_password


def test_round_trip_and_salting() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct hors", first)


def test_a_fixed_salt_is_deterministic() -> None:
    assert hash_password("secret1", salt=b"s" * 16) == hash_password("secret1", salt=b"s" * 16)


@pytest.mark.parametrize("stored", [None, "", "!", "scrypt$1$2", "bcrypt$a$b$c$d$e", "scrypt$x$8$1$AAAA$AAAA"])
def test_malformed_or_locked_hashes_never_match(stored: str | None) -> None:
    assert verify_password("anything", stored) is False


def test_short_passwords_are_refused() -> None:
    with pytest.raises(WeakPassword, match="at least 6"):
        hash_password("12345")
