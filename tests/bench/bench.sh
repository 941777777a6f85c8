#!/usr/bin/env bash
# Concord benchmark harness: proxyd against nginx and HAProxy on one shared backend.
#
# Follows shared/docs/benchmarking.md: one backend, all targets measured in the same
# run with the order rotated per round, split pinning (server side on cpu0, wrk on
# cpu1), nice -n -10, noisy runs redone, CPU per request and peak RSS from /proc.
# Not part of CI. See tests/bench/README.md for how to run it and read the output.
#
# Usage: tests/bench/bench.sh [--quick] [--rounds N] [--duration S] [--cases LIST]
#                             [--targets LIST] [--workers N] [--layout split|unpinned]
#                             [--wrk-threads N] [--keep-tmp]
# Env:   PROXYD     proxyd binary (default: <repo>/build-release/node/proxyd)
#        BENCH_OUT  raw results as JSON (default: /tmp/concord-bench.json)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
PY=/usr/bin/python3
PROXYD=${PROXYD:-$REPO/build-release/node/proxyd}
BENCH_OUT=${BENCH_OUT:-/tmp/concord-bench.json}

ALL_CASES=(keepalive close 64k c1000)
ALL_TARGETS=(direct nginx haproxy proxyd)
ROUNDS=5
DURATION=10
CASES=$(IFS=,; echo "${ALL_CASES[*]}")
TARGETS=$(IFS=,; echo "${ALL_TARGETS[*]}")
WORKERS=1
WRK_THREADS=1
LAYOUT=""
KEEP_TMP=0
WARMUP=1            # seconds of unrecorded load per target before round 1
MAX_ATTEMPTS=3      # a noisy run is redone at most twice
NOISE_CORES=0.15    # other processes using more than this share of a core = noisy
NOISE_STEAL=0.10    # hypervisor steal above this share of a cpu = noisy

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
    cat <<EOF

Options:
  --quick            1 round, 3 s per run (smoke test)
  --rounds N         rounds; each round measures every target once per case (default $ROUNDS)
  --duration S       seconds per wrk run (default $DURATION)
  --cases LIST       comma list from: ${ALL_CASES[*]} (default: all)
  --targets LIST     comma list from: ${ALL_TARGETS[*]} (default: all)
  --workers N        proxy workers (nginx worker_processes, HAProxy nbthread, proxyd --workers);
                     N>1 implies --layout unpinned (default $WORKERS)
  --layout L         split: server side on cpu0, wrk on cpu1 (default for 1 worker);
                     unpinned: no taskset at all (default for N>1 workers)
  --wrk-threads N    wrk -t (default $WRK_THREADS, as in the method; raise it for unpinned multi-worker)
  --keep-tmp         keep the temp dir (configs, logs, raw wrk output)
EOF
}

die() { echo "bench: error: $*" >&2; exit 1; }
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) ROUNDS=1; DURATION=3 ;;
        --rounds) ROUNDS=${2:?}; shift ;;
        --duration) DURATION=${2:?}; DURATION=${DURATION%s}; shift ;;
        --cases) CASES=${2:?}; shift ;;
        --targets) TARGETS=${2:?}; shift ;;
        --workers) WORKERS=${2:?}; shift ;;
        --layout) LAYOUT=${2:?}; shift ;;
        --wrk-threads) WRK_THREADS=${2:?}; shift ;;
        --keep-tmp) KEEP_TMP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive integer"
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "--duration wants whole seconds"
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || die "--workers wants a positive integer"
[[ $WRK_THREADS =~ ^[1-9][0-9]*$ ]] || die "--wrk-threads wants a positive integer"
[[ -n $LAYOUT ]] || { if ((WORKERS > 1)); then LAYOUT=unpinned; else LAYOUT=split; fi; }
[[ $LAYOUT == split || $LAYOUT == unpinned ]] || die "--layout is split or unpinned"
IFS=, read -ra CASE_LIST <<<"$CASES"
IFS=, read -ra TARGET_LIST <<<"$TARGETS"
for c in "${CASE_LIST[@]}"; do [[ " ${ALL_CASES[*]} " == *" $c "* ]] || die "unknown case: $c"; done
for t in "${TARGET_LIST[@]}"; do [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || die "unknown target: $t"; done

# --- cases -------------------------------------------------------------------------
declare -A CASE_CONNS=([keepalive]=50 [close]=50 [64k]=50 [c1000]=1000)
declare -A CASE_PATH=([keepalive]=/ [close]=/ [64k]=/64k [c1000]=/)
declare -A CASE_HDR=([keepalive]="" [close]="Connection: close" [64k]="" [c1000]="")

# --- tools -------------------------------------------------------------------------
ensure_tools() {
    local -a missing=()
    command -v nginx >/dev/null || missing+=(nginx)
    command -v haproxy >/dev/null || missing+=(haproxy)
    command -v wrk >/dev/null || missing+=(wrk)
    command -v curl >/dev/null || missing+=(curl)
    command -v taskset >/dev/null || missing+=(util-linux)
    command -v pgrep >/dev/null || missing+=(procps)
    [[ -x $PY ]] || missing+=(python3)
    if ((${#missing[@]})); then
        log "installing missing packages: ${missing[*]}"
        ((EUID == 0)) || die "need root to apt-get install ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >&2
    fi
    ((EUID == 0)) || log "warning: not root, nice -n -10 and clear_refs may be refused"
}
PATH=$PATH:/usr/sbin:/sbin
ensure_tools
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= 4096)) || log "warning: ulimit -n is $(ulimit -n); c=1000 needs ~2100"

NCPU=$(nproc)
if [[ $LAYOUT == split ]]; then
    if ((NCPU < 2)); then
        log "warning: one cpu only, wrk shares cpu0 with the server side"
        SRV_PIN=(taskset -c 0); WRK_PIN=(taskset -c 0)
    else
        SRV_PIN=(taskset -c 0); WRK_PIN=(taskset -c 1)
    fi
else
    SRV_PIN=(); WRK_PIN=()
fi
NICE=(nice -n -10)

# --- process bookkeeping -----------------------------------------------------------
TMP=$(mktemp -d /tmp/concord-bench.XXXXXX)
chmod 755 "$TMP"
STARTED=()          # root PIDs of everything this script started, stopped on exit

tree_pids() {       # pid and all its descendants
    local p=$1 c
    [[ -d /proc/$p ]] || return 0
    echo "$p"
    for c in $(pgrep -P "$p" 2>/dev/null); do tree_pids "$c"; done
}

proc_state() {      # one-letter state of a pid, empty if gone
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) }
    echo "${s%% *}"
}

stop_pid() {
    local p=$1 i st kids
    kids=$(tree_pids "$p" | tail -n +2)
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do     # 15 s: proxyd drains for up to 10 s on TERM
        st=$(proc_state "$p")
        [[ -z $st || $st == Z ]] && break
        sleep 0.1
    done
    st=$(proc_state "$p")
    if [[ -n $st && $st != Z ]]; then
        log "pid $p did not stop on TERM, sending KILL"
        kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
    for i in $kids; do
        [[ -n $(proc_state "$i") ]] && kill -KILL "$i" 2>/dev/null || true
    done
}

cleanup() {
    local rc=$? p
    trap - EXIT
    for p in "${STARTED[@]}"; do stop_pid "$p"; done
    if ((KEEP_TMP)); then log "kept $TMP"; else rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_ports() {      # N distinct free loopback ports (held open together while picked)
    "$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

alive() { local s; s=$(proc_state "$1"); [[ -n $s && $s != Z ]]; }

wait_http() {       # wait_http pid port path timeout_s -> 0 once it answers 200
    local pid=$1 port=$2 path=$3 limit=$4 i code
    for ((i = 0; i < limit * 10; i++)); do
        alive "$pid" || return 1
        code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$port$path" || true)
        [[ $code == 200 ]] && return 0
        sleep 0.1
    done
    return 1
}

# --- /proc readings ----------------------------------------------------------------
tree_ticks() {      # utime+stime (clock ticks) summed over the given pids
    local sum=0 p s
    local -a f
    for p in "$@"; do
        s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        s=${s##*) }
        read -ra f <<<"$s"
        sum=$((sum + f[11] + f[12]))
    done
    echo "$sum"
}

tree_hwm_kib() {    # VmHWM summed over the given pids
    local sum=0 p v
    for p in "$@"; do
        v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

clear_refs() {      # reset the peak-RSS high-water mark
    local p
    for p in "$@"; do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done
}

cpu_snapshot() { grep '^cpu' /proc/stat; }

# "pid ticks comm" for every process, to name the other processes behind a noisy run.
proc_snapshot() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{
        line = $0; rest = line; sub(/.*\) /, "", rest); comm = line
        sub(/^[0-9]+ \(/, "", comm); sub(/\) [^)]*$/, "", comm); gsub(/[ "\\]/, "_", comm)
        split(rest, f, " "); print $1, f[12] + f[13], comm }'
}

# top_others before after elapsed_ticks others pids... -> "cc1 0.31, meson 0.12, rest short-lived"
top_others() {
    local before=$1 after=$2 elapsed=$3 total=$4
    shift 4
    awk -v before="$before" -v after="$after" -v el="$elapsed" -v total="$total" -v ours="$*" '
    BEGIN {
        n = split(ours, o, " "); for (i = 1; i <= n; i++) mine[o[i]] = 1
        n = split(before, l, "\n"); for (i = 1; i <= n; i++) { split(l[i], f, " "); b[f[1]] = f[2] }
        n = split(after, l, "\n")
        for (i = 1; i <= n; i++) {
            split(l[i], f, " ")
            if (f[1] in mine) continue
            d = (f[1] in b) ? f[2] - b[f[1]] : f[2]
            if (el > 0 && d / el > 0.03) use[f[3]] += d / el
        }
        out = ""; named = 0
        for (k = 0; k < 3; k++) {
            best = ""; bv = 0
            for (c in use) if (use[c] > bv) { bv = use[c]; best = c }
            if (best == "") break
            out = out (out == "" ? "" : ", ") sprintf("%s %.2f", best, bv); named += bv; delete use[best]
        }
        if (total - named > 0.05) out = out (out == "" ? "" : ", ") "rest short-lived processes"
        print out
    }'
}

# Compare two /proc/stat snapshots: prints "elapsed_ticks_per_cpu busy_ticks max_steal_frac"
# busy = user+nice+system+irq+softirq summed over all cpus (guest time is inside user).
cpu_delta() {
    awk -v before="$1" -v after="$2" '
    function load(txt, arr,   n, i, lines, f) {
        n = split(txt, lines, "\n")
        for (i = 1; i <= n; i++) {
            if (split(lines[i], f, " ") < 9) continue
            arr[f[1], "total"] = f[2] + f[3] + f[4] + f[5] + f[6] + f[7] + f[8] + f[9]
            arr[f[1], "busy"] = f[2] + f[3] + f[4] + f[7] + f[8]
            arr[f[1], "steal"] = f[9]
            if (f[1] != "cpu") cpus[f[1]] = 1
        }
    }
    BEGIN {
        load(before, b); load(after, a)
        ncpu = 0; maxsteal = 0
        for (c in cpus) {
            ncpu++
            t = a[c, "total"] - b[c, "total"]
            s = a[c, "steal"] - b[c, "steal"]
            if (t > 0 && s / t > maxsteal) maxsteal = s / t
        }
        total = a["cpu", "total"] - b["cpu", "total"]
        busy = a["cpu", "busy"] - b["cpu", "busy"]
        printf "%.1f %d %.4f\n", (ncpu ? total / ncpu : total), busy, maxsteal
    }'
}

# Parse wrk --latency output into "key=value" words.
parse_wrk() {
    awk '
    function us(v) {
        if (v ~ /us$/) return v + 0
        if (v ~ /ms$/) return (v + 0) * 1000
        if (v ~ /m$/) return (v + 0) * 60000000
        if (v ~ /h$/) return (v + 0) * 3600000000
        if (v ~ /s$/) return (v + 0) * 1000000
        return v + 0
    }
    function n(v) { return v == "" ? "" : sprintf("%.0f", v) }
    function bytes(v) {
        if (v ~ /TB$/) return (v + 0) * 1099511627776
        if (v ~ /GB$/) return (v + 0) * 1073741824
        if (v ~ /MB$/) return (v + 0) * 1048576
        if (v ~ /KB$/) return (v + 0) * 1024
        return v + 0
    }
    BEGIN { rps = ""; bps = ""; reqs = ""; p50 = ""; p75 = ""; p90 = ""; p99 = ""; serr = 0; non2xx = 0 }
    $1 == "50%" { p50 = us($2) }
    $1 == "75%" { p75 = us($2) }
    $1 == "90%" { p90 = us($2) }
    $1 == "99%" { p99 = us($2) }
    / requests in / { reqs = $1; sub(/,$/, "", $4); secs = us($4) / 1000000; rbytes = bytes($5) }
    /^Requests\/sec:/ { rps = $2 }
    /^Transfer\/sec:/ { bps = bytes($2) }
    /Socket errors:/ { gsub(/,/, ""); serr = $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    END {
        printf "rps=%s bps=%s reqs=%s secs=%s p50=%s p75=%s p90=%s p99=%s serr=%d non2xx=%d\n",
            rps, n(bps), reqs, secs, n(p50), n(p75), n(p90), n(p99), serr, non2xx
    }'
}

# --- configs and processes ---------------------------------------------------------
read -r B1 B2 P_NGINX P_HAPROXY P_PROXYD P_RAFT P_ADMIN <<<"$(free_ports 7)"
log "tmp dir $TMP; ports: backend $B1,$B2 nginx $P_NGINX haproxy $P_HAPROXY proxyd $P_PROXYD"
log "layout $LAYOUT, workers $WORKERS, wrk -t$WRK_THREADS, rounds $ROUNDS x ${DURATION}s, cases ${CASE_LIST[*]}"

nginx_common() {    # $1 = dir
    cat <<EOF
user root;
pid $1/nginx.pid;
error_log $1/error.log warn;
worker_rlimit_nofile 20000;
EOF
}
nginx_http_common() {
    cat <<EOF
    access_log off;
    client_body_temp_path $1/tmp_client;
    proxy_temp_path $1/tmp_proxy;
    fastcgi_temp_path $1/tmp_fastcgi;
    uwsgi_temp_path $1/tmp_uwsgi;
    scgi_temp_path $1/tmp_scgi;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
EOF
}

# Backend: one nginx worker on two ports, "ok\n" on / and a 64 KiB file on /64k.
BD=$TMP/backend
mkdir -p "$BD/www"
head -c 65536 /dev/urandom >"$BD/www/64k"
chmod -R a+rX "$BD"
{
    nginx_common "$BD"
    cat <<EOF
worker_processes 1;
events { worker_connections 16000; }
http {
$(nginx_http_common "$BD")
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$B1 backlog=4096;
        listen 127.0.0.1:$B2 backlog=4096;
        location / { return 200 "ok\n"; }
        location = /64k { root $BD/www; }
    }
}
EOF
} >"$BD/nginx.conf"

ND=$TMP/nginx
mkdir -p "$ND"
{
    nginx_common "$ND"
    cat <<EOF
worker_processes $WORKERS;
events { worker_connections 16000; }
http {
$(nginx_http_common "$ND")
    upstream backend {
        server 127.0.0.1:$B1;
        server 127.0.0.1:$B2;
        keepalive 1024;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$P_NGINX backlog=4096;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffer_size 16k;
            proxy_buffers 8 16k;
            proxy_busy_buffers_size 32k;
        }
    }
}
EOF
} >"$ND/nginx.conf"

HD=$TMP/haproxy
mkdir -p "$HD"
cat >"$HD/haproxy.cfg" <<EOF
global
    nbthread $WORKERS
    maxconn 8000
    tune.bufsize 16384
    pidfile $HD/haproxy.pid

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s

frontend fe
    bind 127.0.0.1:$P_HAPROXY
    default_backend be

backend be
    balance roundrobin
    server s1 127.0.0.1:$B1
    server s2 127.0.0.1:$B2
EOF

PD=$TMP/proxyd
mkdir -p "$PD"
cat >"$PD/static.yaml" <<EOF
entryPoints:
  web:
    address: "127.0.0.1:$P_PROXYD"
providers:
  file:
    filename: $PD/dynamic.yaml
EOF
cat >"$PD/dynamic.yaml" <<EOF
http:
  routers:
    r:
      rule: "PathPrefix(\`/\`)"
      service: s
  services:
    s:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:$B1"
          - url: "http://127.0.0.1:$B2"
EOF

declare -A TPID=() TPORT=() SKIPPED=()
BACKEND_PID=""

start_server() {    # start_server name logfile cmd... ; sets LAST_PID
    local name=$1 logf=$2
    shift 2
    "${SRV_PIN[@]}" "${NICE[@]}" "$@" >"$logf" 2>&1 &
    LAST_PID=$!
    STARTED+=("$LAST_PID")
    log "started $name pid $LAST_PID"
}

start_server backend "$BD/stdout.log" nginx -p "$BD" -c "$BD/nginx.conf" -e "$BD/error.log" -g 'daemon off;'
BACKEND_PID=$LAST_PID
for port in "$B1" "$B2"; do
    wait_http "$BACKEND_PID" "$port" / 10 || { cat "$BD"/*.log >&2; die "backend did not come up on $port"; }
done
[[ $(curl -s "http://127.0.0.1:$B1/64k" | wc -c) == 65536 ]] || die "backend /64k is not 64 KiB"

# Which targets run, and which are skipped (with the reason).
RUN_TARGETS=()
for t in "${TARGET_LIST[@]}"; do
    case $t in
        direct)
            TPORT[direct]=$B1; TPID[direct]=""
            RUN_TARGETS+=(direct) ;;
        nginx)
            start_server nginx "$ND/stdout.log" nginx -p "$ND" -c "$ND/nginx.conf" -e "$ND/error.log" -g 'daemon off;'
            if wait_http "$LAST_PID" "$P_NGINX" / 10; then
                TPID[nginx]=$LAST_PID; TPORT[nginx]=$P_NGINX; RUN_TARGETS+=(nginx)
            else
                SKIPPED[nginx]="nginx proxy did not answer on $P_NGINX"; tail -5 "$ND/error.log" >&2 || true
            fi ;;
        haproxy)
            hv=$(haproxy -v 2>/dev/null | awk 'NR==1 {print $3}')
            [[ $hv == 2.6* ]] || log "warning: HAProxy is $hv, the reference peer is 2.6"
            start_server haproxy "$HD/stdout.log" haproxy -db -f "$HD/haproxy.cfg"
            if wait_http "$LAST_PID" "$P_HAPROXY" / 10; then
                TPID[haproxy]=$LAST_PID; TPORT[haproxy]=$P_HAPROXY; RUN_TARGETS+=(haproxy)
            else
                SKIPPED[haproxy]="haproxy did not answer on $P_HAPROXY"; tail -5 "$HD/stdout.log" >&2 || true
            fi ;;
        proxyd)
            if [[ ! -x $PROXYD ]]; then
                SKIPPED[proxyd]="PROXYD=$PROXYD is not an executable file (build it: meson setup build-release --buildtype=release && ninja -C build-release, or set PROXYD)"
                log "SKIP proxyd: ${SKIPPED[proxyd]}"
                continue
            fi
            # proxyd's node options default to fixed ports and ./concord-data: move them into
            # free ports and the temp dir when this build has them
            pargs=(--workers "$WORKERS" --config "$PD/static.yaml")
            phelp=$(cd "$PD" && timeout 5 "$PROXYD" --help 2>&1 || true)
            [[ $phelp == *--data-dir* ]] && pargs+=(--data-dir "$PD/data")
            [[ $phelp == *--raft-address* ]] && pargs+=(--raft-address "127.0.0.1:$P_RAFT")
            [[ $phelp == *--admin-address* ]] && pargs+=(--admin-address "127.0.0.1:$P_ADMIN")
            [[ $phelp == *--log-level* ]] && pargs+=(--log-level INFO)
            log "proxyd args: ${pargs[*]}"
            pushd "$PD" >/dev/null
            start_server proxyd "$PD/stderr.log" "$PROXYD" "${pargs[@]}"
            popd >/dev/null
            if wait_http "$LAST_PID" "$P_PROXYD" / 15; then
                TPID[proxyd]=$LAST_PID; TPORT[proxyd]=$P_PROXYD; RUN_TARGETS+=(proxyd)
                grep -m1 'listener' "$PD/stderr.log" >&2 || true
            else
                if alive "$LAST_PID"; then
                    SKIPPED[proxyd]="proxyd ($PROXYD) did not answer 200 on 127.0.0.1:$P_PROXYD within 15 s"
                else
                    SKIPPED[proxyd]="proxyd ($PROXYD) exited at startup"
                fi
                log "SKIP proxyd: ${SKIPPED[proxyd]}; last lines of its stderr:"
                tail -20 "$PD/stderr.log" >&2 || true
            fi ;;
    esac
done
((${#RUN_TARGETS[@]})) || die "no target could be started"
log "targets: ${RUN_TARGETS[*]}"

# --- one measured wrk run ----------------------------------------------------------
RUNS=$TMP/runs.jsonl
REDOS=$TMP/redos.jsonl
: >"$RUNS"; : >"$REDOS"
TIMEFORMAT='%3U %3S'

# run_wrk target case seconds outfile -> sets W_RC, W_CPU (wrk user+sys seconds)
run_wrk() {
    local target=$1 cs=$2 secs=$3 out=$4 tf=$TMP/time.out
    local -a hdr=()
    [[ -n ${CASE_HDR[$cs]} ]] && hdr=(-H "${CASE_HDR[$cs]}")
    W_RC=0
    { time timeout -k 5 $((secs + 30)) "${WRK_PIN[@]}" "${NICE[@]}" wrk -t"$WRK_THREADS" -c"${CASE_CONNS[$cs]}" \
        -d"${secs}s" --latency "${hdr[@]}" "http://127.0.0.1:${TPORT[$target]}${CASE_PATH[$cs]}" \
        >"$out" 2>&1 || W_RC=$?; } 2>"$tf"
    W_CPU=$(tail -n 1 "$tf" | awk '{print $1 + $2}')
}


# measure round case target -> appends one JSON record to $RUNS
measure() {
    local round=$1 cs=$2 target=$3 attempt out
    local -a bpids ppids
    local b0 b1 p0 p1 s0 s1 ps0 ps1 t0 t1 wrk_bound
    local elapsed busy steal ours others noisy reason wrkline
    local -a recs=() scores=() summary=()
    for ((attempt = 1; attempt <= MAX_ATTEMPTS; attempt++)); do
        out=$TMP/wrk-r$round-$cs-$target-a$attempt.txt
        mapfile -t bpids < <(tree_pids "$BACKEND_PID")
        ppids=()
        [[ -n ${TPID[$target]} ]] && mapfile -t ppids < <(tree_pids "${TPID[$target]}")
        clear_refs "${bpids[@]}" "${ppids[@]}"
        b0=$(tree_ticks "${bpids[@]}"); p0=$(tree_ticks "${ppids[@]}")
        ps0=$(proc_snapshot); s0=$(cpu_snapshot); t0=$(date +%s.%N)
        run_wrk "$target" "$cs" "$DURATION" "$out"
        t1=$(date +%s.%N); s1=$(cpu_snapshot); ps1=$(proc_snapshot)
        b1=$(tree_ticks "${bpids[@]}"); p1=$(tree_ticks "${ppids[@]}")
        local bhwm phwm
        bhwm=$(tree_hwm_kib "${bpids[@]}"); phwm=$(tree_hwm_kib "${ppids[@]}")
        read -r elapsed busy steal <<<"$(cpu_delta "$s0" "$s1")"
        # ticks used by everything that is not ours (backend, proxy, wrk), in cores
        ours=$(awk -v b=$((b1 - b0)) -v p=$((p1 - p0)) -v w="$W_CPU" 'BEGIN {printf "%d", b + p + w * 100}')
        others=$(awk -v busy="$busy" -v ours="$ours" -v el="$elapsed" \
            'BEGIN {o = (busy - ours) / (el > 0 ? el : 1); printf "%.3f", (o < 0 ? 0 : o)}')
        wrkline=$(parse_wrk <"$out")
        local rps="" reqs=""
        eval "local ${wrkline}"
        noisy=false; reason=""
        if awk -v o="$others" -v lim="$NOISE_CORES" 'BEGIN {exit !(o > lim)}'; then
            noisy=true
            reason="other processes used $others of a core ($(top_others "$ps0" "$ps1" "$elapsed" "$others" "${bpids[@]}" "${ppids[@]}" $$))"
        fi
        if awk -v s="$steal" -v lim="$NOISE_STEAL" 'BEGIN {exit !(s > lim)}'; then
            noisy=true; reason="${reason:+$reason; }steal $steal of a cpu"
        fi
        if [[ -z $rps || $W_RC != 0 ]]; then
            reason="${reason:+$reason; }wrk failed (exit $W_RC)"
            [[ $target == direct ]] || alive "${TPID[$target]}" || reason="$reason; $target is gone"
        fi
        reason=${reason//[^A-Za-z0-9 .,;:\/()_=+-]/_}     # keep the JSON string plain
        # the load generator saturated its core: req/s is wrk's limit, not the server's
        wrk_bound=$(awk -v w="$W_CPU" -v d="$DURATION" 'BEGIN {print (w / d > 0.9 ? "true" : "false")}')
        local rec
        rec=$(printf '{"round":%d,"case":"%s","target":"%s","attempt":%d,"noisy":%s,"reason":"%s","connections":%d,"duration_s":%s,"wall_s":%.3f,"wrk_exit":%d,"requests":%s,"rps":%s,"bytes_per_s":%s,"p50_us":%s,"p75_us":%s,"p90_us":%s,"p99_us":%s,"socket_errors":%s,"non_2xx":%s,"proxy_cpu_ticks":%d,"backend_cpu_ticks":%d,"wrk_cpu_s":%s,"clk_tck":%d,"proxy_peak_rss_kib":%d,"backend_peak_rss_kib":%d,"proxy_pids":%d,"others_cores":%s,"max_steal":%s,"wrk_bound":%s,"wrk_threads":%d}' \
            "$round" "$cs" "$target" "$attempt" "$noisy" "$reason" "${CASE_CONNS[$cs]}" "$DURATION" \
            "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$W_RC" \
            "${reqs:-null}" "${rps:-null}" "${bps:-null}" "${p50:-null}" "${p75:-null}" "${p90:-null}" "${p99:-null}" \
            "${serr:-0}" "${non2xx:-0}" $((p1 - p0)) $((b1 - b0)) "${W_CPU:-0}" "$CLK_TCK" \
            "$phwm" "$bhwm" "${#ppids[@]}" "$others" "$steal" "$wrk_bound" "$WRK_THREADS")
        recs+=("$rec")
        # score: a failed run loses to any noisy one; among noisy ones the quietest wins
        if [[ -z $rps || $W_RC != 0 ]]; then scores+=(1000000); else
            scores+=("$(awk -v o="$others" -v s="$steal" 'BEGIN {printf "%d", (o + s) * 1000}')"); fi
        summary[attempt]=$(printf '%-9s %-8s r%d  %10s req/s  p50 %sus  p99 %sus  others %s' \
            "$cs" "$target" "$round" "${rps:-FAIL}" "${p50:-?}" "${p99:-?}" "$others")
        if [[ -n $reason && $attempt -lt $MAX_ATTEMPTS ]] && { [[ $target == direct ]] || alive "${TPID[$target]}"; }; then
            log "redo $cs/$target round $round (attempt $attempt/$MAX_ATTEMPTS): $reason"
            continue
        fi
        local best=$((${#recs[@]} - 1)) i
        if [[ -n $reason ]]; then
            for ((i = 0; i < ${#recs[@]}; i++)); do ((scores[i] < scores[best])) && best=$i; done
            log "keeping attempt $((best + 1)) of $cs/$target round $round, the least noisy; last: $reason"
        fi
        for ((i = 0; i < ${#recs[@]}; i++)); do
            if ((i == best)); then echo "${recs[i]}" >>"$RUNS"; else echo "${recs[i]}" >>"$REDOS"; fi
        done
        log "${summary[best + 1]}"
        return 0
    done
}
CLK_TCK=$(getconf CLK_TCK)

# --- run ---------------------------------------------------------------------------
if ((WARMUP > 0)); then
    for t in "${RUN_TARGETS[@]}"; do
        run_wrk "$t" keepalive "$WARMUP" "$TMP/warmup-$t.txt"
    done
    log "warm-up done"
fi

n=${#RUN_TARGETS[@]}
for ((r = 0; r < ROUNDS; r++)); do
    order=()
    for ((i = 0; i < n; i++)); do order+=("${RUN_TARGETS[(r + i) % n]}"); done
    log "round $((r + 1))/$ROUNDS order: ${order[*]}"
    for cs in "${CASE_LIST[@]}"; do
        for t in "${order[@]}"; do
            if [[ $t != direct ]] && ! alive "${TPID[$t]}"; then
                [[ -n ${SKIPPED[$t]:-} ]] || { SKIPPED[$t]="$t exited during the benchmark"; log "$t has exited; no further runs"; }
                continue
            fi
            measure $((r + 1)) "$cs" "$t"
        done
    done
done

# --- report ------------------------------------------------------------------------
META=$TMP/meta.json
{
    skipped_json=$(for t in "${!SKIPPED[@]}"; do printf '%s\n%s\n' "$t" "${SKIPPED[$t]}"; done)
    SKIPPED_LINES=$skipped_json "$PY" - <<EOF
import json, os, platform, subprocess
def out(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except Exception as e:
        return "unknown (%s)" % e
lines = os.environ.get("SKIPPED_LINES", "").split("\n")
skipped = {lines[i]: lines[i + 1] for i in range(0, len(lines) - 1, 2) if lines[i]}
cpu = "unknown"
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except Exception:
    pass
rev = out(["git", "-C", "$REPO", "describe", "--always", "--dirty"])
print(json.dumps({
    "rounds": $ROUNDS, "duration_s": $DURATION, "workers": $WORKERS, "layout": "$LAYOUT",
    "wrk_threads": $WRK_THREADS, "warmup_s": $WARMUP,
    "cases": "$CASES".split(","), "targets": "${RUN_TARGETS[*]}".split(),
    "skipped": skipped, "proxyd": "$PROXYD", "repo_rev": rev,
    "nginx": out(["nginx", "-v"]), "haproxy": out(["haproxy", "-v"]), "wrk": out(["wrk", "-v"]),
    "kernel": platform.release(), "cpu": cpu, "ncpu": $NCPU,
    "noise_limits": {"others_cores": $NOISE_CORES, "steal": $NOISE_STEAL, "max_attempts": $MAX_ATTEMPTS},
    "ports": {"backend": [$B1, $B2], "nginx": $P_NGINX, "haproxy": $P_HAPROXY, "proxyd": $P_PROXYD,
              "proxyd_raft": $P_RAFT, "proxyd_admin": $P_ADMIN},
}))
EOF
} >"$META"

"$PY" "$HERE/report.py" --meta "$META" --runs "$RUNS" --redos "$REDOS" --out "$BENCH_OUT"
log "raw results: $BENCH_OUT"
