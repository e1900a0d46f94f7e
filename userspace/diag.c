/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_list__add(struct diag_list *dl, const char *file, int line, int col,
		    const char *fmt, ...)
{
	struct diag *d;
	va_list ap;

	if (dl->n == dl->cap) {
		int cap = dl->cap ? dl->cap * 2 : 8;
		struct diag *v = realloc(dl->v, cap * sizeof(*v));

		if (!v)
			return;
		dl->v = v;
		dl->cap = cap;
	}
	d = &dl->v[dl->n++];
	d->file = strdup(file ? file : "<input>");
	d->line = line;
	d->col = col;
	va_start(ap, fmt);
	if (vasprintf(&d->msg, fmt, ap) < 0)
		d->msg = NULL;
	va_end(ap);
	if (!d->msg)
		d->msg = strdup("out of memory");
}

void diag_list__print(const struct diag_list *dl, FILE *f)
{
	for (int i = 0; i < dl->n; i++) {
		const struct diag *d = &dl->v[i];

		if (d->line > 0)
			fprintf(f, "%s:%d:%d: error: %s\n", d->file, d->line,
				d->col, d->msg);
		else
			fprintf(f, "%s: error: %s\n", d->file, d->msg);
	}
}

void diag_list__free(struct diag_list *dl)
{
	for (int i = 0; i < dl->n; i++) {
		free(dl->v[i].file);
		free(dl->v[i].msg);
	}
	free(dl->v);
	dl->v = NULL;
	dl->n = dl->cap = 0;
}
