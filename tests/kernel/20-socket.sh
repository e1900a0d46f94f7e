#!/usr/bin/env bash
# The daemon socket under bad input: malformed, oversized, unknown, silent
# and flooding clients each get an error or a timeout, and the daemon keeps
# serving everyone else. Kernel tier only (uses python3 for raw sockets).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
ag_start_daemon tests/kernel/manifests
ag_listen 127.0.0.1 18080

req() { # send raw bytes, print the first response line (or "EOF")
	python3 - "$AG_SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(15); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode('unicode_escape').encode('latin-1'))
buf = b''
try:
    while b'\n' not in buf:
        d = s.recv(65536)
        if not d: break
        buf += d
except socket.timeout:
    print("TIMEOUT"); sys.exit()
print(buf.split(b'\n')[0].decode() if buf else "EOF")
PY
}

check_err() { # name, response, expected substring
	case $2 in *'"ok":false'*"$3"*) ok "$1" ;; *) notok "$1" "got '$2'" ;; esac
}
check_err "malformed JSON is an error" "$(req '{"op":\n')" "malformed request"
check_err "a JSON array is an error" "$(req '[1,2]\n')" "expected a JSON object"
check_err "op must be a string" "$(req '{"op":5}\n')" "'op' must be a string"
check_err "unknown op is an error" "$(req '{"op":"rm -rf"}\n')" "unknown op 'rm -rf'"
check_err "agent must be a string" "$(req '{"op":"session.start","agent":{}}\n')" "'agent' must be a string"
check_err "invalid agent name" "$(req '{"op":"session.start","agent":"../../etc"}\n')" "invalid agent name"
big=$(python3 -c 'print("{\"op\":\"" + "x" * 70000 + "\"}", end="")')
check_err "oversized frame is refused" "$(req "$big")" "request too large"
check_err "NUL bytes are malformed" "$(req '{"op":"status"\x00}\n')" "malformed request"

# A truncated frame (no newline) and a client that never sends: the daemon
# drops them after its timeout, and meanwhile serves others.
python3 - "$AG_SOCK" <<'PY' &
import socket, sys, time
socks = []
for i in range(40):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); socks.append(s)
socks[0].sendall(b'{"op":"sta')
time.sleep(12)
PY
flood=$!
sleep 0.5
out=$("$AG_BIN" status --socket "$AG_SOCK" 2>&1); rc=$?
check "status answered while 40 idle clients are connected" "0" "$rc"
check "a session starts while idle clients are connected" "ok" \
	"$(ag_run net-main "$AGPROBE" connect 127.0.0.1 18080)"
# 200 connections at once: beyond the client limit they get an error, never a hang
python3 - "$AG_SOCK" >"$AG_TMP/flood.out" <<'PY'
import socket, sys
socks, refused = [], 0
for i in range(200):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5); socks.append(s)
for s in socks:
    try:
        d = s.recv(4096)
        if b'too many clients' in d: refused += 1
    except socket.timeout:
        pass
print(refused)
PY
n=$(cat "$AG_TMP/flood.out")
if [ "${n:-0}" -gt 0 ]; then ok "clients past the limit are told 'too many clients'"; else notok "clients past the limit are told 'too many clients'" "got '$n'"; fi
wait $flood
out=$("$AG_BIN" status --socket "$AG_SOCK" 2>&1); rc=$?
check "the daemon still serves after the flood" "0" "$rc"
check "sessions still start after the flood" "ok" "$(ag_run net-main "$AGPROBE" connect 127.0.0.1 18080)"
# A client that sends request after request and never reads its answers: the
# daemon never blocks on it; once its socket buffer is full it is dropped,
# and everyone else is served meanwhile.
python3 - "$AG_SOCK" >"$AG_TMP/noread.out" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
sent, dropped = 0, False
try:
    for i in range(20000):
        s.sendall(b'{"op":"status"}\n'); sent += 1
except (BrokenPipeError, ConnectionResetError, socket.timeout):
    dropped = True
if not dropped:
    time.sleep(1)
    try:
        s.setblocking(False)
        while s.recv(1 << 20):
            pass
        dropped = False
    except BlockingIOError:
        pass
    except (ConnectionResetError, BrokenPipeError):
        dropped = True
    try:
        s.sendall(b'{"op":"status"}\n')
    except (BrokenPipeError, ConnectionResetError):
        dropped = True
print("dropped" if dropped else "kept", sent)
PY
noread=$!
sleep 0.3
out=$("$AG_BIN" status --socket "$AG_SOCK" 2>&1); rc=$?
check "status answered while a client floods requests and never reads" "0" "$rc"
wait $noread
case $(cat "$AG_TMP/noread.out") in
dropped*) ok "the client that never reads is dropped" ;;
*) notok "the client that never reads is dropped" "$(cat "$AG_TMP/noread.out")" ;;
esac
check "sessions still start after it" "ok" "$(ag_run net-main "$AGPROBE" connect 127.0.0.1 18080)"
check "session start without a daemon fails clearly" \
	"agentguard: run: cannot connect to '/nonexistent/sock': No such file or directory (is the daemon running?)" \
	"$("$AG_BIN" run --agent net-main --socket /nonexistent/sock -- true 2>&1)"
