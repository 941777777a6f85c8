#!/usr/bin/env bash
# Checks DESIGN.md's include rules ("Layout"): which component may include which.
#
# Usage: tests/layering.sh [--root DIR]     (from anywhere; DIR defaults to the repository)
#
# Every .c/.h under node/, raftstore/, providers/ and ctl/ is read; each `#include "..."` names
# a component (includes are written from the repository root, so the path shows it), and each
# `#include <...>` of a third-party library is checked against the libraries the component may
# use. Violations print as `file:line: <component> may not include <path>`; the exit code is 1
# when there is any. The table below is DESIGN.md's; change both together.
#
# Rules that DESIGN.md leaves open and this script decides:
# - node/health and node/metrics (not in the table yet) may include base, net, http and each
#   other; health also table. Widen this when those modules arrive.
# - Outside raftstore/, only "raftstore/raftstore.h" may be included (the only public header).
# - "node/table/compile.h" carries proto types, so it counts as proto for its includers;
#   in node/table only compile*.c and compile_mw.h (the middleware compilers) see proto.
# - A bare "x.h" (not written from the root) is a violation, except generated "*.pb-c.h"
#   headers, which count as proto.
# - A folder under node/ that the table does not name is a violation until the table names it.
set -u -f # -f: the allowed lists contain "*" and "node/*", never file globs

root=""
while [ $# -gt 0 ]; do
    case "$1" in
    --root)
        root="$2"
        shift 2
        ;;
    -h | --help)
        sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "layering: unknown argument $1" >&2
        exit 2
        ;;
    esac
done
if [ -z "$root" ]; then
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fi
cd "$root" || exit 2

# component_of PATH: the component a source file (or a quoted include path) belongs to.
component_of() {
    case "$1" in
    node/*/*) local rest=${1#node/} && echo "node/${rest%%/*}" ;;
    node/*) echo node ;;
    raftstore/*) echo raftstore ;;
    providers/*) echo providers ;;
    ctl/*) echo ctl ;;
    proto/* | *.pb-c.h) echo proto ;;
    tests/*) echo tests ;;
    */*) echo unknown ;;
    *) echo bare ;;
    esac
}

# allowed_components FILE COMPONENT: the components FILE may include, space-separated;
# "*" means anything. "unlisted" means the component is not in the table.
allowed_components() {
    local file=$1 comp=$2 base
    base=$(basename "$file")
    case "$comp" in
    node/base) echo "node/base" ;;
    node/net) echo "node/base node/net" ;;
    node/http)
        case "$base" in
        fetch.c | fetch.h | fetch_*.c | fetch-int.h) echo "node/base node/net node/http" ;;
        *) echo "node/base node/http" ;;
        esac
        ;;
    node/table)
        case "$base" in
        compile.c | compile.h | compile_*.c | compile_mw.h) echo "node/base node/http node/table proto" ;;
        *) echo "node/base node/http node/table" ;;
        esac
        ;;
    node/proxy) echo "node/base node/net node/http node/table node/health node/metrics node/proxy" ;;
    node/health) echo "node/base node/net node/http node/table node/metrics node/health" ;;
    node/metrics) echo "node/base node/net node/http node/health node/metrics" ;;
    node/admin) echo "node node/* raftstore proto" ;;
    node) echo "*" ;;
    providers) echo "node/base node/net node/http proto providers" ;;
    raftstore) echo "node/base proto raftstore" ;;
    ctl) echo "node/base node/net node/http proto providers node/table ctl" ;;
    *) echo "unlisted" ;;
    esac
}

# system_allowed FILE COMPONENT HEADER: 0 when COMPONENT may include <HEADER>.
# libc and POSIX headers are always allowed (except nothing); third-party ones are listed.
system_allowed() {
    local file=$1 comp=$2 hdr=$3 base lib
    base=$(basename "$file")
    case "$hdr" in
    uv.h | uv/*) lib=libuv ;;
    raft.h | raft/*) lib=libraft ;;
    yaml.h) lib=libyaml ;;
    openssl/*) lib=openssl ;;
    protobuf-c/*) lib=protobuf-c ;;
    urcu.h | urcu/* | urcu-*.h) lib=urcu ;;
    pcre2.h) lib=pcre2 ;;
    zlib.h) lib=zlib ;;
    nghttp2/*) lib=nghttp2 ;;
    lz4.h | lz4*.h) lib=lz4 ;;
    check.h) lib=check ;;
    *) return 0 ;; # libc, POSIX, Linux headers
    esac
    [ "$comp" = node/base ] && return 1 # libc only
    [ "$lib" = check ] && return 1      # test framework: tests/ only
    case "$lib" in
    libraft) [ "$comp" = raftstore ] ;;
    libyaml) [ "$comp" = providers ] ;;
    libuv)
        case "$comp" in
        node/table) return 1 ;;
        node/http) case "$base" in fetch.c | fetch.h | fetch_*.c | fetch-int.h) return 0 ;; *) return 1 ;; esac ;;
        *) return 0 ;;
        esac
        ;;
    openssl)
        case "$comp" in
        node/http | node/table) return 1 ;;
        *) return 0 ;;
        esac
        ;;
    protobuf-c)
        # Where proto types may go (DESIGN.md style rule 10).
        case "$comp" in
        node/table) case "$base" in compile.c | compile.h | compile_*.c | compile_mw.h) return 0 ;; *) return 1 ;; esac ;;
        node/net | node/http | node/proxy | node/health | node/metrics) return 1 ;;
        *) return 0 ;;
        esac
        ;;
    *) return 0 ;;
    esac
}

# quoted_allowed FILE COMPONENT PATH: 0 when COMPONENT may include "PATH".
quoted_allowed() {
    local file=$1 comp=$2 path=$3 target allowed a
    target=$(component_of "$path")
    case "$target" in
    bare | unknown | tests) return 1 ;;
    esac
    if [ "$target" = raftstore ] && [ "$comp" != raftstore ] && [ "$path" != raftstore/raftstore.h ]; then
        return 1
    fi
    if [ "$path" = node/table/compile.h ] && [ "$comp" != node/table ]; then
        target=proto # compile.h exposes proto types
    fi
    allowed=$(allowed_components "$file" "$comp")
    for a in $allowed; do
        # shellcheck disable=SC2053 # $a may be a glob such as node/*
        if [ "$a" = "*" ] || [ "$target" = "$a" ] || [[ "$target" == $a ]]; then
            return 0
        fi
    done
    return 1
}

files=0
violations=0
report() {
    echo "$1:$2: $3 may not include $4"
    violations=$((violations + 1))
}

dirs=()
for d in node raftstore providers ctl; do
    [ -d "$d" ] && dirs+=("$d")
done

while IFS= read -r file; do
    files=$((files + 1))
    comp=$(component_of "$file")
    if [ "$(allowed_components "$file" "$comp")" = unlisted ]; then
        echo "$file:1: $comp is not in DESIGN.md's include table (add it there and in tests/layering.sh)"
        violations=$((violations + 1))
        continue
    fi
    while IFS= read -r line; do
        lineno=${line%%:*}
        text=${line#*:}
        if [[ "$text" =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
            path=${BASH_REMATCH[1]}
            quoted_allowed "$file" "$comp" "$path" || report "$file" "$lineno" "$comp" "\"$path\""
        elif [[ "$text" =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
            path=${BASH_REMATCH[1]}
            system_allowed "$file" "$comp" "$path" || report "$file" "$lineno" "$comp" "<$path>"
        fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$file")
done < <(if [ ${#dirs[@]} -gt 0 ]; then
    find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort
fi)

echo "layering: $files files checked, $violations violations"
[ "$violations" -eq 0 ]
