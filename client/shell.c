/* shell.c: `raftctl shell`: commands read line by line from a stream, in
 * one context that keeps the leader between them. */
#include "shell.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "util.h"

static void push_word(char ***v, int *n, size_t *cap, char *w)
{
	if ((size_t)*n + 2 > *cap) {
		*cap = *cap ? 2 * *cap : 8;
		*v = util_xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[(*n)++] = w;
	(*v)[*n] = NULL;
}

int shell_split(const char *line, char ***argv, int *argc)
{
	size_t len = strlen(line), cap = 0, wl = 0;
	char **v = NULL;
	char *word = xmalloc(len + 1);
	const char *p = line;
	bool in_word = false;
	int n = 0, rv = SHELL_EQUOTE;

	for (;;) {
		char c = *p;

		if (c == '\0' || c == ' ' || c == '\t' || c == '\n' ||
		    c == '\r') {
			if (in_word) {
				word[wl] = '\0';
				push_word(&v, &n, &cap, xstrdup(word));
				wl = 0;
				in_word = false;
			}
			if (c == '\0')
				break;
			p++;
			continue;
		}
		if (c == '#' && !in_word)
			break;
		in_word = true;
		if (c == '\'') {
			const char *end = strchr(p + 1, '\'');
			if (end == NULL)
				goto out;
			memcpy(word + wl, p + 1, (size_t)(end - p - 1));
			wl += (size_t)(end - p - 1);
			p = end + 1;
		} else if (c == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				word[wl++] = *p++;
			}
			if (*p != '"')
				goto out;
			p++;
		} else if (c == '\\') {
			if (p[1] == '\0')
				goto out;
			word[wl++] = p[1];
			p += 2;
		} else {
			word[wl++] = c;
			p++;
		}
	}
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	*argv = v;
	*argc = n;
	v = NULL;
	rv = SHELL_OK;
out:
	shell_free_words(v);
	free(word);
	return rv;
}

void shell_free_words(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

int shell_run(struct cmd_ctx *ctx, FILE *in)
{
	bool tty = isatty(fileno(in)) && isatty(STDOUT_FILENO);
	char *line = NULL;
	size_t cap = 0;
	int last = CMD_EXIT_OK;

	ctx->in_shell = true;
	if (tty)
		puts("raftctl shell: commands as on the command line "
		     "(get k, put k v, status, backup FILE, ...); help; exit");
	for (;;) {
		char **argv = NULL;
		int argc = 0;
		uint64_t code;

		if (tty) {
			fputs("raftctl> ", stdout);
			fflush(stdout);
		}
		if (getline(&line, &cap, in) < 0)
			break;
		if (shell_split(line, &argv, &argc) < 0) {
			fputs("raftctl: unterminated quote\n", stderr);
			last = CMD_EXIT_USAGE;
			continue;
		}
		if (argc == 0) {
			shell_free_words(argv);
			continue;
		}
		if (strcmp(argv[0], "exit") == 0 ||
		    strcmp(argv[0], "quit") == 0) {
			if (argc > 1) {
				if (util_parse_u64(argv[1], 255, &code) < 0)
					fputs("raftctl: exit: want a status "
					      "0..255\n",
					      stderr);
				else
					last = (int)code;
			}
			shell_free_words(argv);
			break;
		}
		if (strcmp(argv[0], "shell") == 0) {
			fputs("raftctl: shell: already in the shell\n", stderr);
			last = CMD_EXIT_USAGE;
		} else {
			last = cmd_run(ctx, argc, argv);
		}
		shell_free_words(argv);
	}
	if (tty)
		fputc('\n', stdout);
	free(line);
	return last;
}
