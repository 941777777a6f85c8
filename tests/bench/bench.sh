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
PROXYD=$(realpath -e "$PROXYD" 2>/dev/null || echo "$PROXYD")   # proxyd runs from its temp dir
BENCH_OUT=${BENCH_OUT:-/tmp/concord-bench.json}

ALL_CASES=(keepalive close 64k c1000 idle1000)
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
# HAProxy's timeout http-keep-alive (60 s) and nginx's keepalive_timeout (75 s) close the held
# idle connections of idle1000 in longer runs; such runs are marked "idle failed"
if [[ ",$CASES," == *,idle1000,* ]] && ((DURATION > 50)); then
    log "warning: --duration $DURATION: the peers close idle connections after 60 s, idle1000 wants <= 50 s"
fi
for t in "${TARGET_LIST[@]}"; do [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || die "unknown target: $t"; done

# --- cases -------------------------------------------------------------------------
declare -A CASE_CONNS=([keepalive]=50 [close]=50 [64k]=50 [c1000]=1000 [idle1000]=50)
declare -A CASE_PATH=([keepalive]=/ [close]=/ [64k]=/64k [c1000]=/ [idle1000]=/)
declare -A CASE_HDR=([keepalive]="" [close]="Connection: close" [64k]="" [c1000]="" [idle1000]="")
# idle1000: IDLE_CONNS keep-alive connections opened by idle_conns.py (one GET each, then
# idle) are held open for the whole wrk run at c=50 on separate connections
declare -A CASE_IDLE=([keepalive]=0 [close]=0 [64k]=0 [c1000]=0 [idle1000]=1000)
IDLE_SETUP_TIMEOUT=60   # seconds for idle_conns.py to open and exercise all connections

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
(($(ulimit -n) >= 4096)) || log "warning: ulimit -n is $(ulimit -n); c1000 and idle1000 need ~2100"

# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"
bench_init bench

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
# BI1 BI2: a fresh copy of the backend, the "direct" server of the idle1000 case
read -r B1 B2 P_NGINX P_HAPROXY P_PROXYD P_RAFT P_ADMIN BI1 BI2 <<<"$(free_ports 9)"
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
backend_conf() {    # backend_conf dir port1 port2 -> writes dir/nginx.conf
    local BD=$1 B1=$2 B2=$3
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
}
BD=$TMP/backend
backend_conf "$BD" "$B1" "$B2"
BID=$TMP/backend-idle
backend_conf "$BID" "$BI1" "$BI2"

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
# Matches the nginx peer's "upstream { keepalive 1024; }" (Traefik's default is 200 idle per
# server, which makes c=1000 reconnect to the backend constantly).
serversTransport:
  maxIdleConnsPerHost: 1024
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

start_server backend "$BD/stdout.log" nginx -p "$BD" -c "$BD/nginx.conf" -e "$BD/error.log" -g 'daemon off;'
BACKEND_PID=$LAST_PID
for port in "$B1" "$B2"; do
    wait_http "$BACKEND_PID" "$port" / 10 || { cat "$BD"/*.log >&2; die "backend did not come up on $port"; }
done
[[ $(curl -s "http://127.0.0.1:$B1/64k" | wc -c) == 65536 ]] || die "backend /64k is not 64 KiB"

# start_target name -> 0 and TPID/TPORT set once it answers, else 1 with SKIPPED[name] set.
# Used at start, and again for each idle1000 run, which wants a fresh process (see measure).
PARGS=()
start_target() {
    local t=$1 hv phelp
    case $t in
        direct)
            TPORT[direct]=$B1; TPID[direct]=""; return 0 ;;
        nginx)
            start_server nginx "$ND/stdout.log" nginx -p "$ND" -c "$ND/nginx.conf" -e "$ND/error.log" -g 'daemon off;'
            if wait_http "$LAST_PID" "$P_NGINX" / 10; then
                TPID[nginx]=$LAST_PID; TPORT[nginx]=$P_NGINX; return 0
            fi
            SKIPPED[nginx]="nginx proxy did not answer on $P_NGINX"; tail -5 "$ND/error.log" >&2 || true ;;
        haproxy)
            hv=$(haproxy -v 2>/dev/null | awk 'NR==1 {print $3}')
            [[ $hv == 2.6* ]] || log "warning: HAProxy is $hv, the reference peer is 2.6"
            start_server haproxy "$HD/stdout.log" haproxy -db -f "$HD/haproxy.cfg"
            if wait_http "$LAST_PID" "$P_HAPROXY" / 10; then
                TPID[haproxy]=$LAST_PID; TPORT[haproxy]=$P_HAPROXY; return 0
            fi
            SKIPPED[haproxy]="haproxy did not answer on $P_HAPROXY"; tail -5 "$HD/stdout.log" >&2 || true ;;
        proxyd)
            if [[ ! -x $PROXYD ]]; then
                SKIPPED[proxyd]="PROXYD=$PROXYD is not an executable file (build it: meson setup build-release --buildtype=release && ninja -C build-release, or set PROXYD)"
                log "SKIP proxyd: ${SKIPPED[proxyd]}"
                return 1
            fi
            if ((${#PARGS[@]} == 0)); then
                # proxyd's node options default to fixed ports and ./concord-data: move them
                # into free ports and the temp dir when this build has them
                PARGS=(--workers "$WORKERS" --config "$PD/static.yaml")
                phelp=$(cd "$PD" && timeout 5 "$PROXYD" --help 2>&1 || true)
                [[ $phelp == *--data-dir* ]] && PARGS+=(--data-dir "$PD/data")
                [[ $phelp == *--raft-address* ]] && PARGS+=(--raft-address "127.0.0.1:$P_RAFT")
                [[ $phelp == *--admin-address* ]] && PARGS+=(--admin-address "127.0.0.1:$P_ADMIN")
                [[ $phelp == *--log-level* ]] && PARGS+=(--log-level INFO)
                log "proxyd args: ${PARGS[*]}"
            fi
            pushd "$PD" >/dev/null
            start_server proxyd "$PD/stderr.log" "$PROXYD" "${PARGS[@]}"
            popd >/dev/null
            if wait_http "$LAST_PID" "$P_PROXYD" / 15; then
                TPID[proxyd]=$LAST_PID; TPORT[proxyd]=$P_PROXYD
                { grep 'listener' "$PD/stderr.log" || true; } | tail -n 1 >&2
                return 0
            fi
            if alive "$LAST_PID"; then
                SKIPPED[proxyd]="proxyd ($PROXYD) did not answer 200 on 127.0.0.1:$P_PROXYD within 15 s"
            else
                SKIPPED[proxyd]="proxyd ($PROXYD) exited at startup"
            fi
            log "SKIP proxyd: ${SKIPPED[proxyd]}; last lines of its stderr:"
            tail -20 "$PD/stderr.log" >&2 || true ;;
    esac
    return 1
}

forget_pid() {      # drop a stopped pid from STARTED, so that exit never signals a reused pid
    local p
    local -a keep=()
    for p in "${STARTED[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    STARTED=("${keep[@]}")
}

# Which targets run, and which are skipped (with the reason).
RUN_TARGETS=()
for t in "${TARGET_LIST[@]}"; do
    if start_target "$t"; then RUN_TARGETS+=("$t"); fi
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

json_num() {        # json_num key line -> the number after "key": in one of our JSON lines
    sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" <<<"$2"
}

# idle_start target case outfile -> starts idle_conns.py and waits until its connections are
# open; sets IDLE_PID, IDLE_OPEN, IDLE_SETUP_S and IDLE_ERR (empty when all of them are open)
idle_start() {
    local target=$1 n=${CASE_IDLE[$2]} out=$3 i line=""
    IDLE_OPEN=0; IDLE_SETUP_S=null; IDLE_ERR=""
    # a client like wrk: on wrk's cpu, bounded by its own timeouts and --max-hold (the wrk run
    # is bounded by DURATION + 35 s), stopped by PID in idle_stop or on exit
    "${WRK_PIN[@]}" "$PY" "$HERE/idle_conns.py" --port "${TPORT[$target]}" --conns "$n" \
        --path "${CASE_PATH[$2]}" --setup-timeout "$IDLE_SETUP_TIMEOUT" \
        --max-hold $((DURATION + 60)) >"$out" 2>"$out.err" &
    IDLE_PID=$!
    STARTED+=("$IDLE_PID")
    for ((i = 0; i < (IDLE_SETUP_TIMEOUT + 10) * 10; i++)); do
        line=$(grep -m1 '"ready"' "$out" 2>/dev/null || true)
        [[ -n $line ]] && break
        alive "$IDLE_PID" || { line=$(grep -m1 '"ready"' "$out" 2>/dev/null || true); break; }
        sleep 0.1
    done
    if [[ -z $line ]]; then
        IDLE_ERR="idle_conns.py gave no ready line ($(tail -c 200 "$out.err" | tr '\n' ' '))"
        return 0
    fi
    IDLE_OPEN=$(json_num open "$line"); IDLE_SETUP_S=$(json_num setup_s "$line")
    if [[ $line != *'"ready": true'* ]]; then
        IDLE_ERR="idle_conns.py opened $IDLE_OPEN of $n: $(sed -n 's/.*"errors": \[\(.*\)\].*/\1/p' <<<"$line" | head -c 200)"
    fi
}

# idle_stop outfile -> stops idle_conns.py by PID; sets IDLE_CLOSED (connections the server
# closed while they were held) and IDLE_HELD_S
idle_stop() {
    local out=$1 line
    stop_pid "$IDLE_PID"
    forget_pid "$IDLE_PID"
    line=$(grep -m1 '"done"' "$out" 2>/dev/null || true)
    IDLE_CLOSED=$(json_num closed_by_server "$line"); IDLE_HELD_S=$(json_num held_s "$line")
    IDLE_CLOSED=${IDLE_CLOSED:-null}; IDLE_HELD_S=${IDLE_HELD_S:-null}
    IDLE_PID=""
}
IDLE_PID=""

# idle1000 measures RSS growth, which means something only in a process that has not held
# that many connections before: the allocators, and HAProxy's pools, keep freed memory and
# hand it out again, so a second run on the same process shows ~0 bytes per connection.
# Each idle1000 attempt therefore gets a fresh server: the proxy is restarted (same config,
# pinning and nice), and "direct" uses a fresh copy of the backend on its own two ports
# (restarting the shared backend would break the proxies' upstream keep-alive pools); then
# the same warm-up as at start, WARMUP seconds of keepalive load at c=50.
IDLE_BACKEND_PID=""
stop_backend_copy() {
    [[ -n $IDLE_BACKEND_PID ]] || return 0
    stop_pid "$IDLE_BACKEND_PID"
    forget_pid "$IDLE_BACKEND_PID"
    IDLE_BACKEND_PID=""
    TPORT[direct]=$B1
}
fresh_server() {    # fresh_server target -> 0 once a fresh, warmed-up server answers
    local t=$1 port
    if [[ $t == direct ]]; then
        stop_backend_copy
        start_server backend-copy "$BID/stdout.log" nginx -p "$BID" -c "$BID/nginx.conf" \
            -e "$BID/error.log" -g 'daemon off;'
        IDLE_BACKEND_PID=$LAST_PID
        for port in "$BI1" "$BI2"; do
            wait_http "$IDLE_BACKEND_PID" "$port" / 10 || { tail -5 "$BID/error.log" >&2 || true; return 1; }
        done
        TPORT[direct]=$BI1
    else
        log "restarting $t for a fresh process"
        stop_pid "${TPID[$t]}"
        forget_pid "${TPID[$t]}"
        TPID[$t]=""
        start_target "$t" || return 1
    fi
    if ((WARMUP > 0)); then run_wrk "$t" keepalive "$WARMUP" "$TMP/warmup-fresh-$t.txt"; fi
    return 0
}

# measure round case target -> appends one JSON record to $RUNS
measure() {
    local round=$1 cs=$2 target=$3 attempt out
    local -a bpids ppids
    local b0 b1 p0 p1 s0 s1 ps0 ps1 t0 t1 wrk_bound
    local elapsed busy steal ours others noisy reason wrkline
    local -a recs=() scores=() summary=() rpids
    local nidle=${CASE_IDLE[$cs]} idle_out idle_pid i0 i1 rss0 rss_idle rss1 idle_err srv_backend
    for ((attempt = 1; attempt <= MAX_ATTEMPTS; attempt++)); do
        out=$TMP/wrk-r$round-$cs-$target-a$attempt.txt
        srv_backend=$BACKEND_PID
        if ((nidle > 0)); then
            if ! fresh_server "$target"; then
                if [[ $target == direct ]]; then
                    log "$cs/direct round $round: the fresh backend copy did not come up; no run"
                    stop_backend_copy
                else
                    log "$cs/$target round $round: $target did not restart (${SKIPPED[$target]:-}); no run"
                fi
                return 0
            fi
            if [[ $target == direct ]]; then srv_backend=$IDLE_BACKEND_PID; fi
        fi
        mapfile -t bpids < <(tree_pids "$srv_backend")
        ppids=()
        [[ -n ${TPID[$target]} ]] && mapfile -t ppids < <(tree_pids "${TPID[$target]}")
        clear_refs "${bpids[@]}" "${ppids[@]}"
        # idle1000: RSS of the server side (the backend for direct) before and after opening
        # the idle connections, which stay open through the wrk run and the readings after it
        rss0=null; rss_idle=null; rss1=null; idle_err=""; idle_pid=""; i0=0; i1=0
        IDLE_OPEN=0; IDLE_SETUP_S=null; IDLE_CLOSED=null; IDLE_HELD_S=null
        if ((nidle > 0)); then
            if [[ $target == direct ]]; then rpids=("${bpids[@]}"); else rpids=("${ppids[@]}"); fi
            idle_out=$TMP/idle-r$round-$cs-$target-a$attempt.jsonl
            rss0=$(tree_rss_kib "${rpids[@]}")
            idle_start "$target" "$cs" "$idle_out"
            rss_idle=$(tree_rss_kib "${rpids[@]}")
            idle_err=$IDLE_ERR; idle_pid=$IDLE_PID
            i0=$(tree_ticks "$idle_pid")
        fi
        b0=$(tree_ticks "${bpids[@]}"); p0=$(tree_ticks "${ppids[@]}")
        ps0=$(proc_snapshot); s0=$(cpu_snapshot); t0=$(date +%s.%N)
        if [[ -z $idle_err ]]; then
            run_wrk "$target" "$cs" "$DURATION" "$out"
        else
            echo "not run: $idle_err" >"$out"; W_RC=125; W_CPU=0
        fi
        t1=$(date +%s.%N); s1=$(cpu_snapshot); ps1=$(proc_snapshot)
        b1=$(tree_ticks "${bpids[@]}"); p1=$(tree_ticks "${ppids[@]}")
        if ((nidle > 0)); then
            i1=$(tree_ticks "$idle_pid")
            rss1=$(tree_rss_kib "${rpids[@]}")     # idle connections still open
            if [[ -z $idle_err ]] && ! alive "$idle_pid"; then
                idle_err="idle_conns.py exited before the end of the run"
            fi
        fi
        local bhwm phwm
        bhwm=$(tree_hwm_kib "${bpids[@]}"); phwm=$(tree_hwm_kib "${ppids[@]}")
        if ((nidle > 0)); then
            idle_stop "$idle_out"
            if [[ -n $idle_err ]]; then
                :
            elif [[ $IDLE_CLOSED == null ]]; then
                idle_err="idle_conns.py gave no final report"
            elif ((IDLE_CLOSED > 0)); then
                idle_err="the server closed $IDLE_CLOSED of the $nidle idle connections while they were held"
            fi
        fi
        read -r elapsed busy steal <<<"$(cpu_delta "$s0" "$s1")"
        # ticks used by everything that is not ours (backend, proxy, wrk, idle helper), in cores
        ours=$(awk -v b=$((b1 - b0)) -v p=$((p1 - p0)) -v i=$((i1 - i0)) -v w="$W_CPU" \
            'BEGIN {printf "%d", b + p + i + w * 100}')
        others=$(awk -v busy="$busy" -v ours="$ours" -v el="$elapsed" \
            'BEGIN {o = (busy - ours) / (el > 0 ? el : 1); printf "%.3f", (o < 0 ? 0 : o)}')
        wrkline=$(parse_wrk <"$out")
        local rps="" reqs=""
        eval "local ${wrkline}"
        noisy=false; reason=""
        if awk -v o="$others" -v lim="$NOISE_CORES" 'BEGIN {exit !(o > lim)}'; then
            noisy=true
            reason="other processes used $others of a core ($(top_others "$ps0" "$ps1" "$elapsed" "$others" "${bpids[@]}" "${ppids[@]}" $idle_pid $$))"
        fi
        if awk -v s="$steal" -v lim="$NOISE_STEAL" 'BEGIN {exit !(s > lim)}'; then
            noisy=true; reason="${reason:+$reason; }steal $steal of a cpu"
        fi
        if [[ -z $rps || $W_RC != 0 ]]; then
            reason="${reason:+$reason; }wrk failed (exit $W_RC)"
            [[ $target == direct ]] || alive "${TPID[$target]}" || reason="$reason; $target is gone"
        fi
        [[ -n $idle_err ]] && reason="${reason:+$reason; }$idle_err"
        reason=${reason//[^A-Za-z0-9 .,;:\/()_=+-]/_}     # keep the JSON string plain
        # the load generator saturated its core: req/s is wrk's limit, not the server's
        wrk_bound=$(awk -v w="$W_CPU" -v d="$DURATION" 'BEGIN {print (w / d > 0.9 ? "true" : "false")}')
        local rec
        rec=$(printf '{"round":%d,"case":"%s","target":"%s","attempt":%d,"noisy":%s,"reason":"%s","connections":%d,"duration_s":%s,"wall_s":%.3f,"wrk_exit":%d,"requests":%s,"rps":%s,"bytes_per_s":%s,"p50_us":%s,"p75_us":%s,"p90_us":%s,"p99_us":%s,"socket_errors":%s,"non_2xx":%s,"proxy_cpu_ticks":%d,"backend_cpu_ticks":%d,"wrk_cpu_s":%s,"clk_tck":%d,"proxy_peak_rss_kib":%d,"backend_peak_rss_kib":%d,"proxy_pids":%d,"others_cores":%s,"max_steal":%s,"wrk_bound":%s,"wrk_threads":%d,"idle_conns":%d,"idle_open":%d,"idle_setup_s":%s,"idle_closed":%s,"idle_held_s":%s,"idle_ok":%s,"rss_before_kib":%s,"rss_idle_kib":%s,"rss_after_kib":%s}' \
            "$round" "$cs" "$target" "$attempt" "$noisy" "$reason" "${CASE_CONNS[$cs]}" "$DURATION" \
            "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$W_RC" \
            "${reqs:-null}" "${rps:-null}" "${bps:-null}" "${p50:-null}" "${p75:-null}" "${p90:-null}" "${p99:-null}" \
            "${serr:-0}" "${non2xx:-0}" $((p1 - p0)) $((b1 - b0)) "${W_CPU:-0}" "$CLK_TCK" \
            "$phwm" "$bhwm" "${#ppids[@]}" "$others" "$steal" "$wrk_bound" "$WRK_THREADS" \
            "$nidle" "${IDLE_OPEN:-0}" "${IDLE_SETUP_S:-null}" "$IDLE_CLOSED" "$IDLE_HELD_S" \
            "$( ((nidle > 0)) && [[ -z $idle_err ]] && echo true || echo false)" "$rss0" "$rss_idle" "$rss1")
        recs+=("$rec")
        # score: a failed run loses to any noisy one; among noisy ones the quietest wins
        if [[ -z $rps || $W_RC != 0 || -n $idle_err ]]; then scores+=(1000000); else
            scores+=("$(awk -v o="$others" -v s="$steal" 'BEGIN {printf "%d", (o + s) * 1000}')"); fi
        summary[attempt]=$(printf '%-9s %-8s r%d  %10s req/s  p50 %sus  p99 %sus  others %s' \
            "$cs" "$target" "$round" "${rps:-FAIL}" "${p50:-?}" "${p99:-?}" "$others")
        if ((nidle > 0)); then summary[attempt]+=$(awk -v a="$rss0" -v b="$rss1" -v n="$nidle" \
            'BEGIN {printf "  idle RSS %+d KiB = %.0f B/conn", b - a, (b - a) * 1024 / n}'); fi
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
        stop_backend_copy
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
