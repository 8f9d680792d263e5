"""The RPC surface's JSON answers, encoded with orjson.

The standard library's encoder took about a tenth of the API's CPU on a feed page (bench_knee's
profile). The bytes are the ones Starlette's JSONResponse writes for what the API answers with
(`rpc_catalog.to_json`'s values: str, int, float, bool, None, lists, str-keyed objects): compact,
UTF-8, keys in their order (a float in exponent form is written 1e-7 where Python writes 1e-07: the
same number). A json/jsonb or row result arrives as an `orjson.Fragment` of Postgres's text and is
copied as it is (with Postgres's spacing, as PostgREST answers it). At the edges: an integer beyond 64
bits (a number in a json column of a row) goes to the standard encoder, which takes any; NaN and
infinities (not JSON) become null instead of a 500.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class JsonAnswer(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits: the standard encoder's arbitrary precision
            return super().render(content)
