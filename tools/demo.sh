#!/usr/bin/env bash
# The agentguard demo: the daemon with the example manifests in policies/, an
# agent that tries allowed and forbidden things (loopback only), a sub-agent,
# the event stream, and `log verify`. Runs on its own cgroup root and state
# dir and removes them at the end; nothing outside them is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
AG=$BUILD/agentguard
PROBE=$BUILD/tests/agprobe
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (it loads BPF programs)" >&2; exit 1; }
[ -x "$AG" ] && [ -x "$PROBE" ] || { echo "demo: build first: make all $PROBE" >&2; exit 1; }

cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
work=$(mktemp -d /tmp/agentguard-demo.XXXXXX)
root="$cg2/agentguard-demo-$$"
state="$work/state" sock="$work/agentguard.sock"
pids=()
cleanup() {
	[ -n "${daemon:-}" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -d "$root" ] && find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "validate the example manifests"
"$AG" manifest check policies/*.yaml

say "start the daemon (cgroup root $root)"
"$AG" daemon --manifests policies --state-dir "$state" --socket "$sock" \
	--cgroup-root "$root" >"$work/daemon.out" 2>&1 &
daemon=$!
for _ in $(seq 100); do grep -q '^ready$' "$work/daemon.out" && break; sleep 0.1; done
grep -q '^ready$' "$work/daemon.out" || { cat "$work/daemon.out"; exit 1; }
echo ready

for l in "127.0.0.1 8080" "127.0.0.1 9000" "127.0.0.1 4444" "127.0.0.2 8080"; do
	$PROBE listen $l 120 >/dev/null & pids+=($!)
done
sleep 0.3

try() { # description, command...
	local d=$1; shift
	printf '  %-66s -> %s\n' "$d" "$("$@" 2>&1)"
}
export AGENTGUARD_SOCKET=$sock
say "agent ticket-summarizer (enforce) tries things"
"$AG" run --agent ticket-summarizer -- sh -c "
	$(declare -f try)
	try 'fetch tickets from 127.0.0.1:8080 (allowed)' $PROBE connect 127.0.0.1 8080
	try 'call the ticket API on 127.0.0.1:9000 (allowed range)' $PROBE connect 127.0.0.1 9000
	try 'exfiltrate to 127.0.0.1:4444 (not allowed)' $PROBE connect 127.0.0.1 4444
	try 'reach 127.0.0.2 (explicitly denied)' $PROBE connect 127.0.0.2 8080
	try 'same, via IPv4-mapped IPv6 ::ffff:127.0.0.2' $PROBE connect ::ffff:127.0.0.2 8080
	try 'listen on 8081 (bind allowed)' $PROBE bind 127.0.0.1 8081
	try 'listen on 2222 (bind not allowed)' $PROBE bind 127.0.0.1 2222
	try 'start sub-agent ticket-fetcher -> 127.0.0.1:9000' $AG run --agent ticket-fetcher -- $PROBE connect 127.0.0.1 9000
	try 'sub-agent ticket-fetcher -> 127.0.0.1:8080 (parent allows, child not)' $AG run --agent ticket-fetcher -- $PROBE connect 127.0.0.1 8080
	try 'start research-assistant as sub-agent (not delegated)' $AG run --agent research-assistant -- true
"
say "agent research-assistant (audit mode) does the same forbidden thing"
"$AG" run --agent research-assistant -- sh -c "
	$(declare -f try)
	try 'exfiltrate to 127.0.0.1:4444 (audit: allowed, logged)' $PROBE connect 127.0.0.1 4444
"
try "a process outside every session -> 127.0.0.1:4444" $PROBE connect 127.0.0.1 4444

sleep 1.3
say "daemon status"
"$AG" status --socket "$sock"
say "the event stream: decisions and sessions (agentguard events --format text)"
"$AG" events --state-dir "$state" --format text | grep -Ev ' process\.(exec|exit) '
echo "(and $("$AG" events --state-dir "$state" --type process. | wc -l) process.exec/exit entries: agentguard events --type process.)"
say "stop the daemon, then verify the signed log"
kill -TERM "$daemon"; wait "$daemon" || true; daemon=
"$AG" log verify --state-dir "$state"
echo "verifier key: $(cat "$state/keys/log.vkey")"
echo "newest checkpoint:"; sed 's/^/  /' "$state/log/checkpoint"
