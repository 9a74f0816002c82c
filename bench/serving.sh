#!/usr/bin/env bash
# HTTP benchmark and build measurements; writes BENCHMARKS.md. Installs wrk and nginx.
#   bench/serving.sh [--seconds 5] [--sizes 12,1000,10000]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup
scripts/apt-install wrk wrk
scripts/install-nginx
exec .venv/bin/python bench/serving.py "$@"
