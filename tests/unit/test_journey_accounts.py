"""Journey accounts remembered per target and role, in a file only its owner can read."""

from __future__ import annotations

import stat
from pathlib import Path

from gauntlet.journeys.accounts import Account, AccountStore, fresh_email, fresh_handle, fresh_password


def test_an_account_is_kept_per_target_and_role(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "accounts.json")
    seller = Account("s@example.test", "pw-1", "u1")
    store.put("http://a:1/", "seller", seller)
    store.put("http://a:1", "buyer", Account("b@example.test", "pw-2"))
    store.put("http://b:2", "seller", Account("other@example.test", "pw-3"))
    again = AccountStore(tmp_path / "accounts.json")
    assert again.get("http://a:1", "seller") == seller  # a trailing slash names the same target
    assert again.get("http://a:1", "buyer") == Account("b@example.test", "pw-2")
    assert again.get("http://b:2", "seller") == Account("other@example.test", "pw-3")
    assert again.get("http://b:2", "buyer") is None


def test_the_file_holds_passwords_so_only_its_owner_may_read_it(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "accounts.json"
    AccountStore(path).put("http://a", "seller", Account("s@example.test", "pw"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_missing_or_torn_file_means_no_accounts(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    assert AccountStore(path).get("http://a", "seller") is None
    path.write_text('{"http://a": {"seller": {"email": "x')
    assert AccountStore(path).get("http://a", "seller") is None
    path.write_text('{"http://a": {"seller": {"email": "", "password": ""}}}')
    assert AccountStore(path).get("http://a", "seller") is None


def test_fresh_identities_are_unique_and_valid() -> None:
    emails = {fresh_email("signup") for _ in range(50)}
    assert len(emails) == 50 and all(e.endswith("@example.test") and "signup" in e for e in emails)
    handles = {fresh_handle() for _ in range(50)}
    assert len(handles) == 50 and all(3 <= len(h) <= 30 and h.replace("_", "").isalnum() for h in handles)
    assert len(fresh_password()) >= 12
