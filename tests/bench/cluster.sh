#!/usr/bin/env bash
# Concord cluster benchmark: config propagation and failover of a 3-node proxyd cluster, with a
# 3-member etcd cluster measured in the same run as the anchor (shared/docs/benchmarking.md:
# one run, peers side by side, ratios, medians).
#
# 1. Propagation: 3 proxyd nodes on loopback (data dirs on disk). Each change replaces the api
#    namespace with one router whose Host is new (c<N>.<tag>.bench, backend = a tiny loopback
#    server that echoes the Host). Written with the real proxyctl (`config apply`, and
#    `config apply --wait`) and with a direct admin PUT (fresh connection each); "+poll" rows
#    poll all 3 entry points with that Host until every node answers from the new route.
#    Each method is sent to the leader and to a follower; methods alternate round by round.
# 2. Anchor: the same rounds also put into etcd 3.4 (3 members): `etcdctl put` (a process per
#    put, like proxyctl) and the JSON gateway `POST /v3/kv/put` (fresh connection, like PUT).
# 3. Failover: kill -9 the leader, time until a write through a survivor succeeds (retried every
#    10 ms); the node is restarted and caught up between trials. Same for etcd. Graceful
#    `POST /api/cluster/leader/transfer` under a writer loop: the longest gap between writes.
# Not part of CI. See tests/bench/README.md ("Cluster: propagation and failover").
#
# Usage: tests/bench/cluster.sh [--quick] [--count N] [--trials N] [--entry LIST] [--no-etcd]
#                               [--keep-tmp]
# Env:   PROXYD     proxyd binary   (default: <repo>/build-release/node/proxyd)
#        PROXYCTL   proxyctl binary (default: <repo>/build-release/ctl/proxyctl)
#        BENCH_OUT  raw results as JSON (default: /tmp/concord-cluster-bench.json)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
PY=/usr/bin/python3
PROXYD=${PROXYD:-$REPO/build-release/node/proxyd}
PROXYCTL=${PROXYCTL:-$REPO/build-release/ctl/proxyctl}
BENCH_OUT=${BENCH_OUT:-/tmp/concord-cluster-bench.json}

COUNT=200           # writes per (method, entry) row
TRIALS=10           # failover and transfer trials
ENTRY=leader,follower
ETCD=1
# KEEP_TMP and LAYOUT are read by lib.sh
# shellcheck disable=SC2034
KEEP_TMP=0
# shellcheck disable=SC2034
LAYOUT=unpinned     # lib.sh: no taskset; 3 nodes + 3 etcd + the client share both cores
START_TIMEOUT=30    # seconds for a cluster to elect a leader and answer /ping
PROXYD_ELECTION_MS=300      # raftstore.c raft_set_election_timeout (for the report)
ETCD_ELECTION_MS=1000       # etcd's default --election-timeout

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
    cat <<EOF

Options:
  --quick          20 writes per row, 3 trials (smoke test, ~1 min)
  --count N        writes per row (default $COUNT)
  --trials N       failover and transfer trials (default $TRIALS)
  --entry LIST     leader,follower (default): which node the writes are sent to
  --no-etcd        skip the etcd anchor
  --keep-tmp       keep the temp dir (configs, logs, data dirs, raw records)
EOF
}

die() { echo "cluster: error: $*" >&2; exit 1; }
log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) COUNT=20; TRIALS=3 ;;
        --count) COUNT=${2:?}; shift ;;
        --trials) TRIALS=${2:?}; shift ;;
        --entry) ENTRY=${2:?}; shift ;;
        --no-etcd) ETCD=0; NO_ETCD=1 ;;
        --keep-tmp) KEEP_TMP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done
[[ $COUNT =~ ^[1-9][0-9]*$ ]] && ((COUNT <= 10000)) || die "--count wants 1..10000"
[[ $TRIALS =~ ^[0-9]+$ ]] && ((TRIALS <= 100)) || die "--trials wants 0..100"
[[ $ENTRY =~ ^(leader|follower)(,(leader|follower))?$ ]] || die "--entry is leader, follower or both"
PROXYD=$(realpath -e "$PROXYD" 2>/dev/null || echo "$PROXYD")
PROXYCTL=$(realpath -e "$PROXYCTL" 2>/dev/null || echo "$PROXYCTL")
[[ -x $PROXYD ]] || die "PROXYD=$PROXYD is not executable (meson setup build-release --buildtype=release && ninja -C build-release)"
[[ -x $PROXYCTL ]] || die "PROXYCTL=$PROXYCTL is not executable"
[[ -x $PY ]] || die "$PY is missing"
PATH=$PATH:/usr/sbin:/sbin

# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"

# --- etcd: installed like scripts/install-deps.sh installs a missing package ------------------
declare -A SKIPPED=()
((${NO_ETCD:-0})) && SKIPPED[etcd]="--no-etcd"
if ((ETCD)) && ! { command -v etcd && command -v etcdctl; } >/dev/null; then
    if ((EUID == 0)); then
        log "installing etcd-server etcd-client"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            etcd-server etcd-client >&2
    else
        log "etcd is not installed and we are not root: the etcd anchor is skipped" \
            "(apt-get install -y --no-install-recommends etcd-server etcd-client)"
        SKIPPED[etcd]="etcd-server/etcd-client not installed and not root"
        ETCD=0
    fi
fi

bench_init cluster
[[ $(stat -f -c %T "$TMP") != tmpfs ]] || die "$TMP is on tmpfs; Raft data dirs must be on a disk (set TMPDIR)"
REC=$TMP/records.jsonl
: >"$REC"

wait_http() {       # wait_http pid url timeout_s -> 0 once the url answers 200
    local pid=$1 url=$2 limit=$3 i
    for ((i = 0; i < limit * 10; i++)); do
        alive "$pid" || return 1
        [[ $(curl -s -o /dev/null -m 1 -w '%{http_code}' "$url" || true) == 200 ]] && return 0
        sleep 0.1
    done
    return 1
}

# --- backend --------------------------------------------------------------------------------
read -r BPORT <<<"$(free_ports 1)"
start_server backend "$TMP/backend.log" "$PY" "$HERE/cluster.py" backend --port "$BPORT"
BACKEND_PID=$LAST_PID
wait_http "$BACKEND_PID" "http://127.0.0.1:$BPORT/" 10 || die "backend did not come up"

# --- 3 proxyd nodes -------------------------------------------------------------------------
IDS=(n1 n2 n3)
declare -A WEB=() ADMIN=() RAFT=() NPID=()
read -r -a PORTS <<<"$(free_ports 9)"
for k in 0 1 2; do
    id=${IDS[$k]}
    WEB[$id]=${PORTS[$((3 * k))]}; ADMIN[$id]=${PORTS[$((3 * k + 1))]}; RAFT[$id]=${PORTS[$((3 * k + 2))]}
done
BOOT="\"n1=127.0.0.1:${RAFT[n1]}\", \"n2=127.0.0.1:${RAFT[n2]}\", \"n3=127.0.0.1:${RAFT[n3]}\""
head -c 32 /dev/urandom | base64 >"$TMP/cluster.secret"
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$TMP/admin.token"
chmod 600 "$TMP/cluster.secret" "$TMP/admin.token"
for id in "${IDS[@]}"; do
    mkdir -p "$TMP/$id/data"
    cat >"$TMP/$id/static.yaml" <<EOF
entryPoints:
  web:
    address: "127.0.0.1:${WEB[$id]}"
cluster:
  nodeId: $id
  dataDir: $TMP/$id/data
  raftAddress: 127.0.0.1:${RAFT[$id]}
  secretFile: $TMP/cluster.secret
  bootstrap: [$BOOT]
admin:
  address: 127.0.0.1:${ADMIN[$id]}
  tokenFile: $TMP/admin.token
EOF
done

forget_pid() {      # drop a reaped pid from STARTED, so the exit trap never signals a reused pid
    local p keep=()
    for p in "${STARTED[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    STARTED=("${keep[@]}")
}

start_node() {      # start_node ID: (re)starts a proxyd node from its config and data dir
    local id=$1
    (cd "$TMP/$id" && exec "${NICE[@]}" "$PROXYD" --workers 1 --config static.yaml) >>"$TMP/$id/log" 2>&1 &
    NPID[$id]=$!
    STARTED+=("${NPID[$id]}")
}
for id in "${IDS[@]}"; do start_node "$id"; done
for id in "${IDS[@]}"; do
    wait_http "${NPID[$id]}" "http://127.0.0.1:${ADMIN[$id]}/ping" "$START_TIMEOUT" ||
        { tail -20 "$TMP/$id/log" >&2; die "proxyd $id did not answer /ping"; }
done
NODES="n1=${WEB[n1]}:${ADMIN[n1]},n2=${WEB[n2]}:${ADMIN[n2]},n3=${WEB[n3]}:${ADMIN[n3]}"
CPY=("$PY" "$HERE/cluster.py")
COMMON=(--nodes "$NODES" --token-file "$TMP/admin.token" --backend "$BPORT" --rec "$REC")
log "proxyd cluster up: $NODES (pids ${NPID[*]}); tmp $TMP"

# --- 3 etcd members -------------------------------------------------------------------------
EIDS=(e1 e2 e3)
declare -A ECLI=() EPEER=() EPID=()
EARGS=()
if ((ETCD)); then
    read -r -a PORTS <<<"$(free_ports 6)"
    for k in 0 1 2; do
        id=${EIDS[$k]}; ECLI[$id]=${PORTS[$((2 * k))]}; EPEER[$id]=${PORTS[$((2 * k + 1))]}
    done
    ECLUSTER="e1=http://127.0.0.1:${EPEER[e1]},e2=http://127.0.0.1:${EPEER[e2]},e3=http://127.0.0.1:${EPEER[e3]}"
    start_etcd() {
        local id=$1
        mkdir -p "$TMP/$id"
        "${NICE[@]}" etcd --name "$id" --data-dir "$TMP/$id/data" --logger zap --log-level warn \
            --listen-client-urls "http://127.0.0.1:${ECLI[$id]}" \
            --advertise-client-urls "http://127.0.0.1:${ECLI[$id]}" \
            --listen-peer-urls "http://127.0.0.1:${EPEER[$id]}" \
            --initial-advertise-peer-urls "http://127.0.0.1:${EPEER[$id]}" \
            --initial-cluster "$ECLUSTER" --initial-cluster-token concord-bench \
            --initial-cluster-state new >>"$TMP/$id/log" 2>&1 &
        EPID[$id]=$!
        STARTED+=("${EPID[$id]}")
    }
    for id in "${EIDS[@]}"; do start_etcd "$id"; done
    for id in "${EIDS[@]}"; do
        wait_http "${EPID[$id]}" "http://127.0.0.1:${ECLI[$id]}/health" "$START_TIMEOUT" ||
            { tail -20 "$TMP/$id/log" >&2; die "etcd $id is not healthy"; }
    done
    EARGS=(--etcd "e1=${ECLI[e1]},e2=${ECLI[e2]},e3=${ECLI[e3]}")
    log "etcd cluster up: ${EARGS[1]} (pids ${EPID[*]}), $(etcd --version | head -1)"
fi

# --- 1+2: write latency and propagation -----------------------------------------------------
log "ops: $COUNT rounds x (5 proxyd methods$( ((ETCD)) && echo " + 2 etcd methods")) x entry $ENTRY"
"${CPY[@]}" ops "${COMMON[@]}" "${EARGS[@]}" --count "$COUNT" --entry "$ENTRY" \
    --proxyctl "$PROXYCTL" --etcdctl "$(command -v etcdctl || echo etcdctl)" --tmp "$TMP" --tag ops ||
    die "ops failed"

# --- 3: failover ----------------------------------------------------------------------------
pids_arg() {        # id=PID,... of the given associative array name
    local -n m=$1
    local id out=()
    for id in "${!m[@]}"; do out+=("$id=${m[$id]}"); done
    local IFS=,
    echo "${out[*]}"
}

for ((t = 1; t <= TRIALS; t++)); do
    killed=$("${CPY[@]}" kill-leader "${COMMON[@]}" --system proxyd --pids "$(pids_arg NPID)" \
        --trial "$t" --tag fo) || log "proxyd failover trial $t: no write succeeded within 30 s"
    [[ -n $killed ]] || die "kill-leader did not name the killed node"
    wait "${NPID[$killed]}" 2>/dev/null || true
    forget_pid "${NPID[$killed]}"
    start_node "$killed"
    "${CPY[@]}" caught-up "${COMMON[@]}" --node "$killed" --timeout 60 ||
        { tail -20 "$TMP/$killed/log" >&2; die "restarted $killed did not catch up"; }
    log "proxyd failover trial $t/$TRIALS: killed $killed, restarted (pid ${NPID[$killed]}), caught up"
done

for ((t = 1; t <= TRIALS; t++)); do
    "${CPY[@]}" transfer "${COMMON[@]}" --trial "$t" --tag tr || log "transfer trial $t failed"
done
((TRIALS)) && log "transfer: $TRIALS trials done"

if ((ETCD)); then
    for ((t = 1; t <= TRIALS; t++)); do
        killed=$("${CPY[@]}" kill-leader "${COMMON[@]}" "${EARGS[@]}" --system etcd \
            --pids "$(pids_arg EPID)" --trial "$t" --tag fo) ||
            log "etcd failover trial $t: no put succeeded within 30 s"
        [[ -n $killed ]] || die "kill-leader did not name the killed etcd member"
        wait "${EPID[$killed]}" 2>/dev/null || true
        forget_pid "${EPID[$killed]}"
        start_etcd "$killed"
        wait_http "${EPID[$killed]}" "http://127.0.0.1:${ECLI[$killed]}/health" "$START_TIMEOUT" ||
            { tail -20 "$TMP/$killed/log" >&2; die "restarted etcd $killed is not healthy"; }
        log "etcd failover trial $t/$TRIALS: killed $killed, restarted (pid ${EPID[$killed]}), healthy"
    done
fi

# --- report ---------------------------------------------------------------------------------
skipped_json() {
    local k out=() IFS=,
    for k in "${!SKIPPED[@]}"; do out+=("\"$k\": \"${SKIPPED[$k]}\""); done
    echo "{${out[*]}}"
}
cat >"$TMP/meta.json" <<EOF
{"when": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "host": "$(hostname)", "ncpu": $(nproc),
 "count": $COUNT, "trials": $TRIALS, "entry": "$ENTRY",
 "proxyd": "$PROXYD", "proxyd_version": "$("$PROXYD" --version 2>&1 | head -1)",
 "proxyctl": "$PROXYCTL",
 "etcd_version": "$( ((ETCD)) && etcd --version | head -1)",
 "data_fs": "$(findmnt -n -o FSTYPE -T "$TMP" 2>/dev/null || stat -f -c %T "$TMP")", "proxyd_election_ms": $PROXYD_ELECTION_MS,
 "etcd_election_ms": $ETCD_ELECTION_MS, "skipped": $(skipped_json)}
EOF
"${CPY[@]}" report --rec "$REC" --meta "$TMP/meta.json" --out "$BENCH_OUT"
log "raw numbers: $BENCH_OUT"
