/* node_snap.c: a node's snapshots (Raft paper §7): taking them in the
 * background, compacting the log behind them, loading one at start-up,
 * receiving the leader's and installing it.  docs/DESIGN.md, "Snapshots",
 * has the design; node_impl.h the threads and locks.
 *
 * Taking one (the snapshot thread):
 *   1. under n->lock, where the state machine is consistent, fork(): the
 *      child writes its copy-on-write image to snapshot.tmp and fsyncs it
 *      (snapshot.c); the node goes on at once;
 *   2. without a lock, wait for the child;
 *   3. under n->lock, rename it over `snapshot` (unless an installed
 *      snapshot overtook it) and tell the core (raft_snapshot_taken), which
 *      drops the entries before the trailing window from memory;
 *   4. without n->lock, compact the raftlog the same way
 *      (storage_compact: a new file, renamed into place).
 * A crash between any two steps leaves a valid snapshot (the old or the
 * new) and a log that starts at or before it: start-up takes it from
 * there (node_snap_load).
 *
 * Receiving one: the chunks land in snapshot.recv (n->recv_lock); the last
 * makes it durable, checks and loads it, and only then is the core given
 * RAFT_MSG_SNAPSHOT.  If the core installs it, the driver calls
 * node_snap_install() in the same update, before any later append: the
 * file is renamed into place and the raftlog rewritten to start after it,
 * before the answer leaves. */
#include "node_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "snapshot.h"
#include "storage.h"
#include "xalloc.h"

static char *path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

static uint64_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* The configuration in force at `index` (applied, so within the log),
 * with every member's addresses; n->lock held. */
static uint32_t snap_nodes(struct node *n, uint64_t index,
			   struct snapfile_node *out)
{
	struct raft_conf c;
	uint32_t i;

	if (raft_conf_at(&n->raft, index, &c) != RAFT_OK)
		c = *raft_conf(&n->raft);
	for (i = 0; i < c.n; i++) {
		const char *a, *pa;
		node_member_addresses(n, &c.m[i], &a, &pa);
		out[i].id = c.m[i].id;
		out[i].flags = c.m[i].flags;
		out[i].incarnation = c.m[i].incarnation;
		snprintf(out[i].address, sizeof(out[i].address), "%s", a);
		snprintf(out[i].peer_address, sizeof(out[i].peer_address), "%s",
			 pa);
	}
	return c.n;
}

/* A snapshot's configuration section, as the core takes it (NULL if it
 * is not a valid configuration: too many nodes, no voter...). */
static const struct raft_conf *meta_conf(const struct snapfile_meta *meta,
					 struct raft_conf *c)
{
	uint32_t i;

	memset(c, 0, sizeof(*c));
	if (meta->n_nodes > RAFT_MAX_NODES)
		return NULL;
	c->n = meta->n_nodes;
	for (i = 0; i < c->n; i++) {
		c->m[i].id = meta->nodes[i].id;
		c->m[i].flags = meta->nodes[i].flags;
		c->m[i].incarnation = meta->nodes[i].incarnation;
		snprintf(c->m[i].address, sizeof(c->m[i].address), "%s",
			 meta->nodes[i].address);
		snprintf(c->m[i].peer_address, sizeof(c->m[i].peer_address),
			 "%s", meta->nodes[i].peer_address);
	}
	raft_conf_sort(c);
	return raft_conf_check(c) == NULL ? c : NULL;
}

/* ---- start-up -------------------------------------------------------------
 */

int node_snap_load(struct node *n, uint64_t *s_index, uint64_t *s_term,
		   struct raft_conf *s_conf, char *err, size_t errlen)
{
	struct snapfile_meta meta;
	struct sm *sm = NULL;
	char msg[512];
	uint64_t first, base, term;
	uint32_t vote;
	int rv;

	*s_index = *s_term = 0;
	/* Only now that the data dir's lock is ours (storage_open). */
	snapshot_cleanup(n->data_dir);
	first = storage_first_index(n->st);
	rv = snapshot_load(n->snap_path, &meta, &sm, msg, sizeof(msg));
	if (rv == SNAPFILE_ENOENT) {
		if (first != 1) {
			snprintf(
			    err, errlen,
			    "%s: the log starts at index %llu but there is "
			    "no snapshot to cover what comes before: this "
			    "data dir is damaged. Remove it so that the "
			    "node rejoins empty (the leader sends it a "
			    "snapshot), or restore it from a backup.",
			    n->data_dir, (unsigned long long)first);
			return -1;
		}
		n->sm = sm_new();
		return 0;
	}
	if (rv != SNAPFILE_OK) {
		snprintf(err, errlen,
			 "%s; refusing to start. The files were not modified. "
			 "Remove this node's data dir so that it rejoins "
			 "empty (the leader sends it a snapshot), or restore "
			 "it from a backup (raftctl restore).",
			 msg);
		return -1;
	}
	base = first - 1;
	if (base > meta.index) {
		snprintf(err, errlen,
			 "%s: the log starts after index %llu, past the "
			 "snapshot's %llu: this data dir is damaged (remove it "
			 "so that the node rejoins empty).",
			 n->data_dir, (unsigned long long)base,
			 (unsigned long long)meta.index);
		sm_free(sm);
		return -1;
	}
	/* The snapshot holds committed state up to its index.  A log that
	 * does not hold that entry with that term (a follower that crashed
	 * between installing a snapshot and rewriting its log; a restored
	 * backup) has nothing after it worth keeping. */
	if (storage_term_at(n->st, meta.index) != meta.term) {
		log_info("the log does not hold the snapshot's last entry "
			 "(%llu, term %llu): starting it afresh after it",
			 (unsigned long long)meta.index,
			 (unsigned long long)meta.term);
		rv = storage_reset(n->st, meta.index, meta.term);
		if (rv != STORAGE_OK) {
			snprintf(err, errlen, "%s: rewriting the raftlog: %s",
				 n->data_dir, storage_strerror(rv));
			sm_free(sm);
			return -1;
		}
	}
	/* A restored backup comes with no term: the node's must not be
	 * below its log's last (the snapshot's) term. */
	storage_hard_state(n->st, &term, &vote);
	if (term < meta.term) {
		rv = storage_set_hard_state(n->st, meta.term, 0);
		if (rv != STORAGE_OK) {
			snprintf(err, errlen, "%s: writing the term: %s",
				 n->data_dir, storage_strerror(rv));
			sm_free(sm);
			return -1;
		}
		log_info("term raised to the snapshot's, %llu",
			 (unsigned long long)meta.term);
	}
	n->sm = sm;
	n->snap_bytes = meta.file_size;
	*s_index = meta.index;
	if (meta_conf(&meta, s_conf) == NULL) {
		snprintf(err, errlen,
			 "%s: the snapshot's configuration is not a valid one "
			 "(no voter, or more than %u members)",
			 n->snap_path, (unsigned)RAFT_MAX_NODES);
		return -1;
	}
	*s_term = meta.term;
	log_info("loaded snapshot %s: index %llu, term %llu, %llu bytes",
		 n->snap_path, (unsigned long long)meta.index,
		 (unsigned long long)meta.term,
		 (unsigned long long)meta.file_size);
	return 0;
}

/* ---- taking one -----------------------------------------------------------
 */

static uint64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (uint64_t)(b->tv_sec - a->tv_sec) * 1000000000u +
	       (uint64_t)b->tv_nsec - (uint64_t)a->tv_nsec;
}

static void snap_fail(struct node *n, const char *what, const char *msg)
{
	snprintf(n->snap_error, sizeof(n->snap_error), "%s: %.200s", what, msg);
	log_warn("snapshot: %s: %s", what, msg);
}

/* One job, from the snapshot thread: n->lock held on entry and exit,
 * dropped while the file is written (by this thread from a copy, or by a
 * forked child) and while the log is compacted. */
static void take_one(struct node *n)
{
	struct snapfile_node nodes[SNAPFILE_MAX_NODES];
	uint32_t n_nodes;
	struct snapshot_job job;
	struct snapshot_copy copy;
	struct timespec t0, t1;
	uint64_t index, term, compact_to = 0, first, trailing, pause_ns;
	char msg[512];
	int rv;

	index = sm_last_applied(n->sm);
	if (index == 0 || index <= raft_snapshot_index(&n->raft))
		goto out;
	term = raft_term_at(&n->raft, index);
	if (term == 0) {
		snap_fail(n, "take", "the applied index is not in the log");
		goto out;
	}
	/* §7: a snapshot carries the configuration in force at its index. */
	n_nodes = snap_nodes(n, index, nodes);
	n->snap_busy = true;
	memset(&job, 0, sizeof(job));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (snapshot_copy(n->sm, &copy) == 0) {
		/* Small: the pause is the copy; the file is written here,
		 * without the lock. */
		clock_gettime(CLOCK_MONOTONIC, &t1);
		pause_ns = ns_between(&t0, &t1);
		pthread_mutex_unlock(&n->lock);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rv = snapshot_write_copy(n->data_dir, &copy, index, term, nodes,
					 n_nodes, msg, sizeof(msg));
		snapshot_copy_free(&copy);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		pthread_mutex_lock(&n->lock);
	} else {
		/* Large: the pause is the fork; a child writes the file. */
		if (snapshot_start(n->data_dir, n->sm, index, term, nodes,
				   n_nodes, &job, msg, sizeof(msg)) != 0) {
			snap_fail(n, "take", msg);
			goto out;
		}
		pause_ns = job.fork_ns;
		n->snap_pid = job.pid;
		pthread_mutex_unlock(&n->lock);

		clock_gettime(CLOCK_MONOTONIC, &t0);
		snapshot_wait(&job);
		clock_gettime(CLOCK_MONOTONIC, &t1);

		/* The child has exited but is not reaped yet, so
		 * node_snap_stop()'s kill() of snap_pid cannot hit another
		 * process until it is cleared here, under the lock; reaping
		 * an exited child does not block. */
		pthread_mutex_lock(&n->lock);
		n->snap_pid = 0;
		rv = snapshot_finish(n->data_dir, &job, msg, sizeof(msg));
	}
	n->snap_pause_ns_last = pause_ns;
	if (pause_ns > n->snap_pause_ns_max)
		n->snap_pause_ns_max = pause_ns;
	n->snap_write_ms_last = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000 +
				(uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000000);
	if (rv != 0) {
		snap_fail(n, "write", msg);
		goto out;
	}
	if (index <= raft_snapshot_index(&n->raft)) {
		/* The leader's snapshot was installed meanwhile: ours is
		 * older, and must not replace it. */
		char *tmp = path_in(n->data_dir, SNAPSHOT_TMP);
		if (tmp != NULL)
			unlink(tmp);
		free(tmp);
		goto out;
	}
	if (snapshot_commit(n->data_dir, SNAPSHOT_TMP, msg, sizeof(msg)) != 0) {
		/* Whichever file a restart finds is a valid snapshot, and
		 * nothing was compacted: no harm but the failure. */
		snap_fail(n, "install", msg);
		goto out;
	}
	/* §7: keep a trailing window of entries before the snapshot, so
	 * that a follower a little behind gets entries, not a snapshot. */
	trailing = n->cfg->snapshot_trailing;
	compact_to = index > trailing ? index - trailing : 0;
	first = raft_first_index(&n->raft);
	if (compact_to < first - 1)
		compact_to = first - 1;
	if (raft_snapshot_taken(&n->raft, index, compact_to) != RAFT_OK) {
		snprintf(msg, sizeof(msg),
			 "the core refused index %llu, compacting to %llu",
			 (unsigned long long)index,
			 (unsigned long long)compact_to);
		snap_fail(n, "record", msg);
		compact_to = 0;
		goto out;
	}
	n->snap_taken++;
	n->snap_bytes = file_size(n->snap_path);
	n->snap_error[0] = '\0';
	log_info("snapshot taken: index %llu, term %llu, %llu bytes; paused "
		 "%.2f ms (%s), written in %llu ms",
		 (unsigned long long)index, (unsigned long long)term,
		 (unsigned long long)n->snap_bytes, (double)pause_ns / 1e6,
		 job.index != 0 ? "fork" : "copy",
		 (unsigned long long)n->snap_write_ms_last);
	pthread_mutex_unlock(&n->lock);

	/* The raftlog follows, without n->lock: appends go on. */
	if (compact_to >= storage_first_index(n->st)) {
		rv = storage_compact(n->st, compact_to);
		if (rv != STORAGE_OK)
			log_warn("snapshot: compacting the raftlog up to %llu: "
				 "%s (it stays longer; the next snapshot "
				 "tries again)",
				 (unsigned long long)compact_to,
				 storage_strerror(rv));
	}
	pthread_mutex_lock(&n->lock);
out:
	n->snap_busy = false;
	n->snap_jobs++;
	pthread_cond_broadcast(&n->snap_done);
}

static void *snap_main(void *arg)
{
	struct node *n = arg;

	pthread_mutex_lock(&n->lock);
	while (!n->stopping) {
		if (!n->snap_wanted) {
			pthread_cond_wait(&n->snap_cond, &n->lock);
			continue;
		}
		n->snap_wanted = false;
		take_one(n);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int node_snap_start(struct node *n, char *err, size_t errlen)
{
	if (pthread_create(&n->snap_thread, NULL, snap_main, n) != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(errno));
		return -1;
	}
	/* Under the lock: the peers' threads already run node_snap_maybe(),
	 * which reads it. */
	pthread_mutex_lock(&n->lock);
	n->snap_started = true;
	pthread_mutex_unlock(&n->lock);
	return 0;
}

void node_snap_stop(struct node *n)
{
	bool started;

	pthread_mutex_lock(&n->lock);
	/* A snapshot being written is abandoned: its temporary file is
	 * removed at the next start. */
	if (n->snap_pid > 0)
		kill(n->snap_pid, SIGKILL);
	pthread_cond_broadcast(&n->snap_cond);
	started = n->snap_started;
	n->snap_started = false;
	pthread_mutex_unlock(&n->lock);
	if (started)
		pthread_join(n->snap_thread, NULL);
	pthread_mutex_lock(&n->recv_lock);
	if (n->recv_fd >= 0)
		close(n->recv_fd);
	n->recv_fd = -1;
	pthread_mutex_unlock(&n->recv_lock);
	sm_free(n->install_sm);
	n->install_sm = NULL;
}

void node_snap_maybe(struct node *n)
{
	uint64_t every = n->cfg->snapshot_entries;

	if (every == 0 || !n->snap_started || n->snap_busy || n->snap_wanted)
		return;
	if (sm_last_applied(n->sm) - raft_snapshot_index(&n->raft) < every)
		return;
	n->snap_wanted = true;
	pthread_cond_signal(&n->snap_cond);
}

int node_snapshot_now(struct node *n, uint64_t timeout_ms, uint64_t *index,
		      uint64_t *term, char *err, size_t errlen)
{
	struct timespec ts;
	uint64_t target, jobs;
	int rv = -1;

	abstime_ms(&ts, now_ms() + timeout_ms);
	pthread_mutex_lock(&n->lock);
	target = sm_last_applied(n->sm);
	jobs = n->snap_jobs + (n->snap_busy ? 1 : 0);
	if (target > raft_snapshot_index(&n->raft)) {
		n->snap_wanted = true;
		pthread_cond_signal(&n->snap_cond);
	}
	while (!n->stopping && raft_snapshot_index(&n->raft) < target) {
		/* Our request ran (the jobs count passed the one running
		 * when we asked) and did not get there: it failed. */
		if (n->snap_jobs > jobs && !n->snap_wanted && !n->snap_busy) {
			snprintf(err, errlen, "%s",
				 n->snap_error[0] ? n->snap_error
						  : "snapshot failed");
			goto out;
		}
		if (pthread_cond_timedwait(&n->snap_done, &n->lock, &ts) ==
		    ETIMEDOUT) {
			snprintf(err, errlen, "timed out after %llu ms",
				 (unsigned long long)timeout_ms);
			goto out;
		}
	}
	if (raft_snapshot_index(&n->raft) < target) {
		snprintf(err, errlen, "shutting down");
		goto out;
	}
	*index = raft_snapshot_index(&n->raft);
	*term = n->raft.snapshot_term;
	rv = 0;
out:
	pthread_mutex_unlock(&n->lock);
	return rv;
}

void node_snap_info(struct node *n, struct node_snap_info *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&n->lock);
	out->index = raft_snapshot_index(&n->raft);
	out->term = n->raft.snapshot_term;
	out->bytes = n->snap_bytes;
	out->taken = n->snap_taken;
	out->installed = n->snap_installed;
	out->sent = n->raft.snapshots_sent;
	out->pause_ns_last = n->snap_pause_ns_last;
	out->pause_ns_max = n->snap_pause_ns_max;
	out->write_ms_last = n->snap_write_ms_last;
	out->busy = n->snap_busy;
	snprintf(out->error, sizeof(out->error), "%s", n->snap_error);
	pthread_mutex_unlock(&n->lock);
	out->log_first = storage_first_index(n->st);
	out->log_entries = storage_entry_count(n->st);
	out->log_bytes = storage_size(n->st);
}

/* ---- reading the current one (backups) ------------------------------------
 */

int node_snapshot_read(struct node *n, uint64_t *index, uint64_t offset,
		       uint8_t *buf, size_t max, size_t *len, uint64_t *size,
		       char *err, size_t errlen)
{
	uint8_t hdr[SNAPFILE_HEADER_SIZE];
	struct snapfile_meta meta;
	const char *why = NULL;
	ssize_t got;
	int fd, rv = -1;

	*len = 0;
	/* The file is only ever replaced by a rename: what this descriptor
	 * reads is one snapshot, whole. */
	fd = open(n->snap_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s",
			 errno == ENOENT ? "no snapshot yet" : strerror(errno));
		return -1;
	}
	got = pread(fd, hdr, sizeof(hdr), 0);
	if (got < 0 || snapfile_header_decode(hdr, (size_t)got, &meta, &why) !=
			   SNAPFILE_OK) {
		snprintf(err, errlen, "snapshot file: %s",
			 got < 0 ? strerror(errno) : why);
		goto out;
	}
	if (*index != 0 && meta.index != *index) {
		snprintf(err, errlen,
			 "snapshot %llu was replaced by %llu: start again",
			 (unsigned long long)*index,
			 (unsigned long long)meta.index);
		goto out;
	}
	*index = meta.index;
	*size = meta.file_size;
	if (offset < meta.file_size) {
		size_t want = meta.file_size - offset < max
				  ? (size_t)(meta.file_size - offset)
				  : max;
		got = pread(fd, buf, want, (off_t)offset);
		if (got < 0 || (size_t)got != want) {
			snprintf(err, errlen, "snapshot file: short read");
			goto out;
		}
		*len = (size_t)got;
	}
	rv = 0;
out:
	close(fd);
	return rv;
}

/* ---- receiving the leader's -----------------------------------------------
 */

static void recv_drop(struct node *n)
{
	char *p;

	if (n->recv_fd >= 0)
		close(n->recv_fd);
	n->recv_fd = -1;
	n->recv_got = 0;
	p = path_in(n->data_dir, SNAPSHOT_RECV);
	if (p != NULL)
		unlink(p);
	free(p);
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int node_snapshot_chunk(struct node *n, const struct node_chunk *c,
			uint64_t *next, struct raft_msg *reply, bool *has_reply,
			char *err, size_t errlen)
{
	struct snapfile_meta meta;
	struct raft_msg m;
	struct raft_conf conf;
	struct sm *sm = NULL, *left = NULL;
	char msg[512], *path = NULL;
	uint64_t cur_term;
	bool stopping;
	int rv = -1;

	*has_reply = false;
	*next = 0;
	pthread_mutex_lock(&n->recv_lock);
	pthread_mutex_lock(&n->lock);
	cur_term = raft_term(&n->raft);
	stopping = n->stopping;
	pthread_mutex_unlock(&n->lock);
	if (stopping) {
		snprintf(err, errlen, "shutting down");
		goto out;
	}
	/* §5.1: a stale leader's snapshot is refused at once (the core
	 * would refuse its message anyway, after the whole transfer). */
	if (c->term < cur_term) {
		snprintf(err, errlen, "stale term %llu (ours is %llu)",
			 (unsigned long long)c->term,
			 (unsigned long long)cur_term);
		goto out;
	}
	if (c->total < SNAPFILE_HEADER_SIZE + SNAPFILE_TRAILER_SIZE ||
	    c->total > SNAPFILE_HEADER_SIZE + SNAPFILE_MAX_BODY +
			   SNAPFILE_TRAILER_SIZE ||
	    c->offset > c->total || c->len > c->total - c->offset) {
		snprintf(err, errlen, "chunk outside the snapshot's size");
		goto out;
	}
	path = path_in(n->data_dir, SNAPSHOT_RECV);
	if (path == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (c->offset == 0) {
		/* A transfer starts (again): whatever came before goes. */
		recv_drop(n);
		n->recv_fd =
		    open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (n->recv_fd < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		n->recv_from = c->from;
		n->recv_term = c->term;
		n->recv_index = c->index;
		n->recv_sterm = c->sterm;
		n->recv_total = c->total;
		n->recv_got = 0;
	} else if (n->recv_fd < 0 || n->recv_from != c->from ||
		   n->recv_term != c->term || n->recv_index != c->index ||
		   n->recv_sterm != c->sterm || n->recv_total != c->total ||
		   n->recv_got != c->offset) {
		snprintf(err, errlen,
			 "chunk at offset %llu out of order: start again",
			 (unsigned long long)c->offset);
		goto out;
	}
	if (c->len > 0 &&
	    pwrite_all(n->recv_fd, c->data, c->len, c->offset) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		recv_drop(n);
		goto out;
	}
	n->recv_got += c->len;
	*next = n->recv_got;
	if (n->recv_got < n->recv_total) {
		rv = 0;
		goto out;
	}

	/* The whole file: durable, checked and loaded before the core
	 * hears of it (raft.h: RAFT_MSG_SNAPSHOT means "durable here"). */
	if (fdatasync(n->recv_fd) < 0) {
		snprintf(err, errlen, "%s: fdatasync: %s", path,
			 strerror(errno));
		recv_drop(n);
		goto out;
	}
	close(n->recv_fd);
	n->recv_fd = -1;
	if (snapshot_load(path, &meta, &sm, msg, sizeof(msg)) != SNAPFILE_OK) {
		snprintf(err, errlen, "received snapshot: %s", msg);
		recv_drop(n);
		goto out;
	}
	if (meta.index != c->index || meta.term != c->sterm) {
		snprintf(err, errlen,
			 "received snapshot covers (%llu, %llu), not the "
			 "announced (%llu, %llu)",
			 (unsigned long long)meta.index,
			 (unsigned long long)meta.term,
			 (unsigned long long)c->index,
			 (unsigned long long)c->sterm);
		sm_free(sm);
		recv_drop(n);
		goto out;
	}
	pthread_mutex_lock(&n->lock);
	sm_free(n->install_sm);
	n->install_sm = sm;
	n->install_index = meta.index;
	n->install_term = meta.term;
	n->install_bytes = meta.file_size;
	pthread_mutex_unlock(&n->lock);

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_SNAPSHOT;
	m.from = c->from;
	m.to = n->id;
	m.term = c->term;
	m.u.snapshot.index = meta.index;
	m.u.snapshot.term = meta.term;
	/* NULL if invalid: the core then refuses the snapshot. */
	m.u.snapshot.conf = meta_conf(&meta, &conf);
	node_peer_message(n, &m, reply, has_reply);

	/* Not installed (the core had it all already, or refused it). */
	pthread_mutex_lock(&n->lock);
	left = n->install_sm;
	n->install_sm = NULL;
	pthread_mutex_unlock(&n->lock);
	if (left != NULL) {
		sm_free(left);
		recv_drop(n);
	}
	n->recv_got = 0;
	rv = 0;
out:
	pthread_mutex_unlock(&n->recv_lock);
	free(path);
	return rv;
}

void node_snap_install(struct node *n, uint64_t index, uint64_t term)
{
	char msg[512];
	int rv;

	if (n->install_sm == NULL || n->install_index != index ||
	    n->install_term != term) {
		/* Only node_snapshot_chunk() hands the core a snapshot, with
		 * the data loaded: anything else is a bug here. */
		log_error("the core installed snapshot (%llu, %llu), which "
			  "this node does not hold; stopping",
			  (unsigned long long)index, (unsigned long long)term);
		_exit(1);
	}
	if (snapshot_commit(n->data_dir, SNAPSHOT_RECV, msg, sizeof(msg)) !=
	    0) {
		log_error("installing the leader's snapshot: %s; stopping to "
			  "protect the log",
			  msg);
		_exit(1);
	}
	/* §7, Figure 13 step 6: keep the entries after it if the log holds
	 * its last entry; else discard the whole log. */
	if (storage_term_at(n->st, index) == term) {
		rv = storage_compact(n->st, index);
		if (rv != STORAGE_OK)
			log_warn("compacting the raftlog up to %llu: %s (it "
				 "stays longer)",
				 (unsigned long long)index,
				 storage_strerror(rv));
	} else {
		rv = storage_reset(n->st, index, term);
		if (rv != STORAGE_OK) {
			log_error("rewriting the raftlog after the snapshot: "
				  "%s; stopping to protect the log",
				  storage_strerror(rv));
			_exit(1);
		}
	}
	sm_free(n->sm);
	n->sm = n->install_sm;
	n->install_sm = NULL;
	n->snap_installed++;
	n->snap_bytes = n->install_bytes;
	log_info("installed the leader's snapshot: index %llu, term %llu, "
		 "%llu bytes",
		 (unsigned long long)index, (unsigned long long)term,
		 (unsigned long long)n->install_bytes);
}

/* ---- the leader's side ----------------------------------------------------
 */

static int snapshot_failed_event(struct node *n, struct step *s, void *arg)
{
	const uint32_t *to = arg;

	if (n->stopping)
		return 0;
	raft_snapshot_failed(&n->raft, now_ms(), *to);
	s->event = true;
	return 0;
}

void node_on_snapshot_failed(void *arg, uint32_t to)
{
	struct node *n = arg;
	struct step s;

	memset(&s, 0, sizeof(s));
	node_run(n, &s, snapshot_failed_event, &to);
	step_clear(&s);
}
