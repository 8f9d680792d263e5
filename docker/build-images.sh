#!/usr/bin/env bash
# Build the images the Docker backend (`gauntlet up --backend docker`) runs.
#
#   docker/build-images.sh             gauntlet/platform:dev FROM debian:bookworm-slim (needs Docker Hub)
#                                      and gauntlet/load:dev FROM it (the load workers' image)
#   docker/build-images.sh --offline   no registry at all: a Debian base made with debootstrap from
#                                      Debian's mirror, then gauntlet/runtime:offline FROM it (pip from PyPI);
#                                      use it with GAUNTLET_DOCKER_IMAGES=offline; gauntlet/load:dev FROM it
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), GAUNTLET_BASE_IMAGE (offline
# base tag, default gauntlet/debian:bookworm; built only when missing, --rebuild-base forces it),
# GAUNTLET_EXTRA_CA_DIR (*.crt added to the image's trust store; default /usr/local/share/ca-certificates).
# Nothing is cached outside the repository except Docker's own image store.
set -euo pipefail
cd "$(dirname "$0")/.."

OFFLINE=0
REBUILD_BASE=0
for arg in "$@"; do
  case "$arg" in
    --offline) OFFLINE=1 ;;
    --rebuild-base) REBUILD_BASE=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build-images: unknown argument $arg (use --offline, --rebuild-base)" >&2; exit 2 ;;
  esac
done

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_TAG=${GAUNTLET_BASE_IMAGE:-gauntlet/debian:bookworm}
started=$SECONDS

say() { echo "build-images: $*" >&2; }

if ! docker info >/dev/null 2>&1; then
  say "no Docker engine answers (docker info failed): start dockerd, or install it (apt-get install docker.io)"
  exit 2
fi

build_debian_base() {
  # A minimal Debian bookworm root filesystem, imported as an image: no registry involved.
  if [ "$REBUILD_BASE" = 0 ] && docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    say "base $BASE_TAG already present (--rebuild-base to make it again)"
    return
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      say "installing debootstrap with apt-get"
      flock /tmp/gauntlet-apt.lock env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    else
      say "debootstrap is missing: install it (apt-get install debootstrap) and run this again as root"
      exit 2
    fi
  fi
  if [ "$(id -u)" != 0 ]; then
    say "debootstrap needs root: run this script as root (or with sudo)"
    exit 2
  fi
  local rootfs
  rootfs=$(mktemp -d /tmp/gauntlet-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' RETURN
  say "debootstrap bookworm (minbase) from $MIRROR"
  local t0=$SECONDS
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >/tmp/gauntlet-debootstrap.log 2>&1 || {
    say "debootstrap failed: see /tmp/gauntlet-debootstrap.log"; tail -5 /tmp/gauntlet-debootstrap.log >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - "$BASE_TAG" >/dev/null
  say "base $BASE_TAG imported in $((SECONDS - t0))s"
}

build_context() {
  # Only the project's sources (the package, the folders gauntlet/ links to, its metadata), plus
  # the extra certificate authorities this host trusts, so pip inside the build gets through the
  # same TLS-inspecting proxy the host does.
  local parts=(pyproject.toml README.md gauntlet docker)
  for link in gauntlet/*; do
    if [ -L "$link" ]; then parts+=("$(basename "$(readlink "$link")")"); fi
  done
  local stage
  stage=$(mktemp -d /tmp/gauntlet-context.XXXXXX)
  tar -c --exclude=__pycache__ --exclude='*.egg-info' --exclude='*.pyc' "${parts[@]}" | tar -x -C "$stage"
  mkdir -p "$stage/extra-ca"
  local ca_dir=${GAUNTLET_EXTRA_CA_DIR:-/usr/local/share/ca-certificates}
  if [ -d "$ca_dir" ]; then
    find "$ca_dir" -maxdepth 1 -name '*.crt' -exec cp {} "$stage/extra-ca/" \;
  fi
  tar -C "$stage" -c .
  rm -rf "$stage"
}

build_platform() {
  local base=$1; shift
  local t0=$SECONDS
  say "building ${*} FROM $base"
  local tags=()
  for tag in "$@"; do tags+=(-t "$tag"); done
  build_context | docker build -q --build-arg "BASE=$base" -f docker/platform.Dockerfile "${tags[@]}" - >/dev/null
  # Earlier builds of these tags, now untagged: only images carrying our label go.
  docker image prune -f --filter label=org.gauntlet.runtime=1 >/dev/null
  say "built ${*} in $((SECONDS - t0))s"
}

build_load() {
  # The load generator's image (docker/load.Dockerfile): FROM the platform image just built, no context.
  local t0=$SECONDS
  local digest
  digest=$(docker/load-source-digest.sh)
  docker build -q --build-arg "BASE=$1" --build-arg "SOURCE_DIGEST=$digest" -t gauntlet/load:dev - \
    <docker/load.Dockerfile >/dev/null
  say "built gauntlet/load:dev in $((SECONDS - t0))s"
}

if [ "$OFFLINE" = 1 ]; then
  build_debian_base
  # One image plays every role offline; it is also the platform image under its usual name.
  build_platform "$BASE_TAG" gauntlet/runtime:offline gauntlet/platform:dev
  build_load gauntlet/runtime:offline
  say "done in $((SECONDS - started))s; use it with: export GAUNTLET_DOCKER_IMAGES=offline"
else
  build_platform debian:bookworm-slim gauntlet/platform:dev
  build_load gauntlet/platform:dev
  say "done in $((SECONDS - started))s (Postgres, Redis and Toxiproxy images are pulled on first \`up\`)"
fi
