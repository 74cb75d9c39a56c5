#!/bin/sh
# Builds libFuzzer targets: tests/fuzz/<target>.c -> build/fuzz/<target>, under ASan + UBSan.
# The whole library is compiled once more with the same instrumentation into
# build/fuzz/libmimir-fuzz.a (objects rebuilt when their source or any lib header is newer), so
# every target links the instrumented code it exercises, never the plain lib/libmimir.a.
# Usage: tests/fuzz/build.sh [target...]     (default: every tests/fuzz/*.c; needs clang)
set -eu
cd "$(dirname "$0")/../.."
CC=${FUZZ_CC:-clang}
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
# Library objects do not use -Werror here: gcc -Werror already gates them in the normal build, and
# a clang-only warning in someone's file should not stop every fuzz target from building.
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wvla -Ilib"
AVX2="-mavx2 -mfma -mbmi2"
AVX512="-mavx512f -mavx512dq -mavx512vl -mavx512bw -mavx2 -mfma -mbmi2"
LIBS="-lssl -lcrypto -lsodium -luv -ljansson -lpcre2-8 -lm -lpthread"
obj=build/fuzz/obj
lib=build/fuzz/libmimir-fuzz.a

newest_header=$(ls -t lib/*.h lib/*/*.h 2>/dev/null | head -n 1)
changed=0
for src in lib/*.c lib/*/*.c; do
    [ -f "$src" ] || continue
    o=$obj/${src%.c}.o
    if [ ! -e "$o" ] || [ "$src" -nt "$o" ] || [ "$newest_header" -nt "$o" ]; then
        case $src in
            *_avx512.c) isa=$AVX512 ;;
            *_avx2.c) isa=$AVX2 ;;
            *) isa= ;;
        esac
        mkdir -p "$(dirname "$o")"
        echo "$CC [fuzz] -c $src"
        # shellcheck disable=SC2086
        $CC $CFLAGS $SAN $isa -c -o "$o" "$src"
        changed=1
    fi
done
if [ $changed -eq 1 ] || [ ! -e "$lib" ]; then
    rm -f "$lib"
    find "$obj" -name '*.o' | sort | xargs ar rcs "$lib"
fi

if [ $# -eq 0 ]; then
    set -- $(for f in tests/fuzz/*.c; do basename "$f" .c; done)
fi
for t in "$@"; do
    [ -f "tests/fuzz/$t.c" ] || { echo "build.sh: no tests/fuzz/$t.c" >&2; exit 2; }
    echo "$CC [fuzz] -o build/fuzz/$t tests/fuzz/$t.c $lib"
    # shellcheck disable=SC2086
    $CC $CFLAGS -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -o "build/fuzz/$t" "tests/fuzz/$t.c" "$lib" $LIBS
done
