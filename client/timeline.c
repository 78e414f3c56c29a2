/* timeline.c: `raftctl timeline`: draws a cluster run (raftlogs and node
 * logs downloaded from the nodes) as one SVG (timeline.h). */
#include "timeline.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "raftlog.h"
#include "snapfile.h"
#include "util.h"

/* ---- limits and layout ---------------------------------------------- */

#define TL_LINE_MAX 4096	  /* longer log lines: the rest is skipped */
#define TL_MAX_LINES 2000000u	  /* per node log */
#define TL_MAX_ALL_LINES 8000000u /* in all node logs together */
#define TL_MAX_RUNS (4u * 1024 * 1024) /* terms in one raftlog */
#define TL_MAX_LEGEND 24	       /* terms listed in the legend */
#define TL_NAME_MAX 28		       /* characters of a name shown */

#define TL_COLS 1000 /* the plot's width in px: one column each */
#define TL_LEFT 170  /* room for the lane names */
#define TL_RIGHT 30
#define TL_WIDTH (TL_LEFT + TL_COLS + TL_RIGHT)
#define TL_LANE_H 34 /* a time lane: bar, strip, gap */
#define TL_BAR_H 20
#define TL_ROW_H 26 /* a log-index row */

/* ---- what a node log says ------------------------------------------- */

enum tl_role {
	TL_NONE = 0, /* nothing known (no log line yet) */
	TL_FOLLOWER,
	TL_PRECAND,
	TL_CAND,
	TL_LEADER,
	TL_DOWN,
};

enum tl_ev_type {
	EV_START = 1, /* a = the last line's time of the run before */
	EV_STOPPED,
	EV_SHUTDOWN,
	EV_TERM,   /* a = term */
	EV_ROLE,   /* a = term, role = the new role */
	EV_FOLLOW, /* a = term, b = leader id */
	EV_STEPDOWN,
	EV_PEER_DOWN, /* b = peer id */
	EV_PEER_UP,
};

struct tl_ev {
	int64_t t; /* ms since the epoch */
	uint64_t a;
	uint32_t b;
	uint8_t type;
	uint8_t role;
};

enum tl_mark {
	MK_START = 1u << 0,
	MK_STOP = 1u << 1,
	MK_KILLED = 1u << 2,
	MK_ELECTION = 1u << 3,
	MK_STEPDOWN = 1u << 4,
	MK_LEADER = 1u << 5,
};

/* A span of one role in one term, or down. */
struct tl_seg {
	int64_t t0, t1;
	uint64_t term;
	uint8_t role;
};

struct tl_mk {
	int64_t t;
	uint8_t kind;
};

/* While the node could not reach peer lane `peer`. */
struct tl_cut {
	int64_t t0, t1;
	size_t peer;
};

/* A raftlog as runs of one term: entries start .. the next run's start - 1
 * have term `term`. */
struct tl_run {
	uint64_t start, term;
};

struct tl_node {
	const char *name; /* borrowed from the input */
	/* The raftlog. */
	bool log_ok;
	uint64_t first_index, last_index, base_term, commit, committed;
	bool has_base, torn;
	struct tl_run *runs;
	size_t nruns, caprun;
	bool has_snap;
	uint64_t snap_index, snap_term;
	/* The node log. */
	bool has_nodelog;
	uint32_t id; /* node=ID of its lines, 0 if unknown */
	struct tl_ev *ev;
	size_t nev, capev;
	bool has_t;		 /* it has a line with a time */
	int64_t first_t, last_t; /* of those lines */
	size_t bad_lines, lines;
	/* When the others logged it unreachable / reachable again. */
	int64_t *lost_t, *back_t;
	size_t nlost, caplost, nback, capback;
	/* ... unreachable, by a node cut off from a majority then. */
	int64_t *lost_cut_t;
	size_t nlost_cut, caplost_cut;
	/* Built from the events. */
	struct tl_seg *seg;
	size_t nseg, capseg;
	struct tl_mk *mk;
	size_t nmk, capmk;
	struct tl_cut *cut;
	size_t ncut, capcut;
	struct tl_cut *stopw; /* shutting down: from "received ..." to
				 "stopped" (peer unused) */
	size_t nstopw, capstopw;
	/* The columns of the time lane. */
	uint8_t *col_role;
	uint64_t *col_term;
	uint64_t *col_mask; /* lanes it could not reach */
	uint8_t *col_mark;
	uint8_t *col_stop; /* shutting down in that column */
};

/* Term -> the lanes that led it (from the node logs). */
struct tl_lead {
	uint64_t term;
	uint64_t lanes; /* bit per lane */
};

struct tl {
	struct tl_node *nd;
	size_t n;
	struct tl_lead *lead;
	size_t nlead, caplead;
	int64_t t0, t1; /* the time axis */
	bool have_time;
	size_t ref; /* the reference log's lane, or n */
};

/* ---- small helpers --------------------------------------------------- */

#define GROW(p, n, cap)                                                        \
	do {                                                                   \
		if ((n) == (cap)) {                                            \
			(cap) = (cap) ? 2 * (cap) : 16;                        \
			(p) = util_xreallocarray((p), (cap), sizeof(*(p)));    \
		}                                                              \
	} while (0)

/* Parses decimal digits at *s (at least one, no sign) into *v; advances. */
static bool parse_num(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;

	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
		p++;
	}
	*s = p;
	*v = x;
	return true;
}

static bool skip(const char **s, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*s, lit, n) != 0)
		return false;
	*s += n;
	return true;
}

static int role_of(const char *s, size_t len)
{
	static const struct {
		const char *name;
		int role;
	} roles[] = {{"follower", TL_FOLLOWER},
		     {"precandidate", TL_PRECAND},
		     {"candidate", TL_CAND},
		     {"leader", TL_LEADER}};

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strlen(roles[i].name) == len &&
		    memcmp(roles[i].name, s, len) == 0)
			return roles[i].role;
	return TL_NONE;
}

/* Fixed-width digits. */
static bool digits(const char *s, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (raftd's stamp, UTC) -> ms since the epoch. */
static bool parse_stamp(const char *s, int64_t *ms)
{
	struct tm tm;
	int y, mo, d, h, mi, se, milli;
	time_t t;

	if (strlen(s) < 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z')
		return false;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
	    !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se) ||
	    !digits(s + 20, 3, &milli))
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*ms = (int64_t)t * 1000 + milli;
	return true;
}

/* ---- reading a raftlog ----------------------------------------------- */

static int scan_entry(void *arg, const struct raftlog_entry *e, uint64_t off)
{
	struct tl_node *nd = arg;

	(void)off;
	if (nd->nruns > 0 && nd->runs[nd->nruns - 1].term == e->term)
		return 0;
	if (nd->nruns == TL_MAX_RUNS)
		return 1;
	GROW(nd->runs, nd->nruns, nd->caprun);
	nd->runs[nd->nruns].start = e->index;
	nd->runs[nd->nruns].term = e->term;
	nd->nruns++;
	return 0;
}

static int scan_commit(void *arg, uint64_t commit, uint64_t off)
{
	struct tl_node *nd = arg;

	(void)off;
	if (commit > nd->commit)
		nd->commit = commit;
	return 0;
}

/* The term of entry `index` on this node, 0 if it holds none (a BASE
 * counts). */
static uint64_t node_term_at(const struct tl_node *nd, uint64_t index)
{
	size_t lo = 0, hi = nd->nruns;

	if (!nd->log_ok)
		return 0;
	if (nd->has_base && index == nd->first_index - 1)
		return nd->base_term;
	if (index < nd->first_index || index > nd->last_index || hi == 0)
		return 0;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (nd->runs[mid].start <= index)
			lo = mid;
		else
			hi = mid;
	}
	return nd->runs[lo].term;
}

/* Reads the node's raftlog and snapshot; false after one line to errf. */
static bool read_raftlog(struct tl_node *nd, const struct check_input *in,
			 FILE *errf)
{
	static const struct raftlog_scan_ops ops0 = {scan_entry, scan_commit,
						     NULL};
	struct raftlog_scan_ops ops = ops0;
	struct raftlog_scan_result res;
	struct snapfile_meta *meta = NULL;
	char err[768];
	int rv;
	bool ok = false;

	if (in->snap != NULL) {
		meta = xmalloc(sizeof(*meta));
		rv = snapfile_verify_path(in->snap, meta, err, sizeof(err));
		if (rv != SNAPFILE_OK) {
			fprintf(errf, "raftctl: timeline: %s: %s\n", in->snap,
				err);
			goto out;
		}
		nd->has_snap = true;
		nd->snap_index = meta->index;
		nd->snap_term = meta->term;
	}
	if (in->path == NULL) {
		/* A snapshot only: an empty log after it. */
		nd->first_index = nd->snap_index + 1;
		nd->last_index = nd->snap_index;
		nd->committed = nd->snap_index;
		nd->log_ok = true;
		ok = true;
		goto out;
	}
	ops.arg = nd;
	memset(&res, 0, sizeof(res));
	rv = raftlog_scan_file(in->path, &ops, &res, err, sizeof(err));
	if (rv == 1) {
		fprintf(errf,
			"raftctl: timeline: %s: more than %u terms in one "
			"log: not drawn\n",
			in->path, TL_MAX_RUNS);
		goto out;
	}
	if (rv != RAFTLOG_OK) {
		fprintf(errf, "raftctl: timeline: %s\n",
			err[0] ? err : raftlog_strerror(rv));
		goto out;
	}
	nd->first_index = res.first_index;
	nd->last_index = res.last_index;
	nd->has_base = res.first_index > 1;
	nd->base_term = res.base_term;
	nd->torn = res.torn;
	nd->log_ok = true;
	/* What the node had committed (as `check` counts it): its highest
	 * COMMIT marker within its entries, its snapshot, its BASE. */
	nd->committed =
	    nd->commit < nd->last_index ? nd->commit : nd->last_index;
	if (nd->has_snap && nd->snap_index > nd->committed)
		nd->committed = nd->snap_index;
	if (nd->has_base && nd->first_index - 1 > nd->committed)
		nd->committed = nd->first_index - 1;
	ok = true;
out:
	free(meta);
	return ok;
}

/* ---- reading a node log ---------------------------------------------- */

static void push_ev(struct tl_node *nd, int64_t t, uint8_t type, uint64_t a,
		    uint32_t b, uint8_t role)
{
	GROW(nd->ev, nd->nev, nd->capev);
	nd->ev[nd->nev++] = (struct tl_ev){t, a, b, type, role};
}

/* One message (after "LEVEL: ") of a line at time t. */
static void parse_message(struct tl_node *nd, int64_t t, const char *m,
			  int64_t prev_t)
{
	const char *p = m;
	uint64_t v, w;

	if (skip(&p, "raftd ") && strstr(p, " starting: node ") != NULL) {
		push_ev(nd, t, EV_START, (uint64_t)prev_t, 0, 0);
		return;
	}
	if (strcmp(m, "stopped") == 0) {
		push_ev(nd, t, EV_STOPPED, 0, 0, 0);
		return;
	}
	p = m;
	if (skip(&p, "received ") && strstr(p, "shutting down") != NULL) {
		push_ev(nd, t, EV_SHUTDOWN, 0, 0, 0);
		return;
	}
	p = m;
	if (skip(&p, "loaded term ") && parse_num(&p, &v)) {
		push_ev(nd, t, EV_TERM, v, 0, 0);
		return;
	}
	p = m;
	if (skip(&p, "peer ") && parse_num(&p, &v) && v <= UINT32_MAX) {
		if (skip(&p, " unreachable"))
			push_ev(nd, t, EV_PEER_DOWN, 0, (uint32_t)v, 0);
		else if (skip(&p, " reachable again"))
			push_ev(nd, t, EV_PEER_UP, 0, (uint32_t)v, 0);
		return;
	}
	p = m;
	if (!skip(&p, "term ") || !parse_num(&p, &v) || !skip(&p, ": "))
		return;
	if (skip(&p, "following leader ") && parse_num(&p, &w) &&
	    w <= UINT32_MAX) {
		push_ev(nd, t, EV_FOLLOW, v, (uint32_t)w, 0);
		return;
	}
	if (strncmp(p, "lost contact with a majority", 28) == 0) {
		push_ev(nd, t, EV_STEPDOWN, v, 0, 0);
		return;
	}
	{
		/* "A -> B": a role change. */
		const char *arrow = strstr(p, " -> ");
		int from, to;

		if (arrow != NULL) {
			from = role_of(p, (size_t)(arrow - p));
			to = role_of(arrow + 4, strlen(arrow + 4));
			if (from != TL_NONE && to != TL_NONE) {
				push_ev(nd, t, EV_ROLE, v, 0, (uint8_t)to);
				return;
			}
		}
	}
	push_ev(nd, t, EV_TERM, v, 0, 0);
}

/* Parses "STAMP node=ID term=T ROLE LEVEL: MESSAGE"; false if it is not
 * such a line (a harness's marker, a sanitizer report, garbage). */
static bool parse_line(struct tl_node *nd, const char *line, int64_t *tp,
		       int64_t prev_t)
{
	const char *p = line;
	const char *colon;
	uint64_t id, term;
	int64_t t;

	if (!parse_stamp(p, &t))
		return false;
	if (t < prev_t)
		t = prev_t; /* a clock step back: keep the order */
	p += 24;
	if (!skip(&p, " node=") || !parse_num(&p, &id) || id > UINT32_MAX ||
	    !skip(&p, " term=") || !parse_num(&p, &term) || !skip(&p, " "))
		return false;
	colon = strstr(p, ": ");
	if (colon == NULL)
		return false;
	if (nd->id == 0)
		nd->id = (uint32_t)id;
	else if (nd->id != id)
		return false; /* another node's line in this file */
	*tp = t;
	parse_message(nd, t, colon + 2, prev_t);
	return true;
}

/* Reads one line into buf (cap bytes), without its newline: what does
 * not fit is dropped, a NUL byte becomes '?'.  False at the end of the
 * file. */
static bool read_line(FILE *f, char *buf, size_t cap)
{
	size_t n = 0;
	bool any = false;
	int c;

	while ((c = getc(f)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = c ? (char)c : '?';
	}
	buf[n] = '\0';
	return any;
}

/* Reads DIR/raftd.log beside the node's raftlog or snapshot, if there is
 * one, at most TL_MAX_LINES lines and *budget (lines left for all the
 * logs together, decreased).  False after a line to errf when it exists
 * but cannot be read, or was not read to its end. */
static bool read_nodelog(struct tl_node *nd, const struct check_input *in,
			 size_t *budget, FILE *errf)
{
	const char *base = in->path ? in->path : in->snap;
	const char *slash = strrchr(base, '/');
	char *path, line[TL_LINE_MAX];
	struct stat sb;
	FILE *f = NULL;
	int fd = -1;
	int64_t prev = 0, t;
	size_t max = *budget < TL_MAX_LINES ? *budget : TL_MAX_LINES;
	bool ok = false, cut = false;

	path = slash ? util_xasprintf("%.*sraftd.log", (int)(slash - base + 1),
				      base)
		     : xstrdup("raftd.log");
	if (stat(path, &sb) < 0) {
		ok = errno == ENOENT;
		if (!ok)
			fprintf(errf, "raftctl: timeline: %s: %s\n", path,
				strerror(errno));
		goto out;
	}
	/* O_NONBLOCK: a FIFO in its place must not hang us. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		fprintf(errf, "raftctl: timeline: %s: %s\n", path,
			fd < 0 ? strerror(errno) : "not a regular file");
		goto out;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		fprintf(errf, "raftctl: timeline: %s: %s\n", path,
			strerror(errno));
		goto out;
	}
	fd = -1;
	nd->has_nodelog = true;
	while (read_line(f, line, sizeof(line))) {
		if (nd->lines == max) {
			fprintf(errf,
				"raftctl: timeline: %s: the first %zu lines "
				"only (at most %u a log, %u in all): the "
				"rest is not drawn\n",
				path, max, TL_MAX_LINES, TL_MAX_ALL_LINES);
			cut = true;
			break;
		}
		nd->lines++;
		(*budget)--;
		if (!parse_line(nd, line, &t, prev)) {
			nd->bad_lines++;
			continue;
		}
		if (!nd->has_t)
			nd->first_t = t;
		nd->has_t = true;
		prev = t;
		nd->last_t = t;
	}
	if (ferror(f)) {
		fprintf(errf, "raftctl: timeline: %s: read error\n", path);
		goto out;
	}
	ok = !cut;
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	free(path);
	return ok;
}

/* ---- building the lanes ---------------------------------------------- */

static size_t lane_of_id(const struct tl *tl, uint32_t id)
{
	for (size_t k = 0; k < tl->n && id != 0; k++)
		if (tl->nd[k].id == id)
			return k;
	return tl->n;
}

static void note_leader(struct tl *tl, uint64_t term, size_t lane)
{
	for (size_t i = 0; i < tl->nlead; i++) {
		if (tl->lead[i].term == term) {
			tl->lead[i].lanes |= 1ull << lane;
			return;
		}
	}
	GROW(tl->lead, tl->nlead, tl->caplead);
	tl->lead[tl->nlead++] = (struct tl_lead){term, 1ull << lane};
}

static uint64_t leaders_of(const struct tl *tl, uint64_t term)
{
	for (size_t i = 0; i < tl->nlead; i++)
		if (tl->lead[i].term == term)
			return tl->lead[i].lanes;
	return 0;
}

static int t_cmp(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

/* One node's run of holding peer lane `peer` unreachable: from its
 * "peer ID unreachable" line to its "reachable again" (or its restart, its
 * next "unreachable" for that peer, or the end of its log), and the most
 * peers it held unreachable at once around the report. */
struct tl_episode {
	int64_t t;
	size_t peer;
	size_t most;
};

/* The reports of one cut: RPCs to the peers on the other side pass their
 * deadlines (at most the election timeout + 0.5 s) within this much of
 * each other.  A reporter cut off later than this after a report does not
 * make that report part of its cut. */
#define TL_CUT_BURST_MS 3000

/* Files the other nodes' "peer ID unreachable" / "reachable again" lines
 * under the lane of ID, sorted by time: when a node died, they say.  But a
 * node on the minority side of a partition reports the whole majority
 * unreachable too, and once the partition heals it may never say
 * "reachable again" for a peer it no longer sends to (a follower sends
 * nothing), so such a report would read as a death long before the real
 * one.  A report made by a node that, at the report or within
 * TL_CUT_BURST_MS after it, could not reach a majority of the nodes
 * (itself counted; by its own reports) is filed apart (lost_cut_t): it is
 * evidence only when no node in contact with a majority reported
 * anything. */
static void index_peer_reports(struct tl *tl)
{
	struct tl_episode *ep = NULL;
	size_t nep = 0, capep = 0;
	size_t *open = xcalloc(tl->n, sizeof(*open));

	for (size_t j = 0; j < tl->n; j++) {
		const struct tl_node *o = &tl->nd[j];

		nep = 0;
		for (size_t i = 0; i < o->nev; i++) {
			const struct tl_ev *e = &o->ev[i];
			size_t k, held = 0;
			struct tl_node *nd;

			if (e->type == EV_START) {
				/* A new run knows nothing yet. */
				memset(open, 0, tl->n * sizeof(*open));
				continue;
			}
			if (e->type != EV_PEER_DOWN && e->type != EV_PEER_UP)
				continue;
			k = lane_of_id(tl, e->b);
			if (k == tl->n || k == j)
				continue;
			nd = &tl->nd[k];
			if (e->type == EV_PEER_UP) {
				GROW(nd->back_t, nd->nback, nd->capback);
				nd->back_t[nd->nback++] = e->t;
				open[k] = 0;
				continue;
			}
			/* A second "unreachable" without "reachable again" in
			 * between (the peer left the configuration and came
			 * back, with a fresh state) starts a new episode. */
			GROW(ep, nep, capep);
			ep[nep++] = (struct tl_episode){e->t, k, 0};
			open[k] = nep; /* 1-based: the episode holding k */
			for (size_t p = 0; p < tl->n; p++)
				held += open[p] != 0;
			for (size_t p = 0; p < tl->n; p++) {
				struct tl_episode *x;
				if (open[p] == 0)
					continue;
				x = &ep[open[p] - 1];
				if (e->t - x->t <= TL_CUT_BURST_MS &&
				    x->most < held)
					x->most = held;
			}
		}
		for (size_t x = 0; x < nep; x++) {
			struct tl_node *nd = &tl->nd[ep[x].peer];
			if (tl->n - ep[x].most >= tl->n / 2 + 1) {
				GROW(nd->lost_t, nd->nlost, nd->caplost);
				nd->lost_t[nd->nlost++] = ep[x].t;
			} else {
				GROW(nd->lost_cut_t, nd->nlost_cut,
				     nd->caplost_cut);
				nd->lost_cut_t[nd->nlost_cut++] = ep[x].t;
			}
		}
		memset(open, 0, tl->n * sizeof(*open));
	}
	free(open);
	free(ep);
	for (size_t k = 0; k < tl->n; k++) {
		struct tl_node *nd = &tl->nd[k];
		if (nd->nlost > 1)
			qsort(nd->lost_t, nd->nlost, sizeof(int64_t), t_cmp);
		if (nd->nlost_cut > 1)
			qsort(nd->lost_cut_t, nd->nlost_cut, sizeof(int64_t),
			      t_cmp);
		if (nd->nback > 1)
			qsort(nd->back_t, nd->nback, sizeof(int64_t), t_cmp);
	}
}

/* The index of the first time in v[0..n) above t (n if none). */
static size_t first_after(const int64_t *v, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first time in v[0..n) above `after`, if it is at most `limit`;
 * -1 if none. */
static int64_t first_within(const int64_t *v, size_t n, int64_t after,
			    int64_t limit)
{
	size_t i = first_after(v, n, after);

	return i < n && v[i] <= limit ? v[i] : -1;
}

/* When did node k die, after its last line at `last` and no later than
 * `limit` (its next start, or the end)?  The first time another node
 * logged "peer ID unreachable" for it after the last time one logged it
 * "reachable again" (a node cut off by a partition is reported
 * unreachable too, but once the partition heals it is reachable again,
 * which a dead node never is), preferring the reports of nodes that were
 * in contact with a majority (index_peer_reports).  -1 when nothing says
 * it died. */
static int64_t death_time(const struct tl *tl, size_t k, int64_t last,
			  int64_t limit)
{
	const struct tl_node *nd = &tl->nd[k];
	size_t i = first_after(nd->back_t, nd->nback, limit);
	int64_t after = last, d;

	if (i > 0 && nd->back_t[i - 1] > after)
		after = nd->back_t[i - 1];
	d = first_within(nd->lost_t, nd->nlost, after, limit);
	if (d < 0)
		d = first_within(nd->lost_cut_t, nd->nlost_cut, after, limit);
	return d;
}

static void push_seg(struct tl_node *nd, int64_t t0, int64_t t1, uint64_t term,
		     uint8_t role)
{
	if (t1 <= t0)
		return;
	GROW(nd->seg, nd->nseg, nd->capseg);
	nd->seg[nd->nseg++] = (struct tl_seg){t0, t1, term, role};
}

static void push_mk(struct tl_node *nd, int64_t t, uint8_t kind)
{
	GROW(nd->mk, nd->nmk, nd->capmk);
	nd->mk[nd->nmk++] = (struct tl_mk){t, kind};
}

/* Closes every open "cannot reach" interval of the node at t. */
static void cut_close_all(struct tl_node *nd, int64_t *open, size_t n,
			  int64_t t)
{
	for (size_t p = 0; p < n; p++) {
		if (open[p] < 0)
			continue;
		GROW(nd->cut, nd->ncut, nd->capcut);
		nd->cut[nd->ncut++] = (struct tl_cut){open[p], t, p};
		open[p] = -1;
	}
}

/* Turns node k's events into spans, marks and "cannot reach" intervals. */
static void build_lane(struct tl *tl, size_t k)
{
	struct tl_node *nd = &tl->nd[k];
	int64_t *open = xcalloc(tl->n, sizeof(*open));
	/* Peers the node last logged unreachable, whatever its role: a
	 * leader's RPCs time out after it stepped down, so a node that then
	 * campaigns still cannot reach them without saying so again. */
	bool *down = xcalloc(tl->n, sizeof(*down));
	int64_t since = nd->first_t, stop_t = -1, shut_t = -1;
	uint64_t term = 0;
	uint8_t role = TL_FOLLOWER;
	bool up = true;

	for (size_t p = 0; p < tl->n; p++)
		open[p] = -1;
	for (size_t i = 0; i < nd->nev; i++) {
		const struct tl_ev *e = &nd->ev[i];
		uint64_t nterm = term;
		uint8_t nrole = role;

		switch (e->type) {
		case EV_START:
			if (up && i > 0) {
				/* The run before ended without "stopped": a
				 * kill or a crash. */
				int64_t last = (int64_t)e->a;
				int64_t d = death_time(tl, k, last, e->t);
				if (d < 0)
					d = last;
				push_seg(nd, since, d, term, role);
				push_mk(nd, d, MK_KILLED);
				cut_close_all(nd, open, tl->n, d);
				stop_t = d;
			} else if (up) {
				push_seg(nd, since, e->t, term, role);
			}
			if (stop_t >= 0)
				push_seg(nd, stop_t, e->t, 0, TL_DOWN);
			push_mk(nd, e->t, MK_START);
			memset(down, 0, tl->n * sizeof(*down));
			up = true;
			since = e->t;
			term = 0;
			role = TL_FOLLOWER;
			stop_t = -1;
			shut_t = -1;
			continue;
		case EV_SHUTDOWN:
			if (up && shut_t < 0)
				shut_t = e->t;
			continue;
		case EV_STOPPED:
			if (up && shut_t >= 0) {
				GROW(nd->stopw, nd->nstopw, nd->capstopw);
				nd->stopw[nd->nstopw++] =
				    (struct tl_cut){shut_t, e->t, 0};
			}
			shut_t = -1;
			if (up) {
				push_seg(nd, since, e->t, term, role);
				push_mk(nd, e->t, MK_STOP);
				cut_close_all(nd, open, tl->n, e->t);
			}
			up = false;
			stop_t = e->t;
			continue;
		case EV_TERM:
			if (e->a > term)
				nterm = e->a;
			break;
		case EV_ROLE:
			nterm = e->a > term ? e->a : term;
			nrole = e->role;
			if (nrole == TL_CAND)
				push_mk(nd, e->t, MK_ELECTION);
			if (nrole == TL_LEADER) {
				push_mk(nd, e->t, MK_LEADER);
				note_leader(tl, nterm, k);
			}
			break;
		case EV_FOLLOW:
			nterm = e->a > term ? e->a : term;
			nrole = TL_FOLLOWER;
			break;
		case EV_STEPDOWN:
			push_mk(nd, e->t, MK_STEPDOWN);
			break;
		case EV_PEER_DOWN:
		case EV_PEER_UP: {
			size_t p = lane_of_id(tl, e->b);
			if (p == tl->n || p == k || !up)
				break;
			down[p] = e->type == EV_PEER_DOWN;
			/* Only a leader or a (pre)candidate sends to its
			 * peers: a follower's lines are late answers to
			 * what it sent before. */
			if (role == TL_FOLLOWER)
				break;
			if (e->type == EV_PEER_DOWN && open[p] < 0)
				open[p] = e->t;
			else if (e->type == EV_PEER_UP && open[p] >= 0) {
				GROW(nd->cut, nd->ncut, nd->capcut);
				nd->cut[nd->ncut++] =
				    (struct tl_cut){open[p], e->t, p};
				open[p] = -1;
			}
			break;
		}
		default:
			break;
		}
		if (!up)
			continue; /* lines after "stopped": none expected */
		if (nrole == TL_FOLLOWER && role != TL_FOLLOWER)
			/* It stops sending, so it no longer learns whom it
			 * cannot reach. */
			cut_close_all(nd, open, tl->n, e->t);
		if (nrole != TL_FOLLOWER && role == TL_FOLLOWER)
			/* It sends again: the peers it last found out of
			 * reach are still out of reach until it says. */
			for (size_t p = 0; p < tl->n; p++)
				if (down[p] && open[p] < 0)
					open[p] = e->t;
		if (nterm != term || nrole != role) {
			push_seg(nd, since, e->t, term, role);
			since = e->t;
			term = nterm;
			role = nrole;
		}
	}
	if (up && nd->has_t) {
		int64_t d = death_time(tl, k, nd->last_t, tl->t1);
		if (d < 0) {
			/* Still running when the logs were fetched. */
			push_seg(nd, since, tl->t1, term, role);
			cut_close_all(nd, open, tl->n, tl->t1);
		} else {
			push_seg(nd, since, d, term, role);
			push_mk(nd, d, MK_KILLED);
			cut_close_all(nd, open, tl->n, d);
			push_seg(nd, d, tl->t1, 0, TL_DOWN);
		}
	} else if (stop_t >= 0) {
		push_seg(nd, stop_t, tl->t1, 0, TL_DOWN);
	}
	free(down);
	free(open);
}

static size_t col_of(const struct tl *tl, int64_t t)
{
	int64_t span = tl->t1 - tl->t0;
	int64_t c;

	if (span <= 0)
		return 0;
	c = (t - tl->t0) * TL_COLS / span;
	if (c < 0)
		c = 0;
	if (c >= TL_COLS)
		c = TL_COLS - 1;
	return (size_t)c;
}

/* Which role wins a column that holds several: the rarer, more telling
 * one (a short down time or leadership stays visible). */
static int role_prio(uint8_t role)
{
	static const int prio[] = {
	    [TL_NONE] = 0, [TL_FOLLOWER] = 1, [TL_PRECAND] = 2,
	    [TL_CAND] = 3, [TL_LEADER] = 4,   [TL_DOWN] = 5};
	return role <= TL_DOWN ? prio[role] : 0;
}

static void fill_columns(struct tl *tl, size_t k)
{
	struct tl_node *nd = &tl->nd[k];

	nd->col_role = xcalloc(TL_COLS, 1);
	nd->col_term = xcalloc(TL_COLS, sizeof(uint64_t));
	nd->col_mask = xcalloc(TL_COLS, sizeof(uint64_t));
	nd->col_mark = xcalloc(TL_COLS, 1);
	nd->col_stop = xcalloc(TL_COLS, 1);
	for (size_t i = 0; i < nd->nstopw; i++) {
		size_t c1 = col_of(tl, nd->stopw[i].t1);
		for (size_t c = col_of(tl, nd->stopw[i].t0); c <= c1; c++)
			nd->col_stop[c] = 1;
	}
	for (size_t i = 0; i < nd->nseg; i++) {
		const struct tl_seg *s = &nd->seg[i];
		size_t c0 = col_of(tl, s->t0);
		size_t c1 = col_of(tl, s->t1 > s->t0 ? s->t1 - 1 : s->t0);

		for (size_t c = c0; c <= c1; c++) {
			int a = role_prio(s->role),
			    b = role_prio(nd->col_role[c]);
			if (a > b || (a == b && s->term > nd->col_term[c])) {
				nd->col_role[c] = s->role;
				nd->col_term[c] = s->term;
			}
		}
	}
	for (size_t i = 0; i < nd->nmk; i++)
		nd->col_mark[col_of(tl, nd->mk[i].t)] |= nd->mk[i].kind;
}

/* A peer out of reach for less than this is a slow answer (an RPC past
 * its deadline on a busy machine), not a partition: not drawn. */
#define TL_CUT_MIN_MS 500

static void fill_masks(struct tl *tl, size_t k)
{
	struct tl_node *nd = &tl->nd[k];

	for (size_t i = 0; i < nd->ncut; i++) {
		const struct tl_cut *x = &nd->cut[i];
		if (x->t1 - x->t0 < TL_CUT_MIN_MS)
			continue;
		size_t c0 = col_of(tl, x->t0);
		size_t c1 = col_of(tl, x->t1 > x->t0 ? x->t1 - 1 : x->t0);

		for (size_t c = c0; c <= c1; c++)
			nd->col_mask[c] |= 1ull << x->peer;
	}
}

/* 0: in contact; 1: lost contact with some peers that were up; 2: could
 * not reach a majority of the nodes (itself counted) while they were up:
 * cut off, as the minority side of a partition is.  A node shutting down
 * (between "received SIGNAL, shutting down" and "stopped") counts as
 * neither: peers refuse it, and it refuses them, on purpose. */
static int cut_level(const struct tl *tl, size_t k, size_t c, uint64_t *lostp)
{
	const struct tl_node *nd = &tl->nd[k];
	uint64_t mask = nd->col_mask[c], lost = 0;
	size_t nlost = 0;

	*lostp = 0;
	if (mask == 0 || nd->col_role[c] == TL_DOWN ||
	    nd->col_role[c] == TL_NONE || nd->col_stop[c])
		return 0;
	for (size_t j = 0; j < tl->n; j++) {
		uint8_t r = tl->nd[j].col_role[c];
		if ((mask >> j & 1) && r != TL_DOWN && r != TL_NONE &&
		    !tl->nd[j].col_stop[c]) {
			lost |= 1ull << j;
			nlost++;
		}
	}
	if (lost == 0)
		return 0;
	*lostp = lost;
	return tl->n - nlost < tl->n / 2 + 1 ? 2 : 1;
}

/* ---- SVG output ------------------------------------------------------- */

/* Writes `s` as XML text: & < > " ' escaped, control characters and bytes
 * that are not well-formed UTF-8 as '?', at most `max` characters (then an
 * ellipsis). */
static void xml_text(FILE *out, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t shown = 0;

	while (*p) {
		unsigned c = *p;
		size_t len = 1;

		if (shown == max) {
			fputs("\xe2\x80\xa6", out);
			return;
		}
		shown++;
		if (c < 0x80) {
			switch (c) {
			case '&':
				fputs("&amp;", out);
				break;
			case '<':
				fputs("&lt;", out);
				break;
			case '>':
				fputs("&gt;", out);
				break;
			case '"':
				fputs("&quot;", out);
				break;
			case '\'':
				fputs("&apos;", out);
				break;
			default:
				fputc(c < 0x20 || c == 0x7f ? '?' : (int)c,
				      out);
			}
			p++;
			continue;
		}
		/* UTF-8: 2..4 bytes, no overlongs, no surrogates, <=
		 * U+10FFFF, and none of the C1 controls. */
		{
			uint32_t cp = 0;
			size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			bool good = c >= 0xc2 && c <= 0xf4;

			for (size_t i = 1; good && i < need; i++)
				good = (p[i] & 0xc0) == 0x80;
			if (good) {
				cp = c & (need == 2   ? 0x1f
					  : need == 3 ? 0x0f
						      : 0x07);
				for (size_t i = 1; i < need; i++)
					cp = cp << 6 | (p[i] & 0x3f);
				good = !(need == 3 && cp < 0x800) &&
				       !(need == 4 && cp < 0x10000) &&
				       cp <= 0x10ffff &&
				       !(cp >= 0xd800 && cp <= 0xdfff) &&
				       !(cp >= 0x80 && cp < 0xa0) &&
				       cp != 0xfffe && cp != 0xffff;
			}
			if (!good) {
				fputc('?', out);
				p++;
				continue;
			}
			len = need;
			fwrite(p, 1, len, out);
			p += len;
		}
	}
}

/* A term's colour: 12 distinct hues, in turn. */
static const char *term_colour(uint64_t term)
{
	static const char *const pal[] = {
	    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2",
	    "#e15759", "#9c755f", "#ff9da7", "#86bcb6", "#8cd17d", "#d37295"};

	if (term == 0)
		return "#cccccc";
	return pal[(term - 1) % (sizeof(pal) / sizeof(pal[0]))];
}

static void fmt_time(char *out, size_t size, int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d.%03d UTC",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* "+12.5s", "+2m05s" */
static void fmt_rel(char *out, size_t size, int64_t ms)
{
	if (ms < 120000) {
		if (ms % 1000 == 0)
			snprintf(out, size, "+%" PRId64 "s", ms / 1000);
		else
			snprintf(out, size, "+%.1fs", (double)ms / 1000.0);
	} else {
		snprintf(out, size, "+%" PRId64 "m%02" PRId64 "s", ms / 60000,
			 ms / 1000 % 60);
	}
}

static void svg_defs(FILE *out)
{
	fputs("<defs>\n"
	      "<pattern id=\"down\" width=\"6\" height=\"6\" "
	      "patternUnits=\"userSpaceOnUse\" "
	      "patternTransform=\"rotate(45)\">"
	      "<rect width=\"6\" height=\"6\" fill=\"#e0e0e0\"/>"
	      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#909090\" "
	      "stroke-width=\"2\"/></pattern>\n"
	      "<pattern id=\"cut\" width=\"6\" height=\"6\" "
	      "patternUnits=\"userSpaceOnUse\" "
	      "patternTransform=\"rotate(-45)\">"
	      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#d62728\" "
	      "stroke-width=\"2.5\"/></pattern>\n"
	      "<pattern id=\"cand\" width=\"4\" height=\"4\" "
	      "patternUnits=\"userSpaceOnUse\" "
	      "patternTransform=\"rotate(45)\">"
	      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" stroke=\"#ffffff\" "
	      "stroke-width=\"1.5\"/></pattern>\n"
	      "<pattern id=\"snap\" width=\"5\" height=\"5\" "
	      "patternUnits=\"userSpaceOnUse\" "
	      "patternTransform=\"rotate(45)\">"
	      "<rect width=\"5\" height=\"5\" fill=\"#f4f4f4\"/>"
	      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"5\" stroke=\"#b0b0b0\" "
	      "stroke-width=\"1.2\"/></pattern>\n"
	      "</defs>\n"
	      "<style>text{font-family:DejaVu Sans,Verdana,sans-serif;"
	      "font-size:12px;fill:#222}"
	      ".small{font-size:10px}.head{font-size:15px;font-weight:bold}"
	      ".lbl{font-size:11px;fill:#fff;font-weight:bold}"
	      ".dim{fill:#777}</style>\n",
	      out);
}

static const char *role_name(uint8_t role)
{
	switch (role) {
	case TL_FOLLOWER:
		return "follower";
	case TL_PRECAND:
		return "precandidate";
	case TL_CAND:
		return "candidate";
	case TL_LEADER:
		return "leader";
	case TL_DOWN:
		return "down";
	}
	return "none";
}

static bool term_range(const struct tl_node *nd, uint64_t term, uint64_t *a,
		       uint64_t *b);

/* The entries of `term`: in the reference log, else in any log. */
static bool term_entries(const struct tl *tl, uint64_t term, uint64_t *a,
			 uint64_t *b)
{
	if (tl->ref < tl->n && term_range(&tl->nd[tl->ref], term, a, b))
		return true;
	for (size_t k = 0; k < tl->n; k++)
		if (term_range(&tl->nd[k], term, a, b))
			return true;
	return false;
}

/* One span of a time lane: columns [c0, c1). */
static void draw_span(FILE *out, const struct tl *tl, size_t k, size_t c0,
		      size_t c1, uint8_t role, uint64_t term, int y)
{
	int x = TL_LEFT + (int)c0, w = (int)(c1 - c0);
	int64_t span = tl->t1 - tl->t0;
	uint64_t ea = 0, eb = 0;
	char a[24], b[24], lbl[96];

	if (role == TL_NONE)
		return;
	fmt_rel(a, sizeof(a), (int64_t)c0 * span / TL_COLS);
	fmt_rel(b, sizeof(b), (int64_t)c1 * span / TL_COLS);
	fprintf(out, "<g class=\"span %s\" data-node=\"", role_name(role));
	xml_text(out, tl->nd[k].name, 200);
	fprintf(out, "\" data-role=\"%s\" data-term=\"%" PRIu64 "\">",
		role_name(role), term);
	fputs("<title>", out);
	xml_text(out, tl->nd[k].name, 60);
	if (role == TL_DOWN)
		fprintf(out, ": down, %s .. %s</title>", a, b);
	else if (role == TL_LEADER && term_entries(tl, term, &ea, &eb))
		fprintf(out,
			": leader in term %" PRIu64 ", %s .. %s; the term's "
			"entries: %" PRIu64 "..%" PRIu64 "</title>",
			term, a, b, ea, eb);
	else
		fprintf(out, ": %s in term %" PRIu64 ", %s .. %s</title>",
			role_name(role), term, a, b);
	switch (role) {
	case TL_DOWN:
		fprintf(out,
			"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"fill=\"url(#down)\"/>",
			x, y, w, TL_BAR_H);
		if (w >= 40)
			fprintf(
			    out,
			    "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
			    "class=\"small\">down</text>",
			    x + w / 2, y + 14);
		break;
	case TL_FOLLOWER:
		fprintf(out,
			"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"fill=\"%s\" fill-opacity=\"0.4\"/>",
			x, y + 3, w, TL_BAR_H - 6, term_colour(term));
		break;
	case TL_PRECAND:
	case TL_CAND:
		fprintf(out,
			"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"fill=\"%s\" fill-opacity=\"%s\"/>"
			"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"fill=\"url(#cand)\"/>",
			x, y + 1, w, TL_BAR_H - 2, term_colour(term),
			role == TL_CAND ? "0.9" : "0.55", x, y + 1, w,
			TL_BAR_H - 2);
		break;
	case TL_LEADER:
		fprintf(out,
			"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"fill=\"%s\" stroke=\"#222\" stroke-width=\"1\"/>",
			x, y, w, TL_BAR_H, term_colour(term));
		/* The longest label that fits (bold 11 px: about 6.5 px a
		 * character). */
		if (term_entries(tl, term, &ea, &eb))
			snprintf(lbl, sizeof(lbl),
				 "leader, term %" PRIu64 ": entries %" PRIu64
				 "..%" PRIu64,
				 term, ea, eb);
		else
			lbl[0] = '\0';
		if ((size_t)w < 8 + 13 * strlen(lbl) / 2)
			snprintf(lbl, sizeof(lbl), "leader, term %" PRIu64,
				 term);
		if ((size_t)w < 8 + 13 * strlen(lbl) / 2)
			snprintf(lbl, sizeof(lbl), "L%" PRIu64, term);
		if ((size_t)w >= 6 + 13 * strlen(lbl) / 2)
			fprintf(
			    out,
			    "<text x=\"%d\" y=\"%d\" class=\"lbl\">%s</text>",
			    x + 4, y + 14, lbl);
		break;
	}
	fputs("</g>\n", out);
}

static void draw_marks(FILE *out, const struct tl *tl, size_t k, int y)
{
	const struct tl_node *nd = &tl->nd[k];

	for (size_t c = 0; c < TL_COLS; c++) {
		uint8_t m = nd->col_mark[c];
		int x = TL_LEFT + (int)c;

		if (m == 0)
			continue;
		if (m & MK_START)
			fprintf(out,
				"<path class=\"mark start\" d=\"M%d %d l4 -6 "
				"l4 6 z\" fill=\"#2ca02c\"><title>started"
				"</title></path>\n",
				x - 4, y);
		if (m & MK_STOP)
			fprintf(out,
				"<rect class=\"mark stop\" x=\"%d\" y=\"%d\" "
				"width=\"6\" height=\"6\" fill=\"#333\">"
				"<title>stopped</title></rect>\n",
				x - 3, y - 6);
		if (m & MK_KILLED)
			fprintf(out,
				"<path class=\"mark killed\" d=\"M%d %d l8 8 "
				"m0 -8 l-8 8\" stroke=\"#d62728\" "
				"stroke-width=\"2.5\"><title>killed or crashed "
				"(no \"stopped\" line)</title></path>\n",
				x - 4, y - 8);
		if (m & MK_ELECTION)
			fprintf(out,
				"<circle class=\"mark election\" cx=\"%d\" "
				"cy=\"%d\" r=\"3\" fill=\"#fff\" "
				"stroke=\"#222\"><title>election "
				"started</title></circle>\n",
				x, y + TL_BAR_H + 1);
		if (m & MK_STEPDOWN)
			fprintf(out,
				"<path class=\"mark stepdown\" d=\"M%d %d l8 0 "
				"l-4 7 z\" fill=\"#d62728\"><title>lost "
				"contact with a majority: stepped down"
				"</title></path>\n",
				x - 4, y - 7);
	}
}

static void draw_time_lane(FILE *out, const struct tl *tl, size_t k, int y)
{
	const struct tl_node *nd = &tl->nd[k];
	size_t c0 = 0;

	fprintf(out, "<text x=\"8\" y=\"%d\">", y + 15);
	xml_text(out, nd->name, TL_NAME_MAX);
	if (nd->id)
		fprintf(out, " <tspan class=\"dim\">(id %" PRIu32 ")</tspan>",
			nd->id);
	fputs("</text>\n", out);
	fprintf(out,
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		"stroke=\"#ddd\"/>\n",
		TL_LEFT, y + TL_BAR_H / 2, TL_LEFT + TL_COLS, y + TL_BAR_H / 2);
	if (!nd->has_t) {
		fprintf(out,
			"<text x=\"%d\" y=\"%d\" class=\"dim\">no node log "
			"(raftd.log) for this node</text>\n",
			TL_LEFT + 8, y + 15);
		return;
	}
	for (size_t c = 1; c <= TL_COLS; c++) {
		if (c < TL_COLS && nd->col_role[c] == nd->col_role[c0] &&
		    nd->col_term[c] == nd->col_term[c0])
			continue;
		draw_span(out, tl, k, c0, c, nd->col_role[c0], nd->col_term[c0],
			  y);
		c0 = c;
	}
	/* Contact: a strip under the bar, and the bar hatched red where the
	 * node was cut off from a majority. */
	c0 = 0;
	for (size_t c = 1; c <= TL_COLS; c++) {
		uint64_t lost, lost2;
		int lv = cut_level(tl, k, c0, &lost);
		if (c < TL_COLS && cut_level(tl, k, c, &lost2) == lv &&
		    lost2 == lost)
			continue;
		if (lv > 0) {
			int x = TL_LEFT + (int)c0, w = (int)(c - c0);
			fprintf(out, "<g class=\"%s\" data-node=\"",
				lv == 2 ? "cut partitioned" : "cut lost");
			xml_text(out, nd->name, 200);
			fprintf(out, "\"><title>");
			xml_text(out, nd->name, 60);
			fputs(lv == 2 ? ": partitioned, could not reach a "
					"majority:"
				      : ": could not reach",
			      out);
			for (size_t j = 0; j < tl->n; j++) {
				if (!(lost >> j & 1))
					continue;
				fputc(' ', out);
				xml_text(out, tl->nd[j].name, TL_NAME_MAX);
			}
			fputs("</title>", out);
			if (lv == 2)
				fprintf(out,
					"<rect x=\"%d\" y=\"%d\" width=\"%d\" "
					"height=\"%d\" fill=\"url(#cut)\"/>",
					x, y, w, TL_BAR_H);
			fprintf(out,
				"<rect x=\"%d\" y=\"%d\" width=\"%d\" "
				"height=\"4\" fill=\"%s\"/></g>\n",
				x, y + TL_BAR_H + 4, w,
				lv == 2 ? "#d62728" : "#ff9f1c");
		}
		c0 = c;
	}
	draw_marks(out, tl, k, y);
}

/* A "nice" tick step (ms) giving at most about 10 ticks over span. */
static int64_t tick_step(int64_t span)
{
	static const int64_t steps[] = {
	    100,     200,     500,     1000,	 2000,	   5000,    10000,
	    15000,   30000,   60000,   120000,	 300000,   600000,  900000,
	    1800000, 3600000, 7200000, 21600000, 43200000, 86400000};
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / steps[i] <= 10)
			return steps[i];
	return span / 10 > 0 ? span / 10 : 1;
}

static int draw_time_panel(FILE *out, const struct tl *tl, int y)
{
	int64_t span = tl->t1 - tl->t0, step;
	char t0[48];
	int top = y;

	fmt_time(t0, sizeof(t0), tl->t0);
	fprintf(out,
		"<text x=\"8\" y=\"%d\" class=\"head\">Over time (node "
		"logs)</text>\n",
		y + 16);
	y += 30;
	for (size_t k = 0; k < tl->n; k++, y += TL_LANE_H)
		draw_time_lane(out, tl, k, y);
	/* The axis. */
	fprintf(out,
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		"stroke=\"#444\"/>\n",
		TL_LEFT, y, TL_LEFT + TL_COLS, y);
	step = tick_step(span > 0 ? span : 1);
	for (int64_t t = 0; span > 0 && t <= span; t += step) {
		int x = TL_LEFT + (int)(t * TL_COLS / span);
		char lbl[24];

		fmt_rel(lbl, sizeof(lbl), t);
		fprintf(out,
			"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			"stroke=\"#444\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
			"y2=\"%d\" stroke=\"#eee\"/>"
			"<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
			"class=\"small\">%s</text>\n",
			x, y, x, y + 5, x, top + 26, x, y - 1, x, y + 17, lbl);
	}
	fprintf(out,
		"<text x=\"%d\" y=\"%d\" class=\"small dim\">time since %s "
		"(the nodes' clocks)</text>\n",
		TL_LEFT, y + 32, t0);
	return y + 44;
}

/* The start of the run after the one holding `index`, or UINT64_MAX. */
static uint64_t next_run_start(const struct tl_node *nd, uint64_t index)
{
	size_t lo = 0, hi = nd->nruns;

	if (hi == 0)
		return UINT64_MAX;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (nd->runs[mid].start <= index)
			lo = mid;
		else
			hi = mid;
	}
	return lo + 1 < nd->nruns ? nd->runs[lo + 1].start : UINT64_MAX;
}

/* The first index both logs hold with different terms, or 0.  Terms are
 * constant within a run, so only run starts need a look. */
static uint64_t first_difference(const struct tl_node *a,
				 const struct tl_node *r)
{
	uint64_t i =
	    a->first_index > r->first_index ? a->first_index : r->first_index;
	uint64_t end =
	    a->last_index < r->last_index ? a->last_index : r->last_index;

	while (i <= end) {
		uint64_t na, nr;

		if (node_term_at(a, i) != node_term_at(r, i))
			return i;
		na = next_run_start(a, i);
		nr = next_run_start(r, i);
		i = na < nr ? na : nr;
	}
	return 0;
}

/* The x of index `index` on an axis of `span` indexes from `lo`. */
static int idx_x(uint64_t lo, uint64_t span, uint64_t index)
{
	/* In floating point: (index - lo) * TL_COLS could overflow. */
	return TL_LEFT + (int)((double)(index - lo) * TL_COLS / (double)span);
}

/* The log of lane k drawn by index over [lo, lo + span). */
static void draw_index_row(FILE *out, const struct tl *tl, size_t k,
			   uint64_t lo, uint64_t span, int y)
{
	const struct tl_node *nd = &tl->nd[k];
	const struct tl_node *ref = tl->ref < tl->n ? &tl->nd[tl->ref] : NULL;
	uint64_t diverge = 0;
	int last_px = -1;

	fprintf(out, "<text x=\"8\" y=\"%d\">", y + 13);
	xml_text(out, nd->name, TL_NAME_MAX);
	fputs("</text>\n", out);
	if (!nd->log_ok) {
		fprintf(out,
			"<text x=\"%d\" y=\"%d\" fill=\"#d62728\" "
			"class=\"unreadable\">unreadable raftlog or snapshot "
			"(see the message on stderr)</text>\n",
			TL_LEFT + 8, y + 13);
		return;
	}
	/* The compacted part: in the snapshot. */
	if (nd->first_index > lo) {
		int x0 = idx_x(lo, span, lo),
		    x1 = idx_x(lo, span, nd->first_index);
		if (nd->has_snap || nd->has_base)
			fprintf(
			    out,
			    "<rect class=\"snap\" x=\"%d\" y=\"%d\" "
			    "width=\"%d\" height=\"16\" fill=\"url(#snap)\">"
			    "<title>1..%" PRIu64 ": in the snapshot (log "
			    "compacted)</title></rect>\n",
			    x0, y, x1 - x0 > 0 ? x1 - x0 : 1,
			    nd->first_index - 1);
	}
	/* The entries: one rectangle per run of a term.  A run within one
	 * pixel is left to the run after it, which starts in that pixel, so a
	 * row never has more rectangles than pixels. */
	for (size_t i = 0; i < nd->nruns; i++) {
		uint64_t a = nd->runs[i].start;
		uint64_t b = i + 1 < nd->nruns ? nd->runs[i + 1].start
					       : nd->last_index + 1;
		int x0 = idx_x(lo, span, a), x1 = idx_x(lo, span, b);

		if (x1 == x0) {
			/* The next run starts in this pixel too and
			 * covers it; the last run gets one pixel. */
			if (i + 1 < nd->nruns || x0 <= last_px)
				continue;
			x1 = x0 + 1;
		}
		last_px = x1 - 1;
		fprintf(out, "<rect class=\"run\" data-node=\"");
		xml_text(out, nd->name, 200);
		fprintf(out,
			"\" data-term=\"%" PRIu64 "\" x=\"%d\" y=\"%d\" "
			"width=\"%d\" height=\"16\" fill=\"%s\" "
			"stroke=\"#fff\" stroke-width=\"%s\"><title>entries "
			"%" PRIu64 "..%" PRIu64 ", term %" PRIu64
			"</title></rect>\n",
			nd->runs[i].term, x0, y, x1 - x0,
			term_colour(nd->runs[i].term),
			x1 - x0 >= 4 ? "0.5" : "0", a, b - 1, nd->runs[i].term);
	}
	/* Entry borders, when entries are wide enough to tell apart. */
	if (TL_COLS / span >= 6 && nd->last_index >= nd->first_index) {
		fputs("<path class=\"borders\" stroke=\"#fff\" "
		      "stroke-width=\"1\" d=\"",
		      out);
		for (uint64_t i = nd->first_index + 1; i <= nd->last_index; i++)
			fprintf(out, "M%d %dv16", idx_x(lo, span, i), y);
		fputs("\"/>\n", out);
	}
	if (ref != NULL && ref != nd)
		diverge = first_difference(nd, ref);
	if (diverge != 0) {
		int x0 = idx_x(lo, span, diverge),
		    x1 = idx_x(lo, span, nd->last_index + 1);
		fprintf(out, "<rect class=\"diverge\" data-node=\"");
		xml_text(out, nd->name, 200);
		fprintf(out,
			"\" data-from=\"%" PRIu64 "\" x=\"%d\" y=\"%d\" "
			"width=\"%d\" height=\"18\" fill=\"none\" "
			"stroke=\"#d62728\" stroke-width=\"2\" "
			"stroke-dasharray=\"4 2\"><title>from index %" PRIu64
			" on, this log differs from the reference log "
			"(not committed here: the leader overwrites it)"
			"</title></rect>\n",
			diverge, x0, y - 1, x1 - x0 > 2 ? x1 - x0 : 2, diverge);
	}
	/* The committed prefix. */
	if (nd->committed >= lo) {
		int x1 = idx_x(lo, span, nd->committed + 1);
		fprintf(out, "<rect class=\"committed\" data-node=\"");
		xml_text(out, nd->name, 200);
		fprintf(out,
			"\" data-commit=\"%" PRIu64 "\" x=\"%d\" y=\"%d\" "
			"width=\"%d\" height=\"3\" fill=\"#222\"><title>"
			"committed up to %" PRIu64 "</title></rect>\n",
			nd->committed, TL_LEFT, y + 18,
			x1 - TL_LEFT > 1 ? x1 - TL_LEFT : 1, nd->committed);
	}
	fprintf(out,
		"<text x=\"%d\" y=\"%d\" class=\"small dim\" "
		"text-anchor=\"end\">%" PRIu64 "</text>\n",
		TL_WIDTH - 2, y + 13, nd->last_index);
	if (nd->torn)
		fprintf(out,
			"<text x=\"%d\" y=\"%d\" class=\"small\" "
			"fill=\"#d62728\">torn tail (dropped at the next "
			"start)</text>\n",
			idx_x(lo, span, nd->last_index + 1) + 4 >
				TL_LEFT + TL_COLS - 150
			    ? TL_LEFT + TL_COLS - 150
			    : idx_x(lo, span, nd->last_index + 1) + 4,
			y + 13);
}

static int draw_index_panel(FILE *out, const struct tl *tl, int y)
{
	uint64_t lo = UINT64_MAX, hi = 0, span, step;
	for (size_t k = 0; k < tl->n; k++) {
		const struct tl_node *nd = &tl->nd[k];
		if (!nd->log_ok)
			continue;
		if (nd->first_index < lo)
			lo = nd->first_index;
		if (nd->last_index > hi)
			hi = nd->last_index;
	}
	/* Compacted parts start at index 1. */
	for (size_t k = 0; k < tl->n; k++)
		if (tl->nd[k].log_ok &&
		    (tl->nd[k].has_snap || tl->nd[k].has_base))
			lo = 1;
	if (lo == UINT64_MAX || lo == 0)
		lo = 1;
	if (hi < lo)
		hi = lo;
	span = hi - lo + 1;
	fprintf(out,
		"<text x=\"8\" y=\"%d\" class=\"head\">By log index "
		"(raftlogs)</text>\n",
		y + 16);
	y += 30;
	for (size_t k = 0; k < tl->n; k++, y += TL_ROW_H)
		draw_index_row(out, tl, k, lo, span, y);
	fprintf(out,
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		"stroke=\"#444\"/>\n",
		TL_LEFT, y, TL_LEFT + TL_COLS, y);
	step = 1;
	while (span / step > 10) {
		if (span / (step * 2) <= 10) {
			step *= 2;
			break;
		}
		if (span / (step * 5) <= 10) {
			step *= 5;
			break;
		}
		step *= 10;
	}
	for (uint64_t i = (lo + step - 1) / step * step; i <= hi; i += step) {
		int x = idx_x(lo, span, i) + (int)(TL_COLS / span / 2);
		fprintf(out,
			"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			"stroke=\"#444\"/><text x=\"%d\" y=\"%d\" "
			"text-anchor=\"middle\" class=\"small\">%" PRIu64
			"</text>\n",
			x, y, x, y + 5, x, y + 17, i);
		if (i > UINT64_MAX - step)
			break;
	}
	fprintf(out,
		"<text x=\"%d\" y=\"%d\" class=\"small dim\">log index; "
		"black underline: committed on that node; red dashes: differs "
		"from the reference log, ",
		TL_LEFT, y + 32);
	if (tl->ref < tl->n)
		xml_text(out, tl->nd[tl->ref].name, TL_NAME_MAX);
	else
		fputs("(none)", out);
	fputs(" (the most committed)</text>\n", out);
	return y + 44;
}

/* The first and last index of `term` in lane k's log, or false. */
static bool term_range(const struct tl_node *nd, uint64_t term, uint64_t *a,
		       uint64_t *b)
{
	size_t lo = 0, hi = nd->nruns;

	if (!nd->log_ok)
		return false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (nd->runs[mid].term < term)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == nd->nruns || nd->runs[lo].term != term)
		return false;
	*a = nd->runs[lo].start;
	*b = lo + 1 < nd->nruns ? nd->runs[lo + 1].start - 1 : nd->last_index;
	return true;
}

/* The lowest term above `after` in any log or as a leader's in a node
 * log; 0 when there is none.  (A log's runs have increasing terms.) */
static uint64_t next_term(const struct tl *tl, uint64_t after)
{
	uint64_t best = 0;

	for (size_t k = 0; k < tl->n; k++) {
		const struct tl_node *nd = &tl->nd[k];
		size_t lo = 0, hi = nd->nruns;

		if (!nd->log_ok)
			continue;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (nd->runs[mid].term <= after)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < nd->nruns && (best == 0 || nd->runs[lo].term < best))
			best = nd->runs[lo].term;
	}
	for (size_t i = 0; i < tl->nlead; i++)
		if (tl->lead[i].term > after &&
		    (best == 0 || tl->lead[i].term < best))
			best = tl->lead[i].term;
	return best;
}

static void legend_swatch(FILE *out, int x, int y, const char *fill,
			  const char *extra, const char *label)
{
	fprintf(out,
		"<rect x=\"%d\" y=\"%d\" width=\"18\" height=\"12\" "
		"fill=\"%s\" %s/><text x=\"%d\" y=\"%d\" class=\"small\">%s"
		"</text>\n",
		x, y, fill, extra, x + 24, y + 10, label);
}

static int draw_legend(FILE *out, const struct tl *tl, int y)
{
	uint64_t term = 0;
	size_t shown = 0;
	int x = 8;

	fprintf(out, "<text x=\"8\" y=\"%d\" class=\"head\">Terms</text>\n",
		y + 16);
	y += 26;
	while ((term = next_term(tl, term)) != 0) {
		uint64_t lanes, a = 0, b = 0;
		bool first = true, in_ref = false, any = false;
		size_t where = tl->n;

		if (shown == TL_MAX_LEGEND) {
			fprintf(out,
				"<text x=\"%d\" y=\"%d\" class=\"small "
				"dim\">... and later terms (from term %" PRIu64
				")</text>\n",
				x, y + 10, term);
			y += 18;
			break;
		}
		shown++;
		fprintf(out,
			"<g class=\"term\" data-term=\"%" PRIu64 "\" "
			"data-leaders=\"",
			term);
		lanes = leaders_of(tl, term);
		for (size_t k = 0; k < tl->n; k++) {
			if (!(lanes >> k & 1))
				continue;
			if (!first)
				fputc(' ', out);
			xml_text(out, tl->nd[k].name, 200);
			first = false;
		}
		fprintf(out,
			"\"><rect x=\"%d\" y=\"%d\" width=\"18\" height=\"12\" "
			"fill=\"%s\"/><text x=\"%d\" y=\"%d\" "
			"class=\"small\">term %" PRIu64 ": ",
			x, y, term_colour(term), x + 24, y + 10, term);
		if (lanes == 0) {
			fputs(tl->have_time ? "leader not in the node logs"
					    : "leader unknown (no node logs)",
			      out);
		} else {
			first = true;
			fputs("leader ", out);
			for (size_t k = 0; k < tl->n; k++) {
				if (!(lanes >> k & 1))
					continue;
				if (!first)
					fputs(" and ", out);
				xml_text(out, tl->nd[k].name, TL_NAME_MAX);
				first = false;
			}
			if (lanes & (lanes - 1))
				fputs(" (two leaders in one term!)", out);
		}
		if (tl->ref < tl->n &&
		    term_range(&tl->nd[tl->ref], term, &a, &b)) {
			in_ref = true;
			any = true;
		}
		for (size_t k = 0; k < tl->n && !any; k++) {
			if (term_range(&tl->nd[k], term, &a, &b)) {
				any = true;
				where = k;
			}
		}
		if (any)
			fprintf(out, "; entries %" PRIu64 "..%" PRIu64, a, b);
		if (any && !in_ref) {
			fputs(" (only on ", out);
			xml_text(out, tl->nd[where].name, TL_NAME_MAX);
			fputs(", not in the reference log)", out);
		}
		if (!any)
			fputs("; no entries left in any log", out);
		fputs("</text></g>\n", out);
		y += 18;
	}
	/* What the shapes mean. */
	y += 6;
	fprintf(out, "<text x=\"8\" y=\"%d\" class=\"head\">Key</text>\n",
		y + 16);
	y += 26;
	legend_swatch(out, x, y, "#4e79a7", "fill-opacity=\"0.4\"",
		      "follower (colour: its term)");
	legend_swatch(out, x + 250, y, "#4e79a7", "stroke=\"#222\"", "leader");
	fprintf(out,
		"<rect x=\"%d\" y=\"%d\" width=\"18\" height=\"12\" "
		"fill=\"#4e79a7\" fill-opacity=\"0.7\"/>",
		x + 500, y);
	legend_swatch(out, x + 500, y, "url(#cand)", "",
		      "precandidate / candidate (electing)");
	legend_swatch(out, x + 800, y, "url(#down)", "", "down (not running)");
	y += 20;
	legend_swatch(out, x, y, "url(#cut)", "stroke=\"#d62728\"",
		      "partitioned: could not reach a majority");
	legend_swatch(out, x + 250, y, "#ff9f1c", "",
		      "lost contact with some peers");
	legend_swatch(out, x + 500, y, "url(#snap)", "",
		      "compacted (in the snapshot)");
	legend_swatch(out, x + 800, y, "none",
		      "stroke=\"#d62728\" stroke-dasharray=\"4 2\" "
		      "stroke-width=\"2\"",
		      "differs from the reference log");
	y += 20;
	fprintf(out,
		"<path d=\"M%d %d l4 -6 l4 6 z\" fill=\"#2ca02c\"/>"
		"<text x=\"%d\" y=\"%d\" class=\"small\">started</text>"
		"<rect x=\"%d\" y=\"%d\" width=\"6\" height=\"6\" "
		"fill=\"#333\"/><text x=\"%d\" y=\"%d\" "
		"class=\"small\">stopped</text>"
		"<path d=\"M%d %d l8 8 m0 -8 l-8 8\" stroke=\"#d62728\" "
		"stroke-width=\"2.5\"/><text x=\"%d\" y=\"%d\" "
		"class=\"small\">killed (no \"stopped\" line; the time the "
		"others lost it)</text>"
		"<circle cx=\"%d\" cy=\"%d\" r=\"3\" fill=\"#fff\" "
		"stroke=\"#222\"/><text x=\"%d\" y=\"%d\" "
		"class=\"small\">election</text>"
		"<path d=\"M%d %d l8 0 l-4 7 z\" fill=\"#d62728\"/>"
		"<text x=\"%d\" y=\"%d\" class=\"small\">stepped down (lost "
		"the majority)</text>\n",
		x + 2, y + 10, x + 24, y + 10, x + 120, y + 3, x + 134, y + 10,
		x + 230, y + 2, x + 244, y + 10, x + 590, y + 6, x + 600,
		y + 10, x + 680, y + 3, x + 694, y + 10);
	return y + 24;
}

/* ---- the whole picture ------------------------------------------------ */

static void tl_free(struct tl *tl)
{
	for (size_t k = 0; k < tl->n; k++) {
		struct tl_node *nd = &tl->nd[k];
		free(nd->runs);
		free(nd->ev);
		free(nd->seg);
		free(nd->mk);
		free(nd->cut);
		free(nd->col_role);
		free(nd->col_term);
		free(nd->col_mask);
		free(nd->col_mark);
		free(nd->col_stop);
		free(nd->stopw);
		free(nd->lost_t);
		free(nd->lost_cut_t);
		free(nd->back_t);
	}
	free(tl->nd);
	free(tl->lead);
}

/* The reference log: the most committed one (then the longest, the
 * latest term). */
static size_t pick_ref(const struct tl *tl)
{
	size_t best = tl->n;

	for (size_t k = 0; k < tl->n; k++) {
		const struct tl_node *a = &tl->nd[k], *b;
		if (!a->log_ok || a->nruns == 0)
			continue;
		if (best == tl->n) {
			best = k;
			continue;
		}
		b = &tl->nd[best];
		if (a->committed > b->committed ||
		    (a->committed == b->committed &&
		     (a->runs[a->nruns - 1].term > b->runs[b->nruns - 1].term ||
		      (a->runs[a->nruns - 1].term ==
			   b->runs[b->nruns - 1].term &&
		       a->last_index > b->last_index))))
			best = k;
	}
	return best;
}

int timeline_render(const struct check_input *in, size_t n, const char *title,
		    FILE *out, FILE *errf)
{
	struct tl tl;
	int rv = TIMELINE_OK, y;
	char t0[48], *buf = NULL;
	size_t len = 0, budget = TL_MAX_ALL_LINES;
	FILE *body;

	memset(&tl, 0, sizeof(tl));
	if (n == 0) {
		fprintf(errf, "raftctl: timeline: no nodes to draw\n");
		return TIMELINE_EUSAGE;
	}
	if (n > TIMELINE_MAX_NODES) {
		fprintf(errf,
			"raftctl: timeline: %zu nodes: at most %d in one "
			"picture\n",
			n, TIMELINE_MAX_NODES);
		return TIMELINE_EUSAGE;
	}
	tl.n = n;
	tl.nd = xcalloc(n, sizeof(*tl.nd));
	for (size_t k = 0; k < n; k++) {
		struct tl_node *nd = &tl.nd[k];
		nd->name = in[k].name;
		if (!read_raftlog(nd, &in[k], errf))
			rv = TIMELINE_EPARTIAL;
		if (!read_nodelog(nd, &in[k], &budget, errf))
			rv = TIMELINE_EPARTIAL;
		if (nd->has_t) {
			if (!tl.have_time || nd->first_t < tl.t0)
				tl.t0 = nd->first_t;
			if (!tl.have_time || nd->last_t > tl.t1)
				tl.t1 = nd->last_t;
			tl.have_time = true;
		}
	}
	if (tl.have_time) {
		if (tl.t1 <= tl.t0)
			tl.t1 = tl.t0 + 1000;
		index_peer_reports(&tl);
		for (size_t k = 0; k < n; k++)
			build_lane(&tl, k);
		for (size_t k = 0; k < n; k++)
			fill_columns(&tl, k);
		for (size_t k = 0; k < n; k++)
			fill_masks(&tl, k);
	}
	tl.ref = pick_ref(&tl);

	/* The drawing goes to memory first: the height is known at its
	 * end, and the header that carries it comes first. */
	body = open_memstream(&buf, &len);
	if (body == NULL) {
		fprintf(errf, "raftctl: timeline: open_memstream: %s\n",
			strerror(errno));
		rv = TIMELINE_EUSAGE;
		goto out;
	}
	svg_defs(body);
	fputs("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n", body);
	fprintf(body, "<text x=\"8\" y=\"22\" class=\"head\" "
		      "style=\"font-size:18px\">");
	xml_text(body, title ? title : "raftd cluster timeline", 120);
	fputs("</text>\n", body);
	if (tl.have_time) {
		char dur[24];
		fmt_time(t0, sizeof(t0), tl.t0);
		fmt_rel(dur, sizeof(dur), tl.t1 - tl.t0);
		fprintf(body,
			"<text x=\"8\" y=\"40\" class=\"small dim\">%zu "
			"node%s; from %s, %s long</text>\n",
			n, n == 1 ? "" : "s", t0, dur + 1);
	} else {
		fprintf(body,
			"<text x=\"8\" y=\"40\" class=\"small dim\">%zu "
			"node%s; no node logs (raftd.log beside the "
			"raftlogs): the logs by index only</text>\n",
			n, n == 1 ? "" : "s");
	}
	y = 50;
	if (tl.have_time)
		y = draw_time_panel(body, &tl, y);
	y = draw_index_panel(body, &tl, y);
	y = draw_legend(body, &tl, y);
	if (fclose(body) != 0) {
		fprintf(errf, "raftctl: timeline: out of memory\n");
		rv = TIMELINE_EUSAGE;
		goto out;
	}
	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" "
		"class=\"raftd-timeline\">\n",
		TL_WIDTH, y + 10, TL_WIDTH, y + 10);
	fwrite(buf, 1, len, out);
	fputs("</svg>\n", out);
out:
	free(buf);
	tl_free(&tl);
	return rv;
}

/* ---- the command ------------------------------------------------------ */

static int timeline_usage(const char *why)
{
	fprintf(stderr,
		"raftctl: timeline: %s\nusage: raftctl timeline DIR [-o FILE] "
		"[--title TEXT]\n",
		why);
	return CMD_EXIT_USAGE;
}

/* Writes the picture to `path` through a temporary file renamed over it:
 * a failed run leaves no half-written picture. */
static int render_to_file(const struct check_input *in, size_t n,
			  const char *title, const char *path, int *trv)
{
	char *tmp = util_xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int rv = -1;

	if (f == NULL) {
		fprintf(stderr, "raftctl: timeline: %s: %s\n", tmp,
			strerror(errno));
		goto out;
	}
	*trv = timeline_render(in, n, title, f, stderr);
	if (ferror(f) | (fclose(f) != 0)) {
		fprintf(stderr, "raftctl: timeline: %s: write failed\n", tmp);
		unlink(tmp);
		goto out;
	}
	if (*trv == TIMELINE_EUSAGE) {
		unlink(tmp);
		rv = 0;
		goto out;
	}
	if (rename(tmp, path) < 0) {
		fprintf(stderr, "raftctl: timeline: rename %s: %s\n", path,
			strerror(errno));
		unlink(tmp);
		goto out;
	}
	rv = 0;
out:
	free(tmp);
	return rv;
}

int timeline_cmd(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *outpath = NULL, *title = NULL;
	char **pos = xcalloc((size_t)argc + 1, sizeof(*pos));
	struct check_input *in = NULL;
	size_t n = 0, npos = 0;
	char err[1024], *deftitle = NULL;
	bool opts = true;
	int rv = CMD_EXIT_USAGE, trv = TIMELINE_EUSAGE;

	(void)ctx;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (opts && strcmp(s, "--") == 0) {
			opts = false;
		} else if (opts && (strcmp(s, "-o") == 0 ||
				    strcmp(s, "--output") == 0 ||
				    strcmp(s, "--title") == 0)) {
			if (i + 1 == argc) {
				rv = timeline_usage("an option wants a value");
				goto out;
			}
			if (s[1] == 'o' || s[2] == 'o')
				outpath = argv[++i];
			else
				title = argv[++i];
		} else if (opts && strncmp(s, "--output=", 9) == 0) {
			outpath = s + 9;
		} else if (opts && strncmp(s, "--title=", 8) == 0) {
			title = s + 8;
		} else if (opts && s[0] == '-' && s[1] != '\0') {
			snprintf(err, sizeof(err), "unknown option '%.100s'",
				 s);
			rv = timeline_usage(err);
			goto out;
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (npos == 0) {
		rv = timeline_usage("which directory?");
		goto out;
	}
	if (outpath != NULL && outpath[0] == '\0') {
		rv = timeline_usage("-o wants a file name");
		goto out;
	}
	if (check_inputs_from_args(pos, npos, &in, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "raftctl: timeline: %s\n", err);
		goto out;
	}
	if (title == NULL) {
		deftitle = util_xasprintf("raftd cluster timeline: %s", pos[0]);
		title = deftitle;
	}
	if (outpath == NULL) {
		trv = timeline_render(in, n, title, stdout, stderr);
	} else if (render_to_file(in, n, title, outpath, &trv) < 0) {
		rv = CMD_EXIT_FAIL;
		goto out;
	}
	rv = trv == TIMELINE_OK		? CMD_EXIT_OK
	     : trv == TIMELINE_EPARTIAL ? CMD_EXIT_FAIL
					: CMD_EXIT_USAGE;
out:
	check_inputs_free(in, n);
	free(pos);
	free(deftitle);
	return rv;
}
