#!/bin/sh
# tools/bench/vm-case.sh: benchmark 8 of `make bench`, run inside the VM tier's
# guest (Debian's 6.1 kernel, BPF LSM active) as /ag/cases/95-agbench.sh by
# tools/bench/vm-bench.sh. Not in tests/vm/cases/: `make test-vm` never runs it.
#
# With the statically linked agentguard (/ag/bin/agentguard), agbench
# (/ag/bin/agbench) and noop (/ag/bin/noop), and a session agent with
# AGB_RULES files rules (tools/bench/gen-files.sh, /ag/bench/gen-files.sh):
#
#   none      open loop before the daemon starts and after it stopped: no
#             agentguard program attached at all
#   rounds    AGB_ROUNDS interleaved rounds: openat+close of an allowed file
#             outside any session (daemon up: lsm/file_open runs and exits
#             early) vs in a session (the program resolves and judges the
#             path); then fork+exec of noop the same way
#   profile   one run of each loop outside and in sessions of variants of
#             the agent (deny rules exact, no deny rule, 8 rules, no files
#             section, neither files nor exec) under BPF_ENABLE_STATS: ns
#             per run of each BPF program
#
# Every result is one line "agbench-vm KEY=VALUE ..." for the host to parse,
# and a few "ok - bench/..." lines for the VM runner's verdict.
# Settings come from the kernel command line (tools/vm/run.sh AGVM_APPEND):
# AGB_ROUNDS (5), AGB_OPENS (20000), AGB_EXECS (200), AGB_RULES (1000).
. /ag/lib.sh
need_cmd agentguard bench/agentguard || exit 0
need_cmd agbench bench/agbench || exit 0
need_file /ag/bin/noop bench/noop || exit 0

R=${AGB_ROUNDS:-5}
N=${AGB_OPENS:-20000}
X=${AGB_EXECS:-200}
RULES=${AGB_RULES:-1000}
T=$AGVM_TMP
F=$T/fs/data/bench.txt
SOCK=$T/ag.sock
up() { cut -d' ' -f1 /proc/uptime; }
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p"; }
res() { echo "agbench-vm $*"; }

mkdir -p "$T/m"
gen() { # AGENT NRULES [VAR=VALUE...]: one more agent on the same tree
	a=$1 n=$2
	shift 2
	env GEN_REUSE=1 "$@" sh /ag/bench/gen-files.sh "$T/fs" "$n" "$T/m/$a.yaml" "$a" \
		/ag/bin/agbench /ag/bin/noop || { fail bench/setup "cannot generate agent $a"; exit 1; }
}
gen benchfs "$RULES"
# Variants for "where the time goes" (profile below): deny rules exact
# only; no deny rule; 8 rules; no files section; neither files nor exec.
gen bfs-exact "$RULES" GEN_DENY=exact
gen bfs-nodeny "$RULES" GEN_DENY=none
gen bfs-small 8 GEN_DENY=none
gen bfs-nofiles "$RULES" GEN_FILES=0
gen bfs-none "$RULES" GEN_FILES=0 GEN_EXEC=0
res "setup rules=$RULES rounds=$R opens=$N execs=$X uptime=$(up)"

# no agentguard at all
a=$(agbench open "$F" "$N") || { fail bench/open "open loop failed"; exit 1; }
res "none phase=before $a"

t0=$(up)
agentguard daemon --manifests "$T/m" --state-dir "$T/state" --socket "$SOCK" >"$T/daemon.log" 2>&1 &
dpid=$!
on_exit "kill $dpid 2>/dev/null"
if ! wait_line 150 "$T/daemon.log" '^ready$'; then
	fail bench/daemon "no 'ready' within 150 s: $(tail -3 "$T/daemon.log")"
	exit 1
fi
res "daemon ready_s=$(awk "BEGIN { print $(up) - $t0 }")"
ok bench/daemon-ready

ins() { agentguard run --agent benchfs --socket "$SOCK" -- "$@"; }
al=$(ins agbench open-try "$F")
de=$(ins agbench open-try "$T/fs/d/f0001")
res "check allowed_$al denied_$de"
case $de in
*EPERM*) mode=bpf-lsm ;;
*EACCES*) mode=landlock ;;
*open=ok*) mode=none ;;
*) mode=error ;;
esac
res "mode mode=$mode"
if [ "$mode" != bpf-lsm ] || ! echo "$al" | grep -q open=ok; then
	fail bench/enforced "files are not enforced by BPF LSM in a session: allowed '$al', denied '$de'"
	exit 1
fi
ok bench/enforced

ins agbench open "$F" 1000 >/dev/null	# warm-up
i=1
while [ $i -le "$R" ]; do
	if [ $((i % 2)) = 1 ]; then
		b=$(agbench open "$F" "$N"); a=$(ins agbench open "$F" "$N")
	else
		a=$(ins agbench open "$F" "$N"); b=$(agbench open "$F" "$N")
	fi
	res "open round=$i base=$(echo "$b" | kv ns_per_op) ag=$(echo "$a" | kv ns_per_op)"
	i=$((i + 1))
done
ok bench/open

# pinned to the last CPU, as on the host (tools/bench/agbench.c)
cpu=$(($(nproc) - 1))
i=1
while [ $i -le "$R" ]; do
	if [ $((i % 2)) = 1 ]; then
		b=$(agbench forkexec /ag/bin/noop "$X" $cpu); a=$(ins agbench forkexec /ag/bin/noop "$X" $cpu)
	else
		a=$(ins agbench forkexec /ag/bin/noop "$X" $cpu); b=$(agbench forkexec /ag/bin/noop "$X" $cpu)
	fi
	res "exec round=$i base=$(echo "$b" | kv ns_per_op) ag=$(echo "$a" | kv ns_per_op)"
	i=$((i + 1))
done
ok bench/exec

# Where the time goes: each BPF program's runs and ns per run (under
# BPF_ENABLE_STATS, which adds two clock reads per run), for the open loop
# outside any session and in a session of each agent variant, and for the
# exec loop outside, in benchfs and in bfs-none (a session without files
# and exec sections: the process tracepoints and events alone).
profile() { # LOOP WHERE CMD...
	lp=$1 wh=$2
	shift 2
	agbench bpf-profile "$@" | while read -r l; do
		case $l in
		prog*) res "profile loop=$lp where=$wh ${l#prog }" ;;
		*) res "profile-run loop=$lp where=$wh $l" ;;
		esac
	done
}
profile open outside agbench open "$F" "$N"
for a in benchfs bfs-exact bfs-nodeny bfs-small bfs-nofiles bfs-none; do
	profile open "$a" agentguard run --agent "$a" --socket "$SOCK" -- agbench open "$F" "$N"
done
profile exec outside agbench forkexec /ag/bin/noop "$X" $cpu
for a in benchfs bfs-none; do
	profile exec "$a" agentguard run --agent "$a" --socket "$SOCK" -- agbench forkexec /ag/bin/noop "$X" $cpu
done
ok bench/profile

kill -TERM "$dpid"
wait "$dpid"
a=$(agbench open "$F" "$N")
res "none phase=after $a"
res "done uptime=$(up)"
ok bench/done
