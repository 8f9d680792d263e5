"""The caller's transaction: quoting of the literals its one BEGIN query carries."""

from __future__ import annotations

import json

import pytest

from gauntlet.platform.api.caller import begin_statement, quote_literal
from gauntlet.platform.auth.tokens import Claims


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("authenticated", "E'authenticated'"),
        ("it's", "E'it''s'"),
        ("a\\'; drop table x; --", "E'a\\\\''; drop table x; --'"),
        ('{"email": "o\'brien\\\\x"}', "E'{\"email\": \"o''brien\\\\\\\\x\"}'"),
    ],
)
def test_a_literal_quotes_its_quotes_and_backslashes(text: str, literal: str) -> None:
    assert quote_literal(text) == literal


def test_nul_is_refused_not_cut_short() -> None:
    with pytest.raises(ValueError, match="NUL"):
        quote_literal("a\x00b")


def test_the_begin_statement_carries_the_access_mode_role_and_claims() -> None:
    claims = Claims(role="authenticated", sub="0b4c1f7e-8d5a-4c55-9a51-3e1a3f0e9d10", email="o'brien@x.test", exp=1)
    text = begin_statement(claims, read_only=True)
    assert text.startswith("BEGIN READ ONLY; SELECT set_config('role', E'authenticated', true)")
    assert quote_literal(json.dumps(claims.as_jwt_claims())) in text and "o''brien" in text
    assert begin_statement(claims, read_only=False).startswith("BEGIN READ WRITE;")
