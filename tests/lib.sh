# tests/lib.sh: shared by the kernel tier (bash) and the vm tier (busybox sh).
# POSIX sh only. Every test gets its own agentguard root cgroup, state dir and
# socket, and cleans up cgroups and processes on exit, even when it fails.
#
#   . tests/lib.sh
#   ag_start_daemon policies/         # manifests dir; sets AG_* variables
#   ag_run ticket-summarizer agprobe connect 127.0.0.1 8080
#   check "allowed connect" "ok" "$out"
#
# Results are TAP-like lines: "ok - NAME" / "not ok - NAME: why" / "skip - NAME: why".

: "${AG_BIN:=${BUILD:-build}/agentguard}"
: "${AGPROBE:=${BUILD:-build}/tests/agprobe}"
AG_PIDS=""

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; }

# check NAME EXPECTED ACTUAL: equal strings
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "expected '$2', got '$3'"; fi
}

# check_grep NAME PATTERN FILE: FILE has a line matching the extended regex
check_grep() {
	if grep -Eq -- "$2" "$3"; then ok "$1"; else notok "$1" "no line matches /$2/ in $3"; fi
}

check_nogrep() {
	if grep -Eq -- "$2" "$3"; then notok "$1" "a line matches /$2/ in $3"; else ok "$1"; fi
}

cg2_mount() { awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo; }

# ag_start_daemon MANIFEST_DIR [CONFIG]: a daemon on a fresh root, state dir
# and socket; returns once it printed "ready" (or fails the test run).
ag_start_daemon() {
	AG_CG2=$(cg2_mount)
	[ -n "$AG_CG2" ] || { notok "setup" "no cgroup2 mount"; exit 1; }
	AG_TMP=$(mktemp -d /tmp/agentguard-test.XXXXXX)
	AG_ROOT="$AG_CG2/agentguard-test-$$-$(basename "$AG_TMP" | tr -dc 'a-zA-Z0-9')"
	AG_STATE="$AG_TMP/state"
	AG_SOCK="$AG_TMP/agentguard.sock"
	AG_OUT="$AG_TMP/daemon.out"
	export AG_ROOT AG_STATE AG_SOCK AGENTGUARD_SOCKET="$AG_SOCK"
	trap ag_cleanup EXIT
	trap 'exit 130' INT TERM
	ag_launch "$@"
}

# ag_launch MANIFEST_DIR [CONFIG]: (re)start the daemon on the current root,
# state dir and socket; returns once it printed "ready".
ag_launch() {
	set -- "$1" "${2:-}"
	: >"$AG_OUT"
	if [ -n "$2" ]; then
		"$AG_BIN" daemon --config "$2" --manifests "$1" --state-dir "$AG_STATE" \
			--socket "$AG_SOCK" --cgroup-root "$AG_ROOT" >"$AG_OUT" 2>&1 &
	else
		"$AG_BIN" daemon --manifests "$1" --state-dir "$AG_STATE" \
			--socket "$AG_SOCK" --cgroup-root "$AG_ROOT" >"$AG_OUT" 2>&1 &
	fi
	AG_DAEMON=$!
	i=0
	while ! grep -q '^ready$' "$AG_OUT" 2>/dev/null; do
		if ! kill -0 "$AG_DAEMON" 2>/dev/null; then
			notok "daemon starts" "it exited: $(cat "$AG_OUT")"
			exit 1
		fi
		i=$((i + 1))
		[ $i -lt 300 ] || { notok "daemon starts" "no 'ready' within 30 s"; exit 1; }
		sleep 0.1
	done
}

# ag_stop_daemon: SIGTERM and wait; its exit status in AG_DAEMON_RC.
ag_stop_daemon() {
	[ -n "${AG_DAEMON:-}" ] || return 0
	kill -TERM "$AG_DAEMON" 2>/dev/null
	wait "$AG_DAEMON"
	AG_DAEMON_RC=$?
	AG_DAEMON=""
}

# ag_bg CMD...: start a helper process (listener) we must kill at the end.
ag_bg() {
	"$@" &
	AG_PIDS="$AG_PIDS $!"
}

# ag_listen ADDR PORT [tcp|udp]: a listener outside every session, ready on return.
ag_listen() {
	f="$AG_TMP/listen.$2.$$"
	if [ "${3:-tcp}" = udp ]; then
		ag_bg sh -c "exec '$AGPROBE' udp-listen '$1' '$2' 600 >'$f'"
	else
		ag_bg sh -c "exec '$AGPROBE' listen '$1' '$2' 600 >'$f'"
	fi
	i=0
	while ! grep -q listening "$f" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || { notok "listener $1:$2" "not ready"; return 1; }
		sleep 0.05
	done
}

# ag_run AGENT CMD...: run CMD as a session of AGENT; prints its output.
ag_run() {
	a=$1; shift
	"$AG_BIN" run --agent "$a" --socket "$AG_SOCK" -- "$@"
}

# ag_events [ARGS...]: the committed log entries (waits for one commit).
ag_events() {
	sleep 1.3
	"$AG_BIN" events --state-dir "$AG_STATE" "$@"
}

# ag_tmpfile VAR: a new temporary file, its name in VAR; removed when the
# test exits, also when it fails before it could remove it itself.
ag_tmpfile() {
	_f=$(mktemp /tmp/agentguard-test-file.XXXXXX) || exit 1
	AG_TMPFILES="${AG_TMPFILES:-} $_f"
	trap ag_cleanup EXIT
	eval "$1=\$_f"
}

ag_cleanup() {
	rc=$?
	# shellcheck disable=SC2086 # a list of names without spaces
	[ -z "${AG_TMPFILES:-}" ] || rm -f $AG_TMPFILES
	ag_stop_daemon
	for p in $AG_PIDS; do kill "$p" 2>/dev/null; done
	for p in $AG_PIDS; do wait "$p" 2>/dev/null; done
	if [ -n "${AG_ROOT:-}" ] && [ -d "$AG_ROOT" ]; then
		# processes a failed test left in its own root only
		find "$AG_ROOT" -name cgroup.procs 2>/dev/null | while read -r f; do
			xargs -r kill -9 <"$f" 2>/dev/null
		done
		sleep 0.1
		find "$AG_ROOT" -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
	[ -n "${AG_TMP:-}" ] && [ "${AG_KEEP:-0}" != 1 ] && rm -rf "$AG_TMP"
	return $rc
}
