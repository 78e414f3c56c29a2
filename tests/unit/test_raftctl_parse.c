/* test_raftctl_parse.c: unit tests of raftctl's pure parsing: server
 * lists, config files, NOT_LEADER hints, shell words, -t values, tids and
 * the output escaping helpers. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/cmd.h"
#include "client/nodelist.h"
#include "client/shell.h"
#include "client/util.h"
#include "tests/lib/check.h"

static void test_addresses(void)
{
	char err[256];

	CHECK(nodelist_check_address("127.0.0.1:8001", err, sizeof(err)) == 0);
	CHECK(nodelist_check_address("node-1.example:1", err, sizeof(err)) ==
	      0);
	CHECK(nodelist_check_address("[::1]:8001", err, sizeof(err)) == 0);
	CHECK(nodelist_check_address("127.0.0.1", err, sizeof(err)) < 0);
	CHECK(strstr(err, "127.0.0.1") != NULL);
	CHECK(nodelist_check_address("127.0.0.1:0", err, sizeof(err)) < 0);
	CHECK(nodelist_check_address("127.0.0.1:65536", err, sizeof(err)) < 0);
	CHECK(nodelist_check_address("127.0.0.1:80x", err, sizeof(err)) < 0);
	CHECK(nodelist_check_address(":8001", err, sizeof(err)) < 0);
	CHECK(nodelist_check_address("::1:8001", err, sizeof(err)) < 0);
	CHECK(nodelist_check_address("[::1]8001", err, sizeof(err)) < 0);
	CHECK(nodelist_check_address("[]:8001", err, sizeof(err)) < 0);
	CHECK(nodelist_check_address("a b:1", err, sizeof(err)) < 0);
	CHECK(nodelist_check_address("http://a:1", err, sizeof(err)) < 0);
}

static void test_servers(void)
{
	struct nodelist nl;
	char err[256];
	size_t pos;

	CHECK(nodelist_parse_servers("127.0.0.1:8001,127.0.0.1:8002,[::1]:9",
				     &nl, err, sizeof(err)) == 0);
	CHECK(nl.n == 3);
	CHECK(nl.nodes[0].id == 1 && nl.nodes[2].id == 3);
	CHECK(strcmp(nl.nodes[1].address, "127.0.0.1:8002") == 0);
	CHECK(strcmp(nl.nodes[2].address, "[::1]:9") == 0);
	CHECK(nl.request_timeout_ms == 0);
	CHECK(nodelist_find_address(&nl, "127.0.0.1:8002") == 1);
	CHECK(nodelist_find_address(&nl, "127.0.0.1:8009") == -1);
	CHECK(nodelist_find_id(&nl, 3) == 2);
	CHECK(nodelist_find_id(&nl, 4) == -1);
	/* A hint naming a node the user did not list adds it. */
	CHECK(nodelist_add(&nl, 7, "127.0.0.1:8007", &pos) == 0 && pos == 3);
	CHECK(nl.n == 4 && nl.nodes[3].id == 7);
	CHECK(nodelist_add(&nl, 9, "127.0.0.1:8002", &pos) == 0 && pos == 1);
	CHECK(nl.n == 4);
	CHECK(nodelist_add(&nl, 9, "bad", &pos) < 0);

	CHECK(nodelist_parse_servers("127.0.0.1:8001", &nl, err, sizeof(err)) ==
		  0 &&
	      nl.n == 1);
	CHECK(nodelist_parse_servers("", &nl, err, sizeof(err)) < 0);
	CHECK(nodelist_parse_servers("127.0.0.1:8001,", &nl, err, sizeof(err)) <
	      0);
	CHECK(strstr(err, "empty") != NULL);
	CHECK(nodelist_parse_servers("127.0.0.1:8001,,127.0.0.1:8002", &nl, err,
				     sizeof(err)) < 0);
	CHECK(nodelist_parse_servers("127.0.0.1:8001,127.0.0.1:8001", &nl, err,
				     sizeof(err)) < 0);
	CHECK(strstr(err, "twice") != NULL);
	CHECK(nodelist_parse_servers("127.0.0.1:8001,localhost", &nl, err,
				     sizeof(err)) < 0);
	CHECK(strstr(err, "localhost") != NULL);
}

static void test_config(void)
{
	char dir[] = "/tmp/test_raftctl_parse.XXXXXX";
	const char *tmp = getenv("TMPDIR");
	char path[4200], err[1024];
	struct nodelist nl;
	FILE *fp;

	if (tmp && *tmp) {
		char *t = util_xasprintf("%s/test_raftctl_parse.XXXXXX", tmp);
		if (strlen(t) < sizeof(dir))
			strcpy(dir, t);
		free(t);
	}
	if (mkdtemp(dir) == NULL)
		CHECK_HARD_ERROR("mkdtemp %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/raftd.conf", dir);
	fp = fopen(path, "w");
	if (fp == NULL)
		CHECK_HARD_ERROR("%s: %s", path, strerror(errno));
	fputs("cluster = { nodes = (\n"
	      "  { id = 3; address = \"127.0.0.1:9003\"; },\n"
	      "  { id = 1; address = \"127.0.0.1:9001\"; }\n"
	      "); };\n"
	      "insecure = true;\n"
	      "request_timeout_ms = 1234;\n",
	      fp);
	fclose(fp);
	CHECK(nodelist_from_config(path, &nl, err, sizeof(err)) == 0);
	CHECK(nl.n == 2);
	CHECK(nl.nodes[0].id == 3 &&
	      strcmp(nl.nodes[0].address, "127.0.0.1:9003") == 0);
	CHECK(nl.nodes[1].id == 1);
	CHECK(nl.request_timeout_ms == 1234);
	/* A broken file: config_load's message, naming the file. */
	fp = fopen(path, "w");
	fputs("cluster = { nodes = ( ; };\n", fp);
	fclose(fp);
	CHECK(nodelist_from_config(path, &nl, err, sizeof(err)) ==
	      NODELIST_ECONFIG);
	CHECK(strstr(err, path) != NULL);
	unlink(path);
	CHECK(nodelist_from_config(path, &nl, err, sizeof(err)) ==
	      NODELIST_ECONFIG);
	rmdir(dir);
}

static void test_hints(void)
{
	char addr[NODELIST_ADDR_MAX];
	uint32_t id = 0;

	CHECK(nodelist_parse_hint("not leader; leader=2@127.0.0.1:8002", &id,
				  addr, sizeof(addr)) == 0);
	CHECK(id == 2 && strcmp(addr, "127.0.0.1:8002") == 0);
	/* As xmlrpc-c hands it over. */
	CHECK(nodelist_parse_hint("RPC failed at server.  not leader; "
				  "leader=15@[::1]:9",
				  &id, addr, sizeof(addr)) == 0);
	CHECK(id == 15 && strcmp(addr, "[::1]:9") == 0);
	CHECK(nodelist_parse_hint("not leader; leader=3@h:1 (term 5)", &id,
				  addr, sizeof(addr)) == 0);
	CHECK(id == 3 && strcmp(addr, "h:1") == 0);
	CHECK(nodelist_parse_hint("not leader; leader=unknown", &id, addr,
				  sizeof(addr)) == 1);
	CHECK(nodelist_parse_hint("not leader", &id, addr, sizeof(addr)) < 0);
	CHECK(nodelist_parse_hint("not leader; leader=", &id, addr,
				  sizeof(addr)) < 0);
	CHECK(nodelist_parse_hint("not leader; leader=0@h:1", &id, addr,
				  sizeof(addr)) < 0);
	CHECK(nodelist_parse_hint("not leader; leader=x@h:1", &id, addr,
				  sizeof(addr)) < 0);
	CHECK(nodelist_parse_hint("not leader; leader=2@", &id, addr,
				  sizeof(addr)) < 0);
	CHECK(nodelist_parse_hint("not leader; leader=2@h", &id, addr,
				  sizeof(addr)) < 0);
	CHECK(nodelist_parse_hint("not leader; leader=99999999999@h:1", &id,
				  addr, sizeof(addr)) < 0);
	CHECK(nodelist_parse_hint("not leader; leader=2@h:1", &id, addr, 3) <
	      0);
}

/* Splits `line` and compares with the expected words (NULL-ended). */
static bool split_is(const char *line, ...)
{
	char **argv = NULL;
	int argc = 0, i = 0;
	bool ok = true;
	const char *w;
	va_list ap;

	if (shell_split(line, &argv, &argc) != 0)
		return false;
	va_start(ap, line);
	while ((w = va_arg(ap, const char *)) != NULL) {
		if (i >= argc || strcmp(argv[i], w) != 0)
			ok = false;
		i++;
	}
	va_end(ap);
	ok = ok && i == argc && argv[argc] == NULL;
	shell_free_words(argv);
	return ok;
}

static void test_shell_split(void)
{
	char **argv = NULL;
	int argc = -1;

	CHECK(split_is("get k\n", "get", "k", NULL));
	CHECK(split_is("  put   k\t v  ", "put", "k", "v", NULL));
	CHECK(
	    split_is("put k \"hello world\"", "put", "k", "hello world", NULL));
	CHECK(split_is("cas k \"\" 1", "cas", "k", "", "1", NULL));
	CHECK(split_is("put k 'a \"b\" \\c'", "put", "k", "a \"b\" \\c", NULL));
	CHECK(split_is("put k \"a\\\"b\\\\c\\n\"", "put", "k", "a\"b\\c\\n",
		       NULL));
	CHECK(split_is("put k a\\ b", "put", "k", "a b", NULL));
	CHECK(split_is("put k x\"y z\"w", "put", "k", "xy zw", NULL));
	CHECK(split_is("get k # a comment", "get", "k", NULL));
	CHECK(split_is("put k a#b", "put", "k", "a#b", NULL));
	CHECK(split_is("# only a comment", NULL));
	CHECK(split_is("", NULL));
	CHECK(split_is("   \n", NULL));
	CHECK(shell_split("put k \"open", &argv, &argc) == SHELL_EQUOTE);
	CHECK(shell_split("put k 'open", &argv, &argc) == SHELL_EQUOTE);
	CHECK(shell_split("put k trailing\\", &argv, &argc) == SHELL_EQUOTE);
	shell_free_words(NULL);
}

static void test_seconds(void)
{
	uint64_t ms = 0;

	CHECK(cmd_parse_seconds("10", &ms) == 0 && ms == 10000);
	CHECK(cmd_parse_seconds("0.5", &ms) == 0 && ms == 500);
	CHECK(cmd_parse_seconds("2.25", &ms) == 0 && ms == 2250);
	CHECK(cmd_parse_seconds("0.0001", &ms) == 0 && ms == 1);
	CHECK(cmd_parse_seconds("0", &ms) < 0);
	CHECK(cmd_parse_seconds("-1", &ms) < 0);
	CHECK(cmd_parse_seconds("abc", &ms) < 0);
	CHECK(cmd_parse_seconds("1s", &ms) < 0);
	CHECK(cmd_parse_seconds("", &ms) < 0);
	CHECK(cmd_parse_seconds("inf", &ms) < 0);
	CHECK(cmd_parse_seconds("nan", &ms) < 0);
	CHECK(cmd_parse_seconds("1e9", &ms) < 0);
}

static void test_tids(void)
{
	struct cmd_ctx a, b;
	char t1[160], t2[160], t3[160];

	cmd_ctx_init(&a);
	cmd_ctx_init(&b);
	cmd_next_tid(&a, t1, sizeof(t1));
	cmd_next_tid(&a, t2, sizeof(t2));
	cmd_next_tid(&b, t3, sizeof(t3));
	CHECK(strncmp(t1, "raftctl-", 8) == 0);
	CHECK(strlen(t1) < 128); /* COMMAND_MAX_TID */
	CHECK(strcmp(t1, t2) != 0);
	CHECK(strcmp(t1, t3) != 0); /* another invocation, same pid */
	CHECK(strchr(t1, ' ') == NULL);
	CHECK(a.timeout_ms == CMD_DEFAULT_TIMEOUT_MS);
	cmd_ctx_release(&a);
	cmd_ctx_release(&b);
}

static bool out_is(void (*fn)(FILE *, const char *), const char *in,
		   const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	bool ok;

	fn(fp, in);
	fclose(fp);
	ok = strcmp(buf, want) == 0;
	if (!ok)
		fprintf(stderr, "got <%s> want <%s>\n", buf, want);
	free(buf);
	return ok;
}

static void test_output(void)
{
	uint64_t v = 0;

	CHECK(out_is(util_json_string, "a\"b\\c\n\t\x01",
		     "\"a\\\"b\\\\c\\n\\t\\u0001\""));
	CHECK(out_is(util_json_string, "caf\xc3\xa9", "\"caf\xc3\xa9\""));
	CHECK(out_is(util_json_string, "bad\xff!", "\"bad\\ufffd!\""));
	CHECK(out_is(util_json_string, "\xc0\xaf", "\"\\ufffd\\ufffd\""));
	CHECK(out_is(util_json_string, "\xed\xa0\x80",
		     "\"\\ufffd\\ufffd\\ufffd\""));
	CHECK(out_is(util_json_string, "\xf0\x9f\x98\x80",
		     "\"\xf0\x9f\x98\x80\""));
	CHECK(out_is(util_print_oneline, "a\nb\tc\x7f", "a\\nb\\tc\\x7f"));
	CHECK(util_has_control("a\nb") && !util_has_control("a b"));
	CHECK(util_parse_u64("0", 10, &v) == 0 && v == 0);
	CHECK(util_parse_u64("18446744073709551615", UINT64_MAX, &v) == 0 &&
	      v == UINT64_MAX);
	CHECK(util_parse_u64("18446744073709551616", UINT64_MAX, &v) < 0);
	CHECK(util_parse_u64("11", 10, &v) < 0);
	CHECK(util_parse_u64("7", 5, &v) < 0);
	CHECK(util_parse_u64("-1", 10, &v) < 0);
	CHECK(util_parse_u64("", 10, &v) < 0);
	CHECK(util_parse_u64(" 1", 10, &v) < 0);
}

int main(void)
{
	check_start("test_raftctl_parse", 0);
	test_addresses();
	test_servers();
	test_config();
	test_hints();
	test_shell_split();
	test_seconds();
	test_tids();
	test_output();
	return check_summary();
}
