#!/bin/sh
# The kernel tier's network scenario, run inside the VM (Debian's 6.1 kernel
# with BPF LSM active) with the statically linked agentguard.
export AG_LIB=/ag/aglib.sh AG_MANIFESTS=/ag/manifests
export AG_BIN=/ag/bin/agentguard AGPROBE=/ag/bin/agprobe
exec sh /ag/network.sh
