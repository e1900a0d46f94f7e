#!/bin/sh
# Process lineage: exec_id is stable across a process's events, a child's
# parent_exec_id is its parent's exec_id, and a parent that was already
# running when the daemon started is known too (its identity is its start
# time, as /proc/<pid>/stat field 22 gives it).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
trigger=$(mktemp -u /tmp/agentguard-trigger.XXXXXX)
# A shell started before the daemon: it waits, then starts an agent session.
sh -c 'while [ ! -e "$0" ]; do sleep 0.05; done; . "$0"' "$trigger" &
early=$!
AG_PIDS="$early"
start_ticks=$(awk '{print $22}' "/proc/$early/stat")
sleep 0.2
ag_start_daemon tests/kernel/manifests
ag_listen 127.0.0.1 18080
cat >"$trigger" <<EOS
"$AG_BIN" run --agent net-main --socket "$AG_SOCK" -- sh -c '"$AGPROBE" connect 127.0.0.1 18080 >/dev/null; true'
EOS
wait "$early"
rm -f "$trigger"
ev="$AG_TMP/ev"
ag_events --type process.exec >"$ev"

b64url() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
# the first exec in the session is `run` becoming sh: its parent is $early
sh_line=$(grep '"comm":"sh"' "$ev" | head -1)
pe=$(printf '%s' "$sh_line" | sed -n 's/.*"parent_exec_id":"\([^"]*\)".*/\1/p')
ppid=$(printf '%s' "$sh_line" | sed -n 's/.*"ppid":\([0-9]*\).*/\1/p')
check "the session's first exec names the pre-existing parent" "$early" "$ppid"
decoded=$(printf '%s' "$pe" | tr -- '-_' '+/' | awk '{ n = length($0) % 4; if (n) $0 = $0 substr("===", 1, 4 - n); print }' | base64 -d 2>/dev/null)
case $decoded in
"$(hostname):"*":$early") ok "a pre-existing parent has an exec_id (host:start time:pid)" ;;
*) notok "a pre-existing parent has an exec_id (host:start time:pid)" "decoded '$decoded'" ;;
esac
ns=${decoded#*:}; ns=${ns%:*}
check "its identity is its start time, /proc/<pid>/stat field 22 in ns" "$((start_ticks * 10000000))" "$ns"
sh_id=$(printf '%s' "$sh_line" | sed -n 's/.*"exec_id":"\([^"]*\)".*/\1/p')
probe_line=$(grep '"comm":"agprobe"' "$ev" | head -1)
check "a child's parent_exec_id is its parent's exec_id" "$sh_id" \
	"$(printf '%s' "$probe_line" | sed -n 's/.*"parent_exec_id":"\([^"]*\)".*/\1/p')"
probe_id=$(printf '%s' "$probe_line" | sed -n 's/.*"exec_id":"\([^"]*\)".*/\1/p')
conn=$("$AG_BIN" events --state-dir "$AG_STATE" --type network.connect | grep '"port":18080' | head -1)
check "the process's other events carry the same exec_id" "$probe_id" \
	"$(printf '%s' "$conn" | sed -n 's/.*"exec_id":"\([^"]*\)".*/\1/p')"
