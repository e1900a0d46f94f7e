# tools/bench/bench.mk: build rules of the benchmark helpers, invoked by
# tools/bench/run.sh as `make -f tools/bench/bench.mk BUILD=<dir>`.
# Outputs under $(BUILD)/bench/ only.
#   agbench         the timing helper
#   agbench-static  the same, statically linked: the program sessions of the
#                   files benchmarks run (one binary, no libraries to grant),
#                   and the one the VM guest runs
#   noop            a static program that only exits 0 (fork+exec benchmark)
#   agproof         the proof benchmark's helper, linked with agentguard's
#                   log objects (built by the main Makefile's `all`)
.DELETE_ON_ERROR:
.SUFFIXES:

BUILD	?= build
CC	?= gcc
BENCH_CFLAGS := -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror
# a bare _start where noop.c has one, else a static libc program
NOOP_LDFLAGS := $(if $(filter x86_64 aarch64,$(shell uname -m)),-nostdlib -static,-static)

all: $(BUILD)/bench/agbench $(BUILD)/bench/agbench-static $(BUILD)/bench/noop \
	$(BUILD)/bench/agproof
.PHONY: all

$(BUILD)/bench/agbench: tools/bench/agbench.c
	@printf '  %-8s %s\n' CC $@
	@mkdir -p $(@D)
	@$(CC) $(BENCH_CFLAGS) $< -o $@

$(BUILD)/bench/agbench-static: tools/bench/agbench.c
	@printf '  %-8s %s\n' CC $@
	@mkdir -p $(@D)
	@$(CC) $(BENCH_CFLAGS) -static $< -o $@

$(BUILD)/bench/noop: tools/bench/noop.c
	@printf '  %-8s %s\n' CC $@
	@mkdir -p $(@D)
	@$(CC) -O2 -Wall -Wextra -Werror $(NOOP_LDFLAGS) $< -o $@

AGPROOF_OBJS := $(addprefix $(BUILD)/obj/,log.o merkle.o note.o jsonw.o util.o)
$(BUILD)/bench/agproof: tools/bench/agproof.c $(AGPROOF_OBJS)
	@printf '  %-8s %s\n' CC $@
	@mkdir -p $(@D)
	@$(CC) $(BENCH_CFLAGS) -Wno-unused-parameter -Iuserspace -I$(BUILD) $< $(AGPROOF_OBJS) \
		-o $@ -lssl -lcrypto -ljansson
