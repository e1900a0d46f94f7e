#!/usr/bin/env bash
# Build the VM test tier's initramfs: busybox-static with its applet links, /init,
# the usual directories, /dev/console, and the given files under /ag/.
#
#   tools/vm/mkinitramfs.sh OUT.cpio.gz [SRC[=DEST]]...
#
# SRC is a file or a directory (copied whole, symlinks followed). DEST is relative to
# /ag/; without it, an executable regular file goes to /ag/bin/NAME and anything else
# to /ag/NAME. /init is tests/vm/init.sh unless AGVM_INIT names another file; the
# busybox binary is AGVM_BUSYBOX (default /bin/busybox; it must be static).
# Needs no root: /dev/console is written into the archive directly, and every entry
# is owned by root in the archive. Quiet unless V=1.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
die() { echo "mkinitramfs: $*" >&2; exit 1; }
say() { if [ "${V:-0}" = 1 ]; then echo "mkinitramfs: $*"; fi; }

[ $# -ge 1 ] || die "missing argument: usage: mkinitramfs.sh OUT.cpio.gz [SRC[=DEST]]..."
out=$1
shift
init=${AGVM_INIT:-$root/tests/vm/init.sh}
busybox=${AGVM_BUSYBOX:-/bin/busybox}

[ -x "$busybox" ] || die "cannot find busybox: '$busybox' is not executable (install busybox-static)"
if command -v file >/dev/null && ! file -L "$busybox" | grep -q 'statically linked'; then
	die "cannot use busybox: '$busybox' is not statically linked (install busybox-static)"
fi
[ -f "$init" ] || die "cannot find init: '$init' does not exist"
command -v cpio >/dev/null || die "cannot pack initramfs: 'cpio' not found"

mkdir -p "$(dirname "$out")"
stage=$(mktemp -d "$(dirname "$out")/.initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# Directories; mount points are created here so /init needs no writable root first.
for d in bin sbin usr/bin usr/sbin dev proc sys run tmp root etc var/lib var/log \
	var/tmp ag/bin ag/cases mnt; do
	mkdir -p "$stage/$d"
done
chmod 1777 "$stage/tmp" "$stage/var/tmp"
chmod 0700 "$stage/root"

cp "$busybox" "$stage/bin/busybox"
# One symlink per applet, at the path busybox gives for it.
"$busybox" --list-full | while read -r a; do
	[ "$a" = bin/busybox ] && continue
	dir=${a%/*}
	up=${dir//[!\/]/}           # one "../" per level below the first
	up=${up//\//../}
	[ -d "$stage/$dir" ] || mkdir -p "$stage/$dir"
	ln -sf "../${up}bin/busybox" "$stage/$a"
done
[ -e "$stage/bin/sh" ] || ln -s busybox "$stage/bin/sh"

install -m 0755 "$init" "$stage/init"

cat >"$stage/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
agvm:x:1000:1000:agvm test user:/tmp:/bin/sh
P
cat >"$stage/etc/group" <<'G'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
agvm:x:1000:
G
echo agvm >"$stage/etc/hostname"
printf '127.0.0.1\tlocalhost agvm\n::1\tlocalhost ip6-localhost\n' >"$stage/etc/hosts"
printf 'hosts: files\n' >"$stage/etc/nsswitch.conf"

# The test files.
for arg in "$@"; do
	src=${arg%%=*}
	if [ "$src" != "$arg" ]; then
		dest=${arg#*=}
	elif [ -f "$src" ] && [ -x "$src" ]; then
		dest=bin/$(basename "$src")
	else
		dest=$(basename "$src")
	fi
	[ -n "$src" ] && [ -e "$src" ] || die "cannot add '$src': no such file or directory"
	case $dest in /* | *..*) die "cannot add '$src': destination '$dest' must stay under /ag" ;; esac
	dest=${dest%/}
	mkdir -p "$stage/ag/$(dirname "$dest")"
	if [ -d "$src" ]; then
		rm -rf "${stage:?}/ag/$dest"
		cp -rL "$src" "$stage/ag/$dest"
	else
		cp -L "$src" "$stage/ag/$dest"
	fi
	say "added $src as /ag/$dest"
done

# A newc archive of one entry, dev/console (c 5 1, 0600), then the trailer; the kernel
# reads archives one after the other, so it is appended to cpio's.
newc_entry() { # NAME MODE RDEVMAJOR RDEVMINOR
	local name=$1 namesize=$((${#1} + 1)) pad
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		0 "$2" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
	printf '%s\0' "$name"
	pad=$(((4 - (110 + namesize) % 4) % 4))
	head -c "$pad" /dev/zero
}

tmp=$out.tmp
{
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0)
	newc_entry dev/console $((8#020600)) 5 1
	newc_entry TRAILER!!! 0 0 0
} | gzip -6 -n >"$tmp"
mv "$tmp" "$out"
say "wrote $out ($(du -h "$out" | cut -f1))"
