# Helpers for VM test cases (POSIX sh, busybox ash). A case sources it first:
#
#	. /ag/lib.sh
#
# and reports each check on its own line, which is all /init counts:
#
#	ok - NAME                   check passed
#	not ok - NAME: REASON       check failed
#	skip - NAME: REASON         check not applicable here
#
# NAME is short, without ": ". A case that exits non-zero without having printed a
# "not ok" line, prints nothing, or outlives its timeout is counted as one failure by
# /init. Cases run as root, one at a time, in their own session and process group,
# with the working directory set to a fresh empty $AGVM_TMP, stdin /dev/null. When a
# case ends, /init kills every process but itself, removes the cgroups and BPF pins
# the case created, so each case starts from the same clean guest.
#
# Environment given to each case:
#	AGVM=1            running inside the VM tier
#	AGVM_ROOT=/ag     where the initramfs put the test files
#	AGVM_CASE         the case's name (file name without .sh)
#	AGVM_TMP          a fresh scratch directory on tmpfs, for this case only
#	AGVM_CGROUP       the cgroup2 mount (/sys/fs/cgroup)
#	PATH              /ag/bin first, then busybox
#
# Functions:
#	ok NAME / fail NAME REASON / skip NAME REASON      print one result line
#	check NAME CMD [ARG...]        ok if CMD exits 0, else not ok with its status
#	check_fails NAME CMD [ARG...]  ok if CMD exits non-zero
#	need_file PATH [NAME]          1 and a skip line if PATH is missing
#	need_cmd CMD [NAME]            1 and a skip line if CMD is not on PATH
#	on_exit CMD                    run CMD (a string for eval) when the case exits,
#	                               also on the timeout's SIGTERM; last registered
#	                               runs first. Call it in the case's own shell, not
#	                               in $(...) or a pipeline (a subshell runs it at
#	                               its own exit)
#	wait_for SECS CMD [ARG...]     retry CMD every 0.1 s until it exits 0 or SECS pass
#	wait_line SECS FILE REGEX      wait until a line of FILE matches REGEX (grep -E)
#	mkcgroup NAME [VAR]            create $AGVM_CGROUP/NAME, remove it at exit, and
#	                               set VAR (default cg) to its path; not in $(...)
#	as_user USER CMD [ARG...]      run CMD as USER (from /etc/passwd: agvm is uid 1000,
#	                               nobody 65534), environment kept
#	result_counts                  (for the end) "passed=P failed=F skipped=S" of this case

AGVM_ROOT=${AGVM_ROOT:-/ag}
AGVM_CGROUP=${AGVM_CGROUP:-/sys/fs/cgroup}
AGVM_TMP=${AGVM_TMP:-/tmp}
AGVM_CASE=${AGVM_CASE:-$(basename "$0" .sh)}
_agvm_pass=0
_agvm_fail=0
_agvm_skip=0
_agvm_exit=""

ok() {
	_agvm_pass=$((_agvm_pass + 1))
	echo "ok - $1"
}

fail() {
	_agvm_fail=$((_agvm_fail + 1))
	echo "not ok - $1: ${2:-failed}"
}

skip() {
	_agvm_skip=$((_agvm_skip + 1))
	echo "skip - $1: ${2:-skipped}"
}

check() {
	_n=$1
	shift
	if "$@"; then
		ok "$_n"
	else
		fail "$_n" "'$1' exited with status $?"
	fi
}

check_fails() {
	_n=$1
	shift
	if "$@"; then
		fail "$_n" "'$1' succeeded but should have failed"
	else
		ok "$_n"
	fi
}

need_file() {
	[ -e "$1" ] && return 0
	skip "${2:-$AGVM_CASE}" "'$1' is not in the initramfs"
	return 1
}

need_cmd() {
	command -v "$1" >/dev/null 2>&1 && return 0
	skip "${2:-$AGVM_CASE}" "'$1' is not on PATH"
	return 1
}

_agvm_run_exit() {
	_st=$?
	trap - EXIT INT TERM
	eval "$_agvm_exit"
	exit "$_st"
}

on_exit() {
	_agvm_exit="$1 || true
$_agvm_exit"
	trap _agvm_run_exit EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
}

wait_for() {
	_secs=$1
	shift
	_tries=$((_secs * 10))
	while [ "$_tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_tries=$((_tries - 1))
	done
	return 1
}

wait_line() {
	wait_for "$1" grep -qE "$3" "$2" 2>/dev/null
}

mkcgroup() {
	_cg=$AGVM_CGROUP/$1
	mkdir -p "$_cg" || return 1
	on_exit "_agvm_rmcgroup '$_cg'"
	eval "${2:-cg}=\$_cg"
}

# Move every process out of a cgroup tree (to the root), then remove it, leaves first.
_agvm_rmcgroup() {
	[ -d "$1" ] || return 0
	for _d in $(find "$1" -depth -type d); do
		while read -r _p; do
			echo "$_p" >"$AGVM_CGROUP/cgroup.procs" 2>/dev/null || true
		done <"$_d/cgroup.procs"
		rmdir "$_d" 2>/dev/null || true
	done
}

as_user() {
	_u=$1
	shift
	su -p -s /bin/sh "$_u" -c 'exec "$@"' -- sh "$@"
}

result_counts() {
	echo "passed=$_agvm_pass failed=$_agvm_fail skipped=$_agvm_skip"
}
