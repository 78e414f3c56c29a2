/* snapshot.c: writing, loading and installing snapshot files
 * (snapshot.h). */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "crc32c.h"
#include "sm.h"

#define WRITE_BUF (64u * 1024u)
#define READ_BUF (256u * 1024u)

uint32_t snapshot_nodes(const struct config *cfg, struct snapfile_node *out)
{
	uint32_t i;

	for (i = 0; i < cfg->n_nodes && i < SNAPFILE_MAX_NODES; i++) {
		out[i].id = cfg->nodes[i].id;
		out[i].flags = SNAPFILE_NODE_VOTER;
		snprintf(out[i].address, sizeof(out[i].address), "%s",
			 cfg->nodes[i].address);
		snprintf(out[i].peer_address, sizeof(out[i].peer_address), "%s",
			 cfg->nodes[i].peer_address);
	}
	return i;
}

/* ---- writing ------------------------------------------------------------ */

/* The body goes out through a buffer, summed as it goes; the header is
 * written last, at offset 0, once the body's length is known. */
struct writer {
	int fd;
	uint64_t off; /* file offset of buf[0] */
	size_t len;
	uint32_t crc;
	uint64_t body;
	bool failed;
	uint8_t buf[WRITE_BUF];
};

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int writer_flush(struct writer *w)
{
	if (w->failed)
		return -1;
	if (w->len > 0 && write_all(w->fd, w->buf, w->len, w->off) < 0) {
		w->failed = true;
		return -1;
	}
	w->off += w->len;
	w->len = 0;
	return 0;
}

static int writer_put(void *arg, const void *p, size_t n)
{
	struct writer *w = arg;
	const uint8_t *b = p;

	w->crc = crc32c(w->crc, b, n);
	w->body += n;
	while (n > 0) {
		size_t k = WRITE_BUF - w->len < n ? WRITE_BUF - w->len : n;
		memcpy(w->buf + w->len, b, k);
		w->len += k;
		b += k;
		n -= k;
		if (w->len == WRITE_BUF && writer_flush(w) < 0)
			return -1;
	}
	return 0;
}

/* The state machine's bytes come either from sm_save on a frozen sm, or
 * from a copy taken earlier (snapshot_copy). */
static int put_state(struct writer *w, const struct sm *sm,
		     const struct snapshot_copy *copy)
{
	if (copy != NULL)
		return writer_put(w, copy->buf, copy->len);
	return sm_save(sm, writer_put, w) == 0 ? 0 : -1;
}

static int write_file(int fd, const struct sm *sm,
		      const struct snapshot_copy *copy, uint64_t index,
		      uint64_t term, const struct snapfile_node *nodes,
		      uint32_t n_nodes);

int snapshot_write_fd(int fd, const struct sm *sm, uint64_t index,
		      uint64_t term, const struct snapfile_node *nodes,
		      uint32_t n_nodes)
{
	return write_file(fd, sm, NULL, index, term, nodes, n_nodes);
}

static int write_file(int fd, const struct sm *sm,
		      const struct snapshot_copy *copy, uint64_t index,
		      uint64_t term, const struct snapfile_node *nodes,
		      uint32_t n_nodes)
{
	uint8_t
	    cfgbuf[4 + SNAPFILE_MAX_NODES * (17 + 2 * SNAPFILE_ADDRESS_MAX)];
	uint8_t hdr[SNAPFILE_HEADER_SIZE], tail[SNAPFILE_TRAILER_SIZE];
	struct writer *w = calloc(1, sizeof(*w));
	size_t clen;
	int rv = -1;

	if (w == NULL)
		return -1;
	w->fd = fd;
	w->off = SNAPFILE_HEADER_SIZE;
	if (ftruncate(fd, 0) < 0)
		goto out;
	clen = snapfile_config_encode(cfgbuf, sizeof(cfgbuf), nodes, n_nodes);
	if (clen > sizeof(cfgbuf)) {
		errno = EINVAL;
		goto out;
	}
	if (writer_put(w, cfgbuf, clen) < 0 || put_state(w, sm, copy) < 0 ||
	    writer_flush(w) < 0)
		goto out;
	bytes_put_u32(tail, w->crc);
	if (write_all(fd, tail, sizeof(tail), w->off) < 0)
		goto out;
	snapfile_header_encode(hdr, index, term, w->body);
	if (write_all(fd, hdr, sizeof(hdr), 0) < 0)
		goto out;
	rv = fdatasync(fd);
out:
	free(w);
	return rv;
}

static char *path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int snapshot_start(const char *dir, const struct sm *sm, uint64_t index,
		   uint64_t term, const struct snapfile_node *nodes, uint32_t n,
		   struct snapshot_job *job, char *err, size_t errlen)
{
	char *tmp = path_in(dir, SNAPSHOT_TMP);
	pid_t parent = getpid(), pid;
	uint64_t t0;
	int fd = -1, rv = -1;

	memset(job, 0, sizeof(*job));
	if (tmp == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	t0 = mono_ns();
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (pid == 0) {
		/* The child: one thread, a frozen copy of the state machine.
		 * It keeps no descriptor but its file (not the data dir's
		 * lock, the listeners or the peers' sockets), dies with the
		 * parent, and leaves by _exit (no atexit handlers, no stdio
		 * buffers of the parent's flushed twice). */
		if (fd != 3) {
			if (dup2(fd, 3) < 0)
				_exit(2);
			fd = 3;
		}
		close_range(0, 2, 0);
		close_range(4, ~0u, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(3);
		_exit(snapshot_write_fd(fd, sm, index, term, nodes, n) == 0
			  ? 0
			  : 1);
	}
	job->fork_ns = mono_ns() - t0;
	job->pid = pid;
	job->index = index;
	job->term = term;
	rv = 0;
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	return rv;
}

/* ---- the copy path --------------------------------------------------- */

static int copy_put(void *arg, const void *p, size_t n)
{
	struct snapshot_copy *c = arg;

	if (n > SNAPSHOT_COPY_MAX - c->len)
		return -1; /* too big: the caller forks instead */
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 64u * 1024u;
		uint8_t *nb;

		while (cap < c->len + n)
			cap *= 2;
		nb = realloc(c->buf, cap);
		if (nb == NULL)
			return -1;
		c->buf = nb;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	return 0;
}

int snapshot_copy(const struct sm *sm, struct snapshot_copy *c)
{
	struct sm_stats st;

	memset(c, 0, sizeof(*c));
	sm_stats(sm, &st);
	/* The keys and values alone say when a copy cannot fit; the tids
	 * and records may still make it too big, found while copying. */
	if (st.kv_bytes >= SNAPSHOT_COPY_MAX)
		return -1;
	if (sm_save(sm, copy_put, c) != 0) {
		snapshot_copy_free(c);
		return -1;
	}
	return 0;
}

void snapshot_copy_free(struct snapshot_copy *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

int snapshot_write_copy(const char *dir, const struct snapshot_copy *c,
			uint64_t index, uint64_t term,
			const struct snapfile_node *nodes, uint32_t n,
			char *err, size_t errlen)
{
	char *tmp = path_in(dir, SNAPSHOT_TMP);
	int fd = -1, rv = -1;

	if (tmp == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_file(fd, NULL, c, index, term, nodes, n) != 0) {
		snprintf(err, errlen,
			 "writing %s: %s (is the data dir's disk "
			 "full?)",
			 tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rv = 0;
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	return rv;
}

void snapshot_wait(const struct snapshot_job *job)
{
	siginfo_t info;

	if (job->pid <= 0)
		return;
	while (waitid(P_PID, (id_t)job->pid, &info, WEXITED | WNOWAIT) < 0 &&
	       errno == EINTR)
		;
}

int snapshot_finish(const char *dir, struct snapshot_job *job, char *err,
		    size_t errlen)
{
	char *tmp = path_in(dir, SNAPSHOT_TMP);
	int status = 0, rv = -1;
	pid_t w;

	if (job->pid <= 0) {
		snprintf(err, errlen, "no snapshot being written");
		goto out;
	}
	do
		w = waitpid(job->pid, &status, 0);
	while (w < 0 && errno == EINTR);
	job->pid = 0;
	if (w < 0) {
		snprintf(err, errlen, "waitpid: %s", strerror(errno));
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rv = 0;
		goto out;
	}
	if (WIFSIGNALED(status))
		snprintf(err, errlen, "the snapshot writer died of signal %d",
			 WTERMSIG(status));
	else
		snprintf(err, errlen,
			 "the snapshot writer failed (exit status %d): is the "
			 "data dir's disk full?",
			 WEXITSTATUS(status));
out:
	if (rv != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	return rv;
}

int snapshot_commit(const char *dir, const char *name, char *err, size_t errlen)
{
	char *from = path_in(dir, name), *to = path_in(dir, SNAPSHOT_FILE);
	int dfd = -1, rv = -1;

	if (from == NULL || to == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (rename(from, to) < 0) {
		snprintf(err, errlen, "rename %s to %s: %s", from, to,
			 strerror(errno));
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		snprintf(err, errlen, "fsync of %s: %s", dir, strerror(errno));
		goto out;
	}
	rv = 0;
out:
	if (dfd >= 0)
		close(dfd);
	free(from);
	free(to);
	return rv;
}

/* ---- loading ------------------------------------------------------------ */

struct reader {
	int fd;
	uint64_t left; /* of the state machine's bytes */
	uint8_t *buf;
	size_t pos, len;
	bool failed;
};

static int reader_get(void *arg, void *p, size_t n)
{
	struct reader *r = arg;
	uint8_t *out = p;

	if (n > r->left)
		return -1;
	while (n > 0) {
		size_t k;
		if (r->pos == r->len) {
			size_t want =
			    r->left < READ_BUF ? (size_t)r->left : READ_BUF;
			ssize_t got;
			do
				got = read(r->fd, r->buf, want);
			while (got < 0 && errno == EINTR);
			if (got <= 0) {
				r->failed = true;
				return -1;
			}
			r->pos = 0;
			r->len = (size_t)got;
		}
		k = r->len - r->pos < n ? r->len - r->pos : n;
		memcpy(out, r->buf + r->pos, k);
		r->pos += k;
		r->left -= k;
		out += k;
		n -= k;
	}
	return 0;
}

int snapshot_load(const char *path, struct snapfile_meta *meta, struct sm **smp,
		  char *err, size_t errlen)
{
	struct reader r;
	const char *why = NULL;
	int fd, rv;

	*smp = NULL;
	memset(&r, 0, sizeof(r));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? SNAPFILE_ENOENT : SNAPFILE_EIO;
	}
	rv = snapfile_verify(fd, meta, err, errlen);
	if (rv != SNAPFILE_OK)
		goto out;
	rv = SNAPFILE_EIO;
	if (lseek(fd, (off_t)meta->sm_offset, SEEK_SET) < 0) {
		snprintf(err, errlen, "%s: seek: %s", path, strerror(errno));
		goto out;
	}
	r.fd = fd;
	r.left = meta->sm_len;
	r.buf = malloc(READ_BUF);
	if (r.buf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (sm_load(smp, reader_get, &r, &why) != 0) {
		snprintf(err, errlen, "%s: %s", path,
			 r.failed ? "read failed" : why);
		rv = r.failed ? SNAPFILE_EIO : SNAPFILE_ECORRUPT;
		goto out;
	}
	if (sm_last_applied(*smp) != meta->index) {
		snprintf(err, errlen,
			 "%s: the state machine was applied up to %llu, the "
			 "header says %llu",
			 path, (unsigned long long)sm_last_applied(*smp),
			 (unsigned long long)meta->index);
		sm_free(*smp);
		*smp = NULL;
		rv = SNAPFILE_ECORRUPT;
		goto out;
	}
	rv = SNAPFILE_OK;
out:
	free(r.buf);
	close(fd);
	return rv;
}

void snapshot_cleanup(const char *dir)
{
	static const char *const names[] = {SNAPSHOT_TMP, SNAPSHOT_RECV};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = path_in(dir, names[i]);
		if (p != NULL)
			unlink(p);
		free(p);
	}
}
