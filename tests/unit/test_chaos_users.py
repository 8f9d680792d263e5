"""The access tokens drills mint for their users on the embedded stack."""

from __future__ import annotations

import uuid

import jwt
import pytest

from gauntlet.chaos.users import TOKEN_TTL_S, access_token
from gauntlet.platform.auth.tokens import InvalidToken, verify

SECRET = "a-test-secret-of-at-least-32-bytes!"


def test_the_token_carries_the_claims_a_rocker_deployment_issues() -> None:
    user_id = str(uuid.uuid4())
    token = access_token(SECRET, user_id, "u@chaos.gauntlet.invalid", now=1_000_000)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="authenticated", options={"verify_exp": False})
    assert claims == {
        "role": "authenticated",
        "aud": "authenticated",
        "sub": user_id,
        "email": "u@chaos.gauntlet.invalid",
        "iat": 1_000_000,
        "exp": 1_000_000 + TOKEN_TTL_S,
    }


def test_the_reference_platform_accepts_it_and_refuses_another_secret() -> None:
    user_id = str(uuid.uuid4())
    token = access_token(SECRET, user_id, "u@chaos.gauntlet.invalid")
    assert verify(SECRET, token).sub == user_id
    with pytest.raises(InvalidToken, match="signature"):
        verify("another-secret-of-at-least-32-bytes", token)
