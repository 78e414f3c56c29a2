/* storage.h: a node's durable state: the raftlog and its term/vote.
 *
 * A data dir holds three files (layout in docs/RAFTLOG-FORMAT.md):
 *
 *   raftlog        the log: a header, then ENTRY and COMMIT records
 *   meta1, meta2   the hard state (term, vote), written in turn, each with
 *                  a sequence number and a checksum; the valid one with the
 *                  higher sequence number wins
 *
 * Thread safety: every function may be called from any thread.  Log writes
 * (append, truncate, commit markers) are write(2)n in call order under the
 * storage's mutex and return a ticket; storage_sync(ticket) waits until
 * everything up to that ticket is on disk.  Concurrent syncs share one
 * fdatasync (group commit), and no lock is held during an fdatasync, so
 * other threads keep appending meanwhile.
 *
 * Errors: STORAGE_EIO means a write or an fsync failed.  After a failed
 * fsync the kernel may have dropped the dirty pages, so what is on disk is
 * unknown: the storage refuses every later call with STORAGE_EIO, and the
 * caller must treat it as fatal (log it and exit; a restart recovers from
 * what reached the disk).  LogCabin PANICs in the same place.
 */
#ifndef RAFTD_STORAGE_H
#define RAFTD_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

#include "raftlog.h"

enum {
	STORAGE_OK = 0,
	STORAGE_EIO = -1,      /* fatal: a write or fsync failed (see above) */
	STORAGE_ECORRUPT = -2, /* storage_open: damaged log or metadata */
	STORAGE_EINVAL = -3,   /* bad argument: index not next, term lower */
	STORAGE_ENOMEM = -4,
	STORAGE_EBUSY = -5, /* storage_open: another process has the dir */
};

struct storage;

/* Counters, for tests and status output. */
struct storage_stats {
	uint64_t log_syncs;	/* fdatasync calls on raftlog */
	uint64_t meta_syncs;	/* fdatasync calls on meta1/meta2 */
	uint64_t records;	/* records written since open */
	uint64_t bytes;		/* bytes written to raftlog since open */
	uint64_t sync_ns_total; /* time spent in raftlog fdatasync */
	uint64_t sync_ns_max;
	uint64_t sync_hist[HIST_BUCKETS]; /* fdatasyncs by duration (hist.h) */
};

/* Opens (creating it and its parents if missing) the data dir `dir`,
 * takes an exclusive lock on it, recovers the log and reads the hard
 * state.  A torn last record is dropped (the file is truncated and
 * fdatasync'ed) and reported through `log`; damage anywhere else fails
 * with STORAGE_ECORRUPT and a message in `err` naming the file, the offset,
 * the entry index and what to do, leaving every file untouched.
 * `log(log_arg, msg)` receives one-line messages (recovery notes, failed
 * system calls); it may be called from any thread using the storage; NULL
 * writes them to stderr.  On success *out is owned by the caller (free it
 * with storage_close()). */
int storage_open(const char *dir, void (*log)(void *arg, const char *msg),
		 void *log_arg, struct storage **out, char *err, size_t errlen);

/* fdatasyncs what is not yet synced (unless the storage failed), releases
 * the data dir's lock and frees `st`.  Call it once no other thread uses
 * the storage.  NULL is fine. */
void storage_close(struct storage *st);

/* The hard state as last written (0, 0 for a new node). */
void storage_hard_state(struct storage *st, uint64_t *term, uint32_t *vote);

/* Writes (term, vote) to the older meta slot and fdatasyncs it: durable
 * when this returns 0.  Concurrent calls are serialized. */
int storage_set_hard_state(struct storage *st, uint64_t term, uint32_t vote);

/* The log's extent.  An empty log has last_index == first_index - 1 and
 * last_term the base term.  first_index is 1 until the log is compacted
 * (storage_compact, storage_reset); then the entry before it, which a
 * snapshot covers, had term storage_base_term(). */
uint64_t storage_first_index(struct storage *st);
uint64_t storage_last_index(struct storage *st);
uint64_t storage_last_term(struct storage *st);
uint64_t storage_entry_count(struct storage *st);
/* The term of entry `index`, 0 when it is not in the log. */
uint64_t storage_term_at(struct storage *st, uint64_t index);

/* Calls cb for every entry in index order (reading the file), to load the
 * log into the core at startup.  The entry's data is valid during the call
 * only.  A nonzero return from cb stops and is returned.  Holds the
 * storage's mutex: cb must not call back into the storage. */
int storage_for_each_entry(struct storage *st,
			   int (*cb)(void *arg, const struct raftlog_entry *e),
			   void *arg);

/* Appends `n` entries with one write(2).  entries[0].index must be
 * storage_last_index() + 1, indexes consecutive, terms not decreasing and
 * payloads at most RAFTLOG_MAX_PAYLOAD (else STORAGE_EINVAL and nothing is
 * written).  *ticket (may be NULL) is what to pass to storage_sync(). */
int storage_append_entries(struct storage *st,
			   const struct raftlog_entry *entries, size_t n,
			   uint64_t *ticket);

/* storage_append_entries() of one entry. */
int storage_append(struct storage *st, uint64_t index, uint64_t term,
		   uint8_t type, const void *data, uint32_t len,
		   uint64_t *ticket);

/* Appends a COMMIT marker (advisory, for `raftctl check`). */
int storage_append_commit(struct storage *st, uint64_t commit_index,
			  uint64_t *ticket);

/* Drops entries with index >= from_index (and the COMMIT markers after
 * them): ftruncate, then fdatasync.  Durable when this returns 0; appends
 * from other threads wait until then, so new records never land on bytes
 * whose removal is not yet on disk.  from_index > last index is a no-op;
 * from_index < first_index is STORAGE_EINVAL. */
int storage_truncate(struct storage *st, uint64_t from_index);

/* Log compaction after a snapshot (docs/RAFTLOG-FORMAT.md, "Compaction").
 *
 * storage_compact(): drops the entries up to `upto` (which a durable
 * snapshot covers): writes the rest to raftlog.tmp behind a header and a
 * BASE record, fdatasyncs it, renames it over raftlog and fsyncs the
 * directory.  The bulk copy runs without the mutex, so appends go on; what
 * they wrote meanwhile is copied and synced under it.  A crash before the
 * rename leaves the old log whole; after it, the new one (the snapshot
 * covers what it lacks).  upto below the first index is a no-op (so is a
 * second call while one runs); beyond the last index, STORAGE_EINVAL.
 *
 * storage_reset(): the log becomes empty, starting after (base, term): a
 * follower that installed a snapshot its log does not match.  The same
 * temp-file, rename, fsync sequence; durable when it returns.
 *
 * A failure before the rename leaves everything as it was (STORAGE_EIO,
 * the storage still works); a failed directory fsync after it fails the
 * storage. */
int storage_compact(struct storage *st, uint64_t upto);
int storage_reset(struct storage *st, uint64_t base, uint64_t term);
uint64_t storage_base_term(struct storage *st);
/* The raftlog's size in bytes. */
uint64_t storage_size(struct storage *st);

/* Returns once every write with a ticket <= `ticket` is on disk (at once if
 * it already is).  If another thread's fdatasync is running, waits for it
 * and checks again; otherwise runs one fdatasync that covers everything
 * written so far, for all waiting threads.  UINT64_MAX means everything
 * written so far. */
int storage_sync(struct storage *st, uint64_t ticket);

/* What a sync call did, for the caller to tell the consensus core. */
struct storage_sync_result {
	bool ran;	/* this call ran at least one fdatasync */
	uint64_t index; /* if ran: the last log entry (index, term) its */
	uint64_t term;	/* last fdatasync covered, with all before it */
};

/* storage_sync(), also saying what the caller's own fdatasyncs covered. */
int storage_sync_report(struct storage *st, uint64_t ticket,
			struct storage_sync_result *res);

/* For a caller that need not wait for durability itself: if another
 * thread's fdatasync is running, returns STORAGE_OK at once (res->ran
 * false) and that thread runs another fdatasync before it returns if its
 * own did not cover `ticket`.  Otherwise it is storage_sync_report().
 * Whoever gets res->ran true reports res->index/term as persisted. */
int storage_sync_nowait(struct storage *st, uint64_t ticket,
			struct storage_sync_result *res);

/* The highest ticket known to be on disk. */
uint64_t storage_synced_ticket(struct storage *st);

void storage_get_stats(struct storage *st, struct storage_stats *out);

/* Test and fault-injection hook: called before each raftlog fdatasync,
 * outside the lock.  A nonzero return makes that sync fail as if
 * fdatasync had returned EIO.  NULL removes the hook. */
void storage_set_sync_hook(struct storage *st, int (*hook)(void *arg),
			   void *arg);

const char *storage_strerror(int rv);

#endif /* RAFTD_STORAGE_H */
