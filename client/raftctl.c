/* raftctl.c: the command-line client of a raftd cluster (docs/RAFTCTL.md):
 * global options, then one command or the interactive shell. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xmlrpc-c/base.h>
#include <xmlrpc-c/client.h>

#include "autoconfig.h" /* PACKAGE_VERSION */

#include "cmd.h"
#include "shell.h"

/* Answers (showLog pages, list of a big prefix) may exceed xmlrpc-c's
 * default 512 KiB; values alone may be 256 KiB. */
#define RAFTCTL_XML_LIMIT (64u * 1024u * 1024u)

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
	/* "+": options stop at the command, whose own options follow it. */
	while ((c = getopt_long(argc, argv, "+c:s:t:vhV", longopts, NULL)) !=
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
			       PACKAGE_VERSION);
			rv = CMD_EXIT_OK;
			goto out;
		default:
			fputs("raftctl: see raftctl --help\n", stderr);
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
		if (optind + 1 < argc) {
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
