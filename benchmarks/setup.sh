#!/usr/bin/env bash
# The load benchmark's own setup: a compiled load generator (Debian's `hey`), installed here and
# never by the tests or CI. Run once: `bash benchmarks/setup.sh`.
set -euo pipefail
if command -v hey >/dev/null 2>&1; then
  echo "hey is installed: $(command -v hey)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq hey
echo "hey is installed: $(command -v hey)"
