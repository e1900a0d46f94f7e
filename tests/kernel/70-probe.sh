#!/bin/sh
# agentguard probe, status and daemon.start say the same, and what they say
# follows from what really loads here.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
out=$(mktemp); trap 'rm -f "$out"' EXIT
"$AG_BIN" probe >"$out"; rc=$?
check "probe exits 0" "0" "$rc"
check_grep "probe names the cgroup2 mount from mountinfo" "cgroup2 mount +$(cg2_mount)\$" "$out"
check_grep "the network hooks load and attach here" "cgroup/connect4 +available" "$out"
check_grep "the process tracepoints attach here" "tp_btf/sched_process_exec +available" "$out"
if grep -Eq "lsm/file_open +available" "$out"; then
	check_grep "files are enforced by BPF LSM where it attaches" "^  files +enforce: BPF LSM" "$out"
else
	check_grep "files fall back to Landlock where BPF LSM does not attach" "^  files +enforce: Landlock ABI [1-9]" "$out"
	check_grep "the fallback says what it cannot do exactly" "not exact: a deny inside an allowed tree" "$out"
fi
left=$(find "$(cg2_mount)" -maxdepth 1 -name 'agentguard-probe-*' | wc -l)
check "probe leaves no cgroup behind" "0" "$left"
check "probe leaves no securityfs mount behind" "0" "$(grep -c agentguard-securityfs /proc/mounts)"
"$AG_BIN" probe --json | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["enforcement"]["network.egress"]["mechanism"].startswith("enforce")' 2>/dev/null
check "probe --json is JSON with the same facts" "0" "$?"

ag_start_daemon tests/kernel/manifests
"$AG_BIN" status --socket "$AG_SOCK" >"$out"
check_grep "status shows the enforcement of each rule kind" "^  network.egress +enforce: cgroup/connect4" "$out"
"$AG_BIN" status --socket "$AG_SOCK" --json | python3 -c 'import json,sys; j=json.load(sys.stdin); assert "lsm/file_open" in j["probe"]["hooks"]' 2>/dev/null
check "status --json carries the probe report" "0" "$?"
ag_events --type daemon.start >"$out"
check_grep "daemon.start records the probe report" '"daemon":\{"version":"[^"]+","cgroup_root":"[^"]+","kernel":\{"btf":true.*"enforcement":\{"network.egress":\{"mechanism":"enforce' "$out"
