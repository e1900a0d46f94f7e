#!/bin/sh
# /init of the VM test tier's initramfs (busybox sh). Mounts the kernel file systems,
# runs every /ag/cases/*.sh in order with a per-case timeout, prints one line
#	AGVM-RESULT passed=P failed=F skipped=S
# and powers off. Settings come from the kernel command line (unknown key=value
# parameters reach init as environment variables):
#	AGVM_CASE_TIMEOUT   seconds per case (default 120)
#	AGVM_CASES          only cases whose file name contains this string
#	AGVM_DEBUG=1        run a shell on the console instead of powering off at the end
export PATH=/ag/bin:/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root TERM=dumb LANG=C LC_ALL=C
umask 022

mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

warn() { echo "agvm: $*"; }

mnt() { # TYPE DIR [OPTIONS]
	mkdir -p "$2"
	mount -t "$1" ${3:+-o "$3"} "$1" "$2" || warn "cannot mount $1 on '$2'"
}

mnt proc /proc nosuid,nodev,noexec
mnt sysfs /sys nosuid,nodev,noexec
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm 2>/dev/null
mnt tmpfs /tmp mode=1777,nosuid,nodev
mnt tmpfs /run mode=0755,nosuid,nodev
mnt cgroup2 /sys/fs/cgroup nosuid,nodev,noexec,nsdelegate
mnt bpf /sys/fs/bpf mode=0700
mnt securityfs /sys/kernel/security nosuid,nodev,noexec
# Optional: not every kernel has them, and cases check for what they need.
grep -qw tracefs /proc/filesystems &&
	mount -t tracefs -o nosuid,nodev,noexec tracefs /sys/kernel/tracing 2>/dev/null
grep -qw debugfs /proc/filesystems &&
	mount -t debugfs -o nosuid,nodev,noexec debugfs /sys/kernel/debug 2>/dev/null
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
mkdir -p /var/lib /var/log /var/tmp /root /etc/agentguard
ln -sf /proc/self/mounts /etc/mtab

hostname agvm
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up || warn "cannot bring up 'lo'"
# Kernel modules the initramfs carries (tools/vm/run.sh AGVM_MODULES), in order.
if [ -s /ag/modules/order ]; then
	while read -r m; do
		insmod "/ag/modules/$m" || warn "cannot load module '$m'"
	done </ag/modules/order
fi

case_timeout=${AGVM_CASE_TIMEOUT:-120}
passed=0
failed=0
skipped=0

# On a line of its own: the firmware may have left escapes on the current one.
echo
echo "AGVM-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r)"

count() { # PATTERN FILE: number of lines matching
	grep -c "$1" "$2" 2>/dev/null || true
}

# Each case starts from the same guest: nothing it started keeps running, and the
# cgroups and BPF pins it made are gone.
cleanup_after_case() {
	kill -KILL -1 2>/dev/null
	i=0
	while [ $i -lt 50 ]; do
		find /sys/fs/cgroup -mindepth 1 -depth -type d | while read -r d; do
			grep -qxF "$d" /run/agvm/cgroups.base || rmdir "$d" 2>/dev/null
		done
		find /sys/fs/cgroup -mindepth 1 -type d | sort | cmp -s - /run/agvm/cgroups.base && break
		sleep 0.1
		i=$((i + 1))
	done
	[ $i -lt 50 ] || warn "cannot remove the cgroups left by '$name'"
	rm -rf /sys/fs/bpf/* 2>/dev/null
}

run_case() { # FILE
	c=$1
	name=$(basename "$c" .sh)
	log=/run/agvm/$name.log
	dir=/tmp/agvm/$name
	mkdir -p /run/agvm "$dir"
	: >"$log"
	echo "# case $name"
	# The case writes into a FIFO that tee copies to the console and the log: if
	# something the case left behind still holds the FIFO, tee is stopped anyway.
	fifo=/run/agvm/fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	tee -a "$log" <"$fifo" &
	teepid=$!
	rm -f /run/agvm/timeout
	start=$(cut -d' ' -f1 /proc/uptime)
	(cd "$dir" && AGVM=1 AGVM_ROOT=/ag AGVM_CASE=$name AGVM_TMP=$dir \
		AGVM_CGROUP=/sys/fs/cgroup exec setsid sh "$c") <"/dev/null" >"$fifo" 2>&1 &
	pid=$!
	(
		sleep "$case_timeout"
		echo "timeout" >/run/agvm/timeout
		kill -TERM -"$pid" "$pid" 2>/dev/null
		sleep 5
		kill -KILL -"$pid" "$pid" 2>/dev/null
	) </dev/null >/dev/null 2>&1 &
	wd=$!
	wait "$pid"
	rc=$?
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	# Whatever the case left running in its process group goes now.
	kill -KILL -"$pid" 2>/dev/null
	(sleep 3; kill "$teepid" 2>/dev/null) </dev/null >/dev/null 2>&1 &
	killer=$!
	wait "$teepid" 2>/dev/null
	kill "$killer" 2>/dev/null
	wait "$killer" 2>/dev/null
	rm -f "$fifo"
	end=$(cut -d' ' -f1 /proc/uptime)
	cleanup_after_case

	p=$(count '^ok - ' "$log")
	f=$(count '^not ok - ' "$log")
	s=$(count '^skip - ' "$log")
	if [ -e /run/agvm/timeout ]; then
		echo "not ok - $name: timed out after ${case_timeout}s"
		f=$((f + 1))
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name: exited with status $rc"
		f=$((f + 1))
	elif [ $((p + f + s)) -eq 0 ]; then
		echo "not ok - $name: reported no result"
		f=$((f + 1))
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	echo "# case $name: passed=$p failed=$f skipped=$s status=$rc time=$(awk "BEGIN{printf \"%.1f\", $end - $start}")s"
}

mkdir -p /run/agvm
find /sys/fs/cgroup -mindepth 1 -type d | sort >/run/agvm/cgroups.base

for c in /ag/cases/*.sh; do
	[ -e "$c" ] || continue
	case $(basename "$c") in *"${AGVM_CASES:-}"*) ;; *) continue ;; esac
	run_case "$c"
done

sync
echo "# uptime $(cut -d' ' -f1 /proc/uptime)s"
echo "AGVM-RESULT passed=$passed failed=$failed skipped=$skipped"
if [ "${AGVM_DEBUG:-0}" = 1 ]; then
	echo "agvm: debug shell; 'poweroff -f' to end"
	setsid cttyhack sh
fi
poweroff -f
