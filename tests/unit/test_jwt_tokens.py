"""JWTs: minting, verification, and a clear message for every way a token can be wrong."""

from __future__ import annotations

import uuid

import jwt
import pytest

from gauntlet.platform.auth.tokens import InvalidToken, VerifiedTokens, mint, mint_anon_key, mint_service_key, verify

SECRET = "unit-test-secret-0123456789abcdef0123456789"
USER = str(uuid.UUID(int=7))


def test_access_token_round_trip_and_claims_for_sql() -> None:
    token = mint(SECRET, role="authenticated", ttl_s=60, sub=USER, email="a@b.test", now=1000)
    claims = verify(SECRET, token, now=1030)
    assert (claims.role, claims.sub, claims.email, claims.exp) == ("authenticated", USER, "a@b.test", 1060)
    assert claims.as_jwt_claims() == {"role": "authenticated", "sub": USER, "email": "a@b.test", "exp": 1060}


def test_service_and_anon_keys() -> None:
    assert verify(SECRET, mint_service_key(SECRET)).role == "service_role"
    anon = verify(SECRET, mint_anon_key(SECRET))
    assert anon.role == "anon" and anon.sub is None


def test_supervisor_style_key_without_typ_is_accepted() -> None:
    token = jwt.encode({"iss": "gauntlet", "role": "service_role", "iat": 1, "exp": 2**31 - 1}, SECRET)
    assert verify(SECRET, token).role == "service_role"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("abc", "malformed"),
        ("a.b.c", "malformed"),
        (jwt.encode({"role": "authenticated", "sub": USER, "exp": 2**31 - 1}, "x" * 40), "signature"),
        (jwt.encode({"role": "authenticated", "sub": USER}, SECRET), "'exp'"),
        (jwt.encode({"sub": USER, "exp": 2**31 - 1}, SECRET), "'role'"),
        (jwt.encode({"role": "postgres", "exp": 2**31 - 1}, SECRET), "role 'postgres'"),
        (jwt.encode({"role": "authenticated", "sub": "nope", "exp": 2**31 - 1}, SECRET), "uuid 'sub'"),
        (jwt.encode({"role": "authenticated", "sub": USER, "exp": 10}, SECRET), "expired"),
        (jwt.encode({"role": "anon", "exp": 2**31 - 1}, SECRET * 2, algorithm="HS512"), "invalid"),
    ],
)
def test_bad_tokens_say_what_is_wrong(token: str, message: str) -> None:
    with pytest.raises(InvalidToken, match=message):
        verify(SECRET, token)


def test_expiry_against_an_injected_clock_and_token_types() -> None:
    token = mint(SECRET, role="authenticated", ttl_s=60, sub=USER, now=1000)
    with pytest.raises(InvalidToken, match="expired"):
        verify(SECRET, token, now=1060)
    refresh = mint(SECRET, role="authenticated", ttl_s=60, sub=USER, token_type="refresh")
    with pytest.raises(InvalidToken, match="'refresh' token"):
        verify(SECRET, refresh)
    assert verify(SECRET, refresh, expected_type="refresh").sub == USER
    assert refresh != mint(SECRET, role="authenticated", ttl_s=60, sub=USER, token_type="refresh")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_verified_tokens_remember_a_good_token_until_it_expires() -> None:
    clock = Clock(1000)
    tokens = VerifiedTokens(SECRET, clock=clock)
    token = mint(SECRET, role="authenticated", ttl_s=60, sub=USER, now=1000)
    first = tokens.verify(token)
    assert tokens.verify(token) is first  # remembered, not decoded again
    clock.now = 1059.5
    assert tokens.verify(token).sub == USER
    clock.now = 1060  # expired at exp, as PyJWT has it
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)  # and stays expired once forgotten


def test_verified_tokens_never_remember_a_bad_token_and_stay_bounded() -> None:
    clock = Clock(1000)
    tokens = VerifiedTokens(SECRET, size=2, clock=clock)
    forged = mint("another-secret-0123456789abcdef0123456789", role="service_role", ttl_s=60, now=1000)
    for _ in range(2):
        with pytest.raises(InvalidToken, match="signature"):
            tokens.verify(forged)
    minted = [mint(SECRET, role="authenticated", ttl_s=60 + i, sub=USER, now=1000) for i in range(3)]
    remembered = [tokens.verify(t) for t in minted]
    assert tokens.verify(minted[2]) is remembered[2]
    assert tokens.verify(minted[0]) is not remembered[0]  # the oldest was dropped at the third
    assert tokens.verify(minted[0]) == remembered[0]
