#!/usr/bin/env bash
# Install everything agentguard needs to build, test and benchmark, from Debian 12
# packages only. Safe to run any number of times: packages already present are skipped.
set -euo pipefail

pkgs=(
	make gcc clang llvm pkg-config
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libssl-dev libyaml-dev libjansson-dev libcmocka-dev
	iproute2 python3
	python3-jwt python3-cryptography	# an independent ES256 JWT verifier for the tests
	golang-go golang-golang-x-mod-dev	# Go's sumdb/note and sumdb/tlog: an independent log checker
	qemu-system-x86 busybox-static cpio
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#pkgs[@]} packages present"
