#!/bin/sh
# BPF LSM works in this kernel: an lsm/file_open program denies /etc/ to one cgroup
# only (tests/vm/smoke/lsm_smoke.c prints its own ok/not ok lines).
. /ag/lib.sh

need_cmd lsm_smoke lsm_smoke || exit 0
lsm_smoke
