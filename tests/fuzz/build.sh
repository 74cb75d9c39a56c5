#!/bin/sh
# Builds every libFuzzer target tests/fuzz/<parser>.c into build/fuzz/<parser>, with the library
# sources it needs compiled in, all under ASan + UBSan. Run from anywhere; needs clang.
# Usage: tests/fuzz/build.sh [target...]     (default: every tests/fuzz/*.c)
set -eu
cd "$(dirname "$0")/../.."
CC=${FUZZ_CC:-clang}
FLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Ilib
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
LIBS="-lssl -lcrypto -lsodium -luv -ljansson -lpcre2-8 -lm -lpthread"
mkdir -p build/fuzz
if [ $# -eq 0 ]; then
    set -- $(for f in tests/fuzz/*.c; do basename "$f" .c; done)
fi
for t in "$@"; do
    # Each target lists the library files it exercises; lib/ is instrumented too, not libmimir.a.
    case $t in
        safetensors) srcs="lib/safetensors.c lib/io.c lib/err.c lib/mem.c" ;;
        *) echo "build.sh: unknown fuzz target $t" >&2; exit 2 ;;
    esac
    echo "$CC ... -o build/fuzz/$t tests/fuzz/$t.c $srcs"
    # shellcheck disable=SC2086
    $CC $FLAGS -o "build/fuzz/$t" "tests/fuzz/$t.c" $srcs $LIBS
done
