# tools/bench/bench.mk: build rules of the benchmark helpers, invoked by
# tools/bench/run.sh as `make -f tools/bench/bench.mk BUILD=<dir>`.
# Outputs under $(BUILD)/bench/ only.
.DELETE_ON_ERROR:
.SUFFIXES:

BUILD	?= build
CC	?= gcc
BENCH_CFLAGS := -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror

all: $(BUILD)/bench/agbench
.PHONY: all

$(BUILD)/bench/agbench: tools/bench/agbench.c
	@printf '  %-8s %s\n' CC $@
	@mkdir -p $(@D)
	@$(CC) $(BENCH_CFLAGS) $< -o $@
