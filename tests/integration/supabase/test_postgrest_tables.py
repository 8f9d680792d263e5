"""PostgREST's table grammar and RPC modifiers, driven through the official `supabase` client."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from postgrest.exceptions import APIError
from postgrest.types import CountMethod
from supabase import Client

from gauntlet.stack.state import StackState
from tests.integration.supabase.conftest import SupaUser
from tests.integration.supabase.rows import row, rows

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_filtered_read_with_count_order_and_range(anon_client: Client) -> None:
    res = (
        anon_client.table("interest_catalog")
        .select("id,label:name,domain", count=CountMethod.exact)
        .eq("domain", "fitness")
        .order("name", desc=True)
        .range(0, 2)
        .execute()
    )
    read = rows(res.data)
    assert len(read) == 3 and set(read[0]) == {"id", "label", "domain"}
    assert all(r["domain"] == "fitness" for r in read)
    assert res.count is not None and res.count >= 3
    labels = [r["label"] for r in read]
    assert labels == sorted(labels, reverse=True)


def test_filters_or_in_not_like_is(anon_client: Client) -> None:
    table = anon_client.table("interest_catalog")
    both = rows(table.select("domain").or_("domain.eq.fitness,domain.eq.arts").execute().data)
    assert both and {r["domain"] for r in both} <= {"fitness", "arts"}
    listed = table.select("domain").in_("domain", ["fitness", "arts"]).execute().data
    assert len(listed) == len(both)
    others = rows(table.select("domain").not_.in_("domain", ["fitness", "arts"]).execute().data)
    assert others and not {r["domain"] for r in others} & {"fitness", "arts"}
    liked = rows(table.select("name").ilike("name", "%yoga%").execute().data)
    assert liked and all("yoga" in r["name"].lower() for r in liked)
    assert table.select("id").is_("name", "null").execute().data == []
    cast = rows(table.select("popularity::text").limit(1).execute().data)
    assert isinstance(cast[0]["popularity"], str)


def test_single_maybe_single_and_head(anon_client: Client) -> None:
    table = anon_client.table("interest_catalog")
    one = rows(table.select("id,name").limit(1).execute().data)[0]
    single = table.select("id,name").eq("id", one["id"]).single().execute()
    assert single.data == one
    with pytest.raises(APIError) as many:
        table.select("id").single().execute()
    assert many.value.code == "PGRST116"
    assert table.select("id").eq("name", "no such interest").maybe_single().execute() is None
    head = table.select("*", count=CountMethod.exact, head=True).execute()
    assert head.count is not None and head.count >= 100


def test_embedding_along_a_foreign_key(service_client: Client) -> None:
    mapped = rows(
        service_client.table("marketplace_interest_map")
        .select("interest_id, interest:interest_catalog(name, domain)")
        .limit(3)
        .execute()
        .data
    )
    assert mapped and isinstance(mapped[0]["interest"], dict) and "name" in mapped[0]["interest"]
    many = service_client.table("interest_catalog").select("id, marketplace_interest_map(interest_id)").limit(5)
    for interest in rows(many.execute().data):
        assert isinstance(interest["marketplace_interest_map"], list)


def test_errors_are_postgrest_shaped(anon_client: Client, make_user: Callable[[], SupaUser]) -> None:
    with pytest.raises(APIError) as unknown:
        anon_client.table("no_such_table").select("*").execute()
    assert unknown.value.code == "PGRST205"
    with pytest.raises(APIError) as column:
        anon_client.table("interest_catalog").select("no_such_column").execute()
    assert column.value.code == "42703"
    user = make_user()
    with pytest.raises(APIError) as unfiltered:
        user.client.table("feed_hides").delete().execute()
    assert unfiltered.value.code == "21000"
    with pytest.raises(APIError) as bad_payload:
        user.client.table("feed_hides").insert({"nope": 1}).execute()
    assert bad_payload.value.code == "PGRST204"


def test_insert_upsert_update_delete_under_rls(make_user: Callable[[], SupaUser]) -> None:
    a, b = make_user(), make_user()
    item = "7d7c3f0a-0000-4000-8000-000000000001"
    inserted = a.client.table("feed_hides").insert({"user_id": a.id, "item_kind": "post", "item_id": item}).execute()
    assert rows(inserted.data)[0]["item_id"] == item
    again = (
        a.client.table("feed_hides")
        .upsert({"user_id": a.id, "item_kind": "post", "item_id": item}, ignore_duplicates=True)
        .execute()
    )
    assert again.data == []
    # B cannot write A's rows (RLS with check), nor see them.
    with pytest.raises(APIError) as denied:
        b.client.table("feed_hides").insert({"user_id": a.id, "item_kind": "post", "item_id": item}).execute()
    assert denied.value.code == "42501"
    assert b.client.table("feed_hides").select("*").execute().data == []
    assert b.client.table("feed_hides").delete().eq("item_id", item).execute().data == []
    assert len(a.client.table("feed_hides").select("*").execute().data) == 1
    # upsert merge and update on the consent row
    a.client.table("ai_consent").upsert({"user_id": a.id, "daily_cap": 5}).execute()
    merged = a.client.table("ai_consent").upsert({"user_id": a.id, "daily_cap": 7}).execute()
    assert rows(merged.data)[0]["daily_cap"] == 7
    updated = a.client.table("ai_consent").update({"daily_cap": 9}).eq("user_id", a.id).execute()
    assert rows(updated.data)[0]["daily_cap"] == 9
    assert b.client.table("ai_consent").update({"daily_cap": 1}).eq("user_id", a.id).execute().data == []
    deleted = a.client.table("feed_hides").delete().eq("item_id", item).execute()
    assert len(rows(deleted.data)) == 1


def test_notifications_rls(service_client: Client, make_user: Callable[[], SupaUser]) -> None:
    a, b = make_user(), make_user()
    sent = service_client.rpc("notif_send", {"p_user_id": a.id, "p_channel": "snackbar", "p_title": "for A"}).execute()
    assert row(sent.data)["sent"] is True
    mine = rows(a.client.table("notifications").select("*").execute().data)
    assert [n["title"] for n in mine] == ["for A"]
    assert b.client.table("notifications").select("*").execute().data == []
    assert b.client.table("notifications").select("*").eq("user_id", a.id).execute().data == []
    unread = (
        a.client.table("notifications")
        .select("id", count=CountMethod.exact, head=True)
        .is_("read_at", "null")
        .execute()
    )
    assert unread.count == 1
    # B's update of A's row touches nothing; A's own works (update grant on read_at only).
    assert b.client.table("notifications").update({"read_at": "now"}).eq("id", mine[0]["id"]).execute().data == []
    marked = a.client.table("notifications").update({"read_at": "2026-01-01T00:00:00Z"}).eq("id", mine[0]["id"])
    assert rows(marked.execute().data)[0]["read_at"] is not None


def test_rpc_modifiers_count_and_get(anon_client: Client) -> None:
    browse = anon_client.rpc("interest_catalog_browse", {})
    fitness = rows(browse.select("id,name").eq("domain", "fitness").limit(3).execute().data)
    assert len(fitness) == 3 and all(set(r) == {"id", "name"} for r in fitness)
    counted = anon_client.rpc("interest_catalog_browse", {}, count=CountMethod.exact).limit(2).execute()
    assert counted.count is not None and counted.count >= 100 and len(rows(counted.data)) == 2
    got = anon_client.rpc("interest_catalog_browse", {"p_limit": 4}, get=True).execute()
    assert len(rows(got.data)) == 4
    with pytest.raises(APIError) as volatile:
        anon_client.rpc("notif_mark_all_read", {}, get=True).execute()
    assert volatile.value.code == "PGRST101"


def test_observability_views_stay_service_only(gauntlet_stack: StackState) -> None:
    with httpx.Client(base_url=gauntlet_stack.api_url) as http:
        ok = http.get("/rest/v1/vw_kernel_slos?limit=5", headers={"apikey": gauntlet_stack.service_key})
        assert ok.status_code == 200 and isinstance(ok.json(), list)
        denied = http.get("/rest/v1/vw_kernel_slos", headers={"apikey": gauntlet_stack.anon_key})
        assert denied.status_code == 401 and denied.json()["code"] == "42501"
