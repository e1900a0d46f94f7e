#!/usr/bin/env bash
# The agentguard demo: the daemon with the example manifests in policies/, an
# agent (a Python tool) that tries allowed and forbidden things: network
# (loopback only), files, exec, a sub-agent; then the event stream and
# `log verify`.
#
# It runs in a private mount namespace so that the paths the manifests name
# (/usr/local/bin/agentguard, /srv/tickets/) exist for the demo without
# touching the host: tmpfs mounts there are seen by the demo only. Its cgroup
# root and state dir are its own and are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (it loads BPF programs)" >&2; exit 1; }
[ -x "$BUILD/agentguard" ] && [ -x "$BUILD/tests/agprobe" ] ||
	{ echo "demo: build first: make all $BUILD/tests/agprobe" >&2; exit 1; }
if [ -z "${AG_DEMO_NS:-}" ]; then
	AG_DEMO_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

mount -t tmpfs -o mode=0755 agentguard-demo /usr/local/bin
install -m 0755 "$BUILD/agentguard" /usr/local/bin/agentguard
mkdir -p /srv && mount -t tmpfs -o mode=0755 agentguard-demo /srv
mkdir -p /srv/tickets && printf 'ticket 1: printer on fire\n' >/srv/tickets/1.txt
AG=/usr/local/bin/agentguard
PROBE=$BUILD/tests/agprobe

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
	rm -rf "$work" /tmp/ticket-summarizer
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "validate the example manifests"
"$AG" manifest check policies/*.yaml

say "what this kernel offers (agentguard probe)"
"$AG" probe | sed -n '/^enforcement/,$p'

say "start the daemon (cgroup root $root)"
"$AG" daemon --manifests policies --state-dir "$state" --socket "$sock" \
	--cgroup-root "$root" >"$work/daemon.out" 2>&1 &
daemon=$!
for _ in $(seq 150); do grep -q '^ready$' "$work/daemon.out" && break; sleep 0.1; done
grep -q '^ready$' "$work/daemon.out" || { cat "$work/daemon.out"; exit 1; }
echo ready

for l in "127.0.0.1 8080" "127.0.0.1 9000" "127.0.0.1 4444" "127.0.0.2 8080"; do
	$PROBE listen $l 120 >/dev/null & pids+=($!)
done
sleep 0.3

# The agent: a Python tool, in a path its manifest lets it read.
cat >/srv/tickets/agent.py <<'PY'
import os, socket, subprocess, sys

def show(what, fn):
    try:
        r = fn()
        print(f"  {what:<68} -> {r if r else 'ok'}")
    except OSError as e:
        print(f"  {what:<68} -> {type(e).__name__}: {os.strerror(e.errno)}")

def connect(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.connect((host, port))

def bind(port):
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))

def read(path):
    with open(path) as f:
        return "read %d bytes" % len(f.read())

def write(path):
    with open(path, "w") as f:
        f.write("summary\n")

def run(*argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    out = (p.stdout + p.stderr).strip().splitlines()
    return f"exit {p.returncode}" + (f": {out[-1]}" if out else "")

me = sys.argv[1]
if me == "summarizer":
    show("fetch tickets from 127.0.0.1:8080 (allowed)", lambda: connect("127.0.0.1", 8080))
    show("call the ticket API on 127.0.0.1:9000 (allowed range)", lambda: connect("127.0.0.1", 9000))
    show("exfiltrate to 127.0.0.1:4444 (not allowed)", lambda: connect("127.0.0.1", 4444))
    show("reach 127.0.0.2 (explicitly denied)", lambda: connect("127.0.0.2", 8080))
    show("same, via IPv4-mapped IPv6 ::ffff:127.0.0.2", lambda: connect("::ffff:127.0.0.2", 8080))
    show("listen on 8081 (bind allowed)", lambda: bind(8081))
    show("listen on 2222 (bind not allowed)", lambda: bind(2222))
    show("read /srv/tickets/1.txt (files.read)", lambda: read("/srv/tickets/1.txt"))
    show("read /etc/shadow (files.deny)", lambda: read("/etc/shadow"))
    show("write /tmp/ticket-summarizer/out.txt (files.write)", lambda: write("/tmp/ticket-summarizer/out.txt"))
    show("write /srv/tickets/1.txt (read-only)", lambda: write("/srv/tickets/1.txt"))
    show("run /usr/bin/id (not in exec.allow)", lambda: run("/usr/bin/id"))
    ag = "/usr/local/bin/agentguard"
    show("sub-agent ticket-fetcher -> 127.0.0.1:9000",
         lambda: run(ag, "run", "--agent", "ticket-fetcher", "--", sys.executable, __file__, "fetcher", "9000"))
    show("sub-agent ticket-fetcher -> 127.0.0.1:8080 (parent allows, child not)",
         lambda: run(ag, "run", "--agent", "ticket-fetcher", "--", sys.executable, __file__, "fetcher", "8080"))
    show("start research-assistant as sub-agent (not delegated)",
         lambda: run(ag, "run", "--agent", "research-assistant", "--", "/usr/bin/true"))
elif me == "fetcher":
    connect("127.0.0.1", int(sys.argv[2]))
elif me == "research":
    show("exfiltrate to 127.0.0.1:4444 (audit: allowed, logged)", lambda: connect("127.0.0.1", 4444))
PY

export AGENTGUARD_SOCKET=$sock
mkdir -p /tmp/ticket-summarizer	# its scratch directory, provisioned by the platform
say "agent ticket-summarizer (enforce) tries things"
"$AG" run --agent ticket-summarizer -- /usr/bin/python3 /srv/tickets/agent.py summarizer
say "agent research-assistant (audit mode) does a forbidden thing"
"$AG" run --agent research-assistant -- /usr/bin/python3 /srv/tickets/agent.py research
printf '  %-68s -> %s\n' "a process outside every session -> 127.0.0.1:4444" "$($PROBE connect 127.0.0.1 4444)"

sleep 1.3
say "daemon status"
"$AG" status --socket "$sock" | sed '/^hooks:/,/^enforcement:/{/^enforcement:/!d}'
say "the decisions (agentguard events --format text)"
"$AG" events --state-dir "$state" --format text | grep -E ' (deny|audit) ' || true
echo "($("$AG" events --state-dir "$state" | wc -l) entries in all: agentguard events --state-dir ... shows every one)"
say "stop the daemon, then verify the signed log"
kill -TERM "$daemon"; wait "$daemon" || true; daemon=
"$AG" log verify --state-dir "$state"
echo "verifier key: $(cat "$state/keys/log.vkey")"
echo "newest checkpoint:"; sed 's/^/  /' "$state/log/checkpoint"
