/* cmd.h: raftctl's commands (docs/RAFTCTL.md), shared by the command line and
 * the interactive shell. */
#ifndef RAFTCTL_CMD_H
#define RAFTCTL_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses (docs/RAFTCTL.md). */
enum {
	CMD_EXIT_OK = 0,
	CMD_EXIT_FAIL = 1,    /* the operation failed (not found, cas...) */
	CMD_EXIT_USAGE = 2,   /* bad arguments, bad config, no nodes */
	CMD_EXIT_UNAVAIL = 3, /* no answer from the cluster in time */
};

#define CMD_DEFAULT_TIMEOUT_MS 10000

struct rpc;

/* Global options and the state kept between commands (the shell runs
 * many commands in one context, keeping the leader it found). */
struct cmd_ctx {
	const char *config_path; /* -c, or NULL */
	const char *servers;	 /* -s, or NULL */
	uint64_t timeout_ms;	 /* -t: each command's overall deadline */
	bool timeout_set;	 /* -t was given (else snapshot waits longer) */
	bool json;		 /* --json */
	bool verbose;		 /* -v: trace every RPC on stderr */
	bool in_shell;
	/* Made on first use by a command that talks to the cluster. */
	struct rpc *rpc;
	/* Tids this process generates: a unique base plus a counter, so a
	 * retried write carries the same tid and a new write a new one. */
	char tid_base[96];
	unsigned long tid_seq;
};

/* Initialises `ctx` with the defaults (no nodes, 10 s, text output). */
void cmd_ctx_init(struct cmd_ctx *ctx);

/* Releases what commands made in `ctx` (not ctx itself). */
void cmd_ctx_release(struct cmd_ctx *ctx);

/* Runs the command argv[0] with its arguments; returns its exit status
 * (CMD_EXIT_*).  Output goes to stdout, errors to stderr in one line.
 * "shell" is not handled here (see shell.h). */
int cmd_run(struct cmd_ctx *ctx, int argc, char **argv);

/* Key completion (the shell's Tab, `raftctl __complete-keys`): at most
 * `max` keys starting with `prefix` (list() on the leader, 1.5 s at
 * most, nothing printed), only those that insert as one plain word
 * (letters, digits, UTF-8 and ._:/@%+=,-^, not starting with '-').  On 0
 * *out is a malloc'd array of *n malloc'd keys (free each and it);
 * -1 when the cluster cannot be asked. */
#define CMD_COMPLETE_MAX 100
int cmd_complete_keys(struct cmd_ctx *ctx, const char *prefix, size_t max,
		      char ***out, size_t *n);

/* Writes the usage text (every command with an example). */
void cmd_usage(FILE *out);

/* Makes the next tid into `out` ("raftctl-HOST-PID-NS-RAND-SEQ"). */
void cmd_next_tid(struct cmd_ctx *ctx, char *out, size_t outlen);

/* Parses a -t value: seconds, possibly fractional ("0.5"), > 0 and at
 * most a day.  Returns 0 or -1. */
int cmd_parse_seconds(const char *s, uint64_t *ms);

#endif /* RAFTCTL_CMD_H */
