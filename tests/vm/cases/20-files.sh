#!/bin/sh
# The kernel tier's files and exec scenario (tests/kernel/50-files-lsm.sh), run
# inside the VM, where BPF LSM is active, with the statically linked agentguard.
export AG_LIB=/ag/aglib.sh AG_FILES_MANIFESTS=/ag/files-manifests
export AG_BIN=/ag/bin/agentguard AGFILE=/ag/bin/agfile AG_BUSYBOX=/bin/busybox
exec sh /ag/files-lsm.sh
