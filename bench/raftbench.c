/* raftbench.c: load generator for raftd: N clients, one xmlrpc-c client and
 * one keep-alive connection each, doing put / addEntry / get against the
 * leader for a duration; prints throughput and latency percentiles.
 *
 *   raftbench -s HOST:PORT[,...] [-c CLIENTS] [-d SECONDS] [-w WARMUP]
 *             [-o put|add|get] [-v VALUE_BYTES] [-k KEYS]
 *
 * The leader is found with isLeader(); a client whose call fails with
 * NOT_LEADER rescans.  Calls in the warm-up are not counted.  A progress
 * line is printed each second on stderr; the summary goes to stdout as
 * "key=value" pairs for scripts.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/client.h>

#define MAX_SERVERS 16
#define MAX_SAMPLES (4u * 1024u * 1024u)

struct bench {
	char *servers[MAX_SERVERS];
	int n_servers;
	int clients;
	double duration, warmup;
	const char *op;
	int value_bytes;
	int keys;
	_Atomic int leader; /* index into servers, -1 unknown */
	_Atomic uint64_t done, errors, progress;
	uint64_t start_ns, measure_ns, end_ns;
	pthread_mutex_t lock; /* guards samples */
	uint64_t *samples;
	size_t n_samples;
};

struct worker {
	struct bench *b;
	int id;
	pthread_t thread;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *url_of(const char *hostport)
{
	char *u = malloc(strlen(hostport) + 16);

	if (u == NULL)
		abort();
	sprintf(u, "http://%s/RPC2", hostport);
	return u;
}

/* One synchronous call; returns 0, or the fault code. */
static int call(xmlrpc_client *c, const char *url, const char *method,
		xmlrpc_value *params, xmlrpc_value **result)
{
	xmlrpc_env env;
	xmlrpc_server_info *si;
	int rv = 0;

	xmlrpc_env_init(&env);
	si = xmlrpc_server_info_new(&env, url);
	if (!env.fault_occurred)
		xmlrpc_client_call2(&env, c, si, method, params, result);
	if (env.fault_occurred)
		rv = env.fault_code ? env.fault_code : -1;
	if (si)
		xmlrpc_server_info_free(si);
	xmlrpc_env_clean(&env);
	return rv;
}

static int find_leader(struct bench *b, xmlrpc_client *c)
{
	int i;

	for (i = 0; i < b->n_servers; i++) {
		xmlrpc_env env;
		xmlrpc_value *params, *res = NULL;
		xmlrpc_bool yes = 0;
		int rv;

		xmlrpc_env_init(&env);
		params = xmlrpc_array_new(&env);
		rv = call(c, b->servers[i], "isLeader", params, &res);
		xmlrpc_DECREF(params);
		if (rv == 0) {
			xmlrpc_read_bool(&env, res, &yes);
			xmlrpc_DECREF(res);
		}
		xmlrpc_env_clean(&env);
		if (rv == 0 && yes)
			return i;
	}
	return -1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	xmlrpc_env env;
	xmlrpc_client *c = NULL;
	struct xmlrpc_clientparms parms;
	struct xmlrpc_curl_xportparms curl;
	char *value, key[64], tid[96];
	uint64_t seq = 0;
	uint64_t *local = NULL;
	size_t n_local = 0, cap_local = 0;

	value = malloc((size_t)b->value_bytes + 1);
	memset(value, 'x', (size_t)b->value_bytes);
	value[b->value_bytes] = '\0';
	xmlrpc_env_init(&env);
	memset(&curl, 0, sizeof(curl));
	curl.timeout = 10000;
	memset(&parms, 0, sizeof(parms));
	parms.transport = "curl";
	parms.transportparmsP = &curl;
	parms.transportparm_size = XMLRPC_CXPSIZE(timeout);
	pthread_mutex_lock(&b->lock); /* client_create is not thread-safe */
	xmlrpc_client_create(&env, XMLRPC_CLIENT_NO_FLAGS, "raftbench", "1",
			     &parms, XMLRPC_CPSIZE(transportparm_size), &c);
	pthread_mutex_unlock(&b->lock);
	if (env.fault_occurred) {
		fprintf(stderr, "raftbench: client: %s\n", env.fault_string);
		exit(1);
	}
	for (;;) {
		xmlrpc_value *params, *res = NULL;
		uint64_t t0 = now_ns(), t1;
		int leader = atomic_load(&b->leader), rv;

		if (t0 >= b->end_ns)
			break;
		if (leader < 0) {
			leader = find_leader(b, c);
			if (leader < 0) {
				usleep(10000);
				continue;
			}
			atomic_store(&b->leader, leader);
		}
		seq++;
		snprintf(key, sizeof(key), "bench-%d-%llu", w->id,
			 (unsigned long long)(b->keys ? seq % (uint64_t)b->keys
						      : seq));
		if (strcmp(b->op, "add") == 0) {
			snprintf(tid, sizeof(tid), "bench-%d-%d-%llu",
				 (int)getpid(), w->id, (unsigned long long)seq);
			params = xmlrpc_build_value(&env, "(ss)", tid, value);
		} else if (strcmp(b->op, "get") == 0) {
			snprintf(key, sizeof(key), "bench-get-%d",
				 (int)(seq % 100));
			params = xmlrpc_build_value(&env, "(s)", key);
		} else {
			params = xmlrpc_build_value(&env, "(ss)", key, value);
		}
		rv = call(c, b->servers[leader],
			  strcmp(b->op, "add") == 0 ? "addEntry" : b->op,
			  params, &res);
		xmlrpc_DECREF(params);
		t1 = now_ns();
		if (rv == 0 || (rv == 4 && strcmp(b->op, "get") == 0)) {
			if (res)
				xmlrpc_DECREF(res);
			if (t0 >= b->measure_ns) {
				if (n_local == cap_local) {
					cap_local =
					    cap_local ? cap_local * 2 : 4096;
					local = realloc(
					    local, cap_local * sizeof(*local));
				}
				local[n_local++] = t1 - t0;
				atomic_fetch_add(&b->done, 1);
			}
			atomic_fetch_add(&b->progress, 1);
		} else {
			atomic_fetch_add(&b->errors, 1);
			if (rv == 1 || rv == -504)
				atomic_store(&b->leader, -1);
		}
	}
	pthread_mutex_lock(&b->lock);
	if (b->n_samples + n_local <= MAX_SAMPLES) {
		memcpy(b->samples + b->n_samples, local,
		       n_local * sizeof(*local));
		b->n_samples += n_local;
	}
	pthread_mutex_unlock(&b->lock);
	free(local);
	free(value);
	xmlrpc_client_destroy(c);
	xmlrpc_env_clean(&env);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e6;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: raftbench -s HOST:PORT[,...] [-c CLIENTS] [-d SECONDS] "
	    "[-w WARMUP]\n"
	    "                 [-o put|add|get] [-v VALUE_BYTES] [-k KEYS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct bench b;
	struct worker *w;
	xmlrpc_env env;
	char *list = NULL, *tok, *save;
	uint64_t last = 0;
	double measured;
	int opt, i;

	memset(&b, 0, sizeof(b));
	b.clients = 1;
	b.duration = 10;
	b.warmup = 2;
	b.op = "put";
	b.value_bytes = 100;
	pthread_mutex_init(&b.lock, NULL);
	while ((opt = getopt(argc, argv, "s:c:d:w:o:v:k:")) != -1) {
		switch (opt) {
		case 's':
			list = strdup(optarg);
			break;
		case 'c':
			b.clients = atoi(optarg);
			break;
		case 'd':
			b.duration = atof(optarg);
			break;
		case 'w':
			b.warmup = atof(optarg);
			break;
		case 'o':
			b.op = optarg;
			break;
		case 'v':
			b.value_bytes = atoi(optarg);
			break;
		case 'k':
			b.keys = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (list == NULL || b.clients < 1 || b.duration <= 0 ||
	    (strcmp(b.op, "put") && strcmp(b.op, "add") && strcmp(b.op, "get")))
		usage();
	for (tok = strtok_r(list, ",", &save); tok && b.n_servers < MAX_SERVERS;
	     tok = strtok_r(NULL, ",", &save))
		b.servers[b.n_servers++] = url_of(tok);
	xmlrpc_env_init(&env);
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, 4u * 1024u * 1024u);
	xmlrpc_client_setup_global_const(&env);
	b.samples = malloc(MAX_SAMPLES * sizeof(uint64_t));
	atomic_store(&b.leader, -1);
	b.start_ns = now_ns();
	b.measure_ns = b.start_ns + (uint64_t)(b.warmup * 1e9);
	b.end_ns = b.measure_ns + (uint64_t)(b.duration * 1e9);
	if (strcmp(b.op, "get") == 0) {
		/* Keys to read: written once before the clock starts. */
		xmlrpc_client *c = NULL;
		int leader = -1, k, tries;
		xmlrpc_client_create(&env, XMLRPC_CLIENT_NO_FLAGS, "raftbench",
				     "1", NULL, 0, &c);
		for (tries = 0; tries < 500 && leader < 0; tries++) {
			leader = find_leader(&b, c);
			if (leader < 0)
				usleep(20000);
		}
		for (k = 0; k < 100 && leader >= 0; k++) {
			char key[32];
			xmlrpc_value *p, *r = NULL;
			snprintf(key, sizeof(key), "bench-get-%d", k);
			p = xmlrpc_build_value(&env, "(ss)", key, "value");
			if (call(c, b.servers[leader], "put", p, &r) == 0)
				xmlrpc_DECREF(r);
			xmlrpc_DECREF(p);
		}
		xmlrpc_client_destroy(c);
	}
	w = calloc((size_t)b.clients, sizeof(*w));
	for (i = 0; i < b.clients; i++) {
		w[i].b = &b;
		w[i].id = i;
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	for (i = 1;; i++) {
		uint64_t t = b.start_ns + (uint64_t)i * 1000000000u, cur;
		while (now_ns() < t)
			usleep(10000);
		if (t > b.end_ns)
			break;
		cur = atomic_load(&b.progress);
		fprintf(stderr,
			"raftbench: %3ds %s %8llu ops/s errors %llu%s\n", i,
			b.op, (unsigned long long)(cur - last),
			(unsigned long long)atomic_load(&b.errors),
			t <= b.measure_ns ? " (warm-up)" : "");
		last = cur;
	}
	for (i = 0; i < b.clients; i++)
		pthread_join(w[i].thread, NULL);
	qsort(b.samples, b.n_samples, sizeof(uint64_t), cmp_u64);
	measured = b.duration;
	printf("op=%s clients=%d value_bytes=%d seconds=%.1f ops=%zu "
	       "errors=%llu ops_per_s=%.0f p50_ms=%.3f p90_ms=%.3f "
	       "p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
	       b.op, b.clients, b.value_bytes, measured, b.n_samples,
	       (unsigned long long)atomic_load(&b.errors),
	       (double)b.n_samples / measured, pct(b.samples, b.n_samples, 50),
	       pct(b.samples, b.n_samples, 90), pct(b.samples, b.n_samples, 99),
	       pct(b.samples, b.n_samples, 99.9),
	       b.n_samples ? (double)b.samples[b.n_samples - 1] / 1e6 : 0.0);
	xmlrpc_client_teardown_global_const();
	return b.n_samples > 0 ? 0 : 1;
}
