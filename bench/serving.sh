#!/usr/bin/env bash
# The whole benchmark (HTTP, versions, builds, compression); writes BENCHMARKS.md.
# Installs wrk and Debian's nginx.
#   bench/serving.sh [--seconds 5] [--rounds 3] [--sizes 12,1000,10000] [--cities 100]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup
scripts/apt-install wrk wrk
scripts/install-nginx
exec .venv/bin/python bench/serving.py "$@"
