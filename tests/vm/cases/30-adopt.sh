#!/bin/sh
# The kernel tier's adopt scenario (tests/kernel/65-adopt.sh), inside the VM:
# there BPF LSM is active, so an agent with files rules can be adopted too.
export AG_LIB=/ag/aglib.sh AG_BIN=/ag/bin/agentguard AGPROBE=/ag/bin/agprobe
exec sh /ag/adopt.sh
