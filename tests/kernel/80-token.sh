#!/bin/sh
# Identity tokens end to end: a token taken inside a session verifies with
# `agentguard token verify` and with an independent JWT implementation
# (PyJWT with python3-cryptography, from Debian's packages, using only
# keys/jwks.json); its claims match what the daemon and /proc say; a
# sub-agent's token carries lineage and the RFC 8693 act chain; no token
# outside every session, for a session that has ended, or with a replaced
# generation; each issuance is logged by jti, never the token; a tampered
# token fails both verifiers.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
# Debian's interpreter: python3-jwt and python3-cryptography are installed
# for it (tools/install-deps.sh), whatever python3 comes first in PATH.
PY=/usr/bin/python3
if ! "$PY" -c 'import jwt, cryptography' 2>/dev/null; then
	notok "PyJWT is installed" "$PY cannot import jwt and cryptography (tools/install-deps.sh)"
	exit 1
fi
# The manifests are copied: the generation test below changes one.
mdir=$(mktemp -d /tmp/agentguard-tokman.XXXXXX)
cp tests/kernel/token-manifests/*.yaml "$mdir/"
ag_start_daemon "$mdir"
trap 'rc=$?; rm -rf "$mdir"; (exit $rc); ag_cleanup' EXIT
export AG_CG2
JWKS="$AG_STATE/keys/jwks.json"
T="$AG_TMP"

# pyjwt TOKEN AUD: PyJWT's verdict: {"header":..,"claims":..} or "ERROR: <why>"
pyjwt() {
	"$PY" - "$JWKS" "$1" "$2" <<'PY'
import json, sys, jwt
jwks, tok, aud = sys.argv[1:4]
try:
    keys = jwt.PyJWKSet.from_json(open(jwks).read()).keys
    hdr = jwt.get_unverified_header(tok)
    key = next(k for k in keys if k.key_id == hdr.get("kid"))
    claims = jwt.decode(tok, key.key, algorithms=["ES256"], audience=aud,
                        options={"require": ["exp", "iat", "nbf", "aud", "iss", "sub", "jti"]})
    print(json.dumps({"header": hdr, "claims": claims}, sort_keys=True))
except Exception as e:
    print("ERROR: %s: %s" % (type(e).__name__, e))
PY
}

# jget FILE PATH: the value at PATH (keys and indexes joined by '.'; in a
# list, NAME=VALUE picks the element whose NAME is VALUE); strings bare,
# anything else as JSON ("null" when absent)
jget() {
	"$PY" - "$1" "$2" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    if v is None or k == "":
        continue
    if isinstance(v, list):
        if "=" in k:
            f, want = k.split("=", 1)
            v = next((e for e in v if str(e.get(f)) == want), None)
        else:
            v = v[int(k)] if int(k) < len(v) else None
    else:
        v = v.get(k) if isinstance(v, dict) else None
print(v if isinstance(v, str) else json.dumps(v))
PY
}

# A session process: writes its session id, pid and start time (field 22
# of /proc/<pid>/stat: exec keeps it), then becomes `agentguard token`.
cat >"$T/tok.sh" <<'EOS'
# tok.sh PREFIX AGENTGUARD [AUDIENCE]
echo "$AGENTGUARD_SESSION" >"$1.sid"
echo $$ >"$1.pid"
awk '{ print $22 }' "/proc/$$/stat" >"$1.start"
stat -c %i "$AG_CG2$(sed -n 's/^0:://p' "/proc/$$/cgroup")" >"$1.cgino"
"$2" status --json >"$1.status"
if [ -n "${3:-}" ]; then exec "$2" token --audience "$3" >"$1.tok" 2>"$1.err"; fi
exec "$2" token >"$1.tok" 2>"$1.err"
EOS

check "token.key is mode 0600" "600" "$(stat -c %a "$AG_STATE/keys/token.key")"
check "jwks.json is mode 0644" "644" "$(stat -c %a "$JWKS")"

# ---- a token of a root session ---------------------------------------------
ag_run tok-main sh "$T/tok.sh" "$T/a" "$AG_BIN" svc.example
check "agentguard token in a session exits 0" "0:" "$?:$(cat "$T/a.err")"
tok=$(cat "$T/a.tok")
sid=$(cat "$T/a.sid")
"$AG_BIN" token verify --state-dir "$AG_STATE" --audience svc.example "$tok" >"$T/a.ours" 2>"$T/a.ours.err"
check "agentguard token verify accepts it" "0:" "$?:$(cat "$T/a.ours.err")"
pyjwt "$tok" svc.example >"$T/a.py"
case $(cat "$T/a.py") in
ERROR*) notok "PyJWT verifies it with jwks.json (ES256)" "$(cat "$T/a.py")" ;;
*) ok "PyJWT verifies it with jwks.json (ES256)" ;;
esac
check "both verifiers read the same claims" "same" "$("$PY" - "$T/a.ours" "$T/a.py" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))["claims"]
print("same" if a == b else "ours %s, pyjwt %s" % (a, b))
PY
)"
check "header alg" "ES256" "$(jget "$T/a.py" header.alg)"
check "header typ" "agent-id+jwt" "$(jget "$T/a.py" header.typ)"
check "header kid is the RFC 7638 thumbprint of the JWK" "$(jget "$T/a.py" header.kid)" \
	"$("$PY" - "$JWKS" <<'PY'
import base64, hashlib, json, sys
k = json.load(open(sys.argv[1]))["keys"][0]
t = json.dumps({m: k[m] for m in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
print(base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b"=").decode())
PY
)"
check "jwks.json has the key id" "$(jget "$T/a.py" header.kid)" "$(jget "$JWKS" keys.0.kid)"
check "iss is agentguard://<hostname>" "agentguard://$(hostname)" "$(jget "$T/a.py" claims.iss)"
check "sub is agent/<name>" "agent/tok-main" "$(jget "$T/a.py" claims.sub)"
check "aud is the requested audience" "svc.example" "$(jget "$T/a.py" claims.aud)"
check "sid is the session's id" "$sid" "$(jget "$T/a.py" claims.sid)"
check "sid is a live session in status" "$sid" "$(jget "$T/a.status" "sessions.id=$sid.id")"
check "gen is the generation status reports" "$(jget "$T/a.status" agents.name=tok-main.generation)" \
	"$(jget "$T/a.py" claims.gen)"
check "cgroup is the session's cgroup id in status" \
	"$(jget "$T/a.status" "sessions.id=$sid.cgroup_id")" "$(jget "$T/a.py" claims.cgroup)"
check "cgroup is the inode of the caller's cgroup directory" "$(cat "$T/a.cgino")" \
	"$(jget "$T/a.py" claims.cgroup)"
check "lineage is the session alone" "[\"$sid\"]" "$(jget "$T/a.py" claims.lineage)"
check "a root session's token has no act" "null" "$(jget "$T/a.py" claims.act)"
iat=$(jget "$T/a.py" claims.iat); exp=$(jget "$T/a.py" claims.exp)
check "exp - iat is the manifest's tokenTTL (2m)" "120" "$((exp - iat))"
check "nbf is iat" "$iat" "$(jget "$T/a.py" claims.nbf)"
now=$(date +%s)
if [ $((now - iat)) -ge 0 ] && [ $((now - iat)) -lt 30 ]; then ok "iat is now"; else notok "iat is now" "iat $iat, now $now"; fi
case $(jget "$T/a.py" claims.jti) in
????????????????????? | *[!A-Za-z0-9_-]*) notok "jti is 128 bits in base64url" "$(jget "$T/a.py" claims.jti)" ;;
??????????????????????) ok "jti is 128 bits in base64url" ;;
*) notok "jti is 128 bits in base64url" "$(jget "$T/a.py" claims.jti)" ;;
esac
check "att.pid is the caller's pid" "$(cat "$T/a.pid")" "$(jget "$T/a.py" claims.att.pid)"
check "att.uid, att.gid are the caller's" "$(id -u) $(id -g)" \
	"$(jget "$T/a.py" claims.att.uid) $(jget "$T/a.py" claims.att.gid)"
check "att.start_time is /proc/<pid>/stat field 22" "$(cat "$T/a.start")" \
	"$(jget "$T/a.py" claims.att.start_time)"
check "att.exe is the caller's executable" "$(readlink -f "$AG_BIN")" "$(jget "$T/a.py" claims.att.exe)"
check "att.exe_sha256 is its SHA-256" "$(sha256sum <"$AG_BIN" | cut -d' ' -f1)" \
	"$(jget "$T/a.py" claims.att.exe_sha256)"
printf '%s\n' "$tok" | "$AG_BIN" token verify --state-dir "$AG_STATE" --audience svc.example - >/dev/null
check "token verify reads '-' from stdin" "0" "$?"
out=$("$AG_BIN" token verify --key "$JWKS" "$tok" 2>&1); rc=$?
check "token verify: another audience is refused" \
	"1:agentguard: token verify: audience 'svc.example' does not match the expected 'agentguard'" "$rc:$out"
case $(pyjwt "$tok" agentguard) in ERROR*InvalidAudience*) ok "PyJWT: another audience is refused" ;;
*) notok "PyJWT: another audience is refused" "$(pyjwt "$tok" agentguard)" ;; esac

# ---- tampering -----------------------------------------------------------------
# the payload re-encoded for another agent, the signature kept; alg none;
# one character of the signature changed
"$PY" - "$tok" "$T/forged" <<'PY'
import base64, json, sys
h, p, s = sys.argv[1].split(".")
def d(x): return base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
def e(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
c = json.loads(d(p)); c["sub"] = "agent/tok-child"
forged = h + "." + e(json.dumps(c, separators=(",", ":")).encode()) + "." + s
hdr = json.loads(d(h)); hdr["alg"] = "none"
none = e(json.dumps(hdr, separators=(",", ":")).encode()) + "." + p + "."
sig = s[:10] + ("A" if s[10] != "A" else "B") + s[11:]
open(sys.argv[2] + ".sub", "w").write(forged)
open(sys.argv[2] + ".none", "w").write(none)
open(sys.argv[2] + ".sig", "w").write(h + "." + p + "." + sig)
PY
for kind in sub none sig; do
	f=$(cat "$T/forged.$kind")
	out=$("$AG_BIN" token verify --state-dir "$AG_STATE" --audience svc.example "$f" 2>&1); rc=$?
	case $kind in none) want="alg 'none' is refused" ;; *) want="bad signature" ;; esac
	case "$rc:$out" in "1:agentguard: token verify: $want"*) ok "tampered ($kind): agentguard refuses it" ;;
	*) notok "tampered ($kind): agentguard refuses it" "$rc:$out" ;; esac
	case $(pyjwt "$f" svc.example) in ERROR*) ok "tampered ($kind): PyJWT refuses it" ;;
	*) notok "tampered ($kind): PyJWT refuses it" "it verified" ;; esac
done

# ---- sub-agents: lineage and the act chain ------------------------------------
ag_run tok-main sh -c 'echo "$AGENTGUARD_SESSION" >"$1.sid"; exec "$2" run --agent tok-child -- sh "$3" "$4" "$2"' \
	sh "$T/p" "$AG_BIN" "$T/tok.sh" "$T/c"
psid=$(cat "$T/p.sid"); csid=$(cat "$T/c.sid")
ctok=$(cat "$T/c.tok")
pyjwt "$ctok" agentguard >"$T/c.py"
case $(cat "$T/c.py") in ERROR*) notok "PyJWT verifies a sub-agent's token" "$(cat "$T/c.py")" ;;
*) ok "PyJWT verifies a sub-agent's token" ;; esac
"$AG_BIN" token verify --state-dir "$AG_STATE" "$ctok" >/dev/null
check "agentguard verifies a sub-agent's token" "0" "$?"
check "sub-agent: sub is its own agent" "agent/tok-child" "$(jget "$T/c.py" claims.sub)"
check "sub-agent: sid is its session" "$csid" "$(jget "$T/c.py" claims.sid)"
check "sub-agent: lineage is parent, then itself" "[\"$psid\", \"$csid\"]" "$(jget "$T/c.py" claims.lineage)"
check "sub-agent: act is the parent session" "agent/tok-main $psid" \
	"$(jget "$T/c.py" claims.act.sub) $(jget "$T/c.py" claims.act.sid)"
check "sub-agent: the parent's act is the end of the chain" "null" "$(jget "$T/c.py" claims.act.act)"
check "sub-agent: exp - iat is its own tokenTTL (45s)" "45" \
	"$(($(jget "$T/c.py" claims.exp) - $(jget "$T/c.py" claims.iat)))"
check "sub-agent: gen is its own generation" "$(jget "$T/c.status" agents.name=tok-child.generation)" \
	"$(jget "$T/c.py" claims.gen)"
check "sub-agent: cgroup is its own session's" "$(jget "$T/c.status" "sessions.id=$csid.cgroup_id")" \
	"$(jget "$T/c.py" claims.cgroup)"
# three levels: the act chain nests
ag_run tok-main sh -c 'echo "$AGENTGUARD_SESSION" >"$1.sid"; exec "$2" run --agent tok-child -- sh -c "echo \"\$AGENTGUARD_SESSION\" >\"\$1.sid2\"; exec \"\$2\" run --agent tok-child -- sh \"\$3\" \"\$4\" \"\$2\"" sh "$1" "$2" "$3" "$4"' \
	sh "$T/g" "$AG_BIN" "$T/tok.sh" "$T/g3"
pyjwt "$(cat "$T/g3.tok")" agentguard >"$T/g3.py"
check "depth 3: lineage root, parent, self" \
	"[\"$(cat "$T/g.sid")\", \"$(cat "$T/g.sid2")\", \"$(cat "$T/g3.sid")\"]" "$(jget "$T/g3.py" claims.lineage)"
check "depth 3: act is the parent, its act the root" \
	"agent/tok-child $(cat "$T/g.sid2") agent/tok-main $(cat "$T/g.sid") null" \
	"$(jget "$T/g3.py" claims.act.sub) $(jget "$T/g3.py" claims.act.sid) $(jget "$T/g3.py" claims.act.act.sub) $(jget "$T/g3.py" claims.act.act.sid) $(jget "$T/g3.py" claims.act.act.act)"

# ---- refusals ------------------------------------------------------------------
out=$("$AG_BIN" token --socket "$AG_SOCK" 2>&1); rc=$?
case "$rc:$out" in "1:agentguard: token: cannot issue a token: pid "*" is in no agentguard session")
	ok "outside every session: exit 1 and a clear error" ;;
*) notok "outside every session: exit 1 and a clear error" "$rc:$out" ;; esac
out=$("$AG_BIN" token --socket "$AG_SOCK" --audience 'a b' 2>&1); rc=$?
check "an invalid audience is a usage error" "2" "$rc"

# A connection made inside a session, used after the session ended: a helper
# outside every session receives it (SCM_RIGHTS), waits until the session
# is gone, then asks for a token on it.
rm -f "$T/go"
"$PY" - "$T/pass.sock" "$T/go" >"$T/ended.out" 2>&1 <<'PY' &
import os, socket, sys, time
srv = socket.socket(socket.AF_UNIX); srv.bind(sys.argv[1]); srv.listen(1)
srv.settimeout(30)
c, _ = srv.accept()
msg, fds, flags, addr = socket.recv_fds(c, 16, 1)
conn = socket.socket(fileno=fds[0])
for i in range(300):
    if os.path.exists(sys.argv[2]): break
    time.sleep(0.1)
conn.settimeout(15)
conn.sendall(b'{"op":"token"}\n')
print(conn.recv(65536).decode().strip())
PY
helper=$!
AG_PIDS="$AG_PIDS $helper"
i=0; while [ ! -S "$T/pass.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
ag_run tok-main "$PY" -c '
import os, socket, sys
d = socket.socket(socket.AF_UNIX); d.connect(sys.argv[1])
p = socket.socket(socket.AF_UNIX); p.connect(sys.argv[2])
socket.send_fds(p, [b"x"], [d.fileno()])
open(sys.argv[3], "w").write(os.environ["AGENTGUARD_SESSION"])
' "$AG_SOCK" "$T/pass.sock" "$T/ended.sid"
esid=$(cat "$T/ended.sid")
i=0
while "$AG_BIN" status --json --socket "$AG_SOCK" | grep -q "\"$esid\"" && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
touch "$T/go"
wait "$helper"
case $(cat "$T/ended.out") in *'"ok":false'*'has exited'*) ok "a session that has ended gets no token" ;;
*) notok "a session that has ended gets no token" "$(cat "$T/ended.out")" ;; esac

# A changed manifest: a live session's next token carries the new generation
# (and TTL), never the replaced one.
rm -f "$T/reload"
cat >"$T/wait.sh" <<'EOS'
# wait.sh TRIGGER ARGS...: says it started, runs sh ARGS once TRIGGER exists
touch "$1.started"
while [ ! -e "$1" ]; do sleep 0.05; done
shift
exec sh "$@"
EOS
ag_run tok-main sh "$T/wait.sh" "$T/reload" "$T/tok.sh" "$T/r" "$AG_BIN" &
live=$!
AG_PIDS="$AG_PIDS $live"
i=0; while [ ! -e "$T/reload.started" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
old_gen=$(jget "$T/a.status" agents.name=tok-main.generation)
sed -i 's/tokenTTL: 2m/tokenTTL: 3m/' "$mdir/tok-main.yaml"
kill -HUP "$AG_DAEMON"
i=0
while [ "$("$AG_BIN" status --json --socket "$AG_SOCK" | "$PY" -c 'import json,sys; print(next(a["generation"] for a in json.load(sys.stdin)["agents"] if a["name"] == "tok-main"))')" = "$old_gen" ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
touch "$T/reload"
wait "$live"
pyjwt "$(cat "$T/r.tok")" agentguard >"$T/r.py"
new_gen=$(jget "$T/r.status" agents.name=tok-main.generation)
if [ "$new_gen" != "$old_gen" ] && [ "$(jget "$T/r.py" claims.gen)" = "$new_gen" ]; then
	ok "a live session's token after a reload carries the new generation"
else
	notok "a live session's token after a reload carries the new generation" \
		"old $old_gen, new $new_gen, token $(jget "$T/r.py" claims.gen)"
fi
check "and the new tokenTTL (3m)" "180" "$(($(jget "$T/r.py" claims.exp) - $(jget "$T/r.py" claims.iat)))"

# ---- the log --------------------------------------------------------------------
ev="$T/ev"
ag_events --type token.issued >"$ev"
jti=$(jget "$T/a.py" claims.jti)
check "one token.issued entry per token" "4" "$(grep -c . "$ev")"
check_grep "token.issued names the jti, audience, iat and exp" \
	"\"type\":\"token.issued\",\"agent\":\\{\"name\":\"tok-main\",\"generation\":\"$old_gen\"\\},\"session\":\\{\"id\":\"$sid\",\"lineage\":\\[\"$sid\"\\]\\},\"process\":\\{\"pid\":$(cat "$T/a.pid"),\"uid\":$(id -u),\"comm\":\"agentguard\",\"exe\":\"[^\"]*\"\\},\"token\":\\{\"jti\":\"$jti\",\"aud\":\"svc.example\",\"iat\":$iat,\"exp\":$exp\\}" "$ev"
check_grep "a sub-agent's token.issued carries its lineage" \
	"\"session\":\\{\"id\":\"$csid\",\"lineage\":\\[\"$psid\",\"$csid\"\\]\\}.*\"jti\":\"$(jget "$T/c.py" claims.jti)\"" "$ev"
found=0
for t in "$tok" "$ctok" "$(cat "$T/g3.tok")" "$(cat "$T/r.tok")"; do
	for part in "$t" "${t##*.}" "$(printf '%s' "$t" | cut -d. -f2)"; do
		grep -rqF -- "$part" "$AG_STATE/log" && found=$((found + 1))
	done
done
check "no token, payload or signature appears anywhere in the log" "0" "$found"
"$AG_BIN" log verify --state-dir "$AG_STATE" >/dev/null
check "log verify passes" "0" "$?"

# ---- the key survives a restart -------------------------------------------------
kid=$(jget "$JWKS" keys.0.kid)
ag_stop_daemon
ag_launch "$mdir"
check "a restarted daemon keeps its key" "$kid" "$(jget "$JWKS" keys.0.kid)"
"$AG_BIN" token verify --state-dir "$AG_STATE" --audience svc.example "$tok" >/dev/null
check "a token from before the restart still verifies" "0" "$?"
