#!/bin/sh
# The guest is what the tier promises: BPF LSM active, a pure cgroup2 host, bpffs,
# BTF, loopback up, and a random pool that does not block.
. /ag/lib.sh

mounted() { # TYPE DIR
	awk -v t="$1" -v d="$2" '$2 == d && $3 == t { f = 1 } END { exit !f }' /proc/mounts
}

lsms=$(cat /sys/kernel/security/lsm 2>/dev/null || true)
case ,$lsms, in
*,bpf,*) ok probe/bpf-lsm-active ;;
*) fail probe/bpf-lsm-active "'bpf' is not in /sys/kernel/security/lsm ('$lsms')" ;;
esac

if mounted cgroup2 /sys/fs/cgroup; then
	ok probe/cgroup2-mounted
else
	fail probe/cgroup2-mounted "no cgroup2 on /sys/fs/cgroup"
fi
if awk '$3 == "cgroup" { f = 1 } END { exit !f }' /proc/mounts; then
	fail probe/pure-cgroup2 "a cgroup v1 hierarchy is mounted"
else
	ok probe/pure-cgroup2
fi
check probe/bpffs-mounted mounted bpf /sys/fs/bpf
check probe/securityfs-mounted mounted securityfs /sys/kernel/security
check probe/btf-present test -s /sys/kernel/btf/vmlinux

if ip addr show lo 2>/dev/null | grep -q 'inet 127.0.0.1' &&
	ip link show lo | grep -q 'UP'; then
	ok probe/loopback-up
else
	fail probe/loopback-up "'lo' is down or has no 127.0.0.1"
fi

# getrandom() must not stall key generation in the daemon.
if timeout 10 head -c 32 /dev/random >/dev/null; then
	ok probe/random-ready
else
	fail probe/random-ready "reading /dev/random blocked for 10s"
fi

if mounted tracefs /sys/kernel/tracing; then
	ok probe/tracefs-mounted
else
	skip probe/tracefs-mounted "no tracefs in this kernel"
fi
