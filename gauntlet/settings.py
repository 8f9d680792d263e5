"""The one settings object of the harness: every environment variable `gauntlet` reads, in one place.

The platform under test has its own (platform/settings.py, `GAUNTLET_*` read by
the API and the workers); these are the harness's. A variable that names the
same thing for both keeps one name; where the two meant different things the
harness's got its own name:

- `GAUNTLET_EXTERNAL_REDIS_URL`: `gauntlet up` uses this Redis instead of
  starting one. The platform's `GAUNTLET_REDIS_URL` is the Redis it connects
  to (the stack sets it for the processes it starts). `GAUNTLET_REDIS_URL` in
  the harness's own environment is still read as the external Redis, as the
  README documented it before the split.

Target-file overrides (`GAUNTLET_API_URL` ...; gauntlet/target.py) and Docker
image overrides (`GAUNTLET_DOCKER_IMAGES`, `GAUNTLET_IMAGE_*`;
gauntlet/stack/docker/images.py) are tables of variables derived from those
files' keys, read through the mapping those functions take.

Read with `harness_settings()`: it reads the environment at each call (a test
or a command that sets a variable sees it at once), and an empty value counts
as unset.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STATE_DIR = Path(".gauntlet")
EXTERNAL_REDIS_ENV = "GAUNTLET_EXTERNAL_REDIS_URL"
EXTERNAL_REDIS_OLD_ENV = "GAUNTLET_REDIS_URL"  # the same meaning, the name the README gave it first


class HarnessSettings(BaseSettings):
    """The harness's environment; each field names its variable."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", str_strip_whitespace=True)

    # The stack: where its state lives, and what it uses instead of starting its own.
    state_dir: Path = Field(default=DEFAULT_STATE_DIR, validation_alias="GAUNTLET_STATE_DIR")
    external_redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices(EXTERNAL_REDIS_ENV, EXTERNAL_REDIS_OLD_ENV)
    )
    external_toxiproxy_url: str | None = Field(default=None, validation_alias="TOXIPROXY_URL")
    pg_bindir: Path | None = Field(default=None, validation_alias="GAUNTLET_PG_BINDIR")
    # The test suite's stack (gauntlet's pytest plugin).
    test_state_dir: str | None = Field(default=None, validation_alias="GAUNTLET_TEST_STATE_DIR")
    backend: str = Field(default="embedded", validation_alias="GAUNTLET_BACKEND")
    # Databases a command writes to or breaks, when not the running stack's.
    primary_dsn: str | None = Field(default=None, validation_alias="GAUNTLET_PRIMARY_DSN")  # `fixtures` loads into it
    chaos_dsn: str | None = Field(default=None, validation_alias="GAUNTLET_CHAOS_DSN")  # drills' direct primary
    # Journeys.
    journey_accounts: Path | None = Field(default=None, validation_alias="GAUNTLET_JOURNEY_ACCOUNTS")
    chromium: str | None = Field(default=None, validation_alias="GAUNTLET_CHROMIUM")
    service_key: str | None = Field(default=None, validation_alias="GAUNTLET_SERVICE_KEY")
    display: str | None = Field(default=None, validation_alias=AliasChoices("DISPLAY", "WAYLAND_DISPLAY"))
    # Where a run appends its per-step progress (the gate's live table reads it).
    progress_file: Path | None = Field(default=None, validation_alias="GAUNTLET_PROGRESS_FILE")
    # Docker (testcontainers' own variables).
    docker_host: str | None = Field(default=None, validation_alias="DOCKER_HOST")
    testcontainers_connection_mode: str | None = Field(default=None, validation_alias="TESTCONTAINERS_CONNECTION_MODE")
    testcontainers_host: str | None = Field(
        default=None, validation_alias=AliasChoices("TC_HOST", "TESTCONTAINERS_HOST_OVERRIDE")
    )

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object, info: ValidationInfo) -> object:
        """A value of only spaces is unset too (env_ignore_empty drops only the empty string)."""
        if isinstance(value, str) and not value.strip() and info.field_name is not None:
            default: object = cls.model_fields[info.field_name].default
            return default
        return value


def harness_settings() -> HarnessSettings:
    """The harness's settings from the environment as it is now."""
    return HarnessSettings()
