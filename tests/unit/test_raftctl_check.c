/* test_raftctl_check.c: unit tests of `raftctl check` (client/check.c) on
 * raftlog files crafted with the writer API of common/raftlog.h: healthy
 * copies (with a legitimately stale follower and a torn tail) pass; a
 * divergent committed entry, a term decrease, gaps, a commit marker past
 * the log and Log Matching violations are reported with node, index and
 * term; damaged files are errors.  Then compacted logs (a BASE record
 * first) with snapshot files (snapfix.h): consistent nodes whose logs start
 * at different indexes pass; a divergence after different bases, a BASE
 * or snapshot term against another node's committed entry, a log that
 * starts past its snapshot or without one are reported; a damaged
 * snapshot is a file error.  When the built raftctl is at hand
 * ($top_builddir/raftctl) its exit codes are checked too. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/check.h"
#include "common/command.h"
#include "common/raftlog.h"
#include "tests/lib/check.h"
#include "tests/unit/snapfix.h"

static char tmpdir[1024];

/* One record to write: an entry (term > 0 or explicit), a commit, or (first
 * only) a BASE record, which makes the log start after its index. */
struct rec {
	char kind; /* 'e' entry, 'c' commit marker, 'b' BASE, 0 end */
	uint64_t index;
	uint64_t term;
	const char *data; /* an addEntry's data (encoded as a command) */
};

#define E(i, t, d)                                                             \
	{                                                                      \
		'e', (i), (t), (d)                                             \
	}
#define C(i)                                                                   \
	{                                                                      \
		'c', (i), 0, NULL                                              \
	}
#define B(i, t)                                                                \
	{                                                                      \
		'b', (i), (t), NULL                                            \
	}
#define END                                                                    \
	{                                                                      \
		0, 0, 0, NULL                                                  \
	}

/* Writes DIR/<node>/raftlog from `recs`; returns the file size. */
static size_t write_log(const char *dir, const char *node,
			const struct rec *recs)
{
	char path[2048];
	uint8_t *buf = malloc(1 << 20);
	size_t len = RAFTLOG_HEADER_SIZE, used;
	FILE *fp;

	if (buf == NULL)
		CHECK_HARD_ERROR("out of memory");
	snprintf(path, sizeof(path), "%s/%s", dir, node);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		CHECK_HARD_ERROR("mkdir %s: %s", dir, strerror(errno));
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		CHECK_HARD_ERROR("mkdir %s: %s", path, strerror(errno));
	raftlog_encode_header(buf, recs[0].kind == 'e'	 ? recs[0].index
				   : recs[0].kind == 'b' ? recs[0].index + 1
							 : 1);
	for (const struct rec *r = recs; r->kind; r++) {
		if (r->kind == 'b') {
			if (raftlog_encode_base(buf + len, (1 << 20) - len,
						r->index, r->term, &used) != 0)
				CHECK_HARD_ERROR("encode base");
		} else if (r->kind == 'c') {
			if (raftlog_encode_commit(buf + len, (1 << 20) - len,
						  r->index, &used) != 0)
				CHECK_HARD_ERROR("encode commit");
		} else {
			struct command c = {.op = COMMAND_ADD, .has_tid = true};
			struct raftlog_entry e = {
			    .index = r->index, .term = r->term, .type = 1};
			uint8_t *payload = NULL;
			size_t plen = 0;
			char tid[32];

			snprintf(tid, sizeof(tid), "t-%llu",
				 (unsigned long long)r->index);
			c.tid.p = tid;
			c.tid.len = strlen(tid);
			c.data.p = r->data;
			c.data.len = strlen(r->data);
			if (command_encode(&c, &payload, &plen) != 0)
				CHECK_HARD_ERROR("encode command");
			e.data = payload;
			e.len = (uint32_t)plen;
			if (raftlog_encode_entry(buf + len, (1 << 20) - len, &e,
						 &used) != 0)
				CHECK_HARD_ERROR("encode entry");
			free(payload);
		}
		len += used;
	}
	snprintf(path, sizeof(path), "%s/%s/raftlog", dir, node);
	fp = fopen(path, "wb");
	if (fp == NULL || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0)
		CHECK_HARD_ERROR("write %s: %s", path, strerror(errno));
	free(buf);
	return len;
}

/* Writes DIR/<node>/snapshot of (index, term); `flip` damages its body. */
static void write_snap(const char *dir, const char *node, uint64_t index,
		       uint64_t term, int flip)
{
	char path[2048];

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		CHECK_HARD_ERROR("mkdir %s: %s", dir, strerror(errno));
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		CHECK_HARD_ERROR("mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s/snapshot", dir, node);
	snapfix_write(path, index, term, flip);
}

/* Result of one check run. */
struct result {
	int rv;
	size_t violations;
	char *out;
	char *err;
};

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* Runs the check as `raftctl check DIR` would. */
static struct result run_check(const char *dir)
{
	struct result res = {0};
	struct check_input *in = NULL;
	size_t n = 0, olen = 0, elen = 0;
	char *arg = (char *)dir, err[1024];
	FILE *out = open_memstream(&res.out, &olen);
	FILE *errf = open_memstream(&res.err, &elen);

	if (out == NULL || errf == NULL)
		CHECK_HARD_ERROR("open_memstream");
	if (check_inputs_from_args(&arg, 1, &in, &n, err, sizeof(err)) != 0) {
		fprintf(errf, "%s\n", err);
		res.rv = CHECK_EUSAGE;
	} else {
		res.rv = check_run(in, n, out, errf, &res.violations);
	}
	check_inputs_free(in, n);
	fclose(out);
	fclose(errf);
	return res;
}

static bool has(const char *text, const char *needle)
{
	if (strstr(text, needle))
		return true;
	fprintf(stderr, "missing <%s> in:\n%s\n", needle, text);
	return false;
}

/* Runs the built raftctl on `dir` and returns its exit status, or -1 when
 * there is no binary to run. */
static int run_binary(const char *dir)
{
	const char *top = getenv("top_builddir");
	char bin[2048], cmd[4400];
	int st;

	snprintf(bin, sizeof(bin), "%s/raftctl", top && *top ? top : ".");
	if (access(bin, X_OK) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s' check '%s' >/dev/null 2>&1", bin, dir);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		CHECK_HARD_ERROR("cannot run %s", cmd);
	return WEXITSTATUS(st);
}

/* The built raftctl's exit status on `dir` is `want` (or there is no
 * binary to run: the in-process checks above still ran). */
static bool binary_exit_is(const char *dir, int want)
{
	int rv = run_binary(dir);

	return rv == -1 || rv == want;
}

static char *subdir(const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
		CHECK_HARD_ERROR("out of memory");
	return p;
}

/* Three nodes: a and b committed 1..5; c is a stale follower that kept
 * entry 4 of term 2 (not committed there), and its last write is torn. */
static void test_healthy(void)
{
	char *dir = subdir("healthy");
	const struct rec ab[] = {
	    E(1, 1, "x1"), E(2, 1, "x2"), C(2), E(3, 2, "x3"),
	    E(4, 3, "x4"), E(5, 3, "x5"), C(5), END};
	const struct rec c[] = {E(1, 1, "x1"),
				E(2, 1, "x2"),
				E(3, 2, "x3"),
				C(3),
				E(4, 2, "stale"),
				E(5, 2, "torn"),
				END};
	char path[2048];
	struct result r;
	size_t size;

	write_log(dir, "a", ab);
	write_log(dir, "b", ab);
	size = write_log(dir, "c", c);
	/* Tear c's last record: cut it in the middle. */
	snprintf(path, sizeof(path), "%s/c/raftlog", dir);
	if (truncate(path, (off_t)(size - 9)) < 0)
		CHECK_HARD_ERROR("truncate: %s", strerror(errno));
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 0);
	CHECK(has(r.out, "nodes: 3"));
	CHECK(has(r.out, "no violations"));
	CHECK(has(r.out, "torn tail dropped"));
	CHECK(has(r.out, "committed on every node up to index 3, on some "
			 "node up to index 5"));
	CHECK(has(r.out, "note: node c index 4 term 2: not committed"));
	CHECK(r.err[0] == '\0');
	/* The table: a row per node in name order. */
	CHECK(strstr(r.out, "\na ") && strstr(r.out, "\nb ") &&
	      strstr(r.out, "\nc ") &&
	      strstr(r.out, "\na ") < strstr(r.out, "\nb "));
	result_free(&r);
	CHECK(binary_exit_is(dir, 0));
	free(dir);
}

/* c committed entry 4 of term 2 while a committed entry 4 of term 3. */
static void test_divergent_commit(void)
{
	char *dir = subdir("divergent");
	const struct rec ab[] = {E(1, 1, "x1"),
				 E(2, 1, "x2"),
				 E(3, 2, "x3"),
				 E(4, 3, "x4"),
				 E(5, 3, "x5"),
				 C(5),
				 END};
	const struct rec c[] = {E(1, 1, "x1"),	  E(2, 1, "x2"), E(3, 2, "x3"),
				E(4, 2, "other"), C(4),		 END};
	struct result r;

	write_log(dir, "a", ab);
	write_log(dir, "b", ab);
	write_log(dir, "c", c);
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 1);
	CHECK(has(r.out, "violation: committed entry: node c index 4 term 2: "
			 "committed there, but node a committed a different "
			 "entry (term 3)"));
	CHECK(has(r.out, "data=\"other\""));
	CHECK(has(r.out, "1 violation\n"));
	result_free(&r);
	CHECK(binary_exit_is(dir, 1));
	free(dir);
}

static void test_term_decrease(void)
{
	char *dir = subdir("termdown");
	const struct rec a[] = {E(1, 1, "x1"), E(2, 3, "x2"), E(3, 2, "x3"),
				E(4, 3, "x4"), END};
	struct result r;

	write_log(dir, "a", a);
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 1);
	CHECK(has(r.out, "violation: terms: node a index 3 term 2: term "
			 "decreases after term 3 at index 2"));
	result_free(&r);
	CHECK(binary_exit_is(dir, 1));
	free(dir);
}

static void test_log_matching(void)
{
	char *dir = subdir("logmatch");
	/* Same index and term, different entries (uncommitted: only Log
	 * Matching can see it). */
	const struct rec a[] = {E(1, 1, "x1"), E(2, 1, "mine"), END};
	const struct rec b[] = {E(1, 1, "x1"), E(2, 1, "yours"), END};
	/* A matching later entry over an earlier difference. */
	const struct rec c[] = {E(1, 2, "y1"), E(2, 2, "z"), END};
	const struct rec d[] = {E(1, 1, "x1"), E(2, 2, "z"), END};
	struct result r;

	write_log(dir, "a", a);
	write_log(dir, "b", b);
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 1);
	CHECK(has(r.out, "violation: log matching: node a index 2 term 1: "
			 "node b has the same index and term but a different "
			 "entry"));
	CHECK(has(r.out, "data=\"mine\"") && has(r.out, "data=\"yours\""));
	result_free(&r);
	CHECK(binary_exit_is(dir, 1));
	free(dir);

	dir = subdir("logmatch2");
	write_log(dir, "c", c);
	write_log(dir, "d", d);
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 1);
	CHECK(has(r.out, "violation: log matching: node c index 1 term 2: "
			 "node d has term 1 there, yet both hold index 2 "
			 "term 2"));
	result_free(&r);
	free(dir);
}

static void test_gaps_and_markers(void)
{
	char *dir = subdir("gaps");
	const struct rec a[] = {E(1, 1, "x1"), E(2, 1, "x2"), E(4, 1, "x4"),
				END};
	const struct rec b[] = {E(1, 1, "x1"), C(3), E(2, 1, "x2"), END};
	struct result r;

	write_log(dir, "a", a);
	write_log(dir, "b", b);
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 2);
	CHECK(has(r.out, "violation: indexes: node a index 4 term 1: follows "
			 "index 2"));
	CHECK(has(r.out, "violation: commit marker: node b index 3"));
	result_free(&r);
	free(dir);
}

static void test_damaged(void)
{
	char *dir = subdir("corrupt");
	const struct rec a[] = {E(1, 1, "x1"), E(2, 1, "x2"), E(3, 1, "x3"),
				C(3), END};
	char path[2048];
	struct result r;
	FILE *fp;
	int ch;

	write_log(dir, "a", a);
	write_log(dir, "b", a);
	/* Flip a byte inside entry 2's payload: a valid record follows. */
	snprintf(path, sizeof(path), "%s/b/raftlog", dir);
	fp = fopen(path, "r+b");
	if (fp == NULL)
		CHECK_HARD_ERROR("open %s", path);
	fseek(fp, RAFTLOG_HEADER_SIZE + raftlog_entry_size(8) + 20, SEEK_SET);
	ch = fgetc(fp);
	fseek(fp, -1, SEEK_CUR);
	fputc(ch ^ 0x40, fp);
	fclose(fp);
	r = run_check(dir);
	CHECK(r.rv == CHECK_EFILE);
	CHECK(has(r.err, path));
	CHECK(has(r.err, "corrupt: bad record at offset"));
	CHECK(has(r.err, "record checksum mismatch"));
	result_free(&r);
	CHECK(binary_exit_is(dir, 2));
	free(dir);

	/* Not a raftlog at all. */
	dir = subdir("garbage");
	write_log(dir, "a", a);
	snprintf(path, sizeof(path), "%s/a/raftlog", dir);
	fp = fopen(path, "wb");
	fputs("this is not a raft log, just some text of a decent length\n",
	      fp);
	fclose(fp);
	r = run_check(dir);
	CHECK(r.rv == CHECK_EFILE);
	CHECK(has(r.err, "bad magic"));
	result_free(&r);
	CHECK(binary_exit_is(dir, 2));

	/* Shorter than a header. */
	fp = fopen(path, "wb");
	fputs("RAFT", fp);
	fclose(fp);
	r = run_check(dir);
	CHECK(r.rv == CHECK_EFILE);
	CHECK(has(r.err, "shorter than the 32-byte header"));
	result_free(&r);
	free(dir);
}

/* Compacted logs.  a: a snapshot (5, 2) and a log after it; b: an older
 * snapshot (3, 1) and a longer log; c: the whole log, never compacted;
 * d: a restored node, a snapshot and no raftlog yet.  They agree: no
 * violation, and the summary shows where each log starts. */
static void test_compacted_healthy(void)
{
	char *dir = subdir("compacted");
	const struct rec a[] = {B(5, 2), E(6, 2, "x6"), E(7, 3, "x7"), C(7),
				END};
	const struct rec b[] = {B(3, 1),
				E(4, 2, "x4"),
				E(5, 2, "x5"),
				E(6, 2, "x6"),
				E(7, 3, "x7"),
				C(6),
				END};
	const struct rec c[] = {E(1, 1, "x1"), E(2, 1, "x2"), E(3, 1, "x3"),
				E(4, 2, "x4"), E(5, 2, "x5"), E(6, 2, "x6"),
				E(7, 3, "x7"), C(7),	      END};
	struct result r;

	write_log(dir, "a", a);
	write_snap(dir, "a", 5, 2, 0);
	write_log(dir, "b", b);
	write_snap(dir, "b", 3, 1, 0);
	write_log(dir, "c", c);
	write_snap(dir, "d", 5, 2, 0);
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 0);
	CHECK(has(r.out, "nodes: 4"));
	CHECK(has(r.out, "no violations"));
	CHECK(has(r.out, "log starts after index 5 (term 2)"));
	CHECK(has(r.out, "log starts after index 3 (term 1)"));
	CHECK(has(r.out, "no raftlog: a snapshot only"));
	CHECK(has(r.out, "SNAPSHOT"));
	CHECK(has(r.out, "committed on every node up to index 5, on some "
			 "node up to index 7"));
	CHECK(r.err[0] == '\0');
	result_free(&r);
	CHECK(binary_exit_is(dir, 0));
	free(dir);

	/* A node that holds, uncommitted, another entry at the snapshot's
	 * index of another node is a stale follower: a note only. */
	dir = subdir("compacted-stale");
	{
		const struct rec s[] = {E(1, 1, "x1"),
					E(2, 1, "x2"),
					E(3, 1, "x3"),
					C(3),
					E(4, 1, "stale4"),
					E(5, 1, "stale"),
					END};

		write_log(dir, "a", a);
		write_snap(dir, "a", 5, 2, 0);
		write_log(dir, "s", s);
	}
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 0);
	CHECK(has(r.out, "note: node s index 5 term 1: not committed there"));
	result_free(&r);
	free(dir);
}

/* Conflicts across a snapshot boundary must be reported. */
static void test_compacted_conflict(void)
{
	char *dir = subdir("compacted-conflict");
	const struct rec a[] = {B(5, 2), E(6, 2, "x6"), E(7, 3, "x7"), C(7),
				END};
	/* c committed entry 5 of term 3: a's snapshot and BASE say term 2. */
	const struct rec c[] = {
	    E(1, 1, "x1"), E(2, 1, "x2"),    E(3, 1, "x3"), E(4, 2, "x4"),
	    C(4),	   E(5, 3, "other"), C(5),	    END};
	/* b's log starts earlier and holds entry 6 of term 2 as a does, but
	 * another one: Log Matching and State Machine Safety both fail. */
	const struct rec b[] = {B(3, 1),
				E(4, 2, "x4"),
				E(5, 2, "x5"),
				E(6, 2, "mine"),
				E(7, 3, "x7"),
				C(7),
				END};
	struct result r;

	write_log(dir, "a", a);
	write_snap(dir, "a", 5, 2, 0);
	write_log(dir, "c", c);
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 2);
	CHECK(has(r.out, "violation: committed entry: node c index 5 term 3: "
			 "committed there, but node a's snapshot says term 2"));
	CHECK(has(r.out, "violation: committed entry: node c index 5 term 3: "
			 "committed there, but node a's BASE record says "
			 "term 2"));
	CHECK(has(r.out, "data=\"other\""));
	result_free(&r);
	CHECK(binary_exit_is(dir, 1));
	free(dir);

	dir = subdir("compacted-diverge");
	write_log(dir, "a", a);
	write_snap(dir, "a", 5, 2, 0);
	write_log(dir, "b", b);
	write_snap(dir, "b", 3, 1, 0);
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 2);
	CHECK(has(r.out, "violation: log matching: node a index 6 term 2: "
			 "node b has the same index and term but a different "
			 "entry"));
	CHECK(has(r.out, "violation: committed entry: node b index 6 term 2: "
			 "committed there, but node a committed a different "
			 "entry (term 2)"));
	CHECK(has(r.out, "data=\"mine\""));
	result_free(&r);
	CHECK(binary_exit_is(dir, 1));
	free(dir);

	/* Two snapshots of one index with different terms. */
	dir = subdir("compacted-snaps");
	write_snap(dir, "a", 5, 2, 0);
	write_snap(dir, "e", 5, 3, 0);
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 1);
	CHECK(has(r.out, "violation: committed entry: node e index 5 term 3: "
			 "its snapshot says so, but node a's snapshot says "
			 "term 2"));
	result_free(&r);
	free(dir);

	/* A BASE's term against a committed entry of another node, with no
	 * snapshot in the way (f's own snapshot agrees with its BASE). */
	dir = subdir("compacted-base");
	{
		const struct rec f[] = {B(4, 1), E(5, 2, "x5"), C(5), END};
		const struct rec g[] = {E(1, 1, "x1"),
					E(2, 1, "x2"),
					E(3, 1, "x3"),
					E(4, 2, "x4"),
					E(5, 2, "x5"),
					C(5),
					END};

		write_log(dir, "f", f);
		write_snap(dir, "f", 4, 1, 0);
		write_log(dir, "g", g);
	}
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations >= 2);
	CHECK(has(r.out, "violation: committed entry: node g index 4 term 2: "
			 "committed there, but node f's BASE record says "
			 "term 1"));
	CHECK(has(r.out, "violation: log matching: node f index 4 term 1: "
			 "node g has term 2 there, yet both hold index 5 "
			 "term 2"));
	result_free(&r);
	free(dir);
}

/* Logs that start where nothing on the node covers the entries before. */
static void test_log_start(void)
{
	char *dir = subdir("logstart");
	const struct rec a[] = {B(5, 2), E(6, 2, "x6"), C(6), END};
	struct result r;

	write_log(dir, "a", a); /* no snapshot at all */
	write_log(dir, "b", a);
	write_snap(dir, "b", 3, 1, 0); /* a snapshot older than the base */
	r = run_check(dir);
	CHECK(r.rv == CHECK_OK);
	CHECK(r.violations == 2);
	CHECK(has(r.out, "violation: log start: node a index 5 term 2: the "
			 "log starts after index 5 (its BASE record) but the "
			 "node has no snapshot"));
	CHECK(has(r.out, "violation: log start: node b index 5 term 2: the "
			 "log starts after index 5, past its snapshot's index "
			 "3: entries 4..5 are nowhere on this node"));
	result_free(&r);
	CHECK(binary_exit_is(dir, 1));
	free(dir);
}

/* Damaged snapshots and compacted logs are file errors. */
static void test_compacted_damaged(void)
{
	char *dir = subdir("compacted-corrupt");
	const struct rec a[] = {B(5, 2), E(6, 2, "x6"), C(6), END};
	/* A header that says the log starts at 6, and no BASE record. */
	const struct rec nobase[] = {E(6, 2, "x6"), C(6), END};
	const struct rec inside[] = {E(1, 1, "x1"), B(1, 1), END};
	struct result r;

	write_log(dir, "a", a);
	write_snap(dir, "a", 5, 2, 1);
	r = run_check(dir);
	CHECK(r.rv == CHECK_EFILE);
	CHECK(has(r.err, "a/snapshot: corrupt: "));
	result_free(&r);
	CHECK(binary_exit_is(dir, 2));
	free(dir);

	dir = subdir("compacted-nobase");
	write_log(dir, "a", nobase);
	write_snap(dir, "a", 5, 2, 0);
	r = run_check(dir);
	CHECK(r.rv == CHECK_EFILE);
	CHECK(has(r.err, "the log starts at index 6 but has no valid base "
			 "record"));
	result_free(&r);
	CHECK(binary_exit_is(dir, 2));
	free(dir);

	dir = subdir("compacted-inside");
	write_log(dir, "a", inside);
	r = run_check(dir);
	CHECK(r.rv == CHECK_EFILE);
	CHECK(has(r.err, "base record at offset"));
	result_free(&r);
	free(dir);
}

static void test_inputs(void)
{
	char *dir = subdir("inputs");
	char *empty = subdir("inputs-empty");
	const struct rec a[] = {E(1, 1, "x1"), END};
	char *args[3], file[2048], err[512];
	struct check_input *in = NULL;
	size_t n = 0;
	struct result r;

	write_log(dir, "n2", a);
	write_log(dir, "n1", a);
	mkdir(empty, 0700);
	args[0] = dir;
	CHECK(check_inputs_from_args(args, 1, &in, &n, err, sizeof(err)) == 0);
	CHECK(n == 2 && strcmp(in[0].name, "n1") == 0 &&
	      strcmp(in[1].name, "n2") == 0);
	CHECK(n == 2 && in[0].snap == NULL && in[1].snap == NULL);
	check_inputs_free(in, n);
	/* A snapshot beside a raftlog is the node's; a snapshot alone is a
	 * node too. */
	write_snap(dir, "n1", 1, 1, 0);
	write_snap(dir, "n3", 1, 1, 0);
	CHECK(check_inputs_from_args(args, 1, &in, &n, err, sizeof(err)) == 0);
	CHECK(n == 3 && in[0].snap != NULL && in[0].path != NULL &&
	      in[1].snap == NULL && strcmp(in[2].name, "n3") == 0 &&
	      in[2].path == NULL && in[2].snap != NULL);
	check_inputs_free(in, n);
	/* Files given one by one are named by their path. */
	snprintf(file, sizeof(file), "%s/n1/raftlog", dir);
	args[0] = file;
	args[1] = dir;
	CHECK(check_inputs_from_args(args, 2, &in, &n, err, sizeof(err)) == 0);
	CHECK(n == 4 && strcmp(in[0].name, file) == 0 && in[0].snap != NULL);
	check_inputs_free(in, n);
	/* A node's data dir itself (DIR/raftlog). */
	snprintf(file, sizeof(file), "%s/n1", dir);
	args[0] = file;
	CHECK(check_inputs_from_args(args, 1, &in, &n, err, sizeof(err)) == 0);
	CHECK(n == 1 && strcmp(in[0].name, file) == 0);
	check_inputs_free(in, n);
	args[0] = empty;
	CHECK(check_inputs_from_args(args, 1, &in, &n, err, sizeof(err)) ==
	      CHECK_EUSAGE);
	CHECK(has(err, "no raftlog files"));
	r = run_check("/nonexistent/raftlogs");
	CHECK(r.rv == CHECK_EUSAGE);
	CHECK(has(r.err, "No such file"));
	result_free(&r);
	CHECK(binary_exit_is(empty, 2));
	free(dir);
	free(empty);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	char cmd[1100];

	check_start("test_raftctl_check", 0);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_raftctl_check.XXXXXX",
		 t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		CHECK_HARD_ERROR("mkdtemp %s: %s", tmpdir, strerror(errno));
	test_healthy();
	test_divergent_commit();
	test_term_decrease();
	test_log_matching();
	test_gaps_and_markers();
	test_damaged();
	test_compacted_healthy();
	test_compacted_conflict();
	test_log_start();
	test_compacted_damaged();
	test_inputs();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_raftctl_check: could not remove %s\n",
			tmpdir);
	return check_summary();
}
