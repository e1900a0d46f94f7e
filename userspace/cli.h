/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cli.h: the subcommands of the agentguard binary. Each takes its own argv
 * (argv[0] is the subcommand name) and returns the process exit status:
 * 0 success, 1 failure, 2 usage error.
 */
#ifndef AG_CLI_H
#define AG_CLI_H

int cmd_daemon(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_adopt(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_token(int argc, char **argv);

#endif
