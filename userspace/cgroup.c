/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cgroup__find_mount(char *buf, size_t len)
{
	char line[4096];
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype src sopts */
		char *sep = strstr(line, " - "), *mp, *save = NULL;
		int i;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		mp = strtok_r(line, " ", &save);
		for (i = 0; mp && i < 4; i++)
			mp = strtok_r(NULL, " ", &save);
		if (!mp)
			continue;
		if (strlen(mp) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		/* mountinfo escapes space, tab, newline and backslash as \ooo */
		{
			char *o = buf;

			for (const char *s = mp; *s; s++) {
				if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
					*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
					s += 3;
				} else {
					*o++ = *s;
				}
			}
			*o = 0;
		}
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int cgroup__id(const char *path, __u64 *id)
{
	struct {
		struct file_handle fh;
		__u64 cgid;
	} h;
	int mount_id;

	h.fh.handle_bytes = sizeof(__u64);
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0)
		return -errno;
	if (h.fh.handle_bytes != sizeof(__u64))
		return -EINVAL;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

int cgroup__level(const char *mount, const char *path)
{
	size_t ml = strlen(mount);
	int level = 0;

	while (ml > 1 && mount[ml - 1] == '/')
		ml--;
	if (strncmp(path, mount, ml) || (path[ml] && path[ml] != '/'))
		return -EINVAL;
	for (const char *p = path + ml; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			level++;
	return level;
}

int cgroup__of_pid(pid_t pid, char *buf, size_t len)
{
	char path[64], line[PATH_MAX + 64];
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t n;

		if (strncmp(line, "0::", 3))
			continue;
		n = strcspn(line + 3, "\n");
		if (n >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		memcpy(buf, line + 3, n);
		buf[n] = 0;
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static int write_file(const char *dir, const char *name, const char *val)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, err = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

int cgroup__move_pid(const char *path, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	return write_file(path, "cgroup.procs", buf);
}

int cgroup__populated(const char *path)
{
	char p[PATH_MAX], line[128];
	int ret = -ENOENT;
	FILE *f;

	if (snprintf(p, sizeof(p), "%s/cgroup.events", path) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "populated ", 10)) {
			ret = line[10] == '1';
			break;
		}
	}
	fclose(f);
	return ret;
}

int cgroup__mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int kill_procs(const char *path)
{
	char p[PATH_MAX];
	struct dirent *de;
	int pid, err = 0;
	DIR *d;
	FILE *f;

	if (snprintf(p, sizeof(p), "%s/cgroup.procs", path) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	f = fopen(p, "re");
	if (f) {
		while (fscanf(f, "%d", &pid) == 1)
			if (pid > 0)
				kill(pid, SIGKILL);
		fclose(f);
	}
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", path, de->d_name) >= (int)sizeof(p))
			continue;
		err = kill_procs(p) ?: err;
	}
	closedir(d);
	return err;
}

int cgroup__kill(const char *path)
{
	if (write_file(path, "cgroup.kill", "1\n") == 0)
		return 0;
	return kill_procs(path);
}

int cgroup__rmdir_tree(const char *path)
{
	char p[PATH_MAX];
	struct dirent *de;
	int err = 0;
	DIR *d;

	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", path, de->d_name) >= (int)sizeof(p)) {
			err = -ENAMETOOLONG;
			continue;
		}
		err = cgroup__rmdir_tree(p) ?: err;
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT)
		return -errno;
	return err;
}
