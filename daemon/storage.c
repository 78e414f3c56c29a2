/* storage.c: a node's durable state: the raftlog and its term/vote.
 *
 * DESIGN (threads and locks).  Any thread may call in.
 *   mu       guards every field below marked [mu].  It is held across the
 *            write(2) and ftruncate of raftlog, so records land in the file
 *            in ticket order, but never across an fdatasync.
 *   cv       (with mu) broadcast when a raftlog sync or a truncation ends.
 *   meta_mu  serializes hard-state writes and is held across their
 *            fdatasync; only other hard-state writers wait on it.
 * Lock order: meta_mu before mu.
 *
 * Group commit (storage_sync): a thread that needs ticket t waits while
 * another thread's fdatasync runs; when none runs and t is not yet
 * synced, it notes the last ticket written, drops mu, runs one fdatasync
 * and marks everything up to that ticket synced for every waiter.
 * storage_sync_nowait() does not wait for another thread's fdatasync: it
 * sets `deferred`, and the thread that runs fdatasync runs another one
 * before it returns if its last one did not cover everything written
 * (so a deferred write is never left unsynced).
 */
#include "storage.h"
#include "bytes.h"
#include "errtab.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/raft.h"
#include "crc32c.h"

_Static_assert(RAFTLOG_MAX_PAYLOAD == RAFT_MAX_ENTRY_BYTES,
	       "the raftlog must hold any entry the core accepts");

/* The metadata slot: 48 bytes,
 *   "RAFTMETA" | u32 version (1) | u32 size (48) | u64 sequence
 *   | u64 term | u32 vote | u32 0 | u32 0 | u32 crc32c(bytes 0..43)
 * Slot meta1 holds odd sequence numbers, meta2 even ones, so a write
 * always overwrites the older slot and a torn write leaves the newer
 * intact. */
#define META_MAGIC "RAFTMETA"
#define META_VERSION 1u
#define META_SIZE 48u

/* The entries of one term: runs of equal terms are long, so this is far
 * smaller than a term per entry. */
struct term_run {
	uint64_t first; /* index of the run's first entry */
	uint64_t term;
};

struct storage {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_mutex_t meta_mu;

	void (*log)(void *arg, const char *msg);
	void *log_arg;
	char *dir;
	char *log_path;
	int dir_fd; /* holds the flock on the data dir */
	int fd;	    /* raftlog */
	int meta_fd[2];

	uint64_t first_index;  /* [mu] from the header */
	uint64_t base_term;    /* [mu] of entry first_index - 1 (0: none) */
	uint64_t cut_gen;      /* [mu] truncations and resets so far */
	uint64_t min_cut;      /* [mu] lowest offset cut since compact began */
	bool compacting;       /* [mu] storage_compact() runs */
	uint64_t *offsets;     /* [mu] file offset of entry first_index+i */
	uint64_t n_entries;    /* [mu] */
	uint64_t cap_entries;  /* [mu] */
	struct term_run *runs; /* [mu] */
	size_t n_runs;	       /* [mu] */
	size_t cap_runs;       /* [mu] */
	uint64_t end;	       /* [mu] where the next record goes */

	uint64_t written; /* [mu] ticket of the last write */
	uint64_t synced;  /* [mu] highest ticket on disk */
	bool syncing;	  /* [mu] an fdatasync of raftlog runs */
	bool deferred;	  /* [mu] a nowait caller left its ticket to it */
	bool truncating;  /* [mu] a truncation is not yet durable */
	bool failed;	  /* [mu] a write or fsync failed: refuse all */

	uint64_t term;	   /* [mu] hard state as last written */
	uint32_t vote;	   /* [mu] */
	uint64_t meta_seq; /* [mu] sequence number of the newest slot */

	int (*sync_hook)(void *arg); /* [mu] */
	void *sync_hook_arg;	     /* [mu] */
	struct storage_stats stats;  /* [mu] */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 2, 3))) static void st_logf(struct storage *st,
							  const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (st->log)
		st->log(st->log_arg, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
	uint8_t *p = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n =
		    pread(fd, p + *got, len - *got, (off_t)(off + *got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/* fsyncs a directory so that entries created or renamed in it survive a
 * crash. */
static int fsync_dir(const char *path)
{
	int fd, rv;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rv = fsync(fd);
	if (rv < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

/* mkdir -p, fsyncing the parent of each directory it creates. */
static int mkdir_p(const char *dir, char *err, size_t errlen)
{
	char *path = strdup(dir);
	int rv = -1;

	if (path == NULL) {
		snprintf(err, errlen, "storage: out of memory");
		return -1;
	}
	for (char *s = path + 1;; s++) {
		bool last = *s == '\0';
		if (*s != '/' && !last)
			continue;
		*s = '\0';
		if (mkdir(path, 0755) == 0) {
			/* Created: make its name durable in the parent. */
			char *slash = strrchr(path, '/');
			int frv;
			if (slash == NULL) {
				frv = fsync_dir(".");
			} else if (slash == path) {
				frv = fsync_dir("/");
			} else {
				*slash = '\0';
				frv = fsync_dir(path);
				*slash = '/';
			}
			if (frv < 0) {
				snprintf(
				    err, errlen,
				    "storage: fsync of the parent of %s: %s",
				    path, strerror(errno));
				goto out;
			}
		} else if (errno != EEXIST) {
			snprintf(err, errlen,
				 "storage: cannot create data dir %s: %s", path,
				 strerror(errno));
			goto out;
		}
		if (last)
			break;
		*s = '/';
	}
	rv = 0;
out:
	free(path);
	return rv;
}

static char *path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* ---- the log's in-memory index --------------------------------------- */

static uint64_t do_last_index(const struct storage *st)
{
	return st->first_index + st->n_entries - 1;
}

static uint64_t do_last_term(const struct storage *st)
{
	return st->n_runs ? st->runs[st->n_runs - 1].term : st->base_term;
}

/* Makes room for `more` entries and as many new term runs, so that
 * recording a write that has succeeded can never fail. */
static int do_reserve(struct storage *st, uint64_t more)
{
	if (st->n_entries + more > st->cap_entries) {
		uint64_t cap = st->cap_entries ? st->cap_entries : 1024;
		uint64_t *no;
		while (cap < st->n_entries + more)
			cap *= 2;
		no = realloc(st->offsets, cap * sizeof(*no));
		if (no == NULL)
			return STORAGE_ENOMEM;
		st->offsets = no;
		st->cap_entries = cap;
	}
	if (st->n_runs + more > st->cap_runs) {
		size_t cap = st->cap_runs ? st->cap_runs : 16;
		struct term_run *nr;
		while (cap < st->n_runs + more)
			cap *= 2;
		nr = realloc(st->runs, cap * sizeof(*nr));
		if (nr == NULL)
			return STORAGE_ENOMEM;
		st->runs = nr;
		st->cap_runs = cap;
	}
	return STORAGE_OK;
}

/* Records entry (index, term) at `offset`; room was reserved. */
static void do_note_entry(struct storage *st, uint64_t index, uint64_t term,
			  uint64_t offset)
{
	st->offsets[st->n_entries++] = offset;
	if (st->n_runs == 0 || st->runs[st->n_runs - 1].term != term) {
		st->runs[st->n_runs].first = index;
		st->runs[st->n_runs].term = term;
		st->n_runs++;
	}
}

/* ---- metadata slots -------------------------------------------------- */

static void meta_encode(uint8_t *b, uint64_t seq, uint64_t term, uint32_t vote)
{
	memcpy(b, META_MAGIC, 8);
	bytes_put_u32(b + 8, META_VERSION);
	bytes_put_u32(b + 12, META_SIZE);
	bytes_put_u64(b + 16, seq);
	bytes_put_u64(b + 24, term);
	bytes_put_u32(b + 32, vote);
	bytes_put_u32(b + 36, 0);
	bytes_put_u32(b + 40, 0);
	bytes_put_u32(b + 44, crc32c(0, b, 44));
}

enum meta_state { META_EMPTY, META_VALID, META_BAD };

struct meta_slot {
	enum meta_state state;
	uint64_t seq, term;
	uint32_t vote;
	char why[96];
};

/* Reads one slot.  A slot that is missing, empty or all zeros was never
 * written completely (the file is created before its first write), so it
 * counts as empty rather than damaged. */
static int meta_read(int fd, struct meta_slot *m)
{
	uint8_t b[META_SIZE];
	size_t got;
	bool zero = true;

	memset(m, 0, sizeof(*m));
	if (pread_all(fd, b, sizeof(b), 0, &got) < 0)
		return -1;
	for (size_t i = 0; i < got; i++)
		zero = zero && b[i] == 0;
	if (zero) {
		m->state = META_EMPTY;
		return 0;
	}
	m->state = META_BAD;
	if (got != META_SIZE)
		snprintf(m->why, sizeof(m->why), "%zu bytes instead of %u", got,
			 META_SIZE);
	else if (memcmp(b, META_MAGIC, 8) != 0)
		snprintf(m->why, sizeof(m->why), "bad magic");
	else if (bytes_get_u32(b + 44) != crc32c(0, b, 44))
		snprintf(m->why, sizeof(m->why), "checksum mismatch");
	else if (bytes_get_u32(b + 8) != META_VERSION ||
		 bytes_get_u32(b + 12) != META_SIZE)
		snprintf(m->why, sizeof(m->why), "unsupported version %" PRIu32,
			 bytes_get_u32(b + 8));
	else {
		m->state = META_VALID;
		m->seq = bytes_get_u64(b + 16);
		m->term = bytes_get_u64(b + 24);
		m->vote = bytes_get_u32(b + 32);
	}
	return 0;
}

static int open_meta(struct storage *st, char *err, size_t errlen)
{
	static const char *const names[2] = {"meta1", "meta2"};
	struct meta_slot m[2];
	int best = -1, rv = STORAGE_EIO;
	bool created = false;
	char *path = NULL;

	for (int i = 0; i < 2; i++) {
		free(path);
		path = path_join(st->dir, names[i]);
		if (path == NULL) {
			rv = STORAGE_ENOMEM;
			goto out;
		}
		st->meta_fd[i] = open(path, O_RDWR | O_CLOEXEC);
		if (st->meta_fd[i] < 0 && errno == ENOENT) {
			st->meta_fd[i] =
			    open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
			created = true;
		}
		if (st->meta_fd[i] < 0 ||
		    meta_read(st->meta_fd[i], &m[i]) < 0) {
			snprintf(err, errlen, "storage: %s: %s", path,
				 strerror(errno));
			goto out;
		}
		if (m[i].state == META_VALID &&
		    (best < 0 || m[i].seq > m[best].seq))
			best = i;
	}
	if (created && fsync(st->dir_fd) < 0) {
		snprintf(err, errlen, "storage: fsync of %s: %s", st->dir,
			 strerror(errno));
		goto out;
	}
	if (best < 0 && (m[0].state == META_BAD || m[1].state == META_BAD)) {
		snprintf(err, errlen,
			 "storage: %s: neither meta1 (%s) nor meta2 (%s) holds "
			 "a valid term and vote. Refusing to start, since a "
			 "lost vote could let this node vote twice in one "
			 "term. The files were not modified. Restore this "
			 "node's data dir from a backup, or, if the other "
			 "nodes form a healthy majority, remove it so that the "
			 "node rejoins empty.",
			 st->dir, m[0].state == META_BAD ? m[0].why : "empty",
			 m[1].state == META_BAD ? m[1].why : "empty");
		rv = STORAGE_ECORRUPT;
		goto out;
	}
	if (best >= 0) {
		int other = 1 - best;
		st->meta_seq = m[best].seq;
		st->term = m[best].term;
		st->vote = m[best].vote;
		if (m[other].state == META_BAD)
			st_logf(st,
				"storage: %s/%s is invalid (%s); using %s "
				"(term %" PRIu64 ", vote %" PRIu32 ")",
				st->dir, names[other], m[other].why,
				names[best], st->term, st->vote);
	}
	rv = STORAGE_OK;
out:
	free(path);
	return rv;
}

/* ---- opening the log ------------------------------------------------- */

/* Creates an empty raftlog atomically: header to a temp file, fdatasync,
 * rename, fsync the directory.  A crash leaves either no raftlog or a
 * complete header. */
static int create_log(struct storage *st, char *err, size_t errlen)
{
	uint8_t hdr[RAFTLOG_HEADER_SIZE];
	char *tmp = path_join(st->dir, "raftlog.tmp");
	int fd = -1, rv = STORAGE_EIO;
	const char *what = "open";

	if (tmp == NULL)
		return STORAGE_ENOMEM;
	raftlog_encode_header(hdr, 1);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	what = "write";
	if (pwrite_all(fd, hdr, sizeof(hdr), 0) < 0)
		goto fail;
	what = "fdatasync";
	if (fdatasync(fd) < 0)
		goto fail;
	what = "rename";
	if (rename(tmp, st->log_path) < 0)
		goto fail;
	what = "fsync of the directory";
	if (fsync(st->dir_fd) < 0)
		goto fail;
	st_logf(st, "raftlog: created empty log %s", st->log_path);
	rv = STORAGE_OK;
	goto out;
fail:
	snprintf(err, errlen, "raftlog: creating %s: %s: %s", st->log_path,
		 what, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	return rv;
}

static int load_entry(void *arg, const struct raftlog_entry *e, uint64_t offset)
{
	struct storage *st = arg;

	if (do_reserve(st, 1) != STORAGE_OK)
		return 1;
	do_note_entry(st, e->index, e->term, offset);
	return 0;
}

static int open_log(struct storage *st, char *err, size_t errlen)
{
	struct raftlog_scan_ops ops = {.entry = load_entry, .arg = st};
	struct raftlog_scan_result res;
	char msg[1024];
	int rv;

	st->fd = open(st->log_path, O_RDWR | O_CLOEXEC);
	if (st->fd < 0 && errno == ENOENT) {
		rv = create_log(st, err, errlen);
		if (rv != STORAGE_OK)
			return rv;
		st->fd = open(st->log_path, O_RDWR | O_CLOEXEC);
	}
	if (st->fd < 0) {
		snprintf(err, errlen, "raftlog: %s: %s", st->log_path,
			 strerror(errno));
		return STORAGE_EIO;
	}
	rv =
	    raftlog_scan_fd(st->fd, st->log_path, &ops, &res, msg, sizeof(msg));
	if (rv == 1) {
		snprintf(err, errlen, "raftlog: out of memory loading %s",
			 st->log_path);
		return STORAGE_ENOMEM;
	}
	if (rv != RAFTLOG_OK) {
		snprintf(err, errlen, "raftlog: %s", msg);
		return rv == RAFTLOG_ECORRUPT ? STORAGE_ECORRUPT
		       : rv == RAFTLOG_ENOMEM ? STORAGE_ENOMEM
					      : STORAGE_EIO;
	}
	st->first_index = res.first_index;
	st->base_term = res.base_term;
	st->end = res.valid_end;
	if (res.torn) {
		/* The tail never completed a sync, so no one was told it
		 * was stored: dropping it loses nothing acknowledged. */
		if (ftruncate(st->fd, (off_t)res.valid_end) < 0 ||
		    fdatasync(st->fd) < 0) {
			snprintf(err, errlen,
				 "raftlog: %s: dropping the torn tail at "
				 "offset %" PRIu64 ": %s",
				 st->log_path, res.valid_end, strerror(errno));
			return STORAGE_EIO;
		}
		st_logf(st,
			"raftlog: dropped torn tail at offset %" PRIu64
			" (%" PRIu64 " bytes): %s; %s now ends with entry "
			"%" PRIu64,
			res.valid_end, res.file_size - res.valid_end,
			res.torn_why, st->log_path, res.last_index);
	}
	return STORAGE_OK;
}

int storage_open(const char *dir, void (*log)(void *arg, const char *msg),
		 void *log_arg, struct storage **out, char *err, size_t errlen)
{
	struct storage *st;
	int rv = STORAGE_ENOMEM;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0') {
		snprintf(err, errlen, "storage: empty data dir name");
		return STORAGE_EINVAL;
	}
	snprintf(err, errlen, "storage: out of memory");
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return STORAGE_ENOMEM;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	pthread_mutex_init(&st->meta_mu, NULL);
	st->log = log;
	st->log_arg = log_arg;
	st->dir_fd = st->fd = st->meta_fd[0] = st->meta_fd[1] = -1;
	st->dir = strdup(dir);
	st->log_path = path_join(dir, "raftlog");
	if (st->dir == NULL || st->log_path == NULL)
		goto out;

	rv = STORAGE_EIO;
	if (mkdir_p(dir, err, errlen) < 0)
		goto out;
	st->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dir_fd < 0) {
		snprintf(err, errlen, "storage: data dir %s: %s", dir,
			 strerror(errno));
		goto out;
	}
	/* One process per data dir: two writers would interleave records.
	 * The lock goes away with the process, even on kill -9. */
	if (flock(st->dir_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			snprintf(err, errlen,
				 "storage: data dir %s is in use by another "
				 "process (it holds the directory's lock)",
				 dir);
			rv = STORAGE_EBUSY;
		} else {
			snprintf(err, errlen, "storage: flock %s: %s", dir,
				 strerror(errno));
		}
		goto out;
	}
	/* Metadata first: if it is damaged, the log is not touched either
	 * (not even a torn tail dropped). */
	rv = open_meta(st, err, errlen);
	if (rv != STORAGE_OK)
		goto out;
	rv = open_log(st, err, errlen);
	if (rv != STORAGE_OK)
		goto out;
	if (errlen > 0)
		err[0] = '\0';
	*out = st;
	st = NULL;
out:
	storage_close(st);
	return rv;
}

void storage_close(struct storage *st)
{
	if (st == NULL)
		return;
	if (st->fd >= 0) {
		pthread_mutex_lock(&st->mu);
		bool pending = !st->failed && st->written > st->synced;
		pthread_mutex_unlock(&st->mu);
		if (pending)
			storage_sync(st, UINT64_MAX);
		close(st->fd);
	}
	for (int i = 0; i < 2; i++)
		if (st->meta_fd[i] >= 0)
			close(st->meta_fd[i]);
	if (st->dir_fd >= 0)
		close(st->dir_fd);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->meta_mu);
	free(st->offsets);
	free(st->runs);
	free(st->dir);
	free(st->log_path);
	free(st);
}

/* ---- hard state ------------------------------------------------------ */

void storage_hard_state(struct storage *st, uint64_t *term, uint32_t *vote)
{
	pthread_mutex_lock(&st->mu);
	*term = st->term;
	*vote = st->vote;
	pthread_mutex_unlock(&st->mu);
}

int storage_set_hard_state(struct storage *st, uint64_t term, uint32_t vote)
{
	uint8_t b[META_SIZE];
	uint64_t seq;
	int slot = 0, rv = STORAGE_EIO;
	const char *what = "write";

	pthread_mutex_lock(&st->meta_mu);
	pthread_mutex_lock(&st->mu);
	seq = st->meta_seq + 1;
	if (st->failed)
		seq = 0;
	pthread_mutex_unlock(&st->mu);
	if (seq == 0)
		goto out;
	slot = (seq & 1) ? 0 : 1;
	meta_encode(b, seq, term, vote);
	if (pwrite_all(st->meta_fd[slot], b, sizeof(b), 0) < 0)
		goto fail;
	what = "fdatasync";
	if (fdatasync(st->meta_fd[slot]) < 0)
		goto fail;
	pthread_mutex_lock(&st->mu);
	st->meta_seq = seq;
	st->term = term;
	st->vote = vote;
	st->stats.meta_syncs++;
	pthread_mutex_unlock(&st->mu);
	rv = STORAGE_OK;
	goto out;
fail:
	st_logf(st,
		"storage: %s of %s/meta%d failed: %s; the term/vote on disk "
		"is unknown, refusing further writes",
		what, st->dir, slot + 1, strerror(errno));
	pthread_mutex_lock(&st->mu);
	st->failed = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
out:
	pthread_mutex_unlock(&st->meta_mu);
	return rv;
}

/* ---- the log --------------------------------------------------------- */

uint64_t storage_first_index(struct storage *st)
{
	uint64_t v;

	pthread_mutex_lock(&st->mu);
	v = st->first_index;
	pthread_mutex_unlock(&st->mu);
	return v;
}

uint64_t storage_last_index(struct storage *st)
{
	uint64_t v;

	pthread_mutex_lock(&st->mu);
	v = do_last_index(st);
	pthread_mutex_unlock(&st->mu);
	return v;
}

uint64_t storage_last_term(struct storage *st)
{
	uint64_t v;

	pthread_mutex_lock(&st->mu);
	v = do_last_term(st);
	pthread_mutex_unlock(&st->mu);
	return v;
}

uint64_t storage_entry_count(struct storage *st)
{
	uint64_t v;

	pthread_mutex_lock(&st->mu);
	v = st->n_entries;
	pthread_mutex_unlock(&st->mu);
	return v;
}

uint64_t storage_term_at(struct storage *st, uint64_t index)
{
	uint64_t term = 0;

	pthread_mutex_lock(&st->mu);
	if (index > 0 && index == st->first_index - 1)
		term = st->base_term;
	if (index >= st->first_index && index <= do_last_index(st)) {
		/* The last run starting at or before index. */
		size_t lo = 0, hi = st->n_runs;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (st->runs[mid].first <= index)
				lo = mid;
			else
				hi = mid;
		}
		term = st->runs[lo].term;
	}
	pthread_mutex_unlock(&st->mu);
	return term;
}

struct for_each_ctx {
	int (*cb)(void *arg, const struct raftlog_entry *e);
	void *arg;
	int rv; /* cb's nonzero return, kept apart from the scan's codes */
};

static int for_each_entry_cb(void *arg, const struct raftlog_entry *e,
			     uint64_t offset)
{
	struct for_each_ctx *c = arg;

	(void)offset;
	c->rv = c->cb(c->arg, e);
	return c->rv != 0;
}

int storage_for_each_entry(struct storage *st,
			   int (*cb)(void *arg, const struct raftlog_entry *e),
			   void *arg)
{
	struct for_each_ctx c = {.cb = cb, .arg = arg};
	struct raftlog_scan_ops ops = {.entry = for_each_entry_cb, .arg = &c};
	struct raftlog_scan_result res;
	char msg[1024];
	int rv;

	pthread_mutex_lock(&st->mu);
	if (st->failed) {
		rv = STORAGE_EIO;
		goto out;
	}
	rv =
	    raftlog_scan_fd(st->fd, st->log_path, &ops, &res, msg, sizeof(msg));
	if (rv == 1) {
		rv = c.rv;
		goto out;
	}
	if (rv == RAFTLOG_OK && !res.torn)
		goto out;
	/* The file changed behind our back, or cannot be read. */
	st_logf(st, "raftlog: re-reading %s: %s", st->log_path,
		rv == RAFTLOG_OK ? res.torn_why : msg);
	rv = rv == RAFTLOG_ENOMEM ? STORAGE_ENOMEM : STORAGE_EIO;
out:
	pthread_mutex_unlock(&st->mu);
	return rv;
}

/* Waits until no truncation is on its way to disk.  Caller holds mu. */
static void do_wait_truncation(struct storage *st)
{
	while (st->truncating && !st->failed)
		pthread_cond_wait(&st->cv, &st->mu);
}

/* Writes `len` encoded bytes at the end of the log.  On failure the file
 * is cut back to where it was (best effort) and the storage fails, since
 * a half-written record might still reach the disk later.  Caller holds
 * mu. */
static int do_write(struct storage *st, const uint8_t *buf, size_t len)
{
	if (pwrite_all(st->fd, buf, len, st->end) < 0) {
		int e = errno;
		if (ftruncate(st->fd, (off_t)st->end) < 0) {
			/* nothing more to do: the storage fails anyway */
		}
		st_logf(st,
			"raftlog: write of %zu bytes at offset %" PRIu64
			" of %s failed: %s; refusing further writes",
			len, st->end, st->log_path, strerror(e));
		st->failed = true;
		pthread_cond_broadcast(&st->cv);
		return STORAGE_EIO;
	}
	st->end += len;
	st->written++;
	st->stats.records++;
	st->stats.bytes += len;
	return STORAGE_OK;
}

int storage_append_entries(struct storage *st,
			   const struct raftlog_entry *entries, size_t n,
			   uint64_t *ticket)
{
	uint8_t *buf = NULL;
	size_t total = 0, used, pos = 0;
	uint64_t start;
	int rv = STORAGE_EINVAL;
	bool locked = false;

	/* Check and encode outside the lock: records do not depend on
	 * where they land. */
	for (size_t i = 0; i < n; i++) {
		const struct raftlog_entry *e = &entries[i];
		if (e->len > RAFTLOG_MAX_PAYLOAD || e->term == 0 ||
		    (i > 0 && (e->index != entries[i - 1].index + 1 ||
			       e->term < entries[i - 1].term)))
			goto out;
		total += raftlog_entry_size(e->len);
	}
	rv = STORAGE_ENOMEM;
	buf = malloc(total ? total : 1);
	if (buf == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		rv = raftlog_encode_entry(buf + pos, total - pos, &entries[i],
					  &used);
		if (rv != RAFTLOG_OK) {
			rv = STORAGE_EINVAL;
			goto out;
		}
		pos += used;
	}

	pthread_mutex_lock(&st->mu);
	locked = true;
	do_wait_truncation(st);
	rv = STORAGE_EIO;
	if (st->failed)
		goto out;
	rv = STORAGE_EINVAL;
	if (n > 0 && (entries[0].index != do_last_index(st) + 1 ||
		      entries[0].term < do_last_term(st)))
		goto out;
	if (n == 0) {
		rv = STORAGE_OK;
		goto out;
	}
	rv = do_reserve(st, n);
	if (rv != STORAGE_OK)
		goto out;
	start = st->end;
	rv = do_write(st, buf, total);
	if (rv != STORAGE_OK)
		goto out;
	pos = 0;
	for (size_t i = 0; i < n; i++) {
		do_note_entry(st, entries[i].index, entries[i].term,
			      start + pos);
		pos += raftlog_entry_size(entries[i].len);
	}
	rv = STORAGE_OK;
out:
	if (locked) {
		if (ticket && rv == STORAGE_OK)
			*ticket = st->written;
		pthread_mutex_unlock(&st->mu);
	}
	free(buf);
	return rv;
}

int storage_append(struct storage *st, uint64_t index, uint64_t term,
		   uint8_t type, const void *data, uint32_t len,
		   uint64_t *ticket)
{
	struct raftlog_entry e = {
	    .index = index,
	    .term = term,
	    .type = type,
	    .len = len,
	    .data = data,
	};

	return storage_append_entries(st, &e, 1, ticket);
}

int storage_append_commit(struct storage *st, uint64_t commit_index,
			  uint64_t *ticket)
{
	uint8_t buf[RAFTLOG_COMMIT_SIZE];
	size_t used;
	int rv;

	raftlog_encode_commit(buf, sizeof(buf), commit_index, &used);
	pthread_mutex_lock(&st->mu);
	do_wait_truncation(st);
	rv = st->failed ? STORAGE_EIO : do_write(st, buf, used);
	if (rv == STORAGE_OK && ticket)
		*ticket = st->written;
	pthread_mutex_unlock(&st->mu);
	return rv;
}

int storage_truncate(struct storage *st, uint64_t from_index)
{
	uint64_t off, ticket;
	int rv = STORAGE_EIO;

	pthread_mutex_lock(&st->mu);
	do_wait_truncation(st);
	if (st->failed)
		goto out;
	rv = STORAGE_EINVAL;
	if (from_index < st->first_index)
		goto out;
	rv = STORAGE_OK;
	if (from_index > do_last_index(st))
		goto out;
	off = st->offsets[from_index - st->first_index];
	if (ftruncate(st->fd, (off_t)off) < 0) {
		st_logf(st,
			"raftlog: ftruncate of %s to offset %" PRIu64
			" failed: %s; refusing further writes",
			st->log_path, off, strerror(errno));
		st->failed = true;
		pthread_cond_broadcast(&st->cv);
		rv = STORAGE_EIO;
		goto out;
	}
	st->n_entries = from_index - st->first_index;
	while (st->n_runs > 0 && st->runs[st->n_runs - 1].first >= from_index)
		st->n_runs--;
	st->end = off;
	st->cut_gen++;
	if (off < st->min_cut)
		st->min_cut = off;
	st->written++;
	ticket = st->written;
	st->truncating = true;
	pthread_mutex_unlock(&st->mu);

	rv = storage_sync(st, ticket);

	pthread_mutex_lock(&st->mu);
	st->truncating = false;
	pthread_cond_broadcast(&st->cv);
out:
	pthread_mutex_unlock(&st->mu);
	return rv;
}

/* The group commit of storage_sync() and storage_sync_nowait(): see the
 * DESIGN note at the top. */
static int do_sync(struct storage *st, uint64_t ticket, bool nowait,
		   struct storage_sync_result *res)
{
	int rv;

	if (res) {
		res->ran = false;
		res->index = res->term = 0;
	}
	pthread_mutex_lock(&st->mu);
	if (ticket > st->written)
		ticket = st->written;
	for (;;) {
		uint64_t target, last_index, last_term, t0, dt;
		int (*hook)(void *arg) = st->sync_hook;
		void *hook_arg = st->sync_hook_arg;
		int r = 0, e = 0;

		if (st->failed) {
			rv = STORAGE_EIO;
			break;
		}
		if (st->synced >= ticket) {
			rv = STORAGE_OK;
			break;
		}
		if (st->syncing) {
			if (nowait) {
				/* The running syncer syncs again for us. */
				st->deferred = true;
				rv = STORAGE_OK;
				break;
			}
			pthread_cond_wait(&st->cv, &st->mu);
			continue;
		}
		/* Everything written so far is in the page cache: one
		 * fdatasync covers it, for this thread and all waiters. */
		st->syncing = true;
		st->deferred = false;
		target = st->written;
		last_index = do_last_index(st);
		last_term = do_last_term(st);
		pthread_mutex_unlock(&st->mu);

		t0 = now_ns();
		if (hook && hook(hook_arg) != 0) {
			r = -1;
			e = EIO;
		} else if (fdatasync(st->fd) < 0) {
			r = -1;
			e = errno;
		}
		dt = now_ns() - t0;

		pthread_mutex_lock(&st->mu);
		st->syncing = false;
		st->stats.log_syncs++;
		st->stats.sync_ns_total += dt;
		if (dt > st->stats.sync_ns_max)
			st->stats.sync_ns_max = dt;
		st->stats.sync_hist[hist_bucket(dt)]++;
		if (r < 0) {
			/* After a failed fsync the kernel may have dropped
			 * the dirty pages: the file's contents are unknown,
			 * and retrying could report success for lost data. */
			st_logf(st,
				"raftlog: fdatasync of %s failed: %s; the "
				"log on disk is unknown, refusing further "
				"writes",
				st->log_path, strerror(e));
			st->failed = true;
		} else {
			if (target > st->synced)
				st->synced = target;
			if (res) {
				res->ran = true;
				res->index = last_index;
				res->term = last_term;
			}
			/* A nowait caller counted on this thread for a
			 * write this fdatasync may not have covered. */
			if (st->deferred && st->written > st->synced)
				ticket = st->written;
		}
		pthread_cond_broadcast(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
	return rv;
}

int storage_sync(struct storage *st, uint64_t ticket)
{
	return do_sync(st, ticket, false, NULL);
}

int storage_sync_report(struct storage *st, uint64_t ticket,
			struct storage_sync_result *res)
{
	return do_sync(st, ticket, false, res);
}

int storage_sync_nowait(struct storage *st, uint64_t ticket,
			struct storage_sync_result *res)
{
	return do_sync(st, ticket, true, res);
}

uint64_t storage_synced_ticket(struct storage *st)
{
	uint64_t v;

	pthread_mutex_lock(&st->mu);
	v = st->synced;
	pthread_mutex_unlock(&st->mu);
	return v;
}

void storage_get_stats(struct storage *st, struct storage_stats *out)
{
	pthread_mutex_lock(&st->mu);
	*out = st->stats;
	pthread_mutex_unlock(&st->mu);
}

void storage_set_sync_hook(struct storage *st, int (*hook)(void *arg),
			   void *arg)
{
	pthread_mutex_lock(&st->mu);
	st->sync_hook = hook;
	st->sync_hook_arg = arg;
	pthread_mutex_unlock(&st->mu);
}

/* ---- compaction (after a snapshot) ------------------------------------ */

/* Starts a new log file at `tmp`: the header for first index base + 1 and
 * the BASE record (base, term).  Returns the open descriptor, or -1 with
 * errno and *what set. */
static int start_file(const char *tmp, uint64_t base, uint64_t term,
		      size_t *len, const char **what)
{
	uint8_t buf[RAFTLOG_HEADER_SIZE + RAFTLOG_BASE_SIZE];
	size_t used = 0;
	int fd;

	raftlog_encode_header(buf, base + 1);
	if (raftlog_encode_base(buf + RAFTLOG_HEADER_SIZE, RAFTLOG_BASE_SIZE,
				base, term, &used) != RAFTLOG_OK) {
		*what = "encode";
		errno = EINVAL;
		return -1;
	}
	*len = RAFTLOG_HEADER_SIZE + used;
	*what = "open";
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	*what = "write";
	if (pwrite_all(fd, buf, *len, 0) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Copies [from, to) of src to dst at dst_off.  0, or -1 with errno. */
static int copy_range(int src, uint64_t from, uint64_t to, int dst,
		      uint64_t dst_off, uint8_t *buf, size_t bufsize)
{
	while (from < to) {
		size_t want =
		    to - from < bufsize ? (size_t)(to - from) : bufsize;
		size_t got;

		if (pread_all(src, buf, want, from, &got) < 0)
			return -1;
		if (got != want) {
			errno = EIO; /* the file shrank: caller's bug */
			return -1;
		}
		if (pwrite_all(dst, buf, got, dst_off) < 0)
			return -1;
		from += got;
		dst_off += got;
	}
	return 0;
}

/* Makes the new file at `tmp` (descriptor fd, durable) the raftlog: rename
 * over it, fsync the directory, switch descriptors.  Caller holds mu and
 * has waited for any running fdatasync of the old descriptor. */
static int swap_in(struct storage *st, const char *tmp, int fd,
		   const char **what)
{
	*what = "rename";
	if (rename(tmp, st->log_path) < 0)
		return -1;
	*what = "fsync of the directory";
	if (fsync(st->dir_fd) < 0)
		return -1;
	close(st->fd);
	st->fd = fd;
	return 0;
}

/* Waits until no fdatasync of the current descriptor runs (none starts
 * while mu is held after this).  Caller holds mu. */
static void do_wait_sync(struct storage *st)
{
	while ((st->syncing || st->truncating) && !st->failed)
		pthread_cond_wait(&st->cv, &st->mu);
}

/* A failed step of a file swap: the old raftlog is intact (the rename is
 * the commit point), but after a failed fsync of the directory we cannot
 * tell which file a restart would see, so the storage fails.  Caller holds
 * mu. */
static int swap_failed(struct storage *st, const char *op, const char *what,
		       int fd, const char *tmp, bool renamed)
{
	int e = errno;

	if (fd >= 0 && !renamed)
		close(fd);
	if (!renamed)
		unlink(tmp);
	st_logf(st, "raftlog: %s of %s: %s failed: %s%s", op, st->log_path,
		what, strerror(e),
		renamed ? "; refusing further writes"
			: "; the log is unchanged");
	if (renamed) {
		st->failed = true;
		pthread_cond_broadcast(&st->cv);
		return STORAGE_EIO;
	}
	return STORAGE_EIO;
}

int storage_compact(struct storage *st, uint64_t upto)
{
	char *tmp = path_join(st->dir, "raftlog.tmp");
	uint8_t *buf = NULL;
	const char *what = "open";
	uint64_t from_off, end0, term, gen0, tail_from, delta_base, n_drop;
	size_t hdr_len = 0, r;
	int fd = -1, rv = STORAGE_EIO;
	bool renamed = false;

	if (tmp == NULL)
		return STORAGE_ENOMEM;
	buf = malloc(1u << 20);
	if (buf == NULL) {
		free(tmp);
		return STORAGE_ENOMEM;
	}
	pthread_mutex_lock(&st->mu);
	do_wait_truncation(st);
	if (st->failed)
		goto out;
	rv = STORAGE_OK;
	if (upto < st->first_index || st->compacting)
		goto out; /* nothing to drop, or another compaction runs */
	rv = STORAGE_EINVAL;
	if (upto > do_last_index(st))
		goto out;
	st->compacting = true;
	term = 0;
	{
		/* The term of `upto`: the last run starting at or before. */
		size_t lo = 0, hi = st->n_runs;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (st->runs[mid].first <= upto)
				lo = mid;
			else
				hi = mid;
		}
		term = st->runs[lo].term;
	}
	from_off = upto < do_last_index(st)
		       ? st->offsets[upto + 1 - st->first_index]
		       : st->end;
	end0 = st->end;
	gen0 = st->cut_gen;
	st->min_cut = UINT64_MAX;
	pthread_mutex_unlock(&st->mu);

	/* The bulk of the copy runs without mu: appends go on meanwhile,
	 * at the old file's end, and are copied below. */
	rv = STORAGE_EIO;
	fd = start_file(tmp, upto, term, &hdr_len, &what);
	if (fd < 0) {
		pthread_mutex_lock(&st->mu);
		rv = swap_failed(st, "compaction", what, fd, tmp, false);
		goto out_compacting;
	}
	what = "copy";
	if (copy_range(st->fd, from_off, end0, fd, hdr_len, buf, 1u << 20) <
	    0) {
		pthread_mutex_lock(&st->mu);
		rv = swap_failed(st, "compaction", what, fd, tmp, false);
		goto out_compacting;
	}
	what = "fdatasync";
	if (fdatasync(fd) < 0) {
		pthread_mutex_lock(&st->mu);
		rv = swap_failed(st, "compaction", what, fd, tmp, false);
		goto out_compacting;
	}

	pthread_mutex_lock(&st->mu);
	do_wait_sync(st);
	if (st->failed) {
		close(fd);
		unlink(tmp);
		goto out_compacting;
	}
	/* A truncation since the copy cut the file: the copy is good up to
	 * the lowest cut (a truncation only removes uncommitted entries,
	 * all after `upto`, so never below from_off). */
	tail_from = end0;
	if (st->cut_gen != gen0 && st->min_cut < tail_from)
		tail_from = st->min_cut;
	if (tail_from < from_off) {
		errno = EINVAL;
		rv = swap_failed(st, "compaction",
				 "a truncation below the "
				 "compaction point",
				 fd, tmp, false);
		goto out_compacting;
	}
	delta_base = hdr_len; /* new offset = old - from_off + hdr_len */
	what = "copy of the tail";
	if (ftruncate(fd, (off_t)(tail_from - from_off + delta_base)) < 0 ||
	    copy_range(st->fd, tail_from, st->end, fd,
		       tail_from - from_off + delta_base, buf, 1u << 20) < 0) {
		rv = swap_failed(st, "compaction", what, fd, tmp, false);
		goto out_compacting;
	}
	/* What was written since the bulk copy, once more to disk; held
	 * under mu (appends wait), but it is small. */
	what = "fdatasync";
	if (fdatasync(fd) < 0) {
		rv = swap_failed(st, "compaction", what, fd, tmp, false);
		goto out_compacting;
	}
	if (swap_in(st, tmp, fd, &what) < 0) {
		renamed = strcmp(what, "rename") != 0;
		rv = swap_failed(st, "compaction", what, renamed ? -1 : fd, tmp,
				 renamed);
		goto out_compacting;
	}
	/* The in-memory index follows the new file. */
	n_drop = upto + 1 - st->first_index;
	for (r = 0; r + n_drop < st->n_entries; r++)
		st->offsets[r] =
		    st->offsets[r + n_drop] - from_off + delta_base;
	st->n_entries -= n_drop;
	{
		size_t k = 0, j;
		/* Runs that end at or before upto go; the one holding
		 * upto + 1 now starts there. */
		while (k + 1 < st->n_runs && st->runs[k + 1].first <= upto + 1)
			k++;
		for (j = 0; j + k < st->n_runs; j++)
			st->runs[j] = st->runs[j + k];
		st->n_runs -= k;
		if (st->n_entries == 0)
			st->n_runs = 0;
		else if (st->runs[0].first < upto + 1)
			st->runs[0].first = upto + 1;
	}
	st->end = st->end - from_off + delta_base;
	st->first_index = upto + 1;
	st->base_term = term;
	/* Everything written so far is in the new file, on disk; `synced`
	 * stays as it was all the same, so that the next storage_sync()
	 * runs (a cheap) fdatasync and reports the entries it covers to the
	 * core: a leader counts itself towards a commit only through such a
	 * report. */
	st_logf(st,
		"raftlog: compacted %s: now entries %" PRIu64 "..%" PRIu64
		" (%" PRIu64 " bytes)",
		st->log_path, st->first_index, do_last_index(st), st->end);
	rv = STORAGE_OK;
out_compacting:
	st->compacting = false;
	pthread_cond_broadcast(&st->cv);
out:
	pthread_mutex_unlock(&st->mu);
	free(buf);
	free(tmp);
	return rv;
}

int storage_reset(struct storage *st, uint64_t base, uint64_t term)
{
	char *tmp = path_join(st->dir, "raftlog.tmp");
	const char *what = "open";
	size_t hdr_len = 0;
	int fd = -1, rv = STORAGE_EIO;
	bool renamed;

	if (tmp == NULL)
		return STORAGE_ENOMEM;
	pthread_mutex_lock(&st->mu);
	do_wait_truncation(st);
	while (st->compacting && !st->failed)
		pthread_cond_wait(&st->cv, &st->mu);
	do_wait_sync(st);
	if (st->failed)
		goto out;
	rv = STORAGE_EINVAL;
	if (base == 0 || term == 0)
		goto out;
	fd = start_file(tmp, base, term, &hdr_len, &what);
	if (fd < 0 || (what = "fdatasync", fdatasync(fd) < 0)) {
		rv = swap_failed(st, "reset", what, fd, tmp, false);
		goto out;
	}
	if (swap_in(st, tmp, fd, &what) < 0) {
		renamed = strcmp(what, "rename") != 0;
		rv = swap_failed(st, "reset", what, renamed ? -1 : fd, tmp,
				 renamed);
		goto out;
	}
	st->first_index = base + 1;
	st->base_term = term;
	st->n_entries = 0;
	st->n_runs = 0;
	st->end = hdr_len;
	st->cut_gen++;
	st->min_cut = 0;
	st_logf(st,
		"raftlog: %s now starts after index %" PRIu64 " (term %" PRIu64
		"), empty",
		st->log_path, base, term);
	rv = STORAGE_OK;
out:
	pthread_mutex_unlock(&st->mu);
	free(tmp);
	return rv;
}

uint64_t storage_base_term(struct storage *st)
{
	uint64_t v;

	pthread_mutex_lock(&st->mu);
	v = st->base_term;
	pthread_mutex_unlock(&st->mu);
	return v;
}

uint64_t storage_size(struct storage *st)
{
	uint64_t v;

	pthread_mutex_lock(&st->mu);
	v = st->end;
	pthread_mutex_unlock(&st->mu);
	return v;
}

static const struct errtab storage_errtab[] = {
    {STORAGE_OK, "ok"},
    {STORAGE_EIO, "storage I/O failure (fatal)"},
    {STORAGE_ECORRUPT, "corrupt data dir"},
    {STORAGE_EINVAL, "invalid argument"},
    {STORAGE_ENOMEM, "out of memory"},
    {STORAGE_EBUSY, "data dir in use"},
};

const char *storage_strerror(int rv)
{
	return ERRTAB_LOOKUP(storage_errtab, rv, "unknown storage error");
}
