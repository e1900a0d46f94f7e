#!/bin/sh
# Network enforcement end to end: a real daemon on a throwaway cgroup root,
# agents started with `agentguard run`, real connections to loopback
# listeners outside every session. POSIX sh: the kernel tier runs it on the
# host kernel, the vm tier runs the same file inside the VM (AG_LIB,
# AG_MANIFESTS, AG_BIN and AGPROBE point at the guest's copies there).
set -u
if [ -z "${AG_LIB:-}" ]; then
	cd "$(dirname "$0")/../.." || exit 1
fi
. "${AG_LIB:-tests/lib.sh}"

ag_start_daemon "${AG_MANIFESTS:-tests/kernel/manifests}"
for p in 18080 18081 18090; do ag_listen 127.0.0.1 $p; done
ag_listen 127.0.0.2 18080
ag_listen ::1 18080
ag_listen ::1 18081
ag_listen 127.0.0.1 18053 udp

P=$AGPROBE
check "allowed tcp connect" "ok" "$(ag_run net-main $P connect 127.0.0.1 18080)"
check "allowed port range" "ok" "$(ag_run net-main $P connect 127.0.0.1 18090)"
check "port outside allow: EPERM" "err EPERM" "$(ag_run net-main $P connect 127.0.0.1 18081)"
check "deny rule beats allow: EPERM" "err EPERM" "$(ag_run net-main $P connect 127.0.0.2 18080)"
check "allowed IPv6 connect" "ok" "$(ag_run net-main $P connect ::1 18080)"
check "IPv6 port outside allow: EPERM" "err EPERM" "$(ag_run net-main $P connect ::1 18081)"
check "IPv4-mapped IPv6 judged as IPv4: allowed" "ok" "$(ag_run net-main $P connect ::ffff:127.0.0.1 18080)"
check "IPv4-mapped IPv6 judged as IPv4: denied" "err EPERM" "$(ag_run net-main $P connect ::ffff:127.0.0.1 18082)"
check "IPv4-mapped deny rule holds" "err EPERM" "$(ag_run net-main $P connect ::ffff:127.0.0.2 18080)"
check "udp sendto allowed by a udp rule" "ok" "$(ag_run net-main $P send 127.0.0.1 18053)"
check "udp sendto to a tcp-only port: EPERM" "err EPERM" "$(ag_run net-main $P send 127.0.0.1 18080)"
check "udp connect allowed" "ok" "$(ag_run net-main $P connect 127.0.0.1 18053 udp)"
check "bind to an allowed port" "ok" "$(ag_run net-main $P bind 127.0.0.1 18100)"
check "bind to another port: EPERM" "err EPERM" "$(ag_run net-main $P bind 127.0.0.1 18101)"
check "bind to port 0 (ephemeral): EPERM" "err EPERM" "$(ag_run net-main $P bind 127.0.0.1 0)"
check "agent without network section: unrestricted" "ok" "$(ag_run net-open $P connect 127.0.0.1 18081)"
check "audit mode blocks nothing" "ok" "$(ag_run net-audit $P connect 127.0.0.1 18081)"
check "process outside every session is untouched" "ok" "$($P connect 127.0.0.1 18081)"
check "process outside every session: deny-rule address untouched" "ok" "$($P connect 127.0.0.2 18080)"

# Sub-agent: what both manifests allow.
check "sub-agent: allowed by both" "ok" \
	"$(ag_run net-main "$AG_BIN" run --agent net-child -- $P connect 127.0.0.1 18090)"
check "sub-agent: allowed by child, denied by parent" "err EPERM" \
	"$(ag_run net-main "$AG_BIN" run --agent net-child -- $P connect 127.0.0.1 18081)"
check "sub-agent: allowed by parent, not by child" "err EPERM" \
	"$(ag_run net-main "$AG_BIN" run --agent net-child -- $P connect 127.0.0.1 18080)"
out=$(ag_run net-main "$AG_BIN" run --agent net-audit -- true 2>&1); rc=$?
check "delegation to an agent not named: refused" "1" "$rc"
case $out in *"delegation.agents of 'net-main' does not name it"*) ok "delegation refusal says why" ;;
*) notok "delegation refusal says why" "got '$out'" ;; esac
out=$(ag_run net-main "$AG_BIN" run --agent net-child -- "$AG_BIN" run --agent net-main -- true 2>&1); rc=$?
check "delegation beyond maxDepth: refused" "1" "$rc"
out=$("$AG_BIN" run --agent no-such-agent --socket "$AG_SOCK" -- true 2>&1); rc=$?
check "unknown agent: refused" "1" "$rc"
check "exit status is the command's" "3" "$(ag_run net-main sh -c 'exit 3'; echo $?)"

# Sessions inside the session cgroup nest; environment is set.
out=$(ag_run net-main sh -c 'echo "$AGENTGUARD_SESSION $AGENTGUARD_SOCKET"; cat /proc/self/cgroup')
sid=${out%% *}
case $out in *"/net-main/$sid"*) ok "session cgroup is <root>/<agent>/<id>" ;;
*) notok "session cgroup is <root>/<agent>/<id>" "got '$out'" ;; esac

# The log: every decision, with its rule; session start/end; verify.
ev="$AG_TMP/events.json"
ag_events >"$ev"
check_grep "denied connect logged with rule" \
	'"type":"network.connect","decision":"deny","mode":"enforce","agent":\{"name":"net-main".*"target":\{"ip":"127.0.0.1","port":18081,"protocol":"tcp"\},"rule":"network.egress.default"' "$ev"
check_grep "deny rule named in the event" '"ip":"127.0.0.2","port":18080,"protocol":"tcp"\},"rule":"network.egress.deny\[0\]"' "$ev"
check_grep "allowed connect logged" '"type":"network.connect","decision":"allow".*"port":18080,"protocol":"tcp"\},"rule":"network.egress.allow\[0\]"' "$ev"
# only the IPv4-mapped connect above used port 18082
check_grep "mapped address logged as IPv4" '"type":"network.connect","decision":"deny".*"target":\{"ip":"127.0.0.1","port":18082,"protocol":"tcp"\},"rule":"network.egress.default"' "$ev"
check_grep "audit decision logged" '"type":"network.connect","decision":"audit","mode":"audit","agent":\{"name":"net-audit"' "$ev"
check_grep "bind denial logged" '"type":"network.bind","decision":"deny".*"port":18101.*"rule":"network.bind.default"' "$ev"
check_grep "udp send logged" '"type":"network.send","decision":"deny".*"protocol":"udp"' "$ev"
check_grep "sub-agent event carries its lineage" '"agent":\{"name":"net-child".*"session":\{"id":"[0-9A-Z]{26}","lineage":\["[0-9A-Z]{26}","[0-9A-Z]{26}"\]' "$ev"
check_grep "parent's rule named in a sub-agent denial" '"rule":"net-main:network.egress.default"' "$ev"
check_grep "delegation refusal logged" '"type":"session.start","decision":"deny".*"reason":"delegation.agents of' "$ev"
check_grep "session.start logged" '"type":"session.start","decision":"allow".*"agent":\{"name":"net-main","generation":"sha256:[0-9a-f]{64}"' "$ev"
check_grep "session.end logged" '"type":"session.end".*"reason":"cgroup empty"' "$ev"
check_grep "process.exec logged with exe and exec_id" '"type":"process.exec","decision":"allow".*"exe":"[^"]*agprobe","exec_id":"[A-Za-z0-9_-]+".*"target":\{"path":"[^"]*agprobe"\}' "$ev"
check_grep "process.exit logged" '"type":"process.exit".*"exit_code":3' "$ev"
grep '"type":"network\.' "$ev" | grep -v '"agent":{"name":"net-' >"$ev.outside"
check "no network event from outside sessions" "0" "$(grep -c . "$ev.outside")"
n=$(grep -c . "$ev"); last=$(tail -1 "$ev" | sed 's/^{"seq":\([0-9]*\),.*/\1/')
check "seq has no gaps" "$((n - 1))" "$last"

left=$(find "$AG_ROOT" -mindepth 2 -maxdepth 2 -type d | wc -l)
check "ended sessions' cgroups are removed" "0" "$left"

out=$("$AG_BIN" log verify --state-dir "$AG_STATE"); rc=$?
check "log verify passes" "0" "$rc"
case $out in "ok: "*" entries, "*" checkpoints, root "*) ok "log verify prints the ok line" ;;
*) notok "log verify prints the ok line" "got '$out'" ;; esac

ag_stop_daemon
check "daemon stops cleanly on SIGTERM" "0" "$AG_DAEMON_RC"
"$AG_BIN" events --state-dir "$AG_STATE" >"$ev.final"
check_grep "daemon.stop logged" '"type":"daemon.stop"' "$ev.final"
if [ -d "$AG_ROOT" ]; then
	notok "daemon removes its cgroup root" "'$AG_ROOT' is still there"
else
	ok "daemon removes its cgroup root"
fi
