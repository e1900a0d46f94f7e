# Build rules of the VM test tier: the helpers that go into its initramfs.
#   make -f tools/vm/vm.mk [BUILD=build] [V=1]      (tools/vm/run.sh calls it)
# Everything is written under $(BUILD)/vm/. Binaries are static: the guest has no libc.
.DELETE_ON_ERROR:
.SUFFIXES:

BUILD	?= build
CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool
VMOUT	:= $(BUILD)/vm

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VM_CFLAGS := -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -I$(VMOUT)
VM_BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Ivmlinux

all: $(VMOUT)/lsm_smoke
.PHONY: all

$(VMOUT)/lsm_smoke.bpf.o: tests/vm/smoke/lsm_smoke.bpf.c vmlinux/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(VM_BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(VMOUT)/lsm_smoke.skel.h: $(VMOUT)/lsm_smoke.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name lsm_smoke_bpf > $@

$(VMOUT)/lsm_smoke: tests/vm/smoke/lsm_smoke.c $(VMOUT)/lsm_smoke.skel.h
	$(call msg,LINK,$@)
	$(Q)$(CC) $(VM_CFLAGS) -static $< -o $@ -lbpf -lelf -lz 2>$@.log || { cat $@.log >&2; rm -f $@.log; exit 1; }
	$(Q)rm -f $@.log
