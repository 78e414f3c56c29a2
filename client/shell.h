/* shell.h: `raftctl shell`: commands read line by line from a stream, in
 * one context that keeps the leader between them. */
#ifndef RAFTCTL_SHELL_H
#define RAFTCTL_SHELL_H

#include <stddef.h>
#include <stdio.h>

struct cmd_ctx;

enum {
	SHELL_OK = 0,
	SHELL_EQUOTE = -1, /* an unterminated quote or trailing backslash */
};

/* Splits `line` into words like a POSIX shell does, without expansions:
 * blanks separate words; '...' keeps everything literally; "..." keeps
 * everything but \" and \\; outside quotes a backslash quotes the next
 * character; "" is an empty word; an unquoted '#' at the start of a word
 * begins a comment.  On success *argv is a malloc'd NULL-terminated array
 * of malloc'd words (free with shell_free_words()) and *argc their count;
 * on SHELL_EQUOTE nothing is allocated. */
int shell_split(const char *line, char ***argv, int *argc);

/* Frees what shell_split() returned; NULL is fine. */
void shell_free_words(char **argv);

/* Reads commands from `in` until end of input or `exit [STATUS]`,
 * printing a prompt when `in` is a terminal.  Returns the status of the
 * last command run (or the one `exit` gives), 0 if none ran. */
int shell_run(struct cmd_ctx *ctx, FILE *in);

#endif /* RAFTCTL_SHELL_H */
