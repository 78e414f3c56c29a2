/* check.h: `raftctl check`: reads the raftlog files (and snapshot files)
 * copied from several nodes and reports every violation of Raft's safety
 * properties it can see.
 *
 * What a node contributes.  Its raftlog: a header whose first index F
 * says where the log starts; when F > 1 (a log compacted after a
 * snapshot, Raft §7) its first record is BASE (F - 1, term): the entry
 * just before the first, known by index and term only; then the entries
 * F, F + 1, ... and COMMIT markers.  Its snapshot file, if it has one
 * (DATA_DIR/snapshot, which the testbed fetches beside the raftlog): the
 * state machine after applying the entries 1..SI, and the term ST of
 * entry SI.  A snapshot holds only committed entries, and a BASE is only
 * ever written at or below an index the node had in a snapshot, so both
 * are committed (index, term) facts of that node.
 *
 * Per file: the header and every record's checksum, and the snapshot's
 * header, body and trailer checksums (snapfile_verify).  A damaged file
 * is an error, not a verdict: the check stops with CHECK_EFILE.  So is a
 * compacted log without its BASE record, or a BASE anywhere but first.
 * A torn tail (an unfinished last write, as after kill -9) is dropped as
 * raftd's recovery drops it, and reported as a note.
 *
 * Per node, these are violations:
 *   - indexes: consecutive from the header's first index;
 *   - terms: positive and never decreasing along the log, the BASE's
 *     term counting as the term before the first entry;
 *   - commit marker: no COMMIT marker beyond the entries (or the BASE)
 *     written before it;
 *   - log start: a log that starts after a gap nothing on the node
 *     covers: F > 1 and no snapshot, or a BASE index above the snapshot's
 *     index (entries SI + 1 .. F - 1 are nowhere on the node).
 *
 * What a node has committed.  Its log's committed part ends at
 *     log_commit = max(its highest COMMIT marker, capped at its last
 *                      entry; SI if its log holds entry SI with term ST)
 * (a log that holds SI with ST is the log the snapshot was taken from,
 * or one that agrees with it, so its entries up to SI are applied state;
 * a log that does not hold it is one raftd starts afresh after the
 * snapshot at start-up: a follower that crashed between installing a
 * leader's snapshot and rewriting its log, whose older entries are not
 * committed by the snapshot).  Its committed prefix, printed as COMMIT,
 * is max(log_commit, SI, BASE index): every index up to it is committed
 * on the node, though the node may hold only (index, term) of some.
 *
 * Log Matching (§5.3), for every pair of logs A, B.  A log's known terms
 * are those of its entries and of its BASE.  Let M be the highest index
 * at which both logs know a term and the terms are equal.  Then at every
 * index I <= M where both know something: two entries must be
 * byte-identical (same term, type and payload); an entry and a BASE, or
 * two BASEs, must have the same term.  (A BASE is an entry whose payload
 * is gone; the rule is the paper's, over the entries both logs still
 * hold.)  A snapshot's (SI, ST) takes no part here: it is not a log, and
 * a node whose log does not hold it is about to drop that log.
 *
 * State Machine Safety (§5.4.3), over committed facts.
 *   - Entries: nodes whose log_commit reaches index I and that hold an
 *     entry there hold identical entries (the reference is the first
 *     node, in input order, that committed one).
 *   - (index, term) facts: every snapshot (SI, ST) and every BASE of a
 *     node is compared with every node's (itself included) BASE and
 *     snapshot at the same index, and with every node's entry at that
 *     index: a different term is a violation when the other side is
 *     committed too (a BASE, a snapshot, or an entry within that node's
 *     log_commit).
 *   - A node that holds index I WITHOUT having committed it may hold
 *     another entry there: a follower the leader has not repaired yet
 *     (the paper's Figure 7), a leader killed after appending, or a log
 *     raftd will start afresh after its node's snapshot.  That is a note,
 *     not a violation.  A log that ends before its own snapshot's index is
 *     a note too (raftd starts it afresh; or a copy of the log taken
 *     before the snapshot's, as a fetch from a running node may be).
 *
 * A node whose log stops short of an index, or starts after it, is never
 * blamed for it. */
#ifndef RAFTCTL_CHECK_H
#define RAFTCTL_CHECK_H

#include <stddef.h>
#include <stdio.h>

enum {
	CHECK_OK = 0,
	CHECK_EFILE = -1,  /* a file is unreadable or corrupt */
	CHECK_EUSAGE = -2, /* nothing to check (no raftlog found) */
};

/* One node's files to check. */
struct check_input {
	char *name; /* for messages: the subdirectory or the path */
	char *path; /* its raftlog, or NULL: a node with a snapshot only */
	char *snap; /* its snapshot file, or NULL when it has none */
};

/* Expands the command line's arguments into inputs: a directory DIR gives
 * one input per subdirectory SUB holding a raftlog or a snapshot
 * (DIR/SUB/raftlog, DIR/SUB/snapshot; named SUB, sorted by name), or, if
 * it has none, DIR/raftlog and DIR/snapshot (named DIR); a file is one
 * raftlog named by its path, with the snapshot beside it when the file is
 * called `raftlog` and a `snapshot` sits in the same directory.  On
 * success *out is a malloc'd array of *n inputs the caller releases with
 * check_inputs_free().  CHECK_EUSAGE with a message in `err` when an
 * argument does not exist or a directory holds no raftlog. */
int check_inputs_from_args(char *const *args, size_t nargs,
			   struct check_input **out, size_t *n, char *err,
			   size_t errlen);

/* Frees what check_inputs_from_args() returned; NULL is fine. */
void check_inputs_free(struct check_input *in, size_t n);

/* Reads and checks the `n` nodes' files.  Writes the summary and one line
 * per violation to `out`, and one line per unreadable or corrupt file to
 * `errf`.  Returns CHECK_OK when every file could be read, with the
 * number of violations in *violations; CHECK_EFILE otherwise. */
int check_run(const struct check_input *in, size_t n, FILE *out, FILE *errf,
	      size_t *violations);

#endif /* RAFTCTL_CHECK_H */
