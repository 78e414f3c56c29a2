/* snapshot.h: a node's snapshot files (the format is common/snapfile.h;
 * docs/DESIGN.md, "Snapshots", has the design).
 *
 * A data dir holds at most one valid snapshot, `snapshot`: the state
 * machine as of some applied index, and the cluster configuration.  A new
 * one is written to `snapshot.tmp` (ours) or `snapshot.recv` (sent by the
 * leader), made durable, and renamed over `snapshot` (then the directory
 * is fsync'ed): a crash at any point leaves the old snapshot or the new
 * one, whole, and a leftover temporary file that start-up removes.
 *
 * Taking a snapshot without stopping the node: snapshot_start() runs
 * under the node's lock, where the state machine is consistent, and only
 * creates the file and fork()s: the child writes its copy-on-write image
 * of the state machine and exits, while the parent goes on applying
 * entries at once.  The pause is the fork (page tables, not data:
 * milliseconds for a large state machine).  snapshot_finish() waits for
 * the child without any lock.  A small state machine is cheaper to copy
 * than to fork (a fork copies the page tables of the whole process, and
 * costs milliseconds even when the state is a few KiB): below
 * SNAPSHOT_COPY_MAX bytes, snapshot_copy() serializes it into memory
 * under the lock and snapshot_write_copy() writes the file after it, in
 * the caller's thread.
 *
 * Thread safety: no shared state; the caller serializes the jobs.
 */
#ifndef RAFTD_SNAPSHOT_H
#define RAFTD_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "snapfile.h"

struct sm;

#define SNAPSHOT_FILE "snapshot"
#define SNAPSHOT_TMP "snapshot.tmp"
#define SNAPSHOT_RECV "snapshot.recv"

/* A snapshot being written by a child process. */
struct snapshot_job {
	pid_t pid;
	uint64_t index, term;
	uint64_t fork_ns; /* how long fork() took (the node's pause) */
};

/* The state machine's bytes (sm_save) taken under the node's lock, to be
 * written without it.  Owned by the caller: snapshot_copy_free(). */
struct snapshot_copy {
	uint8_t *buf;
	size_t len, cap;
};

/* The largest state machine copied under the lock rather than forked: a
 * fork of even a small raftd costs milliseconds (7-13 ms measured), a
 * copy of 118 KB 0.6-1.4 ms, and a copy grows with the state. */
#define SNAPSHOT_COPY_MAX (4u * 1024u * 1024u)

/* Call with the state machine frozen: copies its bytes into c.  0, or -1
 * when they pass SNAPSHOT_COPY_MAX or memory runs out (c is then empty:
 * fork with snapshot_start instead). */
int snapshot_copy(const struct sm *sm, struct snapshot_copy *c);
void snapshot_copy_free(struct snapshot_copy *c);

/* Writes DIR/snapshot.tmp from a copy, durably (no lock needed): 0, or -1
 * with a message (the file is removed). */
int snapshot_write_copy(const char *dir, const struct snapshot_copy *c,
			uint64_t index, uint64_t term,
			const struct snapfile_node *nodes, uint32_t n_nodes,
			char *err, size_t errlen);

/* The configuration section's nodes for a cluster still in its bootstrap
 * configuration (every node of the config file, a voter).  The daemon
 * writes the configuration in force at the snapshot's index instead. */
uint32_t snapshot_nodes(const struct config *cfg, struct snapfile_node *out);

/* Writes a whole snapshot file of sm (header, configuration, state,
 * checksum) to fd from offset 0 and fdatasyncs it.  In-process: the child
 * runs it, and so do tests.  0, or -1 with errno. */
int snapshot_write_fd(int fd, const struct sm *sm, uint64_t index,
		      uint64_t term, const struct snapfile_node *nodes,
		      uint32_t n_nodes);

/* Call with the state machine frozen (the caller's lock held): creates
 * DIR/snapshot.tmp and forks the child that writes it.  0, or -1 with a
 * message in err (nothing left running). */
int snapshot_start(const char *dir, const struct sm *sm, uint64_t index,
		   uint64_t term, const struct snapfile_node *nodes,
		   uint32_t n_nodes, struct snapshot_job *job, char *err,
		   size_t errlen);

/* Waits until the job's child has exited, without reaping it (no lock
 * needed): its pid stays reserved, so a kill() of job->pid from another
 * thread until snapshot_finish() cannot reach a process that reused it. */
void snapshot_wait(const struct snapshot_job *job);

/* Reaps the job's child (waiting for it if snapshot_wait() did not): 0
 * when DIR/snapshot.tmp is complete and durable, -1 with a message
 * otherwise (the temp file is removed). */
int snapshot_finish(const char *dir, struct snapshot_job *job, char *err,
		    size_t errlen);

/* Renames DIR/name over DIR/snapshot and fsyncs DIR: the snapshot is the
 * node's from then on.  0, or -1 with a message. */
int snapshot_commit(const char *dir, const char *name, char *err,
		    size_t errlen);

/* Reads and checks the snapshot at path and builds its state machine.
 * 0 (*smp owned by the caller), or SNAPFILE_ENOENT, or another SNAPFILE_E*
 * with a message in err: a file that is damaged is never loaded. */
int snapshot_load(const char *path, struct snapfile_meta *meta, struct sm **smp,
		  char *err, size_t errlen);

/* Removes the temporary files a crash may have left in dir. */
void snapshot_cleanup(const char *dir);

#endif /* RAFTD_SNAPSHOT_H */
