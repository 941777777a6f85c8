#!/usr/bin/env bash
# Provider propagation benchmark: a change at a provider's source (a real etcd 3.4, a real
# dockerd) until all 3 nodes of a proxyd cluster serve it, beside the source's own notification
# measured in the same run (tests/bench/providers.py says what each row is). Not part of CI.
#
# Usage: tests/bench/providers.sh [--rounds N] [--only etcd|docker]
# Env:   PROXYD     proxyd binary (default: <repo>/build-release/node/proxyd)
#        BENCH_OUT  raw results as JSON (default: /tmp/concord-providers-bench.json)
# Needs root for dockerd, and the test packages (scripts/install-deps.sh installs them).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export PROXYD=${PROXYD:-$REPO/build-release/node/proxyd}
[ -x "$PROXYD" ] || { echo "providers: build first (no $PROXYD)" >&2; exit 1; }
exec /usr/bin/python3 "$HERE/providers.py" --out "${BENCH_OUT:-/tmp/concord-providers-bench.json}" "$@"
