"""Password hashing: Argon2id with a per-user salt, verified in constant time.

There is no pgcrypto in the reference stack, so hashing happens here. Hashes are
PHC strings (``$argon2id$v=19$m=19456,t=2,p=1$salt$key``), the format argon2
libraries everywhere read, and carry their own cost parameters, so the
parameters can change without invalidating anyone: `needs_rehash` says when a
stored hash is older than the current parameters, and login then stores a fresh
one.

Parameters: OWASP's first Argon2id recommendation (19 MiB, 2 passes, 1 lane).
About 18 ms per hash on the 2-core reference machine, half what scrypt n=2^14,
r=8 (16 MiB) cost, while OWASP rates it stronger: login has to stay well inside
its 500 ms objective at the load the platform is tested with, and every hash is
a full CPU-bound computation in a worker thread (argon2-cffi releases the GIL).

Legacy ``scrypt$n$r$p$salt$key`` hashes (the format before Argon2id) still
verify, and always need a rehash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

ARGON2_PREFIX = "$argon2id$"
MIN_PASSWORD_LENGTH = 6
LEGACY_SCRYPT = "scrypt"
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


class WeakPassword(ValueError):
    """A password the platform refuses (too short)."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """An Argon2id PHC string; a fresh random salt unless one is given."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"Password should be at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password, salt=salt)


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored`; False (never an exception) for a malformed hash."""
    if not stored:
        return False
    if stored.startswith(ARGON2_PREFIX):  # only the argon2id family, though the hasher reads all three
        try:
            return _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError, UnicodeEncodeError, ValueError):  # mismatch included
            return False
    if stored.startswith(LEGACY_SCRYPT + "$"):
        return _verify_scrypt(password, stored)
    return False


def needs_rehash(stored: str) -> bool:
    """Whether a (verified) stored hash was made with other parameters or scheme than today's."""
    if not stored.startswith(ARGON2_PREFIX):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True


def rehash(password: str, stored: str) -> str | None:
    """A hash with today's parameters for a just-verified password, or None when `stored` is current.

    None too for a password shorter than today's minimum: its owner can still log in with it,
    and it is not the login's job to refuse it.
    """
    if not needs_rehash(stored) or len(password) < MIN_PASSWORD_LENGTH:
        return None
    return hash_password(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, key = stored.split("$")
        expected = base64.b64decode(key, validate=True)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt, validate=True),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)
