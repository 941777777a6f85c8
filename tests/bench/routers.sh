#!/usr/bin/env bash
# Concord routers benchmark: requests/s through the full proxy with 10 and with 10,000
# host-indexed routers, and the table compile time proxyd logs for each.
#
# Same method as bench.sh (shared/docs/benchmarking.md): one nginx backend on two ports, one
# proxyd per router count (all started once), split pinning (backend and proxyd on cpu0, wrk
# on cpu1), nice -n -10, order rotated per round, noisy runs redone. The configs come from
# routers.py gen: router i matches Host(`h<i>.example`) (every fourth also PathPrefix(`/api`))
# and has a service of its own on both backend ports. wrk runs routers.lua, which gives each
# request the Host of the next router in a fixed permutation, so a run spreads over all N hosts.
# Not part of CI. See tests/bench/README.md.
#
# Usage: tests/bench/routers.sh [--quick] [--rounds N] [--duration S] [--routers LIST]
#                               [--conns N] [--layout split|unpinned] [--keep-tmp]
# Env:   PROXYD     proxyd binary (default: <repo>/build-release/node/proxyd)
#        BENCH_OUT  raw results as JSON (default: /tmp/concord-routers.json)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
PY=/usr/bin/python3
PROXYD=${PROXYD:-$REPO/build-release/node/proxyd}
BENCH_OUT=${BENCH_OUT:-/tmp/concord-routers.json}

ROUNDS=3
DURATION=8
ROUTERS=10,10000
CONNS=50
LAYOUT=split
KEEP_TMP=0
WARMUP=1            # seconds of unrecorded load per proxyd before round 1
MAX_ATTEMPTS=3      # a noisy run is redone at most twice
NOISE_CORES=0.15    # other processes using more than this share of a core = noisy
NOISE_STEAL=0.10    # hypervisor steal above this share of a cpu = noisy
START_TIMEOUT=60    # seconds for a proxyd to load its config and answer

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
    cat <<EOF

Options:
  --quick            1 round, 3 s per run (smoke test)
  --rounds N         rounds; each round measures every router count once (default $ROUNDS)
  --duration S       seconds per wrk run (default $DURATION)
  --routers LIST     comma list of router counts, 1..1000000 (default $ROUTERS)
  --conns N          wrk keep-alive connections (default $CONNS)
  --layout L         split: server side on cpu0, wrk on cpu1 (default); unpinned: no taskset
  --keep-tmp         keep the temp dir (configs, logs, raw wrk output)
EOF
}

die() { echo "routers: error: $*" >&2; exit 1; }
log() { printf '[routers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) ROUNDS=1; DURATION=3 ;;
        --rounds) ROUNDS=${2:?}; shift ;;
        --duration) DURATION=${2:?}; DURATION=${DURATION%s}; shift ;;
        --routers) ROUTERS=${2:?}; shift ;;
        --conns) CONNS=${2:?}; shift ;;
        --layout) LAYOUT=${2:?}; shift ;;
        --keep-tmp) KEEP_TMP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive integer"
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "--duration wants whole seconds"
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "--conns wants a positive integer"
[[ $LAYOUT == split || $LAYOUT == unpinned ]] || die "--layout is split or unpinned"
IFS=, read -ra COUNTS <<<"$ROUTERS"
((${#COUNTS[@]})) || die "--routers wants at least one count"
for n in "${COUNTS[@]}"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] && ((n <= 1000000)) || die "--routers: bad count '$n'"
done
PROXYD=$(realpath -e "$PROXYD" 2>/dev/null || echo "$PROXYD")   # proxyd runs from its temp dir
[[ -x $PROXYD ]] || die "PROXYD=$PROXYD is not an executable file (build it: meson setup build-release --buildtype=release && ninja -C build-release, or set PROXYD)"

# --- tools -------------------------------------------------------------------------
ensure_tools() {
    local -a missing=()
    command -v nginx >/dev/null || missing+=(nginx)
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
    ((EUID == 0)) || log "warning: not root, nice -n -10 may be refused"
}
PATH=$PATH:/usr/sbin:/sbin
ensure_tools
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"
bench_init routers

http_code() {       # http_code port host path -> status code ("000" when no answer)
    curl -s -o /dev/null -m 2 -w '%{http_code}' -H "Host: $2" "http://127.0.0.1:$1$3" || true
}

wait_code() {       # wait_code pid port host path code timeout_s -> 0 once it answers code
    local pid=$1 port=$2 host=$3 path=$4 want=$5 limit=$6 i
    for ((i = 0; i < limit * 10; i++)); do
        alive "$pid" || return 1
        [[ $(http_code "$port" "$host" "$path") == "$want" ]] && return 0
        sleep 0.1
    done
    return 1
}

# --- /proc readings (as in bench.sh) -----------------------------------------------

# Compare two /proc/stat snapshots: prints "elapsed_ticks_per_cpu busy_ticks max_steal_frac"

# Parse wrk --latency output into "key=value" words (the subset bench.sh's parse_wrk reads
# that this report uses).
parse_wrk() {
    awk '
    function us(v) {
        if (v ~ /us$/) return v + 0
        if (v ~ /ms$/) return (v + 0) * 1000
        if (v ~ /m$/) return (v + 0) * 60000000
        if (v ~ /s$/) return (v + 0) * 1000000
        return v + 0
    }
    function n(v) { return v == "" ? "" : sprintf("%.0f", v) }
    BEGIN { rps = ""; reqs = ""; p50 = ""; p99 = ""; serr = 0; non2xx = 0 }
    $1 == "50%" { p50 = us($2) }
    $1 == "99%" { p99 = us($2) }
    / requests in / { reqs = $1 }
    /^Requests\/sec:/ { rps = $2 }
    /Socket errors:/ { gsub(/,/, ""); serr = $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    END {
        printf "rps=%s reqs=%s p50=%s p99=%s serr=%d non2xx=%d\n", rps, reqs, n(p50), n(p99), serr, non2xx
    }'
}

# --- backend (the one bench.sh uses) -------------------------------------------------
read -r B1 B2 <<<"$(free_ports 2)"
BD=$TMP/backend
mkdir -p "$BD"
cat >"$BD/nginx.conf" <<EOF
user root;
pid $BD/nginx.pid;
error_log $BD/error.log warn;
worker_rlimit_nofile 20000;
worker_processes 1;
events { worker_connections 16000; }
http {
    access_log off;
    client_body_temp_path $BD/tmp_client;
    proxy_temp_path $BD/tmp_proxy;
    fastcgi_temp_path $BD/tmp_fastcgi;
    uwsgi_temp_path $BD/tmp_uwsgi;
    scgi_temp_path $BD/tmp_scgi;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    server {
        listen 127.0.0.1:$B1 backlog=4096;
        listen 127.0.0.1:$B2 backlog=4096;
        location / { return 200 "ok\n"; }
    }
}
EOF
log "tmp dir $TMP; backend ports $B1,$B2; layout $LAYOUT; rounds $ROUNDS x ${DURATION}s; routers ${COUNTS[*]}"
start_server backend "$BD/stdout.log" nginx -p "$BD" -c "$BD/nginx.conf" -e "$BD/error.log" -g 'daemon off;'
BACKEND_PID=$LAST_PID
for port in "$B1" "$B2"; do
    wait_code "$BACKEND_PID" "$port" 127.0.0.1 / 200 10 || { cat "$BD"/*.log >&2; die "backend did not come up on $port"; }
done

# --- one proxyd per router count -------------------------------------------------------
declare -A PPID_OF=() PPORT=() LOAD_MS=() COMPILE_MS=() READY_S=() NROUTERS=()
for n in "${COUNTS[@]}"; do
    [[ -z ${PPORT[$n]:-} ]] || continue       # a count given twice runs once
    D=$TMP/proxyd-$n
    mkdir -p "$D"
    read -r P_WEB P_RAFT P_ADMIN <<<"$(free_ports 3)"
    "$PY" "$HERE/routers.py" gen --routers "$n" --backend "$B1" --backend "$B2" --dir "$D"
    cat >"$D/static.yaml" <<EOF
entryPoints:
  web:
    address: "127.0.0.1:$P_WEB"
# as in bench.sh: the nginx peer's "upstream { keepalive 1024; }"
serversTransport:
  maxIdleConnsPerHost: 1024
providers:
  file:
    filename: $D/dynamic.yaml
EOF
    t0=$(date +%s.%N)
    pushd "$D" >/dev/null
    start_server "proxyd ($n routers)" "$D/stderr.log" "$PROXYD" --workers 1 --config "$D/static.yaml" \
        --data-dir "$D/data" --raft-address "127.0.0.1:$P_RAFT" \
        --admin-address "127.0.0.1:$P_ADMIN" --log-level INFO
    popd >/dev/null
    PID=$LAST_PID
    # ready when the last router of the set answers 200 through the proxy
    read -r lhost lpath <<<"$(tail -n 1 "$D/requests.txt")"
    if ! wait_code "$PID" "$P_WEB" "$lhost" "$lpath" 200 "$START_TIMEOUT"; then
        tail -20 "$D/stderr.log" >&2 || true
        die "proxyd with $n routers did not answer 200 for $lhost$lpath within $START_TIMEOUT s"
    fi
    READY_S[$n]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')
    # every request of the set must route (200); a host outside the set must not (404)
    bad=0
    while read -r h p; do
        c=$(http_code "$P_WEB" "$h" "$p")
        [[ $c == 200 ]] || { log "proxyd $n routers: $h$p answered $c, want 200"; bad=1; }
    done < <(head -n 20 "$D/requests.txt")
    c=$(http_code "$P_WEB" "h$n.example" /)
    [[ $c == 404 ]] || { log "proxyd $n routers: h$n.example answered $c, want 404"; bad=1; }
    ((bad == 0)) || die "proxyd with $n routers does not route as configured"
    line=$(grep -m1 'routing table generation 1:' "$D/stderr.log" || true)
    [[ -n $line ]] || die "proxyd with $n routers logged no 'routing table generation 1:' line"
    log "proxyd $n routers: ${line#* INFO }"
    NROUTERS[$n]=$(sed -n 's/.*generation 1: \([0-9]*\) router(s).*/\1/p' <<<"$line")
    [[ ${NROUTERS[$n]} == "$n" ]] || die "proxyd compiled ${NROUTERS[$n]:-?} routers, want $n"
    LOAD_MS[$n]=$(sed -n 's/.*config loaded in \([0-9.]*\) ms.*/\1/p' <<<"$line")
    COMPILE_MS[$n]=$(sed -n 's/.*table compiled in \([0-9.]*\) ms.*/\1/p' <<<"$line")
    PPID_OF[$n]=$PID; PPORT[$n]=$P_WEB
done
mapfile -t COUNTS < <(printf '%s\n' "${!PPORT[@]}" | sort -n)

# --- one measured wrk run ----------------------------------------------------------
RUNS=$TMP/runs.jsonl
REDOS=$TMP/redos.jsonl
: >"$RUNS"; : >"$REDOS"
TIMEFORMAT='%3U %3S'
CLK_TCK=$(getconf CLK_TCK)

# run_wrk n seconds outfile -> sets W_RC, W_CPU (wrk user+sys seconds)
run_wrk() {
    local n=$1 secs=$2 out=$3 tf=$TMP/time.out
    W_RC=0
    { time timeout -k 5 $((secs + 30)) "${WRK_PIN[@]}" "${NICE[@]}" wrk -t1 -c"$CONNS" \
        -d"${secs}s" --latency -s "$HERE/routers.lua" "http://127.0.0.1:${PPORT[$n]}" \
        -- "$TMP/proxyd-$n/requests.txt" >"$out" 2>&1 || W_RC=$?; } 2>"$tf"
    W_CPU=$(tail -n 1 "$tf" | awk '{print $1 + $2}')
}

# measure round n -> appends one JSON record to $RUNS (the redone ones to $REDOS)
measure() {
    local round=$1 n=$2 attempt out b0 b1 p0 p1 s0 s1 elapsed busy steal ours others
    local reason noisy wrk_bound rec best i rss
    local -a bpids ppids recs=() scores=() summary=()
    for ((attempt = 1; attempt <= MAX_ATTEMPTS; attempt++)); do
        out=$TMP/wrk-r$round-$n-a$attempt.txt
        mapfile -t bpids < <(tree_pids "$BACKEND_PID")
        mapfile -t ppids < <(tree_pids "${PPID_OF[$n]}")
        b0=$(tree_ticks "${bpids[@]}"); p0=$(tree_ticks "${ppids[@]}"); s0=$(cpu_snapshot)
        run_wrk "$n" "$DURATION" "$out"
        s1=$(cpu_snapshot); b1=$(tree_ticks "${bpids[@]}"); p1=$(tree_ticks "${ppids[@]}")
        rss=$(tree_rss_kib "${ppids[@]}")
        read -r elapsed busy steal <<<"$(cpu_delta "$s0" "$s1")"
        ours=$(awk -v b=$((b1 - b0)) -v p=$((p1 - p0)) -v w="$W_CPU" 'BEGIN {printf "%d", b + p + w * 100}')
        others=$(awk -v busy="$busy" -v ours="$ours" -v el="$elapsed" \
            'BEGIN {o = (busy - ours) / (el > 0 ? el : 1); printf "%.3f", (o < 0 ? 0 : o)}')
        local rps="" reqs="" p50="" p99="" serr=0 non2xx=0
        eval "$(parse_wrk <"$out")"
        noisy=false; reason=""
        if awk -v o="$others" -v lim="$NOISE_CORES" 'BEGIN {exit !(o > lim)}'; then
            noisy=true; reason="other processes used $others of a core"
        fi
        if awk -v s="$steal" -v lim="$NOISE_STEAL" 'BEGIN {exit !(s > lim)}'; then
            noisy=true; reason="${reason:+$reason; }steal $steal of a cpu"
        fi
        if [[ -z $rps || $W_RC != 0 ]]; then
            reason="${reason:+$reason; }wrk failed (exit $W_RC)"
            alive "${PPID_OF[$n]}" || reason="$reason; proxyd is gone"
        fi
        wrk_bound=$(awk -v w="$W_CPU" -v d="$DURATION" 'BEGIN {print (w / d > 0.9 ? "true" : "false")}')
        rec=$(printf '{"round":%d,"routers":%d,"attempt":%d,"noisy":%s,"reason":"%s","connections":%d,"duration_s":%s,"wrk_exit":%d,"requests":%s,"rps":%s,"p50_us":%s,"p99_us":%s,"socket_errors":%s,"non_2xx":%s,"proxy_cpu_ticks":%d,"backend_cpu_ticks":%d,"wrk_cpu_s":%s,"clk_tck":%d,"proxy_rss_kib":%d,"others_cores":%s,"max_steal":%s,"wrk_bound":%s}' \
            "$round" "$n" "$attempt" "$noisy" "$reason" "$CONNS" "$DURATION" "$W_RC" \
            "${reqs:-null}" "${rps:-null}" "${p50:-null}" "${p99:-null}" "${serr:-0}" "${non2xx:-0}" \
            $((p1 - p0)) $((b1 - b0)) "${W_CPU:-0}" "$CLK_TCK" "$rss" "$others" "$steal" "$wrk_bound")
        recs+=("$rec")
        if [[ -z $rps || $W_RC != 0 ]]; then scores+=(1000000); else
            scores+=("$(awk -v o="$others" -v s="$steal" 'BEGIN {printf "%d", (o + s) * 1000}')"); fi
        summary+=("$(printf '%6d routers r%d  %10s req/s  p50 %sus  p99 %sus  non-2xx %s  others %s' \
            "$n" "$round" "${rps:-FAIL}" "${p50:-?}" "${p99:-?}" "${non2xx:-?}" "$others")")
        if [[ -n $reason && $attempt -lt $MAX_ATTEMPTS ]] && alive "${PPID_OF[$n]}"; then
            log "redo $n routers round $round (attempt $attempt/$MAX_ATTEMPTS): $reason"
            continue
        fi
        best=$((${#recs[@]} - 1))
        if [[ -n $reason ]]; then
            for ((i = 0; i < ${#recs[@]}; i++)); do ((scores[i] < scores[best])) && best=$i; done
            log "keeping attempt $((best + 1)) of $n routers round $round, the least noisy; last: $reason"
        fi
        for ((i = 0; i < ${#recs[@]}; i++)); do
            if ((i == best)); then echo "${recs[i]}" >>"$RUNS"; else echo "${recs[i]}" >>"$REDOS"; fi
        done
        log "${summary[best]}"
        return 0
    done
}

# --- run ---------------------------------------------------------------------------
if ((WARMUP > 0)); then
    for n in "${COUNTS[@]}"; do run_wrk "$n" "$WARMUP" "$TMP/warmup-$n.txt"; done
    log "warm-up done"
fi
k=${#COUNTS[@]}
for ((r = 0; r < ROUNDS; r++)); do
    order=()
    for ((i = 0; i < k; i++)); do order+=("${COUNTS[(r + i) % k]}"); done
    log "round $((r + 1))/$ROUNDS order: ${order[*]}"
    for n in "${order[@]}"; do
        alive "${PPID_OF[$n]}" || die "proxyd with $n routers has exited; see its log in $TMP (--keep-tmp)"
        measure $((r + 1)) "$n"
    done
done

# --- report ------------------------------------------------------------------------
META=$TMP/meta.json
startup=$(for n in "${COUNTS[@]}"; do
    printf '"%s": {"load_ms": %s, "compile_ms": %s, "ready_s": %s},' \
        "$n" "${LOAD_MS[$n]:-null}" "${COMPILE_MS[$n]:-null}" "${READY_S[$n]}"; done)
rev=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)
printf '{"rounds": %d, "duration_s": %d, "conns": %d, "layout": "%s", "warmup_s": %d, "routers": [%s], "proxyd": "%s", "repo_rev": "%s", "wrk": "%s", "ncpu": %d, "startup": {%s}}\n' \
    "$ROUNDS" "$DURATION" "$CONNS" "$LAYOUT" "$WARMUP" "$(IFS=,; echo "${COUNTS[*]}")" "$PROXYD" \
    "$rev" "$(wrk -v 2>&1 | head -n 1 | tr -d '"\\')" "$NCPU" "${startup%,}" >"$META"
"$PY" "$HERE/routers.py" report --meta "$META" --runs "$RUNS" --redos "$REDOS" --out "$BENCH_OUT"
log "raw results: $BENCH_OUT"
