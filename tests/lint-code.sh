#!/usr/bin/env bash
# tests/lint-code.sh: the code rules a machine can check (make lint runs it after `gwspec lint`).
#
#   1. prefixes: every external symbol an object of a layer defines carries the layer's prefix
#      (lib/ wc_, reference-server/ gw_, mock-providers/ mp_, harness/ hn_, reference-client/ rc_;
#      main excepted), read
#      with nm from the objects of the build;
#   2. headers: every header compiles on its own (it includes what it uses);
#   3. banned: every .c includes wc_banned.h, as its last #include;
#   4. suites: every CUnit suite table a test file defines is registered in its tests/main.c;
#   5. format: the C files follow .clang-format (clang-format --dry-run); tables that must keep
#      one entry per line stand between /* clang-format off */ and /* clang-format on */;
#   6. length: no function in harness/ is longer than 100 lines unless the comment above it says
#      why ('long: REASON'), measured with libclang by tests/lint-length.py (its --self-test
#      runs first). harness/exec/runner.c and its split (runner*.c, run_*.c) are in that file's
#      ALLOW list while another branch splits it; the lead removes the list after merging.
# Prints one line per problem, "file: rule: what", then "lint-code: N problem(s)". Exit 1 on any.
#
# usage: tests/lint-code.sh [BUILD_DIR]   (default build; run `make` first)
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
CC=${CC:-cc}
problems=0
say() { echo "$1"; problems=$((problems + 1)); }

# 1. prefixes
for spec in lib:wc_ reference-server:gw_ mock-providers:mp_ harness:hn_ reference-client:rc_; do
    dir=${spec%%:*}
    prefix=${spec##*:}
    [ -d "$BUILD/$dir" ] || { say "$BUILD/$dir: prefixes: no objects (run make first)"; continue; }
    # the objects of today's sources only (a build directory may keep objects of files that
    # moved); symbols that start with __ are the compiler's and sanitizers' (__odr_asan.*)
    while read -r src; do
        obj="$BUILD/${src%.c}.o"
        [ -f "$obj" ] || continue
        while read -r sym; do
            say "${obj#"$BUILD"/}: prefixes: '$sym' is external but lacks the layer prefix $prefix"
        done < <(nm -g --defined-only "$obj" | awk -v p="$prefix" \
            '$2 ~ /^[TDBRVW]$/ && index($3, p) != 1 && index($3, "__") != 1 && $3 != "main" { print $3 }')
    done < <(find "$dir" -name '*.c' -not -path '*/tests/*' | sort)
done

# 2. headers
INC="-Ilib -Iharness -Imock-providers -Ireference-client $(pkg-config --cflags libwebsockets jansson libfyaml sqlite3 2>/dev/null)"
for h in lib/*.h reference-server/*.h mock-providers/*.h mock-providers/personas/*.h harness/*/*.h \
         reference-client/*.h; do
    case $h in */tests/*) continue ;; esac
    dir=$(dirname "$h")
    if ! out=$(printf '#include "%s"\n' "$(basename "$h")" |
               $CC -std=c11 -D_GNU_SOURCE -fsyntax-only -Wall -Werror -x c - -I"$dir" $INC 2>&1); then
        say "$h: headers: does not compile on its own: $(echo "$out" | grep -m1 error)"
    fi
done

# 3. banned
for c in lib/*.c reference-server/*.c mock-providers/*.c mock-providers/personas/*.c harness/*/*.c tests/*.c \
         reference-client/*.c; do
    case $c in */tests/*) continue ;; esac
    last=$(grep -E '^#include ' "$c" | tail -1)
    [ "$last" = '#include "wc_banned.h"' ] || say "$c: banned: the last #include is not \"wc_banned.h\""
done

# 4. suites
for t in lib reference-server mock-providers harness reference-client; do
    [ -f "$t/tests/main.c" ] || continue
    for s in $(grep -ho 'CU_SuiteInfo [a-z_0-9]*\[\] *=' "$t"/tests/test_*.c | awk '{print $2}' | tr -d '[]='); do
        grep -q "\b$s\b" "$t/tests/main.c" || say "$t/tests: suites: $s is defined but not registered in main.c"
    done
done

# 5. format
if command -v clang-format >/dev/null; then
    for c in $(git ls-files '*.c' '*.h'); do
        n=$(clang-format --dry-run "$c" 2>&1 | grep -c 'warning:')
        [ "$n" = 0 ] || say "$c: format: $n place(s) differ from .clang-format (clang-format -i $c)"
    done
else
    say ".clang-format: format: clang-format is not installed (apt-get install clang-format)"
fi

# 6. length
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c 'import clang.cindex' 2>/dev/null; then
    if ! out=$("$PY" tests/lint-length.py --self-test 2>&1); then
        say "tests/lint-length.py: length: the self-test fails: $out"
    fi
    while read -r line; do
        [ -n "$line" ] && say "$line"
    done < <("$PY" tests/lint-length.py 2>&1)
else
    say "tests/lint-length.py: length: libclang's Python bindings are missing (apt-get install python3-clang-14)"
fi

echo "lint-code: $problems problem(s)"
[ "$problems" = 0 ]
