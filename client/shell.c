/* shell.c: `raftctl shell`: commands read line by line from a stream, in
 * one context that keeps the leader between them.  On a terminal, with
 * libedit: line editing, a history file, and Tab completion of commands
 * and keys. */
#include "shell.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autoconfig.h" /* HAVE_LIBEDIT */

#ifdef HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include "cmd.h"
#include "help.h"
#include "util.h"

/* Lines the history file keeps. */
#define SHELL_HISTORY_MAX 1000

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

#ifdef HAVE_LIBEDIT
/* Completion runs inside readline(), which has no argument for it: the
 * shell's context, set while the (single-threaded) shell runs. */
static struct cmd_ctx *complete_ctx;

/* The words offered for the word being completed, made when its first
 * match is asked for (state 0) and handed out one by one. */
static char **cands;
static size_t n_cands, next_cand;

static void cands_clear(void)
{
	for (size_t i = next_cand; i < n_cands; i++)
		free(cands[i]);
	free(cands);
	cands = NULL;
	n_cands = next_cand = 0;
}

static char *cand_next(const char *text, int state)
{
	(void)text;
	(void)state;
	if (next_cand >= n_cands) {
		cands_clear();
		return NULL;
	}
	return cands[next_cand++]; /* readline frees it */
}

static void cand_add(const char *w, const char *text)
{
	if (strncmp(w, text, strlen(text)) != 0)
		return;
	cands = util_xreallocarray(cands, n_cands + 1, sizeof(*cands));
	cands[n_cands++] = xstrdup(w);
}

/* Tab: the command at the start of the line, a key as the first
 * argument of get, put, del, cas and list (at most CMD_COMPLETE_MAX, from
 * the leader), or a command after help. */
static char **complete(const char *text, int start, int end)
{
	char first[32] = "";
	int words = 0;
	const char *p = rl_line_buffer;

	(void)end;
	rl_attempted_completion_over = 1; /* never file names */
	cands_clear();
	/* Which word is being completed, and the first one. */
	while (p < rl_line_buffer + start) {
		const char *w;

		while (p < rl_line_buffer + start && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= rl_line_buffer + start)
			break;
		w = p;
		while (p < rl_line_buffer + start && *p != ' ' && *p != '\t')
			p++;
		if (words == 0)
			snprintf(first, sizeof(first), "%.*s", (int)(p - w), w);
		words++;
	}
	if (words == 0 || (words == 1 && strcmp(first, "help") == 0)) {
		size_t n;
		const struct help_cmd *c = help_commands(&n);

		for (size_t i = 0; i < n; i++)
			cand_add(c[i].name, text);
		if (words == 0) {
			cand_add("exit", text);
			cand_add("quit", text);
		}
	} else if (words == 1 && text[0] != '-' &&
		   (strcmp(first, "get") == 0 || strcmp(first, "put") == 0 ||
		    strcmp(first, "del") == 0 || strcmp(first, "delete") == 0 ||
		    strcmp(first, "cas") == 0 || strcmp(first, "list") == 0)) {
		char **keys = NULL;
		size_t n = 0;

		if (cmd_complete_keys(complete_ctx, text, CMD_COMPLETE_MAX,
				      &keys, &n) == 0) {
			for (size_t i = 0; i < n; i++) {
				cand_add(keys[i], text);
				free(keys[i]);
			}
			free(keys);
		}
	} else if (text[0] == '-') {
		const struct help_cmd *c = help_find(first);
		const char *o = c ? c->options : "";

		while (*o) {
			char opt[32];
			size_t l = strcspn(o, " ");

			snprintf(opt, sizeof(opt), "%.*s", (int)l, o);
			if (opt[0] == '-')
				cand_add(opt, text);
			o += l;
			o += strspn(o, " ");
		}
	}
	if (n_cands == 0)
		return NULL;
	return rl_completion_matches(text, cand_next);
}

/* The history file: $RAFTCTL_HISTORY, else ~/.raftctl_history; NULL
 * (no history kept) without either. */
static char *history_path(void)
{
	const char *e = getenv("RAFTCTL_HISTORY");

	if (e && *e)
		return xstrdup(e);
	e = getenv("HOME");
	if (e && *e)
		return util_xasprintf("%s/.raftctl_history", e);
	return NULL;
}

/* One line from the terminal with editing; NULL at end of input.  The
 * caller frees the line. */
static char *edit_line(void) { return readline("raftctl> "); }

static void edit_start(struct cmd_ctx *ctx, const char *hist)
{
	complete_ctx = ctx;
	rl_readline_name = "raftctl";
	rl_basic_word_break_characters = " \t\n\"'";
	rl_attempted_completion_function = complete;
	stifle_history(SHELL_HISTORY_MAX);
	if (hist)
		read_history(hist); /* none yet is fine */
}

static void edit_end(const char *hist)
{
	if (hist && write_history(hist) != 0)
		fprintf(stderr, "raftctl: cannot write the history to %s\n",
			hist);
	cands_clear();
	complete_ctx = NULL;
}
#endif /* HAVE_LIBEDIT */

int shell_run(struct cmd_ctx *ctx, FILE *in)
{
	bool tty = isatty(fileno(in)) && isatty(STDOUT_FILENO);
	bool edit = false;
	char *line = NULL, *hist = NULL;
	size_t cap = 0;
	int last = CMD_EXIT_OK;

	ctx->in_shell = true;
	if (tty)
		puts("raftctl shell: commands as on the command line "
		     "(get k, put k v, status, backup FILE, ...); help; exit");
#ifdef HAVE_LIBEDIT
	/* Line editing on a terminal only: scripts pipe commands in. */
	if (tty && in == stdin) {
		edit = true;
		hist = history_path();
		edit_start(ctx, hist);
	}
#endif
	for (;;) {
		char **argv = NULL;
		int argc = 0;
		uint64_t code;

#ifdef HAVE_LIBEDIT
		if (edit) {
			free(line);
			line = edit_line();
			if (line == NULL)
				break;
			if (line[strspn(line, " \t")] != '\0')
				add_history(line);
		} else
#endif
		{
			if (tty) {
				fputs("raftctl> ", stdout);
				fflush(stdout);
			}
			if (getline(&line, &cap, in) < 0)
				break;
		}
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
#ifdef HAVE_LIBEDIT
	if (edit)
		edit_end(hist);
#endif
	(void)edit;
	if (tty)
		fputc('\n', stdout);
	free(line);
	free(hist);
	return last;
}
