#!/bin/sh
# Files and exec where BPF LSM is not active (docs/fallback.md): Landlock
# enforces, applied by `agentguard run`; bpf/fallback.bpf.c reports each
# denial and the daemon names its manifest rule. A real daemon on a
# throwaway cgroup root, the agents of tests/kernel/manifests-files
# (templates: @D@ is this test's tree, @AG@ the agentguard binary), one
# system call per check (tests/tools/agfs.c): every check looks at the errno
# and at the logged event. Everything lives under the test's own AG_TMP.
# POSIX sh.
set -u
if [ -z "${AG_LIB:-}" ]; then
	cd "$(dirname "$0")/../.." || exit 1
fi
. "${AG_LIB:-tests/lib.sh}"
: "${AGFS:=${BUILD:-build}/tests/agfs}"
: "${AG_FB_TEMPLATES:=tests/kernel/manifests-files}"
AG_BIN=$(readlink -f "$AG_BIN")
AGFS=$(readlink -f "$AGFS")

probe=$("$AG_BIN" probe 2>&1)
case $probe in
*"lsm/file_open                  attached"*|*"lsm/file_open                  available"*)
	echo "skip - files fallback: BPF LSM enforces files here (tests/kernel/50-files-lsm.sh)"
	exit 0 ;;
esac
abi=$(echo "$probe" | sed -n 's/^ *Landlock ABI *\([0-9]*\).*/\1/p')
if [ "${abi:-0}" -lt 3 ]; then
	echo "skip - files fallback: Landlock ABI ${abi:-0} here, 3 needed"
	exit 0
fi
[ -x "$AGFS" ] || { notok "setup" "no $AGFS (make $AGFS)"; exit 1; }

# A daemon without agents first: its AG_TMP holds the tree and the manifests.
ag_start_daemon "$AG_FB_TEMPLATES"
W=$AG_TMP/fb
D=$W/tree
mkdir -p "$W/manifests" "$D/data/sub" "$D/scratch" "$D/other" "$D/tools" "$D/shared" "$D/links" "$D/vault"
echo alpha >"$D/data/a.txt"
echo beta >"$D/data/b.txt"
echo gamma >"$D/data/c.txt"
echo secret >"$D/data/secret"
echo vault >"$D/vault/secret"
echo sub >"$D/data/sub/b.txt"
echo other >"$D/other/x"
echo outside >"$D/other/outside"
echo x >"$D/other/off-x"
echo x >"$D/other/sysexit-x"
echo shared >"$D/shared/s.txt"
cp "$AGFS" "$D/tools/agfs"
printf '#!/usr/bin/bash\necho bash-ran\n' >"$D/tools/bash.sh"
printf '#!/usr/bin/dash\necho dash-ran\n' >"$D/tools/dash.sh"
chmod +x "$D/tools/bash.sh" "$D/tools/dash.sh"
ln -s /usr/bin/cat "$D/tools/catlink"
ln -s /usr/bin/id "$D/scratch/idlink"
ln -s "$D/data/secret" "$D/scratch/to-secret"
ln "$D/vault/secret" "$D/links/hl"
for t in "$AG_FB_TEMPLATES"/*.yaml.in; do
	sed "s|@D@|$D|g; s|@AG@|$AG_BIN|g" "$t" >"$W/manifests/$(basename "$t" .in)"
done
ag_stop_daemon
ag_launch "$W/manifests"

A=$D/tools/agfs
EV=$AG_TMP/events.json
run() { a=$1; shift; "$AG_BIN" run --agent "$a" --socket "$AG_SOCK" -- "$@" 2>&1; }
# evf NAME DECISION PATH ACCESS RULE OP: a file.open event (RULE as a regex)
evf() {
	check_grep "$1" "\"type\":\"file.open\",\"decision\":\"$2\".*\"target\":\\{\"path\":\"$3\",\"access\":\"$4\"\\},\"rule\":\"$5\",\"op\":\"$6\"" "$EV"
}
# evx NAME DECISION PATH RULE: a process.exec event
evx() {
	check_grep "$1" "\"type\":\"process.exec\",\"decision\":\"$2\".*\"target\":\\{\"path\":\"$3\"\\},\"rule\":\"$4\"" "$EV"
}

# ------------------------------------------------------------------------
# Files

check "read allowed" "ok" "$(run fb-main "$A" read "$D/data/a.txt")"
check "read denied by default" "err EACCES" "$(run fb-main "$A" read "$D/other/x")"
check "deny inside an allowed tree (carve-out)" "err EACCES" "$(run fb-main "$A" read "$D/data/secret")"
check "the carved directory's other entries stay readable" "ok" "$(run fb-main "$A" read "$D/data/sub/b.txt")"
check "the carved directory can still be listed" "ok 5" "$(run fb-main "$A" ls "$D/data")"
check "listing a directory denied by default" "err EACCES" "$(run fb-main "$A" ls "$D/other")"
check "write allowed" "ok" "$(run fb-main "$A" create "$D/scratch/new")"
check "write to a read-only path denied" "err EACCES" "$(run fb-main "$A" write "$D/data/a.txt")"
check "O_CREAT in a read-only dir denied" "err EACCES" "$(run fb-main "$A" create "$D/data/created")"
if [ -e "$D/data/created" ]; then notok "no file created" "'$D/data/created' exists"; else ok "no file created"; fi
check "truncate of a read-only file denied" "err EACCES" "$(run fb-main "$A" truncate "$D/data/b.txt")"
check "truncate left the file" "beta" "$(cat "$D/data/b.txt")"
check "rename out of a read-only dir denied" "err EACCES" "$(run fb-main "$A" rename "$D/data/c.txt" "$D/scratch/c.txt")"
check "link of a read-only file into a writable dir denied" "err EXDEV" "$(run fb-main "$A" link "$D/data/a.txt" "$D/scratch/l")"
check "unlink in a read-only dir denied" "err EACCES" "$(run fb-main "$A" unlink "$D/data/c.txt")"
check "mkdir in a read-only dir denied" "err EACCES" "$(run fb-main "$A" mkdir "$D/data/newdir")"
check "symlink in a read-only dir denied" "err EACCES" "$(run fb-main "$A" symlink x "$D/data/sl")"
check "relative path denied" "err EACCES" "$(cd "$D/data" && run fb-main "$A" write a.txt)"
check "'..' resolved" "err EACCES" "$(run fb-main "$A" read "$D/scratch/../other/x")"
check "openat with a dir fd denied" "err EACCES" "$(run fb-main "$A" openat "$D/other" outside r)"
check "symlink to a denied file denied" "err EACCES" "$(run fb-main "$A" read "$D/scratch/to-secret")"
check "/proc/self/fd/N reopened for write denied" "err EACCES" "$(run fb-main "$A" reopen "$D/data/a.txt")"
check "write to an allowed exact path (/dev/null)" "ok" "$(run fb-main "$A" write /dev/null)"
check "hard link (made before the session) to a denied file denied" "err EACCES" \
	"$(run fb-links "$A" read "$D/links/hl")"
check "processes outside sessions are untouched" "ok" "$("$A" read "$D/data/secret")"
check "processes outside sessions: write untouched" "ok" "$("$A" write "$D/other/outside")"
check "agent without files/exec sections is untouched" "ok" "$(run fb-open "$A" read "$D/data/secret")"

# A file created after the session started in a carved directory: stricter.
mkfifo "$D/scratch/go"
run fb-main /usr/bin/dash -c "read x < $D/scratch/go; exec $A read $D/data/late.dat" >"$W/late.out" &
late=$!
sleep 0.5
echo late >"$D/data/late.dat"
echo go >"$D/scratch/go"
wait $late
check "file created later in a carved directory is not reachable (stricter)" "err EACCES" "$(cat "$W/late.out")"

# ------------------------------------------------------------------------
# Exec

check "exec allowed" "alpha" "$(run fb-main "$A" exec /usr/bin/cat "$D/data/a.txt")"
check "exec denied" "err EACCES" "$(run fb-main "$A" exec /usr/bin/id)"
check "exec through a symlink to an allowed program" "alpha" "$(run fb-main "$A" exec "$D/tools/catlink" "$D/data/a.txt")"
check "exec through a symlink to a denied program" "err EACCES" "$(run fb-main "$A" exec "$D/scratch/idlink")"
check "#! script with an allowed interpreter runs" "dash-ran" "$(run fb-main "$A" exec "$D/tools/dash.sh")"
check "#! script whose interpreter is not allowed" "err EACCES" "$(run fb-main "$A" exec "$D/tools/bash.sh")"
run fb-main "$A" exec /lib64/ld-linux-x86-64.so.2 /usr/bin/id >/dev/null 2>&1
check "the dynamic loader run as a program is killed" "137" "$?"
check "the command itself must be allowed" "126" "$(run fb-main /usr/bin/id >/dev/null 2>&1; echo $?)"

# ------------------------------------------------------------------------
# Audit mode, sub-agents, callers

check "audit mode: nothing is blocked" "ok" "$(run fb-audit "$A" read "$D/other/x")"
check "audit mode: a denied path is not blocked" "ok" "$(run fb-audit "$A" read "$D/data/secret")"
check "audit mode: write not blocked" "ok" "$(run fb-audit "$A" write "$D/other/x")"
check "audit mode: exec not blocked" "0" "$(run fb-audit "$A" exec /usr/bin/true >/dev/null 2>&1; echo $?)"

sub() { run fb-main "$AG_BIN" run --agent fb-child --socket "$AG_SOCK" -- "$A" "$@"; }
check "sub-agent: allowed by both" "ok" "$(sub read "$D/shared/s.txt")"
check "sub-agent: the child's narrower tree" "ok" "$(sub read "$D/data/sub/b.txt")"
check "sub-agent: allowed by the parent, not by the child" "err EACCES" "$(sub read "$D/data/a.txt")"
check "sub-agent: allowed by the child, not by the parent" "err EACCES" "$(sub read "$D/other/x")"
check "sub-agent: exec allowed by the parent only" "err EACCES" "$(sub exec /usr/bin/cat "$D/shared/s.txt")"

cp "$AG_BIN" "$W/agentguard-copy"
out=$("$W/agentguard-copy" run --agent fb-main --socket "$AG_SOCK" -- "$A" read "$D/data/a.txt" 2>&1); rc=$?
check "a caller that is not the agentguard binary is refused" "1" "$rc"
case $out in *"is not this agentguard binary"*) ok "the refusal says why" ;;
*) notok "the refusal says why" "got '$out'" ;; esac
out=$(LD_PRELOAD=/nonexistent.so "$AG_BIN" run --agent fb-main --socket "$AG_SOCK" -- "$A" read "$D/data/a.txt" 2>&1); rc=$?
check "a caller with LD_PRELOAD is refused" "1" "$rc"
check "the open agent needs no agentguard caller" "ok" \
	"$("$W/agentguard-copy" run --agent fb-open --socket "$AG_SOCK" -- "$A" read "$D/data/a.txt" 2>&1)"

# A realistic agent: a shell tool reading a data dir, writing a scratch dir,
# calling allowed programs; it runs to completion.
out=$(run fb-main /usr/bin/dash -c "cd $D/data && for f in *.txt; do /usr/bin/cat \"\$f\"; done | /usr/bin/sort >$D/scratch/report.txt && /usr/bin/cat $D/scratch/report.txt"); rc=$?
check "realistic agent runs to completion" "0" "$rc"
check "realistic agent's output" "alpha beta gamma" "$(echo $out)"

# ------------------------------------------------------------------------
# The log

ag_events >"$EV"
evf "event: read denied by default" deny "$D/other/x" read 'files.default' open
evf "event: a directory's path ends in /" deny "$D/other/" read 'files.default' open
evf "event: carve-out deny names the deny rule" deny "$D/data/secret" read 'files\.deny\[0\]' open
evf "event: write to a read-only path names the read rule" deny "$D/data/a.txt" write 'files\.read\[0\]' open
evf "event: O_CREAT" deny "$D/data/created" write 'files\.read\[0\]' create
evf "event: truncate" deny "$D/data/b.txt" write 'files\.read\[0\]' truncate
evf "event: rename" deny "$D/data/c.txt" write 'files\.read\[0\]' rename
evf "event: link" deny "$D/data/a.txt" write 'files\.read\[0\]' link
evf "event: unlink" deny "$D/data/c.txt" write 'files\.read\[0\]' unlink
evf "event: mkdir" deny "$D/data/newdir" write 'files\.read\[0\]' mkdir
evf "event: symlink" deny "$D/data/sl" write 'files\.read\[0\]' symlink
evf "event: '..' logged resolved" deny "$D/other/x" read 'files.default' open
evf "event: openat with a dir fd logged absolute" deny "$D/other/outside" read 'files.default' open
evf "event: symlink logged as its target" deny "$D/data/secret" read 'files\.deny\[0\]' open
evf "event: /proc/self/fd/N logged as the file" deny "$D/data/a.txt" write 'files\.read\[0\]' open
evf "event: hard link" deny "$D/links/hl" read 'files\.deny\[0\]' open
check_grep "event: hard link says whose" "\"path\":\"$D/links/hl\".*\"reason\":\"a hard link of the denied file '$D/vault/secret'\"" "$EV"
evf "event: created later in a carved directory" deny "$D/data/late.dat" read 'files\.deny\[0\]' open
check_grep "event: the carve-out is the reason" "\"path\":\"$D/data/late.dat\".*\"reason\":\"stricter than the manifest: '$D/data' is carved out" "$EV"
check_grep "event: relative path logged absolute" "\"target\":\\{\"path\":\"$D/data/a.txt\",\"access\":\"write\"\\}.*\"process\"|\"comm\":\"agfs\".*\"target\":\\{\"path\":\"$D/data/a.txt\",\"access\":\"write\"\\}" "$EV"
check_grep "event: fallback events say Landlock" '"type":"file.open","decision":"deny".*"enforcement":"landlock"' "$EV"
evx "event: exec denied" deny /usr/bin/id 'exec.default'
evx "event: #! interpreter denied" deny /usr/bin/bash 'exec.default'
check_grep "event: dynamic loader killed" "\"type\":\"process.exec\",\"decision\":\"deny\".*\"target\":\\{\"path\":\"[^\"]*ld-linux[^\"]*\"\\},\"rule\":\"exec.default\".*killed at exec" "$EV"
check_grep "event: audit decision for a would-be denial" "\"type\":\"file.open\",\"decision\":\"audit\",\"mode\":\"audit\",\"agent\":\\{\"name\":\"fb-audit\".*\"path\":\"$D/other/x\",\"access\":\"read\"\\},\"rule\":\"files.default\"" "$EV"
check_grep "event: audit decision names the deny rule" "\"decision\":\"audit\".*\"path\":\"$D/data/secret\".*\"rule\":\"files\\.deny\\[0\\]\"" "$EV"
check_grep "event: audit of a write" "\"decision\":\"audit\".*\"path\":\"$D/other/x\",\"access\":\"write\"" "$EV"
check_grep "event: audit of an exec" '"type":"process.exec","decision":"audit","mode":"audit","agent":\{"name":"fb-audit".*"target":\{"path":"/usr/bin/true"\},"rule":"exec.default"' "$EV"
check_grep "event: sub-agent denial by its own rule" "\"agent\":\\{\"name\":\"fb-child\".*\"path\":\"$D/data/a.txt\",\"access\":\"read\"\\},\"rule\":\"files.default\"" "$EV"
check_grep "event: sub-agent denial by the parent's rule" "\"agent\":\\{\"name\":\"fb-child\".*\"path\":\"$D/other/x\",\"access\":\"read\"\\},\"rule\":\"fb-main:files.default\"" "$EV"
check_grep "event: refusal of a caller that is not agentguard" '"type":"session.start","decision":"deny".*"exe":"[^"]*agentguard-copy".*"reason":"its files and exec rules are enforced with Landlock' "$EV"
check_grep "session.start says Landlock enforces" "\"type\":\"session.start\",\"decision\":\"allow\".*\"name\":\"fb-main\".*\"files\":\\{\"enforcement\":\"landlock\",\"landlock\":\\{\"abi\":$abi" "$EV"
check_grep "session.start lists the carve-out" "\"notes\":\\[[^]]*'$D/data' carved out for files.deny\\[0\\]" "$EV"
check_grep "session.start of a sub-agent: Landlock again" '"type":"session.start","decision":"allow".*"name":"fb-child".*"files":\{"enforcement":"landlock"' "$EV"
check_grep "session.start of audit mode says observe" '"name":"fb-audit".*"files":\{"enforcement":"observe","reason":"audit mode' "$EV"
check_grep "session.start of an agent without sections" '"name":"fb-open".*"files":\{"enforcement":"none"\}' "$EV"
check_nogrep "no denial event from outside sessions" "\"path\":\"$D/other/outside\",\"access\":\"write\"" "$EV"
check_nogrep "no event for the unrestricted agent's read" "\"name\":\"fb-open\".*\"type\":\"file.open\"|\"type\":\"file.open\".*\"name\":\"fb-open\"" "$EV"
check_nogrep "allowed reads are not logged" "\"path\":\"$D/shared/s.txt\"" "$EV"

# ------------------------------------------------------------------------
# The reporter is attached only while a Landlock session runs.

tp_attached() { bpftool perf list 2>/dev/null | grep "pid $AG_DAEMON " | grep -cw sys_exit_openat; }
wait_detached() {
	i=0
	while [ "$(tp_attached)" != 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}
if command -v bpftool >/dev/null 2>&1; then
	wait_detached
	check "reporter detached without Landlock sessions" "0" "$(tp_attached)"
	base=$("$A" getpid 2000000)
	run fb-main /usr/bin/dash -c "echo >$D/scratch/started; read x < $D/scratch/go" >/dev/null &
	hold=$!
	i=0
	while [ ! -e "$D/scratch/started" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	check "reporter attached while a Landlock session runs" "1" "$(tp_attached)"
	during=$("$A" getpid 2000000)
	echo go >"$D/scratch/go"
	wait $hold
	check "reporter still attached just after the last one ends (it lingers)" "1" "$(tp_attached)"
	wait_detached
	check "reporter detached after the last one ends" "0" "$(tp_attached)"
	after=$("$A" getpid 2000000)
	echo "# getpid() outside sessions, ns: $base before, $during with the syscalls:sys_exit_* reporter attached, $after after"
else
	echo "skip - reporter attach and detach: no bpftool"
fi

# ------------------------------------------------------------------------
# Other postures: config fileFallback and fallbackDenialEvents/Hook.

relaunch() { printf '%s\n' "$@" >"$W/config.yaml"; ag_stop_daemon; ag_launch "$W/manifests" "$W/config.yaml"; }

relaunch "fileFallback: refuse"
out=$(run fb-main "$A" read "$D/data/a.txt"); rc=$?
check "fileFallback refuse: session refused" "1" "$rc"
case $out in *"fileFallback is 'refuse'"*) ok "fileFallback refuse says why" ;;
*) notok "fileFallback refuse says why" "got '$out'" ;; esac
check "fileFallback refuse: an agent without sections still runs" "ok" "$(run fb-open "$A" read "$D/data/a.txt")"

relaunch "fileFallback: observe"
check "fileFallback observe: nothing enforced" "ok" "$(run fb-main "$A" read "$D/other/x")"

relaunch "fallbackDenialEvents: off"
check "fallbackDenialEvents off: still enforced" "err EACCES" "$(run fb-main "$A" read "$D/other/off-x")"

relaunch "fallbackDenialHook: sys_exit"
check "fallbackDenialHook sys_exit: enforced" "err EACCES" "$(run fb-main "$A" read "$D/other/sysexit-x")"

if command -v bpftool >/dev/null 2>&1; then
	relaunch "fallbackDenialEvents: always" "fallbackDenialHook: sys_exit"
	raw=$("$A" getpid 2000000)
	relaunch "fallbackDenialEvents: always"
	tps=$("$A" getpid 2000000)
	check "fallbackDenialEvents always: attached with no session" "1" "$(tp_attached)"
	ag_stop_daemon
	none=$("$A" getpid 2000000)
	echo "# getpid() outside sessions, ns: $none with nothing attached, $tps with syscalls:sys_exit_* attached, $raw with tp_btf/sys_exit attached"
	ag_launch "$W/manifests"
fi

ag_events >"$EV"
check_grep "daemon.start says files are observed only" '"type":"daemon.start".*"files":\{"mechanism":"observe only' "$EV"
check_grep "fileFallback refuse: refusal logged" '"type":"session.start","decision":"deny".*"name":"fb-main".*"reason":"its files and exec rules cannot be enforced here' "$EV"
check_grep "fileFallback observe: session.start says so" '"name":"fb-main".*"files":\{"enforcement":"observe","reason":"fileFallback: observe' "$EV"
check_grep "fileFallback observe: would-be denial logged as audit" "\"type\":\"file.open\",\"decision\":\"audit\",\"mode\":\"enforce\".*\"path\":\"$D/other/x\".*\"rule\":\"files.default\",\"op\":\"open\",\"enforcement\":\"observe\"" "$EV"
check_nogrep "fallbackDenialEvents off: denial not logged" "\"path\":\"$D/other/off-x\"" "$EV"
check_grep "fallbackDenialEvents off: session.start says so" '"note":"denials of this session are not logged \(fallbackDenialEvents: off\)"' "$EV"
evf "fallbackDenialHook sys_exit: denial logged" deny "$D/other/sysexit-x" read 'files.default' open

left=$(find "$AG_ROOT" -mindepth 2 -maxdepth 2 -type d | wc -l)
check "ended sessions' cgroups are removed" "0" "$left"
out=$("$AG_BIN" log verify --state-dir "$AG_STATE"); rc=$?
check "log verify passes" "0" "$rc"
ag_stop_daemon
check "daemon stops cleanly" "0" "$AG_DAEMON_RC"
