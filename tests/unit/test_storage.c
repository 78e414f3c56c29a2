/* test_storage.c: unit tests of the daemon's durable store (recovery,
 * truncation, term/vote slots, group commit). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "raftlog.h"
#include "storage.h"
#include "tests/lib/check.h"

/* A storage call's result, named by storage_strerror() on failure. */
#define CHECK_RV(expr, want) check_rv((expr), (want), #expr, __LINE__)

static void check_rv(int rv, int want, const char *expr, int line)
{
	check_at(rv == want, __FILE__, line, "%s returned %d (%s), expected %d",
		 expr, rv, storage_strerror(rv), want);
}

static char tmpdir[4096];

/* Collects what storage_open() logs. */
static char logbuf[16384];

static void log_cb(void *arg, const char *msg)
{
	(void)arg;
	size_t n = strlen(logbuf);
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static struct storage *open_ok(const char *dir)
{
	struct storage *st = NULL;
	char err[2048];
	int rv;

	rv = storage_open(dir, log_cb, NULL, &st, err, sizeof(err));
	if (rv != STORAGE_OK)
		fprintf(stderr, "storage_open(%s): %s\n", dir, err);
	CHECK(rv == STORAGE_OK && st != NULL);
	return st;
}

/* The payload of entry `index` in these tests. */
static uint32_t payload_of(uint64_t index, uint8_t *buf, uint32_t cap)
{
	uint32_t len = (uint32_t)((index * 37) % 300);

	if (len > cap)
		len = cap;
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(index + i * 7);
	return len;
}

static uint64_t term_of(uint64_t index) { return 1 + index / 10; }

static void append_range(struct storage *st, uint64_t from, uint64_t to,
			 uint64_t (*term)(uint64_t))
{
	uint8_t buf[512];
	uint64_t ticket = 0;

	for (uint64_t i = from; i <= to; i++) {
		uint32_t len = payload_of(i, buf, sizeof(buf));
		CHECK_RV(storage_append(st, i, term(i), (uint8_t)(i % 3), buf,
					len, &ticket),
			 STORAGE_OK);
	}
	CHECK_RV(storage_sync(st, ticket), STORAGE_OK);
}

struct verify {
	uint64_t next;
	uint64_t (*term)(uint64_t);
};

static int verify_cb(void *arg, const struct raftlog_entry *e)
{
	struct verify *v = arg;
	uint8_t buf[512];
	uint32_t len = payload_of(e->index, buf, sizeof(buf));

	CHECK(e->index == v->next);
	CHECK(e->term == v->term(e->index));
	CHECK(e->type == (uint8_t)(e->index % 3));
	CHECK(e->len == len && memcmp(e->data, buf, len) == 0);
	v->next++;
	return 0;
}

/* The log holds exactly entries 1..last as append_range() wrote them. */
static void verify_log(struct storage *st, uint64_t last,
		       uint64_t (*term)(uint64_t))
{
	struct verify v = {.next = 1, .term = term};

	CHECK(storage_first_index(st) == 1);
	CHECK(storage_last_index(st) == last);
	CHECK(storage_entry_count(st) == last);
	CHECK(storage_last_term(st) == (last ? term(last) : 0));
	CHECK_RV(storage_for_each_entry(st, verify_cb, &v), STORAGE_OK);
	CHECK(v.next == last + 1);
	for (uint64_t i = 1; i <= last; i++)
		CHECK(storage_term_at(st, i) == term(i));
	CHECK(storage_term_at(st, 0) == 0);
	CHECK(storage_term_at(st, last + 1) == 0);
}

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static uint8_t *read_all(const char *path, size_t *len)
{
	struct stat sb;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	CHECK(fstat(fd, &sb) == 0);
	b = malloc((size_t)sb.st_size + 1);
	CHECK(b != NULL);
	CHECK(read(fd, b, (size_t)sb.st_size) == sb.st_size);
	close(fd);
	*len = (size_t)sb.st_size;
	return b;
}

static void write_all(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	CHECK(write(fd, p, n) == (ssize_t)n);
	CHECK(close(fd) == 0);
}

static off_t file_size(const char *path)
{
	struct stat sb;

	CHECK(stat(path, &sb) == 0);
	return sb.st_size;
}

/* Offsets of every record in a raftlog file, via the read-only scan. */
struct offs {
	uint64_t off[256];
	size_t n;
};

static int offs_entry(void *arg, const struct raftlog_entry *e, uint64_t o)
{
	struct offs *s = arg;

	(void)e;
	s->off[s->n++] = o;
	return 0;
}

static void record_offsets(const char *path, struct offs *s)
{
	struct raftlog_scan_ops ops = {.entry = offs_entry, .arg = s};
	struct raftlog_scan_result res;
	char err[2048];

	s->n = 0;
	CHECK(raftlog_scan_file(path, &ops, &res, err, sizeof(err)) ==
	      RAFTLOG_OK);
	CHECK(!res.torn);
}

/* ---- tests -------------------------------------------------------------- */

static void test_basic(void)
{
	char dir[4200], f[4300], err[2048];
	struct storage *st, *st2 = NULL;
	uint64_t term;
	uint32_t vote;

	/* The data dir and its parents are created. */
	snprintf(dir, sizeof(dir), "%s/basic/a/b", tmpdir);
	logbuf[0] = '\0';
	st = open_ok(dir);
	CHECK(strstr(logbuf, "created empty log") != NULL);
	path_in(f, sizeof(f), dir, "raftlog");
	CHECK(file_size(f) == RAFTLOG_HEADER_SIZE);
	verify_log(st, 0, term_of);
	storage_hard_state(st, &term, &vote);
	CHECK(term == 0 && vote == 0);

	/* A second opener is refused while the first holds the dir. */
	CHECK_RV(storage_open(dir, log_cb, NULL, &st2, err, sizeof(err)),
		 STORAGE_EBUSY);
	CHECK(st2 == NULL && strstr(err, "in use") != NULL);

	append_range(st, 1, 50, term_of);
	verify_log(st, 50, term_of);

	/* Bad appends change nothing. */
	off_t size = file_size(f);
	uint8_t x = 1;
	CHECK_RV(storage_append(st, 52, 6, 0, &x, 1, NULL), STORAGE_EINVAL);
	CHECK_RV(storage_append(st, 50, 6, 0, &x, 1, NULL), STORAGE_EINVAL);
	CHECK_RV(storage_append(st, 51, 5, 0, &x, 1, NULL), STORAGE_EINVAL);
	CHECK_RV(storage_append(st, 51, 0, 0, &x, 1, NULL), STORAGE_EINVAL);
	CHECK_RV(
	    storage_append(st, 51, 6, 0, &x, RAFTLOG_MAX_PAYLOAD + 1, NULL),
	    STORAGE_EINVAL);
	CHECK(file_size(f) == size);
	CHECK(storage_last_index(st) == 50);

	storage_close(st);
	st = open_ok(dir);
	verify_log(st, 50, term_of);

	/* Batches: one write, consecutive indexes enforced. */
	uint8_t bufs[3][512];
	struct raftlog_entry es[3];
	for (int i = 0; i < 3; i++) {
		es[i].index = 51 + (uint64_t)i;
		es[i].term = term_of(es[i].index);
		es[i].type = (uint8_t)(es[i].index % 3);
		es[i].len = payload_of(es[i].index, bufs[i], 512);
		es[i].data = bufs[i];
	}
	struct storage_stats s0, s1;
	storage_get_stats(st, &s0);
	uint64_t ticket = 0;
	es[1].index = 60;
	CHECK_RV(storage_append_entries(st, es, 3, &ticket), STORAGE_EINVAL);
	es[1].index = 52;
	CHECK_RV(storage_append_entries(st, es, 3, &ticket), STORAGE_OK);
	storage_get_stats(st, &s1);
	CHECK(s1.records == s0.records + 1);
	CHECK(storage_synced_ticket(st) < ticket);
	CHECK_RV(storage_sync(st, ticket), STORAGE_OK);
	CHECK(storage_synced_ticket(st) >= ticket);
	CHECK_RV(storage_sync(st, ticket), STORAGE_OK); /* no new fsync */
	storage_get_stats(st, &s0);
	CHECK(s0.log_syncs == s1.log_syncs + 1);
	verify_log(st, 53, term_of);

	/* The full 1 MiB payload fits. */
	uint8_t *big = calloc(1, RAFTLOG_MAX_PAYLOAD);
	CHECK(big != NULL);
	big[RAFTLOG_MAX_PAYLOAD - 1] = 9;
	CHECK_RV(storage_append(st, 54, term_of(54), 0, big,
				RAFTLOG_MAX_PAYLOAD, &ticket),
		 STORAGE_OK);
	CHECK_RV(storage_truncate(st, 54), STORAGE_OK);
	free(big);
	verify_log(st, 53, term_of);
	storage_close(st);
}

static uint64_t term_after_truncate(uint64_t index)
{
	return index < 30 ? term_of(index) : 9;
}

static void test_truncate(void)
{
	char dir[4200], f[4300];
	struct storage *st;
	struct raftlog_scan_result res;
	char err[2048];
	uint64_t ticket;

	snprintf(dir, sizeof(dir), "%s/trunc", tmpdir);
	path_in(f, sizeof(f), dir, "raftlog");
	st = open_ok(dir);
	append_range(st, 1, 40, term_of);
	CHECK_RV(storage_append_commit(st, 35, &ticket), STORAGE_OK);
	CHECK_RV(storage_append_commit(st, 38, &ticket), STORAGE_OK);
	CHECK_RV(storage_sync(st, ticket), STORAGE_OK);
	CHECK(raftlog_scan_file(f, NULL, &res, err, sizeof(err)) == RAFTLOG_OK);
	CHECK(res.max_commit == 38 && res.n_commits == 2);

	CHECK_RV(storage_truncate(st, 0), STORAGE_EINVAL);
	CHECK_RV(storage_truncate(st, 41), STORAGE_OK); /* nothing to do */
	CHECK(storage_last_index(st) == 40);
	CHECK_RV(storage_truncate(st, 30), STORAGE_OK);
	CHECK(storage_last_index(st) == 29);
	CHECK(storage_last_term(st) == term_of(29));
	/* The markers after entry 30 are gone with it. */
	CHECK(raftlog_scan_file(f, NULL, &res, err, sizeof(err)) == RAFTLOG_OK);
	CHECK(res.n_commits == 0 && res.last_index == 29);
	CHECK(storage_synced_ticket(st) > 0);

	/* A new leader's entries in a later term. */
	append_range(st, 30, 45, term_after_truncate);
	verify_log(st, 45, term_after_truncate);
	storage_close(st);
	st = open_ok(dir);
	verify_log(st, 45, term_after_truncate);

	/* Truncating everything leaves an empty log. */
	CHECK_RV(storage_truncate(st, 1), STORAGE_OK);
	verify_log(st, 0, term_of);
	CHECK(file_size(f) == RAFTLOG_HEADER_SIZE);
	storage_close(st);
	st = open_ok(dir);
	verify_log(st, 0, term_of);
	append_range(st, 1, 3, term_of);
	storage_close(st);
	st = open_ok(dir);
	verify_log(st, 3, term_of);
	storage_close(st);
}

/* Builds a log of entries 1..n in `dir` and returns its bytes. */
static uint8_t *make_log(const char *dir, uint64_t n, size_t *len,
			 struct offs *o)
{
	char f[4300];
	struct storage *st = open_ok(dir);

	append_range(st, 1, n, term_of);
	storage_close(st);
	path_in(f, sizeof(f), dir, "raftlog");
	record_offsets(f, o);
	CHECK(o->n == n);
	return read_all(f, len);
}

static void test_torn_tail(void)
{
	char dir[4200], f[4300], want[128];
	struct storage *st;
	struct offs o;
	size_t len, n_cuts = 0;
	uint8_t *orig;

	snprintf(dir, sizeof(dir), "%s/torn", tmpdir);
	path_in(f, sizeof(f), dir, "raftlog");
	/* Entry 12's payload is 144 bytes: a record of 184 bytes. */
	orig = make_log(dir, 12, &len, &o);
	uint64_t last = o.off[11];
	CHECK(len - last > 150);
	snprintf(want, sizeof(want), "dropped torn tail at offset %" PRIu64,
		 last);

	/* Cut at the record's start: a clean shorter log, nothing to say. */
	write_all(f, orig, last);
	logbuf[0] = '\0';
	st = open_ok(dir);
	CHECK(strstr(logbuf, "torn") == NULL);
	verify_log(st, 11, term_of);
	storage_close(st);

	/* Every byte offset inside the last record. */
	for (size_t cut = last + 1; cut < len; cut++) {
		write_all(f, orig, cut);
		logbuf[0] = '\0';
		st = open_ok(dir);
		CHECK(strstr(logbuf, want) != NULL);
		verify_log(st, 11, term_of);
		CHECK(file_size(f) == (off_t)last);
		/* and the node goes on appending after the cut */
		append_range(st, 12, 12, term_of);
		storage_close(st);
		CHECK(file_size(f) == (off_t)len);
		n_cuts++;
	}
	CHECK(n_cuts == len - last - 1);

	/* A checksum mismatch in the final record (every byte of it). */
	for (size_t i = last; i < len; i++) {
		orig[i] ^= 0xa5;
		write_all(f, orig, len);
		logbuf[0] = '\0';
		st = open_ok(dir);
		CHECK(strstr(logbuf, want) != NULL);
		verify_log(st, 11, term_of);
		storage_close(st);
		orig[i] ^= 0xa5;
	}

	/* Garbage appended after the last record. */
	for (size_t g = 1; g <= 600; g = g * 3 + 1) {
		uint8_t *b = malloc(len + g);
		CHECK(b != NULL);
		memcpy(b, orig, len);
		for (size_t i = 0; i < g; i++)
			b[len + i] = (uint8_t)(i * 151 + 7);
		write_all(f, b, len + g);
		free(b);
		logbuf[0] = '\0';
		st = open_ok(dir);
		snprintf(want, sizeof(want),
			 "dropped torn tail at offset %zu (%zu bytes)", len, g);
		CHECK(strstr(logbuf, want) != NULL);
		verify_log(st, 12, term_of);
		CHECK(file_size(f) == (off_t)len);
		storage_close(st);
	}

	/* The last 512 bytes zeroed (a sector that never reached the disk),
	 * and other sizes whose start falls inside a record: every record
	 * that ends before the zeros survives. */
	const size_t zeros[] = {512, 300, 1000};
	for (size_t z = 0; z < sizeof(zeros) / sizeof(zeros[0]); z++) {
		uint8_t *b = malloc(len);
		CHECK(b != NULL);
		memcpy(b, orig, len);
		memset(b + len - zeros[z], 0, zeros[z]);
		write_all(f, b, len);
		uint64_t keep = 0;
		while (keep < 12 && (keep + 1 < 12 ? o.off[keep + 1] : len) <=
					len - zeros[z])
			keep++;
		CHECK(keep >= 4 && keep < 12);
		logbuf[0] = '\0';
		st = open_ok(dir);
		snprintf(want, sizeof(want),
			 "dropped torn tail at offset %" PRIu64, o.off[keep]);
		CHECK(strstr(logbuf, want) != NULL);
		verify_log(st, keep, term_of);
		storage_close(st);
		free(b);
	}
	free(orig);
}

static void test_middle_corruption(void)
{
	char dir[4200], f[4300], err[4096], want_off[64];
	struct storage *st = NULL;
	struct offs o;
	size_t len, len2;
	uint8_t *orig;
	unsigned tried = 0;

	snprintf(dir, sizeof(dir), "%s/middle", tmpdir);
	path_in(f, sizeof(f), dir, "raftlog");
	orig = make_log(dir, 10, &len, &o);
	/* Entry 5 (payload 185 bytes). */
	uint64_t start = o.off[4], end = o.off[5];
	snprintf(want_off, sizeof(want_off), "offset %" PRIu64, start);

	for (uint64_t i = start; i < end; i++) {
		orig[i] ^= 0x3c;
		write_all(f, orig, len);
		logbuf[0] = '\0';
		CHECK_RV(storage_open(dir, log_cb, NULL, &st, err, sizeof(err)),
			 STORAGE_ECORRUPT);
		CHECK(st == NULL);
		CHECK(strstr(err, f) != NULL);
		CHECK(strstr(err, want_off) != NULL);
		CHECK(strstr(err, "entry index 5") != NULL);
		CHECK(strstr(err, "healthy node") != NULL);
		CHECK(strstr(logbuf, "torn") == NULL);
		/* Never a silent truncation: the file is as it was. */
		uint8_t *now = read_all(f, &len2);
		CHECK(len2 == len && memcmp(now, orig, len) == 0);
		free(now);
		orig[i] ^= 0x3c;
		tried++;
	}
	CHECK(tried == end - start);
	if (getenv("VERBOSE"))
		printf("middle corruption message: %s\n", err);

	/* Repaired, it opens again. */
	write_all(f, orig, len);
	st = open_ok(dir);
	verify_log(st, 10, term_of);
	storage_close(st);
	free(orig);
}

/* Raw files with valid checksums but broken rules. */
static void test_bad_rules(void)
{
	char dir[4200], f[4300], err[4096];
	struct storage *st = NULL;
	uint8_t buf[4096];
	size_t pos, used;
	uint8_t pl[4] = {1, 2, 3, 4};

	snprintf(dir, sizeof(dir), "%s/rules", tmpdir);
	CHECK(mkdir(dir, 0755) == 0);
	path_in(f, sizeof(f), dir, "raftlog");

	/* Non-consecutive indexes. */
	raftlog_encode_header(buf, 1);
	pos = RAFTLOG_HEADER_SIZE;
	const uint64_t idx[] = {1, 2, 4}, terms[] = {1, 1, 1};
	for (int i = 0; i < 3; i++) {
		struct raftlog_entry e = {
		    .index = idx[i], .term = terms[i], .len = 4, .data = pl};
		CHECK(raftlog_encode_entry(buf + pos, sizeof(buf) - pos, &e,
					   &used) == RAFTLOG_OK);
		pos += used;
	}
	write_all(f, buf, pos);
	CHECK_RV(storage_open(dir, log_cb, NULL, &st, err, sizeof(err)),
		 STORAGE_ECORRUPT);
	CHECK(strstr(err, "consecutive") != NULL);
	CHECK(file_size(f) == (off_t)pos);

	/* Decreasing terms. */
	pos = RAFTLOG_HEADER_SIZE;
	const uint64_t terms2[] = {2, 3, 1};
	for (int i = 0; i < 3; i++) {
		struct raftlog_entry e = {.index = (uint64_t)i + 1,
					  .term = terms2[i],
					  .len = 4,
					  .data = pl};
		CHECK(raftlog_encode_entry(buf + pos, sizeof(buf) - pos, &e,
					   &used) == RAFTLOG_OK);
		pos += used;
	}
	write_all(f, buf, pos);
	CHECK_RV(storage_open(dir, log_cb, NULL, &st, err, sizeof(err)),
		 STORAGE_ECORRUPT);
	CHECK(strstr(err, "never decrease") != NULL);
	CHECK(strstr(err, "entry index 3") != NULL);

	/* Bad magic, future version. */
	memcpy(buf, "NOTALOG!", 8);
	write_all(f, buf, pos);
	CHECK_RV(storage_open(dir, log_cb, NULL, &st, err, sizeof(err)),
		 STORAGE_ECORRUPT);
	CHECK(strstr(err, "magic") != NULL);
	write_all(f, buf, 0);
	CHECK_RV(storage_open(dir, log_cb, NULL, &st, err, sizeof(err)),
		 STORAGE_ECORRUPT);
	CHECK(file_size(f) == 0);

	/* The data dir is a file. */
	CHECK_RV(storage_open(f, log_cb, NULL, &st, err, sizeof(err)),
		 STORAGE_EIO);
	CHECK(st == NULL);
}

static void test_hard_state(void)
{
	char dir[4200], m1[4300], m2[4300], err[4096];
	struct storage *st = NULL;
	uint64_t term;
	uint32_t vote;

	snprintf(dir, sizeof(dir), "%s/meta", tmpdir);
	path_in(m1, sizeof(m1), dir, "meta1");
	path_in(m2, sizeof(m2), dir, "meta2");
	st = open_ok(dir);
	CHECK(file_size(m1) == 0 && file_size(m2) == 0);
	CHECK_RV(storage_set_hard_state(st, 5, 2), STORAGE_OK); /* meta1 */
	storage_hard_state(st, &term, &vote);
	CHECK(term == 5 && vote == 2);
	storage_close(st);
	st = open_ok(dir);
	storage_hard_state(st, &term, &vote);
	CHECK(term == 5 && vote == 2);
	CHECK_RV(storage_set_hard_state(st, 6, 0), STORAGE_OK); /* meta2 */
	CHECK_RV(storage_set_hard_state(st, 6, 3), STORAGE_OK); /* meta1 */
	CHECK_RV(storage_set_hard_state(st, 7, 1), STORAGE_OK); /* meta2 */
	struct storage_stats s;
	storage_get_stats(st, &s);
	CHECK(s.meta_syncs == 3);
	storage_close(st);
	CHECK(file_size(m1) == 48 && file_size(m2) == 48);

	/* The newer slot (meta2, term 7) is damaged: meta1 wins. */
	size_t len;
	uint8_t *b = read_all(m2, &len);
	b[25] ^= 0x40;
	write_all(m2, b, len);
	logbuf[0] = '\0';
	st = open_ok(dir);
	storage_hard_state(st, &term, &vote);
	CHECK(term == 6 && vote == 3);
	CHECK(strstr(logbuf, "meta2 is invalid (checksum mismatch)") != NULL);
	/* The next write goes over the damaged slot. */
	CHECK_RV(storage_set_hard_state(st, 8, 2), STORAGE_OK);
	storage_close(st);
	logbuf[0] = '\0';
	st = open_ok(dir);
	storage_hard_state(st, &term, &vote);
	CHECK(term == 8 && vote == 2);
	CHECK(strstr(logbuf, "invalid") == NULL);
	storage_close(st);

	/* A torn write of the newer slot (half of it) falls back too. */
	write_all(m2, b, 20);
	st = open_ok(dir);
	storage_hard_state(st, &term, &vote);
	CHECK(term == 6 && vote == 3);
	storage_close(st);

	/* Both damaged: refuse to start, touch nothing. */
	uint8_t *a = read_all(m1, &len);
	a[30] ^= 1;
	write_all(m1, a, len);
	CHECK_RV(storage_open(dir, log_cb, NULL, &st, err, sizeof(err)),
		 STORAGE_ECORRUPT);
	CHECK(strstr(err, "vote twice") != NULL);
	CHECK(file_size(m2) == 20);
	free(a);
	free(b);

	/* Zeroed slots (a file created, never written) are empty. */
	uint8_t zero[48] = {0};
	write_all(m1, zero, sizeof(zero));
	write_all(m2, zero, 0);
	st = open_ok(dir);
	storage_hard_state(st, &term, &vote);
	CHECK(term == 0 && vote == 0);
	storage_close(st);
}

/* ---- group commit ----------------------------------------------------- */

#define GC_THREADS 8
#define GC_PER_THREAD 200

struct gc {
	struct storage *st;
	pthread_mutex_t mu; /* hands out indexes in append order */
	uint64_t next_index;
	int id;
};

struct gc_thread {
	struct gc *g;
	int id;
	int rv;
};

static void *gc_run(void *arg)
{
	struct gc_thread *t = arg;
	struct gc *g = t->g;

	t->rv = 0;
	for (int k = 0; k < GC_PER_THREAD && t->rv == 0; k++) {
		uint8_t payload[8] = {(uint8_t)t->id, (uint8_t)k,
				      (uint8_t)(k >> 8)};
		uint64_t ticket;
		/* The daemon appends in log order from its own thread; here
		 * a test lock plays that role, and only the sync, which is
		 * what group commit is about, runs concurrently. */
		pthread_mutex_lock(&g->mu);
		t->rv = storage_append(g->st, g->next_index, 1, 1, payload,
				       sizeof(payload), &ticket);
		g->next_index++;
		pthread_mutex_unlock(&g->mu);
		if (t->rv == 0)
			t->rv = storage_sync(g->st, ticket);
	}
	return NULL;
}

/* Models a disk whose fdatasync takes 1 ms, so the test does not depend
 * on how fast the test machine's tmpfs or SSD is. */
static int slow_disk(void *arg)
{
	struct timespec ts = {0, 1000000};

	(void)arg;
	nanosleep(&ts, NULL);
	return 0;
}

struct gc_check {
	int seen[GC_THREADS];
	uint64_t next;
};

static int gc_check_cb(void *arg, const struct raftlog_entry *e)
{
	struct gc_check *c = arg;

	CHECK(e->index == c->next++);
	CHECK(e->len == 8 && e->data[0] < GC_THREADS);
	int id = e->data[0];
	int k = e->data[1] | e->data[2] << 8;
	/* Each thread's entries appear in its own order. */
	CHECK(k == c->seen[id]);
	c->seen[id]++;
	return 0;
}

static uint64_t group_commit_run(const char *name, bool slow)
{
	char dir[4200];
	struct gc g = {.next_index = 1};
	struct gc_thread th[GC_THREADS];
	pthread_t tid[GC_THREADS];
	struct storage_stats s;
	struct gc_check c = {.next = 1};

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
	pthread_mutex_init(&g.mu, NULL);
	g.st = open_ok(dir);
	if (slow)
		storage_set_sync_hook(g.st, slow_disk, NULL);
	for (int i = 0; i < GC_THREADS; i++) {
		th[i].g = &g;
		th[i].id = i;
		CHECK(pthread_create(&tid[i], NULL, gc_run, &th[i]) == 0);
	}
	for (int i = 0; i < GC_THREADS; i++) {
		CHECK(pthread_join(tid[i], NULL) == 0);
		CHECK_RV(th[i].rv, STORAGE_OK);
	}
	storage_get_stats(g.st, &s);
	CHECK(s.records == GC_THREADS * GC_PER_THREAD);
	CHECK(s.log_syncs <= GC_THREADS * GC_PER_THREAD);
	storage_close(g.st);

	g.st = open_ok(dir);
	CHECK(storage_last_index(g.st) == GC_THREADS * GC_PER_THREAD);
	CHECK_RV(storage_for_each_entry(g.st, gc_check_cb, &c), STORAGE_OK);
	for (int i = 0; i < GC_THREADS; i++)
		CHECK(c.seen[i] == GC_PER_THREAD);
	storage_close(g.st);
	pthread_mutex_destroy(&g.mu);
	return s.log_syncs;
}

static void test_group_commit(void)
{
	uint64_t slow = group_commit_run("gc-slow", true);
	uint64_t fast = group_commit_run("gc-fast", false);

	/* With a 1 ms fsync, each sync covers the appends of every thread
	 * that arrived meanwhile: far fewer syncs than appends. */
	CHECK(slow < GC_THREADS * GC_PER_THREAD / 3);
	printf("group commit: %d appends+syncs from %d threads: %" PRIu64
	       " fdatasyncs with a 1 ms disk, %" PRIu64 " on this disk\n",
	       GC_THREADS * GC_PER_THREAD, GC_THREADS, slow, fast);
}

/* ---- sync without waiting ------------------------------------------------ */

/* A disk whose fdatasync blocks until the test opens the gate. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int entered; /* fdatasyncs that reached the hook */
	bool open;
};

static int gated_disk(void *arg)
{
	struct gate *g = arg;

	pthread_mutex_lock(&g->mu);
	g->entered++;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return 0;
}

struct nowait_syncer {
	struct storage *st;
	uint64_t ticket;
	struct storage_sync_result res;
	int rv;
};

static void *nowait_syncer_run(void *arg)
{
	struct nowait_syncer *a = arg;

	a->rv = storage_sync_nowait(a->st, a->ticket, &a->res);
	return NULL;
}

static void test_sync_nowait(void)
{
	char dir[4200];
	struct gate g = {.open = false};
	struct nowait_syncer a = {0};
	struct storage_sync_result res;
	struct storage_stats s0, s1;
	pthread_t tid;
	uint64_t t2;
	uint8_t x = 9;

	snprintf(dir, sizeof(dir), "%s/nowait", tmpdir);
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	a.st = open_ok(dir);
	append_range(a.st, 1, 2, term_of); /* synced */
	CHECK_RV(storage_append(a.st, 3, term_of(3), 0, &x, 1, &t2),
		 STORAGE_OK);

	/* Nobody syncing: the caller runs the fdatasync and says what it
	 * covered. */
	CHECK_RV(storage_sync_nowait(a.st, t2, &res), STORAGE_OK);
	CHECK(res.ran && res.index == 3 && res.term == term_of(3));
	/* Already on disk: nothing to run, nothing to report. */
	CHECK_RV(storage_sync_nowait(a.st, UINT64_MAX, &res), STORAGE_OK);
	CHECK(!res.ran);

	/* A syncs entry 4 and is held inside its fdatasync. */
	storage_set_sync_hook(a.st, gated_disk, &g);
	CHECK_RV(storage_append(a.st, 4, term_of(4), 0, &x, 1, &a.ticket),
		 STORAGE_OK);
	storage_get_stats(a.st, &s0);
	CHECK(pthread_create(&tid, NULL, nowait_syncer_run, &a) == 0);
	pthread_mutex_lock(&g.mu);
	while (g.entered == 0)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);

	/* Entry 5 is written meanwhile; its nowait sync returns at once,
	 * leaving it to A. */
	CHECK_RV(storage_append(a.st, 5, term_of(5), 0, &x, 1, &t2),
		 STORAGE_OK);
	CHECK_RV(storage_sync_nowait(a.st, t2, &res), STORAGE_OK);
	CHECK(!res.ran);
	CHECK(storage_synced_ticket(a.st) < t2);

	pthread_mutex_lock(&g.mu);
	g.open = true;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	CHECK(pthread_join(tid, NULL) == 0);

	/* A ran a second fdatasync for entry 5 before returning, and
	 * reports both entries. */
	CHECK_RV(a.rv, STORAGE_OK);
	CHECK(storage_synced_ticket(a.st) >= t2);
	CHECK(a.res.ran && a.res.index == 5 && a.res.term == term_of(5));
	storage_get_stats(a.st, &s1);
	CHECK(s1.log_syncs == s0.log_syncs + 2);
	CHECK(g.entered == 2);
	storage_set_sync_hook(a.st, NULL, NULL);
	storage_close(a.st);
	pthread_cond_destroy(&g.cv);
	pthread_mutex_destroy(&g.mu);
}

/* ---- failures ----------------------------------------------------------- */

static int failing_disk(void *arg)
{
	(void)arg;
	return 1;
}

static void test_sync_failure(void)
{
	char dir[4200];
	struct storage *st;
	uint64_t ticket;
	uint8_t x = 7;

	snprintf(dir, sizeof(dir), "%s/fail", tmpdir);
	st = open_ok(dir);
	append_range(st, 1, 5, term_of);
	storage_set_sync_hook(st, failing_disk, NULL);
	CHECK_RV(storage_append(st, 6, term_of(6), 0, &x, 1, &ticket),
		 STORAGE_OK);
	logbuf[0] = '\0';
	CHECK_RV(storage_sync(st, ticket), STORAGE_EIO);
	CHECK(strstr(logbuf, "fdatasync") != NULL);
	/* Sticky: nothing more is accepted. */
	storage_set_sync_hook(st, NULL, NULL);
	CHECK_RV(storage_sync(st, ticket), STORAGE_EIO);
	CHECK_RV(storage_append(st, 7, term_of(7), 0, &x, 1, &ticket),
		 STORAGE_EIO);
	CHECK_RV(storage_append_commit(st, 1, &ticket), STORAGE_EIO);
	CHECK_RV(storage_truncate(st, 3), STORAGE_EIO);
	CHECK_RV(storage_set_hard_state(st, 3, 1), STORAGE_EIO);
	storage_close(st);
	/* A restart recovers what reached the file. */
	st = open_ok(dir);
	CHECK(storage_last_index(st) >= 5);
	storage_close(st);
}

/* ---- compaction ---------------------------------------------------------- */

/* The log holds exactly entries first..last as append_range() wrote them,
 * after a BASE of (first - 1, term(first - 1)). */
static void verify_range(struct storage *st, uint64_t first, uint64_t last,
			 uint64_t (*term)(uint64_t))
{
	struct verify v = {.next = first, .term = term};

	CHECK(storage_first_index(st) == first);
	CHECK(storage_last_index(st) == last);
	CHECK(storage_entry_count(st) == last + 1 - first);
	CHECK(storage_base_term(st) == (first > 1 ? term(first - 1) : 0));
	CHECK(storage_last_term(st) == term(last));
	CHECK_RV(storage_for_each_entry(st, verify_cb, &v), STORAGE_OK);
	CHECK(v.next == last + 1);
	for (uint64_t i = first; i <= last; i++)
		CHECK(storage_term_at(st, i) == term(i));
	if (first > 1)
		CHECK(storage_term_at(st, first - 1) == term(first - 1));
	if (first > 2)
		CHECK(storage_term_at(st, first - 2) == 0);
}

struct compact_race {
	struct storage *st;
	uint64_t from, to;
};

static void *append_run(void *arg)
{
	struct compact_race *c = arg;

	append_range(c->st, c->from, c->to, term_of);
	return NULL;
}

static void test_compact(void)
{
	char dir[4200], f[4300];
	struct storage *st;
	struct compact_race race;
	pthread_t t;

	snprintf(dir, sizeof(dir), "%s/compact", tmpdir);
	path_in(f, sizeof(f), dir, "raftlog");
	st = open_ok(dir);
	append_range(st, 1, 500, term_of);
	CHECK_RV(storage_append_commit(st, 450, NULL), STORAGE_OK);
	/* Below the first index: nothing to do; past the end: refused. */
	CHECK_RV(storage_compact(st, 0), STORAGE_OK);
	CHECK_RV(storage_compact(st, 501), STORAGE_EINVAL);
	CHECK_RV(storage_compact(st, 200), STORAGE_OK);
	verify_range(st, 201, 500, term_of);
	/* Appends go on after it, at the right offsets. */
	append_range(st, 501, 600, term_of);
	verify_range(st, 201, 600, term_of);
	/* A truncation still cuts at the right place. */
	CHECK_RV(storage_truncate(st, 551), STORAGE_OK);
	verify_range(st, 201, 550, term_of);
	CHECK_RV(storage_truncate(st, 200), STORAGE_EINVAL);
	storage_close(st);

	/* It survives a restart, and so does the BASE when the log is
	 * compacted to its very end. */
	st = open_ok(dir);
	verify_range(st, 201, 550, term_of);
	CHECK_RV(storage_compact(st, 550), STORAGE_OK);
	CHECK(storage_entry_count(st) == 0);
	CHECK(storage_last_index(st) == 550);
	CHECK(storage_last_term(st) == term_of(550));
	storage_close(st);
	st = open_ok(dir);
	CHECK(storage_first_index(st) == 551);
	CHECK(storage_last_term(st) == term_of(550));
	/* Terms may not go below the base's. */
	CHECK_RV(storage_append(st, 551, term_of(550) - 1, 0, "x", 1, NULL),
		 STORAGE_EINVAL);
	append_range(st, 551, 700, term_of);
	verify_range(st, 551, 700, term_of);

	/* Compaction while another thread appends: nothing lost, order
	 * kept. */
	race.st = st;
	race.from = 701;
	race.to = 3000;
	CHECK(pthread_create(&t, NULL, append_run, &race) == 0);
	for (uint64_t upto = 600; upto < 2500; upto += 97) {
		while (storage_last_index(st) < upto)
			usleep(100);
		CHECK_RV(storage_compact(st, upto), STORAGE_OK);
	}
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(storage_first_index(st) > 2000);
	verify_range(st, storage_first_index(st), 3000, term_of);
	storage_close(st);
	st = open_ok(dir);
	verify_range(st, storage_first_index(st), 3000, term_of);

	/* Reset: an empty log after (base, term), durable at once. */
	CHECK_RV(storage_reset(st, 5000, 900), STORAGE_OK);
	CHECK(storage_first_index(st) == 5001);
	CHECK(storage_last_index(st) == 5000);
	CHECK(storage_last_term(st) == 900);
	CHECK(storage_term_at(st, 5000) == 900);
	CHECK_RV(storage_reset(st, 0, 1), STORAGE_EINVAL);
	storage_close(st);
	st = open_ok(dir);
	CHECK(storage_first_index(st) == 5001);
	CHECK(storage_base_term(st) == 900);
	CHECK_RV(storage_append(st, 5001, 900, 0, "y", 1, NULL), STORAGE_OK);
	storage_close(st);

	/* A crash during a compaction leaves raftlog.tmp beside the intact
	 * log: it is ignored (and overwritten by the next one). */
	{
		char tmp[4300];
		path_in(tmp, sizeof(tmp), dir, "raftlog.tmp");
		write_all(tmp, (const uint8_t *)"half a file", 11);
		st = open_ok(dir);
		CHECK(storage_first_index(st) == 5001);
		CHECK(storage_last_index(st) == 5001);
		storage_close(st);
	}
}

/* A compacted log whose BASE record is missing or wrong is damage, not a
 * torn write: refused with a message, the file left alone. */
static void test_compact_corrupt(void)
{
	char dir[4200], f[4300], err[4096];
	struct storage *st = NULL;
	uint8_t *orig, *b;
	size_t len;

	snprintf(dir, sizeof(dir), "%s/compact-bad", tmpdir);
	path_in(f, sizeof(f), dir, "raftlog");
	st = open_ok(dir);
	append_range(st, 1, 50, term_of);
	CHECK_RV(storage_compact(st, 20), STORAGE_OK);
	storage_close(st);
	orig = read_all(f, &len);
	/* The BASE record's index byte changed (checksum fixed or not: a
	 * flipped bit fails the checksum; either is refused). */
	b = malloc(len);
	CHECK(b != NULL);
	memcpy(b, orig, len);
	b[RAFTLOG_HEADER_SIZE + 16] ^= 1;
	write_all(f, b, len);
	st = NULL;
	CHECK_RV(storage_open(dir, log_cb, NULL, &st, err, sizeof(err)),
		 STORAGE_ECORRUPT);
	CHECK(strstr(err, "log starting at index 21") != NULL);
	CHECK(file_size(f) == (off_t)len);
	/* No BASE record at all (the header alone). */
	write_all(f, orig, RAFTLOG_HEADER_SIZE);
	CHECK_RV(storage_open(dir, log_cb, NULL, &st, err, sizeof(err)),
		 STORAGE_ECORRUPT);
	CHECK(strstr(err, "missing base record") != NULL);
	write_all(f, orig, len);
	st = open_ok(dir);
	verify_range(st, 21, 50, term_of);
	storage_close(st);
	free(b);
	free(orig);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	char cmd[4200];

	/* Each check stops the test: what follows a failure depends on it. */
	check_start("test_storage", CHECK_STOP_AT_FAILURE);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_storage.XXXXXX",
		 t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		CHECK_HARD_ERROR("mkdtemp %s: %s", tmpdir, strerror(errno));
	test_basic();
	test_truncate();
	test_torn_tail();
	test_middle_corruption();
	test_bad_rules();
	test_hard_state();
	test_group_commit();
	test_sync_nowait();
	test_sync_failure();
	test_compact();
	test_compact_corrupt();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", tmpdir);
	return check_summary();
}
