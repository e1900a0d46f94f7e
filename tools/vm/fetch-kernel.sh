#!/usr/bin/env bash
# Fetch Debian 12's stock kernel (the image package that linux-image-amd64 depends on)
# for the VM test tier, and unpack it under build/vm/ (never into /boot).
#
#   tools/vm/fetch-kernel.sh [BUILD]      BUILD defaults to build
#
# Leaves BUILD/vm/vmlinuz, BUILD/vm/config (the kernel's /boot/config) and
# BUILD/vm/kernel-package (name and version). Idempotent: nothing is downloaded when
# BUILD/vm/vmlinuz is already there. Quiet unless V=1.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
vm=$build/vm
meta=linux-image-amd64

say() { if [ "${V:-0}" = 1 ]; then echo "fetch-kernel: $*"; fi; }
die() { echo "fetch-kernel: $*" >&2; exit 1; }

if [ -s "$vm/vmlinuz" ] && [ -s "$vm/kernel-package" ]; then
	say "kernel already present: $(cat "$vm/kernel-package")"
	exit 0
fi

command -v apt-get >/dev/null || die "cannot fetch kernel: 'apt-get' not found"
command -v dpkg >/dev/null || die "cannot fetch kernel: 'dpkg' not found"

# The real image package, e.g. linux-image-6.1.0-56-amd64.
resolve() {
	apt-cache depends "$meta" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1
}

updated=0
apt_update() {
	[ $updated = 0 ] || return 1
	say "running apt-get update"
	apt-get update -qq >/dev/null 2>&1 || die "cannot fetch kernel: 'apt-get update' failed"
	updated=1
}

pkg=$(resolve)
if [ -z "$pkg" ]; then
	apt_update
	pkg=$(resolve)
fi
[ -n "$pkg" ] || die "cannot resolve kernel package: '$meta' has no linux-image dependency"
say "kernel package is $pkg"

mkdir -p "$vm/dl"
dl=$vm/dl
# A leftover .deb from an earlier interrupted run is reused.
deb=$(ls "$dl/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
	# apt-get download runs as _apt when it can: give it a directory it may write.
	tmp=$(mktemp -d "$dl/.tmp.XXXXXX")
	chmod 0777 "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	if ! (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1); then
		# A stale package list may name a version the mirror no longer has.
		apt_update || true
		pkg=$(resolve)
		(cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1) ||
			die "cannot download '$pkg': apt-get download failed"
	fi
	f=$(ls "$tmp"/*.deb 2>/dev/null | head -n1 || true)
	[ -n "$f" ] || die "cannot download '$pkg': no .deb was written"
	mv "$f" "$dl/"
	deb=$dl/$(basename "$f")
	rm -rf "$tmp"
	trap - EXIT
fi
say "unpacking $(basename "$deb")"

x=$vm/kernel
rm -rf "$x"
mkdir -p "$x"
dpkg -x "$deb" "$x" || die "cannot unpack '$deb': dpkg -x failed"
img=$(ls "$x"/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
cfg=$(ls "$x"/boot/config-* 2>/dev/null | head -n1 || true)
[ -n "$img" ] || die "cannot find kernel image: '$deb' has no boot/vmlinuz-*"

grep -q '^CONFIG_BPF_LSM=y' "$cfg" 2>/dev/null ||
	echo "fetch-kernel: warning: '$(basename "${cfg:-config}")' lacks CONFIG_BPF_LSM=y" >&2

cp "$img" "$vm/vmlinuz.tmp" && mv "$vm/vmlinuz.tmp" "$vm/vmlinuz"
[ -z "$cfg" ] || cp "$cfg" "$vm/config"
ver=$(dpkg-deb -f "$deb" Version)
# Written last: its presence marks a complete fetch.
echo "$pkg $ver" >"$vm/kernel-package"
say "wrote $vm/vmlinuz ($pkg $ver)"
