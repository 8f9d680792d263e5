"""The seed catalog: sizes, stable ids, references that resolve, values the schema accepts."""

from __future__ import annotations

import re
import uuid
from collections import Counter

from gauntlet.platform.seed import catalog


def test_six_domains_of_at_least_20_interests() -> None:
    per_domain = Counter(interest.domain for interest in catalog.interests())
    assert len(per_domain) == 6 and set(per_domain) == set(catalog.domains())
    assert min(per_domain.values()) >= 20
    assert len(catalog.interests()) >= 120


def test_ids_are_stable_and_unique() -> None:
    interests = catalog.interests()
    assert len({i.id for i in interests}) == len(interests)
    assert len({i.slug for i in interests}) == len(interests)
    running = next(i for i in interests if i.slug == "hiking")
    assert running.id == uuid.uuid5(catalog.NAMESPACE, "interest:hiking")
    candidates = catalog.candidates()
    assert len({c.id for c in candidates}) == len(candidates)
    assert len({c.url for c in candidates}) == len(candidates)


def test_the_cutover_guides_literal_interest_ids_exist() -> None:
    ids = {i.id for i in catalog.interests()}
    assert {
        uuid.UUID("11111111-1111-1111-1111-111111111111"),
        uuid.UUID("22222222-2222-2222-2222-222222222222"),
        uuid.UUID("33333333-3333-3333-3333-333333333333"),
    } <= ids
    assert str(catalog.SMOKE_TEST_USER_ID) == "00000000-0000-0000-0000-000000000001"


def test_every_interest_maps_to_a_category_and_references_resolve() -> None:
    interest_ids = {i.id for i in catalog.interests()}
    category_ids = {c.id for c in catalog.categories()}
    mapped = {m.interest_id for m in catalog.interest_categories()}
    assert mapped == interest_ids
    assert {m.category_id for m in catalog.interest_categories()} <= category_ids
    assert all(0 < m.weight <= 1 for m in catalog.interest_categories())
    pairs = [(m.interest_id, m.category_id) for m in catalog.interest_categories()]
    assert len(pairs) == len(set(pairs))
    for candidate in catalog.candidates():
        assert candidate.category_id in category_ids
        assert candidate.interest_id is None or candidate.interest_id in interest_ids


def test_every_category_has_candidates() -> None:
    per_category = Counter(c.category_id for c in catalog.candidates())
    assert set(per_category) == {c.id for c in catalog.categories()}
    assert min(per_category.values()) >= 3


def test_values_satisfy_the_schema_checks() -> None:
    for interest in catalog.interests():
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", interest.slug)
        assert re.fullmatch(r"[a-z][a-z_]{1,31}", interest.domain)
        assert 1 <= len(interest.name) <= 80 and interest.popularity >= 0
    for category in catalog.categories():
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,80}", category.slug)
    for candidate in catalog.candidates():
        assert candidate.url.startswith("https://") and candidate.image_url.startswith("https://")
        assert ".invalid/" in candidate.url  # nothing rendered can reach the internet
        assert candidate.price_cents >= 0 and candidate.popularity >= 0


def test_reserved_handles_include_the_brand_and_staff_names() -> None:
    handles = {h.handle for h in catalog.RESERVED_HANDLES}
    assert {"admin", "support", "rocker", "yalls"} <= handles
    assert all(h == h.lower() and 1 <= len(h) <= 30 for h in handles)
    assert len(handles) == len(catalog.RESERVED_HANDLES)


def test_feature_flags_match_the_seeds() -> None:
    flags = {f.key: f.value for f in catalog.FEATURE_FLAGS}
    assert flags["global.safe_mode"] == {"enabled": False}
    assert flags["ranker.policy"] == {"version": "epsilon_greedy_v1", "epsilon": 0.08}
    assert flags["marketplace.suggest"] == {"enabled": True}
    assert flags["learning.enabled"] == {"enabled": True}
    assert flags["crush_mode.enabled"] == {"enabled": False}
    assert flags["feed_shop_blend"] == {"enabled": True}
    assert flags["payments_real"] == {"enabled": False}
    assert all(re.fullmatch(r"[a-z0-9_.-]{1,64}", key) for key in flags)


def test_candidates_are_tied_to_the_interest_they_name() -> None:
    by_id = {i.id: i for i in catalog.interests()}
    shoes = next(c for c in catalog.candidates() if c.title == "Trail Running Shoes")
    assert shoes.interest_id is not None and by_id[shoes.interest_id].slug == "trail-running"
