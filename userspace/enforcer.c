/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "enforcer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agentguard.skel.h"
#include "cgroup.h"

#define NHOOKS 9

struct enforcer {
	struct agentguard_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[NHOOKS];
	struct enforcer_hook hooks[NHOOKS];
	int root_fd;
	int ncpus;
};

static int attach_all(struct enforcer *e)
{
	struct {
		struct bpf_program *prog;
		const char *name;
		bool cgroup;
	} t[NHOOKS] = {
		{ e->skel->progs.ag_connect4, "cgroup/connect4", true },
		{ e->skel->progs.ag_connect6, "cgroup/connect6", true },
		{ e->skel->progs.ag_sendmsg4, "cgroup/sendmsg4", true },
		{ e->skel->progs.ag_sendmsg6, "cgroup/sendmsg6", true },
		{ e->skel->progs.ag_bind4, "cgroup/bind4", true },
		{ e->skel->progs.ag_bind6, "cgroup/bind6", true },
		{ e->skel->progs.ag_fork, "tp_btf/sched_process_fork", false },
		{ e->skel->progs.ag_exec, "tp_btf/sched_process_exec", false },
		{ e->skel->progs.ag_exit, "tp_btf/sched_process_exit", false },
	};

	for (int i = 0; i < NHOOKS; i++) {
		e->hooks[i].name = t[i].name;
		e->links[i] = t[i].cgroup ?
			bpf_program__attach_cgroup(t[i].prog, e->root_fd) :
			bpf_program__attach(t[i].prog);
		if (!e->links[i]) {
			int err = -errno;

			e->links[i] = NULL;
			return err;
		}
		e->hooks[i].attached = true;
	}
	return 0;
}

struct enforcer *enforcer__open(const struct enforcer_opts *o)
{
	struct enforcer *e;
	__u64 root_cgid;
	int level, err;

	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->root_fd = -1;
	e->ncpus = libbpf_num_possible_cpus();
	if (e->ncpus <= 0) {
		err = e->ncpus ? e->ncpus : -EINVAL;
		goto fail;
	}
	err = cgroup__id(o->root_path, &root_cgid);
	if (err)
		goto fail;
	level = cgroup__level(o->cgroup_mount, o->root_path);
	if (level < 0) {
		err = level;
		goto fail;
	}
	e->root_fd = open(o->root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->root_fd < 0) {
		err = -errno;
		goto fail;
	}

	e->skel = agentguard_bpf__open();
	if (!e->skel) {
		err = -errno;
		goto fail;
	}
	e->skel->rodata->ag_root_cgid = root_cgid;
	e->skel->rodata->ag_root_level = level;
	if (o->ringbuf_bytes) {
		bpf_map__set_max_entries(e->skel->maps.events, o->ringbuf_bytes);
		e->skel->rodata->ag_wakeup_bytes = o->ringbuf_bytes / 8;
	} else {
		e->skel->rodata->ag_wakeup_bytes = AG_DEFAULT_RINGBUF_BYTES / 8;
	}
	if (o->max_sessions)
		bpf_map__set_max_entries(e->skel->maps.sessions, o->max_sessions);
	if (o->max_policies)
		bpf_map__set_max_entries(e->skel->maps.policies, o->max_policies);
	if (o->max_net_rules)
		bpf_map__set_max_entries(e->skel->maps.net_rules, o->max_net_rules);

	err = agentguard_bpf__load(e->skel);
	if (err)
		goto fail;
	err = attach_all(e);
	if (err)
		goto fail;
	e->rb = ring_buffer__new(bpf_map__fd(e->skel->maps.events),
				 (ring_buffer_sample_fn)o->on_event, o->ctx, NULL);
	if (!e->rb) {
		err = -errno;
		goto fail;
	}
	return e;
fail:
	enforcer__destroy(e);
	errno = -err;
	return NULL;
}

void enforcer__destroy(struct enforcer *e)
{
	if (!e)
		return;
	ring_buffer__free(e->rb);
	for (int i = 0; i < NHOOKS; i++)
		bpf_link__destroy(e->links[i]);
	agentguard_bpf__destroy(e->skel);
	if (e->root_fd >= 0)
		close(e->root_fd);
	free(e);
}

static int del_entries(struct enforcer *e, __u32 id, const struct compiled_policy *cp,
		       size_t n)
{
	int fd = bpf_map__fd(e->skel->maps.net_rules), err = 0;
	struct ag_net_key key;

	for (size_t i = 0; i < n; i++) {
		compile__net_key(&cp->net[i], id, &key);
		if (bpf_map_delete_elem(fd, &key) < 0 && errno != ENOENT && !err)
			err = -errno;
	}
	return err;
}

int enforcer__set_policy(struct enforcer *e, __u32 id, const struct compiled_policy *cp)
{
	int fd = bpf_map__fd(e->skel->maps.net_rules), err;
	struct ag_net_key *keys = NULL;
	struct ag_net_val *vals = NULL;
	size_t i = 0;

	if (cp->nnet) {
		keys = malloc(cp->nnet * sizeof(*keys));
		vals = malloc(cp->nnet * sizeof(*vals));
		if (!keys || !vals) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; i < cp->nnet; i++) {
			compile__net_key(&cp->net[i], id, &keys[i]);
			vals[i] = cp->net[i].val;
		}
		/* One syscall for the whole set where the kernel supports it. */
		{
			__u32 count = cp->nnet;

			err = bpf_map_update_batch(fd, keys, vals, &count, NULL);
			i = count;
		}
		if (err) {
			for (i = 0; i < cp->nnet; i++) {
				if (bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY) < 0) {
					err = -errno;
					goto out;
				}
			}
			err = 0;
		}
	}
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.policies), &id, &cp->policy,
				BPF_ANY) < 0)
		err = -errno;
out:
	if (err)
		del_entries(e, id, cp, i);
	free(keys);
	free(vals);
	return err;
}

int enforcer__del_policy(struct enforcer *e, __u32 id, const struct compiled_policy *cp)
{
	int err = 0;

	if (bpf_map_delete_elem(bpf_map__fd(e->skel->maps.policies), &id) < 0 &&
	    errno != ENOENT)
		err = -errno;
	return del_entries(e, id, cp, cp->nnet) ?: err;
}

int enforcer__add_session(struct enforcer *e, __u64 cgid, const struct ag_session *s)
{
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.sessions), &cgid, s, BPF_ANY) < 0)
		return -errno;
	return 0;
}

int enforcer__del_session(struct enforcer *e, __u64 cgid)
{
	if (bpf_map_delete_elem(bpf_map__fd(e->skel->maps.sessions), &cgid) < 0 &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

int enforcer__poll(struct enforcer *e, int timeout_ms)
{
	if (timeout_ms == 0)
		return ring_buffer__consume(e->rb);
	return ring_buffer__poll(e->rb, timeout_ms);
}

int enforcer__ringbuf_fd(const struct enforcer *e)
{
	return ring_buffer__epoll_fd(e->rb);
}

int enforcer__stats(const struct enforcer *e, __u64 out[AG_STAT_MAX])
{
	int fd = bpf_map__fd(e->skel->maps.stats);
	__u64 *vals = calloc(e->ncpus, sizeof(__u64));

	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < AG_STAT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals) < 0) {
			int err = -errno;

			free(vals);
			return err;
		}
		for (int c = 0; c < e->ncpus; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

const struct enforcer_hook *enforcer__hooks(const struct enforcer *e, size_t *n)
{
	*n = NHOOKS;
	return e->hooks;
}
