#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test. CI runs exactly this.
#
# Usage: scripts/test.sh [--no-deps] [--no-fuzz]
#   --no-deps  do not run scripts/install-deps.sh (a machine you know is set up)
#   --no-fuzz  skip the clang fuzz build and its 60-second runs
#
# Steps, in order; a failing step does not stop the ones after it:
#   deps              scripts/install-deps.sh
#   build-release     meson setup --buildtype=release -Dtests=true, compile
#   build-asan        -Db_sanitize=address,undefined -Db_lundef=false, debugoptimized
#   layering          tests/layering.sh (DESIGN.md's include rules)
#   unit-release      meson test --suite unit in build-release
#   unit-asan         the same in build-asan, with leak detection
#   integration-release  tests/integration/run.py against build-release/node/proxyd
#   integration-asan     the same against the ASan proxyd, with a 64 MiB big-body case
#   build-fuzz        CC=clang -Dfuzz=true
#   fuzz              meson test --suite fuzz in build-fuzz (fuzz_h1 60 s, fuzz_rule 30 s)
# A step whose inputs do not exist yet prints `SKIP <step>: <why>`. Each step's output is shown
# with a "  | " margin and kept in build-logs/<step>.log. Counting: a build or layering check is
# one test; meson's summary (Ok, Expected Fail / Fail, Unexpected Pass, Timeout) and the
# integration runner's `N passed, N failed` give the others. The last line is the totals,
# `N passed, N failed`; the exit code is 0 only when nothing failed.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOGDIR="$ROOT/build-logs"
PY=/usr/bin/python3
ASAN_ENV=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
MESON_TEST_ARGS=(--print-errorlogs --num-processes 2)
# Per-step wall-clock limits (seconds), so a hung step fails with its log instead of using up
# CI's 90 minutes. Every step that runs tests also has its own per-test timeouts.
LIMIT_DEPS=900
LIMIT_BUILD=1200
LIMIT_TESTS=1200

TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()
CURRENT_PID=""
STEP_DESC=""

# --- counting (pure functions of a log file; tested on captured output) ---

# count_meson LOG: prints "PASSED FAILED" from meson test's summary, or nothing when the log
# has no summary. Expected Fail counts as passed; Fail, Unexpected Pass and Timeout as failed.
count_meson() {
    awk '
        /^Ok:[ \t]+[0-9]+/              { ok = $2; seen = 1 }
        /^Expected Fail:[ \t]+[0-9]+/   { xf = $3; seen = 1 }
        /^Fail:[ \t]+[0-9]+/            { f = $2; seen = 1 }
        /^Unexpected Pass:[ \t]+[0-9]+/ { up = $3; seen = 1 }
        /^Timeout:[ \t]+[0-9]+/         { to = $2; seen = 1 }
        END { if (seen) printf "%d %d\n", ok + xf, f + up + to }
    ' "$1"
}

# count_runner LOG: prints "PASSED FAILED" from the last `N passed, N failed` line (an optional
# "word:" before it and ", N skipped" after it are allowed), or nothing when there is none.
count_runner() {
    sed -n -E 's/^[[:space:]]*([A-Za-z0-9_-]+:[[:space:]]*)?([0-9]+) passed, ([0-9]+) failed(, [0-9]+ skipped)?[[:space:]]*$/\2 \3/p' "$1" |
        tail -n 1
}

# --- bookkeeping ---

record() { # record STEP PASSED FAILED SECONDS [NOTE]
    local step=$1 p=$2 f=$3 secs=$4 note=${5:-} verdict=ok line
    [ "$f" -gt 0 ] && verdict=FAIL
    TOTAL_PASSED=$((TOTAL_PASSED + p))
    TOTAL_FAILED=$((TOTAL_FAILED + f))
    line=$(printf '%-20s %-4s passed=%-4d failed=%-4d %4ss%s' "$step" "$verdict" "$p" "$f" \
        "$secs" "${note:+  ($note)}")
    SUMMARY+=("$line")
    echo "== step $line"
}

skip() { # skip STEP WHY
    echo "SKIP $1: $2"
    SUMMARY+=("$(printf '%-20s SKIP %s' "$1" "$2")")
}

# run_step STEP LIMIT CMD...: runs CMD from the repository root with output in
# build-logs/STEP.log and on the terminal behind a margin; returns CMD's exit code (124 on
# timeout). Sets STEP_SECS. STEP_DESC, when set, is shown instead of CMD. The command runs in its own process group (timeout's), so
# Ctrl-C or a CI stop ends all of it.
run_step() {
    local step=$1 limit=$2 log start rc tail_pid
    shift 2
    log="$LOGDIR/$step.log"
    echo "== step $step: ${STEP_DESC:-$*}"
    STEP_DESC=""
    start=$(date +%s)
    : >"$log"
    (cd "$ROOT" && exec timeout -k 30 "$limit" "$@" </dev/null >"$log" 2>&1) &
    CURRENT_PID=$!
    tail -s 0.2 --pid="$CURRENT_PID" -n +1 -f "$log" | sed -u 's/^/  | /' &
    tail_pid=$!
    wait "$CURRENT_PID"
    rc=$?
    wait "$tail_pid" 2>/dev/null
    CURRENT_PID=""
    STEP_SECS=$(($(date +%s) - start))
    [ "$rc" -eq 124 ] && echo "  | (timed out after ${limit}s)" | tee -a "$log"
    return "$rc"
}

on_signal() {
    if [ -n "$CURRENT_PID" ]; then
        # timeout(1) leads its own process group: end the whole step.
        kill -TERM -- "-$CURRENT_PID" 2>/dev/null || kill -TERM "$CURRENT_PID" 2>/dev/null
    fi
    echo "test.sh: interrupted" >&2
    exit 130
}

# --- steps ---

# setup_build DIR ARGS...: configure DIR (reconfigure when it exists, wipe and redo if that
# fails), then compile. Environment such as CC comes from the caller.
setup_build() {
    local dir=$1
    shift
    if [ -f "$dir/meson-private/coredata.dat" ]; then
        meson setup --reconfigure "$dir" "$@" || { rm -rf "$dir" && meson setup "$dir" "$@"; }
    else
        rm -rf "$dir" && meson setup "$dir" "$@"
    fi || return 1
    meson compile -C "$dir"
}

# step_build STEP DIR ARGS...: sets BUILT_<dir> to 1 on success.
step_build() {
    local step=$1 dir=$2 rc
    shift 2
    STEP_DESC="${CC:+CC=$CC }meson setup $dir $* && meson compile -C $dir"
    run_step "$step" "$LIMIT_BUILD" bash -c "$(declare -f setup_build); setup_build \"\$@\"" \
        setup_build "$dir" "$@"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        record "$step" 1 0 "$STEP_SECS"
        return 0
    fi
    record "$step" 0 1 "$STEP_SECS" "exit $rc; see build-logs/$step.log"
    return 1
}

# has_tests DIR SUITE: 0 when the built DIR defines at least one test in SUITE.
has_tests() {
    local out
    out=$(cd "$ROOT" && meson test -C "$1" --no-rebuild --list --suite "$2" 2>/dev/null) ||
        return 1
    grep -v -e '^ninja:' -e '^No suitable tests' -e '^[[:space:]]*$' <<<"$out" | grep -q .
}

# step_meson_test STEP DIR SUITE [ENV...]
step_meson_test() {
    local step=$1 dir=$2 suite=$3 counts rc p f
    shift 3
    if ! has_tests "$dir" "$suite"; then
        skip "$step" "no tests in suite '$suite' in $dir yet"
        return
    fi
    run_step "$step" "$LIMIT_TESTS" env "$@" meson test -C "$dir" --suite "$suite" \
        "${MESON_TEST_ARGS[@]}"
    rc=$?
    counts=$(count_meson "$LOGDIR/$step.log")
    if [ -z "$counts" ]; then
        record "$step" 0 1 "$STEP_SECS" "exit $rc, no meson summary"
        return
    fi
    read -r p f <<<"$counts"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        record "$step" "$p" 1 "$STEP_SECS" "exit $rc"
    else
        record "$step" "$p" "$f" "$STEP_SECS"
    fi
}

# step_integration STEP BUILD_DIR [RUNNER_ARGS...] -- [ENV...]
step_integration() {
    local step=$1 dir=$2 counts rc p f
    shift 2
    local args=() envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        args+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    envs=("$@")
    if [ ! -f "$ROOT/tests/integration/run.py" ]; then
        skip "$step" "tests/integration/run.py does not exist yet"
        return
    fi
    if [ ! -x "$ROOT/$dir/node/proxyd" ]; then
        skip "$step" "$dir/node/proxyd was not built"
        return
    fi
    run_step "$step" "$LIMIT_TESTS" env "${envs[@]}" "$PY" tests/integration/run.py \
        --proxyd "$ROOT/$dir/node/proxyd" "${args[@]}"
    rc=$?
    counts=$(count_runner "$LOGDIR/$step.log")
    if [ -z "$counts" ]; then
        if [ "$rc" -eq 0 ]; then
            record "$step" 0 0 "$STEP_SECS" "no 'N passed, N failed' line"
        else
            record "$step" 0 1 "$STEP_SECS" "exit $rc, no 'N passed, N failed' line"
        fi
        return
    fi
    read -r p f <<<"$counts"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        record "$step" "$p" 1 "$STEP_SECS" "exit $rc"
    else
        record "$step" "$p" "$f" "$STEP_SECS"
    fi
}

main() {
    local do_deps=1 do_fuzz=1 rc release_ok=0 asan_ok=0 fuzz_ok=0 line
    for arg in "$@"; do
        case "$arg" in
        --no-deps) do_deps=0 ;;
        --no-fuzz) do_fuzz=0 ;;
        -h | --help)
            sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            return 0
            ;;
        *)
            echo "test.sh: unknown argument $arg" >&2
            return 2
            ;;
        esac
    done
    trap on_signal INT TERM
    mkdir -p "$LOGDIR"
    cd "$ROOT" || return 2

    if [ "$do_deps" = 1 ]; then
        run_step deps "$LIMIT_DEPS" bash scripts/install-deps.sh
        rc=$?
        if [ "$rc" -eq 0 ]; then
            record deps 1 0 "$STEP_SECS"
        else
            record deps 0 1 "$STEP_SECS" "exit $rc"
        fi
    else
        skip deps "--no-deps"
    fi

    step_build build-release build-release --buildtype=release -Dtests=true -Dfuzz=false &&
        release_ok=1
    step_build build-asan build-asan --buildtype=debugoptimized -Dtests=true -Dfuzz=false \
        -Db_sanitize=address,undefined -Db_lundef=false && asan_ok=1

    if [ -f tests/layering.sh ]; then
        run_step layering 300 bash tests/layering.sh
        rc=$?
        if [ "$rc" -eq 0 ]; then
            record layering 1 0 "$STEP_SECS"
        else
            record layering 0 1 "$STEP_SECS" "include rules broken"
        fi
    else
        skip layering "tests/layering.sh does not exist"
    fi

    if [ "$release_ok" = 1 ]; then
        step_meson_test unit-release build-release unit
    else
        skip unit-release "build-release failed"
    fi
    if [ "$asan_ok" = 1 ]; then
        step_meson_test unit-asan build-asan unit "${ASAN_ENV[@]}"
    else
        skip unit-asan "build-asan failed"
    fi

    step_integration integration-release build-release
    step_integration integration-asan build-asan --big-body-bytes 67108864 -- "${ASAN_ENV[@]}"

    if [ "$do_fuzz" = 0 ]; then
        skip build-fuzz "--no-fuzz"
        skip fuzz "--no-fuzz"
    elif ! grep -qs "test(" tests/fuzz/meson.build; then
        skip build-fuzz "tests/fuzz/meson.build defines no targets yet"
        skip fuzz "no fuzz targets yet"
    else
        # An old build-fuzz made with another compiler cannot be switched by reconfiguring.
        if [ -d build-fuzz ] && ! grep -qs '^C compiler for the host machine: clang' \
            build-fuzz/meson-logs/meson-log.txt; then
            rm -rf build-fuzz
        fi
        CC=clang step_build build-fuzz build-fuzz -Dfuzz=true -Dtests=true && fuzz_ok=1
        if [ "$fuzz_ok" = 1 ]; then
            step_meson_test fuzz build-fuzz fuzz
        else
            skip fuzz "build-fuzz failed"
        fi
    fi

    echo "== summary (logs in build-logs/)"
    for line in "${SUMMARY[@]}"; do
        echo "   $line"
    done
    echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
    [ "$TOTAL_FAILED" -eq 0 ]
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
    exit $?
fi
