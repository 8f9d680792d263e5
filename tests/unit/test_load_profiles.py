"""The profiles' pure parts: what counts as a correct answer, accounts, and the catalog."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from gauntlet.load.profiles import surface as s
from gauntlet.load.profiles.accounts import (
    Account,
    AccountsFileError,
    fresh_accounts,
    handle_for,
    load_accounts,
    parse_accounts,
    round_robin,
)
from gauntlet.load.profiles.catalog import MIXED_WEIGHTS, PROFILES
from gauntlet.load.thresholds import default_slo

LOAD_DIR = Path(s.__file__).parent.parent


def test_request_names() -> None:
    assert s.rpc_name("feed_fusion_home") == "rpc:feed_fusion_home"
    assert s.rpc_path("x") == "/rest/v1/rpc/x"
    assert s.describe_http_failure(404, '{"message":\n "No RPC"}') == 'HTTP 404: {"message": "No RPC"}'
    assert s.describe_http_failure(500, "") == "HTTP 500"
    assert len(s.describe_http_failure(500, "x" * 1000)) < 200


def test_sessions() -> None:
    good = {"access_token": "t", "user": {"id": "u", "email": "e"}}
    assert s.session_of(good) == ("t", "u")
    bad_answers: list[Any] = [None, [], {"access_token": "t"}, {"access_token": "", "user": {"id": "u"}}, {"user": {}}]
    for bad in bad_answers:
        assert s.session_of(bad) is None
        assert s.check_session(bad) is not None
    assert s.check_session(good) is None


@pytest.mark.parametrize(
    ("body", "cursor"),
    [
        ([{"id": "1"}, {"id": "2", "next_cursor": "abc"}], "abc"),
        ([{"id": "1", "cursor": "c1"}], "c1"),
        ({"rows": [{"id": "1"}], "next_cursor": {"ts": 5, "id": "1"}}, {"ts": 5, "id": "1"}),
        ({"items": [{"id": "1", "cursor": "z"}]}, "z"),
        ([{"id": "1"}], None),
        ([], None),
        ({"rows": []}, None),
        (None, None),
    ],
)
def test_cursor_extraction(body: Any, cursor: Any) -> None:
    assert s.next_cursor_of(body) == cursor


def test_rows_and_items() -> None:
    assert s.rows_of([{"a": 1}]) == [{"a": 1}]
    assert s.rows_of({"data": [{"a": 1}]}) == [{"a": 1}]
    assert s.rows_of([1, 2]) is None
    assert s.rows_of("x") is None
    assert s.item_id_of({"item_id": 5}) == "5"
    assert s.item_id_of({"id": "a", "item_id": "b"}) == "a"
    assert s.item_id_of({"id": True}) is None
    assert s.item_kind_of({"kind": "listing"}) == "listing"
    assert s.item_kind_of({}) == "post"
    assert s.is_listing({"kind": "listing"}) and not s.is_listing({"kind": "post"})


def test_the_platforms_feed_page_shape() -> None:
    """feed_fusion_home -> {"lane", "items": [{"kind", "id", ...}], "next_cursor", "has_more"} (migration 240)."""
    page = {
        "lane": "shop",
        "items": [{"kind": "listing", "id": "l1", "position": 1}, {"kind": "post", "id": "p1", "position": 2}],
        "next_cursor": "eyJ4IjoxfQ",
        "has_more": True,
    }
    assert s.check_feed_page(page) is None
    assert [s.item_id_of(r) for r in s.rows_of(page) or []] == ["l1", "p1"]
    assert s.next_cursor_of(page) == "eyJ4IjoxfQ"
    assert s.next_cursor_of({**page, "next_cursor": None, "has_more": False}) is None


def test_validators() -> None:
    assert s.check_feed_page([{"id": "1"}]) is None
    assert s.check_feed_page([]) is None
    assert s.check_feed_page([{"title": "no id"}]) == "a feed item has no id"
    assert s.check_feed_page({"message": "error"}) is not None
    three = [{"id": str(i)} for i in range(3)]
    assert s.check_catalog(three) is None
    assert "fewer than 3" in str(s.check_catalog(three[:2]))
    assert s.check_boolean(True) is None and s.check_boolean({"available": False}) is None
    assert s.check_boolean("yes") == "expected a boolean"
    assert s.check_rows([]) is None and s.check_rows(None) is not None
    assert s.check_any(None) is None
    assert s.check_object({}) is None and s.check_object([]) is not None
    assert s.check_onboarding_complete({"onboarding_complete": True}) is None
    assert s.check_onboarding_complete({"onboarding_complete": False}) is not None
    assert s.interest_ids([{"id": "a"}, {"name": "x"}, {"id": "b"}]) == ["a", "b"]


def test_accounts_json_csv_and_errors(tmp_path: Path) -> None:
    assert parse_accounts('[{"email": "a@x.y", "password": "p"}]', source="f") == (Account("a@x.y", "p"),)
    assert parse_accounts('{"accounts": [{"email": "a@x.y", "password": "p"}]}', source="f")[0].email == "a@x.y"
    assert parse_accounts("email,password\nb@x.y,q\n", source="f") == (Account("b@x.y", "q"),)
    for text, message in (
        ("[1]", "entry 0 is not an object"),
        ('[{"email": "a@x.y"}]', "entry 0 needs a non-empty email and password"),
        ("[]", "no accounts"),
        ("{bad json", "not valid JSON"),
        ("email,password\n", "no accounts"),
    ):
        with pytest.raises(AccountsFileError, match=re.escape(message)):
            parse_accounts(text, source="f")
    with pytest.raises(AccountsFileError, match="cannot read accounts file"):
        load_accounts(tmp_path / "missing.json")


def test_round_robin_and_fresh_accounts() -> None:
    import random

    pool = [Account(f"{i}@x.y", "p") for i in range(3)]
    it = round_robin(pool, rng=random.Random(1))
    firsts = [next(it) for _ in range(6)]
    assert set(firsts) == set(pool) and firsts[:3] == firsts[3:]
    fresh = fresh_accounts("run", "gen1")
    a, b = next(fresh), next(fresh)
    assert a.email != b.email and a.email.endswith("@load.gauntlet.test")
    assert len(a.email.split("@")[0]) <= 64


def test_handles_are_valid_platform_handles_and_unique() -> None:
    handles = {handle_for(f"{n}@load.gauntlet.test") for n in range(2000)}
    assert len(handles) == 2000
    assert all(re.fullmatch(r"[A-Za-z0-9_]{3,30}", h) for h in handles)


def test_catalog_profiles_are_the_issues() -> None:
    issue_19 = {"supabase_frontend"}
    assert set(PROFILES) == {"home_for_you", "following", "shop", "onboarding", "suggestions", "mixed"} | issue_19
    assert PROFILES["onboarding"].accounts == "fresh"
    assert set(PROFILES["mixed"].user_classes) == set(MIXED_WEIGHTS)
    assert "rpc:feed_fusion_home" in PROFILES["shop"].requests
    assert "rpc:complete_onboarding" in PROFILES["onboarding"].requests
    # Every default per-request SLO applies to at least one profile, so none is dead.
    made = set().union(*(p.requests for p in PROFILES.values()))
    assert {t.scope for t in default_slo().thresholds} - {"overall"} <= made


def test_locustfile_exports_every_catalog_class() -> None:
    """Checked without importing Locust (which would monkey-patch this test process)."""
    tree = ast.parse((LOAD_DIR / "locustfile.py").read_text())
    exported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            exported = {ast.literal_eval(e) for e in node.value.elts}  # type: ignore[attr-defined]
    needed = {cls for p in PROFILES.values() for cls in p.user_classes}
    assert needed <= exported
    assert "GauntletShape" in exported


def test_the_quiet_cookie_jar_still_keeps_and_sends_cookies() -> None:
    import urllib.request
    from email.message import Message

    from gauntlet.load.profiles.cookies import QuietCookieJar

    class Answer:
        def __init__(self, **headers: str) -> None:
            self.headers = Message()
            for key, value in headers.items():
                self.headers[key.replace("_", "-")] = value

        def info(self) -> Message:
            return self.headers

    jar = QuietCookieJar()
    first = urllib.request.Request("http://127.0.0.1:9/rest/v1/rpc/x", method="POST")
    jar.add_cookie_header(first)
    jar.extract_cookies(Answer(Content_Type="application/json"), first)
    assert not first.has_header("Cookie") and len(jar) == 0  # nothing set, nothing sent
    jar.extract_cookies(Answer(SET_COOKIE="lb=node-2; Path=/"), first)  # any spelling of the header
    assert [c.name for c in jar] == ["lb"]
    second = urllib.request.Request("http://127.0.0.1:9/rest/v1/rpc/y", method="POST")
    jar.add_cookie_header(second)
    assert second.get_header("Cookie") == "lb=node-2"
