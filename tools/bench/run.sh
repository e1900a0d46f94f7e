#!/usr/bin/env bash
# tools/bench/run.sh [BUILD]: the agentguard benchmarks (`make bench`).
#
# Every number that depends on how busy this machine is, is a ratio against a
# baseline measured in the same run, interleaved A B / B A round by round,
# with the median over the rounds. Absolute numbers are printed beside them
# for context, and used alone only where the target is absolute (compile and
# load of 10k rules). BENCHMARKS.md explains how to read the table.
#
#   1. connect() latency from a session with 10,000 CIDR allow rules, against
#      the same loop run outside agentguard
#   2. ring buffer -> signed log throughput, sustained, with zero loss; and
#      the cost of a denied connect for context
#   3. daemon start to "ready" with 10k rules vs 1 rule; `manifest check`
#   4. daemon peak RSS and the kernel memory of its BPF maps
#
# Knobs (environment):
#   BENCH_ROUNDS=11         interleaved rounds of benchmark 1 (and of the
#                           denied-connect comparison)
#   BENCH_CONNECTS=10000    connects per round
#   BENCH_STARTS=5          daemon starts per manifest in benchmark 3
#   BENCH_EVENTS_SECS=30    duration of the sustained log run
#   BENCH_EVENTS_RATE=auto  offered events/s; auto: 90% of the capacity the
#                           probe measured, at most BENCH_EVENTS_RATE_MAX
#   BENCH_EVENTS_RATE_MAX=250000
#   BENCH_PROBE_SECS=5      duration of the capacity probe
#   BENCH_PROFILE=0         1: `perf record -g` the daemon during the
#                           sustained run; report in $BUILD/bench/
#   BENCH_TMPDIR=/tmp       state dirs; must be a real disk (fdatasync)
#   BENCH_KEEP=0            1: keep the temp dir (logs, daemon output)
#   BENCH_ONLY="start connect events"   a subset: start = 3; connect = 1,
#                           the denied-connect cost and 4; events = 2
#   BENCH_STRICT=0          1: exit 1 when a target is missed (else exit 0
#                           once the benchmarks ran; 1 on errors)
#
# Safety: every daemon gets its own throwaway cgroup root below the cgroup2
# mount, its own state dir and socket; traffic goes to 127.0.0.1 only; every
# loop is bounded by a count or a time; the EXIT trap kills what this script
# started and removes its cgroups and temp dir, also on failure.
set -euo pipefail

BUILD=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

ROUNDS=${BENCH_ROUNDS:-11}
CONNECTS=${BENCH_CONNECTS:-10000}
STARTS=${BENCH_STARTS:-5}
EV_SECS=${BENCH_EVENTS_SECS:-30}
EV_RATE=${BENCH_EVENTS_RATE:-auto}
EV_RATE_MAX=${BENCH_EVENTS_RATE_MAX:-250000}
PROBE_SECS=${BENCH_PROBE_SECS:-5}
PROFILE=${BENCH_PROFILE:-0}
TMPBASE=${BENCH_TMPDIR:-/tmp}
KEEP=${BENCH_KEEP:-0}
ONLY=${BENCH_ONLY:-start connect events}
STRICT=${BENCH_STRICT:-0}

AG=$top/$BUILD/agentguard
AGB=$top/$BUILD/bench/agbench
OUTDIR=$top/$BUILD/bench
T0_ALL=$(date +%s)

die() { echo "bench: $*" >&2; exit 1; }
say() { printf '%s\n' "$*" >&2; }

for n in ROUNDS CONNECTS STARTS EV_SECS EV_RATE_MAX PROBE_SECS; do
	[[ ${!n} =~ ^[0-9]+$ ]] && [ "${!n}" -ge 1 ] || die "invalid $n '${!n}' (a positive integer)"
done
for b in $ONLY; do
	case $b in start|connect|events) ;; *) die "unknown benchmark '$b' in BENCH_ONLY (start, connect, events)" ;; esac
done
[[ $EV_RATE == auto || $EV_RATE =~ ^[0-9]+$ ]] || die "invalid BENCH_EVENTS_RATE '$EV_RATE'"
[ "$(id -u)" = 0 ] || die "must run as root (it loads BPF programs and creates cgroups)"
[ -x "$AG" ] || die "no '$AG': run make first"

make -s -f tools/bench/bench.mk BUILD="$BUILD" >&2 || die "cannot build the bench helpers"

CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$CG2" ] || die "no cgroup2 mount in /proc/self/mountinfo"

T=$(mktemp -d "$TMPBASE/agentguard-bench.XXXXXX")
TAG=$(basename "$T" | tr -dc 'a-zA-Z0-9')
ROOTS=()	# cgroup roots to empty and remove at exit

# At exit: our background jobs still running (`jobs -p` lists only children
# of this shell not yet waited for, so no pid can have been reused), then
# whatever is left in our own cgroup roots.
cleanup() {
	local rc=$? p r f pids
	trap - EXIT INT TERM
	pids=$(jobs -p)
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for r in "${ROOTS[@]}"; do
		[ -d "$r" ] || continue
		# processes left in our own roots only
		find "$r" -name cgroup.procs 2>/dev/null | while read -r f; do
			xargs -r kill -9 <"$f" 2>/dev/null || true
		done
		sleep 0.1
		find "$r" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done
	if [ "$KEEP" = 1 ]; then say "bench: kept $T"; else rm -rf "$T"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A TCP port below the ephemeral range (no self-connect), free on 127.0.0.1.
pick_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 10000))
		if ! ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null | grep -q .; then
			echo "$p"; return
		fi
	done
	die "no free port found"
}
P_ALLOW=$(pick_port)
P_DENY=$(pick_port)
while [ "$P_DENY" = "$P_ALLOW" ]; do P_DENY=$(pick_port); done

# ---------------------------------------------------------------------------
# Manifests: agent "bench" with 10,000 CIDR allow rules (distinct /24 and /32
# prefixes, never loopback) plus one rule allowing 127.0.0.1 on the listener
# port; and the same agent with only that one rule.

gen_manifest() { # FILE NRULES
	awk -v n="$2" -v port="$P_ALLOW" 'BEGIN {
		print "# generated by tools/bench/run.sh: " n " CIDR rules + loopback"
		print "apiVersion: agentguard.io/v1"
		print "kind: Agent"
		print "metadata:"
		print "  name: bench"
		print "  owner: bench@example.com"
		print "spec:"
		print "  network:"
		print "    egress:"
		print "      default: deny"
		print "      allow:"
		print "        - cidr: [127.0.0.1/32]"
		print "          ports: [" port "]"
		print "          protocol: tcp"
		for (i = 0; i < n; i++) {
			k = int(i / 2)
			if (i % 2 == 0) {
				printf "        - cidr: [10.%d.%d.0/24]\n", int(k / 256), k % 256
				print  "          ports: [443, \"8000-8100\"]"
				print  "          protocol: tcp"
			} else {
				printf "        - cidr: [100.%d.%d.%d/32]\n", 64 + int(k / 65536), int(k / 256) % 256, k % 256
				print  "          ports: [443]"
			}
		}
	}' >"$1"
}
mkdir -p "$T/m10k" "$T/m1"
gen_manifest "$T/m10k/bench.yaml" 10000
gen_manifest "$T/m1/bench.yaml" 0
"$AG" manifest check "$T/m10k/bench.yaml" >/dev/null ||
	die "the generated 10k-rule manifest does not check"

# ---------------------------------------------------------------------------
# Helpers

# kv KEY LINE: the value of KEY=VALUE in a line of agbench output
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

median() { # numbers as arguments
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# range NUMBERS...: "[min..max]"
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "[%.4g..%.4g]", a, b }'; }

# calc EXPR: integers as integers, anything else to 4 significant digits
calc() { awk "BEGIN { v = ($1); if (v == int(v) && v < 1e15 && v > -1e15) printf \"%d\", v; else printf \"%.4g\", v }"; }

# start_daemon NAME MANIFEST_DIR: sets D_PID D_STATE D_SOCK D_ROOT D_OUT
start_daemon() {
	D_STATE=$T/state-$1
	D_SOCK=$T/$1.sock
	D_ROOT=$CG2/agentguard-bench-$TAG-$1
	D_OUT=$T/daemon-$1.out
	ROOTS+=("$D_ROOT")
	"$AG" daemon --manifests "$2" --state-dir "$D_STATE" --socket "$D_SOCK" \
		--cgroup-root "$D_ROOT" >"$D_OUT" 2>&1 &
	D_PID=$!
	for _ in $(seq 300); do
		grep -q '^ready$' "$D_OUT" 2>/dev/null && return 0
		kill -0 "$D_PID" 2>/dev/null || die "daemon '$1' exited: $(cat "$D_OUT")"
		sleep 0.05
	done
	die "daemon '$1' printed no 'ready' within 15 s"
}

stop_daemon() {
	kill -TERM "$D_PID" 2>/dev/null || true
	for _ in $(seq 300); do kill -0 "$D_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$D_PID" 2>/dev/null && { kill -KILL "$D_PID"; say "bench: daemon did not stop in 30 s"; }
	wait "$D_PID" 2>/dev/null || true
}

status_json() { "$AG" status --socket "$D_SOCK" --json; }
counter() { # NAME JSON
	python3 -c 'import json,sys; print(json.loads(sys.argv[2])["counters"][sys.argv[1]])' "$1" "$2"
}

in_session() { "$AG" run --agent bench --socket "$D_SOCK" -- "$@"; }

# max_gap CKPT_FILE T_START T_END: the longest time (ms) in which no new
# checkpoint appeared, from T_START until the first checkpoint at or after T_END
max_gap() {
	awk -v a="$2" -v z="$3" '
		{ t = substr($1, 6) + 0 }
		t > a { if (t - a > m) m = t - a; a = t; if (t >= z) exit }
		END { printf "%d\n", m / 1e6 }' "$1"
}

RES=()	# table rows: metric|baseline|agentguard|ratio|target|result
row() { RES+=("$1|$2|$3|$4|$5|$6"); }
verdict() { awk "BEGIN { exit !($1) }" && echo PASS || echo MISS; }

say "bench: temp $T, ports allow $P_ALLOW deny $P_DENY, cgroup2 at $CG2"

# ---------------------------------------------------------------------------
# 3. Daemon start to ready, 1 rule vs 10k rules (run first: a quiet machine)

bench_start() {
	say "bench 3: daemon start to ready, $STARTS starts of each (+1 warm-up), interleaved"
	declare -a R1 R10 H1 H10 M1 M10
	start_once() { # m1|m10k -> agbench startup line
		local root=$CG2/agentguard-bench-$TAG-start
		ROOTS+=("$root")
		"$AGB" startup "$T/start-$1.err" "$AG" daemon --manifests "$T/$1" \
			--state-dir "$T/state-start-$1" --socket "$T/start.sock" --cgroup-root "$root"
	}
	for i in $(seq 0 "$STARTS"); do
		if [ $((i % 2)) = 0 ]; then order="m1 m10k"; else order="m10k m1"; fi
		for m in $order; do
			l=$(start_once "$m") || die "daemon start with '$m' failed: $(cat "$T/start-$m.err")"
			[ "$(kv status "$l")" = 0 ] || die "daemon with '$m' exited $(kv status "$l"): $(cat "$T/start-$m.err")"
			[ "$i" = 0 ] && continue	# warm-up: creates keys, warms caches
			if [ "$m" = m1 ]; then
				R1+=("$(kv ready_us "$l")"); H1+=("$(kv hwm_kb "$l")"); M1+=("$(kv maps_memlock "$l")")
			else
				R10+=("$(kv ready_us "$l")"); H10+=("$(kv hwm_kb "$l")"); M10+=("$(kv maps_memlock "$l")")
			fi
		done
	done
	r1=$(median "${R1[@]}"); r10=$(median "${R10[@]}")
	diff_ms=$(calc "($r10 - $r1) / 1000")
	say "  ready us, 1 rule:   ${R1[*]}"
	say "  ready us, 10k rules: ${R10[*]}"
	row "daemon start to ready (ms)" "$(calc "$r1/1000")" "$(calc "$r10/1000")" \
		"+$diff_ms ms" "<= 150 ms added" "$(verdict "$diff_ms <= 150")"

	declare -a C1 C10
	for i in $(seq 0 "$STARTS"); do
		for m in m1 m10k; do
			l=$("$AGB" time /dev/null "$AG" manifest check "$T/$m/bench.yaml")
			[ "$(kv status "$l")" = 0 ] || die "manifest check of '$m' failed"
			[ "$i" = 0 ] && continue
			if [ "$m" = m1 ]; then C1+=("$(kv us "$l")"); else C10+=("$(kv us "$l")"); fi
		done
	done
	c1=$(median "${C1[@]}"); c10=$(median "${C10[@]}")
	row "manifest check, parse+compile (ms)" "$(calc "$c1/1000")" "$(calc "$c10/1000")" \
		"+$(calc "($c10 - $c1)/1000") ms" "info" "-"
	row "daemon VmHWM after ready (MiB)" "$(calc "$(median "${H1[@]}")/1024")" \
		"$(calc "$(median "${H10[@]}")/1024")" "$(calc "$(median "${H10[@]}")/$(median "${H1[@]}")")" "info" "-"
	row "BPF maps memlock (MiB)" "$(calc "$(median "${M1[@]}")/1048576")" \
		"$(calc "$(median "${M10[@]}")/1048576")" "$(calc "$(median "${M10[@]}")/$(median "${M1[@]}")")" "info" "-"
}

# ---------------------------------------------------------------------------
# 1. connect() latency with 10k rules vs outside agentguard

bench_connect() {
	say "bench 1: connect latency, $ROUNDS rounds x $CONNECTS connects, interleaved"
	"$AGB" listen 127.0.0.1 "$P_ALLOW" 3600 >"$T/listen.out" &
	LISTENER=$!
	for _ in $(seq 100); do grep -q listening "$T/listen.out" && break; sleep 0.05; done
	grep -q listening "$T/listen.out" || die "listener on 127.0.0.1:$P_ALLOW not ready"

	start_daemon main "$T/m10k"
	MAIN_PID=$D_PID
	declare -a BA AGL RAT BP AP
	base_run() { "$AGB" connect 127.0.0.1 "$P_ALLOW" "$CONNECTS"; }
	ag_run() { in_session "$AGB" connect 127.0.0.1 "$P_ALLOW" "$CONNECTS"; }
	base_run >/dev/null; ag_run >/dev/null	# warm-up
	for i in $(seq 1 "$ROUNDS"); do
		if [ $((i % 2)) = 1 ]; then
			b=$(base_run); a=$(ag_run)
		else
			a=$(ag_run); b=$(base_run)
		fi
		BA+=("$(kv ns_per_op "$b")"); AGL+=("$(kv ns_per_op "$a")")
		BP+=("$(kv p50 "$b")"); AP+=("$(kv p50 "$a")")
		RAT+=("$(calc "$(kv ns_per_op "$a") / $(kv ns_per_op "$b")")")
		say "  round $i: outside $(kv ns_per_op "$b") ns/op, in session $(kv ns_per_op "$a") ns/op"
	done
	ratio1=$(median "${RAT[@]}")
	row "connect() loopback, 10k rules (ns/op)" "$(median "${BA[@]}")" "$(median "${AGL[@]}")" \
		"$ratio1 $(range "${RAT[@]}")" "<= 1.05" "$(verdict "$ratio1 <= 1.05")"
	p50r=()
	for i in "${!BP[@]}"; do p50r+=("$(calc "${AP[$i]} / ${BP[$i]}")"); done
	row "  same, per-connect p50 (ns)" "$(median "${BP[@]}")" "$(median "${AP[@]}")" \
		"$(median "${p50r[@]}") $(range "${p50r[@]}")" "info" "-"

	# Denied connect: in a session (EPERM from the BPF program, one event each)
	# vs the same call outside (nothing listens: ECONNREFUSED).
	say "bench 2a: denied connect cost, $ROUNDS rounds, interleaved"
	declare -a DB DA DR
	for i in $(seq 1 "$ROUNDS"); do
		b=$("$AGB" deny-loop 127.0.0.1 "$P_DENY" "$CONNECTS")
		a=$(in_session "$AGB" deny-loop 127.0.0.1 "$P_DENY" "$CONNECTS")
		[ "$(kv eperm "$a")" = "$CONNECTS" ] || die "in a session, not every connect to :$P_DENY was refused: $a"
		DB+=("$(kv ns_per_op "$b")"); DA+=("$(kv ns_per_op "$a")")
		DR+=("$(calc "$(kv ns_per_op "$a") / $(kv ns_per_op "$b")")")
	done
	row "denied connect, socket+connect+close (ns/op)" "$(median "${DB[@]}") (refused)" \
		"$(median "${DA[@]}") (EPERM)" "$(median "${DR[@]}")" "info" "-"

	# 4. Memory of the daemon that enforced 10k rules and logged the rounds above
	say "bench 4: memory"
	"$AGB" mem "$MAIN_PID" >"$T/mem.out"
	memline=$(tail -1 "$T/mem.out")
	while read -r _ id _ _ ml; do
		id=${id#id=}; ml=${ml#memlock=}
		name=$(bpftool map show id "$id" 2>/dev/null | sed -n 's/^[0-9]*: [a-z_]*  name \([^ ]*\) .*/\1/p')
		say "  map ${name:-id $id}: memlock $ml bytes"
	done < <(grep '^map ' "$T/mem.out")
	st=$(status_json)
	row "daemon VmHWM, 10k rules, after bench 1 (MiB)" "-" "$(calc "$(kv hwm_kb "$memline")/1024")" "-" "info" "-"
	row "BPF maps memlock, 10k rules (MiB)" "-" "$(calc "$(kv maps_memlock "$memline")/1048576")" "-" "info" "-"
	lost_main=$(counter events_lost "$st")
	row "events lost during bench 1" "-" "$lost_main" "-" "= 0" "$(verdict "$lost_main == 0")"
	stop_daemon
	kill -TERM "$LISTENER" 2>/dev/null || true
	wait "$LISTENER" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# 2. Events: ring buffer -> durable signed log

bench_events() {
	say "bench 2: capacity probe, ${PROBE_SECS} s unpaced"
	start_daemon probe "$T/m10k"
	s0=$(counter log_entries "$(status_json)")
	"$AGB" ckpt-watch "$D_STATE/log/checkpoint" $((PROBE_SECS + 30)) >"$T/ckpt-probe.out" &
	CW=$!
	in_session "$AGB" storm 127.0.0.1 "$P_DENY" 0 "$PROBE_SECS" >"$T/probe.out" &
	SP=$!
	# A status request in the middle of the storm: how long a client waits.
	sleep $(calc "$PROBE_SECS / 2")
	q0=$("$AGB" now)
	if status_json >/dev/null 2>"$T/status-probe.err"; then
		qprobe=$(( ($("$AGB" now) - q0) / 1000000 ))
	else
		qprobe="no reply: $(sed 's/^agentguard: status: //' "$T/status-probe.err")"
	fi
	wait "$SP" || die "the probe's producer failed"
	probe=$(cat "$T/probe.out")
	# the daemon answers status once it has drained the ring buffer
	s2=$(status_json); t2=$("$AGB" now)
	logged=$(( $(counter log_entries "$s2") - s0 ))
	probe_lost=$(counter events_lost "$s2")
	prod=$(kv rate "$probe")
	say "  producer: $probe"
	say "  daemon logged $logged entries, lost $probe_lost; status mid-storm: $qprobe ms"
	if [ "$probe_lost" = 0 ]; then
		cap_txt=">= $prod (producer-bound, 0 lost)"
		cap=$prod
	else
		cap=$(calc "int($logged * 1e9 / ($t2 - $(kv t0_ns "$probe")))")
		cap_txt="$cap ($probe_lost lost)"
	fi
	# wait for the first checkpoint after the storm (at most 5 s)
	for _ in $(seq 50); do
		last=$(tail -1 "$T/ckpt-probe.out" | sed -n 's/t_ns=\([0-9]*\).*/\1/p')
		[ "${last:-0}" -gt "$(kv t1_ns "$probe")" ] && break
		sleep 0.1
	done
	pgap=$(max_gap "$T/ckpt-probe.out" "$(kv t0_ns "$probe")" "$(kv t1_ns "$probe")")
	stop_daemon
	kill -TERM "$CW" 2>/dev/null || true
	wait "$CW" 2>/dev/null || true
	rm -rf "$D_STATE"
	if [ "$EV_RATE" = auto ]; then
		rate=$(calc "int($cap * 0.9)")
		[ "$rate" -le "$EV_RATE_MAX" ] || rate=$EV_RATE_MAX
	else
		rate=$EV_RATE
	fi
	row "log append capacity, unpaced producer (entries/s)" "-" "$cap_txt" "-" "info" "-"
	row "  longest time without a checkpoint, unpaced (ms)" "-" "$pgap" "-" "<= 1500" "$(verdict "$pgap <= 1500")"
	row "  status reply during the unpaced storm (ms)" "-" "$qprobe" "-" "info" "-"

	say "bench 2: sustained, $rate events/s offered for $EV_SECS s"
	start_daemon events "$T/m10k"
	EV_STATE=$D_STATE
	"$AGB" ckpt-watch "$D_STATE/log/checkpoint" $((EV_SECS + 60)) >"$T/ckpt.out" &
	CW=$!
	if [ "$PROFILE" = 1 ]; then
		perf record -F 999 -g -o "$OUTDIR/daemon.perf.data" -p "$D_PID" -- sleep "$EV_SECS" \
			>"$T/perf.out" 2>&1 &
		PERF=$!
	fi
	s_before=$(counter log_entries "$(status_json)")
	in_session "$AGB" storm 127.0.0.1 "$P_DENY" "$rate" "$EV_SECS" >"$T/storm.out" &
	SP=$!
	sleep $(calc "$EV_SECS / 2")
	q0=$("$AGB" now)
	if status_json >/dev/null 2>"$T/status-mid.err"; then
		qmid=$(( ($("$AGB" now) - q0) / 1000000 ))
	else
		qmid="no reply: $(sed 's/^agentguard: status: //' "$T/status-mid.err")"
	fi
	wait "$SP" || die "the producer failed: $(cat "$T/storm.out")"
	[ "$PROFILE" = 1 ] && { wait "$PERF" || true; }
	storm=$(cat "$T/storm.out")
	say "  producer: $storm"
	# wait until a checkpoint seals every refused connect (at most 30 s)
	appended=$((s_before + $(kv eperm "$storm")))
	for _ in $(seq 300); do
		last=$(tail -1 "$T/ckpt.out" | sed -n 's/.*size=\([0-9]*\).*/\1/p')
		[ -n "$last" ] && [ "$last" -ge "$appended" ] && break
		sleep 0.1
	done
	if st=$(status_json 2>"$T/status-end.err"); then
		ev_lost=$(counter events_lost "$st")
	else
		ev_lost=-1	# unknown: fails the check below
		say "  status after the run failed: $(cat "$T/status-end.err")"
	fi
	stop_daemon
	kill -TERM "$CW" 2>/dev/null || true
	wait "$CW" 2>/dev/null || true

	st0=$(kv t0_ns "$storm"); st1=$(kv t1_ns "$storm"); attempts=$(kv attempts "$storm")
	eperm=$(kv eperm "$storm")
	offered=$(kv rate "$storm")
	# Sealed: when the first checkpoint covering every event of the run appeared.
	sealed_t=$(awk -v want="$appended" '{ if (substr($2, 6) + 0 >= want) { print substr($1, 6); exit } }' "$T/ckpt.out")
	[ -n "$sealed_t" ] || sealed_t=0
	maxgap=$(max_gap "$T/ckpt.out" "$st0" "$st1")
	e2e=$(calc "$sealed_t > 0 ? int($attempts * 1e9 / ($sealed_t - $st0)) : 0")
	lag_ms=$(calc "$sealed_t > 0 ? int(($sealed_t - $st1) / 1e6) : -1")

	logdir=$EV_STATE/log
	scan=$("$AGB" log-scan "$logdir")
	n_lines=$(kv lines "$scan"); n_deny=$(kv deny_connects "$scan")
	n_lostent=$(kv events_lost "$scan"); gaps=$(kv seq_bad "$scan")
	vl=$("$AGB" time "$T/verify.out" "$AG" log verify --state-dir "$EV_STATE")
	vrate=$(calc "int($n_lines * 1e6 / $(kv us "$vl"))")
	say "  log: $n_lines entries, $n_deny denied connects, $n_lostent events.lost entries, seq gaps $gaps"
	say "  verify: $(cat "$T/verify.out") ($(kv us "$vl") us)"
	lossless=$(verdict "$ev_lost == 0 && $n_lostent == 0 && $n_deny == $eperm && $gaps == 0 && $(kv status "$vl") == 0")
	# entries/s sealed: the refused connects over the time from the first
	# one to the checkpoint that covers the last one
	row "events -> signed log, sustained ${EV_SECS}s (entries/s)" "$offered offered" "$e2e sealed" \
		"$(calc "$e2e / $offered")" ">= 100000/s" "$(verdict "$e2e >= 100000")"
	row "  seal lag after the producer stopped (ms)" "-" "$lag_ms" "-" "info" "-"
	row "  longest time without a checkpoint (ms)" "-" "$maxgap" "-" "<= 1500" "$(verdict "$maxgap <= 1500")"
	row "  status reply during the run (ms)" "-" "$qmid" "-" "info" "-"
	row "  lost: counter / events.lost / logged vs refused" "-" \
		"$ev_lost / $n_lostent / $n_deny of $eperm" "-" "0 / 0 / all" "$lossless"
	row "  seq gaps; log verify" "-" "$gaps; $(sed "s/, root .*//" "$T/verify.out")" "-" "0; ok" \
		"$(verdict "$gaps == 0 && $(kv status "$vl") == 0")"
	row "log verify rate (entries/s)" "-" "$vrate" "-" "info" "-"
	row "log size of the run (MiB; bytes/entry)" "-" "$(calc "int($(kv bytes "$scan") / 1048576)")" \
		"$(calc "int($(kv bytes "$scan") / $n_lines)") B/entry" "info" "-"

	if [ "$PROFILE" = 1 ]; then
		wait "$PERF" || true
		{
			echo "# daemon CPU by object, then by symbol (perf record -F 999 -g, ${EV_SECS}s at $rate/s)"
			perf report -i "$OUTDIR/daemon.perf.data" --stdio 2>/dev/null | grep -m1 '^# Samples' || true
			perf report -i "$OUTDIR/daemon.perf.data" --no-children --sort dso --stdio 2>/dev/null |
				grep -E '^ +[0-9]' | head -10 || true
			perf report -i "$OUTDIR/daemon.perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
				grep -E '^ +[0-9]' | head -40 || true
		} >"$OUTDIR/daemon.perf.txt"
		say "bench: profile of the daemon in $OUTDIR/daemon.perf.txt"
	fi
}

# ---------------------------------------------------------------------------

rate=-
for b in $ONLY; do "bench_$b"; done

# ---------------------------------------------------------------------------
# The table

mkdir -p "$OUTDIR"
{
	echo "agentguard benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs," \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
	echo "rounds $ROUNDS x $CONNECTS connects, $STARTS daemon starts each, events ${EV_SECS}s at $rate/s offered," \
		"total $(( $(date +%s) - T0_ALL )) s"
	echo
	printf '%s\n' "metric|baseline|with agentguard|ratio|target|result" "${RES[@]}" |
		column -t -s '|' -o '  '
} | tee "$OUTDIR/results.txt"
misses=$(printf '%s\n' "${RES[@]}" | awk -F'|' '$6 == "MISS"' | wc -l)
echo
echo "$misses target(s) missed"
[ "$STRICT" != 1 ] || [ "$misses" = 0 ]
