# agentguard: out-of-tree build into $(BUILD). Quiet unless V=1.
#   make            BPF objects, skeletons, build/agentguard (+ static copy for the VM)
#   make test       unit, kernel and vm tiers; ends with "N passed, N failed"
#   make test-unit | test-kernel | test-vm     one tier alone
#   make bench      benchmarks, ratios against a baseline measured in the same run
.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

BUILD	?= build
CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
	   -I$(BUILD) -Ibpf -Iuserspace
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	   -Ivmlinux -Ibpf
LIBS	:= -lbpf -lelf -lz -lssl -lcrypto -lyaml -ljansson
STATIC_LIBS := -Wl,-Bstatic -lbpf -lelf -lz -lcrypto -lyaml -ljansson -Wl,-Bdynamic
TEST_LIBS := $(LIBS) -lcmocka

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS	  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

US_SRCS	  := $(wildcard userspace/*.c)
US_OBJS	  := $(patsubst userspace/%.c,$(BUILD)/obj/%.o,$(US_SRCS))
LIB_OBJS  := $(filter-out $(BUILD)/obj/main.o,$(US_OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
KTEST_SRCS := $(wildcard tests/kernel/*.c)
KTEST_BINS := $(patsubst tests/kernel/%.c,$(BUILD)/tests/kernel/%,$(KTEST_SRCS))
TEST_TOOLS := $(BUILD)/tests/agprobe $(BUILD)/tests/agfile $(BUILD)/tests/agfs

all: $(BUILD)/agentguard $(BUILD)/agentguard-static
.PHONY: all test test-unit test-kernel test-vm bench clean unit-bins

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/obj/%.o: userspace/%.c $(wildcard userspace/*.h) $(wildcard bpf/*.h) | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The skeleton embeds the BPF object: its loader is rebuilt with it.
$(BUILD)/obj/enforcer.o $(BUILD)/obj/fallback.o: $(SKELS)

$(BUILD)/agentguard: $(US_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LIBS)

# Fully static copy for the initramfs of the VM tier.
$(BUILD)/agentguard-static: $(US_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -static $^ -o $@ -lbpf -lelf -lz -lssl -lcrypto -lyaml -ljansson -lpthread 2>$@.log || { cat $@.log; exit 1; }
	$(Q)rm -f $@.log

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJS) $(wildcard tests/unit/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(LIB_OBJS) -o $@ $(TEST_LIBS)

$(BUILD)/tests/kernel/%: tests/kernel/%.c $(LIB_OBJS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) -o $@ $(LIBS)

unit-bins: $(UNIT_BINS)

test-unit: $(UNIT_BINS)
	$(Q)tests/run-tier.sh unit $(BUILD)

test-kernel: all $(KTEST_BINS) $(TEST_TOOLS)
	$(Q)tests/run-tier.sh kernel $(BUILD)

test-vm: all $(TEST_TOOLS)
	$(Q)tests/run-tier.sh vm $(BUILD)

test: all $(UNIT_BINS) $(KTEST_BINS) $(TEST_TOOLS)
	$(Q)tests/run-tier.sh all $(BUILD)

bench: all
	$(Q)tools/bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# Test helpers (static, so the VM tier can use them too).
$(TEST_TOOLS): $(BUILD)/tests/%: tests/tools/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -static $< -o $@

demo: all $(BUILD)/tests/agprobe
	$(Q)BUILD=$(BUILD) tools/demo.sh
.PHONY: demo
