/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * compile.c: a manifest compiled into `policies`, `net_rules` and `path_rules`
 * contents.
 *
 * Network rules of one kind (allow or deny) become one trie entry per
 * distinct prefix; the entry's value is the union of the port ranges of every
 * rule of that kind whose CIDR contains the prefix (bpf/agentguard.h). The
 * prefixes are sorted by (address, length), so every prefix comes after all
 * prefixes containing it, and swept with a stack of the enclosing prefixes:
 * each entry is its own ranges merged with the accumulated value of its
 * nearest enclosing prefix. O(n log n) for the sort, O(n * depth) at most for
 * the sweep. Files and exec paths are compiled the same way into `path_rules`
 * (see compile_paths below).
 */
#include "compile.h"
#include "manifest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int range_cmp_proto(const void *a, const void *b)
{
	const struct ag_port_range *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static int range_cmp_lo(const void *a, const void *b)
{
	const struct ag_port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Is some range of r[lo..hi) (disjoint, sorted by lo) covering [x->lo, x->hi]? */
static bool covered(const struct ag_port_range *r, size_t lo, size_t hi,
		    const struct ag_port_range *x)
{
	size_t a = lo, b = hi;

	/* last index in [lo, hi) with r[i].lo <= x->lo */
	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (r[mid].lo <= x->lo)
			a = mid + 1;
		else
			b = mid;
	}
	return a > lo && r[a - 1].hi >= x->hi;
}

/*
 * Normalise a union of port ranges in place and return the new count:
 * overlapping or adjacent ranges of the same protocol mask and rule are
 * merged, a range inside another of the same mask is dropped, ranges covered
 * by a range of a wider mask are dropped, and ranges of one rule with equal
 * bounds are combined into one with the union of their masks. Every range
 * kept names a rule that admits all of it. The result is sorted by (lo, hi, proto). Every (port,
 * protocol) admitted before is admitted after, and nothing else.
 */
static size_t ranges_normalise(struct ag_port_range *r, size_t n)
{
	size_t start[9] = { 0 }, w = 0;
	bool *drop;

	if (n < 2)
		return n;
	qsort(r, n, sizeof(*r), range_cmp_proto);
	for (size_t i = 0; i < n; i++) {
		struct ag_port_range *p = w ? &r[w - 1] : NULL;

		/* Merge only what keeps the attribution exact: ranges of the
		 * same rule, or a range inside one that already admits it. The
		 * rule an event names always admits that port and protocol. */
		if (p && p->proto == r[i].proto &&
		    ((p->rule == r[i].rule && (unsigned)r[i].lo <= (unsigned)p->hi + 1) ||
		     r[i].hi <= p->hi)) {
			if (r[i].hi > p->hi)
				p->hi = r[i].hi;
		} else {
			r[w++] = r[i];
		}
	}
	n = w;

	/* group boundaries by mask (1..7): group m is r[start[m]..start[m+1]) */
	for (unsigned m = 0, i = 0; m <= 8; m++) {
		while (i < n && r[i].proto < m)
			i++;
		start[m] = i;
	}
	drop = calloc(n, sizeof(*drop));
	if (drop) {
		for (size_t i = 0; i < n; i++) {
			unsigned own = r[i].proto & 7;

			for (unsigned s = 1; s <= 7 && !drop[i]; s++)
				if (s != own && (s & own) == own)
					drop[i] = covered(r, start[s], start[s + 1], &r[i]);
		}
		w = 0;
		for (size_t i = 0; i < n; i++)
			if (!drop[i])
				r[w++] = r[i];
		n = w;
		free(drop);
	}

	qsort(r, n, sizeof(*r), range_cmp_lo);
	w = 0;
	for (size_t i = 0; i < n; i++) {
		struct ag_port_range *p = w ? &r[w - 1] : NULL;

		if (p && p->lo == r[i].lo && p->hi == r[i].hi && p->rule == r[i].rule) {
			p->proto |= r[i].proto;
		} else {
			r[w++] = r[i];
		}
	}
	return w;
}

/* A growable range buffer. */
struct rbuf {
	struct ag_port_range *r;
	size_t n, cap;
};

static int rbuf_add(struct rbuf *b, const struct ag_port_range *r, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		struct ag_port_range *v;

		/* keep it small: normalising often shrinks it */
		b->n = ranges_normalise(b->r, b->n);
		while (cap < b->n + n)
			cap *= 2;
		if (cap > b->cap) {
			v = realloc(b->r, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			b->r = v;
			b->cap = cap;
		}
	}
	memcpy(b->r + b->n, r, n * sizeof(*r));
	b->n += n;
	return 0;
}

struct citem {
	__u8 addr[16];
	__u8 bits;
	__u16 rule;
	const struct manifest_cidr *cidr;
};

static int citem_cmp(const void *a, const void *b)
{
	const struct citem *x = a, *y = b;
	int r = memcmp(x->addr, y->addr, sizeof(x->addr));

	if (r)
		return r;
	if (x->bits != y->bits)
		return x->bits < y->bits ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Does prefix (a, abits) contain prefix (b, bbits)? */
static bool prefix_contains(const __u8 *a, unsigned abits, const __u8 *b, unsigned bbits)
{
	unsigned full = abits / 8, rest = abits % 8;

	if (abits > bbits)
		return false;
	if (memcmp(a, b, full))
		return false;
	if (rest && ((a[full] ^ b[full]) & (__u8)(0xff00u >> rest)))
		return false;
	return true;
}

struct rule_ranges {
	struct ag_port_range r[AG_NET_MAX_RANGES];
	__u32 n;
};

struct frame {
	__u8 addr[16];
	__u8 bits;
	struct ag_net_val acc;
};

/* Compile rules[0..nrules) of one kind, appending entries to out. */
static int compile_kind(const struct manifest *m, __u8 kind,
			const struct manifest_net_rule *rules, size_t nrules,
			struct compiled_policy *out, struct diag_list *dl)
{
	const char *kname = kind == AG_NET_DENY ? "deny" : "allow";
	struct rule_ranges *rr = NULL;
	struct citem *items = NULL;
	struct frame *stack = NULL;
	struct rbuf buf = { 0 };
	char pfx[64];
	size_t nitems = 0, depth = 0;
	int err = 0;

	if (!nrules)
		return 0;
	rr = calloc(nrules, sizeof(*rr));
	stack = calloc(130, sizeof(*stack));
	if (!rr || !stack) {
		err = -ENOMEM;
		goto out;
	}

	/* each rule's own ranges, normalised once */
	for (size_t i = 0; i < nrules; i++) {
		const struct manifest_net_rule *ru = &rules[i];
		size_t n = ru->nports ? ru->nports : 1;

		buf.n = 0;
		for (size_t k = 0; k < n; k++) {
			struct ag_port_range pr = {
				.lo = ru->nports ? ru->ports[k].lo : 0,
				.hi = ru->nports ? ru->ports[k].hi : 65535,
				.proto = ru->proto,
				.rule = (__u16)i,
			};

			err = rbuf_add(&buf, &pr, 1);
			if (err)
				goto out;
		}
		buf.n = ranges_normalise(buf.r, buf.n);
		if (buf.n > AG_NET_MAX_RANGES) {
			diag_list__add(dl, m->file, ru->line, ru->col,
				       "too many port ranges in 'spec.network.egress.%s[%zu]' "
				       "(%zu after merging, limit %d)", kname, i, buf.n,
				       AG_NET_MAX_RANGES);
			err = -EINVAL;
			goto out;
		}
		memcpy(rr[i].r, buf.r, buf.n * sizeof(*buf.r));
		rr[i].n = (__u32)buf.n;
		nitems += ru->ncidrs;
	}

	items = calloc(nitems ? nitems : 1, sizeof(*items));
	if (!items) {
		err = -ENOMEM;
		goto out;
	}
	nitems = 0;
	for (size_t i = 0; i < nrules; i++) {
		for (size_t k = 0; k < rules[i].ncidrs; k++) {
			struct citem *it = &items[nitems++];

			memcpy(it->addr, rules[i].cidrs[k].addr, 16);
			it->bits = rules[i].cidrs[k].bits;
			it->rule = (__u16)i;
			it->cidr = &rules[i].cidrs[k];
		}
	}
	qsort(items, nitems, sizeof(*items), citem_cmp);

	for (size_t i = 0; i < nitems;) {
		const struct citem *g = &items[i];
		struct compiled_net_entry *e;
		struct frame *top;
		size_t j;

		while (depth && !prefix_contains(stack[depth - 1].addr, stack[depth - 1].bits,
						 g->addr, g->bits))
			depth--;
		buf.n = 0;
		if (depth) {
			err = rbuf_add(&buf, stack[depth - 1].acc.r, stack[depth - 1].acc.n);
			if (err)
				goto out;
		}
		for (j = i; j < nitems && items[j].bits == g->bits &&
			    !memcmp(items[j].addr, g->addr, 16); j++) {
			if (j > i && items[j].rule == items[j - 1].rule)
				continue;
			err = rbuf_add(&buf, rr[items[j].rule].r, rr[items[j].rule].n);
			if (err)
				goto out;
		}
		buf.n = ranges_normalise(buf.r, buf.n);
		if (buf.n > AG_NET_MAX_RANGES) {
			compile__prefix_str(g->addr, g->bits, pfx, sizeof(pfx));
			diag_list__add(dl, m->file, g->cidr->line, g->cidr->col,
				       "too many port ranges apply to '%s' of "
				       "'spec.network.egress.%s[%u]' (%zu after merging every %s "
				       "rule that contains it, limit %d)", pfx, kname, g->rule,
				       buf.n, kname, AG_NET_MAX_RANGES);
			err = -EINVAL;
			goto out;
		}
		top = &stack[depth++];
		memcpy(top->addr, g->addr, 16);
		top->bits = g->bits;
		memset(&top->acc, 0, sizeof(top->acc));
		memcpy(top->acc.r, buf.r, buf.n * sizeof(*buf.r));
		top->acc.n = (__u32)buf.n;

		e = &out->net[out->nnet++];
		memset(e, 0, sizeof(*e));
		e->kind = kind;
		e->addr_bits = g->bits;
		memcpy(e->addr, g->addr, 16);
		e->val = top->acc;
		i = j;
	}
out:
	free(buf.r);
	free(items);
	free(stack);
	free(rr);
	return err;
}

/* ------------------------------------------------------------------------ */
/* Paths                                                                     */

/*
 * Path rules of one kind (files or exec) become one trie entry per distinct
 * pattern: a tree rule "dir/" is its bytes, an exact rule its bytes and a
 * NUL. Sorted byte-wise, every pattern comes after each pattern that is a
 * prefix of it, and everything between a pattern and a longer pattern it
 * prefixes starts with it too; so the same stack sweep as for CIDRs gives
 * each entry the union of every rule whose pattern is a prefix of it. Only
 * tree patterns can be a prefix of another pattern (an exact one ends in the
 * only NUL), so only they go on the stack.
 *
 * For files, every proper ancestor directory of a rule's path ("/a/" and
 * "/a/b/" for "/a/b/c") also gets an exact entry ("/a/\0") marked
 * AG_ACC_NESTED with one rule below it: the kernel refuses to rename such a
 * directory, which would carry the rules below it elsewhere.
 */
struct pitem {
	const char *bytes;	/* pattern; exact ones include their NUL */
	__u16 len;
	__u8 acc;		/* AG_ACC_* of the rule, AG_ACC_NESTED for a marker */
	__u8 nested_kind;	/* markers: AG_RULE_FILES_* of the rule below */
	__u16 rule;		/* index in its list (markers: of the rule below) */
	const struct manifest_path *src;
};

static int pitem_cmp(const void *a, const void *b)
{
	const struct pitem *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->bytes, y->bytes, n);

	if (r)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->acc != y->acc)
		return x->acc < y->acc ? -1 : 1;
	if (x->nested_kind != y->nested_kind)
		return x->nested_kind < y->nested_kind ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

struct plist {
	const struct manifest_path_list *l;
	__u8 acc;
	__u8 rule_kind;		/* AG_RULE_FILES_* or AG_RULE_EXEC_ALLOW */
	const char *name;	/* for diagnostics: "files.read" */
};

/* Compile the lists of one kind, appending entries to out->paths. */
static int compile_paths(const struct manifest *m, __u8 kind, const struct plist *lists,
			 size_t nlists, struct compiled_policy *out, struct diag_list *dl)
{
	struct pitem *items = NULL;
	char **markers = NULL;
	size_t nitems = 0, cap = 0, nmarkers = 0, depth = 0;
	struct ag_path_val *stack = NULL;
	const struct pitem **stack_item = NULL;
	struct compiled_path_entry *ents;
	int err = 0;

	for (size_t li = 0; li < nlists; li++)
		cap += lists[li].l->n;
	if (!cap)
		return 0;
	items = calloc(cap, sizeof(*items));
	if (!items)
		return -ENOMEM;

	/* the rules themselves */
	for (size_t li = 0; li < nlists; li++) {
		for (size_t i = 0; i < lists[li].l->n; i++) {
			const struct manifest_path *mp = &lists[li].l->v[i];
			size_t len = strlen(mp->path);

			if (len > AG_PATH_KEY_LEN - 2) {
				diag_list__add(dl, m->file, mp->line, mp->col,
					       "path in 'spec.%s[%zu]' is too long for kernel "
					       "enforcement (%zu bytes, limit %d)", lists[li].name, i,
					       len, AG_PATH_KEY_LEN - 2);
				err = -EINVAL;
				continue;
			}
			items[nitems++] = (struct pitem){
				.bytes = mp->path,
				.len = (__u16)(mp->tree ? len : len + 1),
				.acc = lists[li].acc,
				.rule = (__u16)i,
				.src = mp,
			};
		}
	}
	if (err)
		goto out;

	/* ancestor markers of files rules: each directory "A/" strictly above
	 * a rule, once. In byte order the rules below "A/" are one run, so the
	 * first of them makes the marker, naming itself as the rule below. */
	qsort(items, nitems, sizeof(*items), pitem_cmp);
	if (kind == AG_PATH_FILES) {
		size_t nrules = nitems;

		for (size_t i = 0; i < nrules; i++) {
			const struct pitem *it = &items[i], *prev = i ? &items[i - 1] : NULL;
			size_t plen = strlen(it->bytes);

			for (size_t j = 1; j + 1 < plen; j++) {
				struct pitem *mk;
				char *b, **nm;

				if (it->bytes[j] != '/')
					continue;
				if (prev && strlen(prev->bytes) > j + 1 &&
				    !memcmp(prev->bytes, it->bytes, j + 1))
					continue;	/* made for an earlier rule below it */
				if (nitems + 1 > COMPILE_MAX_PATH_ENTRIES) {
					diag_list__add(dl, m->file, it->src->line, it->src->col,
						       "too many path entries in the manifest (rules "
						       "and the directories above them, limit %d)",
						       COMPILE_MAX_PATH_ENTRIES);
					err = -EINVAL;
					goto out;
				}
				if (nitems == cap) {
					struct pitem *v = realloc(items, cap * 2 * sizeof(*v));

					if (!v) {
						err = -ENOMEM;
						goto out;
					}
					items = v;
					it = &items[i];
					prev = i ? &items[i - 1] : NULL;
					cap *= 2;
				}
				if (nmarkers % 64 == 0) {
					nm = realloc(markers, (nmarkers + 64) * sizeof(*nm));
					if (!nm) {
						err = -ENOMEM;
						goto out;
					}
					markers = nm;
				}
				b = malloc(j + 2);
				if (!b) {
					err = -ENOMEM;
					goto out;
				}
				memcpy(b, it->bytes, j + 1);
				b[j + 1] = 0;
				markers[nmarkers++] = b;
				mk = &items[nitems++];
				*mk = (struct pitem){
					.bytes = b,
					.len = (__u16)(j + 2),
					.acc = AG_ACC_NESTED,
					.rule = it->rule,
					.src = it->src,
				};
				for (size_t li = 0; li < nlists; li++)
					if (lists[li].acc == it->acc)
						mk->nested_kind = lists[li].rule_kind;
			}
		}
	}
	qsort(items, nitems, sizeof(*items), pitem_cmp);

	if (out->npaths + nitems > COMPILE_MAX_PATH_ENTRIES) {
		diag_list__add(dl, m->file, items[0].src->line, items[0].src->col,
			       "too many path entries in the manifest (%zu, limit %d)",
			       out->npaths + nitems, COMPILE_MAX_PATH_ENTRIES);
		err = -EINVAL;
		goto out;
	}
	ents = realloc(out->paths, (out->npaths + nitems) * sizeof(*ents));
	if (!ents) {
		err = -ENOMEM;
		goto out;
	}
	out->paths = ents;
	stack = calloc(AG_PATH_KEY_LEN, sizeof(*stack));
	stack_item = calloc(AG_PATH_KEY_LEN, sizeof(*stack_item));
	if (!stack || !stack_item) {
		err = -ENOMEM;
		goto out;
	}

	for (size_t i = 0; i < nitems;) {
		const struct pitem *g = &items[i];
		struct compiled_path_entry *e;
		__u8 seen = 0;
		size_t j;

		while (depth && !(stack_item[depth - 1]->len <= g->len &&
				  !memcmp(stack_item[depth - 1]->bytes, g->bytes,
					  stack_item[depth - 1]->len)))
			depth--;
		e = &out->paths[out->npaths++];
		memset(e, 0, sizeof(*e));
		e->kind = kind;
		e->len = g->len;
		memcpy(e->path, g->bytes, g->len);
		if (depth)
			e->val = stack[depth - 1];
		for (j = i; j < nitems && items[j].len == g->len &&
			    !memcmp(items[j].bytes, g->bytes, g->len); j++) {
			const struct pitem *it = &items[j];

			if (seen & it->acc)
				continue;	/* a later duplicate: the first rule names it */
			seen |= it->acc;
			e->val.access |= it->acc;
			switch (it->acc) {
			case AG_ACC_READ: e->val.read_rule = it->rule; break;
			case AG_ACC_WRITE: e->val.write_rule = it->rule; break;
			case AG_ACC_DENY: e->val.deny_rule = it->rule; break;
			case AG_ACC_EXEC: e->val.exec_rule = it->rule; break;
			case AG_ACC_NESTED:
				e->val.nested_kind = it->nested_kind;
				e->val.nested_rule = it->rule;
				break;
			}
		}
		e->own = seen;
		if (g->bytes[g->len - 1] != 0) {
			/* a tree: what it and its ancestors grant holds below it */
			stack[depth] = e->val;
			stack_item[depth] = g;
			depth++;
		}
		i = j;
	}
out:
	for (size_t i = 0; i < nmarkers; i++)
		free(markers[i]);
	free(markers);
	free(stack);
	free(stack_item);
	free(items);
	return err;
}

int compile__policy(const struct manifest *m, struct compiled_policy *out,
		    struct diag_list *dl)
{
	struct rbuf buf = { 0 };
	size_t total = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->policy.mode = (__u8)m->mode;
	out->policy.egress = (__u8)m->net.egress;
	out->policy.bind = m->net.bind_present ? AG_SECTION_DENY : AG_SECTION_ABSENT;

	if (m->net.bind_present) {
		for (size_t i = 0; i < m->net.nbind; i++) {
			struct ag_port_range pr = {
				.lo = m->net.bind[i].lo,
				.hi = m->net.bind[i].hi,
				.proto = AG_PROTO_ANY,
				/* the list is one rule, "network.bind.allow":
				 * its ports merge freely */
				.rule = 0,
			};

			err = rbuf_add(&buf, &pr, 1);
			if (err)
				goto fail;
		}
		buf.n = ranges_normalise(buf.r, buf.n);
		if (buf.n > AG_BIND_MAX_RANGES) {
			diag_list__add(dl, m->file, m->net.bind_line, m->net.bind_col,
				       "too many port ranges in 'spec.network.bind.allow' "
				       "(%zu after merging, limit %d)", buf.n, AG_BIND_MAX_RANGES);
			err = -EINVAL;
			goto fail;
		}
		if (buf.n)
			memcpy(out->policy.bind_ranges, buf.r, buf.n * sizeof(*buf.r));
		out->policy.nbind = (__u8)buf.n;
	}
	free(buf.r);
	buf.r = NULL;

	out->policy.files = (__u8)m->files.section;
	out->policy.exec = (__u8)m->exec.section;
	if (m->files.section != AG_SECTION_ABSENT) {
		const struct plist fl[] = {
			{ &m->files.read, AG_ACC_READ, AG_RULE_FILES_READ, "files.read" },
			{ &m->files.write, AG_ACC_WRITE, AG_RULE_FILES_WRITE, "files.write" },
			{ &m->files.deny, AG_ACC_DENY, AG_RULE_FILES_DENY, "files.deny" },
		};

		err = compile_paths(m, AG_PATH_FILES, fl, 3, out, dl);
		if (err)
			goto fail;
	}
	if (m->exec.section != AG_SECTION_ABSENT) {
		const struct plist el[] = {
			{ &m->exec.allow, AG_ACC_EXEC, AG_RULE_EXEC_ALLOW, "exec.allow" },
		};

		err = compile_paths(m, AG_PATH_EXEC, el, 1, out, dl);
		if (err)
			goto fail;
	}

	if (m->net.egress == AG_SECTION_ABSENT)
		return 0;
	for (size_t i = 0; i < m->net.nallow; i++)
		total += m->net.allow[i].ncidrs;
	for (size_t i = 0; i < m->net.ndeny; i++)
		total += m->net.deny[i].ncidrs;
	if (!total)
		return 0;
	out->net = calloc(total, sizeof(*out->net));
	if (!out->net) {
		err = -ENOMEM;
		goto fail;
	}
	err = compile_kind(m, AG_NET_ALLOW, m->net.allow, m->net.nallow, out, dl);
	if (!err)
		err = compile_kind(m, AG_NET_DENY, m->net.deny, m->net.ndeny, out, dl);
	if (err)
		goto fail;
	return 0;
fail:
	free(buf.r);
	compiled_policy__free(out);
	memset(out, 0, sizeof(*out));
	return err;
}

void compiled_policy__free(struct compiled_policy *out)
{
	free(out->net);
	out->net = NULL;
	out->nnet = 0;
	free(out->paths);
	out->paths = NULL;
	out->npaths = 0;
}

void compile__path_key(const struct compiled_path_entry *e, __u32 policy,
		       struct ag_path_key *key)
{
	memset(key, 0, sizeof(*key));
	key->prefixlen = AG_PATH_PREFIX(e->len);
	key->policy_kind = htonl(AG_PATH_KEY(policy, e->kind));
	memcpy(key->path, e->path, e->len);
}

int compile__deny_path(const struct compiled_path_entry *e, char *buf, bool *tree,
		       __u16 *rule)
{
	size_t n = e->len;

	if (e->kind != AG_PATH_FILES || !(e->own & AG_ACC_DENY) || !n)
		return 0;
	*tree = e->path[n - 1] != 0;
	*rule = e->val.deny_rule;
	if (!*tree)
		n--;			/* the NUL */
	else if (n > 1)
		n--;			/* the final '/' of "dir/" */
	memcpy(buf, e->path, n);
	buf[n] = 0;
	return 1;
}

void compile__net_key(const struct compiled_net_entry *e, __u32 policy,
		      struct ag_net_key *key)
{
	memset(key, 0, sizeof(*key));
	key->prefixlen = AG_NET_PREFIX(e->addr_bits);
	key->policy_kind = htonl(AG_NET_KEY(policy, e->kind));
	memcpy(key->addr, e->addr, sizeof(key->addr));
}

int compile__prefix_str(const __u8 addr[16], __u8 addr_bits, char *buf, size_t len)
{
	static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char a[INET6_ADDRSTRLEN];
	int r;

	if (addr_bits >= 96 && !memcmp(addr, mapped, sizeof(mapped))) {
		inet_ntop(AF_INET, addr + 12, a, sizeof(a));
		r = snprintf(buf, len, "%s/%u", a, addr_bits - 96u);
	} else {
		inet_ntop(AF_INET6, addr, a, sizeof(a));
		r = snprintf(buf, len, "%s/%u", a, (unsigned)addr_bits);
	}
	return r < 0 || (size_t)r >= len ? -ENOSPC : 0;
}
