/* sm.h: the replicated state machine (key-value map, addEntry records and
 * tid de-duplication) that every node builds by applying committed log
 * entries in log order.
 *
 * Determinism: the state and every result depend only on the sequence of
 * (index, term, payload) applied; no clock, randomness, address or hash
 * table order reaches a result.  Two nodes that applied the same log
 * prefix hold byte-identical state (sm_dump() shows it).
 *
 * Thread safety: none.  A struct sm is a plain data structure; the daemon
 * guards it with its own lock (the one around the core), for applies and
 * reads alike.  Pointers returned by the read functions are borrowed from
 * the sm and are valid only until the next sm_apply()/sm_skip()/sm_free(),
 * i.e. while the caller still holds that lock: copy what you keep.
 *
 * Usage by the daemon's apply loop, for each committed index in order:
 *   COMMAND entry -> sm_apply(sm, index, term, buf, len, &result)
 *   any other entry (NOOP, later CONFIG) -> sm_skip(sm, index)
 * Both insist on index == sm_last_applied(sm) + 1.
 */
#ifndef RAFTD_SM_H
#define RAFTD_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "command.h"

/* How many tids the state machine remembers: the latest SM_TID_KEEP
 * distinct tids in apply order.  When one more is applied the oldest is
 * forgotten (FIFO by the index that first used it: the same on every
 * node).  A forgotten tid is a new tid again. */
#define SM_TID_KEEP 100000u

/* Error codes (0 on success); sm_strerror() names them. */
enum {
	SM_OK = 0,
	SM_EINVAL = -1,	   /* sm_apply: malformed payload (applied as a no-op,
			    * result SM_RESULT_INVALID); sm_tid_lookup: the
			    * same, nothing looked up */
	SM_EORDER = -2,	   /* index is not last_applied + 1: nothing done */
	SM_ENOTFOUND = -3, /* sm_get: no such key */
	SM_EIO = -4,	   /* sm_dump: the stream reported an error */
	SM_ECORRUPT = -5,  /* sm_verify: an internal invariant is broken */
};

/* The outcome of one applied command, as the client sees it. */
enum sm_result {
	SM_RESULT_FALSE = 0,	    /* delete of an absent key, failed cas */
	SM_RESULT_TRUE = 1,	    /* add, put, multiPut; delete of a key
				     * that existed; cas that swapped */
	SM_RESULT_INVALID = 2,	    /* malformed payload: nothing changed */
	SM_RESULT_TID_CONFLICT = 3, /* tid already used by another command:
				     * nothing changed (fault 3) */
};

/* What sm_tid_lookup() found. */
enum sm_tid_state {
	SM_TID_UNKNOWN = 0, /* no tid, or not (or no longer) remembered */
	SM_TID_SAME,	    /* applied before with this very command */
	SM_TID_DIFFERENT,   /* applied before with another command */
};

/* One applied addEntry, as getEntries() returns it.  All memory belongs
 * to the sm; tid and data are NUL-terminated copies (their lengths are
 * given too because the payload bytes are not checked for NUL). */
struct sm_entry {
	uint64_t index;
	uint64_t term;
	const char *tid;
	size_t tid_len;
	const char *data;
	size_t data_len;
};

struct sm_stats {
	uint64_t last_applied;
	size_t n_keys;
	size_t kv_bytes; /* sum of key and value lengths */
	size_t n_tids;
	size_t n_entries;
};

struct sm;

/* A new, empty state machine (last_applied 0).  Never NULL: out of memory
 * is fatal.  The caller owns it; release with sm_free(). */
struct sm *sm_new(void);

/* Frees the sm and everything it holds.  Accepts NULL. */
void sm_free(struct sm *sm);

/* Applies the committed COMMAND entry at `index` (which must be
 * last_applied + 1) of term `term`.  `payload` is only read; nothing of it
 * is kept (the sm copies what it stores).  Sets *result:
 *   - malformed payload: SM_RESULT_INVALID, returns SM_EINVAL; the entry is
 *     still consumed (last_applied = index) and nothing else changes;
 *   - a remembered tid with the same command: the ORIGINAL result, nothing
 *     changes; with another command: SM_RESULT_TID_CONFLICT, nothing
 *     changes; both return SM_OK and consume the entry;
 *   - otherwise the command is executed and, when it carries a tid, the
 *     tid is remembered with the result.
 * SM_EORDER (index out of order) changes nothing, *result INVALID. */
int sm_apply(struct sm *sm, uint64_t index, uint64_t term, const void *payload,
	     size_t len, enum sm_result *result);

/* Consumes a non-COMMAND entry at `index` (last_applied + 1): NOOP and
 * future entry types change nothing but last_applied.  SM_EORDER
 * otherwise. */
int sm_skip(struct sm *sm, uint64_t index);

uint64_t sm_last_applied(const struct sm *sm);

/* The pre-proposal check: is the tid of this encoded command (the payload
 * that would be proposed) already applied?  Only an optimisation, since
 * sm_apply() decides; it lets the leader answer a retry at once.  The tid
 * is taken from the payload itself, so the two cannot disagree.  Sets
 * *state, and for SM_TID_SAME *result to the original result
 * (SM_RESULT_TID_CONFLICT for SM_TID_DIFFERENT, SM_RESULT_INVALID for
 * SM_TID_UNKNOWN).  Returns SM_EINVAL for a malformed payload. */
int sm_tid_lookup(const struct sm *sm, const void *payload, size_t len,
		  enum sm_tid_state *state, enum sm_result *result);

/* The same check when the caller already knows the tid (tid_len bytes; 0:
 * none) and command_hash() of the payload, as the service layer does when
 * it encodes the command: no decoding under the node's lock. */
int sm_tid_check(const struct sm *sm, const char *tid, size_t tid_len,
		 uint64_t hash, enum sm_tid_state *state,
		 enum sm_result *result);

/* Looks up a key (any bytes, `klen` long).  On success *val points to the
 * sm's NUL-terminated copy of the value (borrowed, see the top) and *vlen
 * is its length.  SM_ENOTFOUND when absent. */
int sm_get(const struct sm *sm, const char *key, size_t klen, const char **val,
	   size_t *vlen);

/* sm_list() and sm_multi_get() call `fn(arg, key, klen, val, vlen)` per
 * key-value pair; key and val are borrowed and NUL-terminated.  fn
 * returns 0 to go on, non-zero to stop. */

/* Calls fn for every key starting with prefix (plen bytes; plen 0 is every
 * key), in ascending byte order of the keys, at most `max` times (0: no
 * limit).  *count (may be NULL) is the number of calls made.  O(log n +
 * count). */
int sm_list(const struct sm *sm, const char *prefix, size_t plen, size_t max,
	    int (*fn)(void *arg, const char *key, size_t klen, const char *val,
		      size_t vlen),
	    void *arg, size_t *count);

/* As sm_list(), but only the keys strictly greater than `after` (alen
 * bytes, byte order; NULL: no such bound): the page after the one that
 * ended with key `after`.  Still O(log n + count), so that paging through
 * a large map costs each page only its own size. */
int sm_list_after(const struct sm *sm, const char *prefix, size_t plen,
		  const char *after, size_t alen, size_t max,
		  int (*fn)(void *arg, const char *key, size_t klen,
			    const char *val, size_t vlen),
		  void *arg, size_t *count);

/* Calls fn for each of the n keys that exists, in the order given (a key
 * given twice is reported twice); absent keys are skipped.  *count (may be
 * NULL) is the number of calls.  One consistent view when the caller holds
 * the lock throughout. */
int sm_multi_get(const struct sm *sm, const struct command_str *keys, size_t n,
		 int (*fn)(void *arg, const char *key, size_t klen,
			   const char *val, size_t vlen),
		 void *arg, size_t *count);

/* The addEntry records with index >= from, in index order, at most max
 * (0: no limit): *first points into the sm's array (borrowed, see the top)
 * and *n is how many follow; *n == 0 means no more. O(log n). */
int sm_entries(const struct sm *sm, uint64_t from, size_t max,
	       const struct sm_entry **first, size_t *n);

void sm_stats(const struct sm *sm, struct sm_stats *st);

/* Writes the whole state as text, one item per line, every string fully
 * escaped: last_applied, the key-value pairs in key order, the remembered
 * tids in apply order (with index, result and command hash), the
 * addEntry records.  Two nodes with the same applied log write the same
 * bytes.  SM_EIO when the stream reports an error. */
int sm_dump(const struct sm *sm, FILE *f);

/* Snapshots (docs/RAFTLOG-FORMAT.md, "The state machine in a snapshot").
 *
 * sm_save() writes the whole state as bytes through `out` (which returns
 * 0, or non-zero to stop: sm_save then returns SM_EIO): last_applied, the
 * key-value pairs in key order, the remembered tids in apply order, the
 * addEntry records.  It only reads the sm and allocates nothing, so it can
 * run in a child process forked with the sm frozen (snapshot.c).
 *
 * sm_load() builds a new sm from such bytes, read through `in` (which
 * fills exactly n bytes and returns 0, or non-zero at the end of the data
 * or on an error).  The bytes are untrusted (a file, or a peer's
 * transfer): every length and count is checked, keys must ascend, tids
 * and records must be in index order up to last_applied; anything else is
 * SM_ECORRUPT with a static reason in *why, and nothing is returned.
 * Memory grows with what was actually read, never with a count the
 * bytes claim. */
int sm_save(const struct sm *sm, int (*out)(void *arg, const void *p, size_t n),
	    void *arg);
int sm_load(struct sm **smp, int (*in)(void *arg, void *p, size_t n), void *arg,
	    const char **why);

/* Checks the internal invariants (tree order and balance, counters, the
 * tid table against its FIFO, entry order); SM_ECORRUPT when one fails.
 * O(n): meant for tests and debugging. */
int sm_verify(const struct sm *sm);

/* A static message for an SM_E* code. */
const char *sm_strerror(int rv);

/* A static name for a result: "false", "true", "invalid", "tid conflict". */
const char *sm_result_name(enum sm_result r);

#endif /* RAFTD_SM_H */
