#!/usr/bin/env bash
# A single-node Concord in front of two demo backends, in the foreground until Ctrl-C.
#
# Usage: scripts/demo.sh [--port N] [--no-deps]
#   --port N   the entry point's port (default 8080)
#   --no-deps  do not run scripts/install-deps.sh
#
# Installs what is missing, builds build-release (the same configuration as scripts/test.sh),
# starts two tiny HTTP backends on free loopback ports (python3 -m http.server, each serving a
# page that names it), writes a static config (entry point "web") and a dynamic config in
# Traefik's file-provider format routing Host(`demo.localhost`) to both backends, and runs
# `proxyd --config <tmp>/concord.yaml` in the foreground. Ctrl-C stops proxyd; the backends are
# then stopped by PID and the temporary folder removed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
port=8080
deps=1

while [ $# -gt 0 ]; do
    case "$1" in
    --port)
        [ $# -ge 2 ] || { echo "demo: --port needs a number" >&2; exit 2; }
        port=$2
        shift 2
        ;;
    --port=*)
        port=${1#--port=}
        shift
        ;;
    --no-deps)
        deps=0
        shift
        ;;
    -h | --help)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "demo: unknown argument $1 (try --help)" >&2
        exit 2
        ;;
    esac
done
case "$port" in
'' | *[!0-9]*)
    echo "demo: --port wants a number, not '$port'" >&2
    exit 2
    ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    echo "demo: --port must be 1..65535" >&2
    exit 2
fi

cd "$ROOT"
if [ "$deps" = 1 ]; then
    bash scripts/install-deps.sh
fi

# Same options as scripts/test.sh, so the two never reconfigure each other's build.
echo "demo: building build-release"
opts=(--buildtype=release -Dtests=true -Dfuzz=false)
if ! { [ -f build-release/meson-private/coredata.dat ] &&
    meson setup --reconfigure build-release "${opts[@]}" >/dev/null; }; then
    rm -rf build-release
    meson setup build-release "${opts[@]}" >/dev/null
fi
if ! meson compile -C build-release node/proxyd >/dev/null; then
    echo "demo: building proxyd failed; the compiler output:" >&2
    meson compile -C build-release node/proxyd >&2 || true
    exit 1
fi
proxyd="$ROOT/build-release/node/proxyd"

# The entry point binds all addresses on $port; say so now rather than through a bind error.
if ! "$PY" - "$port" <<'EOF'; then
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("0.0.0.0", int(sys.argv[1])))
except OSError as e:
    sys.exit(1)
EOF
    echo "demo: port $port is in use; pick another with --port N" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/concord-demo.XXXXXX")
pids=()
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
    echo "demo: stopped the backends and removed $tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_backend N: starts backend N on a free port (port 0: the kernel picks, http.server
# prints it) and sets BACKEND_PORT.
start_backend() {
    local n=$1 dir="$tmp/backend$1" log="$tmp/backend$1.log"
    mkdir -p "$dir"
    # setsid: Ctrl-C in the terminal goes to proxyd only; the backends are stopped by PID.
    setsid "$PY" -u -m http.server --bind 127.0.0.1 --directory "$dir" 0 >"$log" 2>&1 &
    pids+=($!)
    BACKEND_PORT=""
    for _ in $(seq 1 100); do
        BACKEND_PORT=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
        [ -n "$BACKEND_PORT" ] && break
        sleep 0.1
    done
    if [ -z "$BACKEND_PORT" ]; then
        echo "demo: backend $n did not start:" >&2
        cat "$log" >&2
        exit 1
    fi
    printf 'Hello from demo backend %s (127.0.0.1:%s)\n' "$n" "$BACKEND_PORT" >"$dir/index.html"
}

start_backend 1
port1=$BACKEND_PORT
start_backend 2
port2=$BACKEND_PORT

cat >"$tmp/dynamic.yaml" <<EOF
# Dynamic configuration, Traefik's file-provider format.
http:
  routers:
    demo:
      entryPoints: [web]
      rule: "Host(\`demo.localhost\`) && PathPrefix(\`/\`)"
      service: demo
  services:
    demo:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:$port1"
          - url: "http://127.0.0.1:$port2"
EOF

cat >"$tmp/concord.yaml" <<EOF
# Static configuration: the embedded defaults plus this.
entryPoints:
  web:
    address: ":$port"
providers:
  file:
    filename: "$tmp/dynamic.yaml"
EOF

cat <<EOF

demo: backends on 127.0.0.1:$port1 and 127.0.0.1:$port2 (logs in $tmp/backend*.log)
demo: config in $tmp/concord.yaml and $tmp/dynamic.yaml
demo: starting proxyd on :$port. Try, from another terminal:

    curl -H 'Host: demo.localhost' http://127.0.0.1:$port/

  Repeat it: the requests are spread over backend 1 and backend 2.
  Without the Host header no router matches and the answer is 404.
  Press Ctrl-C to stop.

EOF

# proxyd runs in the foreground (Ctrl-C reaches it directly) from the temporary folder, so the
# data folder it creates by default (./concord-data) goes away with the demo.
# Ctrl-C from here on is proxyd's to handle; this script only notes it, then cleans up. (A
# non-empty trap, since an ignored signal would be inherited by proxyd.)
interrupted=0
trap 'interrupted=1' INT
cd "$tmp"
set +e
"$proxyd" --config "$tmp/concord.yaml"
rc=$?
set -e
echo "demo: proxyd exited with status $rc"
# After Ctrl-C, a graceful exit (0) or death by SIGINT (130) is a normal stop.
if [ "$interrupted" = 1 ] && { [ "$rc" -eq 0 ] || [ "$rc" -eq 130 ]; }; then
    exit 0
fi
exit "$rc"
