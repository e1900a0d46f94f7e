// SPDX-License-Identifier: GPL-2.0
/*
 * lsm_smoke.bpf.c: the VM tier's proof that BPF LSM enforces in the guest kernel.
 * One lsm/file_open program denies every open of a path under /etc/ by a task whose
 * cgroup id is target_cgid, and counts what it saw and denied. Independent of the
 * rest of agentguard on purpose.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EPERM 1

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 target_cgid = 0;

__u64 opens_in_cgroup = 0;	/* file_open calls from the target cgroup */
__u64 denied = 0;		/* of those, denied (path under /etc/) */
__u64 dpath_errors = 0;		/* bpf_d_path failures */

SEC("lsm/file_open")
int BPF_PROG(smoke_file_open, struct file *file, int ret)
{
	char buf[256] = {};
	long n;

	if (ret)
		return ret;
	if (bpf_get_current_cgroup_id() != target_cgid)
		return 0;
	__sync_fetch_and_add(&opens_in_cgroup, 1);

	/* f_path is const in newer kernels; bpf_d_path does not write it. */
	n = bpf_d_path((struct path *)&file->f_path, buf, sizeof(buf));
	if (n < 0) {
		__sync_fetch_and_add(&dpath_errors, 1);
		return 0;
	}
	if (buf[0] == '/' && buf[1] == 'e' && buf[2] == 't' && buf[3] == 'c' && buf[4] == '/') {
		__sync_fetch_and_add(&denied, 1);
		return -EPERM;
	}
	return 0;
}
