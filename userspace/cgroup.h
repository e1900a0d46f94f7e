/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cgroup.h: cgroup v2 helpers. The cgroup2 mount is read from
 * /proc/self/mountinfo, never assumed.
 */
#ifndef AG_CGROUP_H
#define AG_CGROUP_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* cgroup__find_mount: the mount point of the cgroup2 hierarchy, into buf.
 * Returns 0, -ENOENT if none is mounted, -ENAMETOOLONG, or -errno. */
int cgroup__find_mount(char *buf, size_t len);

/* cgroup__id: the cgroup id of the cgroup directory at path (what
 * bpf_get_current_cgroup_id() returns for tasks in it). 0 or -errno. */
int cgroup__id(const char *path, __u64 *id);

/* cgroup__level: the depth of path below mount ("<mount>" is 0,
 * "<mount>/a" is 1). Returns the level, or -EINVAL if path is not below mount. */
int cgroup__level(const char *mount, const char *path);

/* cgroup__of_pid: the cgroup2 path of pid relative to the hierarchy root
 * ("/agentguard/x/y"), from /proc/<pid>/cgroup. 0 or -errno. */
int cgroup__of_pid(pid_t pid, char *buf, size_t len);

/* cgroup__move_pid: write pid to <path>/cgroup.procs. 0 or -errno. */
int cgroup__move_pid(const char *path, pid_t pid);

/* cgroup__populated: 1 if the cgroup or a descendant has a live process,
 * 0 if not, -errno on failure (from cgroup.events). */
int cgroup__populated(const char *path);

/* cgroup__mkdir_p: create path and missing parents (mode 0755). 0 or -errno;
 * an existing directory is not an error. */
int cgroup__mkdir_p(const char *path);

/* cgroup__kill: kill every process of the cgroup tree (cgroup.kill, else
 * SIGKILL to each pid of cgroup.procs, recursively). 0 or -errno. */
int cgroup__kill(const char *path);

/* cgroup__rmdir_tree: remove path and every cgroup below it, deepest first.
 * Populated cgroups cannot be removed: -EBUSY. 0 or -errno. */
int cgroup__rmdir_tree(const char *path);

#endif
