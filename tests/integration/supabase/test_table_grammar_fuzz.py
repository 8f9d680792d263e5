"""Fuzz of the table grammar: bad operators, columns, casts, nested or/and, huge values, odd
headers. Whatever is sent, the answer is never >= 500 (and the API is healthy afterwards)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gauntlet.stack.state import StackState

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

COLUMNS = ["id", "name", "domain", "popularity", "slug", "nope", '"quoted"', "a b", "id::text", "*", ""]
OPERATORS = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is", "cs", "cd", "ov", "fts", "match", "zz"]
VALUES = st.one_of(
    st.sampled_from(
        ["1", "null", "true", "(1,2)", "{a,b}", '["x"]', "*yoga*", "not_null", "", "'", '"', "\\", "(", ")"]
    ),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.just("x" * 8_000),
)


@st.composite
def condition(draw: st.DrawFn, depth: int = 0) -> str:
    if depth < 4 and draw(st.booleans()) and draw(st.booleans()):
        op = draw(st.sampled_from(["or", "and", "not.or", "not.and"]))
        inner = draw(st.lists(condition(depth + 1), min_size=1, max_size=3))
        return f"{op}({','.join(inner)})"
    negate = draw(st.sampled_from(["", "not."]))
    return f"{draw(st.sampled_from(COLUMNS))}.{negate}{draw(st.sampled_from(OPERATORS))}.{draw(VALUES)}"


PARAMS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(COLUMNS), st.builds(lambda o, v: f"{o}.{v}", st.sampled_from(OPERATORS), VALUES)),
        st.tuples(st.sampled_from(["or", "and", "not.or"]), condition().map(lambda c: f"({c})")),
        st.tuples(
            st.just("select"),
            st.lists(
                st.sampled_from([*COLUMNS, "x:name::int", "n:name::nosuch", "interest_catalog(id)", "a(b(c))"])
            ).map(",".join),
        ),
        st.tuples(st.just("order"), st.sampled_from(["name.desc.nullslast", "nope", "id.sideways", "a,b,"])),
        st.tuples(st.sampled_from(["limit", "offset"]), st.sampled_from(["1", "-1", "x", "99999999999999", ""])),
    ),
    max_size=5,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    relation=st.sampled_from(["interest_catalog", "notifications", "feed_hides", "vw_kernel_slos", "nope", "rpc"]),
    params=PARAMS,
    method=st.sampled_from(["GET", "GET", "GET", "HEAD", "PATCH", "DELETE", "POST"]),
    prefer=st.sampled_from(["", "count=exact", "count=planned", "count=estimated", "return=representation"]),
    accept=st.sampled_from(["application/json", "application/vnd.pgrst.object+json", "*/*"]),
    range_=st.sampled_from(["", "0-9", "5-", "x", "10-1"]),
    body=st.sampled_from(['{"name":"x"}', "[]", "[1]", '{"nope":1}', "{", '{"id":"zz"}']),
)
def test_no_table_request_is_a_5xx(
    gauntlet_stack: StackState,
    relation: str,
    params: list[tuple[str, str]],
    method: str,
    prefer: str,
    accept: str,
    range_: str,
    body: str,
) -> None:
    headers = {"apikey": gauntlet_stack.service_key, "Accept": accept}
    if prefer:
        headers["Prefer"] = prefer
    if range_:
        headers["Range"] = range_
    content = body.encode() if method in ("POST", "PATCH") else None
    if method != "GET":
        # Writes run as anon (grants refuse them) so the fuzz never changes data.
        headers["apikey"] = gauntlet_stack.anon_key
    with httpx.Client(base_url=gauntlet_stack.api_url, timeout=30) as http:
        response = http.request(method, f"/rest/v1/{relation}", params=tuple(params), headers=headers, content=content)
    assert response.status_code < 500, (method, relation, params, response.text[:300])


def test_rpc_modifiers_fuzz_spot_checks(gauntlet_stack: StackState) -> None:
    with httpx.Client(base_url=gauntlet_stack.api_url, headers={"apikey": gauntlet_stack.anon_key}) as http:
        for params in (
            {"select": "nope"},
            {"domain": "zz.1"},
            {"or": "(((("},
            {"limit": "-5"},
            {"select": "id::nosuch"},
            {"p_limit": "many"},
        ):
            got = http.get("/rest/v1/rpc/interest_catalog_browse", params=params)
            posted = http.post("/rest/v1/rpc/interest_catalog_browse", params=params, json={})
            assert 400 <= got.status_code < 500 and 400 <= posted.status_code < 500, (params, got.text, posted.text)
        assert http.get("/functions/v1/health").status_code == 200
