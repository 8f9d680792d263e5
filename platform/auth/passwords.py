"""Password hashing: scrypt with a per-user salt, verified in constant time.

There is no pgcrypto in the reference stack, so hashing happens here. The
cost parameters are stored in the hash, so they can be raised later without
invalidating existing users.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

SCHEME = "scrypt"
# n=2**14, r=8 (16 MiB, tens of ms): the interactive-login end of scrypt's range; a test
# platform under load must keep login p95 well inside its 500 ms objective.
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_PASSWORD_LENGTH = 6


class WeakPassword(ValueError):
    """A password the platform refuses (too short)."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$key`, both base64; a fresh random salt unless one is given."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"Password should be at least {MIN_PASSWORD_LENGTH} characters")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    key = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES)
    return "$".join([SCHEME, str(N), str(R), str(P), _b64(salt), _b64(key)])


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored`; False (never an exception) for a malformed hash."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(key)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
