/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * daemon.h: `agentguard daemon`: loads the BPF programs, compiles manifests
 * into maps, serves the session socket, and writes every event to the log.
 */
#ifndef AG_DAEMON_H
#define AG_DAEMON_H

/* cmd_daemon: the `daemon` subcommand (argv[0] is "daemon"). Returns the
 * process exit status. */
int cmd_daemon(int argc, char **argv);

#endif
