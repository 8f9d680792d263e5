"""The harness's one settings object (gauntlet/settings.py): each variable, the Redis names, blanks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gauntlet.settings import HarnessSettings, harness_settings

REPO = Path(__file__).resolve().parents[2]
HARNESS_DIRS = ("gauntlet", "load", "journeys", "chaos", "reports", "fixtures")
# Reading a variable (a write, or handing all of os.environ to a child process or a mapping-taking
# function, is not a read of one setting).
ENV_READ = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[[^\]]+\](?!\s*=[^=])")
# Variables handed on to a child process as they are (not settings of the harness).
PASSED_ON = ("PYTHONPATH",)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for field in HarnessSettings.model_fields.values():
        alias = field.validation_alias
        names = [alias] if isinstance(alias, str) else [str(c) for c in getattr(alias, "choices", [])]
        for name in names:
            monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = harness_settings()
    assert settings.state_dir == Path(".gauntlet")
    assert settings.backend == "embedded"
    assert settings.external_redis_url is None and settings.external_toxiproxy_url is None


@pytest.mark.parametrize(
    ("variable", "field", "value", "expected"),
    [
        ("GAUNTLET_STATE_DIR", "state_dir", "/tmp/s", Path("/tmp/s")),
        ("GAUNTLET_EXTERNAL_REDIS_URL", "external_redis_url", "redis://h:1/0", "redis://h:1/0"),
        ("TOXIPROXY_URL", "external_toxiproxy_url", "http://h:8474", "http://h:8474"),
        ("GAUNTLET_PG_BINDIR", "pg_bindir", "/usr/lib/postgresql/16/bin", Path("/usr/lib/postgresql/16/bin")),
        ("GAUNTLET_TEST_STATE_DIR", "test_state_dir", "/tmp/t", "/tmp/t"),
        ("GAUNTLET_BACKEND", "backend", "docker", "docker"),
        ("GAUNTLET_PRIMARY_DSN", "primary_dsn", "postgresql://p", "postgresql://p"),
        ("GAUNTLET_CHAOS_DSN", "chaos_dsn", "postgresql://c", "postgresql://c"),
        ("GAUNTLET_JOURNEY_ACCOUNTS", "journey_accounts", "a.json", Path("a.json")),
        ("GAUNTLET_CHROMIUM", "chromium", " chromium ", "chromium"),
        ("GAUNTLET_SERVICE_KEY", "service_key", "k", "k"),
        ("WAYLAND_DISPLAY", "display", "wayland-0", "wayland-0"),
        ("GAUNTLET_PROGRESS_FILE", "progress_file", "p.jsonl", Path("p.jsonl")),
        ("DOCKER_HOST", "docker_host", "unix:///d.sock", "unix:///d.sock"),
        ("TESTCONTAINERS_HOST_OVERRIDE", "testcontainers_host", "h", "h"),
    ],
)
def test_each_variable_sets_its_field(
    monkeypatch: pytest.MonkeyPatch, variable: str, field: str, value: str, expected: object
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(harness_settings(), field) == expected


def test_the_old_redis_name_still_means_the_external_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAUNTLET_REDIS_URL", "redis://old:1/0")
    assert harness_settings().external_redis_url == "redis://old:1/0"
    monkeypatch.setenv("GAUNTLET_EXTERNAL_REDIS_URL", "redis://new:1/0")
    assert harness_settings().external_redis_url == "redis://new:1/0"  # the new name wins


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_variable_is_unset(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    monkeypatch.setenv("GAUNTLET_STATE_DIR", blank)
    monkeypatch.setenv("GAUNTLET_CHAOS_DSN", blank)
    settings = harness_settings()
    assert (settings.state_dir, settings.chaos_dsn) == (Path(".gauntlet"), None)


def test_the_environment_is_read_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    assert harness_settings().chaos_dsn is None
    monkeypatch.setenv("GAUNTLET_CHAOS_DSN", "postgresql://later")
    assert harness_settings().chaos_dsn == "postgresql://later"


def harness_modules() -> list[Path]:
    found = {p.resolve() for folder in HARNESS_DIRS for p in (REPO / folder).rglob("*.py")}
    return sorted(p for p in found if p.is_relative_to(REPO) and p.relative_to(REPO).parts[0] != "platform")


def test_the_scan_sees_the_harness() -> None:
    names = {str(p.relative_to(REPO)) for p in harness_modules()}
    assert {"gauntlet/stack/current.py", "journeys/browser.py", "chaos/drill_cli.py"} <= names
    assert not any(name.startswith("platform/") for name in names)
    assert ENV_READ.search('x = os.environ.get("GAUNTLET_X")') and ENV_READ.search('os.environ["A"]')
    assert not ENV_READ.search('os.environ["A"] = "b"') and not ENV_READ.search("env={**os.environ}")


def test_no_harness_module_reads_the_environment_itself() -> None:
    """Every read goes through gauntlet/settings.py (the platform keeps its own, platform/settings.py)."""
    offending = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in harness_modules()
        if path.name != "settings.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ENV_READ.search(line) and not any(name in line for name in PASSED_ON)
    ]
    assert not offending, "\n".join(offending)
