/* golden.c: golden-trace scenarios: small deterministic runs whose whole
 * trace is compared, line by line, with a committed file.
 *
 * The trace is what SIM_VERBOSE prints (world.c): every delivered message
 * with its fields, each core's own trace text (update->trace, after "|"),
 * writes becoming durable, crashes, restarts and client calls, each with
 * its virtual time and node; then the end state of every node.  The
 * world's invariants are checked at every step as in any scenario, but a
 * golden run also fails when anything in the sequence changes: a message
 * more or less, another order, another timeout.  That is the point (etcd
 * raft's testdata, cowsql's traces): a change of the core's behaviour
 * shows up here as a diff to review, even when it breaks no invariant.
 * When the change is intended, regenerate the files (README.md). */
#include "golden.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIT(id) (1u << (id))

struct golden {
	const char *name;
	const char *pins; /* one line for the file's header */
	uint32_t n_nodes;
	uint64_t seed;
	void (*run)(struct world *w);
};

/* §5.2: three nodes start, one wins the first election (after PreVote,
 * thesis §9.6), its no-op (§8) is applied everywhere, and four heartbeat
 * rounds follow. */
static void gs_first_election(struct world *w)
{
	uint32_t l = world_wait_leader(w, w->all, 3000);

	if (l == 0) {
		world_fail(w, "no leader within 3 s");
		return;
	}
	if (!world_wait_applied(w, w->all, world_commit_max(w), 1000)) {
		world_fail(w, "the leader's no-op not applied everywhere");
		return;
	}
	world_run_for(w, 200);
}

/* A leader commits a proposal, then crashes; the other two elect a new
 * leader (§5.2, with PreVote), which commits its no-op and a proposal of
 * its own (§5.3); the old leader restarts from its disk, follows, and
 * catches up. */
static void gs_leader_crash(struct world *w)
{
	uint32_t l1, l2;
	uint64_t pid = 0;

	l1 = world_wait_leader(w, w->all, 3000);
	if (l1 == 0) {
		world_fail(w, "no leader within 3 s");
		return;
	}
	if (world_propose(w, l1, &pid) != 0 || !world_wait_prop(w, pid, 1000) ||
	    w->props[pid - 1].state != PROP_ACKED) {
		world_fail(w, "the first proposal not committed");
		return;
	}
	world_crash(w, l1);
	l2 = world_wait_leader(w, w->all & ~BIT(l1), 3000);
	if (l2 == 0 || l2 == l1) {
		world_fail(w, "no new leader within 3 s of the crash");
		return;
	}
	if (world_propose(w, l2, &pid) != 0 || !world_wait_prop(w, pid, 1000) ||
	    w->props[pid - 1].state != PROP_ACKED) {
		world_fail(w, "the new leader's proposal not committed");
		return;
	}
	world_restart(w, l1);
	if (!world_wait_applied(w, w->all, world_commit_max(w), 2000)) {
		world_fail(w, "the restarted node did not catch up");
		return;
	}
	world_run_for(w, 100);
}

static const struct golden goldens[] = {
    {"first-election-3",
     "the first election of 3 nodes, the no-op applied, heartbeats", 3, 1,
     gs_first_election},
    {"leader-crash-3",
     "a commit, the leader crashes, re-election, a commit, the old leader "
     "restarts and catches up",
     3, 2, gs_leader_crash},
};

/* The end state, as the updates reported it: one line per node. */
static void print_end(struct world *w, FILE *out)
{
	for (uint32_t id = 1; id <= w->n; id++) {
		const struct node *nd = world_node(w, id);
		fprintf(out,
			"end n%u: %s term %llu vote %u leader %u commit %llu "
			"applied %llu log terms [",
			id, nd->up ? raft_role_name(nd->role) : "down",
			(unsigned long long)nd->term, nd->hs_vote, nd->leader,
			(unsigned long long)nd->commit,
			(unsigned long long)nd->applied);
		for (uint64_t i = 0; i < nd->n; i++)
			fprintf(out, "%s%llu", i ? " " : "",
				(unsigned long long)nd->log[i].term);
		fprintf(out, "]\n");
	}
	fprintf(out,
		"end: %llu messages sent, %llu delivered, %llu dropped, %llu "
		"elections won\n",
		(unsigned long long)w->msgs_sent,
		(unsigned long long)w->msgs_delivered,
		(unsigned long long)w->msgs_dropped,
		(unsigned long long)w->elections);
}

/* Runs g with its trace into a string (the caller frees it); NULL with
 * the world's reason in `why` if the run itself failed. */
static char *trace_of(const struct golden *g, struct world_totals *t, char *why,
		      size_t whylen)
{
	struct world_opts o;
	struct world *w = calloc(1, sizeof(*w));
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (w == NULL || out == NULL) {
		snprintf(why, whylen, "out of memory");
		free(w);
		if (out != NULL)
			fclose(out);
		free(buf);
		return NULL;
	}
	world_default_opts(&o, g->name, g->seed, g->n_nodes);
	o.verbose = true;
	o.trace_out = out;
	fprintf(out, "# tests/sim golden trace %s: %s\n", g->name, g->pins);
	fprintf(out,
		"# %u nodes, seed %llu, the default options; regenerate only "
		"for a reviewed change (tests/sim/README.md)\n",
		g->n_nodes, (unsigned long long)g->seed);
	if (world_init(w, &o) != 0) {
		snprintf(why, whylen, "cannot build the world");
	} else {
		g->run(w);
		world_final_check(w);
		print_end(w, out);
		if (w->failed)
			snprintf(why, whylen, "%s", w->why);
		t->scenarios++;
		world_add_totals(t, w);
	}
	fclose(out);
	if (w->failed || why[0] != '\0') {
		free(buf);
		buf = NULL;
	}
	world_free(w);
	free(w);
	return buf;
}

/* Splits s into lines in place; returns the array (the caller frees
 * it), *n the count. */
static char **split_lines(char *s, size_t *n)
{
	size_t cap = 64, k = 0;
	char **v = malloc(cap * sizeof(*v));

	while (v != NULL && *s != '\0') {
		char *nl = strchr(s, '\n');
		if (k == cap) {
			char **nv = realloc(v, 2 * cap * sizeof(*v));
			if (nv == NULL) {
				free(v);
				return NULL;
			}
			v = nv;
			cap *= 2;
		}
		v[k++] = s;
		if (nl == NULL)
			break;
		*nl = '\0';
		s = nl + 1;
	}
	*n = k;
	return v;
}

static bool same_from(char **a, size_t na, size_t i, char **b, size_t nb,
		      size_t j)
{
	for (int k = 0; k < 3; k++, i++, j++) {
		if (i == na || j == nb)
			return i == na && j == nb;
		if (strcmp(a[i], b[j]) != 0)
			return false;
	}
	return true;
}

/* Prints the differences of want and got as hunks of "-" (the golden
 * file's lines) and "+" (this run's), re-synchronising on three equal
 * lines; at most 8 hunks. */
static void print_diff(char **want, size_t nw, char **got, size_t ng)
{
	size_t i = 0, j = 0;
	int hunks = 0;

	while ((i < nw || j < ng) && hunks < 8) {
		size_t di = 0, dj = 0, d, c;
		bool found = false;

		if (i < nw && j < ng && strcmp(want[i], got[j]) == 0) {
			i++, j++;
			continue;
		}
		for (d = 1; d <= 400 && !found; d++)
			for (di = 0; di <= d && !found; di++) {
				dj = d - di;
				found = i + di <= nw && j + dj <= ng &&
					same_from(want, nw, i + di, got, ng,
						  j + dj);
			}
		if (found)
			di--; /* the loop stepped past it */
		else
			di = nw - i, dj = ng - j;
		printf("@@ golden line %zu, this run's line %zu @@\n", i + 1,
		       j + 1);
		for (c = i >= 2 ? i - 2 : 0; c < i; c++)
			printf("  %s\n", want[c]);
		for (c = 0; c < di && c < 20; c++)
			printf("- %s\n", want[i + c]);
		if (di > 20)
			printf("- ... %zu more\n", di - 20);
		for (c = 0; c < dj && c < 20; c++)
			printf("+ %s\n", got[j + c]);
		if (dj > 20)
			printf("+ ... %zu more\n", dj - 20);
		i += di;
		j += dj;
		hunks++;
	}
	if (i < nw || j < ng)
		printf("@@ (more differences follow) @@\n");
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, got;
	char chunk[4096];
	FILE *out;

	if (f == NULL)
		return NULL;
	out = open_memstream(&buf, &len);
	if (out == NULL) {
		fclose(f);
		return NULL;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, got, out);
	fclose(f);
	fclose(out);
	return buf;
}

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	if (fputs(s, f) == EOF) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* One golden scenario: 0 passed (or written), 1 failed. */
static int golden_one(const struct golden *g, const char *dir, bool update,
		      bool verbose, struct world_totals *t)
{
	char path[4096], out_path[512], why[1100] = "";
	char *trace = trace_of(g, t, why, sizeof(why));
	char *want = NULL, **wl = NULL, **gl = NULL, *copy = NULL;
	char *real_dir = realpath(dir, NULL);
	size_t nw = 0, ng = 0;
	int rv = 1;

	/* The directory as the reader knows it, without the build's "..". */
	snprintf(path, sizeof(path), "%s/%s.txt", real_dir ? real_dir : dir,
		 g->name);
	free(real_dir);
	if (trace == NULL) {
		printf("sim: FAIL golden %s: the run failed: %s\n", g->name,
		       why);
		goto out;
	}
	if (verbose)
		fputs(trace, stdout);
	if (update) {
		if (write_file(path, trace) != 0) {
			printf("sim: FAIL golden %s: cannot write %s: %s\n",
			       g->name, path, strerror(errno));
			goto out;
		}
		printf("sim: wrote  golden %-18s %zu lines to %s\n", g->name,
		       count_lines(trace), path);
		rv = 0;
		goto out;
	}
	want = read_file(path);
	if (want == NULL) {
		printf("sim: FAIL golden %s: cannot read %s: %s (write it with "
		       "SIM_GOLDEN_UPDATE=1 tests/sim/sim --golden)\n",
		       g->name, path, strerror(errno));
		goto out;
	}
	if (strcmp(want, trace) == 0) {
		printf("sim: ok   golden %-18s %zu lines as in %s\n", g->name,
		       count_lines(trace), path);
		rv = 0;
		goto out;
	}
	printf("sim: FAIL golden %s: the trace differs from %s (%zu lines "
	       "there, %zu in this run)\n",
	       g->name, path, count_lines(want), count_lines(trace));
	copy = strdup(trace);
	wl = split_lines(want, &nw);
	gl = copy ? split_lines(copy, &ng) : NULL;
	if (wl != NULL && gl != NULL)
		print_diff(wl, nw, gl, ng);
	/* The whole trace, for diff -u and a closer look. */
	snprintf(out_path, sizeof(out_path), "tests/sim/golden-%s.out",
		 g->name);
	if (write_file(out_path, trace) != 0) {
		snprintf(out_path, sizeof(out_path), "golden-%s.out", g->name);
		if (write_file(out_path, trace) != 0)
			out_path[0] = '\0';
	}
	if (out_path[0] != '\0')
		printf("sim: this run's trace is in %s: diff -u %s %s\n",
		       out_path, path, out_path);
	printf("sim: if the change of behaviour is intended and reviewed: "
	       "SIM_GOLDEN_UPDATE=1 tests/sim/sim --golden\n");
out:
	/* A failed run is counted by the world (world_add_totals). */
	if (rv != 0 && trace != NULL)
		t->failures++;
	fflush(stdout);
	free(wl);
	free(gl);
	free(copy);
	free(want);
	free(trace);
	return rv;
}

int golden_run(const char *only, const char *dir, bool update, bool verbose,
	       struct world_totals *t)
{
	int failed = 0, ran = 0;

	for (size_t k = 0; k < sizeof(goldens) / sizeof(goldens[0]); k++) {
		if (only && fnmatch(only, goldens[k].name, 0) != 0)
			continue;
		ran++;
		if (golden_one(&goldens[k], dir, update, verbose, t) != 0)
			failed++;
	}
	return ran == 0 ? -1 : failed;
}
