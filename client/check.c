/* check.c: `raftctl check`: reads raftlog and snapshot files copied from
 * several nodes and reports every violation of Raft's safety properties it
 * can see (the rules are in check.h). */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"
#include "raftlog.h"
#include "snapfile.h"
#include "util.h"

/* Pairs of logs can differ at many indexes; past this many lines per pair
 * the rest are counted, not listed. */
#define CHECK_MAX_PER_PAIR 5

struct centry {
	uint64_t index;
	uint64_t term;
	uint8_t type;
	uint32_t len;
	const uint8_t *data; /* into the mapping */
};

/* One node's log (and snapshot) as read from its files. */
struct clog {
	const char *name;
	const char *path; /* NULL: the node has a snapshot only */
	const char *snap_path;
	uint8_t *map;
	size_t size;
	uint64_t first_index;
	struct centry *e;
	size_t n, cap;
	/* e[0 .. n_good) sit at indexes first_index, first_index + 1, ...:
	 * the part that can be compared with other logs by index (the rest
	 * follows a gap in the indexes, itself a violation). */
	size_t n_good;
	uint64_t commit; /* highest COMMIT marker, 0 if none */
	/* A compacted log's BASE record: (first_index - 1, base_term). */
	bool has_base;
	uint64_t base_term;
	/* The node's snapshot: its last included index and term. */
	bool has_snap;
	uint64_t snap_index, snap_term, snap_size;
	/* What the node has committed (check.h): the log's entries up to
	 * log_commit, and every index up to committed. */
	uint64_t log_commit;
	uint64_t committed;
	bool torn;
	uint64_t torn_off;
	char torn_why[160];
};

/* The violations found, printed after the summary. */
struct vlist {
	char **v;
	size_t n, cap;
};

static void vlist_add(struct vlist *vl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void vlist_add(struct vlist *vl, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = xstrdup("violation: (out of memory formatting it)");
	va_end(ap);
	if (vl->n == vl->cap) {
		vl->cap = vl->cap ? 2 * vl->cap : 16;
		vl->v = util_xreallocarray(vl->v, vl->cap, sizeof(*vl->v));
	}
	vl->v[vl->n++] = s;
}

static void vlist_free(struct vlist *vl)
{
	for (size_t i = 0; i < vl->n; i++)
		free(vl->v[i]);
	free(vl->v);
}

static uint64_t clog_last_good(const struct clog *lg)
{
	return lg->first_index + lg->n_good - 1;
}

/* The entry at `index` in the comparable part of the log, or NULL. */
static const struct centry *clog_at(const struct clog *lg, uint64_t index)
{
	if (index < lg->first_index || index - lg->first_index >= lg->n_good)
		return NULL;
	return &lg->e[index - lg->first_index];
}

static uint64_t base_index(const struct clog *lg)
{
	return lg->first_index - 1;
}

/* The term this log knows for `index`: an entry's, or its BASE's; 0 when
 * it knows none. */
static uint64_t clog_term_at(const struct clog *lg, uint64_t index)
{
	const struct centry *e = clog_at(lg, index);

	if (e)
		return e->term;
	if (lg->has_base && index == base_index(lg))
		return lg->base_term;
	return 0;
}

/* Sets log_commit and committed (check.h, "What a node has
 * committed"): the marker, never past the entries the log holds (a
 * marker beyond them is reported on its own); the snapshot's index when
 * the log holds the snapshot's last entry with its term. */
static void clog_set_committed(struct clog *lg)
{
	uint64_t last = clog_last_good(lg);
	const struct centry *e;

	lg->log_commit = lg->commit < last ? lg->commit : last;
	if (lg->has_snap && (e = clog_at(lg, lg->snap_index)) != NULL &&
	    e->term == lg->snap_term && lg->snap_index > lg->log_commit)
		lg->log_commit = lg->snap_index;
	lg->committed = lg->log_commit;
	if (lg->has_snap && lg->snap_index > lg->committed)
		lg->committed = lg->snap_index;
	if (lg->has_base && base_index(lg) > lg->committed)
		lg->committed = base_index(lg);
}

static bool centry_equal(const struct centry *a, const struct centry *b)
{
	return a->term == b->term && a->type == b->type && a->len == b->len &&
	       (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* A short description of an entry for a violation line. */
static void centry_describe(const struct centry *e, char *out, size_t size)
{
	char line[COMMAND_FORMAT_SIZE];

	if (e->type == RAFTLOG_ENTRY_NOOP && e->len == 0) {
		snprintf(out, size, "no-op");
		return;
	}
	if (e->type == RAFTLOG_ENTRY_COMMAND) {
		command_describe(e->data, e->len, 0, line, sizeof(line));
		snprintf(out, size, "%s", line);
		return;
	}
	snprintf(out, size, "entry type %u, %" PRIu32 " bytes", e->type,
		 e->len);
}

static void clog_push(struct clog *lg, const struct raftlog_entry *re)
{
	struct centry *ce;

	if (lg->n == lg->cap) {
		lg->cap = lg->cap ? 2 * lg->cap : 256;
		lg->e = util_xreallocarray(lg->e, lg->cap, sizeof(*lg->e));
	}
	ce = &lg->e[lg->n++];
	ce->index = re->index;
	ce->term = re->term;
	ce->type = re->type;
	ce->len = re->len;
	ce->data = re->data;
}

/* Is there a valid record after the bad one at `p`?  If so the damage is
 * inside the log, not a torn tail.  Records start 8-byte aligned; an ENTRY
 * only counts if its index could follow the valid part (`expect`), so a
 * record-shaped payload of the torn record itself is not taken for one. */
static bool valid_after(const struct clog *lg, uint64_t p, uint64_t expect,
			uint64_t *found)
{
	struct raftlog_record rec;
	char why[8];

	for (uint64_t q = p + 8; q + RAFTLOG_REC_HEADER_SIZE <= lg->size;
	     q += 8) {
		if (raftlog_decode_record(lg->map + q, lg->size - q, &rec, NULL,
					  why, sizeof(why)) != RAFTLOG_OK)
			continue;
		if (rec.rtype == RAFTLOG_REC_ENTRY && rec.entry.index < expect)
			continue;
		*found = q;
		return true;
	}
	return false;
}

/* Reads the node's snapshot file, if it has one: its (index, term) from a
 * file whose every checksum holds.  CHECK_EFILE after one line to errf. */
static int clog_read_snapshot(struct clog *lg, FILE *errf)
{
	struct snapfile_meta *meta;
	char err[512];
	int rv;

	if (lg->snap_path == NULL)
		return CHECK_OK;
	meta = xmalloc(sizeof(*meta));
	rv = snapfile_verify_path(lg->snap_path, meta, err, sizeof(err));
	if (rv == SNAPFILE_OK) {
		lg->has_snap = true;
		lg->snap_index = meta->index;
		lg->snap_term = meta->term;
		lg->snap_size = meta->file_size;
	} else if (rv == SNAPFILE_ECORRUPT) {
		fprintf(errf, "raftctl: check: %s: corrupt: %s\n",
			lg->snap_path, err);
	} else {
		/* The message names the file already. */
		fprintf(errf, "raftctl: check: %s\n", err);
	}
	free(meta);
	return rv == SNAPFILE_OK ? CHECK_OK : CHECK_EFILE;
}

/* Maps the raftlog and decodes every record, adding per-log violations to
 * `vl`.  Returns CHECK_OK, or CHECK_EFILE after one line to errf. */
static int clog_read(struct clog *lg, struct vlist *vl, FILE *errf)
{
	struct raftlog_record rec;
	struct stat sb;
	char why[160];
	uint64_t p, prev_index, prev_term = 0, found;
	bool consecutive = true;
	int fd = -1, rv = CHECK_EFILE;

	if (clog_read_snapshot(lg, errf) != CHECK_OK)
		return CHECK_EFILE;
	if (lg->path == NULL) {
		/* A node with a snapshot only (restored, never started):
		 * its log will start right after the snapshot. */
		lg->first_index = lg->snap_index + 1;
		return CHECK_OK;
	}
	fd = open(lg->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(errf, "raftctl: check: %s: %s\n", lg->path,
			strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) < 0) {
		fprintf(errf, "raftctl: check: %s: fstat: %s\n", lg->path,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		fprintf(errf, "raftctl: check: %s: not a regular file\n",
			lg->path);
		goto out;
	}
	lg->size = (size_t)sb.st_size;
	if (lg->size < RAFTLOG_HEADER_SIZE) {
		fprintf(errf,
			"raftctl: check: %s: corrupt: file is %zu bytes, "
			"shorter than the %u-byte header\n",
			lg->path, lg->size, RAFTLOG_HEADER_SIZE);
		goto out;
	}
	lg->map = mmap(NULL, lg->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (lg->map == MAP_FAILED) {
		lg->map = NULL;
		fprintf(errf, "raftctl: check: %s: mmap: %s\n", lg->path,
			strerror(errno));
		goto out;
	}
	if (raftlog_decode_header(lg->map, lg->size, &lg->first_index, why,
				  sizeof(why)) != RAFTLOG_OK) {
		fprintf(errf, "raftctl: check: %s: corrupt: %s\n", lg->path,
			why);
		goto out;
	}
	prev_index = lg->first_index - 1;
	p = RAFTLOG_HEADER_SIZE;
	if (lg->first_index > 1) {
		/* A compacted log starts with its BASE record, written with
		 * the header to a temporary file that is renamed once
		 * durable: it is never torn, so anything else is damage. */
		int drv = raftlog_decode_record(lg->map + p, lg->size - p, &rec,
						NULL, why, sizeof(why));
		if (drv != RAFTLOG_OK || rec.rtype != RAFTLOG_REC_BASE ||
		    rec.base_index != prev_index || rec.base_term == 0) {
			if (drv == RAFTLOG_OK)
				snprintf(why, sizeof(why),
					 "the first record is not a base "
					 "record for index %" PRIu64,
					 prev_index);
			fprintf(errf,
				"raftctl: check: %s: corrupt: the log starts "
				"at index %" PRIu64 " but has no valid base "
				"record at offset %" PRIu64 " (%s)\n",
				lg->path, lg->first_index, p, why);
			goto out;
		}
		lg->has_base = true;
		lg->base_term = rec.base_term;
		prev_term = rec.base_term;
		p += rec.size;
	}
	while (p < lg->size) {
		int drv = raftlog_decode_record(lg->map + p, lg->size - p, &rec,
						NULL, why, sizeof(why));
		if (drv == RAFTLOG_ECORRUPT &&
		    valid_after(lg, p, prev_index + 1, &found)) {
			fprintf(errf,
				"raftctl: check: %s: corrupt: bad record at "
				"offset %" PRIu64 " (%s) with a valid record "
				"after it at offset %" PRIu64 "\n",
				lg->path, p, why, found);
			goto out;
		}
		if (drv != RAFTLOG_OK) {
			/* Nothing valid follows: an unfinished write, which
			 * raftd's recovery drops too. */
			lg->torn = true;
			lg->torn_off = p;
			snprintf(lg->torn_why, sizeof(lg->torn_why), "%s", why);
			break;
		}
		if (rec.rtype == RAFTLOG_REC_BASE) {
			fprintf(errf,
				"raftctl: check: %s: corrupt: base record at "
				"offset %" PRIu64 " inside the log (only a "
				"compacted log's first record is one)\n",
				lg->path, p);
			goto out;
		}
		if (rec.rtype == RAFTLOG_REC_ENTRY) {
			const struct raftlog_entry *re = &rec.entry;

			if (re->index != prev_index + 1) {
				vlist_add(vl,
					  "violation: indexes: node %s index "
					  "%" PRIu64 " term %" PRIu64
					  ": follows index %" PRIu64
					  " (indexes must be consecutive)",
					  lg->name, re->index, re->term,
					  prev_index);
				consecutive = false;
			}
			if (re->term == 0)
				vlist_add(vl,
					  "violation: terms: node %s index "
					  "%" PRIu64 " term 0: terms start "
					  "at 1",
					  lg->name, re->index);
			else if (re->term < prev_term)
				vlist_add(vl,
					  "violation: terms: node %s index "
					  "%" PRIu64 " term %" PRIu64
					  ": term decreases after term "
					  "%" PRIu64 " at index %" PRIu64,
					  lg->name, re->index, re->term,
					  prev_term, prev_index);
			clog_push(lg, re);
			if (consecutive)
				lg->n_good = lg->n;
			prev_index = re->index;
			prev_term = re->term;
		} else {
			if (rec.commit_index > prev_index)
				vlist_add(vl,
					  "violation: commit marker: node %s "
					  "index %" PRIu64 " term -: COMMIT "
					  "marker at offset %" PRIu64
					  " is past the last entry written "
					  "before it (index %" PRIu64 ")",
					  lg->name, rec.commit_index, p,
					  prev_index);
			if (rec.commit_index > lg->commit)
				lg->commit = rec.commit_index;
		}
		p += rec.size;
	}
	rv = CHECK_OK;
out:
	if (fd >= 0)
		close(fd);
	return rv;
}

static void clog_release(struct clog *lg)
{
	if (lg->map)
		munmap(lg->map, lg->size);
	free(lg->e);
}

/* The lowest index this log knows a term for: its BASE's, or its first
 * entry's. */
static uint64_t clog_low(const struct clog *lg)
{
	return lg->has_base ? base_index(lg) : lg->first_index;
}

/* Describes what log `lg` holds at `index` for a violation line. */
static void clog_describe_at(const struct clog *lg, uint64_t index, char *out,
			     size_t size)
{
	const struct centry *e = clog_at(lg, index);

	if (e)
		centry_describe(e, out, size);
	else
		snprintf(out, size, "its BASE record, term %" PRIu64 " only",
			 lg->base_term);
}

/* Log Matching (§5.3) between two logs (check.h): find the highest index
 * where both know a term and the terms agree; up to it, the entries both
 * hold must be identical, and where one knows only its BASE's term, the
 * terms must agree. */
static void check_pair(const struct clog *a, const struct clog *b,
		       struct vlist *vl)
{
	uint64_t la = clog_low(a), lb = clog_low(b);
	uint64_t lo = la > lb ? la : lb;
	uint64_t ha = clog_last_good(a), hb = clog_last_good(b);
	uint64_t hi = ha < hb ? ha : hb;
	uint64_t match = 0;
	size_t shown = 0, more = 0;
	char da[COMMAND_FORMAT_SIZE], db[COMMAND_FORMAT_SIZE];

	if (a->path == NULL || b->path == NULL || hi < lo || lo == 0)
		return;
	for (uint64_t i = hi; i >= lo; i--) {
		uint64_t ta = clog_term_at(a, i), tb = clog_term_at(b, i);

		if (ta != 0 && ta == tb) {
			match = i;
			break;
		}
		if (i == lo)
			break;
	}
	if (match == 0)
		return;
	for (uint64_t i = lo; i <= match; i++) {
		const struct centry *ea = clog_at(a, i), *eb = clog_at(b, i);
		uint64_t ta = clog_term_at(a, i), tb = clog_term_at(b, i);

		if (ta == 0 || tb == 0)
			continue;
		if (ea && eb ? centry_equal(ea, eb) : ta == tb)
			continue;
		if (shown == CHECK_MAX_PER_PAIR) {
			more++;
			continue;
		}
		shown++;
		clog_describe_at(a, i, da, sizeof(da));
		clog_describe_at(b, i, db, sizeof(db));
		if (ta == tb)
			vlist_add(vl,
				  "violation: log matching: node %s index "
				  "%" PRIu64 " term %" PRIu64 ": node %s has "
				  "the same index and term but a different "
				  "entry (%s: %s; %s: %s)",
				  a->name, i, ta, b->name, a->name, da, b->name,
				  db);
		else
			vlist_add(vl,
				  "violation: log matching: node %s index "
				  "%" PRIu64 " term %" PRIu64 ": node %s has "
				  "term %" PRIu64 " there, yet both hold "
				  "index %" PRIu64 " term %" PRIu64
				  " (%s: %s; %s: %s)",
				  a->name, i, ta, b->name, tb, match,
				  clog_term_at(a, match), a->name, da, b->name,
				  db);
	}
	if (more > 0)
		vlist_add(vl,
			  "violation: log matching: nodes %s and %s differ at "
			  "%zu more indexes up to index %" PRIu64
			  " (not listed)",
			  a->name, b->name, more, match);
}

/* One committed (index, term) fact of a node: its snapshot's or its
 * BASE's. */
struct cfact {
	size_t node;
	uint64_t index, term;
	const char *what; /* "snapshot" or "BASE record" */
};

/* Per node: where its log starts against its snapshot (rule `log start`),
 * and a log that ends before its own snapshot (a note). */
static void check_log_start(const struct clog *lg, struct vlist *vl,
			    struct vlist *notes)
{
	if (lg->path == NULL)
		return;
	if (lg->has_base && !lg->has_snap)
		vlist_add(vl,
			  "violation: log start: node %s index %" PRIu64
			  " term %" PRIu64 ": the log starts after index "
			  "%" PRIu64 " (its BASE record) but the node has no "
			  "snapshot: entries 1..%" PRIu64 " are nowhere on "
			  "this node",
			  lg->name, base_index(lg), lg->base_term,
			  base_index(lg), base_index(lg));
	else if (lg->has_base && base_index(lg) > lg->snap_index)
		vlist_add(vl,
			  "violation: log start: node %s index %" PRIu64
			  " term %" PRIu64 ": the log starts after index "
			  "%" PRIu64 ", past its snapshot's index %" PRIu64
			  ": entries %" PRIu64 "..%" PRIu64 " are nowhere on "
			  "this node",
			  lg->name, base_index(lg), lg->base_term,
			  base_index(lg), lg->snap_index, lg->snap_index + 1,
			  base_index(lg));
	else if (lg->has_snap && clog_last_good(lg) < lg->snap_index)
		vlist_add(notes,
			  "note: node %s: its log ends at index %" PRIu64
			  ", before its snapshot's index %" PRIu64
			  " (term %" PRIu64 "): raftd starts such a log afresh "
			  "after the snapshot (a follower that installed the "
			  "leader's snapshot), or the log was copied before "
			  "the snapshot",
			  lg->name, clog_last_good(lg), lg->snap_index,
			  lg->snap_term);
}

/* State Machine Safety for the committed (index, term) facts (check.h):
 * each fact against every other fact at its index, and against every
 * node's entry there. */
static void check_facts(const struct clog *lg, size_t n, struct vlist *vl,
			struct vlist *notes, bool *noted)
{
	struct cfact *f = xcalloc(2 * n + 1, sizeof(*f));
	size_t nf = 0;

	for (size_t k = 0; k < n; k++) {
		if (lg[k].has_base)
			f[nf++] =
			    (struct cfact){k, base_index(&lg[k]),
					   lg[k].base_term, "BASE record"};
		if (lg[k].has_snap)
			f[nf++] = (struct cfact){k, lg[k].snap_index,
						 lg[k].snap_term, "snapshot"};
	}
	for (size_t x = 0; x < nf; x++) {
		const struct cfact *fx = &f[x];

		/* Fact against fact: each pair once. */
		for (size_t y = x + 1; y < nf; y++) {
			const struct cfact *fy = &f[y];

			if (fy->index != fx->index || fy->term == fx->term)
				continue;
			vlist_add(vl,
				  "violation: committed entry: node %s index "
				  "%" PRIu64 " term %" PRIu64 ": its %s says "
				  "so, but node %s's %s says term %" PRIu64,
				  lg[fy->node].name, fy->index, fy->term,
				  fy->what, lg[fx->node].name, fx->what,
				  fx->term);
		}
		/* Fact against entries. */
		for (size_t k = 0; k < n; k++) {
			const struct centry *e = clog_at(&lg[k], fx->index);
			char d[COMMAND_FORMAT_SIZE];

			if (e == NULL || e->term == fx->term)
				continue;
			if (fx->index > lg[k].log_commit) {
				if (!noted[k])
					vlist_add(
					    notes,
					    "note: node %s index %" PRIu64
					    " term %" PRIu64 ": not committed "
					    "there and differs from the term "
					    "node %s's %s records (%" PRIu64
					    "); %s",
					    lg[k].name, fx->index, e->term,
					    lg[fx->node].name, fx->what,
					    fx->term,
					    k == fx->node ? "raftd starts this "
							    "log afresh "
							    "after the snapshot"
							  : "the leader will "
							    "overwrite it");
				noted[k] = true;
				continue;
			}
			centry_describe(e, d, sizeof(d));
			vlist_add(vl,
				  "violation: committed entry: node %s index "
				  "%" PRIu64 " term %" PRIu64 ": committed "
				  "there, but node %s's %s says term %" PRIu64
				  " (%s: %s)",
				  lg[k].name, fx->index, e->term,
				  lg[fx->node].name, fx->what, fx->term,
				  lg[k].name, d);
		}
	}
	free(f);
}

/* State Machine Safety (§5.4.3): no two nodes commit (and so apply)
 * different entries at the same index.  The reference for an index is the
 * first log (in input order) that committed it.
 *
 * A node that holds the index WITHOUT having committed it may hold another
 * entry there: a follower that has not yet been repaired keeps a stale
 * entry of an old term (the Raft paper's Figure 7, and any leader killed
 * after appending locally).  That is a note, not a violation. */
static void check_committed(const struct clog *lg, size_t n, struct vlist *vl,
			    struct vlist *notes, bool *noted)
{
	uint64_t max_commit = 0, lo = UINT64_MAX;
	char dr[COMMAND_FORMAT_SIZE], dx[COMMAND_FORMAT_SIZE];
	size_t *shown = xcalloc(n, sizeof(*shown));
	size_t *more = xcalloc(n, sizeof(*more));

	for (size_t k = 0; k < n; k++) {
		if (lg[k].log_commit > max_commit)
			max_commit = lg[k].log_commit;
		if (lg[k].first_index < lo)
			lo = lg[k].first_index;
	}
	for (uint64_t i = lo; max_commit > 0 && i <= max_commit; i++) {
		const struct clog *ref = NULL;
		const struct centry *er = NULL;

		for (size_t k = 0; k < n && ref == NULL; k++) {
			if (lg[k].log_commit >= i && clog_at(&lg[k], i)) {
				ref = &lg[k];
				er = clog_at(ref, i);
			}
		}
		if (ref == NULL)
			continue;
		for (size_t k = 0; k < n; k++) {
			const struct centry *ex = clog_at(&lg[k], i);

			if (&lg[k] == ref || ex == NULL || centry_equal(er, ex))
				continue;
			if (lg[k].log_commit < i) {
				if (!noted[k])
					vlist_add(notes,
						  "note: node %s index %" PRIu64
						  " term %" PRIu64
						  ": not committed there and "
						  "differs from the entry node "
						  "%s committed (term %" PRIu64
						  "); the leader will "
						  "overwrite it",
						  lg[k].name, i, ex->term,
						  ref->name, er->term);
				noted[k] = true;
				continue;
			}
			if (shown[k] == CHECK_MAX_PER_PAIR) {
				more[k]++;
				continue;
			}
			shown[k]++;
			centry_describe(er, dr, sizeof(dr));
			centry_describe(ex, dx, sizeof(dx));
			vlist_add(vl,
				  "violation: committed entry: node %s index "
				  "%" PRIu64 " term %" PRIu64 ": committed "
				  "there, but node %s committed a different "
				  "entry (term %" PRIu64 ") (%s: %s; %s: %s)",
				  lg[k].name, i, ex->term, ref->name, er->term,
				  ref->name, dr, lg[k].name, dx);
		}
	}
	for (size_t k = 0; k < n; k++)
		if (more[k] > 0)
			vlist_add(vl,
				  "violation: committed entry: node %s: %zu "
				  "more committed entries differ (not listed)",
				  lg[k].name, more[k]);
	free(shown);
	free(more);
}

/* A number, or "-" for none. */
static void num_cell(bool have, uint64_t v, char *out, size_t size)
{
	if (have)
		snprintf(out, size, "%" PRIu64, v);
	else
		snprintf(out, size, "-");
}

static void print_summary(const struct clog *lg, size_t n, FILE *out)
{
	int w = 4;
	uint64_t everywhere = UINT64_MAX, anywhere = 0;

	for (size_t k = 0; k < n; k++) {
		int len = (int)strlen(lg[k].name);
		if (len > w)
			w = len;
	}
	fprintf(out, "nodes: %zu\n", n);
	fprintf(out, "%-*s %8s %8s %8s %9s %8s %8s %9s  %s\n", w, "NODE",
		"FIRST", "LAST", "ENTRIES", "LAST-TERM", "COMMIT", "SNAPSHOT",
		"SNAP-TERM", "NOTE");
	for (size_t k = 0; k < n; k++) {
		const struct clog *l = &lg[k];
		bool log = l->path != NULL;
		/* A compacted log without entries ends at its BASE. */
		uint64_t last = l->n ? l->e[l->n - 1].index : base_index(l);
		uint64_t term = l->n ? l->e[l->n - 1].term : l->base_term;
		char first[24], lastc[24], termc[24], si[24], st[24];

		num_cell(log, l->first_index, first, sizeof(first));
		num_cell(log, last, lastc, sizeof(lastc));
		num_cell(log, term, termc, sizeof(termc));
		num_cell(l->has_snap, l->snap_index, si, sizeof(si));
		num_cell(l->has_snap, l->snap_term, st, sizeof(st));
		fprintf(out, "%-*s %8s %8s %8zu %9s %8" PRIu64 " %8s %9s", w,
			l->name, first, lastc, l->n, termc, l->committed, si,
			st);
		if (!log)
			fprintf(out, "  no raftlog: a snapshot only");
		else if (l->has_base)
			fprintf(out,
				"  log starts after index %" PRIu64
				" (term %" PRIu64 ")",
				base_index(l), l->base_term);
		if (l->torn)
			fprintf(out,
				"%storn tail dropped at offset %" PRIu64
				" (%s)",
				l->has_base ? "; " : "  ", l->torn_off,
				l->torn_why);
		fputc('\n', out);
		if (l->committed < everywhere)
			everywhere = l->committed;
		if (l->committed > anywhere)
			anywhere = l->committed;
	}
	fprintf(out,
		"committed on every node up to index %" PRIu64
		", on some node up to index %" PRIu64 "\n",
		n ? everywhere : 0, anywhere);
}

int check_run(const struct check_input *in, size_t n, FILE *out, FILE *errf,
	      size_t *violations)
{
	struct clog *lg = xcalloc(n, sizeof(*lg));
	struct vlist vl = {0}, notes = {0};
	bool *noted = xcalloc(n + 1, sizeof(*noted));
	int rv = CHECK_OK;

	*violations = 0;
	for (size_t k = 0; k < n; k++) {
		lg[k].name = in[k].name;
		lg[k].path = in[k].path;
		lg[k].snap_path = in[k].snap;
		if (clog_read(&lg[k], &vl, errf) != CHECK_OK)
			rv = CHECK_EFILE;
		else
			clog_set_committed(&lg[k]);
	}
	if (rv != CHECK_OK)
		goto out;
	for (size_t k = 0; k < n; k++)
		check_log_start(&lg[k], &vl, &notes);
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++)
			check_pair(&lg[a], &lg[b], &vl);
	check_facts(lg, n, &vl, &notes, noted);
	check_committed(lg, n, &vl, &notes, noted);
	print_summary(lg, n, out);
	for (size_t i = 0; i < notes.n; i++)
		fprintf(out, "%s\n", notes.v[i]);
	for (size_t i = 0; i < vl.n; i++)
		fprintf(out, "%s\n", vl.v[i]);
	if (vl.n == 0)
		fputs("no violations\n", out);
	else
		fprintf(out, "%zu violation%s\n", vl.n, vl.n == 1 ? "" : "s");
	*violations = vl.n;
out:
	for (size_t k = 0; k < n; k++)
		clog_release(&lg[k]);
	free(lg);
	free(noted);
	vlist_free(&vl);
	vlist_free(&notes);
	return rv;
}

/* ---- inputs --------------------------------------------------------- */

static bool is_file(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Adds the node whose files are DIR/raftlog and DIR/snapshot (either may
 * be missing, not both): returns whether it found one. */
static bool inputs_push_dir(struct check_input **v, size_t *n, size_t *cap,
			    const char *name, const char *dir)
{
	char *log = util_xasprintf("%s/raftlog", dir);
	char *snap = util_xasprintf("%s/snapshot", dir);
	bool has_log = is_file(log), has_snap = is_file(snap);

	if (has_log || has_snap) {
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 8;
			*v = util_xreallocarray(*v, *cap, sizeof(**v));
		}
		(*v)[*n].name = xstrdup(name);
		(*v)[*n].path = has_log ? log : NULL;
		(*v)[*n].snap = has_snap ? snap : NULL;
		(*n)++;
	}
	if (!has_log)
		free(log);
	if (!has_snap)
		free(snap);
	return has_log || has_snap;
}

/* A raftlog given as a file: its node's snapshot is the `snapshot`
 * beside it when the file is called `raftlog` (a data dir's layout). */
static void inputs_push_file(struct check_input **v, size_t *n, size_t *cap,
			     const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char *snap = NULL;

	if (strcmp(base, "raftlog") == 0) {
		snap = util_xasprintf("%.*ssnapshot", (int)(base - path), path);
		if (!is_file(snap)) {
			free(snap);
			snap = NULL;
		}
	}
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 8;
		*v = util_xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[*n].name = xstrdup(path);
	(*v)[*n].path = xstrdup(path);
	(*v)[*n].snap = snap;
	(*n)++;
}

static int input_cmp(const void *a, const void *b)
{
	const struct check_input *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int check_inputs_from_args(char *const *args, size_t nargs,
			   struct check_input **out, size_t *n, char *err,
			   size_t errlen)
{
	struct check_input *v = NULL;
	size_t nv = 0, cap = 0;
	int rv = CHECK_EUSAGE;

	for (size_t i = 0; i < nargs; i++) {
		const char *arg = args[i];
		struct stat sb;
		struct dirent *de;
		size_t before = nv;
		DIR *d;

		if (stat(arg, &sb) < 0) {
			snprintf(err, errlen, "%s: %s", arg, strerror(errno));
			goto out;
		}
		if (!S_ISDIR(sb.st_mode)) {
			inputs_push_file(&v, &nv, &cap, arg);
			continue;
		}
		d = opendir(arg);
		if (d == NULL) {
			snprintf(err, errlen, "%s: %s", arg, strerror(errno));
			goto out;
		}
		while ((de = readdir(d)) != NULL) {
			char *sub;

			if (de->d_name[0] == '.')
				continue;
			sub = util_xasprintf("%s/%s", arg, de->d_name);
			inputs_push_dir(&v, &nv, &cap, de->d_name, sub);
			free(sub);
		}
		closedir(d);
		if (nv > before)
			qsort(v + before, nv - before, sizeof(*v), input_cmp);
		if (nv == before && !inputs_push_dir(&v, &nv, &cap, arg, arg)) {
			snprintf(err, errlen,
				 "%s: no raftlog files in it (looked for "
				 "%s/*/raftlog and %s/raftlog, and for "
				 "snapshot files beside them)",
				 arg, arg, arg);
			goto out;
		}
	}
	if (nv == 0) {
		snprintf(err, errlen, "nothing to check");
		goto out;
	}
	*out = v;
	*n = nv;
	v = NULL;
	nv = 0;
	rv = CHECK_OK;
out:
	check_inputs_free(v, nv);
	return rv;
}

void check_inputs_free(struct check_input *in, size_t n)
{
	if (in == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(in[i].name);
		free(in[i].path);
		free(in[i].snap);
	}
	free(in);
}
