"""Docker backend: which image plays which role (profiles, overrides, hints). No engine needed."""

from __future__ import annotations

import pytest

from gauntlet.base.errors import GauntletError
from gauntlet.stack.docker.images import (
    OFFLINE_IMAGE,
    PLATFORM_IMAGE,
    DockerImages,
    is_local_only,
    missing_image_hint,
    resolve_images,
)


def test_public_defaults_are_the_well_known_images() -> None:
    images = resolve_images({})
    assert images == DockerImages()
    assert images.postgres == "pgvector/pgvector:pg16"
    assert images.redis == "redis:7"
    assert images.toxiproxy.startswith("ghcr.io/shopify/toxiproxy:")
    assert images.platform == PLATFORM_IMAGE


def test_offline_profile_uses_the_local_runtime_image_for_every_role() -> None:
    images = resolve_images({"GAUNTLET_DOCKER_IMAGES": " Offline "})
    assert images.distinct() == [OFFLINE_IMAGE]


def test_per_image_variables_override_the_profile() -> None:
    env = {"GAUNTLET_DOCKER_IMAGES": "offline", "GAUNTLET_DOCKER_POSTGRES_IMAGE": "postgres-with-vector:16 "}
    images = resolve_images(env)
    assert images.postgres == "postgres-with-vector:16"
    assert images.redis == OFFLINE_IMAGE
    assert images.distinct() == ["postgres-with-vector:16", OFFLINE_IMAGE]


def test_an_empty_override_keeps_the_profile() -> None:
    assert resolve_images({"GAUNTLET_DOCKER_REDIS_IMAGE": "  "}).redis == "redis:7"


def test_an_unknown_profile_is_a_usage_error_naming_the_choices() -> None:
    with pytest.raises(GauntletError, match="public or offline"):
        resolve_images({"GAUNTLET_DOCKER_IMAGES": "airgapped"})


def test_gauntlet_images_are_built_not_pulled_and_the_hint_says_how() -> None:
    assert is_local_only(PLATFORM_IMAGE) and is_local_only(OFFLINE_IMAGE)
    assert not is_local_only("redis:7")
    assert "docker/build-images.sh --offline" in missing_image_hint(PLATFORM_IMAGE)
    public = missing_image_hint("redis:7")
    assert "GAUNTLET_DOCKER_IMAGES=offline" in public and "could not be pulled" in public
