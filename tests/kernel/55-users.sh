#!/bin/sh
# Who may act as an agent: `agentguard run` by unprivileged users (setpriv to
# uids and groups no account needs to exist for), against session.users and
# session.groups; the agent then runs as that user, in its session, enforced.
set -u
if [ -z "${AG_LIB:-}" ]; then
	cd "$(dirname "$0")/../.." || exit 1
fi
. "${AG_LIB:-tests/lib.sh}"

if ! command -v setpriv >/dev/null; then
	notok "setup" "setpriv (util-linux) not found"
	exit 1
fi
M=$(mktemp -d /tmp/agentguard-users.XXXXXX)
P=$AGPROBE
agent() { # NAME SESSION-YAML
	printf 'apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: %s\n' "$1"
	printf '  owner: tests@example.com\nspec:\n  network:\n    egress:\n'
	printf '      default: deny\n      allow:\n        - cidr: [127.0.0.1/32]\n'
	printf '          ports: [18280]\n%s' "$2"
}
agent u-svc '  session:
    users: [4101]
    groups: [4201]
' >"$M/u-svc.yaml"
agent u-root '' >"$M/u-root.yaml"

ag_start_daemon "$M"
trap 'ag_cleanup; rm -rf "$M"' EXIT
chmod 755 "$AG_TMP"	# the socket's directory: every user may reach the socket
ag_listen 127.0.0.1 18280
ag_listen 127.0.0.1 18281

as() { # UID GID [GROUPS] -- CMD...: run CMD as that user, no other groups unless given
	u=$1 g=$2; shift 2
	if [ "$1" = -- ]; then
		shift
		setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@"
	else
		grp=$1; shift 2
		setpriv --reuid="$u" --regid="$g" --groups="$grp" -- "$@"
	fi
}
urun() { # UID GID [GROUPS] -- AGENT CMD...
	u=$1 g=$2; shift 2
	if [ "$1" = -- ]; then
		shift; a=$1; shift
		as "$u" "$g" -- "$AG_BIN" run --agent "$a" --socket "$AG_SOCK" -- "$@"
	else
		grp=$1; shift 2; a=$1; shift
		as "$u" "$g" "$grp" -- "$AG_BIN" run --agent "$a" --socket "$AG_SOCK" -- "$@"
	fi
}
body="id -u; $P connect 127.0.0.1 18280; $P connect 127.0.0.1 18281; cat /proc/self/cgroup"

out=$(urun 4101 4101 -- u-svc sh -c "$body" 2>&1); rc=$?
check "session.users: uid 4101 may run the agent" "0" "$rc"
check "the agent runs as uid 4101, enforced" "4101
ok
err EPERM" "$(echo "$out" | head -n 3)"
case $(echo "$out" | tail -n 1) in
*/u-svc/*) ok "the unprivileged agent is in its session cgroup" ;;
*) notok "the unprivileged agent is in its session cgroup" "cgroup '$(echo "$out" | tail -n 1)'" ;;
esac

out=$(urun 4102 4102 -- u-svc sh -c "$body" 2>&1); rc=$?
check "uid 4102 (not in users, not in groups): refused" "1" "$rc"
check "the refusal says why" \
	"agentguard: run: cannot start a session of 'u-svc': uid 4102 is not in session.users or session.groups" \
	"$out"

out=$(urun 4103 4103 4201 -- u-svc sh -c "$body" 2>&1); rc=$?
check "session.groups: a supplementary group 4201 admits uid 4103" "0" "$rc"
check "uid 4103's agent is enforced" "4103
ok
err EPERM" "$(echo "$out" | head -n 3)"

out=$(urun 4104 4201 -- u-svc id -u 2>&1); rc=$?
check "session.groups: primary group 4201 admits uid 4104" "0 4104" "$rc $out"

out=$(urun 4105 4105 4202 -- u-svc id -u 2>&1); rc=$?
check "a group not named (4202): refused" "1" "$rc"

out=$(urun 4101 4101 -- u-root id -u 2>&1); rc=$?
check "no session section: root only, uid 4101 refused" "1" "$rc"
check "root may run it" "0" "$(ag_run u-root id -u)"

# A refused user cannot slip into a session's cgroup by itself either.
: >"$AG_TMP/cg"
ag_run u-svc sh -c "sed -n 's/^0:://p' /proc/self/cgroup; sleep 3" >"$AG_TMP/cg" 2>&1 &
cgpid=$!
i=0
while [ ! -s "$AG_TMP/cg" ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
cg=$(head -n 1 "$AG_TMP/cg")
out=$(as 4102 4102 -- sh -c "echo \$\$ >'$AG_CG2$cg/cgroup.procs'" 2>&1); rc=$?
if [ -n "$cg" ] && [ "$rc" != 0 ]; then
	ok "an unprivileged user cannot move itself into a session cgroup"
else
	notok "an unprivileged user cannot move itself into a session cgroup" "cgroup '$cg', rc $rc"
fi
kill "$cgpid" 2>/dev/null
wait "$cgpid" 2>/dev/null

ag_events --type session.start >"$AG_TMP/ev"
check_grep "logged: the refusal, with the caller's uid" \
	'"type":"session.start","decision":"deny".*"uid":4102.*"reason":"uid 4102 is not in session.users or session.groups"' \
	"$AG_TMP/ev"
check_grep "logged: the allowed unprivileged session" \
	'"type":"session.start","decision":"allow".*"name":"u-svc".*"uid":4101' "$AG_TMP/ev"
