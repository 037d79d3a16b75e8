#!/usr/bin/env bash
# `make image`: featurelock:<version>, built offline and reproducibly (docs/deployment.md).
#  1. the base: Debian bookworm with Python 3.11, made here by mmdebstrap (no registry is needed)
#     and imported once per machine as localhost/featurelock-base:bookworm;
#  2. the wheelhouse: every pin of requirements.lock, downloaded and hash-checked on the host;
#  3. podman build with no network, every timestamp 0: the image installs from the wheelhouse.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/containers.conf}"
PYTHON="${PYTHON:-.venv/bin/python}"
VERSION="$("$PYTHON" -c 'from featurelock.core.version import __version__; print(__version__)')"
BASE=localhost/featurelock-base:bookworm
mkdir -p build
if ! podman image exists "$BASE"; then
  SOURCE_DATE_EPOCH=0 mmdebstrap --quiet --variant=minbase \
    --include=python3,python3-venv,ca-certificates bookworm build/base.tar
  podman import --quiet build/base.tar "$BASE" >/dev/null
  rm -f build/base.tar
fi
"$PYTHON" -m pip download --quiet --no-deps --require-hashes -r requirements.lock -d build/wheelhouse 2>&1 \
  | { grep -v "^WARNING: Location" || true; }
podman build --quiet --network none --timestamp 0 --pull=never --build-arg BASE="$BASE" \
  -f Containerfile -t "featurelock:$VERSION" . >/dev/null
podman image prune -f >/dev/null  # the previous build's layers, now untagged
echo "featurelock:$VERSION $(podman image inspect --format '{{.Digest}}' "featurelock:$VERSION")"
