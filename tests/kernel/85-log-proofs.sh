#!/bin/sh
# The signed log as a SOC uses it: a real daemon with a small rotate size,
# denied connects from sessions, then inclusion and consistency proofs
# checked by agentguard and by Go's reference packages (sumdb/note,
# sumdb/tlog: tests/tools/tlogcheck), `log verify --since` with a trusted
# older checkpoint (good), a forged one and one from a forked history (bad),
# `events` across rotation, and retention (logRetainFiles, logArchiveDir):
# what remains verifies, removed entries are told apart from missing ones.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

GO_CHECK=${BUILD:-build}/tests/tlogcheck
# The independent checker must build: no Go, no test (a failure, never a skip).
if out=$(tests/tools/tlogcheck/build.sh "$GO_CHECK" 2>&1); then
	ok "the Go checker (golang.org/x/mod/sumdb/note and tlog) builds offline"
else
	notok "the Go checker (golang.org/x/mod/sumdb/note and tlog) builds offline" "$out"
	exit 1
fi

ag_tmpfile cfg
printf 'logRotateBytes: 4096\n' >"$cfg"
ag_start_daemon tests/kernel/manifests "$cfg"
LOG=$AG_STATE/log
VKEY=$AG_STATE/keys/log.vkey
P=$AGPROBE

# denied connects (distinct ports: one entry each, whatever aggregation does)
denied() { # FROM TO
	n=0
	for port in $(seq "$1" "$2"); do
		[ "$(ag_run net-main $P connect 127.0.0.1 "$port")" = "err EPERM" ] && n=$((n + 1))
	done
	echo "$n"
}
check "denied connects, first batch" "12" "$(denied 18201 18212)"
sleep 1.3
cp "$LOG/checkpoint" "$AG_TMP/old.note"
S1=$(sed -n 2p "$AG_TMP/old.note")
check "denied connects, second batch" "18" "$(denied 18213 18230)"
ev="$AG_TMP/ev"
ag_events >"$ev"

nfiles=$(ls "$LOG"/entries-*.jsonl | wc -l)
if [ "$nfiles" -ge 4 ]; then ok "entries files rotate at logRotateBytes ($nfiles files)"
else notok "entries files rotate at logRotateBytes" "$nfiles files"; fi
n=$(grep -c . "$ev"); last=$(tail -1 "$ev" | sed 's/^{"seq":\([0-9]*\),.*/\1/')
check "events reads across rotation: seq 0..N-1 without gaps" "$((n - 1))" "$last"
check "events has every denied connect" "30" \
	"$(grep -c '"type":"network.connect","decision":"deny".*"port":182[0-3][0-9]' "$ev")"

# --- proofs -------------------------------------------------------------
seq_of() { grep "\"port\":$1," "$ev" | sed -n 's/^{"seq":\([0-9]*\),.*/\1/p' | head -1; }
i5=$(seq_of 18205)
"$AG_BIN" log proof --index "$i5" --state-dir "$AG_STATE" >"$AG_TMP/p5.json"
check "log proof exits 0" "0" "$?"
check_grep "the proof carries the entry, the path and the checkpoint" \
	"^\\{\"proof\":\"inclusion\",\"origin\":\"agentguard/[^\"]+\",\"leaf_index\":$i5,\"tree_size\":[0-9]+,\"leaf_hash\":\"[A-Za-z0-9+/=]{44}\",\"inclusion_path\":\\[\"[A-Za-z0-9+/=]{44}\".*\"checkpoint\":.*\"entry\":\"\\{\\\\\"seq\\\\\":$i5," \
	"$AG_TMP/p5.json"
out=$("$GO_CHECK" inclusion "$VKEY" "$AG_TMP/p5.json" 2>&1)
case $out in "ok inclusion index $i5 "*"entry checked)") ok "Go tlog.CheckRecord accepts the inclusion proof" ;;
*) notok "Go tlog.CheckRecord accepts the inclusion proof" "$out" ;; esac
# every sealed entry of the older checkpoint, against it
bad=0
for i in $(seq 0 $((S1 - 1))); do
	"$AG_BIN" log proof --index "$i" --size "$S1" "$LOG" >"$AG_TMP/pi.json" &&
		"$GO_CHECK" inclusion "$VKEY" "$AG_TMP/pi.json" >/dev/null 2>&1 || bad=$((bad + 1))
done
check "Go checks the proof of each of the $S1 entries in the older checkpoint" "0" "$bad"
python3 - "$AG_TMP/p5.json" "$AG_TMP/p5bad.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["inclusion_path"][0] = p["leaf_hash"]
json.dump(p, open(sys.argv[2], "w"))
EOF
out=$("$GO_CHECK" inclusion "$VKEY" "$AG_TMP/p5bad.json" 2>&1); rc=$?
check "Go rejects a tampered inclusion proof" "1" "$rc"
case $out in *"tlog.CheckRecord: invalid transparency proof"*) ok "Go says why" ;;
*) notok "Go says why" "$out" ;; esac

"$AG_BIN" log consistency --from "$S1" --state-dir "$AG_STATE" >"$AG_TMP/c.json"
check "log consistency exits 0" "0" "$?"
out=$("$GO_CHECK" consistency "$VKEY" "$AG_TMP/c.json" 2>&1)
case $out in "ok consistency $S1 -> "*) ok "Go tlog.CheckTree accepts the consistency proof" ;;
*) notok "Go tlog.CheckTree accepts the consistency proof" "$out" ;; esac
out=$("$GO_CHECK" note "$VKEY" "$AG_TMP/old.note" 2>&1)
check "Go note.Open accepts the older checkpoint" "ok note" "$(echo "$out" | cut -d' ' -f1,2)"
out=$("$GO_CHECK" leaves "$VKEY" "$LOG" 2>&1)
case $out in "ok leaves size "*) ok "Go tlog.TreeHash over the leaves store is the newest checkpoint's root" ;;
*) notok "Go tlog.TreeHash over the leaves store is the newest checkpoint's root" "$out" ;; esac

out=$("$AG_BIN" log proof --index abc --state-dir "$AG_STATE" 2>&1); rc=$?
check "a malformed proof request: usage error" "2" "$rc"
check "... that names the option" \
	"agentguard: log proof: invalid --index 'abc': expected a non-negative integer" "$out"

# --- verify --since ---------------------------------------------------------
out=$("$AG_BIN" log verify --state-dir "$AG_STATE" --since "$AG_TMP/old.note"); rc=$?
check "verify --since an older checkpoint passes" "0" "$rc"
case $out in *"since: the log grew from the trusted checkpoint (size $S1) to size "*) ok "verify --since says the log grew by appending only" ;;
*) notok "verify --since says the log grew by appending only" "$out" ;; esac
sed "2s/.*/$((S1 + 1))/" "$AG_TMP/old.note" >"$AG_TMP/forged.note"
out=$("$AG_BIN" log verify --state-dir "$AG_STATE" --since "$AG_TMP/forged.note" 2>&1); rc=$?
check "verify --since a forged checkpoint fails" "1" "$rc"
case $out in "agentguard: log verify: trusted checkpoint '$AG_TMP/forged.note': "*signature*) ok "... naming the file and the bad signature" ;;
*) notok "... naming the file and the bad signature" "$out" ;; esac
"$GO_CHECK" note "$VKEY" "$AG_TMP/forged.note" >/dev/null 2>&1
check "Go note.Open rejects the forged checkpoint too" "1" "$?"
printf 'garbage\n' >"$AG_TMP/garbage.note"
out=$("$AG_BIN" log verify --state-dir "$AG_STATE" --since "$AG_TMP/garbage.note" 2>&1); rc=$?
check "verify --since a file that is no checkpoint fails" "1" "$rc"
case $out in "agentguard: log verify: trusted checkpoint '$AG_TMP/garbage.note': "*) ok "... naming the file" ;;
*) notok "... naming the file" "$out" ;; esac

# A fork: the same key signs another history (a second daemon on a copy of
# the keys only). Its checkpoint is genuine but does not extend this log.
ag_stop_daemon
main_state=$AG_STATE
AG_STATE=$AG_TMP/fork
mkdir -p "$AG_STATE"
cp -a "$main_state/keys" "$AG_STATE/"
ag_launch tests/kernel/manifests
sleep 1.3
ag_stop_daemon
cp "$AG_STATE/log/checkpoint" "$AG_TMP/fork.note"
AG_STATE=$main_state
"$GO_CHECK" note "$VKEY" "$AG_TMP/fork.note" >/dev/null 2>&1
check "the forked checkpoint is validly signed by the log's key" "0" "$?"
out=$("$AG_BIN" log verify --state-dir "$AG_STATE" --since "$AG_TMP/fork.note"); rc=$?
check "verify --since a forked checkpoint fails" "1" "$rc"
case $out in "FAIL: trusted checkpoint: its root differs from the log's at size "*"forks from the trusted checkpoint)") ok "... and says the log forks" ;;
*) notok "... and says the log forks" "$out" ;; esac

# --- retention ----------------------------------------------------------------
printf 'logRotateBytes: 4096\nlogRetainFiles: 3\nlogArchiveDir: %s\n' "$AG_TMP/archive" \
	>"$AG_TMP/retain.yaml"
before=$(ls "$LOG"/entries-*.jsonl | wc -l)
ag_launch tests/kernel/manifests "$AG_TMP/retain.yaml"
check "denied connects, third batch" "6" "$(denied 18231 18236)"
sleep 2.5	# a commit, then retention
# stopped, so that no later round changes the files while they are read
ag_stop_daemon
check "daemon stops cleanly" "0" "$AG_DAEMON_RC"
nfiles=$(ls "$LOG"/entries-*.jsonl | wc -l)
if [ "$nfiles" -le 3 ]; then ok "retention keeps at most logRetainFiles entries files ($before -> $nfiles)"
else notok "retention keeps at most logRetainFiles entries files" "$nfiles files"; fi
narch=$(ls "$AG_TMP/archive"/entries-*.jsonl 2>/dev/null | wc -l)
if [ "$narch" -ge 1 ]; then ok "older files are moved to logArchiveDir ($narch)"
else notok "older files are moved to logArchiveDir" "none there"; fi
"$AG_BIN" events --state-dir "$AG_STATE" >"$ev.2"
first=$(head -1 "$ev.2" | sed 's/^{"seq":\([0-9]*\),.*/\1/')
# (older log.retention entries may have gone with the files of a later round)
check_grep "retention is recorded in the log, up to the first entry kept" \
	"\"type\":\"log.retention\",\"retention\":\\{\"action\":\"archive\",\"files\":[0-9]+,\"first_seq\":[0-9]+,\"end_seq\":$first,\"archive_dir\":\"$AG_TMP/archive\"\\}" "$ev.2"
n=$(grep -c . "$ev.2"); last=$(tail -1 "$ev.2" | sed 's/^{"seq":\([0-9]*\),.*/\1/')
check "events reads what remains, without gaps" "$((last - first + 1))" "$n"
out=$("$AG_BIN" log verify --state-dir "$AG_STATE"); rc=$?
check "log verify passes after retention" "0" "$rc"
case $out in *"removed: entries 0..$((first - 1)) were removed by retention"*) ok "verify counts the entries removed by retention" ;;
*) notok "verify counts the entries removed by retention" "$out" ;; esac
out=$("$AG_BIN" log verify --state-dir "$AG_STATE" --since "$AG_TMP/old.note"); rc=$?
check "verify --since the older checkpoint still passes after retention" "0" "$rc"
out=$("$GO_CHECK" leaves "$VKEY" "$LOG" 2>&1)
case $out in "ok leaves size "*) ok "Go: the leaves store still gives the signed root after retention" ;;
*) notok "Go: the leaves store still gives the signed root after retention" "$out" ;; esac
"$AG_BIN" log proof --index 1 --state-dir "$AG_STATE" >"$AG_TMP/p1.json"
check "a removed entry still has an inclusion proof" "0" "$?"
out=$("$GO_CHECK" inclusion "$VKEY" "$AG_TMP/p1.json" 2>&1)
case $out in "ok inclusion index 1 "*"no entry)") ok "Go checks the proof of a removed entry" ;;
*) notok "Go checks the proof of a removed entry" "$out" ;; esac
# a file removed behind retention's back is missing, not retained
oldest=$(ls "$LOG"/entries-*.jsonl | head -1)
mv "$oldest" "$AG_TMP/aside.jsonl"
out=$("$AG_BIN" log verify --state-dir "$AG_STATE"); rc=$?
check "verify fails when an entries file is removed without retention" "1" "$rc"
case $out in "FAIL: entry $first: missing: entries $first.."*"were removed, but the log's retention records cover only entries 0..$((first - 1))") ok "... and says which entries are missing" ;;
*) notok "... and says which entries are missing" "$out" ;; esac
mv "$AG_TMP/aside.jsonl" "$oldest"
# a sealed entries file cut short is named
cp "$oldest" "$AG_TMP/aside.jsonl"
head -c 1000 "$AG_TMP/aside.jsonl" >"$oldest"
out=$("$AG_BIN" log verify --state-dir "$AG_STATE"); rc=$?
check "verify fails on a truncated entries file" "1" "$rc"
case $out in "FAIL: entry "*) ok "... naming the entry ($out)" ;;
*) notok "... naming the entry" "$out" ;; esac
cp "$AG_TMP/aside.jsonl" "$oldest"

out=$("$AG_BIN" log verify --state-dir "$AG_STATE"); rc=$?
check "log verify passes at the end" "0" "$rc"
