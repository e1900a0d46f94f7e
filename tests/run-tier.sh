#!/usr/bin/env bash
# Run one test tier (unit | kernel | vm) or all of them, and end with one line
# "N passed, N failed, N skipped". A tier that cannot run here counts as a
# failure, loudly: it is never skipped in silence.
set -uo pipefail
tier=${1:?usage: run-tier.sh unit|kernel|vm|all [BUILD]}
BUILD=${2:-build}
export BUILD
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

P=0 F=0 S=0

# Count "ok - x" / "not ok - x" / "skip - x" lines of a TAP-like stream,
# echoing them; a stream with no line at all is one failure.
count_lines() { # name, file
	local name=$1 file=$2 p f s
	p=$(grep -c '^ok - ' "$file" || true)
	f=$(grep -c '^not ok - ' "$file" || true)
	s=$(grep -c '^skip - ' "$file" || true)
	if [ $((p + f + s)) -eq 0 ]; then
		echo "not ok - $name: produced no results"
		f=1
	fi
	P=$((P + p)) F=$((F + f)) S=$((S + s))
}

run_unit() {
	local bins=("$BUILD"/tests/unit/test_*) b out p f
	if [ ! -e "${bins[0]}" ]; then
		echo "not ok - unit: no test binaries in $BUILD/tests/unit (run make first)"
		F=$((F + 1)); return
	fi
	for b in "${bins[@]}"; do
		[ -x "$b" ] || continue
		out=$(mktemp)
		"$b" >"$out" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
		p=${p:-0} f=${f:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1 # crashed or exited early
		fi
		if [ "$f" -ne 0 ] || [ "${V:-0}" = 1 ]; then cat "$out"; fi
		printf '%-40s %3d passed, %d failed\n' "unit/$(basename "$b")" "$p" "$f"
		P=$((P + p)) F=$((F + f))
		rm -f "$out"
	done
}

run_kernel() {
	local t out
	if [ "$(id -u)" -ne 0 ]; then
		echo "not ok - kernel: the kernel tier needs root (it loads BPF programs)"
		F=$((F + 1)); return
	fi
	for t in tests/kernel/*.sh; do
		out=$(mktemp)
		echo "# kernel/$(basename "$t")"
		timeout 600 bash "$t" 2>&1 | tee "$out" | grep -E '^(ok|not ok|skip) - |^#' || true
		count_lines "kernel/$(basename "$t")" "$out"
		rm -f "$out"
	done
}

run_vm() {
	local out
	out=$(mktemp)
	echo "# vm"
	tools/vm/run.sh --build "$BUILD" \
		"$BUILD/agentguard-static=bin/agentguard" "$BUILD/tests/agprobe=bin/agprobe" \
		"$BUILD/tests/agfile=bin/agfile" \
		tests/lib.sh=aglib.sh tests/kernel/10-network.sh=network.sh \
		tests/kernel/manifests=manifests policies=policies \
		tests/kernel/50-files-lsm.sh=files-lsm.sh tests/kernel/65-adopt.sh=adopt.sh \
		tests/kernel/files-manifests=files-manifests \
		>"$out" 2>&1
	rc=$?
	grep -E '^(ok|not ok|skip) - |^#|error|^vm: ' "$out" || true
	f0=$F
	count_lines vm "$out"
	if [ "$rc" -ne 0 ] && [ "$F" -eq "$f0" ]; then
		echo "not ok - vm: tools/vm/run.sh failed (exit $rc); see $BUILD/vm/console.log"
		F=$((F + 1))
	fi
	rm -f "$out"
}

case $tier in
unit) run_unit ;;
kernel) run_kernel ;;
vm) run_vm ;;
all) run_unit; run_kernel; run_vm ;;
*) echo "run-tier.sh: unknown tier '$tier'" >&2; exit 2 ;;
esac

echo "$P passed, $F failed, $S skipped"
[ "$F" -eq 0 ]
