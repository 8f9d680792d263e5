"""The PostgREST-shaped surface: the table grammar and RPC modifiers under the caller's RLS, writes, embeds.

DESIGN (the platform surface) and seeds 000/003/004 (security). `/rest/v1/{table}` is PostgREST's
grammar (select, filters, order, range, count, insert/upsert/update/delete) under the caller's
RLS, so the official Supabase clients work unchanged: these checks call it the way supabase-js
does (`.eq()`, `.not()`, `.or()`, `.range()`, `.single()`, `.upsert()`, `Prefer` headers) and
judge only rows of the users they sign up. The rows are private ones, so no other check sees
them: feed hides (a user's own, any item id), the user's onboarding progress and notifications
sent to the user.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from gauntlet.acceptance.registry import check, expect, fail
from gauntlet.acceptance.surface import As, Surface, User

SEEDS = "DESIGN: the platform surface (/rest/v1/{table}: PostgREST's grammar under the caller's RLS); 000 Security"
REFUSED = (401, 403)
OBJECT = "application/vnd.pgrst.object+json"
Query = Sequence[tuple[str, str]]


def _path(table: str, query: Query = ()) -> str:
    """`/rest/v1/{table}?...` with PostgREST's punctuation (parentheses, commas, dots) left as written."""
    text = urlencode(list(query), safe="(),.*:", quote_via=quote)
    return f"/rest/v1/{table}" + (f"?{text}" if text else "")


async def _rows(t: Surface, table: str, query: Query, *, as_: As, headers: dict[str, str] | None = None) -> Any:
    """The JSON rows of a GET that must succeed."""
    answer = await t.request("GET", _path(table, query), as_=as_, headers=headers)
    if not answer.ok or not isinstance(answer.body, list):
        fail(f"{answer.describe()}; expected 200 with a JSON array of rows")
    return answer.body


def _items(rows: Any) -> list[str]:
    return [str(r.get("item_id")) for r in rows] if isinstance(rows, list) else []


async def _hide(t: Surface, user: User, kinds: Sequence[str]) -> list[str]:
    """Feed hides of `user` (one per kind, random item ids), inserted in one POST; their item ids, sorted."""
    rows = [{"user_id": user.id, "item_kind": kind, "item_id": str(uuid.uuid4())} for kind in kinds]
    answer = await t.request(
        "POST",
        _path("feed_hides", [("select", "item_id")]),
        as_=user,
        json_body=rows,
        headers={"Prefer": "return=representation"},
    )
    expect(
        answer.status == 201 and sorted(_items(answer.body)) == sorted(r["item_id"] for r in rows),
        f"{answer.describe()}; expected 201 with the {len(rows)} feed hides the user inserted for itself",
    )
    order = sorted(range(len(rows)), key=lambda i: rows[i]["item_id"])
    return [rows[i]["item_id"] for i in order]


def _mine(user: User, *query: tuple[str, str]) -> list[tuple[str, str]]:
    return [("select", "item_id"), ("user_id", f"eq.{user.id}"), *query]


@check(
    "rest.rls_scopes_rows",
    title="/rest/v1/{table} runs as the caller: another user and anon neither read a user's private rows nor "
    "delete them, insert rows in the user's name or upsert over the user's row",
    seeds=SEEDS,
)
async def rls_scopes_rows(t: Surface) -> None:
    owner, other = await asyncio.gather(t.signup("rest-rls-owner"), t.signup("rest-rls-other"))
    (kept,) = await _hide(t, owner, ["post"])
    progress = _path("profiles_onboarding_progress", [("select", "step"), ("user_id", f"eq.{owner.id}")])
    before = await t.request("GET", progress, as_=owner)
    expect(before.ok, f"{before.describe()}; expected the owner to read its own onboarding progress")

    read = await t.request("GET", _path("feed_hides", _mine(owner)), as_=other)
    expect(
        read.ok and read.body == [],
        f"another user's {read.describe()}; expected 200 [] (RLS: feed hides are their owner's only)",
    )
    anon = await t.request("GET", _path("feed_hides", _mine(owner)), as_="anon")
    expect(
        anon.status in REFUSED or (anon.ok and anon.body == []),
        f"{anon.describe()}; expected 401/403 or [] (anon reads no user's feed hides)",
    )

    deleted = await t.request(
        "DELETE", _path("feed_hides", [("user_id", f"eq.{owner.id}")]), as_=other,
        headers={"Prefer": "return=representation"},
    )  # fmt: skip
    expect(
        deleted.status in REFUSED or (deleted.ok and deleted.body == []),
        f"another user's {deleted.describe()}; expected 401/403 or 200 [] (RLS: nothing of the owner's to delete)",
    )
    planted_id = str(uuid.uuid4())
    planted = await t.request(
        "POST", _path("feed_hides"), as_=other,
        json_body={"user_id": owner.id, "item_kind": "post", "item_id": planted_id},
    )  # fmt: skip
    expect(
        planted.status in REFUSED,
        f"another user's insert of a feed hide in the owner's name: {planted.describe()}; expected 401/403 "
        "(RLS: a user writes rows in its own name only)",
    )
    upsert = await t.request(
        "POST", _path("profiles_onboarding_progress", [("on_conflict", "user_id")]), as_=other,
        json_body={"user_id": owner.id, "step": "done"},
        headers={"Prefer": "resolution=merge-duplicates,return=representation"},
    )  # fmt: skip
    expect(
        not upsert.ok,
        f"another user's upsert over the owner's onboarding progress: {upsert.describe()}; expected a refusal "
        "(RLS: an upsert may not overwrite another user's row)",
    )

    left = _items(await _rows(t, "feed_hides", _mine(owner), as_=owner))
    expect(
        left == [kept],
        f"after another user's DELETE and insert of the owner's feed hides, the owner has {left}; expected only "
        f"its own {[kept]}",
    )
    after = await t.request("GET", progress, as_=owner)
    expect(
        after.ok and after.body == before.body,
        f"after another user's upsert with step 'done', the owner's onboarding progress is {after.text[:200]}; "
        f"it was {before.text[:200]} and must be unchanged",
    )


@check(
    "rest.writes_honour_filters",
    title="PATCH and DELETE on /rest/v1/{table} touch exactly the rows their filter matches, and are refused "
    "(4xx, nothing changed) without a filter",
    seeds=SEEDS,
)
async def writes_honour_filters(t: Surface) -> None:
    user = await t.signup("rest-writes")
    items = await _hide(t, user, ["post", "listing", "event"])
    sent = [
        await t.rpc_ok(
            "notif_send", {"p_user_id": user.id, "p_channel": "snackbar", "p_title": f"rest filter {n}"}, as_="service"
        )
        for n in (1, 2)
    ]
    notes = [s.get("notification_id") if isinstance(s, dict) else None for s in sent]
    if not all(isinstance(n, int) for n in notes):
        fail(f"notif_send to the check's user answered {sent!r}; expected two sent notifications with their ids")
    first, second = notes
    read = {"read_at": "2026-01-01T00:00:00+00:00"}
    notes_query = [("select", "id,read_at"), ("id", f"in.({first},{second})"), ("order", "id.asc")]

    everything = await t.request("DELETE", _path("feed_hides"), as_=user)
    expect(
        400 <= everything.status < 500,
        f"{everything.describe()}; expected a 4xx refusal: a DELETE without a filter is refused (pg-safeupdate)",
    )
    patched_all = await t.request("PATCH", _path("notifications"), as_=user, json_body=read)
    expect(
        400 <= patched_all.status < 500,
        f"{patched_all.describe()}; expected a 4xx refusal: a PATCH without a filter is refused (pg-safeupdate)",
    )
    left = _items(await _rows(t, "feed_hides", _mine(user, ("order", "item_id.asc")), as_=user))
    expect(left == items, f"after a refused unfiltered DELETE the user's feed hides are {left}; expected {items}")
    notes_now = await _rows(t, "notifications", notes_query, as_=user)
    expect(
        [n.get("read_at") for n in notes_now] == [None, None],
        f"after a refused unfiltered PATCH the user's notifications are {notes_now}; expected both unread",
    )

    gone = await t.request(
        "DELETE", _path("feed_hides", [("item_id", f"eq.{items[0]}")]), as_=user,
        headers={"Prefer": "return=representation"},
    )  # fmt: skip
    expect(
        gone.ok and _items(gone.body) == [items[0]],
        f"{gone.describe()}; expected 200 with exactly the one deleted row {items[0]}",
    )
    left = _items(await _rows(t, "feed_hides", _mine(user, ("order", "item_id.asc")), as_=user))
    expect(
        left == items[1:],
        f"after DELETE feed_hides?item_id=eq.{items[0]} the user's feed hides are {left}; expected {items[1:]} "
        "(a delete removes only the rows its filter matches)",
    )

    marked = await t.request(
        "PATCH", _path("notifications", [("id", f"eq.{first}"), ("select", "id")]), as_=user, json_body=read,
        headers={"Prefer": "return=representation"},
    )  # fmt: skip
    expect(
        marked.ok and isinstance(marked.body, list) and [r.get("id") for r in marked.body] == [first],
        f"{marked.describe()}; expected 200 with exactly the one updated notification {first}",
    )
    notes_now = await _rows(t, "notifications", notes_query, as_=user)
    expect(
        [(n.get("id"), n.get("read_at") is not None) for n in notes_now] == [(first, True), (second, False)],
        f"after PATCH notifications?id=eq.{first} the user's notifications are {notes_now}; expected {first} read "
        f"and {second} still unread (an update changes only the rows its filter matches)",
    )


@check(
    "rest.filters_select_exactly",
    title="filters on /rest/v1/{table} (eq, neq, not.eq, in, not.in, gt, like, or=, not.or=) select exactly "
    "the rows they describe",
    seeds=SEEDS,
)
async def filters_select_exactly(t: Surface) -> None:
    user = await t.signup("rest-filters")
    kinds = ["post", "post", "listing", "event"]
    rows = [{"user_id": user.id, "item_kind": k, "item_id": str(uuid.uuid4())} for k in kinds]
    created = await t.request("POST", _path("feed_hides"), as_=user, json_body=rows)
    expect(created.status == 201, f"{created.describe()}; expected 201 for the user's own 4 feed hides")
    kind_of = {r["item_id"]: r["item_kind"] for r in rows}
    i1, i2, i3, i4 = (r["item_id"] for r in rows)  # i1, i2 posts; i3 a listing; i4 an event
    cases: list[tuple[list[tuple[str, str]], set[str]]] = [
        ([("item_id", f"eq.{i1}")], {i1}),
        ([("item_id", f"neq.{i1}")], {i2, i3, i4}),
        ([("item_id", f"not.eq.{i1}")], {i2, i3, i4}),
        ([("item_id", f"in.({i2},{i3})")], {i2, i3}),
        ([("item_id", f"not.in.({i2},{i3})")], {i1, i4}),
        ([("item_kind", "eq.post"), ("item_id", f"neq.{i2}")], {i1}),
        ([("item_kind", "like.list*")], {i3}),
        ([("item_kind", "not.like.*s*")], {i4}),
        ([("or", f"(item_id.eq.{i1},item_kind.eq.event)")], {i1, i4}),
        ([("not.or", "(item_kind.eq.post,item_kind.eq.event)")], {i3}),
        ([("and", f"(item_kind.eq.post,item_id.neq.{i1})")], {i2}),
    ]
    smallest = min(i1, i2)
    cases.append(([("item_kind", "eq.post"), ("item_id", f"gt.{smallest}")], {max(i1, i2)}))
    answers = await asyncio.gather(*(_rows(t, "feed_hides", _mine(user, *query), as_=user) for query, _ in cases))
    wrong = []
    for (query, wanted), answer in zip(cases, answers, strict=True):
        got = set(_items(answer))
        if got != wanted:
            shown = "&".join(f"{k}={v}" for k, v in query)
            wrong.append(
                f"{shown}: got {sorted(kind_of.get(i, i) + ':' + i[:8] for i in got)}, "
                f"expected {sorted(kind_of[i] + ':' + i[:8] for i in wanted)}"
            )
    expect(
        not wrong,
        f"of the user's 4 feed hides (2 posts, a listing, an event), {len(wrong)} filter(s) selected the wrong "
        "rows (PostgREST's operators select exactly the rows they describe): " + "; ".join(wrong),
    )


@check(
    "rest.paging_and_counts",
    title="order, limit/offset and Range on /rest/v1/{table} return the rows asked for, and Prefer: count=exact "
    "answers Content-Range first-last/total with the number of rows the filters match",
    seeds=SEEDS,
)
async def paging_and_counts(t: Surface) -> None:
    user = await t.signup("rest-paging")
    items = await _hide(t, user, ["post"] * 5)
    newest_first = items[::-1]
    exact = {"Prefer": "count=exact"}

    page = await t.request(
        "GET", _path("feed_hides", _mine(user, ("order", "item_id.asc"), ("limit", "2"), ("offset", "1"))),
        as_=user, headers=exact,
    )  # fmt: skip
    expect(
        page.ok and _items(page.body) == items[1:3],
        f"{page.describe()}; expected the 2nd and 3rd of the user's 5 rows by item_id, {items[1:3]}",
    )
    expect(
        page.headers.get("content-range") == "1-2/5",
        f"order=item_id.asc&limit=2&offset=1 with Prefer: count=exact answered Content-Range "
        f"{page.headers.get('content-range')!r}; expected '1-2/5' (rows 1-2 of the 5 the filter matches)",
    )

    ranged = await t.request(
        "GET", _path("feed_hides", _mine(user, ("order", "item_id.desc"))), as_=user,
        headers={"Range-Unit": "items", "Range": "1-3", **exact},
    )  # fmt: skip
    expect(
        ranged.ok and _items(ranged.body) == newest_first[1:4],
        f"{ranged.describe()}; expected rows 1-3 (inclusive) by item_id descending, {newest_first[1:4]}",
    )
    expect(
        ranged.headers.get("content-range") == "1-3/5",
        f"Range: 1-3 with Prefer: count=exact answered Content-Range {ranged.headers.get('content-range')!r}; "
        "expected '1-3/5'",
    )

    filtered = await t.request(
        "GET", _path("feed_hides", _mine(user, ("item_id", f"neq.{items[0]}"), ("limit", "1"))), as_=user,
        headers=exact,
    )  # fmt: skip
    expect(
        filtered.ok and len(_items(filtered.body)) == 1 and filtered.headers.get("content-range") == "0-0/4",
        f"{filtered.describe()} with Content-Range {filtered.headers.get('content-range')!r}; expected one row and "
        "'0-0/4' (4 of the user's rows match item_id=neq.<first>)",
    )


@check(
    "rest.single_object_needs_one_row",
    title="Accept: application/vnd.pgrst.object+json (supabase-js .single()) answers one JSON object for one "
    "row and 406 PGRST116 when several rows match",
    seeds=SEEDS,
)
async def single_object_needs_one_row(t: Surface) -> None:
    user = await t.signup("rest-single")
    items = await _hide(t, user, ["post", "event"])
    accept = {"Accept": OBJECT}
    one = await t.request("GET", _path("feed_hides", _mine(user, ("item_id", f"eq.{items[0]}"))), as_=user,
                          headers=accept)  # fmt: skip
    expect(
        one.ok and isinstance(one.body, dict) and one.body.get("item_id") == items[0],
        f"{one.describe()}; expected 200 with the one row as a JSON object {{'item_id': {items[0]!r}}}",
    )
    many = await t.request("GET", _path("feed_hides", _mine(user)), as_=user, headers=accept)
    expect(
        many.status == 406 and many.code == "PGRST116",
        f"{many.describe()}; expected 406 PGRST116: the user's 2 rows match and .single() asks for exactly one",
    )


@check(
    "rest.get_rpc_is_read_only",
    title="GET /rest/v1/rpc/{fn} runs a STABLE function and refuses a VOLATILE one (405) without its write",
    seeds=SEEDS,
)
async def get_rpc_is_read_only(t: Surface) -> None:
    user = await t.signup("rest-get-rpc")
    item = str(uuid.uuid4())
    volatile = await t.request("GET", _path("rpc/feed_hide", [("p_item_kind", "post"), ("p_item_id", item)]), as_=user)
    expect(
        400 <= volatile.status < 500,
        f"{volatile.describe()}; expected 405: feed_hide is VOLATILE and a GET runs read-only (call it with POST)",
    )
    written = _items(await _rows(t, "feed_hides", _mine(user, ("item_id", f"eq.{item}")), as_=user))
    expect(
        written == [],
        f"after {volatile.call} (answered {volatile.status}) the user has the feed hide {written}; "
        "a GET must not run a VOLATILE function's write",
    )
    stable = await t.request("GET", _path("rpc/notif_unread_count"), as_=user)
    expect(stable.ok and stable.body == 0, f"{stable.describe()}; expected 200 and 0 (a STABLE function, by GET)")


@check(
    "rest.upsert_resolutions",
    title="POST with Prefer: resolution=ignore-duplicates leaves an existing row as it was, "
    "resolution=merge-duplicates updates it",
    seeds=SEEDS,
)
async def upsert_resolutions(t: Surface) -> None:
    user = await t.signup("rest-upsert")
    query = [("select", "user_id,step"), ("user_id", f"eq.{user.id}")]
    rows = await _rows(t, "profiles_onboarding_progress", query, as_=user)
    if not rows:
        created = await t.request(
            "POST", _path("profiles_onboarding_progress"), as_=user, json_body={"user_id": user.id, "step": "welcome"}
        )
        expect(created.status == 201, f"{created.describe()}; expected 201 for the user's own onboarding progress")
        rows = await _rows(t, "profiles_onboarding_progress", query, as_=user)
    start = rows[0].get("step") if rows else None
    step = "profile" if start == "handle" else "handle"
    upsert = _path("profiles_onboarding_progress", [("on_conflict", "user_id")])
    body: dict[str, Any] = {"user_id": user.id, "step": step}

    ignored = await t.request(
        "POST", upsert, as_=user, json_body=body, headers={"Prefer": "resolution=ignore-duplicates"}
    )
    expect(ignored.ok, f"{ignored.describe()}; expected 2xx for an upsert that ignores the duplicate")
    now = await _rows(t, "profiles_onboarding_progress", query, as_=user)
    expect(
        [r.get("step") for r in now] == [start],
        f"after an upsert of step {step!r} with Prefer: resolution=ignore-duplicates the user's onboarding step "
        f"is {[r.get('step') for r in now]}; expected it unchanged, [{start!r}]",
    )
    merged = await t.request(
        "POST", upsert, as_=user, json_body=body, headers={"Prefer": "resolution=merge-duplicates"}
    )
    expect(merged.ok, f"{merged.describe()}; expected 2xx for an upsert that merges the duplicate")
    now = await _rows(t, "profiles_onboarding_progress", query, as_=user)
    expect(
        [r.get("step") for r in now] == [step],
        f"after an upsert of step {step!r} with Prefer: resolution=merge-duplicates the user's onboarding step "
        f"is {[r.get('step') for r in now]}; expected [{step!r}]",
    )


@check(
    "rest.rpc_modifiers_apply",
    title="select, filters, order, limit, Prefer: count=exact and .single() apply to a row-returning RPC "
    "(POST with arguments in the body, GET with them in the query string), called as the caller",
    seeds=SEEDS,
)
async def rpc_modifiers_apply(t: Surface) -> None:
    user = await t.signup("rest-rpc-modifiers")
    titles = [f"rest modifiers {n} {uuid.uuid4().hex[:8]}" for n in (1, 2, 3)]
    ids: list[int] = []
    for title in titles:
        sent = await t.rpc_ok(
            "notif_send", {"p_user_id": user.id, "p_channel": "snackbar", "p_title": title}, as_="service"
        )
        if not isinstance(sent, dict) or not isinstance(sent.get("notification_id"), int):
            fail(f"notif_send to the check's user answered {sent!r}; expected a sent notification with its id")
        ids.append(sent["notification_id"])
    args = {"p_limit": 10}

    page = await t.request(
        "POST", _path("rpc/notif_list", [("select", "id,title"), ("order", "id.asc"), ("limit", "2")]), as_=user,
        json_body=args, headers={"Prefer": "count=exact"},
    )  # fmt: skip
    wanted = [{"id": i, "title": title} for i, title in zip(ids[:2], titles[:2], strict=True)]
    expect(
        page.ok and page.body == wanted,
        f"{page.describe()}; expected the user's first 2 notifications, {wanted} (select=id,title, order, limit)",
    )
    expect(
        page.headers.get("content-range") == "0-1/3",
        f"notif_list with limit=2 and Prefer: count=exact answered Content-Range "
        f"{page.headers.get('content-range')!r}; expected '0-1/3' (the user has 3 notifications)",
    )
    filtered = await t.request(
        "POST", _path("rpc/notif_list", [("select", "id"), ("title", f"eq.{titles[2]}")]), as_=user, json_body=args
    )
    expect(
        filtered.ok and filtered.body == [{"id": ids[2]}],
        f"{filtered.describe()}; expected only the notification titled {titles[2]!r}, [{{'id': {ids[2]}}}]",
    )
    by_get = await t.request(
        "GET", _path("rpc/notif_list", [("p_limit", "10"), ("select", "id"), ("order", "id.desc"), ("limit", "1")]),
        as_=user,
    )  # fmt: skip
    expect(
        by_get.ok and by_get.body == [{"id": ids[2]}],
        f"{by_get.describe()}; expected the user's newest notification only, [{{'id': {ids[2]}}}]",
    )
    single = await t.request(
        "POST", _path("rpc/notif_list", [("select", "id,title"), ("id", f"eq.{ids[1]}")]), as_=user, json_body=args,
        headers={"Accept": OBJECT},
    )  # fmt: skip
    expect(
        single.ok and single.body == {"id": ids[1], "title": titles[1]},
        f"{single.describe()}; expected the one matching notification as a JSON object",
    )


@check(
    "rest.embeds_follow_foreign_keys",
    title="select=...,relation(...) embeds along a foreign key: the parent of a row as one object "
    "(many-to-one), the children of a row as an array (one-to-many)",
    seeds=SEEDS,
)
async def embeds_follow_foreign_keys(t: Surface) -> None:
    user = await t.signup("rest-embed")
    handle = f"acc_em_{user.id.replace('-', '')[:16]}"
    page = await t.rpc_ok("entity_create", {"p_handle": handle, "p_display_name": "Embedded page"}, as_=user)
    if not isinstance(page, dict) or not page.get("id"):
        fail(f"entity_create as the check's user answered {page!r}; expected the new page with its id")
    entity = str(page["id"])
    await t.rpc_ok("entity_follow", {"p_entity_id": entity}, as_=user)

    edges = await _rows(
        t, "entity_edges",
        [("select", "entity_id,entities(id,handle)"), ("follower_id", f"eq.{user.id}"), ("entity_id", f"eq.{entity}")],
        as_=user,
    )  # fmt: skip
    wanted_edges = [{"entity_id": entity, "entities": {"id": entity, "handle": handle}}]
    expect(
        edges == wanted_edges,
        f"the user's follow of its page read with select=entity_id,entities(id,handle) answered {edges}; expected "
        f"{wanted_edges} (a many-to-one embed is the one parent row, as an object)",
    )
    pages = await _rows(t, "entities", [("select", "id,entity_edges(follower_id)"), ("id", f"eq.{entity}")], as_=user)
    wanted_pages = [{"id": entity, "entity_edges": [{"follower_id": user.id}]}]
    expect(
        pages == wanted_pages,
        f"the user's page read with select=id,entity_edges(follower_id) answered {pages}; expected {wanted_pages} "
        "(a one-to-many embed is an array of the child rows the caller may see: here its own follow)",
    )


@check(
    "rest.claims_with_quotes_reach_sql_intact",
    title="a user whose e-mail holds an apostrophe (o'brien@...) is served as itself on /rest/v1 and RPCs: "
    "its JWT claims reach SQL as data, never as SQL text",
    seeds=SEEDS,
)
async def claims_with_quotes_reach_sql_intact(t: Surface) -> None:
    user = await t.signup("rest-o'brien")
    expect("'" in user.email, f"the check's user was signed up as {user.email!r}; expected an apostrophe in it")
    (item,) = await _hide(t, user, ["post"])
    mine = _items(await _rows(t, "feed_hides", _mine(user), as_=user))
    expect(mine == [item], f"{user.email} reads its feed hides as {mine}; expected its own [{item!r}]")
    profile = await t.rpc("get_my_profile", {}, as_=user)
    body = profile.body if isinstance(profile.body, dict) else {}
    expect(
        profile.ok and user.id in (body.get("user_id"), body.get("id")),
        f"{profile.describe()}; expected 200 with the profile of {user.id} (auth.uid() from the claims)",
    )
