/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * diag.h: diagnostics with a source position, printed as
 * "FILE:LINE:COL: error: MESSAGE" (lines and columns from 1).
 */
#ifndef AG_DIAG_H
#define AG_DIAG_H

#include <stdio.h>

struct diag {
	char *file;	/* owned */
	int line;	/* 1-based; 0 when not applicable */
	int col;	/* 1-based; 0 when not applicable */
	char *msg;	/* owned, lowercase, no final period */
};

struct diag_list {
	struct diag *v;
	int n;
	int cap;
};

/* diag_list__add: append a formatted error at file:line:col. Never fails
 * visibly: on allocation failure the message is replaced by "out of memory". */
void diag_list__add(struct diag_list *dl, const char *file, int line, int col,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* diag_list__print: each diagnostic on its own line to f. */
void diag_list__print(const struct diag_list *dl, FILE *f);

/* diag_list__free: frees every entry; dl can be reused. */
void diag_list__free(struct diag_list *dl);

#endif
