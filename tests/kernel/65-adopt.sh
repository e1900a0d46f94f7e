#!/bin/sh
# Labelled cgroups: `agentguard adopt` and the config's adopt list make a
# cgroup that something else made (here: the test, as systemd or a container
# runtime would) a session. Its processes are judged from then on, and its
# descendants too; agentguard never kills nor removes it.
set -u
if [ -z "${AG_LIB:-}" ]; then
	cd "$(dirname "$0")/../.." || exit 1
fi
. "${AG_LIB:-tests/lib.sh}"

M=$(mktemp -d /tmp/agentguard-adopt.XXXXXX)
P=$AGPROBE
net_agent() { # NAME [EXTRA-SPEC]
	printf 'apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: %s\n' "$1"
	printf '  owner: tests@example.com\nspec:\n  network:\n    egress:\n'
	printf '      default: deny\n      allow:\n        - cidr: [127.0.0.1/32]\n'
	printf '          ports: [18380]\n%s' "${2:-}"
}
net_agent ad-net '  session:
    users: [4101]
' >"$M/ad-net.yaml"
SECRET=/tmp/agentguard-adopt-secret-$$
echo secret >"$SECRET"
net_agent ad-files "  files:
    default: allow
    deny: [$SECRET]
" >"$M/ad-files.yaml"

ag_start_daemon "$M"
CG=$AG_CG2/agentguard-adopt-$$	# outside the agentguard root, like system.slice/x.service
CG2=$AG_CG2/agentguard-adopt2-$$
CG3=$AG_CG2/agentguard-adopt3-$$
cg_clean() { # kill what the test put in its cgroups, then remove them
	for c in "$CG/child" "$CG" "$CG2" "$CG3"; do
		[ -d "$c" ] || continue
		[ -e "$c/cgroup.kill" ] && echo 1 >"$c/cgroup.kill" 2>/dev/null
		for p in $(cat "$c/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	sleep 0.2
	for c in "$CG/child" "$CG" "$CG2" "$CG3"; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done
	[ -d "${DCG:-}" ] && rmdir "$DCG" 2>/dev/null
}
trap 'ag_cleanup; cg_clean; rm -rf "$M" "$SECRET"' EXIT
chmod 755 "$AG_TMP"	# the socket's directory: other users may reach the socket
ag_listen 127.0.0.1 18380
ag_listen 127.0.0.1 18381

# in_cg DIR CMD...: run CMD as a process of the cgroup DIR (as a unit's
# manager would start it there)
in_cg() { d=$1; shift; sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$d" "$@"; }
keep() { # DIR: a long-lived process in DIR (the unit's main process)
	sh -c 'echo $$ >"$0/cgroup.procs" && exec sleep 600' "$1" &
	i=0
	while [ -z "$(cat "$1/cgroup.procs" 2>/dev/null)" ] && [ $i -lt 100 ]; do
		i=$((i + 1)); sleep 0.02
	done
}
adopt() { "$AG_BIN" adopt --socket "$AG_SOCK" "$@"; }

mkdir "$CG"
keep "$CG"
check "before adoption: not judged" "ok" "$(in_cg "$CG" $P connect 127.0.0.1 18381)"
sid=$(adopt --agent ad-net "$CG" 2>&1); rc=$?
check "adopt: exit 0" "0" "$rc"
case $sid in ????????????????????????? | ??????????????????????????) ok "adopt prints the session id" ;;
*) notok "adopt prints the session id" "got '$sid'" ;; esac
check "adopted: allowed connect" "ok" "$(in_cg "$CG" $P connect 127.0.0.1 18380)"
check "adopted: denied connect" "err EPERM" "$(in_cg "$CG" $P connect 127.0.0.1 18381)"
mkdir "$CG/child"
check "adopted: a cgroup below it is judged too" "err EPERM" \
	"$(in_cg "$CG/child" $P connect 127.0.0.1 18381)"
check "outside it: still untouched" "ok" "$($P connect 127.0.0.1 18381)"
tok=$(in_cg "$CG" "$AG_BIN" token --socket "$AG_SOCK" 2>&1)
claims=$("$AG_BIN" token verify --state-dir "$AG_STATE" "$tok" 2>&1 | tr -d ' \n')
case $claims in *'"sub":"agent/ad-net"'*"\"sid\":\"$sid\""*) ok "a process of the adopted cgroup gets a token of the session" ;;
*) notok "a process of the adopted cgroup gets a token of the session" "got '$tok' / '$claims'" ;; esac
"$AG_BIN" status --json --socket "$AG_SOCK" | tr -d ' \n' >"$M/status"
check_grep "status: the adopted session, its cgroup" \
	"\"id\":\"$sid\",\"agent\":\"ad-net\",\"cgroup\":\"$CG\".*\"adopted\":true" "$M/status"

# refusals
out=$(adopt --agent ad-net "$CG" 2>&1); rc=$?
check "adopting it twice: refused" "1" "$rc"
case $out in *"overlaps session $sid"*) ok "adopting it twice: says why" ;;
*) notok "adopting it twice: says why" "got '$out'" ;; esac
check "adopting a cgroup below an adopted one: refused" "1" \
	"$(adopt --agent ad-net "$CG/child" >/dev/null 2>&1; echo $?)"
mkdir "$CG2"
out=$(adopt --agent ad-net "$CG2" 2>&1); rc=$?
check "an empty cgroup: refused" "1 agentguard: adopt: cannot adopt '$CG2' as 'ad-net': '$CG2' holds no processes" "$rc $out"
out=$(adopt --agent ad-net "$AG_ROOT" 2>&1); rc=$?
check "the agentguard root: refused" "1" "$rc"
case $out in *"inside the agentguard root"*) ok "the agentguard root: says why" ;;
*) notok "the agentguard root: says why" "got '$out'" ;; esac
out=$(adopt --agent ad-net "$AG_CG2" 2>&1); rc=$?
check "the cgroup2 mount itself: refused" "1" "$rc"
# the daemon's own cgroup: moved into one of ours for the check, then back
orig=$AG_CG2$(sed -n 's/^0:://p' "/proc/$AG_DAEMON/cgroup")
DCG=$AG_CG2/agentguard-adopt-daemon-$$
mkdir "$DCG" && echo "$AG_DAEMON" >"$DCG/cgroup.procs"
out=$(adopt --agent ad-net "$DCG" 2>&1); rc=$?
echo "$AG_DAEMON" >"$orig/cgroup.procs" && rmdir "$DCG"
check "the daemon's own cgroup: refused" "1" "$rc"
case $out in *"'$DCG' holds the agentguard daemon itself"*) ok "the daemon's own cgroup: says why" ;;
*) notok "the daemon's own cgroup: says why" "got '$out'" ;; esac
out=$(adopt --agent ad-net /tmp 2>&1); rc=$?
check "a directory that is no cgroup: refused" "1" "$rc"
out=$(adopt --agent nosuch "$CG2" 2>&1); rc=$?
check "an unknown agent: refused" "1 agentguard: adopt: cannot adopt a cgroup as 'nosuch': no such agent" "$rc $out"
if setpriv --version 2>/dev/null | grep -q util-linux; then
	out=$(setpriv --reuid=4101 --regid=4101 --clear-groups -- "$AG_BIN" adopt \
		--socket "$AG_SOCK" --agent ad-net "$CG2" 2>&1); rc=$?
	check "not root: refused" "1 agentguard: adopt: cannot adopt a cgroup: only root may (uid 4101)" \
		"$rc $out"
else
	echo "skip - adopt by a non-root user: no util-linux setpriv here"
fi
keep "$CG2"
if ag_events --type daemon.start | grep -q '"lsm/file_open":"attached"'; then
	check "files rules with BPF LSM: adopted" "0" \
		"$(adopt --agent ad-files "$CG2" >/dev/null 2>&1; echo $?)"
	out=$(in_cg "$CG2" cat "$SECRET" 2>&1); rc=$?
	check "files rules with BPF LSM: a denied file is refused in the adopted cgroup" "1" \
		"$([ "$rc" != 0 ] && [ "$out" != secret ] && echo 1 || echo "0 ($out)")"
	check "files rules with BPF LSM: other files are not" "ok" \
		"$(in_cg "$CG2" cat "$M/ad-net.yaml" >/dev/null && echo ok)"
else
	out=$(adopt --agent ad-files "$CG2" 2>&1); rc=$?
	check "files rules without BPF LSM: refused" "1" "$rc"
	case $out in *"need BPF LSM on an adopted cgroup"*) ok "files rules without BPF LSM: says why" ;;
	*) notok "files rules without BPF LSM: says why" "got '$out'" ;; esac
fi

# adopt -- CMD: the caller's own cgroup, then CMD in it (a unit's ExecStart)
mkdir "$CG3"
out=$(in_cg "$CG3" "$AG_BIN" adopt --agent ad-net --socket "$AG_SOCK" -- \
	sh -c "echo \$AGENTGUARD_SESSION; $P connect 127.0.0.1 18380; $P connect 127.0.0.1 18381; exit 7" 2>&1)
rc=$?
check "adopt -- CMD: CMD's exit status" "7" "$rc"
check "adopt -- CMD: CMD is judged from its start" "ok
err EPERM" "$(echo "$out" | tail -n 2)"
self_sid=$(echo "$out" | head -n 1)
case $self_sid in ?????????????????????????*) ok "adopt -- CMD: AGENTGUARD_SESSION is set" ;;
*) notok "adopt -- CMD: AGENTGUARD_SESSION is set" "got '$out'" ;; esac
gone() { # SID: until the session is no longer live (5 s)
	i=0
	while "$AG_BIN" status --json --socket "$AG_SOCK" | grep -q "\"$1\"" && [ $i -lt 100 ]; do
		i=$((i + 1)); sleep 0.05
	done
}
gone "$self_sid"
if setpriv --version 2>/dev/null | grep -q util-linux; then
	out=$(in_cg "$CG3" setpriv --reuid=4101 --regid=4101 --clear-groups -- "$AG_BIN" adopt \
		--agent ad-net --socket "$AG_SOCK" -- $P connect 127.0.0.1 18381 2>&1); rc=$?
	check "adopt -- CMD by a user session.users names (4101)" "1 err EPERM" "$rc $out"
	out=$(in_cg "$CG3" setpriv --reuid=4102 --regid=4102 --clear-groups -- "$AG_BIN" adopt \
		--agent ad-net --socket "$AG_SOCK" -- $P connect 127.0.0.1 18381 2>&1); rc=$?
	check "adopt -- CMD by a user it does not name (4102): refused" \
		"1 agentguard: adopt: cannot adopt this cgroup as 'ad-net': uid 4102 is not in session.users or session.groups" \
		"$rc $out"
fi

# the session ends when the cgroup empties; the cgroup stays
for p in $(cat "$CG/child/cgroup.procs" "$CG/cgroup.procs"); do kill "$p" 2>/dev/null; done
i=0
while "$AG_BIN" status --json --socket "$AG_SOCK" | grep -q "\"$sid\"" && [ $i -lt 100 ]; do
	i=$((i + 1)); sleep 0.05
done
check "emptied: the session ended" "no" \
	"$("$AG_BIN" status --json --socket "$AG_SOCK" | grep -q "\"$sid\"" && echo yes || echo no)"
check "emptied: the cgroup is left to its maker" "yes" "$([ -d "$CG" ] && echo yes || echo no)"
check "emptied: no longer judged" "ok" "$(in_cg "$CG" $P connect 127.0.0.1 18381)"

ev=$M/ev
ag_events >"$ev"
check_grep "logged: session.start of the adopted cgroup" \
	"\"type\":\"session.start\",\"decision\":\"allow\".*\"name\":\"ad-net\".*\"session\":\\{\"id\":\"$sid\".*\"adopted\":\\{\"cgroup\":\"$CG\",\"by\":\"agentguard adopt" "$ev"
check_grep "logged: the denied connect, attributed to the adopted session" \
	"\"type\":\"network.connect\",\"decision\":\"deny\".*\"name\":\"ad-net\".*\"id\":\"$sid\".*\"port\":18381" "$ev"
check_grep "logged: session.end when the cgroup emptied" \
	"\"type\":\"session.end\".*\"id\":\"$sid\".*\"reason\":\"cgroup empty\"" "$ev"

# The config's adopt list: adopted when it appears, again after a restart of
# the "unit"; a daemon stop leaves its processes alone.
ag_stop_daemon
cg_clean
cat >"$AG_TMP/config.yaml" <<EOF
adopt:
  - agent: ad-net
    cgroup: $CG
EOF
ag_launch "$M" "$AG_TMP/config.yaml"
mkdir "$CG"
keep "$CG"
first=
i=0
while [ -z "$first" ] && [ $i -lt 60 ]; do
	first=$("$AG_BIN" status --json --socket "$AG_SOCK" | tr -d ' \n' |
		grep -o "\"id\":\"[0-9A-Z]*\",\"agent\":\"ad-net\",\"cgroup\":\"$CG\"" | cut -d'"' -f4)
	i=$((i + 1)); sleep 0.1
done
[ -n "$first" ] && ok "config adopt: the cgroup is adopted once it holds a process" ||
	notok "config adopt: the cgroup is adopted once it holds a process" "not within 6 s"
check "config adopt: judged" "err EPERM" "$(in_cg "$CG" $P connect 127.0.0.1 18381)"
for p in $(cat "$CG/cgroup.procs"); do kill "$p" 2>/dev/null; done
sleep 0.5
keep "$CG"	# the unit restarts
second=
i=0
while { [ -z "$second" ] || [ "$second" = "$first" ]; } && [ $i -lt 60 ]; do
	second=$("$AG_BIN" status --json --socket "$AG_SOCK" | tr -d ' \n' |
		grep -o "\"id\":\"[0-9A-Z]*\",\"agent\":\"ad-net\",\"cgroup\":\"$CG\"" | cut -d'"' -f4)
	i=$((i + 1)); sleep 0.1
done
[ -n "$second" ] && [ "$second" != "$first" ] && ok "config adopt: a restarted unit is a new session" ||
	notok "config adopt: a restarted unit is a new session" "'$first' then '$second'"
check "config adopt: the new session is judged" "err EPERM" "$(in_cg "$CG" $P connect 127.0.0.1 18381)"
pid=$(head -n 1 "$CG/cgroup.procs")
ag_stop_daemon
check "daemon stop: the adopted cgroup's processes keep running" "yes" \
	"$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)"
"$AG_BIN" events --state-dir "$AG_STATE" --type session.end >"$ev"
check_grep "daemon stop: the adopted session's end is logged" \
	"\"type\":\"session.end\".*\"id\":\"$second\".*\"reason\":\"daemon stopped\"" "$ev"
