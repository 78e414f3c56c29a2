/* check.c: `raftctl check`: reads raftlog files copied from several nodes
 * and reports every violation of Raft's safety properties it can see. */
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

/* One node's log as read from its file. */
struct clog {
	const char *name;
	const char *path;
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

/* The commit index this log can vouch for: its marker, but never past the
 * entries it holds (a marker beyond them is reported on its own). */
static uint64_t clog_commit(const struct clog *lg)
{
	uint64_t last = clog_last_good(lg);

	return lg->commit < last ? lg->commit : last;
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

/* Maps the file and decodes every record, adding per-log violations to
 * `vl`.  Returns CHECK_OK, or CHECK_EFILE after one line to errf. */
static int clog_read(struct clog *lg, struct vlist *vl, FILE *errf)
{
	struct raftlog_record rec;
	struct stat sb;
	char why[160];
	uint64_t p, prev_index, prev_term = 0, found;
	bool consecutive = true;
	int fd, rv = CHECK_EFILE;

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

/* Log Matching (§5.3) between two logs: find the highest index where both
 * hold an entry of the same term; the logs must be identical up to it. */
static void check_pair(const struct clog *a, const struct clog *b,
		       struct vlist *vl)
{
	uint64_t lo =
	    a->first_index > b->first_index ? a->first_index : b->first_index;
	uint64_t ha = clog_last_good(a), hb = clog_last_good(b);
	uint64_t hi = ha < hb ? ha : hb;
	uint64_t match = 0;
	size_t shown = 0, more = 0;
	char da[COMMAND_FORMAT_SIZE], db[COMMAND_FORMAT_SIZE];

	if (a->n_good == 0 || b->n_good == 0 || hi < lo)
		return;
	for (uint64_t i = hi; i >= lo; i--) {
		if (clog_at(a, i)->term == clog_at(b, i)->term) {
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

		if (centry_equal(ea, eb))
			continue;
		if (shown == CHECK_MAX_PER_PAIR) {
			more++;
			continue;
		}
		shown++;
		centry_describe(ea, da, sizeof(da));
		centry_describe(eb, db, sizeof(db));
		if (ea->term == eb->term)
			vlist_add(vl,
				  "violation: log matching: node %s index "
				  "%" PRIu64 " term %" PRIu64 ": node %s has "
				  "the same index and term but a different "
				  "entry (%s: %s; %s: %s)",
				  a->name, i, ea->term, b->name, a->name, da,
				  b->name, db);
		else
			vlist_add(vl,
				  "violation: log matching: node %s index "
				  "%" PRIu64 " term %" PRIu64 ": node %s has "
				  "term %" PRIu64 " there, yet both hold "
				  "index %" PRIu64 " term %" PRIu64
				  " (%s: %s; %s: %s)",
				  a->name, i, ea->term, b->name, eb->term,
				  match, clog_at(a, match)->term, a->name, da,
				  b->name, db);
	}
	if (more > 0)
		vlist_add(vl,
			  "violation: log matching: nodes %s and %s differ at "
			  "%zu more indexes up to index %" PRIu64
			  " (not listed)",
			  a->name, b->name, more, match);
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
			    struct vlist *notes)
{
	uint64_t max_commit = 0, lo = UINT64_MAX;
	char dr[COMMAND_FORMAT_SIZE], dx[COMMAND_FORMAT_SIZE];
	size_t *shown = xcalloc(n, sizeof(*shown));
	size_t *more = xcalloc(n, sizeof(*more));
	bool *noted = xcalloc(n, sizeof(*noted));

	for (size_t k = 0; k < n; k++) {
		if (clog_commit(&lg[k]) > max_commit)
			max_commit = clog_commit(&lg[k]);
		if (lg[k].first_index < lo)
			lo = lg[k].first_index;
	}
	for (uint64_t i = lo; max_commit > 0 && i <= max_commit; i++) {
		const struct clog *ref = NULL;
		const struct centry *er = NULL;

		for (size_t k = 0; k < n && ref == NULL; k++) {
			if (clog_commit(&lg[k]) >= i && clog_at(&lg[k], i)) {
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
			if (clog_commit(&lg[k]) < i) {
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
	free(noted);
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
	fprintf(out, "%-*s %8s %8s %8s %9s %8s  %s\n", w, "NODE", "FIRST",
		"LAST", "ENTRIES", "LAST-TERM", "COMMIT", "NOTE");
	for (size_t k = 0; k < n; k++) {
		const struct clog *l = &lg[k];
		uint64_t last =
		    l->n ? l->e[l->n - 1].index : l->first_index - 1;
		uint64_t term = l->n ? l->e[l->n - 1].term : 0;

		fprintf(out,
			"%-*s %8" PRIu64 " %8" PRIu64 " %8zu %9" PRIu64
			" %8" PRIu64,
			w, l->name, l->first_index, last, l->n, term,
			l->commit);
		if (l->torn)
			fprintf(out,
				"  torn tail dropped at offset %" PRIu64
				" (%s)",
				l->torn_off, l->torn_why);
		fputc('\n', out);
		if (clog_commit(l) < everywhere)
			everywhere = clog_commit(l);
		if (clog_commit(l) > anywhere)
			anywhere = clog_commit(l);
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
	int rv = CHECK_OK;

	*violations = 0;
	for (size_t k = 0; k < n; k++) {
		lg[k].name = in[k].name;
		lg[k].path = in[k].path;
		if (clog_read(&lg[k], &vl, errf) != CHECK_OK)
			rv = CHECK_EFILE;
	}
	if (rv != CHECK_OK)
		goto out;
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++)
			check_pair(&lg[a], &lg[b], &vl);
	check_committed(lg, n, &vl, &notes);
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
	vlist_free(&vl);
	vlist_free(&notes);
	return rv;
}

/* ---- inputs --------------------------------------------------------- */

static void inputs_push(struct check_input **v, size_t *n, size_t *cap,
			const char *name, const char *path)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 8;
		*v = util_xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[*n].name = xstrdup(name);
	(*v)[*n].path = xstrdup(path);
	(*n)++;
}

static int input_cmp(const void *a, const void *b)
{
	const struct check_input *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static bool is_file(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
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
			inputs_push(&v, &nv, &cap, arg, arg);
			continue;
		}
		d = opendir(arg);
		if (d == NULL) {
			snprintf(err, errlen, "%s: %s", arg, strerror(errno));
			goto out;
		}
		while ((de = readdir(d)) != NULL) {
			char *path;

			if (de->d_name[0] == '.')
				continue;
			path = util_xasprintf("%s/%s/raftlog", arg, de->d_name);
			if (is_file(path))
				inputs_push(&v, &nv, &cap, de->d_name, path);
			free(path);
		}
		closedir(d);
		if (nv > before)
			qsort(v + before, nv - before, sizeof(*v), input_cmp);
		if (nv == before) {
			char *path = util_xasprintf("%s/raftlog", arg);

			if (is_file(path))
				inputs_push(&v, &nv, &cap, arg, path);
			free(path);
		}
		if (nv == before) {
			snprintf(err, errlen,
				 "%s: no raftlog files in it (looked for "
				 "%s/*/raftlog and %s/raftlog)",
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
	}
	free(in);
}
