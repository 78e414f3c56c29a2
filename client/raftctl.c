/* raftctl.c: the command-line client of a raftd cluster (docs/RAFTCTL.md):
 * global options, then one command or the interactive shell. */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/client.h>

#include "autoconfig.h" /* PACKAGE_NAME */
#include "version.h"

#include "cmd.h"
#include "help.h"
#include "shell.h"

/* Answers (showLog pages, list of a big prefix) may exceed xmlrpc-c's
 * default 512 KiB; values alone may be 256 KiB. */
#define RAFTCTL_XML_LIMIT (64u * 1024u * 1024u)

/* getopt's complaint as one line of our own (docs/RAFTCTL.md): `arg` is
 * the word getopt stopped at, `missing` whether it lacks its value,
 * `opt` the short option (0 for a long one). */
static void bad_option(const struct option *longopts, const char *arg,
		       bool missing, int opt)
{
	const char *what = "unknown option";
	int len;

	if (arg == NULL || strncmp(arg, "--", 2) != 0) {
		fprintf(stderr, "raftctl: %s -%c (see raftctl --help)\n",
			missing ? "a value is missing after option"
				: "unknown option",
			opt ? opt : '?');
		return;
	}
	len = (int)strcspn(arg, "=");
	if (missing) {
		what = "a value is missing after option";
	} else {
		for (const struct option *o = longopts; o->name; o++)
			if ((int)strlen(o->name) == len - 2 &&
			    strncmp(o->name, arg + 2, (size_t)len - 2) == 0 &&
			    arg[len] == '=')
				what = "no value is allowed after option";
	}
	fprintf(stderr, "raftctl: %s %.*s (see raftctl --help)\n", what, len,
		arg);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"servers", required_argument, NULL, 's'},
	    {"timeout", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct cmd_ctx ctx;
	xmlrpc_env env;
	int c, rv = CMD_EXIT_USAGE;

	cmd_ctx_init(&ctx);
	xmlrpc_env_init(&env);
	/* "+": options stop at the command, whose own options follow it.
	 * ":" and opterr = 0: the messages are ours, one line each
	 * (docs/RAFTCTL.md), without the program's path. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:s:t:vhV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			ctx.config_path = optarg;
			break;
		case 's':
			ctx.servers = optarg;
			break;
		case 't':
			if (cmd_parse_seconds(optarg, &ctx.timeout_ms) < 0) {
				fprintf(stderr,
					"raftctl: -t %s: want seconds > 0 "
					"(e.g. 10 or 0.5)\n",
					optarg);
				goto out;
			}
			ctx.timeout_set = true;
			break;
		case 'j':
			ctx.json = true;
			break;
		case 'v':
			ctx.verbose = true;
			break;
		case 'h':
			cmd_usage(stdout);
			rv = CMD_EXIT_OK;
			goto out;
		case 'V':
			printf("raftctl (%s) %s\n", PACKAGE_NAME,
			       raftd_version_string());
			rv = CMD_EXIT_OK;
			goto out;
		case ':':
		default:
			bad_option(longopts, argv[optind - 1], c == ':',
				   optopt);
			goto out;
		}
	}
	if (ctx.config_path && ctx.servers) {
		fputs("raftctl: -c and -s exclude each other\n", stderr);
		goto out;
	}
	/* A node closing the connection mid-answer must be an error
	 * message, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, RAFTCTL_XML_LIMIT);
	xmlrpc_client_setup_global_const(&env);
	if (env.fault_occurred) {
		fprintf(stderr, "raftctl: cannot set up XML-RPC: %s\n",
			env.fault_string);
		rv = CMD_EXIT_FAIL;
		goto out;
	}
	if (optind == argc || strcmp(argv[optind], "shell") == 0) {
		if (optind + 2 == argc &&
		    strcmp(argv[optind + 1], "--help") == 0) {
			help_print(stdout, "shell");
			rv = CMD_EXIT_OK;
		} else if (optind + 1 < argc) {
			fputs("raftctl: shell takes no arguments\n", stderr);
			rv = CMD_EXIT_USAGE;
		} else {
			rv = shell_run(&ctx, stdin);
		}
	} else {
		rv = cmd_run(&ctx, argc - optind, argv + optind);
	}
	cmd_ctx_release(&ctx);
	xmlrpc_client_teardown_global_const();
out:
	xmlrpc_env_clean(&env);
	/* Output that could not be written (a full disk, a closed pipe) is
	 * a failure, not a silent success. */
	if (fflush(stdout) != 0 && rv == CMD_EXIT_OK) {
		perror("raftctl: stdout");
		rv = CMD_EXIT_FAIL;
	}
	return rv;
}
