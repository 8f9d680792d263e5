"""Which Chromium journeys launch: GAUNTLET_CHROMIUM, else /usr/bin/chromium, else Playwright's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.base.errors import EnvironmentProblem
from gauntlet.journeys import browser


def test_the_environment_names_another_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chrome = tmp_path / "chrome"
    chrome.write_text("#!/bin/sh\n")
    chrome.chmod(0o755)
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(chrome))
    assert browser.find_chromium() == chrome


def test_a_wrong_binary_in_the_environment_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(tmp_path / "missing"))
    with pytest.raises(EnvironmentProblem, match=r"GAUNTLET_CHROMIUM.*not an executable"):
        browser.find_chromium()


def test_system_chromium_else_playwrights_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(browser.CHROMIUM_ENV, raising=False)
    system = tmp_path / "chromium"
    system.write_text("#!/bin/sh\n")
    system.chmod(0o755)
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", system)
    assert browser.find_chromium() == system
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", tmp_path / "absent")
    assert browser.find_chromium() is None


def test_the_launch_flags_keep_the_browser_quiet() -> None:
    assert set(browser.LAUNCH_ARGS) == {
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic",
    }  # fmt: skip
