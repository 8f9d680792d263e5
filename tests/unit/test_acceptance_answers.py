"""How a failed check shows an answer: never with the tokens in it (reports and CI logs are shared)."""

from __future__ import annotations

import json

import httpx

from gauntlet.acceptance.surface import Answer, hide_tokens

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjMiLCJyb2xlIjoiYXV0aGVudGljYXRlZCJ9.c2lnbmF0dXJl"


def test_a_session_answer_is_described_without_its_tokens() -> None:
    body = {"access_token": JWT, "token_type": "bearer", "refresh_token": "v1.short-refresh", "user": {"id": "u-1"}}
    text = json.dumps(body)
    shown = Answer("sign-in of a@b.invalid", 200, body, text, httpx.Headers()).describe()
    assert JWT not in shown and "v1.short-refresh" not in shown
    assert shown.startswith("sign-in of a@b.invalid answered 200: ")
    assert '"token_type": "bearer"' in shown and '"id": "u-1"' in shown and shown.count("<hidden>") == 2


def test_a_jwt_anywhere_is_hidden_and_other_text_is_kept() -> None:
    assert hide_tokens(f"Authorization: Bearer {JWT} refused") == "Authorization: Bearer <hidden> refused"
    assert hide_tokens('{"refresh_token":""}') == '{"refresh_token":"<hidden>"}'
    plain = '{"code": "PGRST202", "message": "no function eyJ"}'
    assert hide_tokens(plain) == plain
