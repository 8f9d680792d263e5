"""Password hashing: salted Argon2id, constant-time verify, legacy scrypt still verifies, malformed never raises."""

from __future__ import annotations

import base64
import hashlib

import pytest
from argon2 import PasswordHasher, Type

from gauntlet.platform.auth.passwords import WeakPassword, hash_password, needs_rehash, rehash, verify_password


def legacy_scrypt_hash(password: str, salt: bytes = b"0123456789abcdef") -> str:
    """The pre-Argon2id format, built by hand: `scrypt$n$r$p$salt$key`."""
    key = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return "$".join(["scrypt", "16384", "8", "1", base64.b64encode(salt).decode(), base64.b64encode(key).decode()])


def test_round_trip_and_salting() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct hors", first)


def test_hashes_are_standard_phc_strings_other_argon2_libraries_read() -> None:
    stored = hash_password("correct horse")
    assert PasswordHasher().verify(stored, "correct horse")


def test_a_fixed_salt_is_deterministic() -> None:
    assert hash_password("secret1", salt=b"s" * 16) == hash_password("secret1", salt=b"s" * 16)


def test_legacy_scrypt_hashes_still_verify_and_need_a_rehash() -> None:
    legacy = legacy_scrypt_hash("secret-pass-1")
    assert verify_password("secret-pass-1", legacy) and not verify_password("secret-pass-2", legacy)
    assert needs_rehash(legacy)
    fresh = rehash("secret-pass-1", legacy)
    assert fresh is not None and verify_password("secret-pass-1", fresh) and not needs_rehash(fresh)


def test_argon2_hashes_with_other_parameters_need_a_rehash_and_current_ones_do_not() -> None:
    older = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash("secret-pass-1")
    assert verify_password("secret-pass-1", older) and needs_rehash(older)
    argon2i = PasswordHasher(type=Type.I).hash("secret-pass-1")
    assert not verify_password("secret-pass-1", argon2i), "only the argon2id family is accepted"
    current = hash_password("secret-pass-1")
    assert not needs_rehash(current) and rehash("secret-pass-1", current) is None


def test_a_legacy_password_below_todays_minimum_logs_in_without_a_rehash() -> None:
    legacy = legacy_scrypt_hash("12345")
    assert verify_password("12345", legacy) and rehash("12345", legacy) is None


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "!",
        "scrypt$1$2",
        "bcrypt$a$b$c$d$e",
        "scrypt$x$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$not base64!$AAAA",
        "$argon2id$v=19$m=19456,t=2,p=1$",
        "$argon2id$v=19$m=19456,t=2,p=1$AAAA$not base64!",
        "$argon2id$v=19$m=x,t=2,p=1$c2FsdHNhbHQ$AAAA",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$héllo",
    ],
)
def test_malformed_or_locked_hashes_never_match(stored: str | None) -> None:
    assert verify_password("anything", stored) is False


def test_short_passwords_are_refused() -> None:
    with pytest.raises(WeakPassword, match="at least 6"):
        hash_password("12345")
