#!/usr/bin/env bash
# Installs the Debian packages that Concord's build and tests need, and only those missing.
#
# Usage: scripts/install-deps.sh [--bench] [--dry-run] [EXTRA_PACKAGE...]
#   --bench    also install the benchmark tools (nginx, haproxy, wrk: tests/bench)
#   --dry-run  print what is missing and exit (0 when nothing is missing, 1 otherwise)
#   EXTRA_PACKAGE  more Debian packages to ensure (for a step that needs one more tool)
#
# It runs `apt-get update` once, and only when something is missing. As root it installs
# directly; otherwise through sudo when there is one; otherwise it prints the command to run
# and exits 1. The package list here is the one README.md's "Dependencies" table explains:
# keep the two in step.
set -euo pipefail

# Build: compiler, libc headers, meson/ninja/pkg-config and the libraries we link.
BUILD_PKGS=(
    gcc libc6-dev          # C compiler (gcc also brings ASan/UBSan runtimes) and libc headers
    meson ninja-build pkgconf
    libuv1-dev             # event loop, one per worker thread
    libraft-dev liblz4-dev # consensus (canonical raft 0.15); static raft also needs -llz4
    libprotobuf-c-dev protobuf-c-compiler # config, raft log and snapshot formats
    libyaml-dev            # Traefik-compatible YAML with line:col marks
    libssl-dev             # TLS and hashes (OpenSSL 3)
    libpcre2-dev           # regex matchers of router rules (RE2 syntax, match limits)
    libcrypt-dev           # libxcrypt's crypt_r: bcrypt hashes of basicAuth
    zlib1g-dev             # gzip of the compress middleware
)
# Tests: unit tests (check), fuzzing (clang + libFuzzer), the integration runner and its tools.
TEST_PKGS=(
    check                  # unit tests, one forked binary per test file
    clang libclang-rt-14-dev # libFuzzer and the clang sanitizer runtimes
    python3                # tests/integration runs with /usr/bin/python3
    curl git procps util-linux # curl for smoke checks, git, ps/kill, taskset, unshare
    iproute2               # ip: loopback in the private network namespace of test_defaults
    openssl                # certificates for the https tests (providers' TLS client)
    etcd-server etcd-client # a real etcd 3.4 for the etcd provider's tests (tests/integration/lib/etcd.py)
    docker.io busybox-static # the Docker provider tests start a real dockerd (lib/dockerd.py)
)
# Benchmarks only (tests/bench): load generator and the peers we compare against.
BENCH_PKGS=(
    nginx haproxy wrk
)

bench=0
dry_run=0
extra=()
for arg in "$@"; do
    case "$arg" in
    --bench) bench=1 ;;
    --dry-run) dry_run=1 ;;
    -h | --help)
        sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "install-deps: unknown option $arg" >&2
        exit 2
        ;;
    *) extra+=("$arg") ;;
    esac
done

wanted=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
if [ "$bench" = 1 ]; then
    wanted+=("${BENCH_PKGS[@]}")
fi
if [ "${#extra[@]}" -gt 0 ]; then
    wanted+=("${extra[@]}")
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: this is not a Debian system (no dpkg-query); install the equivalents of:" >&2
    echo "  ${wanted[*]}" >&2
    exit 1
fi

# A package counts as present only when dpkg says "ii" (installed, not just configured-files).
missing=()
for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    case "$status" in
    ii*) ;;
    *) missing+=("$pkg") ;;
    esac
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all ${#wanted[@]} packages present"
    exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if [ "$dry_run" = 1 ]; then
    exit 1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo_cmd=(sudo)
    else
        echo "install-deps: not root and no sudo; as root, run:" >&2
        echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y" \
            "--no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi

# Wait for another apt/dpkg run instead of failing at once on its lock.
apt_opts=(-o DPkg::Lock::Timeout=300)
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -q
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
