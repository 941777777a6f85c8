# Shared by bench.sh and routers.sh (sourced): CPU layout, the temp dir and exit traps, process
# bookkeeping and /proc readings. Functions use the sourcing script's globals (LAYOUT, log...).

# bench_init NAME: sets NCPU and the pinning (SRV_PIN, WRK_PIN, NICE from LAYOUT), makes TMP,
# arms the exit traps.
bench_init() {
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
    TMP=$(mktemp -d "/tmp/concord-$1.XXXXXX")
    chmod 755 "$TMP"
    STARTED=()      # root PIDs of everything the script started, stopped on exit
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

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

alive() { local s; s=$(proc_state "$1"); [[ -n $s && $s != Z ]]; }

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

start_server() {    # start_server name logfile cmd... ; sets LAST_PID
    local name=$1 logf=$2
    shift 2
    "${SRV_PIN[@]}" "${NICE[@]}" "$@" >>"$logf" 2>&1 &
    LAST_PID=$!
    STARTED+=("$LAST_PID")
    log "started $name pid $LAST_PID"
}

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

tree_rss_kib() {    # VmRSS summed over the given pids
    local sum=0 p v
    for p in "$@"; do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

cpu_snapshot() { grep '^cpu' /proc/stat; }

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
