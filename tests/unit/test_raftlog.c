/* test_raftlog.c: unit tests of CRC-32C and the raftlog format and scan. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "raftlog.h"
#include "tests/lib/check.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next_rand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next_rand();
}

/* ---- CRC-32C ---------------------------------------------------------- */

static void test_crc32c(void)
{
	uint8_t buf[32];
	static uint8_t big[4096 + 8];

	CHECK(crc32c(0, "123456789", 9) == 0xE3069283u);
	CHECK(crc32c_sw(0, "123456789", 9) == 0xE3069283u);
	CHECK(crc32c(0, "", 0) == 0);
	/* RFC 3720 (iSCSI) appendix B.4 vectors. */
	memset(buf, 0, sizeof(buf));
	CHECK(crc32c(0, buf, 32) == 0x8A9136AAu);
	memset(buf, 0xff, sizeof(buf));
	CHECK(crc32c(0, buf, 32) == 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	CHECK(crc32c(0, buf, 32) == 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	CHECK(crc32c(0, buf, 32) == 0x113FDB5Cu);
	CHECK(crc32c_sw(0, buf, 32) == 0x113FDB5Cu);

	/* Chaining, and both implementations agree at every length and
	 * alignment. */
	fill(big, sizeof(big));
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len < 300; len++) {
			uint32_t a = crc32c(0, big + off, len);
			CHECK(a == crc32c_sw(0, big + off, len));
			size_t cut = len / 3;
			CHECK(crc32c(crc32c(0, big + off, cut), big + off + cut,
				     len - cut) == a);
		}
	}
	CHECK(crc32c(0, big, 4096) == crc32c_sw(0, big, 4096));
}

/* ---- encode / decode ------------------------------------------------- */

static void test_header(void)
{
	uint8_t h[RAFTLOG_HEADER_SIZE];
	uint64_t first = 0;
	char why[128];

	raftlog_encode_header(h, 1);
	CHECK(memcmp(h, "RAFTDLOG", 8) == 0);
	CHECK(raftlog_decode_header(h, sizeof(h), &first, why, sizeof(why)) ==
	      RAFTLOG_OK);
	CHECK(first == 1);
	raftlog_encode_header(h, 77);
	CHECK(raftlog_decode_header(h, sizeof(h), &first, why, sizeof(why)) ==
	      RAFTLOG_OK);
	CHECK(first == 77);
	CHECK(raftlog_decode_header(h, 31, &first, why, sizeof(why)) ==
	      RAFTLOG_ESHORT);

	h[0] = 'X';
	CHECK(raftlog_decode_header(h, sizeof(h), &first, why, sizeof(why)) ==
	      RAFTLOG_ECORRUPT);
	CHECK(strstr(why, "magic") != NULL);

	raftlog_encode_header(h, 1);
	h[20] ^= 1; /* first index, now not covered by the stored CRC */
	CHECK(raftlog_decode_header(h, sizeof(h), &first, why, sizeof(why)) ==
	      RAFTLOG_ECORRUPT);
	CHECK(strstr(why, "checksum") != NULL);

	/* A future version with a valid checksum. */
	raftlog_encode_header(h, 1);
	h[8] = 2;
	uint32_t c = crc32c(0, h, 28);
	for (int i = 0; i < 4; i++)
		h[28 + i] = (uint8_t)(c >> (8 * i));
	CHECK(raftlog_decode_header(h, sizeof(h), &first, why, sizeof(why)) ==
	      RAFTLOG_ECORRUPT);
	CHECK(strstr(why, "version 2") != NULL);
}

static void test_entry_roundtrip(void)
{
	static uint8_t payload[RAFTLOG_MAX_PAYLOAD + 1];
	static uint8_t buf[RAFTLOG_MAX_PAYLOAD + 64];
	const uint32_t lens[] = {0,
				 1,
				 6,
				 7,
				 8,
				 9,
				 15,
				 16,
				 17,
				 100,
				 4095,
				 65536,
				 RAFTLOG_MAX_PAYLOAD};
	struct raftlog_record rec;
	char why[128];
	size_t used, need;

	fill(payload, sizeof(payload));
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct raftlog_entry e = {
		    .index = 1000 + k,
		    .term = 7 + k,
		    .type = (uint8_t)k,
		    .len = lens[k],
		    .data = payload,
		};
		CHECK(raftlog_encode_entry(buf, sizeof(buf), &e, &used) ==
		      RAFTLOG_OK);
		CHECK(used == raftlog_entry_size(e.len));
		CHECK(used % 8 == 0);
		CHECK(used >= RAFTLOG_REC_HEADER_SIZE + RAFTLOG_ENTRY_FIXED +
				  e.len &&
		      used < RAFTLOG_REC_HEADER_SIZE + RAFTLOG_ENTRY_FIXED +
				 e.len + 8);
		CHECK(raftlog_decode_record(buf, used, &rec, &need, why,
					    sizeof(why)) == RAFTLOG_OK);
		CHECK(rec.rtype == RAFTLOG_REC_ENTRY);
		CHECK(rec.size == used);
		CHECK(rec.entry.index == e.index && rec.entry.term == e.term);
		CHECK(rec.entry.type == e.type && rec.entry.len == e.len);
		CHECK(memcmp(rec.entry.data, payload, e.len) == 0);
		/* Extra bytes after the record do not matter. */
		CHECK(raftlog_decode_record(buf, sizeof(buf), &rec, &need, why,
					    sizeof(why)) == RAFTLOG_OK);
		CHECK(rec.size == used);
		/* Every prefix is short, and says how much it needs. */
		if (e.len < 200) {
			for (size_t n = 0; n < used; n++) {
				need = 0;
				CHECK(raftlog_decode_record(buf, n, &rec, &need,
							    why, sizeof(why)) ==
				      RAFTLOG_ESHORT);
				CHECK(need > n && need <= used);
			}
		}
		/* A flipped byte anywhere is never decoded as valid. */
		if (e.len < 200) {
			for (size_t i = 0; i < used; i++) {
				buf[i] ^= 0xff;
				CHECK(raftlog_decode_record(
					  buf, used, &rec, NULL, why,
					  sizeof(why)) != RAFTLOG_OK);
				buf[i] ^= 0xff;
			}
		}
	}

	/* Invalid arguments. */
	struct raftlog_entry bad = {.index = 0, .term = 1};
	CHECK(raftlog_encode_entry(buf, sizeof(buf), &bad, &used) ==
	      RAFTLOG_EINVAL);
	bad.index = 1;
	bad.len = RAFTLOG_MAX_PAYLOAD + 1;
	bad.data = payload;
	CHECK(raftlog_encode_entry(buf, sizeof(buf), &bad, &used) ==
	      RAFTLOG_EINVAL);
	bad.len = 10;
	CHECK(raftlog_encode_entry(buf, raftlog_entry_size(10) - 1, &bad,
				   &used) == RAFTLOG_EINVAL);
	bad.data = NULL;
	CHECK(raftlog_encode_entry(buf, sizeof(buf), &bad, &used) ==
	      RAFTLOG_EINVAL);
}

static void test_commit_roundtrip(void)
{
	uint8_t buf[64];
	struct raftlog_record rec;
	char why[128];
	size_t used;

	CHECK(raftlog_encode_commit(buf, sizeof(buf), 123456789012ull, &used) ==
	      RAFTLOG_OK);
	CHECK(used == RAFTLOG_COMMIT_SIZE);
	CHECK(raftlog_decode_record(buf, used, &rec, NULL, why, sizeof(why)) ==
	      RAFTLOG_OK);
	CHECK(rec.rtype == RAFTLOG_REC_COMMIT);
	CHECK(rec.commit_index == 123456789012ull);
	CHECK(rec.size == RAFTLOG_COMMIT_SIZE);
	CHECK(raftlog_encode_commit(buf, 23, 1, &used) == RAFTLOG_EINVAL);
	CHECK(strcmp(raftlog_rec_type_name(RAFTLOG_REC_COMMIT), "COMMIT") == 0);

	/* Zeros (a zeroed sector) are not a record. */
	memset(buf, 0, sizeof(buf));
	CHECK(raftlog_decode_record(buf, sizeof(buf), &rec, NULL, why,
				    sizeof(why)) == RAFTLOG_ECORRUPT);
}

/* ---- files ------------------------------------------------------------ */

static char tmpdir[4096];

struct image {
	uint8_t *p;
	size_t len;
	uint64_t offsets[64]; /* of each record */
	size_t n_recs;
};

static void img_add(struct image *im, const uint8_t *rec, size_t n)
{
	im->p = realloc(im->p, im->len + n);
	CHECK(im->p != NULL);
	memcpy(im->p + im->len, rec, n);
	if (im->len >= RAFTLOG_HEADER_SIZE)
		im->offsets[im->n_recs++] = im->len;
	im->len += n;
}

static void img_header(struct image *im, uint64_t first)
{
	uint8_t h[RAFTLOG_HEADER_SIZE];

	im->len = 0;
	im->n_recs = 0;
	raftlog_encode_header(h, first);
	img_add(im, h, sizeof(h));
}

static void img_entry(struct image *im, uint64_t index, uint64_t term,
		      uint32_t len)
{
	uint8_t payload[512], rec[600];
	size_t used;

	CHECK(len <= sizeof(payload));
	for (uint32_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(index * 31 + i);
	struct raftlog_entry e = {.index = index,
				  .term = term,
				  .type = 1,
				  .len = len,
				  .data = payload};
	CHECK(raftlog_encode_entry(rec, sizeof(rec), &e, &used) == RAFTLOG_OK);
	img_add(im, rec, used);
}

static void img_commit(struct image *im, uint64_t commit)
{
	uint8_t rec[RAFTLOG_COMMIT_SIZE];
	size_t used;

	CHECK(raftlog_encode_commit(rec, sizeof(rec), commit, &used) ==
	      RAFTLOG_OK);
	img_add(im, rec, used);
}

static void img_base(struct image *im, uint64_t index, uint64_t term)
{
	uint8_t rec[RAFTLOG_BASE_SIZE];
	size_t used;

	CHECK(raftlog_encode_base(rec, sizeof(rec), index, term, &used) ==
	      RAFTLOG_OK);
	img_add(im, rec, used);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, p, n) == (ssize_t)n);
	CHECK(close(fd) == 0);
}

/* The file's bytes equal p[0..n). */
static int file_equals(const char *path, const uint8_t *p, size_t n)
{
	struct stat sb;
	uint8_t *b;
	int fd, eq;

	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(fstat(fd, &sb) == 0);
	if ((size_t)sb.st_size != n) {
		close(fd);
		return 0;
	}
	b = malloc(n + 1);
	CHECK(b != NULL);
	CHECK(read(fd, b, n) == (ssize_t)n);
	close(fd);
	eq = memcmp(b, p, n) == 0;
	free(b);
	return eq;
}

struct seen {
	uint64_t idx[64];
	uint64_t off[64];
	size_t n;
	uint64_t commits[64];
	size_t n_commits;
	int stop_at; /* return 42 at this entry count, 0: never */
};

static int seen_entry(void *arg, const struct raftlog_entry *e, uint64_t offset)
{
	struct seen *s = arg;

	CHECK(s->n < 64);
	for (uint32_t i = 0; i < e->len; i++)
		CHECK(e->data[i] == (uint8_t)(e->index * 31 + i));
	s->idx[s->n] = e->index;
	s->off[s->n] = offset;
	s->n++;
	if (s->stop_at && (int)s->n == s->stop_at)
		return 42;
	return 0;
}

static int seen_commit(void *arg, uint64_t commit, uint64_t offset)
{
	struct seen *s = arg;

	(void)offset;
	s->commits[s->n_commits++] = commit;
	return 0;
}

static void test_scan(void)
{
	struct image im = {0};
	struct raftlog_scan_result res;
	struct seen s;
	struct raftlog_scan_ops ops = {
	    .entry = seen_entry, .commit = seen_commit, .arg = &s};
	char path[4200], err[2048];
	uint64_t entry_off[16];
	int rv;

	snprintf(path, sizeof(path), "%s/raftlog", tmpdir);

	/* A clean file: entries 1..10 in terms 1,1,1,2,2,2,2,5,5,5 with
	 * COMMIT markers in between. */
	img_header(&im, 1);
	for (uint64_t i = 1; i <= 10; i++) {
		entry_off[i] = im.len;
		img_entry(&im, i,
			  i <= 3   ? 1
			  : i <= 7 ? 2
				   : 5,
			  (uint32_t)(i * 13 % 70));
		if (i == 4)
			img_commit(&im, 3);
		if (i == 9)
			img_commit(&im, 8);
	}
	img_commit(&im, 6); /* markers need not grow (restarts) */
	write_file(path, im.p, im.len);

	memset(&s, 0, sizeof(s));
	rv = raftlog_scan_file(path, &ops, &res, err, sizeof(err));
	CHECK(rv == RAFTLOG_OK);
	CHECK(!res.torn);
	CHECK(res.first_index == 1 && res.n_entries == 10);
	CHECK(res.last_index == 10 && res.last_term == 5);
	CHECK(res.n_commits == 3 && res.max_commit == 8);
	CHECK(res.valid_end == im.len && res.file_size == im.len);
	CHECK(s.n == 10 && s.n_commits == 3);
	for (size_t i = 0; i < 10; i++) {
		CHECK(s.idx[i] == i + 1);
		CHECK(s.off[i] == entry_off[i + 1]);
	}
	CHECK(s.commits[0] == 3 && s.commits[1] == 8 && s.commits[2] == 6);
	CHECK(file_equals(path, im.p, im.len));

	/* A callback can stop the scan. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 4;
	CHECK(raftlog_scan_file(path, &ops, &res, err, sizeof(err)) == 42);
	CHECK(s.n == 4);

	/* NULL callbacks. */
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_OK);
	CHECK(res.n_entries == 10);

	/* A torn tail at every length of the last record: reported, and
	 * the read-only scan leaves the file alone. */
	uint64_t last = im.offsets[im.n_recs - 1];
	for (size_t cut = last + 1; cut < im.len; cut++) {
		write_file(path, im.p, cut);
		rv = raftlog_scan_file(path, NULL, &res, err, sizeof(err));
		CHECK(rv == RAFTLOG_OK);
		CHECK(res.torn && res.valid_end == last);
		CHECK(res.n_entries == 10 && res.max_commit == 8);
		CHECK(file_equals(path, im.p, cut));
	}

	/* Corruption in the middle: every byte of entry 5's record. */
	uint64_t off5 = entry_off[5], end5 = entry_off[6];
	char want_off[64], want_idx[64];
	snprintf(want_off, sizeof(want_off), "offset %" PRIu64, off5);
	snprintf(want_idx, sizeof(want_idx), "entry index 5");
	for (uint64_t i = off5; i < end5; i++) {
		im.p[i] ^= 0x5a;
		write_file(path, im.p, im.len);
		memset(&s, 0, sizeof(s));
		rv = raftlog_scan_file(path, &ops, &res, err, sizeof(err));
		CHECK(rv == RAFTLOG_ECORRUPT);
		CHECK(res.bad_offset == off5 && res.bad_index == 5);
		CHECK(strstr(err, path) != NULL);
		CHECK(strstr(err, want_off) != NULL);
		CHECK(strstr(err, want_idx) != NULL);
		CHECK(strstr(err, "rejoin") != NULL);
		CHECK(file_equals(path, im.p, im.len));
		im.p[i] ^= 0x5a;
	}

	/* Garbage after the last record that never parses: torn. */
	for (size_t g = 1; g < 100; g += 7) {
		uint8_t junk[100];
		fill(junk, g);
		uint8_t *b = malloc(im.len + g);
		CHECK(b != NULL);
		memcpy(b, im.p, im.len);
		memcpy(b + im.len, junk, g);
		write_file(path, b, im.len + g);
		rv = raftlog_scan_file(path, NULL, &res, err, sizeof(err));
		CHECK(rv == RAFTLOG_OK && res.torn);
		CHECK(res.valid_end == im.len && res.n_entries == 10);
		free(b);
	}
	free(im.p);
}

static void test_scan_bad_files(void)
{
	struct image im = {0};
	struct raftlog_scan_result res;
	char path[4200], err[2048];

	snprintf(path, sizeof(path), "%s/raftlog", tmpdir);

	/* Indexes must be consecutive. */
	img_header(&im, 1);
	img_entry(&im, 1, 1, 10);
	img_entry(&im, 2, 1, 10);
	img_entry(&im, 4, 1, 10);
	write_file(path, im.p, im.len);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_ECORRUPT);
	CHECK(strstr(err, "consecutive") != NULL);
	CHECK(res.bad_offset == im.offsets[2] && res.bad_index == 3);

	/* The first entry must be the header's first index. */
	img_header(&im, 1);
	img_entry(&im, 2, 1, 10);
	write_file(path, im.p, im.len);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_ECORRUPT);

	/* A log that starts later (compacted after a snapshot): its BASE
	 * record names the entry before its first one. */
	img_header(&im, 50);
	img_base(&im, 49, 3);
	img_entry(&im, 50, 3, 10);
	img_entry(&im, 51, 3, 10);
	write_file(path, im.p, im.len);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_OK);
	CHECK(res.first_index == 50 && res.last_index == 51);

	/* ... and without it, or with one naming another index, it is
	 * corrupt: nothing says what came before. */
	img_header(&im, 50);
	img_entry(&im, 50, 3, 10);
	write_file(path, im.p, im.len);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_ECORRUPT);
	img_header(&im, 50);
	img_base(&im, 48, 3);
	img_entry(&im, 50, 3, 10);
	write_file(path, im.p, im.len);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_ECORRUPT);

	/* Terms never decrease, even in the last record. */
	img_header(&im, 1);
	img_entry(&im, 1, 3, 10);
	img_entry(&im, 2, 2, 10);
	write_file(path, im.p, im.len);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_ECORRUPT);
	CHECK(strstr(err, "never decrease") != NULL);
	CHECK(res.bad_index == 2);

	/* Term 0 is not a term. */
	img_header(&im, 1);
	img_entry(&im, 1, 0, 10);
	write_file(path, im.p, im.len);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_ECORRUPT);

	/* Bad header, short file, missing file. */
	img_header(&im, 1);
	img_entry(&im, 1, 1, 10);
	im.p[3] = 'x';
	write_file(path, im.p, im.len);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_ECORRUPT);
	CHECK(strstr(err, "magic") != NULL);
	write_file(path, im.p, 10);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_ECORRUPT);
	CHECK(strstr(err, "shorter than") != NULL);
	unlink(path);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_EIO);

	/* Header only: an empty log. */
	img_header(&im, 1);
	write_file(path, im.p, im.len);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_OK);
	CHECK(res.n_entries == 0 && res.last_index == 0 && !res.torn);

	/* A corrupt COMMIT marker followed by an entry is middle damage. */
	img_header(&im, 1);
	img_entry(&im, 1, 1, 10);
	img_commit(&im, 1);
	img_entry(&im, 2, 1, 10);
	im.p[im.offsets[1] + 17] ^= 1;
	write_file(path, im.p, im.len);
	CHECK(raftlog_scan_file(path, NULL, &res, err, sizeof(err)) ==
	      RAFTLOG_ECORRUPT);
	CHECK(res.bad_offset == im.offsets[1] && res.bad_index == 2);
	free(im.p);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	char cmd[4200];

	/* Each check stops the test: what follows a failure depends on it. */
	check_start("test_raftlog", CHECK_STOP_AT_FAILURE);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_raftlog.XXXXXX",
		 t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		CHECK_HARD_ERROR("mkdtemp %s: %s", tmpdir, strerror(errno));
	test_crc32c();
	test_header();
	test_entry_roundtrip();
	test_commit_roundtrip();
	test_scan();
	test_scan_bad_files();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", tmpdir);
	printf("test_raftlog: crc32c %s\n", crc32c_hw() ? "sse4.2" : "table");
	return check_summary();
}
