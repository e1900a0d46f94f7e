#!/bin/sh
# Builds tests/tools/tlogcheck offline against Debian's Go packages
# (golang-go, golang-golang-x-mod-dev in /usr/share/gocode): GOPATH mode,
# no module proxy, nothing downloaded. Usage: build.sh OUTPUT
set -eu
out=${1:?usage: build.sh OUTPUT}
src=$(cd "$(dirname "$0")" && pwd)
command -v go >/dev/null 2>&1 || { echo "tlogcheck: 'go' not found (install golang-go: tools/install-deps.sh)" >&2; exit 1; }
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ] ||
	{ echo "tlogcheck: no golang.org/x/mod in /usr/share/gocode (install golang-golang-x-mod-dev: tools/install-deps.sh)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
dir=$(cd "$(dirname "$out")" && pwd)
out=$dir/$(basename "$out")
cache=$dir/go-cache
cd "$src"
GOPATH=/usr/share/gocode GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local \
	GOCACHE="$cache" go build -o "$out" .
