#!/usr/bin/env bash
# Regenerate vmlinux/vmlinux.h from a kernel's BTF (default: the running kernel).
# The BPF programs are CO-RE: the header only has to be a superset of the types
# they use; relocations adapt field offsets to the kernel they load on.
set -euo pipefail
btf=${1:-/sys/kernel/btf/vmlinux}
out=$(dirname "$0")/../vmlinux/vmlinux.h
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
bpftool btf dump file "$btf" format c >"$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "gen-vmlinux: wrote $out from $btf"
