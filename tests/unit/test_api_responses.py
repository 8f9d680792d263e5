"""The RPC answers' encoder (orjson) writes the bytes Starlette's JSONResponse writes, and takes any integer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.responses import JSONResponse

from gauntlet.platform.api.responses import JsonAnswer

FEED_PAGE: dict[str, Any] = {
    "items": [
        {"id": "0b7f1c2e-4d8a-4f7e-9a51-3f2d6c1e8b90", "title": "Sattel für Anfänger ✓", "score": 0.12345678901234,
         "price_cents": 129900, "tags": ["tack", "dressage"], "seller": {"handle": "b_1", "verified": True},
         "image": None, "ratio": 0.0625, "big": 2**53 + 1, "neg": -0.0, "at": "2026-12-06T12:00:00+00:00"},
    ] * 3,
    "next_cursor": None,
    "blend": {"for_you": 14, "following": 4, "shop": 2},
}  # fmt: skip


@pytest.mark.parametrize("content", [FEED_PAGE, [], {}, None, "x", 3, 1.5, [{"a": [1, [2, [3]]]}]])
def test_the_answer_is_byte_for_byte_what_jsonresponse_writes(content: Any) -> None:
    assert JsonAnswer(content).body == JSONResponse(content).body


def test_a_float_in_exponent_form_is_the_same_number() -> None:
    tiny = {"ratio": 1e-7, "huge": 1.5e300}
    assert json.loads(bytes(JsonAnswer(tiny).body)) == json.loads(bytes(JSONResponse(tiny).body)) == tiny  # 1e-7


def test_an_integer_beyond_64_bits_falls_back_to_the_standard_encoder() -> None:
    huge = {"n": 2**70, "m": -(2**65)}
    assert JsonAnswer(huge).body == JSONResponse(huge).body == b'{"n":1180591620717411303424,"m":-36893488147419103232}'


def test_the_answer_is_json() -> None:
    answer = JsonAnswer({"ok": True})
    assert answer.media_type == "application/json" and answer.status_code == 200
