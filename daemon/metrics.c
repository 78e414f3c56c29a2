/* metrics.c: GET /health and GET /metrics (metrics.h). */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* A growing text buffer. */
struct text {
	char *p;
	size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = t->cap - t->len;
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap ? 2 * t->cap : 4096;
		while (t->cap - t->len <= (size_t)n)
			t->cap *= 2;
		t->p = xrealloc(t->p, t->cap);
	}
}

void metrics_observe(struct metrics_server *ms, size_t i, uint64_t ns)
{
	if (i >= METRICS_MAX_METHODS)
		return;
	atomic_fetch_add(&ms->hist[i][hist_bucket(ns)], 1);
	atomic_fetch_add(&ms->hist_sum_ns[i], ns);
}

static const char *role_name(enum raft_role r)
{
	return r == RAFT_PRECANDIDATE ? "candidate" : raft_role_name(r);
}

bool metrics_health(struct node *n, char **text, size_t *len)
{
	struct node_status_info si;
	struct text t = {0};
	uint64_t lag;
	bool ok;

	node_status(n, &si);
	lag = si.commit_index - si.last_applied;
	ok = si.leader != 0 && lag <= METRICS_HEALTH_MAX_LAG;
	put(&t,
	    "{\"health\": %s, \"id\": %u, \"state\": \"%s\", \"term\": %llu, "
	    "\"leader\": %u, \"commitIndex\": %llu, \"lastApplied\": %llu, "
	    "\"reason\": \"%s\"}\n",
	    ok ? "true" : "false", (unsigned)si.id, role_name(si.role),
	    (unsigned long long)si.term, (unsigned)si.leader,
	    (unsigned long long)si.commit_index,
	    (unsigned long long)si.last_applied,
	    si.leader == 0 ? "no leader known"
	    : !ok	   ? "state machine behind the commit index"
			   : "ok");
	*text = t.p;
	*len = t.len;
	return ok;
}

/* One histogram in Prometheus' form: cumulative buckets, +Inf, sum and
 * count. */
static void put_hist(struct text *t, const char *name, const char *labels,
		     const uint64_t *buckets, uint64_t sum_ns)
{
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i < HIST_BUCKETS; i++) {
		cum += buckets[i];
		if (i < HIST_BUCKETS - 1)
			put(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
			    labels[0] ? "," : "", hist_bounds_ns[i] / 1e9,
			    (unsigned long long)cum);
		else
			put(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name,
			    labels, labels[0] ? "," : "",
			    (unsigned long long)cum);
	}
	put(t, "%s_sum%s%s%s %g\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "", sum_ns / 1e9);
	put(t, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
	    labels[0] ? "}" : "", (unsigned long long)cum);
}

/* One unlabelled gauge or counter, with its HELP and TYPE lines. */
static void put_one(struct text *t, const char *name, const char *type,
		    const char *help, uint64_t v)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type,
	    name, (unsigned long long)v);
}

void metrics_render(struct node *n, const struct metrics_server *ms,
		    char **text, size_t *len)
{
	static const enum raft_role roles[] = {RAFT_FOLLOWER, RAFT_CANDIDATE,
					       RAFT_LEADER};
	struct node_status_info si;
	struct node_snap_info sn;
	struct text t = {0};
	uint64_t sum = 0, b[HIST_BUCKETS];
	char labels[96];
	size_t i, j;

	node_status(n, &si);
	put(&t, "# HELP raftd_role 1 for this node's current role.\n"
		"# TYPE raftd_role gauge\n");
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		put(&t, "raftd_role{role=\"%s\"} %d\n", role_name(roles[i]),
		    strcmp(role_name(si.role), role_name(roles[i])) == 0);
	put(&t,
	    "# HELP raftd_term The current term.\n"
	    "# TYPE raftd_term gauge\nraftd_term %llu\n",
	    (unsigned long long)si.term);
	put(&t,
	    "# HELP raftd_leader_id The leader this node knows (0: none).\n"
	    "# TYPE raftd_leader_id gauge\nraftd_leader_id %u\n",
	    (unsigned)si.leader);
	put(&t,
	    "# HELP raftd_commit_index The highest index known committed.\n"
	    "# TYPE raftd_commit_index gauge\nraftd_commit_index %llu\n",
	    (unsigned long long)si.commit_index);
	put(&t,
	    "# HELP raftd_applied_index The highest index applied.\n"
	    "# TYPE raftd_applied_index gauge\nraftd_applied_index %llu\n",
	    (unsigned long long)si.last_applied);
	put(&t,
	    "# HELP raftd_last_log_index The last index in the log.\n"
	    "# TYPE raftd_last_log_index gauge\n"
	    "raftd_last_log_index %llu\n",
	    (unsigned long long)si.last_log_index);
	put(&t,
	    "# HELP raftd_elections_total Campaigns this node started.\n"
	    "# TYPE raftd_elections_total counter\n"
	    "raftd_elections_total %llu\n",
	    (unsigned long long)si.elections);
	put(&t,
	    "# HELP raftd_leaderships_total Times this node became "
	    "leader.\n# TYPE raftd_leaderships_total counter\n"
	    "raftd_leaderships_total %llu\n",
	    (unsigned long long)si.leaderships);
	put(&t,
	    "# HELP raftd_dropped_messages_total Peer messages the core "
	    "refused.\n# TYPE raftd_dropped_messages_total counter\n"
	    "raftd_dropped_messages_total %llu\n",
	    (unsigned long long)si.dropped_msgs);
	node_snap_info(n, &sn);
	put_one(&t, "raftd_snapshot_index", "gauge",
		"The latest snapshot's last included index (0: none).",
		sn.index);
	put_one(&t, "raftd_snapshot_bytes", "gauge",
		"The latest snapshot file's size.", sn.bytes);
	put_one(&t, "raftd_snapshots_taken_total", "counter",
		"Snapshots this node took.", sn.taken);
	put_one(&t, "raftd_snapshots_installed_total", "counter",
		"Snapshots installed from the leader.", sn.installed);
	put_one(&t, "raftd_snapshots_sent_total", "counter",
		"Snapshots sent to followers.", sn.sent);
	put(&t,
	    "# HELP raftd_snapshot_pause_seconds_max The longest pause of "
	    "taking a snapshot (the fork, under the node's lock).\n"
	    "# TYPE raftd_snapshot_pause_seconds_max gauge\n"
	    "raftd_snapshot_pause_seconds_max %g\n",
	    (double)sn.pause_ns_max / 1e9);
	put_one(&t, "raftd_log_first_index", "gauge",
		"The first index the raftlog holds.", sn.log_first);
	put_one(&t, "raftd_log_bytes", "gauge", "The raftlog's size.",
		sn.log_bytes);
	put(&t, "# HELP raftd_peer_match_index As leader: the highest index "
		"known to match on each peer.\n"
		"# TYPE raftd_peer_match_index gauge\n");
	for (i = 0; i < si.n_peers; i++)
		put(&t, "raftd_peer_match_index{peer=\"%u\"} %llu\n",
		    (unsigned)si.peers[i].id,
		    (unsigned long long)si.peers[i].match);
	put(&t, "# HELP raftd_peer_lag_entries As leader: entries each peer "
		"is behind.\n# TYPE raftd_peer_lag_entries gauge\n");
	for (i = 0; i < si.n_peers; i++)
		put(&t, "raftd_peer_lag_entries{peer=\"%u\"} %llu\n",
		    (unsigned)si.peers[i].id,
		    (unsigned long long)si.peers[i].lag);
	put(&t, "# HELP raftd_peer_next_index As leader: the next index sent "
		"to each peer.\n# TYPE raftd_peer_next_index gauge\n");
	for (i = 0; i < si.n_peers; i++)
		put(&t, "raftd_peer_next_index{peer=\"%u\"} %llu\n",
		    (unsigned)si.peers[i].id,
		    (unsigned long long)si.peers[i].next);
	put(&t, "# HELP raftd_peer_last_contact_seconds As leader: time since "
		"each peer last answered (peers never heard from are "
		"left out).\n"
		"# TYPE raftd_peer_last_contact_seconds gauge\n");
	for (i = 0; i < si.n_peers; i++)
		if (si.peers[i].contact_ms >= 0)
			put(&t,
			    "raftd_peer_last_contact_seconds{peer=\"%u\"} "
			    "%g\n",
			    (unsigned)si.peers[i].id,
			    (double)si.peers[i].contact_ms / 1000.0);
	put_one(&t, "raftd_uptime_seconds", "gauge",
		"Seconds since this node started.", si.uptime_s);
	put_one(&t, "raftd_keys", "gauge", "Keys in the key-value map.",
		si.keys);
	put(&t,
	    "# HELP raftd_appends_sent_total AppendEntries RPCs made.\n"
	    "# TYPE raftd_appends_sent_total counter\n"
	    "raftd_appends_sent_total %llu\n",
	    (unsigned long long)si.appends_sent);
	put(&t,
	    "# HELP raftd_appends_received_total AppendEntries handled.\n"
	    "# TYPE raftd_appends_received_total counter\n"
	    "raftd_appends_received_total %llu\n",
	    (unsigned long long)si.appends_received);
	put(&t, "# HELP raftd_fsync_seconds raftlog fdatasync durations.\n"
		"# TYPE raftd_fsync_seconds histogram\n");
	put_hist(&t, "raftd_fsync_seconds", "", si.sync_hist, si.sync_ns_total);
	put(&t, "# HELP raftd_request_seconds Client calls, from the request "
		"to the answer, by method.\n"
		"# TYPE raftd_request_seconds histogram\n");
	for (i = 0; i < ms->n_methods; i++) {
		for (j = 0; j < HIST_BUCKETS; j++)
			b[j] = atomic_load(&ms->hist[i][j]);
		sum = atomic_load(&ms->hist_sum_ns[i]);
		snprintf(labels, sizeof(labels), "method=\"%s\"",
			 ms->method_names[i]);
		put_hist(&t, "raftd_request_seconds", labels, b, sum);
	}
	put(&t,
	    "# HELP raftd_http_requests_total HTTP requests on the "
	    "client listener.\n# TYPE raftd_http_requests_total counter\n"
	    "raftd_http_requests_total %llu\n",
	    (unsigned long long)atomic_load(&ms->requests));
	put(&t,
	    "# HELP raftd_http_refused_total Requests refused before "
	    "parsing (over the body limit, DTD, UTF-16).\n"
	    "# TYPE raftd_http_refused_total counter\n"
	    "raftd_http_refused_total %llu\n",
	    (unsigned long long)atomic_load(&ms->refused));
	put(&t,
	    "# HELP raftd_http_bytes_in_total Request body bytes.\n"
	    "# TYPE raftd_http_bytes_in_total counter\n"
	    "raftd_http_bytes_in_total %llu\n",
	    (unsigned long long)atomic_load(&ms->bytes_in));
	put(&t,
	    "# HELP raftd_http_bytes_out_total Response body bytes.\n"
	    "# TYPE raftd_http_bytes_out_total counter\n"
	    "raftd_http_bytes_out_total %llu\n",
	    (unsigned long long)atomic_load(&ms->bytes_out));
	put(&t,
	    "# HELP raftd_http_connections Open connections.\n"
	    "# TYPE raftd_http_connections gauge\n"
	    "raftd_http_connections{listener=\"client\"} %u\n"
	    "raftd_http_connections{listener=\"peer\"} %u\n",
	    ms->connections, ms->peer_connections);
	*text = t.p;
	*len = t.len;
}
