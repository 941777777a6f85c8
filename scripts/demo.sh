#!/usr/bin/env bash
# A three-node Concord cluster in front of two demo backends, until Ctrl-C.
#
# Usage: scripts/demo.sh [--port N] [--no-deps]
#   --port N   node 1's entry point port (default 8080; nodes 2 and 3 take N+1 and N+2)
#   --no-deps  do not run scripts/install-deps.sh
#
# Installs what is missing, builds build-release (the same configuration as scripts/test.sh),
# starts two tiny HTTP backends on free loopback ports (python3 -m http.server, each serving a
# page that names it), writes a cluster secret, an admin token, one static config per node
# (entry point "web", admin API on 127.0.0.1:991<i>, Raft on 127.0.0.1:992<i>, bootstrap of
# n1..n3) and a dynamic config in Traefik's file-provider format routing
# Host(`demo.localhost`) to both backends, given to node 1 only: the cluster replicates it, so
# all three nodes serve it. Nodes 2 and 3 run in the background, node 1 in the foreground.
# Ctrl-C stops node 1; the other nodes and the backends are then stopped by PID and the
# temporary folder removed.
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
if ! meson compile -C build-release node/proxyd ctl/proxyctl >/dev/null; then
    echo "demo: building proxyd failed; the compiler output:" >&2
    meson compile -C build-release node/proxyd >&2 || true
    exit 1
fi
proxyd="$ROOT/build-release/node/proxyd"
proxyctl="$ROOT/build-release/ctl/proxyctl"

# Say now which port is taken rather than through a bind error of one node.
if ! "$PY" - "$port" <<'EOF'; then
import socket, sys
p = int(sys.argv[1])
for host, port in [("0.0.0.0", p), ("0.0.0.0", p + 1), ("0.0.0.0", p + 2),
                   ("127.0.0.1", 9911), ("127.0.0.1", 9912), ("127.0.0.1", 9913),
                   ("127.0.0.1", 9921), ("127.0.0.1", 9922), ("127.0.0.1", 9923)]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
    except OSError:
        print("demo: %s:%d is in use" % (host, port), file=sys.stderr)
        sys.exit(1)
    finally:
        s.close()
EOF
    echo "demo: a port the demo needs is in use (entry points $port..$((port + 2)), admin" \
        "9911-9913, raft 9921-9923); pick other entry ports with --port N" >&2
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

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/cluster.secret"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/admin.token"
chmod 600 "$tmp/cluster.secret" "$tmp/admin.token"
for i in 1 2 3; do
    mkdir -p "$tmp/n$i"
    {
        echo "# Static configuration of node n$i: the embedded defaults plus this."
        echo "entryPoints:"
        echo "  web:"
        echo "    address: \":$((port + i - 1))\""
        if [ "$i" = 1 ]; then
            echo "providers:"
            echo "  file:"
            echo "    filename: \"$tmp/dynamic.yaml\""
            echo "    watch: true"
        fi
        echo "admin:"
        echo "  address: 127.0.0.1:991$i"
        echo "  tokenFile: \"$tmp/admin.token\""
        echo "cluster:"
        echo "  nodeId: n$i"
        echo "  dataDir: \"$tmp/n$i/data\""
        echo "  raftAddress: 127.0.0.1:992$i"
        echo "  secretFile: \"$tmp/cluster.secret\""
        echo "  bootstrap: [\"n1=127.0.0.1:9921\", \"n2=127.0.0.1:9922\", \"n3=127.0.0.1:9923\"]"
    } >"$tmp/n$i/concord.yaml"
done
for i in 2 3; do
    setsid "$proxyd" --config "$tmp/n$i/concord.yaml" >"$tmp/n$i/proxyd.log" 2>&1 &
    pids+=($!)
done

ctl="$proxyctl --endpoints 127.0.0.1:9911,127.0.0.1:9912,127.0.0.1:9913 --token-file $tmp/admin.token"
cat <<EOF

demo: backends on 127.0.0.1:$port1 and 127.0.0.1:$port2 (logs in $tmp/backend*.log)
demo: nodes n1, n2, n3 serve :$port, :$((port + 1)), :$((port + 2)); configs in $tmp/n*/concord.yaml
demo: node n1 runs here, n2 and n3 in the background (logs in $tmp/n*/proxyd.log).
  Try, from another terminal:

    curl -H 'Host: demo.localhost' http://127.0.0.1:$port/
    curl -H 'Host: demo.localhost' http://127.0.0.1:$((port + 2))/   # node 3 has no file provider
    $ctl status
    $ctl config apply -f my-routes.yaml --wait

  Repeat a curl: the requests are spread over backend 1 and backend 2.
  Without the Host header no router matches and the answer is 404.
  Press Ctrl-C to stop.

EOF

# Node 1 runs in the foreground (Ctrl-C reaches it directly); every data dir is in the
# temporary folder, so the cluster's state goes away with the demo.
# Ctrl-C from here on is proxyd's to handle; this script only notes it, then cleans up. (A
# non-empty trap, since an ignored signal would be inherited by proxyd.)
interrupted=0
trap 'interrupted=1' INT
cd "$tmp"
set +e
"$proxyd" --config "$tmp/n1/concord.yaml"
rc=$?
set -e
echo "demo: proxyd exited with status $rc"
# After Ctrl-C, a graceful exit (0) or death by SIGINT (130) is a normal stop.
if [ "$interrupted" = 1 ] && { [ "$rc" -eq 0 ] || [ "$rc" -eq 130 ]; }; then
    exit 0
fi
exit "$rc"
