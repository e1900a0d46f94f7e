#!/usr/bin/env bash
# tools/bench/vm-bench.sh [BUILD]: benchmark 8 of `make bench`, the files
# and exec benchmarks inside the VM tier's guest (qemu TCG, Debian's 6.1
# kernel, BPF LSM active; tests/vm/README.md). Boots the guest with
# tools/vm/run.sh and only the case tools/bench/vm-case.sh (as
# /ag/cases/95-agbench.sh; `make test-vm` never sees it), and prints the
# guest's "agbench-vm ..." result lines on stdout; progress goes to stderr.
# tools/bench/run.sh turns them into table rows.
#
# It uses its own runner directory, BUILD/bench/vm (initramfs and console
# log there), so that it never collides with a `make test-vm` of the same
# BUILD, and the kernel that tier fetched (BUILD/vm/vmlinuz; fetched with
# tools/vm/fetch-kernel.sh when missing).
#
# Environment:
#   BENCH_VM_ROUNDS=7        interleaved rounds (outside / in a session)
#   BENCH_VM_OPENS=20000     openat+close per round (TCG: ~10 us each)
#   BENCH_VM_EXECS=200       fork+exec per round
#   BENCH_FILE_RULES=1000    files rules of the session's agent
#   BENCH_VM_TIMEOUT=300     seconds for the whole guest run
set -euo pipefail

BUILD=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
die() { echo "vm-bench: $*" >&2; exit 1; }

rounds=${BENCH_VM_ROUNDS:-7}
opens=${BENCH_VM_OPENS:-20000}
execs=${BENCH_VM_EXECS:-200}
rules=${BENCH_FILE_RULES:-1000}
tmo=${BENCH_VM_TIMEOUT:-300}
for v in rounds opens execs rules tmo; do
	[[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || die "invalid $v '${!v}' (a positive integer)"
done

[ -x "$BUILD/agentguard-static" ] || die "no '$BUILD/agentguard-static': run make first"
make -s -f tools/bench/bench.mk BUILD="$BUILD" >&2 || die "cannot build the bench helpers"
tools/vm/fetch-kernel.sh "$BUILD" >&2 || die "cannot fetch the guest kernel"
[ -s "$BUILD/vm/vmlinuz" ] || die "no guest kernel at '$BUILD/vm/vmlinuz'"

vmb=$BUILD/bench/vm
mkdir -p "$vmb"
set +e
AGVM_KERNEL=$BUILD/vm/vmlinuz AGVM_CASES=agbench AGVM_CASE_TIMEOUT=$((tmo - 30)) \
AGVM_TIMEOUT=$tmo AGVM_FILES='' \
AGVM_APPEND="AGB_ROUNDS=$rounds AGB_OPENS=$opens AGB_EXECS=$execs AGB_RULES=$rules" \
	tools/vm/run.sh --build "$vmb" \
		"$BUILD/agentguard-static=bin/agentguard" \
		"$BUILD/bench/agbench-static=bin/agbench" \
		"$BUILD/bench/noop=bin/noop" \
		"tools/bench/gen-files.sh=bench/gen-files.sh" \
		"tools/bench/vm-case.sh=cases/95-agbench.sh" | sed 's/^/  vm: /' >&2
st=${PIPESTATUS[0]}
set -e
grep '^agbench-vm ' "$vmb/vm/console.log" || true
[ "$st" = 0 ] || die "the guest run failed (status $st): see $vmb/vm/console.log"
