/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ocsf.h: log entries as OCSF 1.1.0 events (`agentguard events --format
 * ocsf`, the daemon's syslog output). A pure mapping: one parsed entry in,
 * one OCSF event out, nothing read from the host. Every entry type the
 * daemon writes has a mapping of its own; the table is in docs/events.md
 * ("OCSF"), field by field.
 */
#ifndef AG_OCSF_H
#define AG_OCSF_H

#include <stddef.h>
#include <jansson.h>

#define OCSF_SCHEMA_VERSION	"1.1.0"

/* ocsf__class_of: the OCSF class_uid an entry type maps to (0 for Base
 * Event), or -ENOENT for a type without a mapping of its own. */
int ocsf__class_of(const char *type);

/* ocsf__type: the i-th entry type with a mapping of its own (from 0), or
 * NULL past the last. */
const char *ocsf__type(size_t i);

/* ocsf__from_entry: the OCSF event of the log entry e (a JSON object with at
 * least seq, time and type). origin names the log (its checkpoint origin,
 * e.g. "agentguard/host-1"): metadata.uid is "<origin>:<seq>"; NULL uses
 * "agentguard/<host>". An entry of a type without a mapping (written by a
 * newer daemon) becomes a Base Event with every field under unmapped.
 * Returns a new reference, or NULL with errno EINVAL (not an entry) or
 * ENOMEM. */
json_t *ocsf__from_entry(json_t *e, const char *origin);

#endif
