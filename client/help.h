/* help.h: raftctl's per-command help (`raftctl COMMAND --help`, `raftctl
 * help COMMAND`), the command names (for completion), and the "did you
 * mean" suggestion for a mistyped command. */
#ifndef RAFTCTL_HELP_H
#define RAFTCTL_HELP_H

#include <stddef.h>
#include <stdio.h>

struct help_cmd {
	const char *name;
	const char *synopsis; /* after "raftctl " */
	const char *text;     /* what it does, options, an example */
	const char *options;  /* its options for completion, space separated */
};

/* The commands, in the order `raftctl --help` shows them; `n` gets their
 * count.  Static storage. */
const struct help_cmd *help_commands(size_t *n);

/* The entry of command `name` (aliases too: "delete", "quit"), or NULL. */
const struct help_cmd *help_find(const char *name);

/* Prints command `name`'s usage and description to `out`; -1 (nothing
 * printed) for an unknown command. */
int help_print(FILE *out, const char *name);

/* The command closest to the unknown `word` by edit distance (an
 * insertion, deletion, substitution or swap of two neighbours each
 * count 1), if it is close enough to be a typo (at most 2, and less than
 * the word's length); else NULL. */
const char *help_suggest(const char *word);

/* The edit distance help_suggest() uses (optimal string alignment). */
size_t help_distance(const char *a, const char *b);

#endif /* RAFTCTL_HELP_H */
