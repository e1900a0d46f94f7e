#!/usr/bin/env bash
# Run the VM test tier: boot Debian 12's stock kernel (6.1, BPF LSM active) under
# qemu TCG with an initramfs of busybox, the cases in tests/vm/cases/ and any extra
# files, and report the cases' results.
#
#   tools/vm/run.sh [--build DIR] [SRC[=DEST]]...
#
# Each SRC is a file or directory put in the guest under /ag/: at /ag/DEST when given,
# else an executable file at /ag/bin/NAME (on the cases' PATH) and anything else at
# /ag/NAME. For example:
#   tools/vm/run.sh build/agentguard-static=bin/agentguard policies
# puts the binary at /ag/bin/agentguard and the directory at /ag/policies.
#
# Environment:
#   BUILD              build directory (default build; --build wins)
#   AGVM_FILES         more SRC[=DEST] entries, separated by white space
#   AGVM_CASES         run only the cases whose file name contains this string
#   AGVM_MODULES       kernel modules of the guest kernel to load at boot ("dummy veth")
#   AGVM_TIMEOUT       seconds for the whole run (default 600)
#   AGVM_CASE_TIMEOUT  seconds for each case (default 120)
#   AGVM_MEM, AGVM_SMP guest memory in MiB (1024) and CPUs (2)
#   AGVM_KERNEL        another kernel image (default: the one fetch-kernel.sh fetches)
#   AGVM_APPEND        more kernel command line
#   AGVM_DEBUG=1       interactive: console on this terminal, a guest shell after the
#                      cases (no log, no result check)
#   V=1                show the whole console, not only the result lines
#
# Writes BUILD/vm/initramfs.cpio.gz and BUILD/vm/console.log. Prints every "ok",
# "not ok" and "skip" line, then "vm: P passed, F failed, S skipped". Exits 0 only if
# the guest reported its result marker with failed=0 and passed>0.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cwd=$PWD
cd "$root"

die() { echo "vm: $*" >&2; exit 1; }
# Paths given by the caller are relative to the caller's directory.
abspath() { case $1 in /*) echo "$1" ;; *) echo "$cwd/$1" ;; esac; }

build=${BUILD:-build}
files=()
while [ $# -gt 0 ]; do
	case $1 in
	--build) [ $# -ge 2 ] || die "missing argument: '--build' needs a directory"
		build=$2; shift 2 ;;
	--build=*) build=${1#--build=}; shift ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	--) shift; files+=("$@"); break ;;
	-*) die "unknown option '$1'" ;;
	*) files+=("$1"); shift ;;
	esac
done
# shellcheck disable=SC2206 # word splitting is the interface
files+=(${AGVM_FILES:-})
build=$(abspath "$build")

vm=$build/vm
timeout_s=${AGVM_TIMEOUT:-600}
case_timeout=${AGVM_CASE_TIMEOUT:-120}
mem=${AGVM_MEM:-1024}
smp=${AGVM_SMP:-2}
log=$vm/console.log
initrd=$vm/initramfs.cpio.gz
t0=$(date +%s.%N)

command -v qemu-system-x86_64 >/dev/null ||
	die "cannot run the guest: 'qemu-system-x86_64' not found (run tools/install-deps.sh)"

# The kernel.
if [ -n "${AGVM_KERNEL:-}" ]; then
	kernel=$(abspath "$AGVM_KERNEL")
	[ -s "$kernel" ] || die "cannot find kernel: '$kernel' does not exist"
else
	tools/vm/fetch-kernel.sh "$build" || die "cannot fetch the guest kernel: see above"
	kernel=$vm/vmlinuz
	[ -s "$kernel" ] || die "cannot find kernel: '$kernel' does not exist"
fi

# The helpers built for the guest.
if [ "${V:-0}" = 1 ]; then
	make -f tools/vm/vm.mk BUILD="$build" V=1
else
	make -s -f tools/vm/vm.mk BUILD="$build" >/dev/null
fi || die "cannot build the VM helpers: make -f tools/vm/vm.mk failed"

# What goes to /ag.
entries=("$vm/lsm_smoke=bin/lsm_smoke" "tests/vm/lib.sh=lib.sh")
for c in tests/vm/cases/*.sh; do
	[ -e "$c" ] && entries+=("$c=cases/$(basename "$c")")
done
for f in "${files[@]}"; do
	[ -e "$(abspath "${f%%=*}")" ] || die "cannot add '${f%%=*}' to the guest: no such file or directory"
	entries+=("$(abspath "$f")")
done

# Kernel modules, dependencies first, from the fetched kernel's modules.dep.
modtmp=
if [ -n "${AGVM_MODULES:-}" ]; then
	[ -z "${AGVM_KERNEL:-}" ] || die "cannot add modules: AGVM_MODULES needs the fetched kernel, not AGVM_KERNEL"
	moddir=$(ls -d "$vm"/kernel/lib/modules/*/ 2>/dev/null | head -n1 || true)
	moddir=${moddir%/}
	[ -n "$moddir" ] || die "cannot add modules: no kernel modules under '$vm/kernel/lib/modules'"
	# The package has no modules.dep (depmod makes it at install): make one here.
	if [ ! -s "$moddir/modules.dep" ]; then
		busybox depmod -b "$vm/kernel" "$(basename "$moddir")" ||
			die "cannot add modules: depmod failed for '$moddir'"
	fi
	modtmp=$(mktemp -d "$vm/.modules.XXXXXX")
	trap 'rm -rf "$modtmp"' EXIT
	declare -A seen=()
	add_module() { # PATH relative to moddir
		local rel=$1 dep
		[ -z "${seen[$rel]:-}" ] || return 0
		seen[$rel]=1
		for dep in $(sed -n "s|^$rel: *||p" "$moddir/modules.dep"); do
			add_module "$dep"
		done
		entries+=("$moddir/$rel=modules/$(basename "$rel")")
		basename "$rel" >>"$modtmp/order"
	}
	for m in $AGVM_MODULES; do
		rel=$(grep -E "(^|/)${m//[-_]/[-_]}\.ko(\.[a-z]+)?:" "$moddir/modules.dep" |
			head -n1 | cut -d: -f1 || true)
		[ -n "$rel" ] || die "cannot add module '$m': not in '$moddir/modules.dep'"
		add_module "$rel"
	done
	entries+=("$modtmp/order=modules/order")
fi

tools/vm/mkinitramfs.sh "$initrd" "${entries[@]}" || die "cannot build the initramfs"
t1=$(date +%s.%N)

append="console=ttyS0 quiet loglevel=4 lsm=lockdown,capability,landlock,bpf panic=-1"
append+=" oops=panic random.trust_cpu=on AGVM_CASE_TIMEOUT=$case_timeout"
[ -z "${AGVM_CASES:-}" ] || append+=" AGVM_CASES=$AGVM_CASES"
[ -z "${AGVM_APPEND:-}" ] || append+=" $AGVM_APPEND"

# The guest's console, without terminal escapes and CRs, goes to the log; the result
# lines (every line with V=1) go to stdout.
qemu=(qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$smp"
	-nographic -nodefaults -monitor none -no-reboot
	-kernel "$kernel" -initrd "$initrd")

# AGVM_DEBUG=1: the console on this terminal, a shell after the cases, no timeout.
if [ "${AGVM_DEBUG:-0}" = 1 ]; then
	echo "vm: debug run: the guest's shell follows the cases; 'poweroff -f' or Ctrl-A x ends it"
	exec "${qemu[@]}" -serial mon:stdio -append "$append AGVM_DEBUG=1"
fi

mkdir -p "$vm"
: >"$log"
set +e
timeout -k 10 "$timeout_s" "${qemu[@]}" -serial stdio -append "$append" </dev/null 2>&1 |
	sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[c78]//g; s/\r$//' | tee "$log" |
	while IFS= read -r line; do
		case $line in
		"ok - "* | "not ok - "* | "skip - "*) echo "$line" ;;
		*) if [ "${V:-0}" = 1 ]; then echo "$line"; fi ;;
		esac
	done
st=("${PIPESTATUS[@]}")
set -e
qemu_st=${st[0]}
t2=$(date +%s.%N)

tail_log() {
	echo "vm: last lines of $log:" >&2
	tail -n 30 "$log" | sed 's/^/  | /' >&2
}

crash=$(grep -m1 -E '^\[ *[0-9]+\.[0-9]+\] (Kernel panic|BUG: |Oops|general protection fault)' "$log" || true)
if [ -n "$crash" ]; then
	tail_log
	die "guest kernel crashed: '${crash#*] }': see '$log'"
fi
marker=$(grep -E '^AGVM-RESULT passed=[0-9]+ failed=[0-9]+ skipped=[0-9]+' "$log" | tail -n1 || true)
if [ -z "$marker" ]; then
	tail_log
	if [ "$qemu_st" = 124 ] || [ "$qemu_st" = 137 ]; then
		die "guest gave no result within ${timeout_s}s (AGVM_TIMEOUT)"
	elif [ "$qemu_st" != 0 ]; then
		die "qemu-system-x86_64 failed with status $qemu_st and the guest gave no result"
	fi
	die "guest gave no result marker: see '$log'"
fi
passed=$(sed -E 's/.* passed=([0-9]+).*/\1/' <<<"$marker")
failed=$(sed -E 's/.* failed=([0-9]+).*/\1/' <<<"$marker")
skipped=$(sed -E 's/.* skipped=([0-9]+).*/\1/' <<<"$marker")
boot=$(sed -nE 's/^AGVM-BOOTED uptime=([0-9.]+).*/\1/p' "$log" | head -n1)

awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v boot="${boot:-?}" 'BEGIN {
	printf "vm: initramfs %.1fs, guest boot %ss, qemu %.1fs, total %.1fs\n", t1 - t0, boot, t2 - t1, t2 - t0
}'
echo "vm: $passed passed, $failed failed, $skipped skipped"
if [ "$failed" != 0 ]; then
	exit 1
fi
if [ "$passed" = 0 ]; then
	echo "vm: no case passed" >&2
	exit 1
fi
exit 0
