/* cmd.c: raftctl's commands (docs/RAFTCTL.md), shared by the command line and
 * the interactive shell. */
#include "cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <xmlrpc-c/base.h>

#include "backup.h"
#include "calendar.h"
#include "check.h"
#include "health.h"
#include "help.h"
#include "nodelist.h"
#include "rpc.h"
#include "snapfile.h"
#include "timeline.h"
#include "util.h"
#include "xjson.h"

/* How long `status` waits for the slowest node. */
#define CMD_STATUS_TIMEOUT_MS 2000
/* showLog / getEntries page size: well under the XML size limit even for
 * large entries (main raises the limit; the pages stay modest anyway). */
#define CMD_PAGE 500
/* list's page size when a listing does not fit one answer: the server's
 * own cap (docs/API.md), which also cuts a page to fit 4 MiB. */
#define CMD_LIST_PAGE 10000
/* New ids to try when a random calendar id is already taken. */
#define CMD_CAL_TRIES 5
/* Key completion: how long it may take, and how many keys it offers. */
#define CMD_COMPLETE_TIMEOUT_MS 1500

/* Options a command accepts after its name. */
enum {
	ARG_TID = 1u << 0,
	ARG_NODE = 1u << 1,
};

struct cmd_args {
	int n;
	char **pos; /* positional arguments: pointers into argv */
	const char *tid;
	const char *node;
};

static void errorf(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One line on stderr: "raftctl: CMD: message". */
static void errorf(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "raftctl: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cmd_ctx_init(struct cmd_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->timeout_ms = CMD_DEFAULT_TIMEOUT_MS;
}

void cmd_ctx_release(struct cmd_ctx *ctx)
{
	rpc_free(ctx->rpc);
	ctx->rpc = NULL;
}

int cmd_parse_seconds(const char *s, uint64_t *ms)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0 ||
	    v > 86400)
		return -1;
	*ms = (uint64_t)(v * 1000.0 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

void cmd_next_tid(struct cmd_ctx *ctx, char *out, size_t outlen)
{
	if (ctx->tid_base[0] == '\0') {
		char host[33] = "localhost";
		struct timespec ts;
		uint32_t rnd = 0;

		/* Unique across hosts, processes and time, and random on top
		 * for two processes with the same pid on hosts of the same
		 * name (containers). */
		if (gethostname(host, sizeof(host) - 1) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		for (char *p = host; *p; p++)
			if (*p == '-' || *p <= ' ' || *p == 0x7f)
				*p = '_';
		clock_gettime(CLOCK_REALTIME, &ts);
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 16;
		snprintf(ctx->tid_base, sizeof(ctx->tid_base),
			 "raftctl-%s-%ld-%lld%09ld-%08" PRIx32, host,
			 (long)getpid(), (long long)ts.tv_sec, ts.tv_nsec, rnd);
	}
	snprintf(out, outlen, "%s-%lu", ctx->tid_base, ++ctx->tid_seq);
}

/* Splits a command's arguments into options and positionals.  Options
 * may come anywhere ("--tid T", "--tid=T", "--node ID", "--json"); "--"
 * ends them. */
static int parse_args(struct cmd_ctx *ctx, const char *cmd, int argc,
		      char **argv, unsigned allowed, struct cmd_args *a)
{
	bool opts = true;

	memset(a, 0, sizeof(*a));
	a->pos = xcalloc((size_t)argc + 1, sizeof(*a->pos));
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		const char **slot = NULL;
		const char *name = NULL;

		if (!opts || strncmp(s, "--", 2) != 0) {
			a->pos[a->n++] = argv[i];
			continue;
		}
		if (strcmp(s, "--") == 0) {
			opts = false;
			continue;
		}
		if (strcmp(s, "--json") == 0) {
			ctx->json = true;
			continue;
		}
		if ((allowed & ARG_TID) && strncmp(s, "--tid", 5) == 0 &&
		    (s[5] == '\0' || s[5] == '=')) {
			slot = &a->tid;
			name = "--tid";
		} else if ((allowed & ARG_NODE) &&
			   strncmp(s, "--node", 6) == 0 &&
			   (s[6] == '\0' || s[6] == '=')) {
			slot = &a->node;
			name = "--node";
		} else {
			errorf(cmd,
			       "unknown option %s (see raftctl %.*s --help)", s,
			       (int)strcspn(cmd, " "), cmd);
			goto fail;
		}
		if (s[strlen(name)] == '=') {
			*slot = s + strlen(name) + 1;
		} else if (i + 1 < argc) {
			*slot = argv[++i];
		} else {
			errorf(cmd, "%s needs a value", name);
			goto fail;
		}
	}
	if (a->tid && a->tid[0] == '\0') {
		errorf(cmd, "--tid must not be empty");
		goto fail;
	}
	return 0;
fail:
	free(a->pos);
	a->pos = NULL;
	return -1;
}

static void args_free(struct cmd_args *a)
{
	free(a->pos);
	a->pos = NULL;
}

/* Makes ctx->rpc from -s, -c or the environment, and starts the
 * command's deadline.  Returns CMD_EXIT_OK or the exit status. */
static int connect(struct cmd_ctx *ctx, const char *cmd)
{
	struct nodelist *nl = NULL;
	char err[1024];
	const char *env;
	int rv = CMD_EXIT_USAGE;

	if (ctx->rpc == NULL) {
		nl = xcalloc(1, sizeof(*nl));
		if (ctx->servers) {
			if (nodelist_parse_servers(ctx->servers, nl, err,
						   sizeof(err)) < 0) {
				errorf(NULL, "%s", err);
				goto out;
			}
		} else if (ctx->config_path) {
			if (nodelist_from_config(ctx->config_path, nl, err,
						 sizeof(err)) < 0) {
				errorf(NULL, "%s", err);
				goto out;
			}
		} else if ((env = getenv("RAFTCTL_SERVERS")) && *env) {
			if (nodelist_parse_servers(env, nl, err, sizeof(err)) <
			    0) {
				errorf(NULL, "RAFTCTL_SERVERS: %s", err);
				goto out;
			}
		} else if ((env = getenv("RAFTCTL_CONFIG")) && *env) {
			if (nodelist_from_config(env, nl, err, sizeof(err)) <
			    0) {
				errorf(NULL, "RAFTCTL_CONFIG: %s", err);
				goto out;
			}
		} else {
			errorf(cmd, "no nodes: use -c CONFIG or -s "
				    "HOST:PORT[,HOST:PORT...] (or set "
				    "RAFTCTL_SERVERS)");
			goto out;
		}
		/* TLS: the cluster's CA from the config, or for a -s list
		 * from $RAFTCTL_TLS_CA (docs/RAFTCTL.md). */
		if (nl->tls_ca[0] == '\0' && (env = getenv("RAFTCTL_TLS_CA")) &&
		    *env)
			snprintf(nl->tls_ca, sizeof(nl->tls_ca), "%s", env);
		if (rpc_new(nl, ctx->verbose, &ctx->rpc, err, sizeof(err)) <
		    0) {
			errorf(cmd, "%s", err);
			rv = CMD_EXIT_FAIL;
			goto out;
		}
	}
	rpc_set_deadline(ctx->rpc, util_now_ms() + ctx->timeout_ms);
	rv = CMD_EXIT_OK;
out:
	free(nl);
	return rv;
}

/* connect() for completion: no message on stderr.  The client it makes
 * is the session's (the shell's next commands use it): it traces with -v,
 * and cmd_complete_keys() silences it for its own call. */
static int connect_quiet(struct cmd_ctx *ctx)
{
	struct nodelist *nl = NULL;
	char err[1024];
	const char *env;
	int rv = CMD_EXIT_USAGE;

	if (ctx->rpc != NULL)
		return CMD_EXIT_OK;
	nl = xcalloc(1, sizeof(*nl));
	if (ctx->servers)
		rv = nodelist_parse_servers(ctx->servers, nl, err, sizeof(err));
	else if (ctx->config_path)
		rv = nodelist_from_config(ctx->config_path, nl, err,
					  sizeof(err));
	else if ((env = getenv("RAFTCTL_SERVERS")) && *env)
		rv = nodelist_parse_servers(env, nl, err, sizeof(err));
	else if ((env = getenv("RAFTCTL_CONFIG")) && *env)
		rv = nodelist_from_config(env, nl, err, sizeof(err));
	else
		rv = -1;
	if (rv < 0) {
		rv = CMD_EXIT_USAGE;
		goto out;
	}
	if (nl->tls_ca[0] == '\0' && (env = getenv("RAFTCTL_TLS_CA")) && *env)
		snprintf(nl->tls_ca, sizeof(nl->tls_ca), "%s", env);
	rv = rpc_new(nl, ctx->verbose, &ctx->rpc, err, sizeof(err)) < 0
		 ? CMD_EXIT_FAIL
		 : CMD_EXIT_OK;
out:
	free(nl);
	return rv;
}

/* Turns a failed call into a one-line message and an exit status. */
static int report(struct cmd_ctx *ctx, const char *cmd, const char *subject,
		  int rv, const struct rpc_error *err)
{
	const char *sep = subject ? ": " : "";

	if (!subject)
		subject = "";
	switch (rv) {
	case RPC_EUNAVAIL:
		errorf(cmd, "%s%scluster unavailable within %.1f s: %s",
		       subject, sep, (double)ctx->timeout_ms / 1000.0,
		       err->msg);
		return CMD_EXIT_UNAVAIL;
	case RPC_EPROTO:
		errorf(cmd, "%s%sunexpected answer from the server", subject,
		       sep);
		return CMD_EXIT_FAIL;
	case RPC_EFAULT:
		break;
	default:
		errorf(cmd, "%s%sfailed (%d)", subject, sep, rv);
		return CMD_EXIT_FAIL;
	}
	switch (err->fault) {
	case API_FAULT_NOT_FOUND:
		errorf(cmd, "%s%snot found", subject, sep);
		break;
	case API_FAULT_INVALID:
		errorf(cmd, "%s%sinvalid request: %s", subject, sep, err->msg);
		break;
	case API_FAULT_UNAUTHORIZED:
		errorf(cmd, "%s%sunauthorized: %s", subject, sep, err->msg);
		break;
	default:
		errorf(cmd, "%s%sfault %d: %s", subject, sep, err->fault,
		       err->msg);
		break;
	}
	return CMD_EXIT_FAIL;
}

/* rpc_call_leader() with the error reported; returns the exit status. */
static int leader_call(struct cmd_ctx *ctx, const char *cmd,
		       const char *subject, const char *method,
		       xmlrpc_value *params, xmlrpc_value **res)
{
	struct rpc_error err = {0};
	int rv;

	rv = rpc_call_leader(ctx->rpc, method, params, res, &err);
	if (rv == RPC_OK)
		return CMD_EXIT_OK;
	return report(ctx, cmd, subject, rv, &err);
}

/* Builds an XML-RPC parameter array; out of memory is fatal. */
static xmlrpc_value *build(const char *fmt, ...)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	const char *tail = NULL;
	va_list ap;

	xmlrpc_env_init(&env);
	va_start(ap, fmt);
	xmlrpc_build_value_va(&env, fmt, ap, &v, &tail);
	va_end(ap);
	if (env.fault_occurred) {
		errorf(NULL, "cannot build a request: %s", env.fault_string);
		exit(CMD_EXIT_FAIL);
	}
	xmlrpc_env_clean(&env);
	return v;
}

/* A write whose answer is a boolean.  Returns the exit status; *ok gets
 * the answer. */
static int write_bool(struct cmd_ctx *ctx, const char *cmd, const char *subject,
		      const char *method, xmlrpc_value *params, bool *ok)
{
	xmlrpc_value *res = NULL;
	int rv;

	rv = leader_call(ctx, cmd, subject, method, params, &res);
	if (rv != CMD_EXIT_OK)
		goto out;
	if (rpc_value_bool(res, ok) < 0) {
		rv = report(ctx, cmd, subject, RPC_EPROTO, NULL);
		goto out;
	}
	rv = CMD_EXIT_OK;
out:
	if (res)
		xmlrpc_DECREF(res);
	return rv;
}

static int usage_error(const char *cmd, const char *synopsis)
{
	errorf(cmd, "usage: raftctl %s", synopsis);
	return CMD_EXIT_USAGE;
}

/* ---- leader, status ------------------------------------------------- */

static int cmd_leader(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_args a;
	struct rpc_status st;
	struct rpc_error err = {0};
	size_t pos;
	int rv;

	if (parse_args(ctx, "leader", argc, argv, 0, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n != 0) {
		rv = usage_error("leader", "leader");
		goto out;
	}
	rv = connect(ctx, "leader");
	if (rv != CMD_EXIT_OK)
		goto out;
	if (rpc_find_leader(ctx->rpc, &pos, &st, &err) != RPC_OK) {
		rv = report(ctx, "leader", NULL, RPC_EUNAVAIL, &err);
		goto out;
	}
	if (ctx->json) {
		printf("{\"id\": %" PRId64 ", \"address\": ", st.id);
		util_json_string(stdout,
				 rpc_nodes(ctx->rpc)->nodes[pos].address);
		printf(", \"term\": %" PRId64 "}\n", st.term);
	} else {
		printf("%" PRId64 " %s\n", st.id,
		       rpc_nodes(ctx->rpc)->nodes[pos].address);
	}
	rv = CMD_EXIT_OK;
out:
	args_free(&a);
	return rv;
}

/* `status --json`: every member each node answered (docs/API.md), after
 * the list's id and address; the node's own "id" is "nodeId" there. */
static void status_json(const struct nodelist *nl, const struct rpc_status *st)
{
	fputs("[\n", stdout);
	for (size_t i = 0; i < nl->n; i++) {
		const struct rpc_status *s = &st[i];

		printf("  {\"id\": %" PRIu32 ", \"address\": ",
		       nl->nodes[i].id);
		util_json_string(stdout, nl->nodes[i].address);
		if (!s->up || s->raw == NULL) {
			fputs(", \"state\": \"down\", \"error\": ", stdout);
			util_json_string(stdout, s->error);
		} else {
			xjson_write_members(stdout, s->raw, "id", "nodeId");
		}
		printf("}%s\n", i + 1 < nl->n ? "," : "");
	}
	fputs("]\n", stdout);
}

/* The position of the leader among the answers (the highest term's, if
 * a stale one answers too), or nl->n when none answered as leader. */
static size_t status_leader(const struct nodelist *nl,
			    const struct rpc_status *st)
{
	size_t pick = nl->n;

	for (size_t i = 0; i < nl->n; i++)
		if (st[i].up && strcmp(st[i].state, "leader") == 0 &&
		    (pick == nl->n || st[i].term > st[pick].term))
			pick = i;
	return pick;
}

/* How far node `id` is behind the leader's log, from the leader's
 * status().peers (0 for the leader itself); -1 when unknown. */
static int64_t status_lag(const struct rpc_status *leader, int64_t id)
{
	xmlrpc_value *peers = NULL;
	xmlrpc_env env;
	int64_t lag = -1;
	int n;

	if (leader == NULL || leader->raw == NULL)
		return -1;
	if (leader->id == id)
		return 0;
	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, leader->raw, "peers", &peers);
	if (env.fault_occurred || peers == NULL)
		goto out;
	n = xmlrpc_array_size(&env, peers);
	for (int k = 0; k < n && !env.fault_occurred; k++) {
		xmlrpc_value *p = NULL;
		int64_t pid = 0, l = 0;

		xmlrpc_array_read_item(&env, peers, k, &p);
		if (env.fault_occurred)
			break;
		if (rpc_struct_int(p, "id", &pid) == 0 && pid == id &&
		    rpc_struct_int(p, "lag", &l) == 0 && l >= 0)
			lag = l;
		xmlrpc_DECREF(p);
	}
out:
	if (peers)
		xmlrpc_DECREF(peers);
	xmlrpc_env_clean(&env);
	return lag;
}

/* The LOG column: "ENTRIES/BYTES" human readable, "-" when the node does
 * not report them. */
static void status_log_cell(const struct rpc_status *s, char *out, size_t size)
{
	char e[16], b[16];

	if (s->log_entries < 0 || s->log_bytes < 0) {
		snprintf(out, size, "-");
		return;
	}
	util_human((uint64_t)s->log_entries, 0, e, sizeof(e));
	util_human((uint64_t)s->log_bytes, 1, b, sizeof(b));
	snprintf(out, size, "%s/%s", e, b);
}

static void status_table(const struct nodelist *nl, const struct rpc_status *st)
{
	int wa = (int)strlen("ADDRESS");

	for (size_t i = 0; i < nl->n; i++) {
		int l = (int)strlen(nl->nodes[i].address);
		if (l > wa)
			wa = l;
	}
	size_t lp = status_leader(nl, st);

	/* New columns go at the end: scripts (the testbed's status) read
	 * the first seven by position. */
	printf("%4s  %-*s  %-9s  %6s  %6s  %8s  %8s  %8s  %11s  %6s\n", "ID",
	       wa, "ADDRESS", "STATE", "TERM", "LEADER", "COMMIT", "LAST",
	       "SNAP", "LOG", "LAG");
	for (size_t i = 0; i < nl->n; i++) {
		const struct rpc_status *s = &st[i];
		char snap[24], log[32], lag[24];
		int64_t l;

		if (!s->up) {
			printf("%4" PRIu32
			       "  %-*s  %-9s  %6s  %6s  %8s  %8s  %8s  %11s  "
			       "%6s\n",
			       nl->nodes[i].id, wa, nl->nodes[i].address,
			       "down", "-", "-", "-", "-", "-", "-", "-");
			continue;
		}
		l = status_lag(lp < nl->n ? &st[lp] : NULL, s->id);
		if (l < 0)
			snprintf(lag, sizeof(lag), "-");
		else
			snprintf(lag, sizeof(lag), "%" PRId64, l);
		if (s->snapshot_index < 0)
			snprintf(snap, sizeof(snap), "-");
		else
			snprintf(snap, sizeof(snap), "%" PRId64,
				 s->snapshot_index);
		status_log_cell(s, log, sizeof(log));
		printf("%4" PRIu32 "  %-*s  %-9s  %6" PRId64 "  %6" PRId64
		       "  %8" PRId64 "  %8" PRId64 "  %8s  %11s  %6s\n",
		       nl->nodes[i].id, wa, nl->nodes[i].address, s->state,
		       s->term, s->leader, s->commit_index, s->last_log_index,
		       snap, log, lag);
	}
	/* A failed snapshot is worth a line of its own (the table stays one
	 * row per node above it). */
	for (size_t i = 0; i < nl->n; i++) {
		const struct rpc_status *s = &st[i];

		if (!s->up || !s->has_snapshot_error ||
		    s->snapshot_error[0] == '\0')
			continue;
		printf("node %" PRIu32 ": last snapshot failed: ",
		       nl->nodes[i].id);
		util_print_oneline(stdout, s->snapshot_error);
		fputc('\n', stdout);
	}
}

/* The configuration in force as a node reported it, by node list
 * position: which listed nodes are voters.  known is false when no node
 * answered members(). */
/* How long a scan of every node (status, health) waits for each. */
static uint64_t scan_timeout(const struct cmd_ctx *ctx)
{
	return ctx->timeout_ms < CMD_STATUS_TIMEOUT_MS ? ctx->timeout_ms
						       : CMD_STATUS_TIMEOUT_MS;
}

struct status_conf {
	bool known;
	bool member[NODELIST_MAX];
	bool voter[NODELIST_MAX];
};

/* Adds to the node list the members of the cluster's configuration that
 * it lacks, as node pick reports them, and records the members and
 * voters in *conf.  Returns how many were added. */
static size_t fetch_members(struct cmd_ctx *ctx, size_t pick,
			    struct status_conf *conf)
{
	xmlrpc_value *params = build("()"), *res = NULL;
	struct rpc_error err = {0};
	xmlrpc_env env;
	size_t added = 0;
	int n, k;

	/* A budget of its own (the scan before it may have used up -t
	 * waiting for nodes that do not answer): whether the configuration
	 * is consulted must not depend on how long they took. */
	rpc_set_deadline(ctx->rpc, util_now_ms() + scan_timeout(ctx));
	if (rpc_call_node(ctx->rpc, pick, "members", params,
			  CMD_STATUS_TIMEOUT_MS, &res, &err) != RPC_OK) {
		xmlrpc_DECREF(params);
		return 0;
	}
	xmlrpc_DECREF(params);
	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, res);
	conf->known = !env.fault_occurred && n > 0;
	for (k = 0; k < n && !env.fault_occurred; k++) {
		xmlrpc_value *m = NULL;
		int64_t id = 0;
		bool voter = false;
		char addr[NODELIST_ADDR_MAX];
		size_t pos, before = rpc_nodes(ctx->rpc)->n;
		xmlrpc_array_read_item(&env, res, k, &m);
		if (env.fault_occurred)
			break;
		if (rpc_struct_int(m, "id", &id) == 0 && id > 0 &&
		    id <= INT32_MAX &&
		    rpc_struct_str(m, "address", addr, sizeof(addr)) == 0 &&
		    rpc_add_node(ctx->rpc, (uint32_t)id, addr, &pos) == 0) {
			if (rpc_nodes(ctx->rpc)->n > before)
				added++;
			conf->member[pos] = true;
			if (rpc_struct_bool(m, "voter", &voter) == 0 && voter)
				conf->voter[pos] = true;
		} else {
			/* A member we cannot place: count by the list. */
			conf->known = false;
		}
		xmlrpc_DECREF(m);
	}
	if (env.fault_occurred)
		conf->known = false;
	xmlrpc_DECREF(res);
	xmlrpc_env_clean(&env);
	return added;
}

/* fetch_members() from a node that answered status(), the leader if one
 * did. */
static size_t add_members(struct cmd_ctx *ctx, const struct rpc_status *st,
			  struct status_conf *conf)
{
	const struct nodelist *nl = rpc_nodes(ctx->rpc);
	size_t pick = nl->n;

	for (size_t i = 0; i < nl->n; i++)
		if (st[i].up &&
		    (pick == nl->n || strcmp(st[i].state, "leader") == 0))
			pick = i;
	return pick == nl->n ? 0 : fetch_members(ctx, pick, conf);
}

static int cmd_status(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct rpc_status *st = NULL;
	struct status_conf *conf = NULL;
	const struct nodelist *nl;
	struct cmd_args a;
	size_t up = 0, voters = 0, voters_up = 0;
	int rv;

	if (parse_args(ctx, "status", argc, argv, 0, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n != 0) {
		rv = usage_error("status", "status");
		goto out;
	}
	rv = connect(ctx, "status");
	if (rv != CMD_EXIT_OK)
		goto out;
	st = xcalloc(NODELIST_MAX, sizeof(*st));
	conf = xcalloc(1, sizeof(*conf));
	rpc_status_all(ctx->rpc, CMD_STATUS_TIMEOUT_MS, st);
	/* Members added since the config file was written: ask a node that
	 * answered for the configuration, and show them too. */
	if (add_members(ctx, st, conf) > 0) {
		rpc_status_release(st, NODELIST_MAX);
		rpc_status_all(ctx->rpc, CMD_STATUS_TIMEOUT_MS, st);
	}
	nl = rpc_nodes(ctx->rpc);
	for (size_t i = 0; i < nl->n; i++) {
		up += st[i].up;
		/* The quorum is the configuration's voters when a node told
		 * us them (a node removed since the config file was written
		 * does not count, a learner neither); else the nodes shown. */
		if (!conf->known || conf->voter[i]) {
			voters++;
			voters_up += st[i].up;
		}
	}
	if (ctx->json)
		status_json(nl, st);
	else
		status_table(nl, st);
	/* The exit status says whether the cluster can serve
	 * (docs/RAFTCTL.md): a leader, and a majority of the nodes shown
	 * answering. */
	/* The table before the verdict, also when both go to one pipe. */
	fflush(stdout);
	if (up == 0) {
		errorf("status", "no node answered");
		rv = CMD_EXIT_UNAVAIL;
	} else if (status_leader(nl, st) == nl->n) {
		errorf("status", "no leader (%zu of %zu nodes answered)", up,
		       nl->n);
		rv = CMD_EXIT_FAIL;
	} else if (voters_up < voters / 2 + 1) {
		errorf("status",
		       "no quorum: %zu of %zu %s answered, %zu needed",
		       voters_up, voters, conf->known ? "voters" : "nodes",
		       voters / 2 + 1);
		rv = CMD_EXIT_FAIL;
	} else {
		rv = CMD_EXIT_OK;
	}
out:
	if (st)
		rpc_status_release(st, NODELIST_MAX);
	free(st);
	free(conf);
	args_free(&a);
	return rv;
}

/* ---- the key-value map ---------------------------------------------- */

static int cmd_get(struct cmd_ctx *ctx, int argc, char **argv)
{
	xmlrpc_value *params = NULL, *res = NULL;
	struct cmd_args a;
	char *value = NULL;
	int rv;

	if (parse_args(ctx, "get", argc, argv, 0, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n != 1) {
		rv = usage_error("get", "get KEY");
		goto out;
	}
	rv = connect(ctx, "get");
	if (rv != CMD_EXIT_OK)
		goto out;
	params = build("(s)", a.pos[0]);
	rv = leader_call(ctx, "get", a.pos[0], "get", params, &res);
	if (rv != CMD_EXIT_OK)
		goto out;
	if (rpc_value_strdup(res, &value) < 0) {
		rv = report(ctx, "get", a.pos[0], RPC_EPROTO, NULL);
		goto out;
	}
	if (ctx->json) {
		util_json_string(stdout, value);
		fputc('\n', stdout);
	} else {
		printf("%s\n", value);
	}
	rv = CMD_EXIT_OK;
out:
	free(value);
	if (res)
		xmlrpc_DECREF(res);
	if (params)
		xmlrpc_DECREF(params);
	args_free(&a);
	return rv;
}

static int cmd_put(struct cmd_ctx *ctx, int argc, char **argv)
{
	xmlrpc_value *params = NULL;
	struct cmd_args a;
	char tid[160];
	bool ok = false;
	int rv;

	if (parse_args(ctx, "put", argc, argv, ARG_TID, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n != 2) {
		rv = usage_error("put", "put [--tid TID] KEY VALUE");
		goto out;
	}
	rv = connect(ctx, "put");
	if (rv != CMD_EXIT_OK)
		goto out;
	if (a.tid)
		snprintf(tid, sizeof(tid), "%s", a.tid);
	else
		cmd_next_tid(ctx, tid, sizeof(tid));
	params = build("(sss)", a.pos[0], a.pos[1], tid);
	rv = write_bool(ctx, "put", a.pos[0], "put", params, &ok);
out:
	if (params)
		xmlrpc_DECREF(params);
	args_free(&a);
	return rv;
}

static int cmd_del(struct cmd_ctx *ctx, int argc, char **argv)
{
	xmlrpc_value *params = NULL;
	struct cmd_args a;
	char tid[160];
	bool existed = false;
	int rv;

	if (parse_args(ctx, "del", argc, argv, ARG_TID, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n != 1) {
		rv = usage_error("del", "del [--tid TID] KEY");
		goto out;
	}
	rv = connect(ctx, "del");
	if (rv != CMD_EXIT_OK)
		goto out;
	if (a.tid)
		snprintf(tid, sizeof(tid), "%s", a.tid);
	else
		cmd_next_tid(ctx, tid, sizeof(tid));
	params = build("(ss)", a.pos[0], tid);
	rv = write_bool(ctx, "del", a.pos[0], "delete", params, &existed);
	if (rv == CMD_EXIT_OK && !existed) {
		errorf("del", "%s: not found", a.pos[0]);
		rv = CMD_EXIT_FAIL;
	}
out:
	if (params)
		xmlrpc_DECREF(params);
	args_free(&a);
	return rv;
}

static int cmd_cas(struct cmd_ctx *ctx, int argc, char **argv)
{
	xmlrpc_value *params = NULL;
	struct cmd_args a;
	char tid[160];
	bool set = false;
	int rv;

	if (parse_args(ctx, "cas", argc, argv, ARG_TID, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n != 3) {
		rv = usage_error("cas", "cas [--tid TID] KEY OLD NEW");
		goto out;
	}
	rv = connect(ctx, "cas");
	if (rv != CMD_EXIT_OK)
		goto out;
	if (a.tid)
		snprintf(tid, sizeof(tid), "%s", a.tid);
	else
		cmd_next_tid(ctx, tid, sizeof(tid));
	params = build("(ssss)", a.pos[0], a.pos[1], a.pos[2], tid);
	rv = write_bool(ctx, "cas", a.pos[0], "cas", params, &set);
	if (rv == CMD_EXIT_OK && !set) {
		errorf("cas", "%s: cas failed: value differs", a.pos[0]);
		rv = CMD_EXIT_FAIL;
	}
out:
	if (params)
		xmlrpc_DECREF(params);
	args_free(&a);
	return rv;
}

/* Item i of array `arr` (a new reference), or NULL. */
static xmlrpc_value *item(xmlrpc_value *arr, int i)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, arr, (unsigned)i, &v);
	if (env.fault_occurred)
		v = NULL;
	xmlrpc_env_clean(&env);
	return v;
}

static int array_size(xmlrpc_value *arr)
{
	xmlrpc_env env;
	int n;

	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, arr);
	if (env.fault_occurred)
		n = 0;
	xmlrpc_env_clean(&env);
	return n;
}

/* Called by list_all() for each pair, in key order; returns 0 to go on.
 * k and v are the caller's to keep. */
typedef int (*list_fn)(void *arg, char *k, char *v);

/* Hands each {key, value} of the array `res` to fn.  *last (freed and
 * replaced) gets the last key.  Returns the exit status. */
static int list_page(struct cmd_ctx *ctx, const char *cmd, xmlrpc_value *res,
		     list_fn fn, void *arg, char **last, int *n_out)
{
	int n;

	*n_out = 0;
	if (xmlrpc_value_type(res) != XMLRPC_TYPE_ARRAY)
		return report(ctx, cmd, NULL, RPC_EPROTO, NULL);
	n = array_size(res);
	for (int i = 0; i < n; i++) {
		xmlrpc_value *kv = item(res, i);
		char *k = NULL, *v = NULL;

		if (kv == NULL || rpc_struct_strdup(kv, "key", &k) < 0 ||
		    rpc_struct_strdup(kv, "value", &v) < 0) {
			free(k);
			if (kv)
				xmlrpc_DECREF(kv);
			return report(ctx, cmd, NULL, RPC_EPROTO, NULL);
		}
		xmlrpc_DECREF(kv);
		if (i == n - 1) {
			free(*last);
			*last = xstrdup(k);
		}
		if (fn(arg, k, v) != 0)
			return CMD_EXIT_FAIL;
	}
	*n_out = n;
	return CMD_EXIT_OK;
}

/* Every key with the prefix, in order, to fn.  First one list(prefix),
 * which answers the whole listing when it fits one response (so a small
 * listing makes the same single call, and is one linearizable read, as
 * before).  A larger one is fault 3 from the server, and the keys then
 * come page by page through list(prefix, after, limit) until an empty
 * page (docs/API.md); each page is a linearizable read of its own, and
 * the -t deadline bounds each page, not the whole listing. */
static int list_all(struct cmd_ctx *ctx, const char *cmd, const char *prefix,
		    list_fn fn, void *arg)
{
	xmlrpc_value *params, *res = NULL;
	struct rpc_error err = {0};
	char *last = NULL;
	int rv, n = 0;

	params = build("(s)", prefix);
	rv = rpc_call_leader(ctx->rpc, "list", params, &res, &err);
	xmlrpc_DECREF(params);
	if (rv == RPC_OK) {
		rv = list_page(ctx, cmd, res, fn, arg, &last, &n);
		goto out;
	}
	if (rv != RPC_EFAULT || err.fault != API_FAULT_INVALID) {
		rv = report(ctx, cmd, NULL, rv, &err);
		goto out;
	}
	/* Paged.  `after` leaves out keys equal to it, so the empty key
	 * (the smallest of all) is asked for on its own. */
	if (prefix[0] == '\0') {
		char *val = NULL;

		params = build("((s))", "");
		rv = leader_call(ctx, cmd, NULL, "multiGet", params, &res);
		xmlrpc_DECREF(params);
		if (rv != CMD_EXIT_OK)
			goto out;
		if (xmlrpc_value_type(res) != XMLRPC_TYPE_STRUCT) {
			rv = report(ctx, cmd, NULL, RPC_EPROTO, NULL);
			goto out;
		}
		if (rpc_struct_strdup(res, "", &val) == 0 &&
		    fn(arg, xstrdup(""), val) != 0) {
			rv = CMD_EXIT_FAIL;
			goto out;
		}
		xmlrpc_DECREF(res);
		res = NULL;
	}
	last = xstrdup("");
	for (;;) {
		rpc_set_deadline(ctx->rpc, util_now_ms() + ctx->timeout_ms);
		params = build("(ssi)", prefix, last, (int)CMD_LIST_PAGE);
		rv = leader_call(ctx, cmd, NULL, "list", params, &res);
		xmlrpc_DECREF(params);
		if (rv != CMD_EXIT_OK)
			goto out;
		rv = list_page(ctx, cmd, res, fn, arg, &last, &n);
		xmlrpc_DECREF(res);
		res = NULL;
		if (rv != CMD_EXIT_OK || n == 0)
			goto out;
	}
out:
	if (res)
		xmlrpc_DECREF(res);
	free(last);
	return rv;
}

/* cmd_list's printer: text lines, or a JSON array. */
struct list_print {
	struct cmd_ctx *ctx;
	size_t n;
};

static int list_print_fn(void *arg, char *k, char *v)
{
	struct list_print *lp = arg;

	if (lp->ctx->json) {
		/* The "[" waits for the first pair, so that a listing that
		 * fails at once prints nothing on stdout. */
		fputs(lp->n ? ",\n {\"key\": " : "[\n {\"key\": ", stdout);
		util_json_string(stdout, k);
		fputs(", \"value\": ", stdout);
		util_json_string(stdout, v);
		fputs("}", stdout);
	} else {
		util_print_oneline(stdout, k);
		fputc('\t', stdout);
		util_print_oneline(stdout, v);
		fputc('\n', stdout);
	}
	lp->n++;
	free(k);
	free(v);
	return 0;
}

static int cmd_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct list_print lp = {.ctx = ctx};
	struct cmd_args a;
	int rv;

	if (parse_args(ctx, "list", argc, argv, 0, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n > 1) {
		rv = usage_error("list", "list [PREFIX]");
		goto out;
	}
	rv = connect(ctx, "list");
	if (rv != CMD_EXIT_OK)
		goto out;
	rv = list_all(ctx, "list", a.n ? a.pos[0] : "", list_print_fn, &lp);
	if (ctx->json && lp.n > 0)
		fputs("\n]\n", stdout);
	else if (ctx->json && rv == CMD_EXIT_OK)
		fputs("[]\n", stdout);
out:
	args_free(&a);
	return rv;
}

/* ---- the replicated log --------------------------------------------- */

static int cmd_add(struct cmd_ctx *ctx, int argc, char **argv)
{
	xmlrpc_value *params = NULL;
	struct cmd_args a;
	bool ok = false;
	int rv;

	if (parse_args(ctx, "add", argc, argv, 0, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n != 2 || a.pos[0][0] == '\0') {
		rv = usage_error("add", "add TID DATA");
		goto out;
	}
	rv = connect(ctx, "add");
	if (rv != CMD_EXIT_OK)
		goto out;
	params = build("(ss)", a.pos[0], a.pos[1]);
	rv = write_bool(ctx, "add", a.pos[0], "addEntry", params, &ok);
out:
	if (params)
		xmlrpc_DECREF(params);
	args_free(&a);
	return rv;
}

/* Parses the optional FROM [COUNT] of log and entries. */
static int parse_range(const char *cmd, const struct cmd_args *a,
		       uint64_t *from, uint64_t *count)
{
	*from = 1;
	*count = UINT64_MAX;
	if (a->n > 2 ||
	    (a->n >= 1 &&
	     (util_parse_u64(a->pos[0], INT32_MAX, from) < 0 || *from == 0)) ||
	    (a->n == 2 && util_parse_u64(a->pos[1], UINT64_MAX, count) < 0)) {
		errorf(cmd,
		       "FROM must be an index >= 1 and COUNT a number; usage: "
		       "raftctl %s",
		       strcmp(cmd, "log") == 0
			   ? "log [--node ID] [FROM [COUNT]]"
			   : "entries [FROM [COUNT]]");
		return -1;
	}
	return 0;
}

/* One log record of showLog / getEntries. */
struct logrec {
	int64_t index, term;
	bool committed;
	char *tid, *data;
};

static int logrec_decode(xmlrpc_value *v, bool with_committed, struct logrec *r)
{
	memset(r, 0, sizeof(*r));
	if (rpc_struct_int(v, "index", &r->index) < 0 ||
	    rpc_struct_int(v, "term", &r->term) < 0 ||
	    rpc_struct_strdup(v, "data", &r->data) < 0)
		goto bad;
	/* A record without a tid (a no-op, an older entry) shows "-". */
	if (rpc_struct_strdup(v, "tid", &r->tid) < 0)
		r->tid = xstrdup("");
	if (with_committed &&
	    rpc_struct_bool(v, "committed", &r->committed) < 0)
		goto bad;
	return 0;
bad:
	free(r->data);
	free(r->tid);
	memset(r, 0, sizeof(*r));
	return -1;
}

static void logrec_print(struct cmd_ctx *ctx, const struct logrec *r,
			 bool with_committed, bool first)
{
	if (ctx->json) {
		printf("%s {\"index\": %" PRId64 ", \"term\": %" PRId64,
		       first ? "\n" : ",\n", r->index, r->term);
		if (with_committed)
			printf(", \"committed\": %s",
			       r->committed ? "true" : "false");
		fputs(", \"tid\": ", stdout);
		util_json_string(stdout, r->tid);
		fputs(", \"data\": ", stdout);
		util_json_string(stdout, r->data);
		fputs("}", stdout);
		return;
	}
	printf("%6" PRId64 " %5" PRId64 " ", r->index, r->term);
	if (with_committed)
		printf("%c ", r->committed ? 'C' : 'U');
	util_print_oneline(stdout, r->tid[0] ? r->tid : "-");
	fputc(' ', stdout);
	util_print_oneline(stdout, r->data);
	fputc('\n', stdout);
}

/* Pages through showLog (on node `pos`, shown = true) or getEntries (on
 * the leader) and prints the records. */
static int print_log(struct cmd_ctx *ctx, const char *cmd, bool show,
		     size_t pos, uint64_t from, uint64_t count)
{
	const char *method = show ? "showLog" : "getEntries";
	uint64_t printed = 0;
	bool first = true;
	int rv = CMD_EXIT_OK;

	if (ctx->json)
		fputs("[", stdout);
	while (printed < count) {
		uint64_t want =
		    count - printed < CMD_PAGE ? count - printed : CMD_PAGE;
		xmlrpc_value *params, *res = NULL;
		struct rpc_error err = {0};
		int64_t last = 0;
		int n;

		params = build("(ii)", (int)from, (int)want);
		if (show) {
			int r = rpc_call_node(ctx->rpc, pos, method, params,
					      ctx->timeout_ms, &res, &err);
			rv = r == RPC_OK
				 ? CMD_EXIT_OK
				 : report(ctx, cmd, NULL,
					  err.fault == XMLRPC_NETWORK_ERROR
					      ? RPC_EUNAVAIL
					      : r,
					  &err);
		} else {
			rv = leader_call(ctx, cmd, NULL, method, params, &res);
		}
		xmlrpc_DECREF(params);
		if (rv != CMD_EXIT_OK)
			break;
		if (xmlrpc_value_type(res) != XMLRPC_TYPE_ARRAY) {
			xmlrpc_DECREF(res);
			rv = report(ctx, cmd, NULL, RPC_EPROTO, NULL);
			break;
		}
		n = array_size(res);
		for (int i = 0; i < n && printed < count; i++) {
			xmlrpc_value *v = item(res, i);
			struct logrec r;

			if (v == NULL || logrec_decode(v, show, &r) < 0) {
				if (v)
					xmlrpc_DECREF(v);
				rv = report(ctx, cmd, NULL, RPC_EPROTO, NULL);
				break;
			}
			logrec_print(ctx, &r, show, first);
			first = false;
			printed++;
			last = r.index;
			free(r.tid);
			free(r.data);
			xmlrpc_DECREF(v);
		}
		xmlrpc_DECREF(res);
		/* An empty page ends the log; an index that does not move
		 * forward would loop forever. */
		if (rv != CMD_EXIT_OK || n == 0 || last < (int64_t)from ||
		    last >= INT32_MAX)
			break;
		from = (uint64_t)last + 1;
	}
	if (ctx->json)
		fputs(first ? "]\n" : "\n]\n", stdout);
	return rv;
}

static int cmd_log(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_args a;
	uint64_t from, count, id;
	size_t pos = 0;
	int rv;

	if (parse_args(ctx, "log", argc, argv, ARG_NODE, &a) < 0)
		return CMD_EXIT_USAGE;
	if (parse_range("log", &a, &from, &count) < 0) {
		rv = CMD_EXIT_USAGE;
		goto out;
	}
	if (a.node &&
	    (util_parse_u64(a.node, UINT32_MAX, &id) < 0 || id == 0)) {
		rv = usage_error("log", "log [--node ID] [FROM [COUNT]]");
		goto out;
	}
	rv = connect(ctx, "log");
	if (rv != CMD_EXIT_OK)
		goto out;
	if (a.node) {
		int p = nodelist_find_id(rpc_nodes(ctx->rpc), (uint32_t)id);
		if (p < 0) {
			errorf("log", "no node with id %s", a.node);
			rv = CMD_EXIT_USAGE;
			goto out;
		}
		pos = (size_t)p;
	} else {
		struct rpc_error err = {0};

		if (rpc_find_leader(ctx->rpc, &pos, NULL, &err) != RPC_OK) {
			rv = report(ctx, "log", NULL, RPC_EUNAVAIL, &err);
			goto out;
		}
	}
	rv = print_log(ctx, "log", true, pos, from, count);
out:
	args_free(&a);
	return rv;
}

static int cmd_entries(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_args a;
	uint64_t from, count;
	int rv;

	if (parse_args(ctx, "entries", argc, argv, 0, &a) < 0)
		return CMD_EXIT_USAGE;
	if (parse_range("entries", &a, &from, &count) < 0) {
		rv = CMD_EXIT_USAGE;
		goto out;
	}
	rv = connect(ctx, "entries");
	if (rv != CMD_EXIT_OK)
		goto out;
	rv = print_log(ctx, "entries", false, 0, from, count);
out:
	args_free(&a);
	return rv;
}

/* ---- the calendar --------------------------------------------------- */

static int cal_add(struct cmd_ctx *ctx, struct cmd_args *a)
{
	struct cal_event ev;
	char key[CAL_KEY_MAX], tid[160];
	char *title = NULL;
	size_t len = 0;
	int rv = CMD_EXIT_USAGE;

	if (a->n < 4) {
		rv =
		    usage_error("cal add", "cal add YYYY-MM-DD HH:MM TITLE...");
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	if (cal_parse_date(a->pos[1], &ev.year, &ev.month, &ev.day) < 0) {
		errorf("cal add", "bad date '%s': want YYYY-MM-DD, a real day",
		       a->pos[1]);
		goto out;
	}
	if (cal_parse_time(a->pos[2], &ev.hour, &ev.minute) < 0) {
		errorf("cal add", "bad time '%s': want HH:MM, 00:00 to 23:59",
		       a->pos[2]);
		goto out;
	}
	for (int i = 3; i < a->n; i++)
		len += strlen(a->pos[i]) + 1;
	title = xcalloc(1, len + 1);
	for (int i = 3; i < a->n; i++) {
		if (i > 3)
			strcat(title, " ");
		strcat(title, a->pos[i]);
	}
	if (title[strspn(title, " ")] == '\0' || util_has_control(title)) {
		errorf("cal add", "the title must be non-empty, on one line");
		goto out;
	}
	rv = connect(ctx, "cal add");
	if (rv != CMD_EXIT_OK)
		goto out;
	for (int tries = 0; tries < CMD_CAL_TRIES; tries++) {
		xmlrpc_value *params;
		bool created = false;

		cal_new_id(ev.id, sizeof(ev.id));
		cal_event_key(&ev, key, sizeof(key));
		cmd_next_tid(ctx, tid, sizeof(tid));
		/* Absent -> create: two adders never overwrite each other. */
		params = build("(ssss)", key, "", title, tid);
		rv = write_bool(ctx, "cal add", NULL, "cas", params, &created);
		xmlrpc_DECREF(params);
		if (rv != CMD_EXIT_OK)
			goto out;
		if (created) {
			printf("%s\n", ev.id);
			goto out;
		}
	}
	errorf("cal add", "could not find a free event id");
	rv = CMD_EXIT_FAIL;
out:
	free(title);
	return rv;
}

/* cal_fetch's collector. */
struct cal_collect {
	const char *cmd;
	struct cal_event *events;
	char **titles;
	size_t n, cap;
};

static int cal_collect_fn(void *arg, char *k, char *v)
{
	struct cal_collect *cc = arg;

	if (cc->n == cc->cap) {
		cc->cap = cc->cap ? 2 * cc->cap : 16;
		cc->events = util_xreallocarray(cc->events, cc->cap + 1,
						sizeof(*cc->events));
		cc->titles = util_xreallocarray(cc->titles, cc->cap + 1,
						sizeof(*cc->titles));
	}
	memset(&cc->events[cc->n], 0, sizeof(cc->events[cc->n]));
	if (cal_parse_key(k, &cc->events[cc->n]) == 0) {
		cc->titles[cc->n++] = v;
		v = NULL;
	} else {
		/* Someone wrote under cal/ by hand. */
		fprintf(stderr, "raftctl: %s: ignoring key '", cc->cmd);
		util_print_oneline(stderr, k);
		fputs("': not a calendar event\n", stderr);
	}
	free(k);
	free(v);
	return 0;
}

/* Lists the events under `prefix` into *events (malloc'd) with their
 * titles (malloc'd each); *n gets the count.  Paged like list. */
static int cal_fetch(struct cmd_ctx *ctx, const char *cmd, const char *prefix,
		     struct cal_event **events, char ***titles, size_t *n)
{
	struct cal_collect cc = {.cmd = cmd};
	int rv;

	rv = list_all(ctx, cmd, prefix, cal_collect_fn, &cc);
	if (cc.events == NULL) {
		cc.events = xcalloc(1, sizeof(*cc.events));
		cc.titles = xcalloc(1, sizeof(*cc.titles));
	}
	*events = cc.events;
	*titles = cc.titles;
	*n = cc.n;
	return rv;
}

static void cal_free(struct cal_event *events, char **titles, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(titles[i]);
	free(titles);
	free(events);
}

static void cal_print_events(struct cmd_ctx *ctx, const struct cal_event *ev,
			     char **titles, size_t n)
{
	if (ctx->json) {
		fputs("[", stdout);
		for (size_t i = 0; i < n; i++) {
			printf("%s {\"id\": ", i ? ",\n" : "\n");
			util_json_string(stdout, ev[i].id);
			printf(", \"date\": \"%04d-%02d-%02d\", \"time\": "
			       "\"%02d:%02d\", \"title\": ",
			       ev[i].year, ev[i].month, ev[i].day, ev[i].hour,
			       ev[i].minute);
			util_json_string(stdout, titles[i]);
			fputs("}", stdout);
		}
		fputs(n ? "\n]\n" : "]\n", stdout);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		printf("%04d-%02d-%02d %02d:%02d  %s  ", ev[i].year,
		       ev[i].month, ev[i].day, ev[i].hour, ev[i].minute,
		       ev[i].id);
		util_print_oneline(stdout, titles[i]);
		fputc('\n', stdout);
	}
}

static int cal_list(struct cmd_ctx *ctx, struct cmd_args *a)
{
	struct cal_event *ev = NULL;
	char **titles = NULL;
	char prefix[32];
	bool marked[32] = {false};
	int y, m, d = 0, rv;
	size_t n = 0;

	if (a->n > 2) {
		rv = usage_error("cal list", "cal list [YYYY-MM | YYYY-MM-DD]");
		goto out;
	}
	if (a->n == 1) {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		y = tm.tm_year + 1900;
		m = tm.tm_mon + 1;
	} else if (cal_parse_month(a->pos[1], &y, &m) < 0 &&
		   cal_parse_date(a->pos[1], &y, &m, &d) < 0) {
		errorf("cal list", "bad date '%s': want YYYY-MM or YYYY-MM-DD",
		       a->pos[1]);
		rv = CMD_EXIT_USAGE;
		goto out;
	}
	rv = connect(ctx, "cal list");
	if (rv != CMD_EXIT_OK)
		goto out;
	if (d)
		snprintf(prefix, sizeof(prefix), CAL_PREFIX "%04d-%02d-%02d/",
			 y, m, d);
	else
		snprintf(prefix, sizeof(prefix), CAL_PREFIX "%04d-%02d-", y, m);
	rv = cal_fetch(ctx, "cal list", prefix, &ev, &titles, &n);
	if (rv != CMD_EXIT_OK)
		goto out;
	if (ctx->json || d) {
		cal_print_events(ctx, ev, titles, n);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		marked[ev[i].day] = true;
	cal_render_month(stdout, y, m, marked);
	fputc('\n', stdout);
	if (n == 0)
		puts("no events");
	cal_print_events(ctx, ev, titles, n);
out:
	cal_free(ev, titles, n);
	return rv;
}

static int cal_del(struct cmd_ctx *ctx, struct cmd_args *a)
{
	struct cal_event *ev = NULL;
	char **titles = NULL;
	size_t n = 0, deleted = 0;
	int rv;

	if (a->n != 2) {
		rv = usage_error("cal del", "cal del EVENT-ID");
		goto out;
	}
	if (!cal_valid_id(a->pos[1])) {
		errorf("cal del", "bad event id '%s'", a->pos[1]);
		rv = CMD_EXIT_USAGE;
		goto out;
	}
	rv = connect(ctx, "cal del");
	if (rv != CMD_EXIT_OK)
		goto out;
	rv = cal_fetch(ctx, "cal del", CAL_PREFIX, &ev, &titles, &n);
	if (rv != CMD_EXIT_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char key[CAL_KEY_MAX], tid[160];
		xmlrpc_value *params;
		bool existed = false;

		if (strcmp(ev[i].id, a->pos[1]) != 0)
			continue;
		cal_event_key(&ev[i], key, sizeof(key));
		cmd_next_tid(ctx, tid, sizeof(tid));
		params = build("(ss)", key, tid);
		rv = write_bool(ctx, "cal del", a->pos[1], "delete", params,
				&existed);
		xmlrpc_DECREF(params);
		if (rv != CMD_EXIT_OK)
			goto out;
		deleted += existed;
	}
	if (deleted == 0) {
		errorf("cal del", "%s: no such event", a->pos[1]);
		rv = CMD_EXIT_FAIL;
	}
out:
	cal_free(ev, titles, n);
	return rv;
}

static int cmd_cal(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_args a;
	int rv;

	if (parse_args(ctx, "cal", argc, argv, 0, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n == 0)
		rv = usage_error("cal", "cal add|list|del ...");
	else if (strcmp(a.pos[0], "add") == 0)
		rv = cal_add(ctx, &a);
	else if (strcmp(a.pos[0], "list") == 0 || strcmp(a.pos[0], "ls") == 0)
		rv = cal_list(ctx, &a);
	else if (strcmp(a.pos[0], "del") == 0 || strcmp(a.pos[0], "rm") == 0)
		rv = cal_del(ctx, &a);
	else
		rv = usage_error("cal", "cal add|list|del ...");
	args_free(&a);
	return rv;
}

/* ---- snapshots: snapshot, backup, restore ----------------------------- */

/* How long snapshot() may take when -t does not say: the node's own bound
 * (API_SNAPSHOT_TIMEOUT_MS) and a margin.  A large state machine takes
 * seconds to write. */
#define CMD_SNAPSHOT_TIMEOUT_MS (API_SNAPSHOT_TIMEOUT_MS + 10000u)
/* Times a backup starts its transfer again (the node replaced its
 * snapshot meanwhile) before it gives up. */
#define CMD_BACKUP_RESTARTS 5

static uint64_t snapshot_timeout(const struct cmd_ctx *ctx)
{
	return ctx->timeout_set ? ctx->timeout_ms : CMD_SNAPSHOT_TIMEOUT_MS;
}

/* An int parameter as i4 when it fits, else i8 (a file past 2 GiB). */
static xmlrpc_value *int_param(uint64_t x)
{
	return x <= INT32_MAX ? build("i", (int)x)
			      : build("I", (xmlrpc_int64)x);
}

/* Checks --node's value before anything talks to the cluster. */
static int parse_node_id(const char *cmd, const char *node, uint32_t *id)
{
	uint64_t v;

	*id = 0;
	if (node == NULL)
		return 0;
	if (util_parse_u64(node, UINT32_MAX, &v) < 0 || v == 0) {
		errorf(cmd, "--node %s: want a node id (see raftctl status)",
		       node);
		return -1;
	}
	*id = (uint32_t)v;
	return 0;
}

/* The node a snapshot command talks to: the one with id `id`, or (id 0)
 * the leader.  Returns the exit status; *pos on success. */
static int pick_node(struct cmd_ctx *ctx, const char *cmd, uint32_t id,
		     size_t *pos)
{
	struct rpc_error err = {0};
	int p;

	if (id == 0) {
		if (rpc_find_leader(ctx->rpc, pos, NULL, &err) != RPC_OK)
			return report(ctx, cmd, NULL, RPC_EUNAVAIL, &err);
		return CMD_EXIT_OK;
	}
	p = nodelist_find_id(rpc_nodes(ctx->rpc), id);
	if (p < 0) {
		errorf(cmd, "no node with id %" PRIu32, id);
		return CMD_EXIT_USAGE;
	}
	*pos = (size_t)p;
	return CMD_EXIT_OK;
}

/* A failed call to one node as a line and an exit status: no answer is
 * 3, a fault 1. */
static int node_error(struct cmd_ctx *ctx, const char *cmd, size_t pos,
		      const char *method, int rv, const struct rpc_error *err)
{
	const struct nodelist_node *nd = &rpc_nodes(ctx->rpc)->nodes[pos];

	if (rv == RPC_EUNAVAIL || err->fault == XMLRPC_NETWORK_ERROR) {
		errorf(cmd, "node %" PRIu32 " (%s): %s: no answer: %s", nd->id,
		       nd->address, method, err->msg);
		return CMD_EXIT_UNAVAIL;
	}
	if (err->fault == XMLRPC_NO_SUCH_METHOD_ERROR) {
		errorf(cmd,
		       "node %" PRIu32 " (%s) does not know %s(): a raftd "
		       "without snapshots",
		       nd->id, nd->address, method);
		return CMD_EXIT_FAIL;
	}
	errorf(cmd, "node %" PRIu32 " (%s): %s: fault %d: %s", nd->id,
	       nd->address, method, err->fault, err->msg);
	return CMD_EXIT_FAIL;
}

/* snapshot() on the node at `pos`: it takes one now (the whole call may
 * take seconds).  Returns the exit status; the snapshot's index, term
 * and size on success. */
static int take_snapshot(struct cmd_ctx *ctx, const char *cmd, size_t pos,
			 int64_t *index, int64_t *term, int64_t *bytes)
{
	xmlrpc_value *params = build("()"), *res = NULL;
	struct rpc_error err = {0};
	uint64_t timeout = snapshot_timeout(ctx);
	int rv;

	rpc_set_deadline(ctx->rpc, util_now_ms() + timeout);
	rv = rpc_call_node(ctx->rpc, pos, "snapshot", params, timeout, &res,
			   &err);
	xmlrpc_DECREF(params);
	if (rv != RPC_OK)
		return node_error(ctx, cmd, pos, "snapshot", rv, &err);
	rv = CMD_EXIT_OK;
	if (rpc_struct_int(res, "index", index) < 0 ||
	    rpc_struct_int(res, "term", term) < 0 ||
	    rpc_struct_int(res, "bytes", bytes) < 0 || *index <= 0)
		rv = report(ctx, cmd, NULL, RPC_EPROTO, NULL);
	xmlrpc_DECREF(res);
	return rv;
}

static int cmd_snapshot(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_args a;
	int64_t index = 0, term = 0, bytes = 0;
	uint32_t id;
	size_t pos = 0;
	int rv;

	if (parse_args(ctx, "snapshot", argc, argv, ARG_NODE, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n != 0) {
		rv = usage_error("snapshot", "snapshot [--node ID]");
		goto out;
	}
	if (parse_node_id("snapshot", a.node, &id) < 0) {
		rv = CMD_EXIT_USAGE;
		goto out;
	}
	rv = connect(ctx, "snapshot");
	if (rv == CMD_EXIT_OK)
		rv = pick_node(ctx, "snapshot", id, &pos);
	if (rv == CMD_EXIT_OK)
		rv = take_snapshot(ctx, "snapshot", pos, &index, &term, &bytes);
	if (rv != CMD_EXIT_OK)
		goto out;
	id = rpc_nodes(ctx->rpc)->nodes[pos].id;
	if (ctx->json) {
		printf("{\"id\": %" PRIu32 ", \"address\": ", id);
		util_json_string(stdout,
				 rpc_nodes(ctx->rpc)->nodes[pos].address);
		printf(", \"index\": %" PRId64 ", \"term\": %" PRId64
		       ", \"bytes\": %" PRId64 "}\n",
		       index, term, bytes);
	} else {
		printf("node %" PRIu32 ": snapshot at index %" PRId64
		       " (term %" PRId64 "), %" PRId64 " bytes\n",
		       id, index, term, bytes);
	}
out:
	args_free(&a);
	return rv;
}

/* One readSnapshot answer. */
struct snap_chunk {
	int64_t index, size;
	uint8_t *data;
	size_t len;
};

/* The most readSnapshot calls one transfer may take: the largest file a
 * reader accepts, in whole chunks, and one more. */
#define CMD_BACKUP_MAX_CHUNKS                                                  \
	((SNAPFILE_MAX_BODY + SNAPFILE_HEADER_SIZE + SNAPFILE_TRAILER_SIZE) /  \
	     API_SNAPSHOT_CHUNK +                                              \
	 2)

/* One readSnapshot(want, off, API_SNAPSHOT_CHUNK) call: RPC_OK with the
 * decoded answer in *c (c->data malloc'd), else the call's code (a fault
 * in *err) or RPC_EPROTO for an answer without its members. */
static int read_chunk(struct cmd_ctx *ctx, size_t pos, uint64_t want,
		      uint64_t off, struct snap_chunk *c, struct rpc_error *err)
{
	xmlrpc_value *pi = int_param(want), *po = int_param(off);
	xmlrpc_value *params, *res = NULL;
	int rv;

	params = build("(VVi)", pi, po, (int)API_SNAPSHOT_CHUNK);
	xmlrpc_DECREF(pi);
	xmlrpc_DECREF(po);
	rpc_set_deadline(ctx->rpc, util_now_ms() + ctx->timeout_ms);
	rv = rpc_call_node(ctx->rpc, pos, "readSnapshot", params,
			   ctx->timeout_ms, &res, err);
	xmlrpc_DECREF(params);
	if (rv != RPC_OK)
		goto out;
	if (rpc_struct_int(res, "index", &c->index) < 0 ||
	    rpc_struct_int(res, "size", &c->size) < 0 ||
	    rpc_struct_base64(res, "data", &c->data, &c->len) < 0) {
		free(c->data);
		c->data = NULL;
		rv = RPC_EPROTO;
	}
	xmlrpc_DECREF(res);
out:
	return rv;
}

/* Reads the node's snapshot `index` (0: whichever is current) into bf,
 * readSnapshot(index, offset, API_SNAPSHOT_CHUNK) after readSnapshot
 * until the whole file is there.  When the node answers that the
 * snapshot was replaced (or has none just now: fault 6), the transfer
 * starts again from offset 0 with index 0, at most CMD_BACKUP_RESTARTS
 * times.  Each call gets the -t deadline of its own, so a long transfer
 * that makes progress goes on.  Returns the exit status; *got_index is
 * the snapshot transferred. */
static int fetch_snapshot(struct cmd_ctx *ctx, const char *cmd, size_t pos,
			  uint64_t index, struct backup_file *bf,
			  uint64_t *got_index)
{
	uint64_t want = index, off = 0, size = 0, calls = 0;
	unsigned restarts = 0;
	char ferr[1024];
	int rv = CMD_EXIT_FAIL;

	while (size == 0 || off < size) {
		struct rpc_error err = {0};
		struct snap_chunk c = {0};
		uint64_t expect;
		int r;

		if (++calls >
		    CMD_BACKUP_MAX_CHUNKS * (CMD_BACKUP_RESTARTS + 1)) {
			rv = report(ctx, cmd, NULL, RPC_EPROTO, NULL);
			goto out;
		}
		r = read_chunk(ctx, pos, want, off, &c, &err);
		if (r == RPC_EFAULT && err.fault == API_FAULT_UNAVAILABLE &&
		    restarts < CMD_BACKUP_RESTARTS) {
			/* Replaced by a newer snapshot: take that one. */
			restarts++;
			if (ctx->verbose)
				fprintf(stderr,
					"raftctl: %s: %s; starting again "
					"with the node's current snapshot\n",
					cmd, err.msg);
			want = 0;
			off = size = 0;
			if (backup_file_truncate(bf, ferr, sizeof(ferr)) < 0) {
				errorf(cmd, "%s", ferr);
				goto out;
			}
			continue;
		}
		if (r == RPC_EPROTO) {
			rv = report(ctx, cmd, NULL, RPC_EPROTO, NULL);
			goto out;
		}
		if (r != RPC_OK) {
			rv = node_error(ctx, cmd, pos, "readSnapshot", r, &err);
			goto out;
		}
		/* The answer must be the snapshot asked for (or, asked for
		 * index 0, one snapshot from then on), of one size a reader
		 * accepts, and the whole chunk asked for: anything else
		 * would loop or write garbage. */
		expect = 0;
		if (c.index > 0 && (want == 0 || (uint64_t)c.index == want) &&
		    c.size >=
			SNAPFILE_HEADER_SIZE + SNAPFILE_TRAILER_SIZE + 4 &&
		    (uint64_t)c.size - SNAPFILE_HEADER_SIZE -
			    SNAPFILE_TRAILER_SIZE <=
			SNAPFILE_MAX_BODY &&
		    (size == 0 || (uint64_t)c.size == size)) {
			want = (uint64_t)c.index;
			size = (uint64_t)c.size;
			expect = size - off < API_SNAPSHOT_CHUNK
				     ? size - off
				     : API_SNAPSHOT_CHUNK;
		}
		if (expect == 0 || c.len != expect) {
			free(c.data);
			rv = report(ctx, cmd, NULL, RPC_EPROTO, NULL);
			goto out;
		}
		r = backup_file_write(bf, off, c.data, c.len, ferr,
				      sizeof(ferr));
		free(c.data);
		if (r < 0) {
			errorf(cmd, "%s", ferr);
			goto out;
		}
		off += c.len;
	}
	*got_index = want;
	rv = CMD_EXIT_OK;
out:
	return rv;
}

static int cmd_backup(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct backup_file bf = {.fd = -1};
	struct snapfile_meta *meta = NULL;
	struct cmd_args a;
	int64_t index = 0, term = 0, bytes = 0;
	uint64_t got = 0;
	uint32_t id;
	size_t pos = 0;
	char err[1024];
	int rv;

	if (parse_args(ctx, "backup", argc, argv, ARG_NODE, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n != 1 || a.pos[0][0] == '\0') {
		rv = usage_error("backup", "backup [--node ID] FILE");
		goto out;
	}
	if (parse_node_id("backup", a.node, &id) < 0) {
		rv = CMD_EXIT_USAGE;
		goto out;
	}
	rv = connect(ctx, "backup");
	if (rv != CMD_EXIT_OK)
		goto out;
	/* The file first: a path that cannot be written fails before the
	 * cluster does any work. */
	if (backup_file_open(&bf, a.pos[0], err, sizeof(err)) < 0) {
		errorf("backup", "%s", err);
		rv = CMD_EXIT_FAIL;
		goto out;
	}
	rv = pick_node(ctx, "backup", id, &pos);
	if (rv == CMD_EXIT_OK)
		rv = take_snapshot(ctx, "backup", pos, &index, &term, &bytes);
	if (rv == CMD_EXIT_OK)
		rv = fetch_snapshot(ctx, "backup", pos, (uint64_t)index, &bf,
				    &got);
	if (rv != CMD_EXIT_OK)
		goto out;
	meta = xmalloc(sizeof(*meta));
	if (backup_file_commit(&bf, meta, err, sizeof(err)) < 0) {
		errorf("backup", "%s", err);
		rv = CMD_EXIT_FAIL;
		goto out;
	}
	if (meta->index != got) {
		/* Renamed already, but not what the node said it sent. */
		errorf("backup",
		       "%s: holds index %" PRIu64 ", the node sent "
		       "index %" PRIu64,
		       a.pos[0], meta->index, got);
		rv = CMD_EXIT_FAIL;
		goto out;
	}
	id = rpc_nodes(ctx->rpc)->nodes[pos].id;
	if (ctx->json) {
		printf("{\"file\": ");
		util_json_string(stdout, a.pos[0]);
		printf(", \"id\": %" PRIu32 ", \"index\": %" PRIu64
		       ", \"term\": %" PRIu64 ", \"bytes\": %" PRIu64 "}\n",
		       id, meta->index, meta->term, meta->file_size);
	} else {
		printf("saved %s: snapshot of node %" PRIu32
		       " at index %" PRIu64 " (term %" PRIu64 "), %" PRIu64
		       " bytes\n",
		       a.pos[0], id, meta->index, meta->term, meta->file_size);
	}
out:
	backup_file_abort(&bf);
	free(meta);
	args_free(&a);
	return rv;
}

/* The configuration a snapshot records, "1=HOST:PORT 2=..." (cut short
 * for a line). */
static void config_line(const struct snapfile_meta *m, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < m->n_nodes && used + 1 < size; i++) {
		int n =
		    snprintf(out + used, size - used, "%s%" PRIu32 "=%s",
			     i ? " " : "", m->nodes[i].id, m->nodes[i].address);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static int cmd_restore(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct snapfile_meta *meta = xmalloc(sizeof(*meta));
	struct cmd_args a;
	char err[1024], cfg[1024];
	int rv, v;

	if (parse_args(ctx, "restore", argc, argv, 0, &a) < 0) {
		free(meta);
		return CMD_EXIT_USAGE;
	}
	if (a.n < 2) {
		rv = usage_error("restore", "restore FILE DIR [DIR...]");
		goto out;
	}
	for (int i = 1; i < a.n; i++) {
		if (a.pos[i][0] == '\0') {
			rv =
			    usage_error("restore", "restore FILE DIR [DIR...]");
			goto out;
		}
		for (int j = 1; j < i; j++) {
			if (strcmp(a.pos[i], a.pos[j]) == 0) {
				errorf("restore", "%s is named twice",
				       a.pos[i]);
				rv = CMD_EXIT_USAGE;
				goto out;
			}
		}
	}
	rv = CMD_EXIT_FAIL;
	v = snapfile_verify_path(a.pos[0], meta, err, sizeof(err));
	if (v == SNAPFILE_ECORRUPT) {
		errorf("restore",
		       "%s: not a valid snapshot, nothing restored: "
		       "%s",
		       a.pos[0], err);
		goto out;
	}
	if (v != SNAPFILE_OK) {
		errorf("restore", "%s", err);
		goto out;
	}
	/* Every dir is checked before any is written: a refusal leaves
	 * nothing half done. */
	for (int i = 1; i < a.n; i++) {
		if (backup_check_dir(a.pos[i], err, sizeof(err)) < 0) {
			errorf("restore",
			       "%s; nothing restored (restore writes only "
			       "new data dirs, and never overwrites a node's "
			       "data)",
			       err);
			goto out;
		}
	}
	config_line(meta, cfg, sizeof(cfg));
	printf("%s: snapshot at index %" PRIu64 " (term %" PRIu64 "), %" PRIu64
	       " bytes; taken in the configuration %s (for information: the "
	       "config file's node list is the cluster's membership)\n",
	       a.pos[0], meta->index, meta->term, meta->file_size, cfg);
	for (int i = 1; i < a.n; i++) {
		if (backup_restore_dir(a.pos[0], meta, a.pos[i], err,
				       sizeof(err)) < 0) {
			errorf("restore", "%s: %s", a.pos[i], err);
			goto out;
		}
		printf("%s: restored (%s/snapshot)\n", a.pos[i], a.pos[i]);
		fflush(stdout);
	}
	rv = CMD_EXIT_OK;
out:
	free(meta);
	args_free(&a);
	return rv;
}

/* ---- check ---------------------------------------------------------- */

static int cmd_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct check_input *in = NULL;
	struct cmd_args a;
	size_t n = 0, violations = 0;
	char err[1024];
	int rv;

	if (parse_args(ctx, "check", argc, argv, 0, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n == 0) {
		rv = usage_error("check", "check DIR | check FILE...");
		goto out;
	}
	if (check_inputs_from_args(a.pos, (size_t)a.n, &in, &n, err,
				   sizeof(err)) < 0) {
		errorf("check", "%s", err);
		rv = CMD_EXIT_USAGE;
		goto out;
	}
	if (check_run(in, n, stdout, stderr, &violations) < 0)
		rv = CMD_EXIT_USAGE;
	else
		rv = violations ? CMD_EXIT_FAIL : CMD_EXIT_OK;
out:
	check_inputs_free(in, n);
	args_free(&a);
	return rv;
}

/* ---- membership (docs/RAFTCTL.md, "member", "transfer") ----------------- */

/* member list: the leader's configuration, one member per line: ID
 * ADDRESS voter|learner [leader] [match N]. */
static int member_list(struct cmd_ctx *ctx)
{
	xmlrpc_value *params = build("()"), *res = NULL;
	struct rpc_error err = {0};
	xmlrpc_env env;
	int rv, n, i;

	rv = rpc_call_leader(ctx->rpc, "members", params, &res, &err);
	xmlrpc_DECREF(params);
	if (rv != RPC_OK)
		return report(ctx, "member", NULL, rv, &err);
	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, res);
	if (ctx->json)
		printf("[");
	for (i = 0; i < n && !env.fault_occurred; i++) {
		xmlrpc_value *m = NULL;
		int64_t id = 0, match = 0;
		bool voter = false, leader = false, promote = false;
		char addr[300] = "";
		xmlrpc_array_read_item(&env, res, i, &m);
		if (env.fault_occurred)
			break;
		if (rpc_struct_int(m, "id", &id) < 0 ||
		    rpc_struct_bool(m, "voter", &voter) < 0 ||
		    rpc_struct_bool(m, "leader", &leader) < 0 ||
		    rpc_struct_bool(m, "promote", &promote) < 0 ||
		    rpc_struct_int(m, "match", &match) < 0 ||
		    rpc_struct_str(m, "address", addr, sizeof(addr)) < 0) {
			xmlrpc_DECREF(m);
			xmlrpc_DECREF(res);
			xmlrpc_env_clean(&env);
			return report(ctx, "member", NULL, RPC_EPROTO, NULL);
		}
		xmlrpc_DECREF(m);
		if (ctx->json) {
			printf("%s{\"id\": %" PRId64 ", \"address\": ",
			       i ? ", " : "", id);
			util_json_string(stdout, addr);
			printf(", \"voter\": %s, \"promote\": %s, \"leader\": "
			       "%s, \"match\": %" PRId64 "}",
			       voter ? "true" : "false",
			       promote ? "true" : "false",
			       leader ? "true" : "false", match);
		} else {
			printf("%" PRId64 " %s %s%s%s\n", id, addr,
			       voter	 ? "voter"
			       : promote ? "learner (promoted when caught up)"
					 : "learner",
			       leader ? " leader" : "", "");
		}
	}
	if (ctx->json)
		printf("]\n");
	xmlrpc_DECREF(res);
	rv = env.fault_occurred ? report(ctx, "member", NULL, RPC_EPROTO, NULL)
				: CMD_EXIT_OK;
	xmlrpc_env_clean(&env);
	return rv;
}

/* Whether node `id` is a voter in the leader's configuration: 1 yes, 0
 * not (yet), -1 the call failed. */
static int member_is_voter(struct cmd_ctx *ctx, int64_t id)
{
	xmlrpc_value *params = build("()"), *res = NULL;
	struct rpc_error err = {0};
	xmlrpc_env env;
	int n, i, found = 0;

	if (rpc_call_leader(ctx->rpc, "members", params, &res, &err) !=
	    RPC_OK) {
		xmlrpc_DECREF(params);
		return -1;
	}
	xmlrpc_DECREF(params);
	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, res);
	for (i = 0; i < n && !env.fault_occurred; i++) {
		xmlrpc_value *m = NULL;
		int64_t mid = 0;
		bool voter = false;
		xmlrpc_array_read_item(&env, res, i, &m);
		if (env.fault_occurred)
			break;
		if (rpc_struct_int(m, "id", &mid) == 0 && mid == id &&
		    rpc_struct_bool(m, "voter", &voter) == 0 && voter)
			found = 1;
		xmlrpc_DECREF(m);
	}
	xmlrpc_DECREF(res);
	xmlrpc_env_clean(&env);
	return found;
}

/* Before adding node `id` at `addr`: it must answer (started with raftd
 * --join), be that node, and belong to this cluster (the same cluster id
 * as the first configured node that answers).  Its incarnation goes into
 * the configuration (docs/API.md, "Membership"). */
static int probe_new_node(struct cmd_ctx *ctx, long id, const char *addr,
			  char *inc, size_t inclen)
{
	xmlrpc_value *params = build("()"), *res = NULL;
	struct rpc_error err = {0};
	char cluster[32] = "", ours[32] = "";
	int64_t got = 0;
	size_t pos, i;
	int rv = CMD_EXIT_OK;

	if (rpc_add_node(ctx->rpc, (uint32_t)id, addr, &pos) != 0) {
		errorf("member", "not an address: %s", addr);
		rv = CMD_EXIT_USAGE;
		goto out;
	}
	if (rpc_call_node(ctx->rpc, pos, "status", params,
			  CMD_STATUS_TIMEOUT_MS, &res, &err) != RPC_OK) {
		errorf("member",
		       "node %ld at %s does not answer (%s): start it first "
		       "with raftd -c CONFIG -i %ld --join %s",
		       id, addr, err.msg, id, addr);
		rv = CMD_EXIT_UNAVAIL;
		goto out;
	}
	if (rpc_struct_int(res, "id", &got) < 0 || got != id) {
		errorf("member", "the node at %s is node %lld, not %ld", addr,
		       (long long)got, id);
		rv = CMD_EXIT_FAIL;
		goto out;
	}
	/* An older raftd reports no identity: add it without one. */
	if (rpc_struct_str(res, "incarnation", inc, inclen) < 0 ||
	    rpc_struct_str(res, "cluster", cluster, sizeof(cluster)) < 0) {
		inc[0] = '\0';
		goto out;
	}
	xmlrpc_DECREF(res);
	res = NULL;
	for (i = 0; i < rpc_nodes(ctx->rpc)->n && ours[0] == '\0'; i++) {
		if (i == pos ||
		    rpc_call_node(ctx->rpc, i, "status", params,
				  CMD_STATUS_TIMEOUT_MS, &res, &err) != RPC_OK)
			continue;
		if (rpc_struct_str(res, "cluster", ours, sizeof(ours)) < 0)
			ours[0] = '\0';
		xmlrpc_DECREF(res);
		res = NULL;
	}
	if (ours[0] != '\0' && strcmp(ours, cluster) != 0) {
		errorf("member",
		       "node %ld at %s belongs to another cluster (id %s, "
		       "this one %s): start it with this cluster's config",
		       id, addr, cluster, ours);
		rv = CMD_EXIT_FAIL;
	}
out:
	if (res)
		xmlrpc_DECREF(res);
	xmlrpc_DECREF(params);
	return rv;
}

static int cmd_member(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const char synopsis[] =
	    "member list | member add ID HOST:PORT [--voter-now] "
	    "[--peer HOST:PORT] | member remove ID";
	struct cmd_args a;
	struct rpc_error err = {0};
	xmlrpc_value *params = NULL, *res = NULL;
	bool voter_now = false;
	const char *peer = NULL;
	uint64_t wait_until;
	char *end;
	long id = 0;
	int rv, i, k;

	/* --voter-now and --peer are this command's alone: take them out
	 * first. */
	for (i = k = 0; i < argc; i++) {
		if (strcmp(argv[i], "--voter-now") == 0) {
			voter_now = true;
		} else if (strcmp(argv[i], "--peer") == 0) {
			if (i + 1 == argc)
				return usage_error("member", synopsis);
			peer = argv[++i];
		} else {
			argv[k++] = argv[i];
		}
	}
	argc = k;
	if (parse_args(ctx, "member", argc, argv, 0, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n < 1) {
		rv = usage_error("member", synopsis);
		goto out;
	}
	if (strcmp(a.pos[0], "list") == 0) {
		if (a.n != 1 || voter_now || peer != NULL) {
			rv = usage_error("member", synopsis);
			goto out;
		}
		rv = connect(ctx, "member");
		if (rv == CMD_EXIT_OK)
			rv = member_list(ctx);
		goto out;
	}
	if (!((strcmp(a.pos[0], "add") == 0 && a.n == 3) ||
	      (strcmp(a.pos[0], "remove") == 0 && a.n == 2 && !voter_now &&
	       peer == NULL))) {
		rv = usage_error("member", synopsis);
		goto out;
	}
	errno = 0;
	id = strtol(a.pos[1], &end, 10);
	if (errno || *end || id < 1 || id > INT32_MAX) {
		errorf("member", "not a node id: %s", a.pos[1]);
		rv = CMD_EXIT_USAGE;
		goto out;
	}
	rv = connect(ctx, "member");
	if (rv != CMD_EXIT_OK)
		goto out;
	if (a.pos[0][0] == 'a') {
		char inc[32] = "";
		rv = probe_new_node(ctx, id, a.pos[2], inc, sizeof(inc));
		if (rv != CMD_EXIT_OK)
			goto out;
		params = build("(isbss)", (int)id, a.pos[2],
			       (xmlrpc_bool)voter_now, peer ? peer : "", inc);
	} else
		params = build("(i)", (int)id);
	rv = rpc_call_leader(ctx->rpc,
			     a.pos[0][0] == 'a' ? "addMember" : "removeMember",
			     params, &res, &err);
	if (rv != RPC_OK) {
		rv = report(ctx, "member", NULL, rv, &err);
		goto out;
	}
	if (a.pos[0][0] == 'r') {
		printf("removed node %ld\n", id);
		rv = CMD_EXIT_OK;
		goto out;
	}
	if (voter_now) {
		printf("added node %ld as a voter\n", id);
		rv = CMD_EXIT_OK;
		goto out;
	}
	/* A learner: the leader promotes it once it has caught up (thesis
	 * §4.2.1).  Wait for that within the deadline. */
	printf("added node %ld as a learner\n", id);
	fflush(stdout);
	wait_until = util_now_ms() + ctx->timeout_ms;
	for (;;) {
		struct timespec ts = {0, 50 * 1000000L};
		int v;
		rpc_set_deadline(ctx->rpc, wait_until);
		v = member_is_voter(ctx, id);
		if (v == 1) {
			printf("node %ld caught up and is a voter\n", id);
			rv = CMD_EXIT_OK;
			break;
		}
		if (util_now_ms() >= wait_until) {
			errorf("member",
			       "node %ld is not a voter yet (still catching "
			       "up, or down); `raftctl member list` shows it",
			       id);
			rv = CMD_EXIT_UNAVAIL;
			break;
		}
		nanosleep(&ts, NULL);
	}
out:
	if (params)
		xmlrpc_DECREF(params);
	if (res)
		xmlrpc_DECREF(res);
	args_free(&a);
	return rv;
}

/* transfer [ID]: leadership transfer (thesis §3.10) to voter ID, or to
 * the most up-to-date one; prints the new leader and the time taken. */
static int cmd_transfer(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmd_args a;
	struct rpc_error err = {0};
	xmlrpc_value *params = NULL, *res = NULL;
	int64_t leader = 0, us = 0;
	char *end;
	long id = 0;
	int rv;

	if (parse_args(ctx, "transfer", argc, argv, 0, &a) < 0)
		return CMD_EXIT_USAGE;
	if (a.n > 1) {
		rv = usage_error("transfer", "transfer [ID]");
		goto out;
	}
	if (a.n == 1) {
		errno = 0;
		id = strtol(a.pos[0], &end, 10);
		if (errno || *end || id < 1 || id > INT32_MAX) {
			errorf("transfer", "not a node id: %s", a.pos[0]);
			rv = CMD_EXIT_USAGE;
			goto out;
		}
	}
	rv = connect(ctx, "transfer");
	if (rv != CMD_EXIT_OK)
		goto out;
	params = build("(i)", (int)id);
	rv = rpc_call_leader(ctx->rpc, "transferLeader", params, &res, &err);
	if (rv != RPC_OK) {
		rv = report(ctx, "transfer", NULL, rv, &err);
		goto out;
	}
	if (rpc_struct_int(res, "leader", &leader) < 0 ||
	    rpc_struct_int(res, "us", &us) < 0) {
		rv = report(ctx, "transfer", NULL, RPC_EPROTO, NULL);
		goto out;
	}
	if (ctx->json)
		printf("{\"leader\": %" PRId64 ", \"ms\": %.3f}\n", leader,
		       (double)us / 1000.0);
	else
		printf("leader %" PRId64 " (%.1f ms)\n", leader,
		       (double)us / 1000.0);
	rv = CMD_EXIT_OK;
out:
	if (params)
		xmlrpc_DECREF(params);
	if (res)
		xmlrpc_DECREF(res);
	args_free(&a);
	return rv;
}

/* ---- health --------------------------------------------------------- */

static int cmd_health(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct nodelist *nl;
	struct cmd_args a;
	struct health_result *hr = NULL;
	const char **addrs = NULL;
	struct status_conf *conf = NULL;
	char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
	bool quorum = false, opts = true;
	size_t healthy = 0, counted = 0;
	int n_rest = 0, rv;

	/* --quorum is this command's alone: left out of a copy of the
	 * words for the common parser (which refuses options it does not
	 * know).  argv itself stays whole: its words are the caller's (the
	 * shell frees each one). */
	for (int i = 0; i < argc; i++) {
		if (i > 0 && opts && strcmp(argv[i], "--quorum") == 0) {
			quorum = true;
			continue;
		}
		if (strcmp(argv[i], "--") == 0)
			opts = false;
		rest[n_rest++] = argv[i];
	}
	if (parse_args(ctx, "health", n_rest, rest, 0, &a) < 0) {
		free(rest);
		return CMD_EXIT_USAGE;
	}
	if (a.n != 0) {
		rv = usage_error("health", "health [--quorum] [--json]");
		goto out;
	}
	rv = connect(ctx, "health");
	if (rv != CMD_EXIT_OK)
		goto out;
	if (health_init() < 0) {
		errorf("health", "cannot set up libcurl");
		rv = CMD_EXIT_FAIL;
		goto out;
	}
	conf = xcalloc(1, sizeof(*conf));
	addrs = xcalloc(NODELIST_MAX, sizeof(*addrs));
	hr = xcalloc(NODELIST_MAX, sizeof(*hr));
	/* The listed nodes; then, when a healthy node names members that
	 * the list lacks (added since the config file was written), those
	 * too. */
	nl = rpc_nodes(ctx->rpc);
	for (size_t i = 0; i < nl->n; i++)
		addrs[i] = nl->nodes[i].address;
	health_check_all(addrs, nl->n, nl->tls_ca, scan_timeout(ctx), hr);
	{
		size_t pick, listed = nl->n;

		for (pick = 0; pick < listed && !hr[pick].healthy; pick++)
			;
		if (pick < listed && fetch_members(ctx, pick, conf) > 0) {
			nl = rpc_nodes(ctx->rpc);
			for (size_t i = listed; i < nl->n; i++)
				addrs[i] = nl->nodes[i].address;
			health_check_all(addrs + listed, nl->n - listed,
					 nl->tls_ca, scan_timeout(ctx),
					 hr + listed);
		}
	}
	nl = rpc_nodes(ctx->rpc);
	if (ctx->json)
		fputs("[\n", stdout);
	for (size_t i = 0; i < nl->n; i++) {
		const struct health_result h = hr[i];

		/* The verdict counts the configuration's members (voters
		 * for --quorum) when a node told us them, else every node. */
		if (!conf->known ||
		    (quorum ? conf->voter[i] : conf->member[i])) {
			counted++;
			healthy += h.healthy;
		}
		if (ctx->json) {
			printf("  {\"id\": %" PRIu32 ", \"address\": ",
			       nl->nodes[i].id);
			util_json_string(stdout, nl->nodes[i].address);
			printf(", \"health\": %s, \"took\": %.3f, "
			       "\"reason\": ",
			       h.healthy ? "true" : "false", h.took_ms);
			util_json_string(stdout, h.reason);
			printf("}%s\n", i + 1 < nl->n ? "," : "");
		} else if (h.healthy) {
			printf("%s is healthy: took %.1fms%s\n",
			       nl->nodes[i].address, h.took_ms,
			       conf->known && !conf->member[i]
				   ? " (not a member)"
				   : "");
		} else {
			printf("%s is unhealthy: took %.1fms: ",
			       nl->nodes[i].address, h.took_ms);
			util_print_oneline(stdout, h.reason);
			fputs(conf->known && !conf->member[i]
				  ? " (not a member)\n"
				  : "\n",
			      stdout);
		}
	}
	if (ctx->json)
		fputs("]\n", stdout);
	fflush(stdout); /* the lines before the verdict */
	if (counted > 0 &&
	    (quorum ? healthy >= counted / 2 + 1 : healthy == counted)) {
		rv = CMD_EXIT_OK;
	} else {
		errorf("health", "%zu of %zu %s healthy%s", healthy, counted,
		       !conf->known ? "nodes"
		       : quorum	    ? "voters"
				    : "members",
		       quorum ? ", not a majority" : "");
		rv = CMD_EXIT_FAIL;
	}
out:
	free(conf);
	free(hr);
	free(addrs);
	args_free(&a);
	free(rest);
	return rv;
}

/* ---- completion ------------------------------------------------------ */

/* Whether a completed key can be inserted as it is: one plain word for
 * the shell's splitter (shell.c: no blank, quote, backslash or '#') and
 * for bash (none of its special characters), not taken for an option, no
 * control character.  UTF-8 bytes pass.  Other keys are not offered: the
 * user types them quoted. */
static bool complete_plain(const char *key)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789._:/@%+=,-^";

	if (key[0] == '\0' || key[0] == '-')
		return false;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x80 && strchr(safe, *p) == NULL)
			return false;
	return true;
}

int cmd_complete_keys(struct cmd_ctx *ctx, const char *prefix, size_t max,
		      char ***out, size_t *n)
{
	xmlrpc_value *params = NULL, *res = NULL;
	struct rpc_error err = {0};
	xmlrpc_env env;
	char **keys = NULL;
	size_t k = 0;
	int size, rv = -1;
	bool verbose;

	*out = NULL;
	*n = 0;
	xmlrpc_env_init(&env);
	/* Quiet (a completion prints nothing but keys) and quick. */
	if (connect_quiet(ctx) != CMD_EXIT_OK)
		goto out;
	rpc_set_deadline(ctx->rpc, util_now_ms() + CMD_COMPLETE_TIMEOUT_MS);
	params = build("(ssi)", prefix, "", (int)max);
	verbose = rpc_set_verbose(ctx->rpc, false);
	rv = rpc_call_leader(ctx->rpc, "list", params, &res, &err) == RPC_OK
		 ? 0
		 : -1;
	rpc_set_verbose(ctx->rpc, verbose);
	if (rv < 0)
		goto out;
	rv = -1;
	size = xmlrpc_array_size(&env, res);
	keys = xcalloc((size_t)(size > 0 ? size : 0) + 1, sizeof(*keys));
	for (int i = 0; i < size && !env.fault_occurred; i++) {
		xmlrpc_value *pair = NULL;
		char *key = NULL;

		xmlrpc_array_read_item(&env, res, i, &pair);
		if (env.fault_occurred)
			break;
		/* Keys that would not read back as one word are left out. */
		if (rpc_struct_strdup(pair, "key", &key) == 0 &&
		    complete_plain(key))
			keys[k++] = key;
		else
			free(key);
		xmlrpc_DECREF(pair);
	}
	*out = keys;
	*n = k;
	keys = NULL;
	rv = 0;
out:
	free(keys);
	if (res)
		xmlrpc_DECREF(res);
	if (params)
		xmlrpc_DECREF(params);
	xmlrpc_env_clean(&env);
	return rv;
}

/* `raftctl __complete-keys [PREFIX]` (hidden): the keys starting with
 * PREFIX, one a line, at most CMD_COMPLETE_MAX; nothing on any error.
 * For the shell completion scripts. */
static int cmd_complete(struct cmd_ctx *ctx, int argc, char **argv)
{
	char **keys = NULL;
	size_t n = 0;

	if (argc > 2)
		return CMD_EXIT_USAGE;
	if (cmd_complete_keys(ctx, argc == 2 ? argv[1] : "", CMD_COMPLETE_MAX,
			      &keys, &n) < 0)
		return CMD_EXIT_FAIL;
	for (size_t i = 0; i < n; i++) {
		puts(keys[i]);
		free(keys[i]);
	}
	free(keys);
	return CMD_EXIT_OK;
}

/* ---- dispatch ------------------------------------------------------- */

void cmd_usage(FILE *out)
{
	fputs("Usage: raftctl [-c CONFIG | -s HOST:PORT[,HOST:PORT...]] "
	      "[-t SECONDS] [--json] [-v]\n"
	      "               COMMAND [ARGS]\n"
	      "\n"
	      "Nodes: -c reads them from a raftd config file; -s lists them "
	      "(then node ids are\n"
	      "the 1-based positions in the list).  Without either: "
	      "$RAFTCTL_SERVERS (a -s\n"
	      "list), else $RAFTCTL_CONFIG (a config file).\n"
	      "  -t SECONDS  deadline of each command, retries included "
	      "(default 10; 0.5 is\n"
	      "              fine; snapshot and backup wait 130 s for the "
	      "snapshot unless -t)\n"
	      "  --json      JSON output (leader, status, health, get, list, "
	      "entries, log,\n"
	      "              cal list, snapshot, backup)\n"
	      "  -v          trace every call and retry on stderr\n"
	      "\n"
	      "Commands:\n"
	      "  leader                        the leader's ID HOST:PORT\n"
	      "                                  raftctl -c etc/local-3.conf "
	      "leader\n"
	      "  status                        one row per node (down if it "
	      "does not answer);\n"
	      "                                exit 1 without a leader or a "
	      "quorum answering\n"
	      "                                  raftctl -s "
	      "127.0.0.1:8001,127.0.0.1:8002 status\n"
	      "  health [--quorum]             GET /health on each node: "
	      "healthy or not, and how\n"
	      "                                long it took; exit 1 if one "
	      "is unhealthy (--quorum:\n"
	      "                                unless a majority is "
	      "healthy)\n"
	      "                                  raftctl -c etc/local-3.conf "
	      "health\n"
	      "  get KEY                       print the value\n"
	      "                                  raftctl get user:1\n"
	      "  put [--tid TID] KEY VALUE     set a key\n"
	      "                                  raftctl put user:1 alice\n"
	      "  del [--tid TID] KEY           delete a key (exit 1 if it "
	      "was absent)\n"
	      "                                  raftctl del user:1\n"
	      "  cas [--tid TID] KEY OLD NEW   set KEY to NEW if it is OLD "
	      "(\"\" = absent)\n"
	      "                                  raftctl cas counter 41 42\n"
	      "  list [PREFIX]                 KEY<TAB>VALUE lines, sorted "
	      "by key\n"
	      "                                  raftctl list user:\n"
	      "  add TID DATA                  append DATA to the replicated "
	      "log (addEntry)\n"
	      "                                  raftctl add job-42 \"hello "
	      "world\"\n"
	      "  entries [FROM [COUNT]]        committed add records: INDEX "
	      "TERM TID DATA\n"
	      "                                  raftctl entries 1 100\n"
	      "  log [--node ID] [FROM [COUNT]]\n"
	      "                                one node's log (default the "
	      "leader's):\n"
	      "                                INDEX TERM C|U TID DATA, U = "
	      "not committed yet\n"
	      "                                  raftctl log --node 2 1 20\n"
	      "  cal add YYYY-MM-DD HH:MM TITLE...\n"
	      "                                add a calendar event; prints "
	      "its id\n"
	      "                                  raftctl cal add 2026-02-03 "
	      "09:30 Team meeting\n"
	      "  cal list [YYYY-MM | YYYY-MM-DD]\n"
	      "                                a month's grid (days with "
	      "events marked *) and\n"
	      "                                events, or one day's events; "
	      "default this month\n"
	      "                                  raftctl cal list 2026-02\n"
	      "  cal del EVENT-ID              delete an event\n"
	      "                                  raftctl cal del k3x9a2b7qz\n"
	      "  snapshot [--node ID]          take a snapshot now (default "
	      "on the leader)\n"
	      "                                  raftctl snapshot --node 2\n"
	      "  backup [--node ID] FILE       save a consistent snapshot of "
	      "the leader's state\n"
	      "                                  raftctl backup "
	      "kv-2026-02-03.snap\n"
	      "  restore FILE DIR [DIR...]     put a backup into new nodes' "
	      "data dirs (offline)\n"
	      "                                  raftctl restore kv.snap "
	      "data/n1 data/n2\n"
	      "  member list                   the configuration: ID ADDRESS "
	      "voter|learner [leader]\n"
	      "  member add ID HOST:PORT [--voter-now] [--peer HOST:PORT]\n"
	      "                                add a node (started with "
	      "raftd --join HOST:PORT)\n"
	      "                                as a learner; waits until "
	      "it is caught up and\n"
	      "                                promoted to voter\n"
	      "                                  raftctl member add 4 "
	      "10.0.0.4:8004\n"
	      "  member remove ID              remove a node (the leader "
	      "too: it hands over)\n"
	      "  transfer [ID]                 hand leadership to ID (or "
	      "the most up-to-date\n"
	      "                                voter); prints the new "
	      "leader and the time\n"
	      "  check DIR | check FILE...     check raftlogs and snapshots "
	      "copied from nodes\n"
	      "                                (DIR/*/raftlog, "
	      "DIR/*/snapshot)\n"
	      "                                  raftctl check raftlogs\n"
	      "  timeline DIR [-o FILE]        draw a run (DIR/*/raftlog, "
	      "DIR/*/raftd.log) as SVG\n"
	      "                                  raftctl timeline raftlogs "
	      "-o run.svg\n"
	      "  shell                         interactive prompt (also "
	      "with no command)\n"
	      "                                  echo 'get k' | raftctl -c "
	      "etc/local-3.conf shell\n"
	      "  help [COMMAND]                this text, or COMMAND's "
	      "(also COMMAND --help)\n"
	      "\n"
	      "Writes without --tid get a unique tid, and every retry "
	      "reuses it, so a write\n"
	      "applies at most once.  Exit status: 0 ok, 1 the operation "
	      "failed, 2 usage,\n"
	      "3 cluster unavailable within the deadline; status and health: "
	      "1 when the\n"
	      "cluster is not healthy.  raftctl COMMAND --help: one "
	      "command's help.\n",
	      out);
}

/* "unknown command", with the command it is probably a typo of. */
static int unknown_command(const char *name)
{
	const char *hint = help_suggest(name);

	if (hint)
		errorf(NULL, "unknown command '%s'; did you mean '%s'?", name,
		       hint);
	else
		errorf(NULL, "unknown command '%s' (see raftctl --help)", name);
	return CMD_EXIT_USAGE;
}

int cmd_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct cmd_ctx *, int, char **);
	} table[] = {
	    {"leader", cmd_leader},	{"status", cmd_status},
	    {"get", cmd_get},		{"put", cmd_put},
	    {"del", cmd_del},		{"delete", cmd_del},
	    {"cas", cmd_cas},		{"list", cmd_list},
	    {"add", cmd_add},		{"entries", cmd_entries},
	    {"log", cmd_log},		{"cal", cmd_cal},
	    {"check", cmd_check},	{"snapshot", cmd_snapshot},
	    {"backup", cmd_backup},	{"restore", cmd_restore},
	    {"member", cmd_member},	{"transfer", cmd_transfer},
	    {"health", cmd_health},	{"__complete-keys", cmd_complete},
	    {"timeline", timeline_cmd},
	};
	if (argc < 1)
		return CMD_EXIT_USAGE;
	if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0) {
		if (argc == 1) {
			cmd_usage(stdout);
			return CMD_EXIT_OK;
		}
		if (argc > 2) {
			errorf("help", "usage: raftctl help [COMMAND]");
			return CMD_EXIT_USAGE;
		}
		if (help_print(stdout, strcmp(argv[1], "--help") == 0
					   ? "help"
					   : argv[1]) == 0)
			return CMD_EXIT_OK;
		return unknown_command(argv[1]);
	} else if (help_find(argv[0]) != NULL) {
		/* COMMAND --help (before any "--"): that command's help,
		 * nothing run. */
		for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
			if (strcmp(argv[i], "--help") == 0) {
				help_print(stdout, argv[0]);
				return CMD_EXIT_OK;
			}
		}
	}
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(argv[0], table[i].name) == 0) {
			/* A command's --json lasts for that command only
			 * (the shell runs many in one context). */
			bool json = ctx->json;
			int rv = table[i].fn(ctx, argc, argv);

			ctx->json = json;
			fflush(stdout);
			return rv;
		}
	}
	return unknown_command(argv[0]);
}
