/* test_config.c: unit tests of the config loader (daemon/config.c): good
 * files, defaults, %i expansion, address matching, and one bad file per
 * error class with the file, line and key its message must name. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "tests/lib/check.h"

static char tmpdir[1024];
static char err[1024];

/* Write `text` to $tmpdir/name and put the file's path in `path`. */
static void write_file(const char *name, const char *text, char *path,
		       size_t pathlen)
{
	FILE *fp;

	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0)
		CHECK_HARD_ERROR("cannot write %s: %s", path, strerror(errno));
}

static void remove_file(const char *path)
{
	if (unlink(path) != 0)
		CHECK_HARD_ERROR("cannot remove %s: %s", path, strerror(errno));
}

/* Load `text` and expect a failure whose message starts with
 * "FILE:LINE: KEY: " ("FILE: KEY: " for line 0) and contains `what`. */
static void expect_bad_at(const char *text, int line, const char *key,
			  const char *what, int src_line)
{
	struct config cfg;
	char path[1200];
	char prefix[1400];
	int rv;

	write_file("bad.conf", text, path, sizeof(path));
	rv = config_load(path, &cfg, err, sizeof(err));
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: %s: ", path, line,
			 key);
	else
		snprintf(prefix, sizeof(prefix), "%s: %s: ", path, key);
	check_at(rv == -1 && strncmp(err, prefix, strlen(prefix)) == 0 &&
		     strstr(err, what) != NULL,
		 __FILE__, src_line,
		 "config_load returned %d\n"
		 "  message:  %s\n  expected: %s...%s\n  file:\n%s",
		 rv, err, prefix, what, text);
	check_at(cfg.n_nodes == 0 && !cfg.has_secret, __FILE__, src_line,
		 "config left filled in after an error");
	remove_file(path);
}

#define EXPECT_BAD(text, line, key, what)                                      \
	expect_bad_at((text), (line), (key), (what), __LINE__)

/* Load `text` and expect exactly libconfig's parse error "FILE:LINE: TEXT". */
static void expect_syntax_at(const char *text, int line, const char *what,
			     int src_line)
{
	struct config cfg;
	char path[1200];
	char want[1400];
	int rv;

	write_file("syntax.conf", text, path, sizeof(path));
	rv = config_load(path, &cfg, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, what);
	check_at(rv == -1 && strcmp(err, want) == 0, __FILE__, src_line,
		 "config_load returned %d\n  message:  %s\n  expected: %s", rv,
		 err, want);
	remove_file(path);
}

#define EXPECT_SYNTAX(text, line, what)                                        \
	expect_syntax_at((text), (line), (what), __LINE__)

/* A one-node cluster on line 1, for tests of the other keys. */
#define ONE_NODE                                                               \
	"cluster = { nodes = ( { id = 1; address = \"127.0.0.1:8001\"; } ); "  \
	"};\n"

/* Load `text`, which must succeed. */
static bool load_good(const char *text, struct config *cfg, int src_line)
{
	char path[1200];
	int rv;

	write_file("good.conf", text, path, sizeof(path));
	rv = config_load(path, cfg, err, sizeof(err));
	check_at(rv == 0, __FILE__, src_line, "%s", err);
	remove_file(path);
	return rv == 0;
}

static void test_full(void)
{
	static const char text[] =
	    "# every key set\n"
	    "cluster = {\n"
	    "  nodes = (\n"
	    "    { id = 7; address = \"10.0.0.1:9001\"; },\n"
	    "    { id = 3; address = \"Node-2.example.org:9002\"; },\n"
	    "    {\n"
	    "      id = 2147483647;\n"
	    "      address = \"[0:0:0:0:0:0:0:1]:65535\";\n"
	    "      peer_address = \"[::1]:64535\";\n"
	    "    }\n"
	    "  );\n"
	    "  secret = \"s3cr3t!~\";\n"
	    "};\n"
	    "data_dir = \"/var/lib/raftd/%i\";\n"
	    "election_timeout_ms = { min = 1000; max = 2000; };\n"
	    "heartbeat_ms = 500;\n"
	    "request_timeout_ms = 3600000;\n"
	    "max_inflight = 8;\n";
	struct config cfg;

	if (!load_good(text, &cfg, __LINE__))
		return;
	CHECK(cfg.n_nodes == 3);
	CHECK(cfg.nodes[0].id == 7);
	CHECK(strcmp(cfg.nodes[0].address, "10.0.0.1:9001") == 0);
	CHECK(strcmp(cfg.nodes[0].host, "10.0.0.1") == 0);
	CHECK(cfg.nodes[0].port == 9001);
	CHECK(cfg.nodes[0].line == 4);
	CHECK(cfg.nodes[1].id == 3);
	CHECK(strcmp(cfg.nodes[1].host, "Node-2.example.org") == 0);
	CHECK(cfg.nodes[1].port == 9002);
	CHECK(cfg.nodes[2].id == 2147483647);
	CHECK(strcmp(cfg.nodes[2].host, "::1") == 0);
	CHECK(strcmp(cfg.nodes[2].address, "[::1]:65535") == 0);
	CHECK(cfg.nodes[2].port == 65535);
	CHECK(cfg.nodes[2].line == 6);
	CHECK(cfg.has_secret);
	CHECK(strcmp(cfg.secret, "s3cr3t!~") == 0);
	CHECK(strcmp(cfg.data_dir, "/var/lib/raftd/%i") == 0);
	CHECK(cfg.election_min_ms == 1000);
	CHECK(cfg.election_max_ms == 2000);
	CHECK(cfg.heartbeat_ms == 500);
	CHECK(cfg.request_timeout_ms == 3600000);
	CHECK(cfg.max_inflight == 8);
	CHECK(strstr(cfg.path, "good.conf") != NULL);
	CHECK(config_node_by_id(&cfg, 3) == &cfg.nodes[1]);
	CHECK(config_node_by_id(&cfg, 2147483647) == &cfg.nodes[2]);
	CHECK(config_node_by_id(&cfg, 1) == NULL);
	CHECK(config_node_by_id(&cfg, 0) == NULL);
}

static void test_minimal(void)
{
	struct config cfg;

	if (!load_good("cluster = { nodes = ( { id = 1; address = "
		       "\"localhost:8001\"; } ); };\n",
		       &cfg, __LINE__))
		return;
	CHECK(cfg.n_nodes == 1);
	CHECK(!cfg.has_secret);
	CHECK(strcmp(cfg.data_dir, "data/node-%i") == 0);
	CHECK(cfg.election_min_ms == 150);
	CHECK(cfg.election_max_ms == 300);
	CHECK(cfg.heartbeat_ms == 50);
	CHECK(cfg.request_timeout_ms == 5000);
	CHECK(cfg.max_inflight == 2);

	/* libconfig's other spellings: ':' for '=', ',' for ';', hex, L. */
	if (!load_good("cluster: { nodes: ( { id: 0x10, address: "
		       "\"127.0.0.1:8001\" } ) }\n"
		       "heartbeat_ms = 40L;\n",
		       &cfg, __LINE__))
		return;
	CHECK(cfg.nodes[0].id == 16);
	CHECK(cfg.heartbeat_ms == 40);

	/* Edge values that are allowed. */
	if (!load_good(ONE_NODE "election_timeout_ms = { min = 10; max = 10; "
				"};\nheartbeat_ms = 5;\nrequest_timeout_ms = "
				"1;\n",
		       &cfg, __LINE__))
		return;
	CHECK(cfg.election_min_ms == 10 && cfg.election_max_ms == 10);
	CHECK(cfg.heartbeat_ms == 5 && cfg.request_timeout_ms == 1);
	if (!load_good(ONE_NODE "election_timeout_ms = { max = 60000; };\n",
		       &cfg, __LINE__))
		return;
	CHECK(cfg.election_min_ms == 150 && cfg.election_max_ms == 60000);
}

static void test_fifteen_nodes(void)
{
	char text[4096] = "cluster = { nodes = (\n";
	struct config cfg;

	for (int i = 1; i <= CONFIG_MAX_NODES; i++) {
		size_t used = strlen(text);

		snprintf(text + used, sizeof(text) - used,
			 "  { id = %d; address = \"127.0.0.1:%d\"; }%s\n", i,
			 8000 + i, i < CONFIG_MAX_NODES ? "," : "");
	}
	strcat(text, "); secret = \"fifteen\"; };\n");
	if (load_good(text, &cfg, __LINE__))
		CHECK(cfg.n_nodes == CONFIG_MAX_NODES);

	/* One more is too many; the error points at the sixteenth. */
	text[strlen(text) - strlen("); secret = \"fifteen\"; };\n") - 1] = '\0';
	strcat(text,
	       ",\n  { id = 16; address = \"127.0.0.1:8016\"; }\n); };\n");
	EXPECT_BAD(text, 17, "cluster.nodes", "16 nodes; at most 15");
}

static void test_secret_edges(void)
{
	char text[1024];
	char secret[300];
	struct config cfg;

	memset(secret, 'x', 256);
	secret[256] = '\0';
	snprintf(text, sizeof(text),
		 "cluster = {\n  nodes = ( { id = 1; address = "
		 "\"127.0.0.1:8001\"; } );\n  secret = \"%s\";\n};\n",
		 secret);
	if (load_good(text, &cfg, __LINE__))
		CHECK(cfg.has_secret && strlen(cfg.secret) == 256);
	strcat(secret, "x");
	snprintf(text, sizeof(text),
		 "cluster = {\n  nodes = ( { id = 1; address = "
		 "\"127.0.0.1:8001\"; } );\n  secret = \"%s\";\n};\n",
		 secret);
	EXPECT_BAD(text, 3, "cluster.secret", "257 bytes");
}

static void test_data_dir(void)
{
	struct config cfg;
	char out[64];

	if (!load_good(ONE_NODE "data_dir = \"/d/%%%i/n%i-%%i\";\n", &cfg,
		       __LINE__))
		return;
	CHECK(config_data_dir(&cfg, 7, out, sizeof(out), err, sizeof(err)) ==
	      0);
	CHECK(strcmp(out, "/d/%7/n7-%i") == 0);
	CHECK(config_data_dir(&cfg, 2147483647, out, sizeof(out), err,
			      sizeof(err)) == 0);
	CHECK(strcmp(out, "/d/%2147483647/n2147483647-%i") == 0);
	/* Exactly fitting, then one byte short. */
	CHECK(config_data_dir(&cfg, 7, out, strlen("/d/%7/n7-%i") + 1, err,
			      sizeof(err)) == 0);
	CHECK(config_data_dir(&cfg, 7, out, strlen("/d/%7/n7-%i"), err,
			      sizeof(err)) == -1);
	CHECK(strstr(err, "longer than") != NULL);

	if (!load_good(ONE_NODE, &cfg, __LINE__))
		return;
	CHECK(config_data_dir(&cfg, 12, out, sizeof(out), err, sizeof(err)) ==
	      0);
	CHECK(strcmp(out, "data/node-12") == 0);

	/* A template without %i is allowed (one node per machine). */
	if (!load_good(ONE_NODE "data_dir = \"raft\";\n", &cfg, __LINE__))
		return;
	CHECK(config_data_dir(&cfg, 3, out, sizeof(out), err, sizeof(err)) ==
	      0);
	CHECK(strcmp(out, "raft") == 0);
}

static void test_addresses(void)
{
	static const char text[] =
	    "cluster = { nodes = (\n"
	    "  { id = 1; address = \"127.0.0.1:8001\"; },\n"
	    "  { id = 2; address = \"127.0.0.1:8002\"; },\n"
	    "  { id = 3; address = \"127.0.0.1:8003\"; },\n"
	    "  { id = 4; address = \"10.0.0.5:9000\"; },\n"
	    "  { id = 5; address = \"[::1]:7000\"; },\n"
	    "  { id = 6; address = \"host.example:8000\"; }\n"
	    "); };\n"
	    "insecure = true;\n";
	struct config cfg;
	const struct config_node *n;

	if (!load_good(text, &cfg, __LINE__))
		return;
	n = config_node_by_address(&cfg, "127.0.0.1:8002\n", err, sizeof(err));
	CHECK(n != NULL && n->id == 2);
	n = config_node_by_address(&cfg, "  10.0.0.5 \n", err, sizeof(err));
	CHECK(n != NULL && n->id == 4);
	n = config_node_by_address(&cfg, "10.0.0.5:9000", err, sizeof(err));
	CHECK(n != NULL && n->id == 4);
	n = config_node_by_address(&cfg, "::1\n", err, sizeof(err));
	CHECK(n != NULL && n->id == 5);
	n = config_node_by_address(&cfg, "[::1]", err, sizeof(err));
	CHECK(n != NULL && n->id == 5);
	n = config_node_by_address(&cfg, "0:0::1", err, sizeof(err));
	CHECK(n != NULL && n->id == 5);
	n = config_node_by_address(&cfg, "[0::1]:7000", err, sizeof(err));
	CHECK(n != NULL && n->id == 5);
	n = config_node_by_address(&cfg, "HOST.example:8000", err, sizeof(err));
	CHECK(n != NULL && n->id == 6);
	n = config_node_by_address(&cfg, "host.example", err, sizeof(err));
	CHECK(n != NULL && n->id == 6);

	n = config_node_by_address(&cfg, "127.0.0.1\n", err, sizeof(err));
	CHECK(n == NULL);
	CHECK(strstr(err, "matches nodes 1, 2, 3") != NULL);
	n = config_node_by_address(&cfg, "10.0.0.6", err, sizeof(err));
	CHECK(n == NULL);
	CHECK(strstr(err, "matches no node") != NULL);
	n = config_node_by_address(&cfg, "127.0.0.1:9999", err, sizeof(err));
	CHECK(n == NULL);
	CHECK(strstr(err, "matches no node") != NULL);
	n = config_node_by_address(&cfg, "10.0.0.5:8001", err, sizeof(err));
	CHECK(n == NULL);
	n = config_node_by_address(&cfg, " \n", err, sizeof(err));
	CHECK(n == NULL);
	CHECK(strstr(err, "empty host") != NULL);
	n = config_node_by_address(&cfg, "no way!", err, sizeof(err));
	CHECK(n == NULL);
	CHECK(strstr(err, "bad address") != NULL);
	n = config_node_by_address(&cfg, "127.0.0.1:0", err, sizeof(err));
	CHECK(n == NULL);
	CHECK(strstr(err, "bad port") != NULL);
}

/* The example files shipped in etc/ must load. */
static void test_shipped(void)
{
	const char *names[] = {"raftd.conf", "local-3.conf", "local-5.conf"};
	const char *top = getenv("top_srcdir");
	size_t want_nodes[] = {3, 3, 5};
	/* raftd.conf shows the secret every real cluster needs; the loopback
	 * examples run insecure, so that they work as they are. */
	bool want_secret[] = {true, false, false};

	if (top == NULL)
		top = ".";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct config cfg;
		char path[1200];
		char dir[64];

		snprintf(path, sizeof(path), "%s/etc/%s", top, names[i]);
		if (!check_at(config_load(path, &cfg, err, sizeof(err)) == 0,
			      __FILE__, __LINE__, "%s", err))
			continue;
		CHECK(cfg.n_nodes == want_nodes[i]);
		CHECK(cfg.has_secret == want_secret[i]);
		CHECK(cfg.insecure == !want_secret[i]);
		CHECK(cfg.election_min_ms == 150 && cfg.election_max_ms == 300);
		CHECK(cfg.heartbeat_ms == 50 && cfg.request_timeout_ms == 5000);
		for (size_t k = 0; k < cfg.n_nodes; k++) {
			char want[32];

			snprintf(want, sizeof(want), "127.0.0.1:%zu", 8001 + k);
			CHECK(cfg.nodes[k].id == k + 1);
			CHECK(strcmp(cfg.nodes[k].address, want) == 0);
		}
		CHECK(config_data_dir(&cfg, 2, dir, sizeof(dir), err,
				      sizeof(err)) == 0 &&
		      strcmp(dir, "data/node-2") == 0);
	}
}

static void test_file_errors(void)
{
	struct config cfg;
	char path[1200];
	char want[1400];

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	CHECK(config_load(path, &cfg, err, sizeof(err)) == -1);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path,
		 strerror(ENOENT));
	if (!CHECK(strcmp(err, want) == 0))
		fprintf(stderr, "  message: %s\n", err);

	CHECK(config_load(tmpdir, &cfg, err, sizeof(err)) == -1);
	snprintf(want, sizeof(want), "%s: cannot read: %s", tmpdir,
		 strerror(EISDIR));
	if (!CHECK(strcmp(err, want) == 0))
		fprintf(stderr, "  message: %s\n", err);

	/* Permissions mean nothing to root. */
	if (geteuid() != 0) {
		write_file("unreadable.conf", ONE_NODE, path, sizeof(path));
		CHECK(chmod(path, 0) == 0);
		CHECK(config_load(path, &cfg, err, sizeof(err)) == -1);
		snprintf(want, sizeof(want), "%s: cannot open: %s", path,
			 strerror(EACCES));
		if (!CHECK(strcmp(err, want) == 0))
			fprintf(stderr, "  message: %s\n", err);
		remove_file(path);
	}

	/* Syntax errors: libconfig's line and text.  (libconfig 1.5 takes
	 * the ';' between settings as optional, so a missing one is not an
	 * error.) */
	EXPECT_SYNTAX("cluster = {\n  nodes = (\n    { id = = 1; address = "
		      "\"127.0.0.1:8001\"; }\n  );\n};\n",
		      3, "syntax error");
	EXPECT_SYNTAX(ONE_NODE "heartbeat_ms = 50;\nheartbeat_ms = 60;\n", 3,
		      "duplicate setting name");
	EXPECT_SYNTAX(ONE_NODE "election_timeout_ms = {\n  min = 150;\n", 4,
		      "syntax error");

	/* An error inside an included file names that file. */
	{
		char inc[1200];
		char text[1400];
		char prefix[1400];

		write_file("inc.conf", "\nheartbeat_ms = \"50\";\n", inc,
			   sizeof(inc));
		snprintf(text, sizeof(text), ONE_NODE "@include \"%s\"\n", inc);
		write_file("main.conf", text, path, sizeof(path));
		CHECK(config_load(path, &cfg, err, sizeof(err)) == -1);
		snprintf(prefix, sizeof(prefix), "%s:2: heartbeat_ms: ", inc);
		if (!CHECK(strncmp(err, prefix, strlen(prefix)) == 0))
			fprintf(stderr, "  message: %s\n", err);
		remove_file(path);
		remove_file(inc);
	}
}

static void test_unknown_keys(void)
{
	EXPECT_BAD(ONE_NODE "\nheartbeat = 50;\n", 3, "heartbeat",
		   "unknown setting");
	EXPECT_BAD(ONE_NODE "Heartbeat_ms = 50;\n", 2, "Heartbeat_ms",
		   "unknown setting (expected one of: cluster, data_dir");
	/* The whole list, up to the last key (it was cut at 160 bytes,
	 * in the middle of a name). */
	EXPECT_BAD(ONE_NODE "heartbeat = 50;\n", 2, "heartbeat",
		   "connection_timeout_s, tls_cert, tls_key, tls_ca, "
		   "snapshot_entries, snapshot_trailing, console)");
	EXPECT_BAD("cluster = {\n  nodes = ( { id = 1; address = "
		   "\"127.0.0.1:8001\"; } );\n  secrte = \"x\";\n};\n",
		   3, "cluster.secrte", "expected one of: nodes, secret");
	EXPECT_BAD("cluster = { nodes = (\n"
		   "  { id = 1; address = \"127.0.0.1:8001\"; },\n"
		   "  { id = 2; adress = \"127.0.0.1:8002\"; }\n"
		   "); };\n",
		   3, "cluster.nodes[1].adress",
		   "expected one of: id, address");
	EXPECT_BAD(ONE_NODE "election_timeout_ms = {\n  min = 150;\n  mx = "
			    "300;\n};\n",
		   4, "election_timeout_ms.mx", "expected one of: min, max");
	EXPECT_BAD(ONE_NODE "election_timeout_ms = { min = 150; max = 300; "
			    "max2 = { a = 1; }; };\n",
		   2, "election_timeout_ms.max2", "unknown setting");
}

static void test_types(void)
{
	EXPECT_BAD(
	    ONE_NODE "heartbeat_ms = \"50\";\n", 2, "heartbeat_ms",
	    "must be an integer, not a string (write 50 without quotes)");
	EXPECT_BAD(ONE_NODE "heartbeat_ms = \"fast\";\n", 2, "heartbeat_ms",
		   "must be an integer, not a string");
	EXPECT_BAD(ONE_NODE "\nrequest_timeout_ms = 5.0;\n", 3,
		   "request_timeout_ms", "must be an integer, not a float");
	EXPECT_BAD(ONE_NODE "heartbeat_ms = true;\n", 2, "heartbeat_ms",
		   "not a boolean");
	EXPECT_BAD(ONE_NODE "election_timeout_ms = 200;\n", 2,
		   "election_timeout_ms", "must be a group");
	EXPECT_BAD(ONE_NODE "election_timeout_ms = { min = [150]; };\n", 2,
		   "election_timeout_ms.min", "not an array");
	EXPECT_BAD("\ncluster = 5;\n", 2, "cluster",
		   "must be a group { nodes = (...); }, not an integer");
	EXPECT_BAD("cluster = {\n  nodes = [ 1, 2 ];\n};\n", 2, "cluster.nodes",
		   "must be a list");
	EXPECT_BAD("cluster = {\n  nodes = { id = 1; address = "
		   "\"127.0.0.1:8001\"; };\n};\n",
		   2, "cluster.nodes", "not a group");
	/* libconfig 1.5 gives an unnamed scalar the line of the token after
	 * it, so keep that token on the same line here. */
	EXPECT_BAD("cluster = { nodes = (\n  { id = 1; address = "
		   "\"127.0.0.1:8001\"; },\n  \"127.0.0.1:8002\" ); };\n",
		   3, "cluster.nodes[1]", "must be a group");
	EXPECT_BAD("cluster = { nodes = (\n  { id = \"1\"; address = "
		   "\"127.0.0.1:8001\"; }\n); };\n",
		   2, "cluster.nodes[0].id", "must be an integer");
	EXPECT_BAD("cluster = { nodes = (\n  { id = 1;\n    address = 8001; "
		   "}\n); };\n",
		   3, "cluster.nodes[0].address",
		   "must be a string in double quotes, not an integer");
	EXPECT_BAD("cluster = {\n  nodes = ( { id = 1; address = "
		   "\"127.0.0.1:8001\"; } );\n  secret = 1234;\n};\n",
		   3, "cluster.secret", "must be a string");
	EXPECT_BAD(ONE_NODE "data_dir = [ \"a\" ];\n", 2, "data_dir",
		   "must be a string");
}

static void test_ranges(void)
{
	EXPECT_BAD(ONE_NODE "heartbeat_ms = 0;\n", 2, "heartbeat_ms",
		   "0 is out of range (1..60000)");
	EXPECT_BAD(ONE_NODE "heartbeat_ms = -5;\n", 2, "heartbeat_ms",
		   "-5 is out of range");
	EXPECT_BAD(ONE_NODE "request_timeout_ms = 0;\n", 2,
		   "request_timeout_ms", "0 is out of range (1..3600000)");
	EXPECT_BAD(ONE_NODE "request_timeout_ms = 3600001;\n", 2,
		   "request_timeout_ms", "3600001 is out of range");
	EXPECT_BAD(ONE_NODE "max_inflight = 0;\n", 2, "max_inflight",
		   "0 is out of range (1..8)");
	EXPECT_BAD(ONE_NODE "max_inflight = 9;\n", 2, "max_inflight",
		   "9 is out of range (1..8)");
	EXPECT_BAD(ONE_NODE "max_inflight = \"2\";\n", 2, "max_inflight",
		   "must be an integer, not a string");
	EXPECT_BAD(ONE_NODE "election_timeout_ms = {\n  min = 150;\n  max = "
			    "60001;\n};\n",
		   4, "election_timeout_ms.max", "60001 is out of range");
	EXPECT_BAD(ONE_NODE "election_timeout_ms = { min = 9; max = 300; };\n",
		   2, "election_timeout_ms.min",
		   "9 is out of range (10..60000)");
	EXPECT_BAD(ONE_NODE "election_timeout_ms = { min = 0; };\n", 2,
		   "election_timeout_ms.min", "out of range");
	/* libconfig 1.5 reads 4294967346 as 50 and 2147483648 as a negative
	 * number; the loader must see through both. */
	EXPECT_BAD(ONE_NODE "heartbeat_ms = 4294967346;\n", 2, "heartbeat_ms",
		   "4294967346 is out of range");
	EXPECT_BAD(ONE_NODE "request_timeout_ms = 0x100001388;\n", 2,
		   "request_timeout_ms", "0x100001388 is out of range");
	EXPECT_BAD(ONE_NODE "heartbeat_ms = 99999999999999999999;\n", 2,
		   "heartbeat_ms", "99999999999999999999 is out of range");
	EXPECT_BAD(ONE_NODE "request_timeout_ms = 5000000000L;\n", 2,
		   "request_timeout_ms", "5000000000 is out of range");
}

static void test_nodes(void)
{
	EXPECT_BAD("heartbeat_ms = 50;\n", 0, "cluster", "missing");
	EXPECT_BAD("", 0, "cluster", "missing");
	EXPECT_BAD("# only a comment\n", 0, "cluster", "missing");
	EXPECT_BAD("\ncluster = {\n  secret = \"abc\";\n};\n", 2,
		   "cluster.nodes", "missing");
	EXPECT_BAD("cluster = {\n  nodes = ();\n};\n", 2, "cluster.nodes",
		   "empty; at least one node is required");
	EXPECT_BAD("cluster = { nodes = (\n  { id = 1; address = "
		   "\"127.0.0.1:8001\"; },\n  { address = \"127.0.0.1:8002\"; "
		   "}\n); };\n",
		   3, "cluster.nodes[1].id", "missing");
	EXPECT_BAD("cluster = { nodes = (\n  { id = 1; address = "
		   "\"127.0.0.1:8001\"; },\n  { id = 2; }\n); };\n",
		   3, "cluster.nodes[1].address", "missing");
	EXPECT_BAD("cluster = { nodes = (\n  { id = 0; address = "
		   "\"127.0.0.1:8001\"; }\n); };\n",
		   2, "cluster.nodes[0].id",
		   "0 is out of range (1..2147483647)");
	EXPECT_BAD("cluster = { nodes = (\n  { id = -3; address = "
		   "\"127.0.0.1:8001\"; }\n); };\n",
		   2, "cluster.nodes[0].id", "-3 is out of range");
	EXPECT_BAD("cluster = { nodes = (\n  { id = 2147483648; address = "
		   "\"127.0.0.1:8001\"; }\n); };\n",
		   2, "cluster.nodes[0].id", "2147483648 is out of range");
	EXPECT_BAD("cluster = { nodes = (\n  { id = 1; address = "
		   "\"127.0.0.1:8001\"; },\n  { id = 4294967297; address = "
		   "\"127.0.0.1:8002\"; }\n); };\n",
		   3, "cluster.nodes[1].id", "4294967297 is out of range");
	EXPECT_BAD("cluster = { nodes = (\n  { id = 1.5; address = "
		   "\"127.0.0.1:8001\"; }\n); };\n",
		   2, "cluster.nodes[0].id", "not a float");

	/* The example message of etc/raftd.conf, word for word. */
	EXPECT_BAD("cluster = {\n"
		   "  nodes = (\n"
		   "    { id = 1; address = \"127.0.0.1:8001\"; },\n"
		   "    {\n"
		   "      id = 2; address = \"127.0.0.1:8002\";\n"
		   "    },\n"
		   "    { id = 2; address = \"127.0.0.1:8003\"; }\n"
		   "  );\n"
		   "};\n",
		   7, "cluster.nodes[2].id", "duplicate id 2 (also at line 5)");
	EXPECT_BAD("cluster = { nodes = (\n"
		   "  { id = 1; address = \"127.0.0.1:8001\"; },\n"
		   "  { id = 2; address = \"127.0.0.1:8001\"; }\n"
		   "); };\n",
		   3, "cluster.nodes[1].address",
		   "duplicate address 127.0.0.1:8001 (also at line 2, node 1)");
	/* The same IPv6 address spelt two ways, and a host name in two
	 * cases, are still duplicates. */
	EXPECT_BAD("cluster = { nodes = (\n"
		   "  { id = 1; address = \"[::1]:8001\"; },\n"
		   "  { id = 2; address = \"[0:0::0:1]:8001\"; }\n"
		   "); };\n",
		   3, "cluster.nodes[1].address",
		   "duplicate address [::1]:8001");
	EXPECT_BAD("cluster = { nodes = (\n"
		   "  { id = 1; address = \"node1.example:8001\"; },\n"
		   "  { id = 2; address = \"NODE1.example:8001\"; }\n"
		   "); };\n",
		   3, "cluster.nodes[1].address", "duplicate address");
}

static void test_bad_addresses(void)
{
	static const struct {
		const char *address;
		const char *why;
	} bad[] = {
	    {"", "empty address"},
	    {"127.0.0.1", "missing port"},
	    {"127.0.0.1:", "missing port"},
	    {":8001", "empty host"},
	    {"127.0.0.1:0", "bad port '0'"},
	    {"127.0.0.1:65536", "bad port '65536'"},
	    {"127.0.0.1:80a", "bad port"},
	    {"127.0.0.1:-80", "bad port"},
	    {"127.0.0.1:+80", "bad port"},
	    {"127.0.0.1:123456", "bad port"},
	    {"256.1.1.1:80", "bad IPv4 address"},
	    {"1.2.3:80", "bad IPv4 address"},
	    {"1.2.3.4.5:80", "bad IPv4 address"},
	    {"01.2.3.4:80", "bad IPv4 address"},
	    {"-bad.example:80", "starts with '-'"},
	    {"bad-.example:80", "ends with '-'"},
	    {"a..b:80", "empty label"},
	    {".a:80", "empty label"},
	    {"a.:80", "empty label"},
	    {"ho st:80", "bad character ' '"},
	    {"a_b:80", "bad character '_'"},
	    {"http://a:80", "too many ':'"},
	    {"::1:8001", "needs brackets"},
	    {"[::1]", "missing port"},
	    {"[::1]x:80", "junk after ']'"},
	    {"[::1:80", "missing ']'"},
	    {"[127.0.0.1]:80", "only for IPv6"},
	    {"[::g]:80", "bad IPv6 address"},
	    {"[]:80", "only for IPv6"},
	    {" 127.0.0.1:80", "bad character"},
	};
	char text[512];
	char label[80];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "cluster = { nodes = (\n  { id = 1; address = "
			 "\"127.0.0.1:8001\"; },\n  { id = 2;\n    address = "
			 "\"%s\"; }\n); };\n",
			 bad[i].address);
		EXPECT_BAD(text, 4, "cluster.nodes[1].address", bad[i].why);
	}
	/* A 64-byte label and a 254-byte name are too long. */
	memset(label, 'a', 64);
	label[64 - 1] = '\0'; /* 63: fine */
	snprintf(text, sizeof(text),
		 "cluster = { nodes = ( { id = 1; address = \"%s.x:80\"; } ); "
		 "};\n",
		 label);
	{
		struct config cfg;

		CHECK(load_good(text, &cfg, __LINE__));
	}
	strcat(label, "a");
	snprintf(text, sizeof(text),
		 "cluster = { nodes = ( { id = 1; address = \"%s.x:80\"; } ); "
		 "};\n",
		 label);
	EXPECT_BAD(text, 1, "cluster.nodes[0].address", "longer than 63");
}

static void test_timing_rules(void)
{
	EXPECT_BAD(ONE_NODE "election_timeout_ms = {\n  min = 300;\n  max = "
			    "200;\n};\n",
		   4, "election_timeout_ms.max",
		   "election_timeout_ms.min (300) must not exceed "
		   "election_timeout_ms.max (200)");
	EXPECT_BAD(ONE_NODE "election_timeout_ms = {\n  min = 400;\n};\n", 3,
		   "election_timeout_ms.min",
		   "(400) must not exceed election_timeout_ms.max (300, the "
		   "default)");
	EXPECT_BAD(ONE_NODE "election_timeout_ms = { min = 150; max = 300; "
			    "};\nheartbeat_ms = 100;\n",
		   3, "heartbeat_ms",
		   "heartbeat_ms (100) must be at most half of "
		   "election_timeout_ms.min (150)");
	EXPECT_BAD(ONE_NODE "heartbeat_ms = 76;\n", 2, "heartbeat_ms",
		   "heartbeat_ms (76) must be at most half of "
		   "election_timeout_ms.min (150, the default)");
	EXPECT_BAD(ONE_NODE "election_timeout_ms = {\n  min = 99;\n};\n", 3,
		   "election_timeout_ms.min",
		   "heartbeat_ms (50, the default) must be at most half of "
		   "election_timeout_ms.min (99)");
}

static void test_secret_and_data_dir(void)
{
#define SECRET(s)                                                              \
	"cluster = {\n  nodes = ( { id = 1; address = \"127.0.0.1:8001\"; } "  \
	");\n  secret = \"" s "\";\n};\n"
	EXPECT_BAD(SECRET(""), 3, "cluster.secret", "is 0 bytes");
	EXPECT_BAD(SECRET("two words"), 3, "cluster.secret",
		   "character 4 is not printable ASCII");
	EXPECT_BAD(SECRET("tab\\there"), 3, "cluster.secret",
		   "character 4 is not printable ASCII");
	EXPECT_BAD(SECRET("caf\xc3\xa9"), 3, "cluster.secret",
		   "character 4 is not printable ASCII");
#undef SECRET
	EXPECT_BAD(ONE_NODE "data_dir = \"\";\n", 2, "data_dir",
		   "must not be empty");
	EXPECT_BAD(ONE_NODE "data_dir = \"data/%x\";\n", 2, "data_dir",
		   "unknown escape '%x'");
	EXPECT_BAD(ONE_NODE "data_dir = \"data/%d-%i\";\n", 2, "data_dir",
		   "unknown escape '%d'");
	EXPECT_BAD(ONE_NODE "data_dir = \"data/%\";\n", 2, "data_dir",
		   "lone '%'");

	/* Fits as a template, too long once %i becomes a 10-digit id. */
	{
		static char text[CONFIG_PATH_MAX + 256];
		char dir[CONFIG_PATH_MAX];

		memset(dir, 'd', CONFIG_PATH_MAX - 4);
		strcpy(dir + CONFIG_PATH_MAX - 4, "%i");
		snprintf(text, sizeof(text),
			 "cluster = { nodes = ( { id = 1234567890; address = "
			 "\"127.0.0.1:8001\"; } ); };\ndata_dir = \"%s\";\n",
			 dir);
		EXPECT_BAD(text, 2, "data_dir",
			   "once expanded for node "
			   "1234567890");
	}
}

/* A cluster of several nodes needs a secret, or insecure = true by name;
 * one node needs neither; both at once is a contradiction. */
/* The peers' listener: given, or port + 1000; never anyone's address. */
static void test_peer_address(void)
{
	struct config cfg;

	if (load_good("cluster = { nodes = ( { id = 1; address = "
		      "\"127.0.0.1:8001\"; } ); };\n",
		      &cfg, __LINE__)) {
		CHECK(strcmp(cfg.nodes[0].peer_address, "127.0.0.1:9001") == 0);
		CHECK(cfg.nodes[0].peer_port == 9001);
	}
	if (load_good("cluster = { nodes = ( { id = 1; address = "
		      "\"127.0.0.1:8001\"; peer_address = \"10.0.0.1:7000\"; "
		      "} ); };\n",
		      &cfg, __LINE__))
		CHECK(strcmp(cfg.nodes[0].peer_address, "10.0.0.1:7000") == 0);
	EXPECT_BAD("cluster = { nodes = ( { id = 1; address = "
		   "\"127.0.0.1:65000\"; } ); };\n",
		   1, "cluster.nodes[0].peer_address", "is not a port: set it");
	EXPECT_BAD("cluster = { nodes = ( { id = 1; address = "
		   "\"127.0.0.1:8001\"; peer_address = \"127.0.0.1:8001\"; "
		   "} ); };\n",
		   1, "cluster.nodes[0].peer_address",
		   "the same as the node's address");
	EXPECT_BAD("cluster = { nodes = (\n"
		   "  { id = 1; address = \"127.0.0.1:8001\"; },\n"
		   "  { id = 2; address = \"127.0.0.1:9001\"; }\n"
		   "); };\ninsecure = true;\n",
		   3, "cluster.nodes[1]", "also node 1's");
	EXPECT_BAD("cluster = { nodes = ( { id = 1; address = "
		   "\"127.0.0.1:8001\"; peer_address = \"nope\"; } ); };\n",
		   1, "cluster.nodes[0].peer_address", "bad address");
}

static void test_security(void)
{
	static const char two[] =
	    "cluster = { nodes = (\n"
	    "  { id = 1; address = \"127.0.0.1:8001\"; },\n"
	    "  { id = 2; address = \"127.0.0.1:8002\"; }\n"
	    "); };\n";
	char text[1024];
	struct config cfg;

	EXPECT_BAD(two, 1, "cluster.secret", "a cluster of 2 nodes needs");
	snprintf(text, sizeof(text), "%sinsecure = true;\n", two);
	if (load_good(text, &cfg, __LINE__))
		CHECK(cfg.insecure && !cfg.has_secret);
	snprintf(text, sizeof(text), "%sinsecure = false;\n", two);
	EXPECT_BAD(text, 1, "cluster.secret", "or `insecure = true;`");
	snprintf(text, sizeof(text), "%sinsecure = \"yes\";\n", two);
	EXPECT_BAD(text, 5, "insecure", "must be true or false");
	snprintf(text, sizeof(text), "%sinsecure = 1;\n", two);
	EXPECT_BAD(text, 5, "insecure", "must be true or false");
	snprintf(text, sizeof(text),
		 "cluster = { nodes = ( { id = 1; address = "
		 "\"127.0.0.1:8001\"; }, { id = 2; address = "
		 "\"127.0.0.1:8002\"; } );\n  secret = \"s\"; };\n"
		 "insecure = true;\n");
	EXPECT_BAD(text, 3, "insecure", "cluster.secret is set");
	if (load_good(ONE_NODE, &cfg, __LINE__))
		CHECK(!cfg.insecure && !cfg.has_secret);
}

/* console = "on" | "readonly" | "off" (docs/CONSOLE.md). */
static void test_console(void)
{
	static const char *const modes[] = {"on", "readonly", "off"};
	static const enum config_console want[] = {
	    CONFIG_CONSOLE_ON, CONFIG_CONSOLE_READONLY, CONFIG_CONSOLE_OFF};
	char text[512];
	struct config cfg;

	if (load_good(ONE_NODE, &cfg, __LINE__))
		CHECK(cfg.console == CONFIG_CONSOLE_ON);
	for (size_t i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "%sconsole = \"%s\";\n", ONE_NODE,
			 modes[i]);
		if (load_good(text, &cfg, __LINE__))
			CHECK(cfg.console == want[i]);
	}
	snprintf(text, sizeof(text), "%sconsole = \"ro\";\n", ONE_NODE);
	EXPECT_BAD(text, 2, "console",
		   "must be \"on\", \"readonly\" or \"off\"");
	snprintf(text, sizeof(text), "%sconsole = true;\n", ONE_NODE);
	EXPECT_BAD(text, 2, "console", "must be a string");
}

int main(void)
{
	const char *base = getenv("TMPDIR");

	check_start("test_config", 0);
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_config.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL)
		CHECK_HARD_ERROR("mkdtemp %s: %s", tmpdir, strerror(errno));

	test_full();
	test_minimal();
	test_fifteen_nodes();
	test_secret_edges();
	test_data_dir();
	test_addresses();
	test_shipped();
	test_file_errors();
	test_unknown_keys();
	test_types();
	test_ranges();
	test_nodes();
	test_bad_addresses();
	test_timing_rules();
	test_secret_and_data_dir();
	test_security();
	test_peer_address();
	test_console();

	if (rmdir(tmpdir) != 0)
		CHECK_HARD_ERROR("rmdir %s: %s", tmpdir, strerror(errno));
	return check_summary();
}
