/* test_snapshot.c: the state machine's snapshot bytes (daemon/sm.c,
 * sm_save/sm_load), the snapshot file (common/snapfile.c) and its writer
 * and loader (daemon/snapshot.c), including the forked writer and damaged
 * or hostile files.  Random parts use a fixed seed; SEED=n replays
 * another. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "command.h"
#include "crc32c.h"
#include "sm.h"
#include "snapfile.h"
#include "snapshot.h"
#include "tests/lib/check.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rnd_below(size_t n) { return (size_t)(rnd() % n); }

/* sm_dump() into a malloc'd string. */
static char *dump(const struct sm *sm)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK_REQUIRE(f != NULL);
	CHECK(sm_dump(sm, f) == SM_OK);
	fclose(f);
	return buf;
}

/* Applies n random commands (every op, with and without tids, repeats
 * and conflicts, keys with NULs and high bytes) from index first on. */
static void apply_random(struct sm *sm, uint64_t first, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char key[16], val[64], tid[24], exp[64];
		struct command c;
		struct command_pair pairs[3];
		uint8_t *buf = NULL;
		size_t len = 0;
		enum sm_result res;
		uint64_t index = first + i;

		memset(&c, 0, sizeof(c));
		snprintf(key, sizeof(key), "k%02zu", rnd_below(40));
		if (rnd_below(10) == 0)
			key[1] = (char)0xff;
		snprintf(val, sizeof(val), "v%llu",
			 (unsigned long long)rnd_below(1000));
		snprintf(tid, sizeof(tid), "t%zu", rnd_below(n));
		c.key.p = key;
		c.key.len = strlen(key);
		c.value.p = val;
		c.value.len = strlen(val);
		c.has_tid = rnd_below(2) == 0;
		c.tid.p = tid;
		c.tid.len = strlen(tid);
		switch (rnd_below(6)) {
		case 0:
			c.op = COMMAND_ADD;
			c.has_tid = true;
			c.data.p = val;
			c.data.len = strlen(val);
			break;
		case 1:
			c.op = COMMAND_DEL;
			break;
		case 2:
			c.op = COMMAND_CAS;
			snprintf(exp, sizeof(exp), "v%zu", rnd_below(1000));
			c.expected.p = rnd_below(3) ? exp : "";
			c.expected.len = strlen(c.expected.p);
			break;
		case 3:
			c.op = COMMAND_MPUT;
			for (size_t j = 0; j < 3; j++) {
				static char ks[3][8];
				snprintf(ks[j], sizeof(ks[j]), "m%zu%zu", j,
					 rnd_below(5));
				pairs[j].key.p = ks[j];
				pairs[j].key.len = strlen(ks[j]);
				pairs[j].value = c.value;
			}
			c.pairs = pairs;
			c.n_pairs = 3;
			break;
		case 4:
			/* a NOOP entry */
			CHECK(sm_skip(sm, index) == SM_OK);
			continue;
		default:
			c.op = COMMAND_PUT;
			break;
		}
		if (command_encode(&c, &buf, &len) != COMMAND_OK) {
			CHECK(sm_skip(sm, index) == SM_OK);
			continue;
		}
		CHECK(sm_apply(sm, index, 1 + index / 50, buf, len, &res) ==
		      SM_OK);
		free(buf);
	}
}

/* ---- sm_save / sm_load in memory ---------------------------------------- */

struct membuf {
	uint8_t *p;
	size_t len, cap, pos;
	size_t fail_at; /* out: fail once len would pass it (0: never) */
};

static int mem_out(void *arg, const void *p, size_t n)
{
	struct membuf *b = arg;

	if (b->fail_at && b->len + n > b->fail_at)
		return -1;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		CHECK_REQUIRE(b->p != NULL);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static int mem_in(void *arg, void *p, size_t n)
{
	struct membuf *b = arg;

	if (n > b->len - b->pos)
		return -1;
	memcpy(p, b->p + b->pos, n);
	b->pos += n;
	return 0;
}

static void test_roundtrip(void)
{
	struct sm *sm = sm_new(), *back = NULL;
	struct membuf b = {0};
	const char *why = NULL;
	char *d1, *d2;

	/* Empty. */
	CHECK(sm_save(sm, mem_out, &b) == SM_OK);
	CHECK(sm_load(&back, mem_in, &b, &why) == SM_OK);
	CHECK(back != NULL && sm_verify(back) == SM_OK);
	sm_free(back);

	apply_random(sm, 1, 3000);
	b.len = b.pos = 0;
	CHECK(sm_save(sm, mem_out, &b) == SM_OK);
	CHECK(sm_load(&back, mem_in, &b, &why) == SM_OK);
	CHECK_REQUIRE(back != NULL);
	CHECK(sm_verify(back) == SM_OK);
	d1 = dump(sm);
	d2 = dump(back);
	CHECK_EQ_STR(d1, d2);
	free(d1);
	free(d2);

	sm_free(back);

	/* The output failing stops the save with SM_EIO. */
	b.len = 0;
	b.fail_at = 100;
	CHECK(sm_save(sm, mem_out, &b) == SM_EIO);
	free(b.p);
	sm_free(sm);
}

/* Two state machines fed the same commands after one was restored from
 * the other's snapshot stay identical. */
static void test_continue_after_load(void)
{
	struct sm *a = sm_new(), *b = NULL;
	struct membuf m = {0};
	const char *why = NULL;
	char *d1, *d2;
	uint64_t seed = rng_state;

	apply_random(a, 1, 2000);
	CHECK(sm_save(a, mem_out, &m) == SM_OK);
	CHECK_REQUIRE(sm_load(&b, mem_in, &m, &why) == SM_OK);
	rng_state = seed + 99;
	apply_random(a, 2001, 2000);
	rng_state = seed + 99;
	apply_random(b, 2001, 2000);
	d1 = dump(a);
	d2 = dump(b);
	CHECK_EQ_STR(d1, d2);
	free(d1);
	free(d2);
	free(m.p);
	sm_free(a);
	sm_free(b);
}

/* Every truncation and many single-byte changes of a valid image are
 * refused or loaded consistently (never a crash, never an invalid sm). */
static void test_hostile_bytes(void)
{
	struct sm *sm = sm_new(), *back = NULL;
	struct membuf m = {0}, t;
	const char *why = NULL;
	size_t cut, i, refused = 0;

	apply_random(sm, 1, 300);
	CHECK(sm_save(sm, mem_out, &m) == SM_OK);
	for (cut = 0; cut < m.len; cut += 1 + cut / 8) {
		t = m;
		t.len = cut;
		t.pos = 0;
		why = NULL;
		CHECK(sm_load(&back, mem_in, &t, &why) == SM_ECORRUPT);
		CHECK(back == NULL && why != NULL);
	}
	for (i = 0; i < 4000; i++) {
		uint8_t *copy = malloc(m.len);
		CHECK_REQUIRE(copy != NULL);
		memcpy(copy, m.p, m.len);
		copy[rnd_below(m.len)] ^= (uint8_t)(1u << rnd_below(8));
		t.p = copy;
		t.len = m.len;
		t.pos = 0;
		if (sm_load(&back, mem_in, &t, &why) == SM_OK) {
			CHECK(sm_verify(back) == SM_OK);
			sm_free(back);
		} else {
			refused++;
		}
		free(copy);
	}
	/* Counts and lengths are in most bytes that matter: most changes
	 * are caught (the file's checksum catches the rest). */
	CHECK(refused > 0);
	/* Trailing bytes. */
	t = m;
	t.pos = 0;
	mem_out(&t, "x", 1);
	CHECK(sm_load(&back, mem_in, &t, &why) == SM_ECORRUPT);
	free(t.p);
	sm_free(sm);
}

/* ---- the file ------------------------------------------------------------ */

static char dir[256];

static char *in_dir(const char *name)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void read_file(const char *path, uint8_t **buf, size_t *len)
{
	struct stat sb;
	int fd = open(path, O_RDONLY);

	CHECK_REQUIRE(fd >= 0 && fstat(fd, &sb) == 0);
	*len = (size_t)sb.st_size;
	*buf = malloc(*len + 1);
	CHECK_REQUIRE(*buf != NULL);
	CHECK_REQUIRE(read(fd, *buf, *len) == (ssize_t)*len);
	close(fd);
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK_REQUIRE(fd >= 0);
	CHECK_REQUIRE(write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

static void test_file(void)
{
	struct snapfile_node nodes[3] = {{.id = 1,
					  .flags = SNAPFILE_NODE_VOTER,
					  .address = "127.0.0.1:7001"},
					 {.id = 2,
					  .flags = SNAPFILE_NODE_VOTER,
					  .address = "127.0.0.1:7002"},
					 {.id = 3,
					  .flags = SNAPFILE_NODE_PROMOTE,
					  .address = "[::1]:7003",
					  .peer_address = "[::1]:8003"}};
	struct snapfile_meta meta;
	struct sm *sm = sm_new(), *back = NULL;
	char err[512], *d1, *d2;
	uint8_t *buf, *copy;
	size_t len, i, bad = 0;
	int fd;

	apply_random(sm, 1, 2000);
	fd = open(in_dir("snapshot"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK_REQUIRE(fd >= 0);
	CHECK(snapshot_write_fd(fd, sm, 2000, 41, nodes, 3) == 0);
	close(fd);
	CHECK(snapshot_load(in_dir("snapshot"), &meta, &back, err,
			    sizeof(err)) == SNAPFILE_OK);
	CHECK_REQUIRE(back != NULL);
	CHECK_EQ_U64(meta.index, 2000);
	CHECK_EQ_U64(meta.term, 41);
	CHECK_EQ_INT(meta.n_nodes, 3);
	CHECK_EQ_STR(meta.nodes[2].address, "[::1]:7003");
	/* Format 2: flags and peer addresses. */
	CHECK_EQ_INT(meta.version, SNAPFILE_VERSION);
	CHECK_EQ_INT(meta.nodes[0].flags, SNAPFILE_NODE_VOTER);
	CHECK_EQ_INT(meta.nodes[2].flags, SNAPFILE_NODE_PROMOTE);
	CHECK_EQ_STR(meta.nodes[2].peer_address, "[::1]:8003");
	CHECK_EQ_INT(meta.nodes[1].id, 2);
	d1 = dump(sm);
	d2 = dump(back);
	CHECK_EQ_STR(d1, d2);
	free(d1);
	free(d2);
	sm_free(back);

	/* The header's index must be the state's. */
	fd = open(in_dir("snapshot"), O_RDWR | O_TRUNC);
	CHECK(snapshot_write_fd(fd, sm, 1999, 41, nodes, 3) == 0);
	close(fd);
	CHECK(snapshot_load(in_dir("snapshot"), &meta, &back, err,
			    sizeof(err)) == SNAPFILE_ECORRUPT);
	CHECK(strstr(err, "applied up to 2000") != NULL);

	fd = open(in_dir("snapshot"), O_RDWR | O_TRUNC);
	CHECK(snapshot_write_fd(fd, sm, 2000, 41, nodes, 3) == 0);
	close(fd);
	read_file(in_dir("snapshot"), &buf, &len);
	/* Any truncation, any flipped bit: refused by a checksum or a
	 * bound, with a message. */
	copy = malloc(len);
	CHECK_REQUIRE(copy != NULL);
	for (i = 0; i < len; i += 1 + len / 300) {
		write_file(in_dir("cut"), buf, i);
		CHECK(snapshot_load(in_dir("cut"), &meta, &back, err,
				    sizeof(err)) == SNAPFILE_ECORRUPT);
		CHECK(back == NULL);
	}
	for (i = 0; i < 300; i++) {
		memcpy(copy, buf, len);
		copy[rnd_below(len)] ^= (uint8_t)(1u << rnd_below(8));
		write_file(in_dir("flip"), copy, len);
		if (snapshot_load(in_dir("flip"), &meta, &back, err,
				  sizeof(err)) != SNAPFILE_OK)
			bad++;
		sm_free(back);
		back = NULL;
	}
	CHECK_EQ_U64(bad, 300);
	/* Bytes after the trailer. */
	memcpy(copy, buf, len);
	write_file(in_dir("long"), buf, len);
	fd = open(in_dir("long"), O_WRONLY | O_APPEND);
	CHECK(write(fd, "z", 1) == 1);
	close(fd);
	CHECK(snapshot_load(in_dir("long"), &meta, &back, err, sizeof(err)) ==
	      SNAPFILE_ECORRUPT);
	CHECK(strstr(err, "after the checksum") != NULL);
	CHECK(snapshot_load(in_dir("none"), &meta, &back, err, sizeof(err)) ==
	      SNAPFILE_ENOENT);

	/* A hostile header: huge body length, index 0, bad version. */
	memcpy(copy, buf, SNAPFILE_HEADER_SIZE);
	bytes_put_u64(copy + 32, UINT64_MAX);
	bytes_put_u32(copy + 60, crc32c(0, copy, 60));
	write_file(in_dir("hdr"), copy, len);
	CHECK(snapshot_load(in_dir("hdr"), &meta, &back, err, sizeof(err)) ==
	      SNAPFILE_ECORRUPT);
	CHECK(strstr(err, "body length") != NULL);
	memcpy(copy, buf, len);
	bytes_put_u64(copy + 16, 0);
	bytes_put_u32(copy + 60, crc32c(0, copy, 60));
	write_file(in_dir("hdr"), copy, len);
	CHECK(snapshot_load(in_dir("hdr"), &meta, &back, err, sizeof(err)) ==
	      SNAPFILE_ECORRUPT);
	free(copy);
	free(buf);
	sm_free(sm);
}

static void test_fork_writer(void)
{
	struct config cfg;
	struct snapshot_job job;
	struct snapfile_meta meta;
	struct sm *sm = sm_new(), *back = NULL;
	char err[512], *d1, *d2;
	struct stat sb;
	struct snapfile_node nodes[SNAPFILE_MAX_NODES];
	uint32_t n_nodes;

	memset(&cfg, 0, sizeof(cfg));
	cfg.n_nodes = 1;
	cfg.nodes[0].id = 7;
	snprintf(cfg.nodes[0].address, sizeof(cfg.nodes[0].address),
		 "127.0.0.1:9007");
	apply_random(sm, 1, 5000);
	n_nodes = snapshot_nodes(&cfg, nodes);
	CHECK_REQUIRE(snapshot_start(dir, sm, 5000, 3, nodes, n_nodes, &job,
				     err, sizeof(err)) == 0);
	/* The parent changes its state at once: the child writes the state
	 * as it was at the fork. */
	d1 = dump(sm);
	apply_random(sm, 5001, 1000);
	CHECK(snapshot_finish(dir, &job, err, sizeof(err)) == 0);
	CHECK(stat(in_dir(SNAPSHOT_TMP), &sb) == 0);
	CHECK(snapshot_commit(dir, SNAPSHOT_TMP, err, sizeof(err)) == 0);
	CHECK(stat(in_dir(SNAPSHOT_TMP), &sb) != 0 && errno == ENOENT);
	CHECK(snapshot_load(in_dir(SNAPSHOT_FILE), &meta, &back, err,
			    sizeof(err)) == SNAPFILE_OK);
	CHECK_REQUIRE(back != NULL);
	d2 = dump(back);
	CHECK_EQ_STR(d1, d2);
	CHECK_EQ_INT(meta.nodes[0].id, 7);
	free(d1);
	free(d2);
	sm_free(back);

	/* A writer that cannot write (no such directory) fails cleanly. */
	CHECK(snapshot_start("/nonexistent/dir", sm, 1, 1, nodes, n_nodes, &job,
			     err, sizeof(err)) != 0);
	/* Leftovers go at start-up. */
	write_file(in_dir(SNAPSHOT_TMP), (const uint8_t *)"x", 1);
	write_file(in_dir(SNAPSHOT_RECV), (const uint8_t *)"x", 1);
	snapshot_cleanup(dir);
	CHECK(stat(in_dir(SNAPSHOT_TMP), &sb) != 0);
	CHECK(stat(in_dir(SNAPSHOT_RECV), &sb) != 0);
	CHECK(stat(in_dir(SNAPSHOT_FILE), &sb) == 0);
	sm_free(sm);
}

static uint8_t *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL &&
	    fread(p, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	fclose(f);
	return p;
}

/* The copy path: the state copied under the lock is what the file holds,
 * byte for byte the file the fork path writes; a state past the bound is
 * not copied (the caller forks). */
static void test_copy_writer(void)
{
	struct config cfg;
	struct snapshot_copy copy;
	struct snapfile_meta meta;
	struct sm *sm = sm_new(), *back = NULL;
	char err[512], *d1, *d2, *ref = NULL;
	uint8_t *a, *b;
	size_t alen, blen;
	int fd;

	memset(&cfg, 0, sizeof(cfg));
	cfg.n_nodes = 1;
	cfg.nodes[0].id = 3;
	snprintf(cfg.nodes[0].address, sizeof(cfg.nodes[0].address),
		 "127.0.0.1:9003");
	apply_random(sm, 1, 3000);
	struct snapfile_node nodes[SNAPFILE_MAX_NODES];
	uint32_t n = snapshot_nodes(&cfg, nodes);
	CHECK_REQUIRE(asprintf(&ref, "%s/ref.snap", dir) > 0);
	fd = open(ref, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK_REQUIRE(fd >= 0);
	CHECK(snapshot_write_fd(fd, sm, 3000, 2, nodes, n) == 0);
	close(fd);
	d1 = dump(sm);
	CHECK_REQUIRE(snapshot_copy(sm, &copy) == 0);
	CHECK(copy.len > 0 && copy.len <= SNAPSHOT_COPY_MAX);
	apply_random(sm, 3001, 500); /* the node goes on */
	CHECK(snapshot_write_copy(dir, &copy, 3000, 2, nodes, n, err,
				  sizeof(err)) == 0);
	snapshot_copy_free(&copy);
	CHECK(copy.buf == NULL && copy.len == 0);
	a = read_whole(ref, &alen);
	b = read_whole(in_dir(SNAPSHOT_TMP), &blen);
	CHECK_REQUIRE(a != NULL && b != NULL);
	if (CHECK_EQ_U64(alen, blen))
		CHECK_EQ_MEM(a, b, alen);
	free(a);
	free(b);
	CHECK(snapshot_commit(dir, SNAPSHOT_TMP, err, sizeof(err)) == 0);
	CHECK(snapshot_load(in_dir(SNAPSHOT_FILE), &meta, &back, err,
			    sizeof(err)) == SNAPFILE_OK);
	CHECK_REQUIRE(back != NULL);
	d2 = dump(back);
	CHECK_EQ_STR(d1, d2);
	CHECK_EQ_U64(meta.index, 3000);
	free(d1);
	free(d2);
	sm_free(back);
	sm_free(sm);
	unlink(ref);
	free(ref);

	/* Past the bound: no copy, nothing held. */
	sm = sm_new();
	{
		static char big[200 * 1024];
		struct command c;
		uint8_t *buf = NULL;
		size_t len = 0;
		enum sm_result res;
		char key[16];

		memset(big, 'v', sizeof(big));
		for (uint64_t i = 1; i <= 22; i++) { /* 22 x 200 KiB > 4 MiB */
			memset(&c, 0, sizeof(c));
			snprintf(key, sizeof(key), "big%02llu",
				 (unsigned long long)i);
			c.op = COMMAND_PUT;
			c.key.p = key;
			c.key.len = strlen(key);
			c.value.p = big;
			c.value.len = sizeof(big);
			CHECK_REQUIRE(command_encode(&c, &buf, &len) ==
				      COMMAND_OK);
			CHECK(sm_apply(sm, i, 1, buf, len, &res) == SM_OK);
			free(buf);
		}
	}
	CHECK(snapshot_copy(sm, &copy) != 0);
	CHECK(copy.buf == NULL && copy.len == 0);
	sm_free(sm);
}

int main(void)
{
	const char *seed = getenv("SEED");
	const char *tmp = getenv("TMPDIR");

	check_start("test_snapshot", 0);
	rng_state = seed ? strtoull(seed, NULL, 10) : 20261206;
	if (rng_state == 0)
		rng_state = 1;
	snprintf(dir, sizeof(dir), "%s/test_snapshot.XXXXXX",
		 tmp ? tmp : "/tmp");
	CHECK_REQUIRE(mkdtemp(dir) != NULL);
	test_roundtrip();
	test_continue_after_load();
	test_hostile_bytes();
	test_file();
	test_fork_writer();
	test_copy_writer();
	{
		static const char *const names[] = {"snapshot", "cut", "flip",
						    "long",	"hdr", "none"};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			unlink(in_dir(names[i]));
		rmdir(dir);
	}
	return check_summary();
}
