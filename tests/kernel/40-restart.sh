#!/bin/sh
# A daemon that dies (SIGKILL) mid-write: the next start recovers the torn
# log tail (and logs it), ends the sessions the dead daemon left running, and
# continues the chain: seq without gaps, log verify passes.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
ag_start_daemon tests/kernel/manifests
ag_run net-main sleep 120 &
runner=$!
AG_PIDS="$AG_PIDS $runner"
i=0
while [ -z "$(find "$AG_ROOT/net-main" -mindepth 1 -maxdepth 1 -type d 2>/dev/null)" ] && [ $i -lt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
sleep 1.2	# one commit
kill -9 "$AG_DAEMON"; wait "$AG_DAEMON" 2>/dev/null; AG_DAEMON=""
kill -0 "$runner" 2>/dev/null && ok "the session outlives a killed daemon" ||
	notok "the session outlives a killed daemon" "it is gone already"
last=$(ls "$AG_STATE"/log/entries-*.jsonl | tail -1)
printf '{"seq":999999,"time":"2026-' >>"$last"	# a torn write
ag_launch tests/kernel/manifests
check "the daemon starts again on the same state" "ready" "$(cat "$AG_OUT")"
i=0
while kill -0 "$runner" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$runner" 2>/dev/null; then notok "the left-over session is ended" "its process still runs"; else ok "the left-over session is ended"; fi
ev="$AG_TMP/ev"
ag_events >"$ev"
check_grep "the torn tail is recovered and logged" '"type":"log.recovered".*"reason":"torn tail of [0-9]+ bytes removed"' "$ev"
check_grep "the left-over session's end is logged" '"type":"session.end".*"reason":"left by a previous daemon"' "$ev"
check_nogrep "the torn line is gone" '"seq":999999' "$ev"
n=$(grep -c . "$ev"); last=$(tail -1 "$ev" | sed 's/^{"seq":\([0-9]*\),.*/\1/')
check "seq continues without gaps" "$((n - 1))" "$last"
check "two daemon.start entries" "2" "$(grep -c '"type":"daemon.start"' "$ev")"
"$AG_BIN" log verify --state-dir "$AG_STATE" >/dev/null
check "log verify passes after recovery" "0" "$?"
