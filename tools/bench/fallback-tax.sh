#!/bin/sh
# tools/bench/fallback-tax.sh [BUILD]: what the Landlock denial reporter
# (bpf/fallback.bpf.c, docs/fallback.md) costs processes outside every
# session. A daemon without agents is started with the reporter detached
# (fallbackDenialEvents: off), attached as per-syscall tracepoints
# (always + syscalls) and as tp_btf/sys_exit (always + sys_exit); in each, a
# getpid() loop and an open()+close() loop run outside every session (best of
# 5 rounds each, tests/tools/agfs.c). Three alternations; the medians and the
# ratios to "detached" are printed. Needs root; runs in a throwaway cgroup
# root, state dir and socket, removed at the end.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-${BUILD:-build}}
export BUILD
. tests/lib.sh
AGFS=$BUILD/tests/agfs
[ -x "$AGFS" ] || { echo "fallback-tax: no $AGFS (make $AGFS)" >&2; exit 1; }
N_GETPID=${N_GETPID:-2000000}
N_OPEN=${N_OPEN:-200000}

ag_start_daemon tests/kernel/manifests-files	# no *.yaml there: no agents
CFG=$AG_TMP/config.yaml
median() { sort -n | sed -n 2p; }

for round in 1 2 3; do
	for mode in none syscalls sys_exit; do
		case $mode in
		none) printf 'fallbackDenialEvents: "off"\n' >"$CFG" ;;
		syscalls) printf 'fallbackDenialEvents: always\nfallbackDenialHook: syscalls\n' >"$CFG" ;;
		sys_exit) printf 'fallbackDenialEvents: always\nfallbackDenialHook: sys_exit\n' >"$CFG" ;;
		esac
		ag_stop_daemon
		ag_launch tests/kernel/manifests-files "$CFG"
		"$AGFS" getpid "$N_GETPID" >>"$AG_TMP/getpid.$mode"
		"$AGFS" openloop /etc/hostname "$N_OPEN" >>"$AG_TMP/open.$mode"
	done
done

g0=$(median <"$AG_TMP/getpid.none")
o0=$(median <"$AG_TMP/open.none")
echo "reporter                      getpid ns  ratio   open+close ns  ratio"
for mode in none syscalls sys_exit; do
	g=$(median <"$AG_TMP/getpid.$mode")
	o=$(median <"$AG_TMP/open.$mode")
	awk -v m="$mode" -v g="$g" -v o="$o" -v g0="$g0" -v o0="$o0" 'BEGIN {
		name = m == "none" ? "detached" : m == "syscalls" ? "syscalls:sys_exit_* attached" : "tp_btf/sys_exit attached";
		printf "%-29s %9.1f  %5.2f   %13.1f  %5.2f\n", name, g, g / g0, o, o / o0 }'
done
