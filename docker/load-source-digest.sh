#!/usr/bin/env bash
# The digest of the load generator's sources (gauntlet/load: *.py, *.yaml), as docker/build-images.sh
# labels gauntlet/load:dev with (org.gauntlet.load.source) and gauntlet/load/docker_workers.py
# (source_digest) recomputes: a difference means the image runs other load code than this checkout.
set -euo pipefail
cd "${1:-$(dirname "$0")/../gauntlet/load}"
find . -type f \( -name '*.py' -o -name '*.yaml' \) -not -path '*/__pycache__/*' | LC_ALL=C sort \
  | while IFS= read -r file; do
      printf '%s %s\n' "$(sha256sum <"$file" | cut -d' ' -f1)" "$file"
    done | sha256sum | cut -d' ' -f1
