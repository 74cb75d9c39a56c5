# Mimir — one Makefile for the library, the tools, the tests and the benchmarks.
# Sources are discovered: lib/**.c goes into lib/libmimir.a, cmd/<tool>/*.c makes bin/<tool>,
# tests/unit/test_*.c make tests/bin/test_*, tests/prog/*.c make tests/bin/*, bench/*.c make
# build/bench/*.  Files named *_avx2.c / *_avx512.c are compiled for that ISA only; the
# library dispatches to them at run time after checking the CPU.

CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wvla -Ilib -MMD -MP
LDLIBS  += -lssl -lcrypto -lsodium -luv -ljansson -lpcre2-8 -lm -lpthread

AVX2_FLAGS   := -mavx2 -mfma -mbmi2
AVX512_FLAGS := -mavx512f -mavx512dq -mavx512vl -mavx512bw -mavx2 -mfma -mbmi2

LIB_SRC   := $(sort $(wildcard lib/*.c lib/*/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=build/%.o)
TOOLS     := $(notdir $(patsubst %/,%,$(sort $(dir $(wildcard cmd/*/*.c)))))
TOOL_BINS := $(TOOLS:%=bin/%)
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=tests/bin/%)
PROG_SRC  := $(sort $(wildcard tests/prog/*.c))
PROG_BINS := $(PROG_SRC:tests/prog/%.c=tests/bin/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BINS:= $(BENCH_SRC:bench/%.c=build/bench/%)

# Keep object files of tests and benchmarks (make would delete them as intermediates).
.SECONDARY:

.PHONY: all deps check check-slow unit cli bench demo fuzz man-lint clean
all: deps lib/libmimir.a $(TOOL_BINS)

# Installs missing Debian packages (scripts/install-deps is a no-op when all are present).
deps:
	@scripts/install-deps

build/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX2_FLAGS) -c -o $@ $<
build/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512_FLAGS) -c -o $@ $<
build/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

lib/libmimir.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The test build: the same sources compiled again with -DMIMIR_TEST_HOOKS, which adds the fault
# injection hooks (a party that flips a bit, sends a wrong MAC check value, ...). Only tests link
# it; bin/ never contains a hook (tests/cli checks that the release binaries refuse the flags).
TEST_DEFS := -DMIMIR_TEST_HOOKS
build/test/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_DEFS) $(AVX2_FLAGS) -c -o $@ $<
build/test/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_DEFS) $(AVX512_FLAGS) -c -o $@ $<
build/test/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_DEFS) -c -o $@ $<
TEST_LIB := build/test/libmimir-test.a
$(TEST_LIB): $(LIB_SRC:%.c=build/test/%.o)
	@rm -f $@
	$(AR) rcs $@ $^

define tool_rule
bin/$(1): $$(patsubst %.c,build/%.o,$$(wildcard cmd/$(1)/*.c)) lib/libmimir.a
	@mkdir -p bin
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# tests/bin/<tool>-hooks: a tool built with the test hooks, for the CLI fault tests.
define hook_tool_rule
tests/bin/$(1)-hooks: $$(patsubst %.c,build/test/%.o,$$(wildcard cmd/$(1)/*.c)) $(TEST_LIB)
	@mkdir -p tests/bin
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
HOOK_TOOLS := $(filter mimir-party mimir-triples,$(TOOLS))
HOOK_BINS  := $(HOOK_TOOLS:%=tests/bin/%-hooks)
$(foreach t,$(HOOK_TOOLS),$(eval $(call hook_tool_rule,$(t))))

tests/bin/%: build/test/tests/unit/%.o $(TEST_LIB)
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
tests/bin/%: build/test/tests/prog/%.o $(TEST_LIB)
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
build/bench/%: build/bench/%.o lib/libmimir.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# make check: every C unit test, every test program, every bats file; one summary line at the end.
check: all $(UNIT_BINS) $(PROG_BINS) $(HOOK_BINS)
	@tests/run-tests

# make check-slow: the long acceptance runs (tests/slow: the 20-prompt x 32-token secure
# generation against the fixed-point and float references, about 20-40 minutes on two cores).
check-slow: all $(PROG_BINS) $(HOOK_BINS)
	@bats tests/slow

bench: all $(BENCH_BINS)
	@scripts/run-bench

demo: all
	@scripts/demo

# Builds every libFuzzer target into build/fuzz/ (clang, ASan + UBSan); `make check` runs each
# for FUZZ_SECONDS (default 10); tests/fuzz/README.md has the long runs.
fuzz: deps
	tests/fuzz/build.sh

man-lint:
	mandoc -T lint -W warning man/*.1

clean:
	rm -rf build bin tests/bin lib/libmimir.a

-include $(LIB_OBJ:.o=.d) $(wildcard build/cmd/*/*.d build/bench/*.d build/test/*/*.d \
	build/test/*/*/*.d build/test/*/*/*/*.d)
