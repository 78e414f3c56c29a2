/* help.c: per-command help, command names and typo suggestions (help.h). */
#include "help.h"

#include <string.h>

static const struct help_cmd cmds[] = {
    {"leader", "leader",
     "Prints the leader's ID HOST:PORT (--json: {id, address, term}).\n"
     "Exit 3 when no leader is found before the deadline (-t).\n"
     "  raftctl -c etc/local-3.conf leader\n",
     "--json --help"},
    {"status", "status [--json]",
     "One row per node: ID ADDRESS STATE TERM LEADER COMMIT LAST SNAP LOG\n"
     "LAG (LAG: entries the node is behind the leader's log, from the\n"
     "leader's status().peers).  --json: every field each node answered,\n"
     "the leader's peers array included; a node that is down has\n"
     "\"state\": \"down\" and \"error\".\n"
     "Exit 0 when a node is leader and a majority of the configuration's\n"
     "voters (the leader's members(); else the nodes shown) answered; 1\n"
     "with no leader or no quorum answering; 3 when no node answered.\n"
     "  raftctl -s 127.0.0.1:8001,127.0.0.1:8002 status\n",
     "--json --help"},
    {"health", "health [--quorum] [--json]",
     "GET /health on every node: 'ADDRESS is healthy: took 1.2ms' or\n"
     "'ADDRESS is unhealthy: took 0.4ms: REASON'.  A node is healthy when\n"
     "it knows a leader and has applied close to its commit index.\n"
     "Exit 0 when every member is healthy (with --quorum: when a\n"
     "majority of the voters is), else 1; a listed node that is not a\n"
     "member is marked '(not a member)' and not counted.\n"
     "  raftctl -c etc/local-3.conf health\n",
     "--quorum --json --help"},
    {"get", "get KEY",
     "Prints KEY's value (exit 1 'not found' when absent).\n"
     "  raftctl get user:1\n",
     "--json --help"},
    {"put", "put [--tid TID] KEY VALUE",
     "Sets KEY to VALUE.  A retry reuses the tid: the write applies at\n"
     "most once.\n"
     "  raftctl put user:1 alice\n",
     "--tid --help"},
    {"del", "del [--tid TID] KEY",
     "Deletes KEY (exit 1 'not found' when it was absent).  Alias:\n"
     "delete.\n"
     "  raftctl del user:1\n",
     "--tid --help"},
    {"cas", "cas [--tid TID] KEY OLD NEW",
     "Sets KEY to NEW if its value is OLD (\"\" = absent); exit 1 when it\n"
     "differs.\n"
     "  raftctl cas counter 41 42\n",
     "--tid --help"},
    {"list", "list [PREFIX]",
     "KEY<TAB>VALUE lines, sorted by key, control characters escaped.\n"
     "  raftctl list user:\n",
     "--json --help"},
    {"add", "add TID DATA",
     "Appends DATA to the replicated log (addEntry) with the tid TID.\n"
     "  raftctl add job-42 \"hello world\"\n",
     "--help"},
    {"entries", "entries [FROM [COUNT]]",
     "The committed add records: INDEX TERM TID DATA.\n"
     "  raftctl entries 1 100\n",
     "--json --help"},
    {"log", "log [--node ID] [FROM [COUNT]]",
     "One node's log (default the leader's): INDEX TERM C|U TID DATA,\n"
     "U = not committed yet.\n"
     "  raftctl log --node 2 1 20\n",
     "--node --json --help"},
    {"cal",
     "cal add YYYY-MM-DD HH:MM TITLE... | cal list [YYYY-MM | YYYY-MM-DD]"
     " | cal del EVENT-ID",
     "The calendar: add an event (prints its id), list a month's grid and\n"
     "events or one day's events (default this month), delete an event.\n"
     "  raftctl cal add 2026-02-03 09:30 Team meeting\n"
     "  raftctl cal list 2026-02\n",
     "add list del --json --help"},
    {"snapshot", "snapshot [--node ID]",
     "Takes a snapshot now on the leader (or node ID) and waits for it.\n"
     "  raftctl snapshot --node 2\n",
     "--node --json --help"},
    {"backup", "backup [--node ID] FILE",
     "Saves a consistent snapshot of the leader's (or node ID's) state\n"
     "into FILE, checked.\n"
     "  raftctl backup kv-2026-02-03.snap\n",
     "--node --json --help"},
    {"restore", "restore FILE DIR [DIR...]",
     "Puts a backup into new nodes' data dirs (offline; no nodes needed).\n"
     "  raftctl restore kv.snap data/n1 data/n2\n",
     "--help"},
    {"member",
     "member list | member add ID HOST:PORT [--voter-now] [--peer "
     "HOST:PORT] | member remove ID",
     "The configuration: list it (ID ADDRESS voter|learner [leader]); add a\n"
     "node started with raftd --join (a learner until caught up, then a\n"
     "voter; --voter-now: a voter at once); remove a node.\n"
     "  raftctl member add 4 10.0.0.4:8004\n",
     "list add remove --voter-now --peer --json --help"},
    {"transfer", "transfer [ID]",
     "Hands leadership to voter ID (or the most up-to-date voter); prints\n"
     "the new leader and the time it took.\n"
     "  raftctl transfer 2\n",
     "--json --help"},
    {"check", "check DIR | check FILE...",
     "Checks raftlogs and snapshots copied from nodes (DIR/*/raftlog,\n"
     "DIR/*/snapshot); exit 1 on violations (no nodes needed).\n"
     "  raftctl check raftlogs\n",
     "--json --help"},
    {"timeline", "timeline DIR [-o FILE] [--title TEXT]",
     "Draws a run as an SVG from the raftlogs and node logs that testbed\n"
     "get_raftlog downloads (DIR/*/raftlog, DIR/*/raftd.log): one lane per\n"
     "node over time (terms, leaders, down and partitioned spans) and one\n"
     "row per node by log index (no nodes needed).  -o: the output file\n"
     "(default: standard output).\n"
     "  raftctl timeline raftlogs -o run.svg\n",
     "-o --output --title --help"},
    {"shell", "shell",
     "An interactive prompt (also with no command): the commands above,\n"
     "exit [STATUS], quit.  On a terminal: line editing, history in\n"
     "$RAFTCTL_HISTORY or ~/.raftctl_history, Tab completes commands and\n"
     "keys.  Reads plain lines when stdin is not a terminal.\n"
     "  echo 'get k' | raftctl -c etc/local-3.conf shell\n",
     "--help"},
    {"help", "help [COMMAND]",
     "The usage text, or COMMAND's (as raftctl COMMAND --help).\n"
     "  raftctl help put\n",
     "--help"},
};

static const struct {
	const char *alias, *name;
} aliases[] = {{"delete", "del"}};

const struct help_cmd *help_commands(size_t *n)
{
	*n = sizeof(cmds) / sizeof(cmds[0]);
	return cmds;
}

const struct help_cmd *help_find(const char *name)
{
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(name, aliases[i].alias) == 0)
			name = aliases[i].name;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(name, cmds[i].name) == 0)
			return &cmds[i];
	return NULL;
}

int help_print(FILE *out, const char *name)
{
	const struct help_cmd *c = help_find(name);

	if (c == NULL)
		return -1;
	fprintf(out, "Usage: raftctl [GLOBAL OPTIONS] %s\n\n%s", c->synopsis,
		c->text);
	fputs("\nGlobal options and exit statuses: raftctl --help.\n", out);
	return 0;
}

/* Longer words are not commands; bounded so the table stays small. */
#define HELP_WORD_MAX 32

size_t help_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[HELP_WORD_MAX + 1][HELP_WORD_MAX + 1];

	if (la > HELP_WORD_MAX || lb > HELP_WORD_MAX)
		return (size_t)-1;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

const char *help_suggest(const char *word)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, len = strlen(word);
	const char *names[sizeof(cmds) / sizeof(cmds[0]) + 1];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		names[n++] = cmds[i].name;
	names[n++] = aliases[0].alias;
	for (size_t i = 0; i < n; i++) {
		size_t d = help_distance(word, names[i]);

		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	if (best == NULL || best_d > 2 || best_d >= len)
		return NULL;
	return best;
}
