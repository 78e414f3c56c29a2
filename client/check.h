/* check.h: `raftctl check`: reads raftlog files copied from several nodes
 * and reports every violation of Raft's safety properties it can see.
 *
 * Per file: the header and every record's checksum (a damaged file is an
 * error, not a verdict: the check stops with CHECK_EFILE); a torn tail
 * (an unfinished last write, as after kill -9) is dropped as raftd's
 * recovery drops it, and reported as a note.  Then, as violations:
 *   - indexes consecutive from the header's first index;
 *   - terms positive and never decreasing along a log;
 *   - no COMMIT marker beyond the entries written before it;
 *   - Log Matching (§5.3): two logs with an entry of the same index and
 *     term hold identical entries there and at every earlier index;
 *   - State Machine Safety (§5.4.3): nodes that have committed an index
 *     (their highest COMMIT marker) hold identical entries there.  A node
 *     that holds the index but has NOT committed it may legitimately hold
 *     a stale entry of an older term (a follower not yet repaired, the
 *     Raft paper's Figure 7): that is printed as a note. */
#ifndef RAFTCTL_CHECK_H
#define RAFTCTL_CHECK_H

#include <stddef.h>
#include <stdio.h>

enum {
	CHECK_OK = 0,
	CHECK_EFILE = -1,  /* a file is unreadable or corrupt */
	CHECK_EUSAGE = -2, /* nothing to check (no raftlog found) */
};

/* One node's log to check. */
struct check_input {
	char *name; /* for messages: the subdirectory or the path */
	char *path;
};

/* Expands the command line's arguments into inputs: a directory DIR gives
 * one input per DIR/SUB/raftlog (named SUB, sorted by name), or, if it has
 * none, DIR/raftlog (named DIR); a file is one input named by its path.
 * On success *out is a malloc'd array of *n inputs the caller releases
 * with check_inputs_free().  CHECK_EUSAGE with a message in `err` when an
 * argument does not exist or a directory holds no raftlog. */
int check_inputs_from_args(char *const *args, size_t nargs,
			   struct check_input **out, size_t *n, char *err,
			   size_t errlen);

/* Frees what check_inputs_from_args() returned; NULL is fine. */
void check_inputs_free(struct check_input *in, size_t n);

/* Reads and checks the `n` logs.  Writes the summary and one line per
 * violation to `out`, and one line per unreadable or corrupt file to
 * `errf`.  Returns CHECK_OK when every file could be read, with the
 * number of violations in *violations; CHECK_EFILE otherwise. */
int check_run(const struct check_input *in, size_t n, FILE *out, FILE *errf,
	      size_t *violations);

#endif /* RAFTCTL_CHECK_H */
