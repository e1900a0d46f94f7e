#!/bin/sh
# Outputs for shippers, end to end, with a real daemon and real sessions:
#  - syslog over TCP (octet counting): every committed entry arrives exactly
#    once and in order, with the RFC 5424 header it should have, and every
#    checkpoint is mirrored byte for byte;
#  - syslog over UDP with format ocsf;
#  - a dead receiver (a unix socket nobody listens on) stalls nothing: the
#    daemon answers status, keeps logging and enforcing, counts and logs the
#    drops, and delivers once the receiver appears;
#  - `events --follow` across entry-file rotation, `--since-seq` from the
#    middle, and a follower restarted with --since-seq: no gap, no duplicate.
# python3 plays the syslog receiver (tests/tools/syslog_recv.py).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

RECV=tests/tools/syslog_recv.py
P=$AGPROBE
command -v python3 >/dev/null || { notok "python3" "not installed"; exit 1; }
W=$(mktemp -d /tmp/agentguard-outputs.XXXXXX)

# receiver KIND ADDR OUT: a syslog receiver, ready on return
receiver() {
	ag_bg sh -c "exec python3 $RECV listen $1 '$2' '$3' >'$3.ready' 2>&1"
	i=0
	while ! grep -q listening "$3.ready" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || { notok "receiver $1 $2" "not ready: $(cat "$3.ready")"; return 1; }
		sleep 0.05
	done
}
# traffic N BASE: a session of net-main connects to N ports from BASE (all
# denied): an exec, a connect and an exit each, none alike
traffic() {
	ag_run net-main sh -c "i=0; while [ \$i -lt $1 ]; do $P connect 127.0.0.1 \$(($2 + i)) >/dev/null; i=\$((i + 1)); done"
}
nentries() { cat "$AG_STATE"/log/entries-*.jsonl 2>/dev/null | grep -c .; }
# wait_lines FILE N: until FILE has at least N lines (10 s)
wait_lines() {
	i=0
	while [ "$(cat "$1" 2>/dev/null | wc -l)" -lt "$2" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || return 1
		sleep 0.1
	done
}
ncheckpoints() { grep -c '^— ' "$AG_STATE/log/checkpoints"; }
# same NAME WANT_FILE GOT_FILE: equal files (else where they part)
same() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		notok "$1" "$(wc -l <"$2") lines expected, $(wc -l <"$3") got; $(cmp "$2" "$3" 2>&1 | head -1)"
	fi
}
HOST=$(uname -n)

# ---- TCP, json, local3; small entry files for the followers ---------------
receiver tcp 127.0.0.1:18601 "$W/tcp.msgs" || exit 1
cat >"$W/a.yaml" <<EOF
logRotateBytes: 4096
syslog:
  target: tcp:127.0.0.1:18601
  facility: local3
EOF
ag_start_daemon tests/kernel/manifests "$W/a.yaml"
trap 'ag_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
pid_a=$AG_DAEMON
"$AG_BIN" events --state-dir "$AG_STATE" --follow >"$W/f1.out" 2>"$W/f1.err" &
f1=$!
"$AG_BIN" events --state-dir "$AG_STATE" --follow >"$W/f3a.out" 2>"$W/f3a.err" &
f3=$!
AG_PIDS="$AG_PIDS $f1 $f3"
traffic 40 21000
sleep 1.5
kill -TERM $f3; wait $f3
check "a follower stops cleanly on SIGTERM" "0" "$?"
last=$(tail -1 "$W/f3a.out" | sed 's/^{"seq":\([0-9]*\),.*/\1/')
[ -n "$last" ] && [ "$last" -gt 100 ] && ok "the first follower saw the first batch (to seq $last)" ||
	notok "the first follower saw the first batch" "its last seq is '$last'"
"$AG_BIN" events --state-dir "$AG_STATE" --follow --since-seq 5 >"$W/f2.out" 2>"$W/f2.err" &
f2=$!
AG_PIDS="$AG_PIDS $f2"
traffic 40 21100
"$AG_BIN" events --state-dir "$AG_STATE" --follow --since-seq "$last" >"$W/f3b.out" 2>"$W/f3b.err" &
f3=$!
AG_PIDS="$AG_PIDS $f3"
traffic 20 21200
check "a session still works while syslog runs" "err EPERM" "$(ag_run net-main $P connect 127.0.0.1 18081)"
ag_stop_daemon
check "the daemon stops cleanly" "0" "$AG_DAEMON_RC"
n=$(nentries)
cat "$AG_STATE"/log/entries-*.jsonl >"$W/all.jsonl"
nfiles=$(ls "$AG_STATE"/log/entries-*.jsonl | wc -l)
[ "$nfiles" -ge 20 ] && ok "the log rotated ($nfiles entry files for $n entries)" ||
	notok "the log rotated" "$nfiles entry files"
wait_lines "$W/tcp.msgs" $((n + $(ncheckpoints)))
python3 $RECV check "syslog tcp" "$W/tcp.msgs" "$AG_STATE" --exact --facility 19 \
	--pid "$pid_a" --host "$HOST" || notok "syslog tcp" "see above"
wait_lines "$W/f1.out" "$n"
same "events --follow printed every entry once, in order, across $nfiles files" \
	"$W/all.jsonl" "$W/f1.out"
wait_lines "$W/f2.out" $((n - 6))
sed -n '7,$p' "$W/all.jsonl" >"$W/after5.jsonl"
same "events --follow --since-seq 5 printed exactly the entries after 5" \
	"$W/after5.jsonl" "$W/f2.out"
wait_lines "$W/f3b.out" $((n - last - 1))
cat "$W/f3a.out" "$W/f3b.out" >"$W/f3.out"
same "a follower restarted with --since-seq: no gap, no duplicate" "$W/all.jsonl" "$W/f3.out"
check "the followers printed no error" "" "$(cat "$W/f1.err" "$W/f2.err" "$W/f3a.err" "$W/f3b.err")"
kill -TERM $f1 $f2 $f3
out=$("$AG_BIN" events --state-dir "$AG_STATE" --since-seq "$n" 2>&1); rc=$?
check "--since-seq past the last entry: an error" \
	"1 agentguard: events: --since-seq $n is beyond the end of the log (its last entry is $((n - 1)))" \
	"$rc $out"

# ---- UDP, ocsf, the default facility (auth) -------------------------------
receiver udp 127.0.0.1:18602 "$W/udp.msgs" || exit 1
cat >"$W/b.yaml" <<EOF
syslog: {target: "udp:127.0.0.1:18602", format: ocsf}
EOF
from=$(nentries)
ag_launch tests/kernel/manifests "$W/b.yaml"
pid_b=$AG_DAEMON
traffic 10 21300
check "udp: denied connect" "err EPERM" "$(ag_run net-main $P connect 127.0.0.1 18081)"
ag_stop_daemon
n=$(nentries)
wait_lines "$W/udp.msgs" $((n - from + 1))
python3 $RECV check "syslog udp ocsf" "$W/udp.msgs" "$AG_STATE" --from "$from" --exact \
	--facility 4 --pid "$pid_b" --host "$HOST" --format ocsf || notok "syslog udp ocsf" "see above"

# ---- a receiver that is not there: nothing stalls -------------------------
cat >"$W/c.yaml" <<EOF
syslog:
  target: unix:$W/dev-log
  queueBytes: 64KiB
EOF
from=$(nentries)
ag_launch tests/kernel/manifests "$W/c.yaml"
traffic 150 22000
sleep 1.2
t0=$(date +%s%N)
"$AG_BIN" status --json --socket "$AG_SOCK" >"$W/status.json"; rc=$?
t1=$(date +%s%N)
check "status answers while the receiver is away" "0" "$rc"
[ $(((t1 - t0) / 1000000)) -lt 2000 ] && ok "status answers at once ($(((t1 - t0) / 1000000)) ms)" ||
	notok "status answers at once" "it took $(((t1 - t0) / 1000000)) ms"
syslog_status() { # connected, whether it dropped, and its target
	python3 -c 'import json, sys; s = json.load(sys.stdin)["syslog"]
print(s["connected"], s["dropped"] > 0, s["target"])'
}
check "status: syslog not connected, drops counted" "False True unix:$W/dev-log" \
	"$(syslog_status <"$W/status.json")"
check_grep "the receiver's absence is reported on stderr" \
	"syslog: cannot connect to 'unix:$W/dev-log': .*\(retrying\)" "$AG_OUT"
check "the daemon keeps enforcing" "err EPERM" "$(ag_run net-main $P connect 127.0.0.1 18081)"
n1=$(nentries)
[ "$n1" -gt $((from + 400)) ] && ok "the daemon keeps logging ($((n1 - from)) entries)" ||
	notok "the daemon keeps logging" "$((n1 - from)) entries"
sleep 1.2
ag_events --type syslog.dropped >"$W/dropped"
check_grep "the drops are logged as syslog.dropped" \
	"\"type\":\"syslog.dropped\",\"count\":[1-9][0-9]*,\"checkpoints\":[0-9]+,\"output\":\"unix:$W/dev-log\"" \
	"$W/dropped"
receiver unix "$W/dev-log" "$W/unix.msgs" || exit 1
if wait_lines "$W/unix.msgs" 1; then
	ok "once the receiver is there, the output reconnects"
else
	notok "once the receiver is there, the output reconnects" "nothing within 10 s"
fi
traffic 5 22500
check "status: syslog connected again" "True True unix:$W/dev-log" \
	"$("$AG_BIN" status --json --socket "$AG_SOCK" | syslog_status)"
ag_stop_daemon
python3 $RECV check "syslog unix after an outage" "$W/unix.msgs" "$AG_STATE" --from "$from" \
	--ordered --facility 4 || notok "syslog unix after an outage" "see above"
"$AG_BIN" log verify --state-dir "$AG_STATE" >/dev/null
check "log verify passes" "0" "$?"
