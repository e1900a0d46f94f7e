#!/bin/sh
# Generations and reload, end to end: a manifest changed on disk is picked up
# by the daemon's directory watch (and, with watchManifests: false, by SIGHUP
# only); a valid change becomes the agent's new generation for new and live
# sessions at once; a change of comments, key order or whitespace is no new
# generation; an invalid change is rejected with file, line and column, and
# the old generation stays in force. Real connects to loopback listeners.
set -u
if [ -z "${AG_LIB:-}" ]; then
	cd "$(dirname "$0")/../.." || exit 1
fi
. "${AG_LIB:-tests/lib.sh}"

M=$(mktemp -d /tmp/agentguard-reload.XXXXXX)
GO=$M/go
P=$AGPROBE

manifest() { # PORT: agent rl may connect to 127.0.0.1 on PORT only
	printf 'apiVersion: agentguard.io/v1\nkind: Agent\nmetadata:\n  name: rl\n'
	printf '  owner: tests@example.com\nspec:\n  network:\n    egress:\n'
	printf '      default: deny\n      allow:\n        - cidr: [127.0.0.1/32]\n'
	printf '          ports: [%s]\n' "$1"
}
# The same document as `manifest 18180`, with comments, other key order,
# flow style and other whitespace: the same canonical form.
reordered() {
	cat <<'EOF'
# agent rl, rewritten by hand
kind:    Agent
apiVersion: agentguard.io/v1
spec:
  network:
    egress:
      allow:
        - {ports: [18180], cidr: ["127.0.0.1/32"]}   # the one listener
      default: deny
metadata: {owner: tests@example.com, name: rl}
EOF
}
# put FILE < content: replace atomically, as editors and config tools do
put() { cat >"$M/.tmp.$$" && mv "$M/.tmp.$$" "$M/$1"; }

gen() { # the generation of agent rl in `status --json`
	"$AG_BIN" status --json --socket "$AG_SOCK" | tr -d ' \n' |
		grep -o '"name":"rl","generation":"sha256:[0-9a-f]*"' | grep -o 'sha256:[0-9a-f]*'
}
count() { # TYPE: committed entries of that type about agent rl (or any, for rejected)
	"$AG_BIN" events --state-dir "$AG_STATE" --type "$1" 2>/dev/null | grep -c "${2:-}"
}
wait_count() { # TYPE PATTERN N: until at least N such entries are committed (10 s)
	i=0
	while [ "$(count "$1" "$2")" -lt "$3" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || return 1
		sleep 0.1
	done
}
# live OUT: a session of rl that connects to both ports, waits for $GO, and
# connects to both again; returns once the first half has run
live() {
	rm -f "$GO"
	: >"$1"
	ag_run rl sh -c "$P connect 127.0.0.1 18180; $P connect 127.0.0.1 18181; \
		while [ ! -e $GO ]; do sleep 0.05; done; \
		$P connect 127.0.0.1 18180; $P connect 127.0.0.1 18181" >"$1" 2>&1 &
	live_pid=$!
	i=0
	while [ "$(wc -l <"$1")" -lt 2 ]; do
		i=$((i + 1)); [ $i -lt 200 ] || break
		sleep 0.05
	done
}
live_end() { touch "$GO"; wait "$live_pid"; }

manifest 18180 | put rl.yaml
ag_start_daemon "$M"
trap 'ag_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$M"' EXIT
ag_listen 127.0.0.1 18180
ag_listen 127.0.0.1 18181

g0=$(gen)
case $g0 in sha256:????????????????????????????????????????????????????????????????) ok "generation is sha256 of the canonical form" ;;
*) notok "generation is sha256 of the canonical form" "got '$g0'" ;; esac
check "rl: 18180 allowed" "ok" "$(ag_run rl $P connect 127.0.0.1 18180)"
check "rl: 18181 denied" "err EPERM" "$(ag_run rl $P connect 127.0.0.1 18181)"
wait_count manifest.loaded '"name":"rl"' 1
n0=$(count manifest.loaded '"name":"rl"')

# Comments, key order, flow style and whitespace: the same generation.
reordered | put rl.yaml
sleep 1.5
check "comments, key order and whitespace: same generation" "$g0" "$(gen)"
check "comments, key order and whitespace: no manifest.loaded" "$n0" \
	"$(count manifest.loaded '"name":"rl"')"

# A valid change, seen by the directory watch: new and live sessions at once.
live "$M/live1.out"
manifest 18181 | put rl.yaml
if wait_count manifest.loaded '"name":"rl"' $((n0 + 1)); then
	ok "a changed file is reloaded without SIGHUP"
else
	notok "a changed file is reloaded without SIGHUP" "no new manifest.loaded in 10 s"
fi
g1=$(gen)
[ -n "$g1" ] && [ "$g1" != "$g0" ] && ok "a changed manifest is a new generation" ||
	notok "a changed manifest is a new generation" "'$g0' -> '$g1'"
live_end
check "live session: old rules before the change, new rules after" "ok
err EPERM
err EPERM
ok" "$(cat "$M/live1.out")"
check "new session: the new rules" "ok" "$(ag_run rl $P connect 127.0.0.1 18181)"
check "new session: the old allow is gone" "err EPERM" "$(ag_run rl $P connect 127.0.0.1 18180)"
check_grep "manifest.loaded records the old and the new generation" \
	"\"type\":\"manifest.loaded\".*\"generation\":\"$g1\".*\"previous_generation\":\"$g0\"" \
	"$("$AG_BIN" events --state-dir "$AG_STATE" --type manifest.loaded >"$M/ev" && echo "$M/ev")"
ag_events --type network.connect >"$M/ev"
check_grep "the live session's events carry the new generation" \
	"\"type\":\"network.connect\",\"decision\":\"deny\".*\"generation\":\"$g1\".*\"port\":18180" \
	"$M/ev"

# An invalid change: rejected, named by file, line and column; nothing changes.
r0=$(count manifest.rejected)
live "$M/live2.out"
{ manifest 18180; printf '    ingress: {}\n'; } | put rl.yaml
if wait_count manifest.rejected "" $((r0 + 1)); then
	ok "an invalid change is rejected"
else
	notok "an invalid change is rejected" "no manifest.rejected in 10 s"
fi
check_grep "manifest.rejected names file, line and column" \
	"\"type\":\"manifest.rejected\".*\"file\":\"$M/rl.yaml\",\"line\":13,\"column\":5,\"error\":\"unknown key 'ingress'" \
	"$("$AG_BIN" events --state-dir "$AG_STATE" --type manifest.rejected >"$M/ev" && echo "$M/ev")"
check "after a rejected change: the generation in force is unchanged" "$g1" "$(gen)"
live_end
check "after a rejected change: the live session keeps the rules in force" "err EPERM
ok
err EPERM
ok" "$(cat "$M/live2.out")"
check "after a rejected change: new sessions keep the rules in force" "ok" \
	"$(ag_run rl $P connect 127.0.0.1 18181)"

# A file that is not a manifest (an editor's swap file) is ignored.
n1=$(count manifest.loaded '"name":"rl"')
echo 'not: [yaml' >"$M/.rl.yaml.swp"
sleep 1.5
check "a non-.yaml file changing: no reload" "$n1" "$(count manifest.loaded '"name":"rl"')"
rm -f "$M/.rl.yaml.swp"

# watchManifests: false: only SIGHUP reloads.
manifest 18181 | put rl.yaml
sleep 1.5
printf 'watchManifests: false\n' >"$AG_TMP/config.yaml"
ag_stop_daemon
ag_launch "$M" "$AG_TMP/config.yaml"
g2=$(gen)
n2=$(count manifest.loaded '"name":"rl"')
manifest 18180 | put rl.yaml
sleep 1.5
check "watchManifests: false: a changed file is not reloaded by itself" "$g2" "$(gen)"
kill -HUP "$AG_DAEMON"
if wait_count manifest.loaded '"name":"rl"' $((n2 + 1)); then
	ok "SIGHUP reloads"
else
	notok "SIGHUP reloads" "no new manifest.loaded in 10 s"
fi
check "after SIGHUP: the new rules" "ok" "$(ag_run rl $P connect 127.0.0.1 18180)"
check "after SIGHUP: the generation of the first version again" "$g0" "$(gen)"
