/* main.c: raftd's entry point: options, config, daemonizing, signals,
 * and what a service manager is told (notify.h). */
#include <autoconfig.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/client.h>

#include "config.h"
#include "log.h"
#include "node.h"
#include "notify.h"
#include "server.h"
#include "version.h"

/* Read when --config is not given (Makefile.am sets it from the
 * configured sysconfdir). */
#ifndef RAFTD_DEFAULT_CONFIG
#define RAFTD_DEFAULT_CONFIG "/etc/raftd/raftd.conf"
#endif

/* XML-RPC bodies up to 4 MiB in both directions (a 256 KiB value escaped,
 * a 1 MiB batch of entries in base64); xmlrpc-c's default is 512 KiB. */
#define RAFTD_XML_LIMIT (4u * 1024u * 1024u)

struct options {
	const char *config;
	const char *data_dir;
	const char *pidfile;
	const char *log_file;
	const char *join;      /* --join ADDRESS */
	const char *join_peer; /* --join-peer ADDRESS */
	long id;
	bool daemon;
	bool test_config;    /* -t: check the config and exit */
	bool config_default; /* no --config: RAFTD_DEFAULT_CONFIG */
	bool syslog;	     /* --syslog */
	int log_level;
	int log_format;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: raftd [--config FILE] [--id N] [--data-dir DIR] [--join "
	    "ADDRESS]\n"
	    "             [--daemon --pidfile FILE] [--log-file FILE | "
	    "--syslog]\n"
	    "             [--log-level error|warn|info|debug] [--log-format "
	    "text|json]\n"
	    "\n"
	    "Runs one node of a raftd cluster: a replicated log and "
	    "key-value store\nserved over XML-RPC at "
	    "http://ADDRESS/RPC2.\n"
	    "\n"
	    "  -c, --config FILE    cluster configuration (libconfig "
	    "syntax); default:\n"
	    "                       %s\n"
	    "  -i, --id N           this node's id; without it, the node "
	    "whose address\n"
	    "                       matches the file ./address (one IP or "
	    "HOST:PORT)\n"
	    "  -d, --data-dir DIR   where the raftlog lives (default: the "
	    "config's\n"
	    "                       data_dir, %%i = id); created if "
	    "missing\n"
	    "      --join ADDRESS   a new member, not in the config's node "
	    "list, serving\n"
	    "                       HOST:PORT (peers at port + 1000): it "
	    "waits until\n"
	    "                       `raftctl member add N ADDRESS` adds it "
	    "(needs --id)\n"
	    "      --join-peer ADDR its peer listener HOST:PORT, if not "
	    "port + 1000\n"
	    "                       (then: raftctl member add ... --peer "
	    "ADDR)\n"
	    "      --daemon         detach and run in the background\n"
	    "      --pidfile FILE   write the daemon's pid there "
	    "(required with --daemon)\n"
	    "      --log-file FILE  log there instead of stderr (default "
	    "with --daemon:\n"
	    "                       DATA_DIR/raftd.log)\n"
	    "      --syslog         log to syslog (facility daemon, ident "
	    "raftd) instead\n"
	    "                       of stderr\n"
	    "      --log-level L    error, warn, info (default) or debug\n"
	    "      --log-format F   text (default): time node=ID term=T ROLE "
	    "LEVEL: message;\n"
	    "                       json: one object a line with time, "
	    "level, node, term,\n"
	    "                       role, message\n"
	    "  -t, --test-config    check the config (and, with --id or "
	    "./address, that\n"
	    "                       this node is in it) and exit: 0 when "
	    "good, 2 with\n"
	    "                       the message otherwise; touches nothing\n"
	    "  -h, --help           this text\n"
	    "  -V, --version        the version and the git commit it was "
	    "built from\n"
	    "\n"
	    "Under systemd (Type=notify, NOTIFY_SOCKET set), raftd sends "
	    "READY=1 once it\nserves, RELOADING=1 then READY=1 on SIGHUP, "
	    "STOPPING=1 when it stops.\n"
	    "\n"
	    "Signals: SIGTERM or SIGINT: clean shutdown, exit 0 (a leader "
	    "first hands\nleadership to the most up-to-date voter).  SIGHUP: "
	    "reopen the log\nfile (for logrotate; logged).  SIGUSR1, "
	    "SIGUSR2 and the other signals whose\ndefault is to terminate "
	    "(ALRM, VTALRM, PROF, IO, PWR, XCPU, real-time) are\nlogged "
	    "and ignored; only TERM, INT, QUIT and KILL stop raftd\n"
	    "(besides the signals of a crash: SEGV, BUS, FPE, ILL, "
	    "ABRT).\n"
	    "\n"
	    "Exit 2: bad arguments or config; exit 1: could not start "
	    "(data dir, port in\nuse, ...).\n",
	    RAFTD_DEFAULT_CONFIG);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"id", required_argument, NULL, 'i'},
	    {"data-dir", required_argument, NULL, 'd'},
	    {"daemon", no_argument, NULL, 'D'},
	    {"join", required_argument, NULL, 'J'},
	    {"join-peer", required_argument, NULL, 'P'},
	    {"pidfile", required_argument, NULL, 'p'},
	    {"log-file", required_argument, NULL, 'L'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"log-format", required_argument, NULL, 'F'},
	    {"syslog", no_argument, NULL, 'S'},
	    {"test-config", no_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	char *end;

	memset(o, 0, sizeof(*o));
	o->log_level = LOG_INFO;
	while ((c = getopt_long(argc, argv, "c:i:d:thV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'i':
			errno = 0;
			o->id = strtol(optarg, &end, 10);
			if (errno || *end || o->id <= 0 || o->id > INT32_MAX) {
				fprintf(stderr,
					"raftd: --id: not a positive "
					"integer: %s\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
			o->data_dir = optarg;
			break;
		case 'D':
			o->daemon = true;
			break;
		case 'J':
			o->join = optarg;
			break;
		case 'P':
			o->join_peer = optarg;
			break;
		case 'p':
			o->pidfile = optarg;
			break;
		case 'L':
			o->log_file = optarg;
			break;
		case 'l':
			o->log_level = log_level_parse(optarg);
			if (o->log_level < 0) {
				fprintf(stderr,
					"raftd: --log-level: expected error, "
					"warn, info or debug, got %s\n",
					optarg);
				return 2;
			}
			break;
		case 'F':
			o->log_format = log_format_parse(optarg);
			if (o->log_format < 0) {
				fprintf(stderr,
					"raftd: --log-format: expected text "
					"or json, got %s\n",
					optarg);
				return 2;
			}
			break;
		case 'S':
			o->syslog = true;
			break;
		case 't':
			o->test_config = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("raftd %s\n", raftd_version_string());
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "raftd: unexpected argument: %s\n",
			argv[optind]);
		return 2;
	}
	if (o->config == NULL) {
		o->config = RAFTD_DEFAULT_CONFIG;
		o->config_default = true;
	}
	if (o->syslog && o->log_file != NULL) {
		fprintf(stderr, "raftd: --syslog and --log-file: choose one\n");
		return 2;
	}
	if (o->join_peer != NULL && o->join == NULL) {
		fprintf(stderr, "raftd: --join-peer goes with --join\n");
		return 2;
	}
	if (o->join != NULL && o->id == 0) {
		fprintf(stderr, "raftd: --join needs --id N (the new member's "
				"id)\n");
		return 2;
	}
	if (o->daemon && o->pidfile == NULL) {
		fprintf(stderr, "raftd: --daemon needs --pidfile FILE\n");
		return 2;
	}
	return 0;
}

/* A node outside the config's node list: a new member (--join ADDRESS),
 * or one that joined before (its data dir's identity names its
 * address). */
static const struct config_node *joined_self(const struct config *cfg,
					     const struct options *o)
{
	static struct config_node self;
	char dir[PATH_MAX], path[PATH_MAX + 16], line[512], err[512];
	char addr[CONFIG_ADDRESS_MAX] = "", paddr[CONFIG_ADDRESS_MAX] = "";
	FILE *f;

	if (o->join != NULL) {
		snprintf(addr, sizeof(addr), "%s", o->join);
		if (o->join_peer != NULL)
			snprintf(paddr, sizeof(paddr), "%s", o->join_peer);
	} else {
		if (o->data_dir != NULL)
			snprintf(dir, sizeof(dir), "%s", o->data_dir);
		else if (config_data_dir(cfg, (uint32_t)o->id, dir, sizeof(dir),
					 err, sizeof(err)) != 0)
			dir[0] = '\0';
		snprintf(path, sizeof(path), "%s/identity", dir);
		f = dir[0] ? fopen(path, "r") : NULL;
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "address ", 8) == 0 &&
			    strlen(line + 8) < sizeof(addr)) {
				line[strcspn(line, "\n")] = '\0';
				memcpy(addr, line + 8, strlen(line + 8) + 1);
			} else if (strncmp(line, "peer_address ", 13) == 0 &&
				   strlen(line + 13) < sizeof(paddr)) {
				line[strcspn(line, "\n")] = '\0';
				memcpy(paddr, line + 13, strlen(line + 13) + 1);
			}
		if (f != NULL)
			fclose(f);
		if (addr[0] == '\0') {
			fprintf(stderr,
				"raftd: %s: no node with id %ld; to add a new "
				"member, start it with --join HOST:PORT and "
				"run `raftctl member add %ld HOST:PORT`\n",
				cfg->path, o->id, o->id);
			return NULL;
		}
	}
	if (config_node_make((uint32_t)o->id, addr, paddr, &self, err,
			     sizeof(err)) != 0) {
		fprintf(stderr, "raftd: --join: %s\n", err);
		return NULL;
	}
	return &self;
}

static const struct config_node *find_self(const struct config *cfg,
					   const struct options *o)
{
	const struct config_node *self;
	char text[512], err[512];
	size_t n;
	FILE *f;

	if (o->id > 0) {
		self = config_node_by_id(cfg, (uint32_t)o->id);
		if (self != NULL && o->join != NULL) {
			fprintf(stderr,
				"raftd: --join: node %ld is in %s's node list "
				"(the bootstrap configuration); a new member "
				"takes an id that is not\n",
				o->id, cfg->path);
			return NULL;
		}
		if (self == NULL)
			self = joined_self(cfg, o);
		return self;
	}
	f = fopen("address", "r");
	if (f == NULL) {
		fprintf(stderr,
			"raftd: no --id given and cannot read ./address: %s\n",
			strerror(errno));
		return NULL;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	self = config_node_by_address(cfg, text, err, sizeof(err));
	if (self == NULL)
		fprintf(stderr, "raftd: ./address: %s\n", err);
	return self;
}

/* mkdir -p: 0, or -1 with errno. */
static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t i, len = strlen(dir);

	if (len == 0 || len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -1;
		path[i] = dir[i];
	}
	return 0;
}

/* A pidfile naming a live process means another raftd runs here: -1
 * (said on stderr), else 0. */
static int pidfile_check(const char *path)
{
	char buf[32];
	FILE *f;
	long pid;

	f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL) {
			pid = strtol(buf, NULL, 10);
			if (pid > 0 && kill((pid_t)pid, 0) == 0 &&
			    pid != (long)getpid()) {
				fclose(f);
				fprintf(stderr,
					"raftd: %s: already running as pid "
					"%ld\n",
					path, pid);
				return -1;
			}
		}
		fclose(f);
	}
	return 0;
}

static int write_pidfile(const char *path)
{
	FILE *f;

	if (pidfile_check(path) != 0)
		return -1;
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "raftd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0) {
		fprintf(stderr, "raftd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The daemon's end of the pipe its first parent waits on. */
static int ready_fd = -1;

/* What the daemon writes into that pipe: its log is open, so that a
 * failure from now on is explained there; it serves; a SIGTERM or SIGINT
 * came before it served, and it stops without having served. */
#define DAEMON_LOGGING 'L'
#define DAEMON_READY 'R'
#define DAEMON_STOPPED 'S'

/* The daemon's news for the first parent; a no-op in the foreground. */
static void daemon_tell(char what)
{
	if (ready_fd < 0)
		return;
	if (write(ready_fd, &what, 1) != 1)
		log_warn("cannot tell the starting process we are %s",
			 what == DAEMON_READY	  ? "ready"
			 : what == DAEMON_STOPPED ? "stopping"
						  : "logging");
	if (what != DAEMON_LOGGING) {
		close(ready_fd);
		ready_fd = -1;
	}
}

/* Double fork, new session, stdin from /dev/null, stdout/stderr to the
 * log file (log_file; NULL with --syslog: to /dev/null).  The first
 * parent exits 0 only once the daemon reports, with daemon_tell(), that
 * it is serving, and 1 if the daemon dies or is told to stop first (a
 * SIGTERM during start-up: it never served), so a start failure is
 * never silent: a failure before the log is open (the pidfile, the log
 * file itself) was said on stderr, still the terminal; one after it is
 * in the log, which the parent names. */
static int daemonize(const char *pidfile, const char *log_file,
		     const sigset_t *parent_mask)
{
	int pipefd[2], fd;
	pid_t pid;
	char news = 0, c;

	if (pipe(pipefd) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		/* The waiting parent takes Ctrl-C as before. */
		pthread_sigmask(SIG_SETMASK, parent_mask, NULL);
		close(pipefd[1]);
		while (news != DAEMON_READY && news != DAEMON_STOPPED &&
		       read(pipefd[0], &c, 1) == 1)
			news = c;
		if (news == DAEMON_STOPPED)
			fprintf(stderr, "raftd: stopped by a signal before it "
					"served\n");
		else if (news == DAEMON_LOGGING && log_file != NULL)
			fprintf(stderr, "raftd: failed to start; see %s\n",
				log_file);
		else if (news == DAEMON_LOGGING)
			fprintf(stderr, "raftd: failed to start; see the "
					"system log (syslog ident raftd)\n");
		_exit(news == DAEMON_READY ? 0 : 1);
	}
	close(pipefd[0]);
	setsid();
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);
	if (write_pidfile(pidfile) != 0)
		_exit(1);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		if (log_file == NULL) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (fd > 2)
			close(fd);
	}
	if (log_file != NULL && log_open_file(log_file, 1) != 0) {
		fprintf(stderr, "raftd: %s: %s\n", log_file, strerror(errno));
		unlink(pidfile);
		_exit(1);
	}
	ready_fd = pipefd[1];
	daemon_tell(DAEMON_LOGGING);
	return 0;
}

/* Each connection is a descriptor: the soft limit (often 1024) up to the
 * hard one, so that max_connections is not capped by it. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the open-file limit: %s",
				 strerror(errno));
	}
}

struct sigctx {
	sigset_t set;
	struct node *node;
	struct server *server;
	const struct config *cfg;
	const char *ready_status; /* STATUS= with READY=1 */
	/* The service manager hears READY=1 once, before any RELOADING=1,
	 * and nothing of the kind after STOPPING=1: main() and the signal
	 * thread both send, a SIGTERM that came during start-up wakes the
	 * signal thread as soon as it runs.  A leaf lock around each send. */
	pthread_mutex_t notify_lock;
	bool ready;    /* READY=1 sent */
	bool stopping; /* STOPPING=1 sent, or a stop signal pending at start */
};

static void notify_or_warn(int rv, const char *what)
{
	if (rv != 0)
		log_warn("cannot send %s to the service manager: %s", what,
			 strerror(errno));
}

/* The signals the signal thread takes: every one whose default action
 * would end raftd without a word, except QUIT (a deliberate core dump) and
 * the ones a fault raises (SEGV, BUS, FPE, ILL, ABRT, TRAP, SYS).  A
 * stray `kill -USR1` or logrotate's `kill -HUP` must not take a node
 * down with a stale pidfile.  Blocked in every thread (set before any
 * exists; threads inherit the mask) and taken by sigwait() alone. */
static void signals_init(sigset_t *set)
{
	static const int sigs[] = {
	    SIGTERM,   SIGINT,	  SIGHUP,  SIGUSR1, SIGUSR2,
	    SIGALRM,   SIGVTALRM, SIGPROF, SIGPOLL, SIGXCPU,
#ifdef SIGPWR
	    SIGPWR,
#endif
#ifdef SIGSTKFLT
	    SIGSTKFLT,
#endif
	};
	size_t i;
	int sig;

	sigemptyset(set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(set, sigs[i]);
	/* SIGRTMIN is past the real-time signals the C library keeps for
	 * itself. */
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaddset(set, sig);
}

/* The signal thread: TERM and INT stop the node; HUP reopens the log
 * file (RELOADING=1, then READY=1 for the service manager); the rest are
 * logged and ignored. */
static void *signal_main(void *arg)
{
	struct sigctx *sc = arg;
	const char *path;
	bool reload;
	int sig = 0;

	for (;;) {
		if (sigwait(&sc->set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig != SIGHUP) {
			log_info("received %s (signal %d): ignored",
				 strsignal(sig), sig);
			continue;
		}
		pthread_mutex_lock(&sc->notify_lock);
		reload = sc->ready;
		if (reload)
			notify_or_warn(notify_reloading("reloading: reopening "
							"the log file"),
				       "RELOADING=1");
		pthread_mutex_unlock(&sc->notify_lock);
		path = log_file_path();
		if (path == NULL) {
			log_info("received SIGHUP: logging to %s, no log file "
				 "to reopen",
				 log_to_syslog() ? "syslog" : "stderr");
			if (reload)
				notify_or_warn(notify_ready(sc->ready_status),
					       "READY=1");
			continue;
		}
		/* This line ends the old file (renamed by logrotate); the
		 * next one starts the new file. */
		log_info("received SIGHUP: reopening the log file %s", path);
		if (log_reopen() == 0)
			log_info("reopened the log file %s on SIGHUP", path);
		else
			log_warn("cannot reopen the log file %s: %s; still "
				 "logging to the old one",
				 path, strerror(errno));
		if (reload)
			notify_or_warn(notify_ready(sc->ready_status),
				       "READY=1");
	}
	pthread_mutex_lock(&sc->notify_lock);
	sc->stopping = true;
	notify_or_warn(notify_stopping("stopping"), "STOPPING=1");
	pthread_mutex_unlock(&sc->notify_lock);
	log_info("received %s, shutting down", strsignal(sig));
	/* A planned stop of the leader: hand over first (thesis §3.10), so
	 * the cluster has a leader again in a round trip or two instead of
	 * an election timeout. */
	if (node_is_leader(sc->node)) {
		uint32_t leader = 0;
		uint64_t us = 0;
		char why[256];
		if (node_transfer(sc->node, 0,
				  2 * (uint64_t)sc->cfg->election_max_ms,
				  &leader, &us, why, sizeof(why)) == NODE_OK)
			log_info("leadership handed to node %u in %.1f ms",
				 leader, (double)us / 1000.0);
		else if (why[0] != '\0')
			log_info("no leadership transfer before stopping: %s",
				 why);
	}
	node_begin_stop(sc->node);
	server_terminate(sc->server);
	return NULL;
}

/* A start that failed: the reason for the log, and for the service
 * manager's status line. */
static void start_failed(const char *why)
{
	char status[600];

	log_error("%s", why);
	snprintf(status, sizeof(status), "failed to start: %s", why);
	notify_status(status);
}

int main(int argc, char **argv)
{
	static struct config cfg; /* large: keep it off the stack */
	static char ready_status[2 * CONFIG_ADDRESS_MAX + 64];
	struct options o;
	const struct config_node *self;
	char data_dir[PATH_MAX], log_file[PATH_MAX + 16], err[1024];
	struct node *node = NULL;
	struct server *server = NULL;
	struct sigctx sc;
	sigset_t oldmask, pending;
	pthread_t sigthread;
	xmlrpc_env env;
	bool pidfile_ours = false, served;
	int rv;

	rv = parse_options(argc, argv, &o);
	if (rv != 0)
		return rv;
	xmlrpc_env_init(&env);
	/* The signals are blocked from the start, so that no HUP or USR1
	 * can kill raftd before the signal thread runs: one that comes
	 * early waits for it. */
	signals_init(&sc.set);
	pthread_sigmask(SIG_BLOCK, &sc.set, &oldmask);
	pthread_mutex_init(&sc.notify_lock, NULL);
	sc.ready = false;
	sc.stopping = false;
	if (o.config_default && access(o.config, F_OK) != 0) {
		fprintf(stderr,
			"raftd: %s: %s (the default config; name one with "
			"--config FILE)\n",
			o.config, strerror(errno));
		return 2;
	}
	if (config_load(o.config, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "raftd: %s\n", err);
		return 2;
	}
	/* -t without a way to name this node checks the file alone (as
	 * sshd -t does); with --id or ./address, the node too. */
	if (o.test_config && o.id == 0 && access("address", R_OK) != 0) {
		printf("raftd: %s: ok (%zu node%s%s)\n", cfg.path, cfg.n_nodes,
		       cfg.n_nodes == 1 ? "" : "s",
		       cfg.has_secret ? ", peers authenticated"
		       : cfg.insecure ? ", insecure"
				      : "");
		return 0;
	}
	self = find_self(&cfg, &o);
	if (self == NULL)
		return 2;
	if (o.data_dir != NULL) {
		snprintf(data_dir, sizeof(data_dir), "%s", o.data_dir);
	} else if (config_data_dir(&cfg, self->id, data_dir, sizeof(data_dir),
				   err, sizeof(err)) != 0) {
		fprintf(stderr, "raftd: %s\n", err);
		return 2;
	}
	if (o.test_config) {
		printf("raftd: %s: ok (%zu node%s%s); node %u at %s, data dir "
		       "%s\n",
		       cfg.path, cfg.n_nodes, cfg.n_nodes == 1 ? "" : "s",
		       cfg.has_secret ? ", peers authenticated"
		       : cfg.insecure ? ", insecure"
				      : "",
		       self->id, self->address, data_dir);
		return 0;
	}
	log_init(self->id, (enum log_level)o.log_level);
	log_set_format((enum log_format)o.log_format);
	if (o.syslog)
		log_use_syslog();

	/* docs/XMLRPC-C.md §2, §7: SIGPIPE would kill us when a client resets
	 * mid-response, or when a --daemon writes its news to a starting
	 * process that is gone (the other signals were blocked above, for
	 * the signal thread).  SIGXFSZ is raised in the thread that wrote
	 * past the file size limit: ignored, the write fails with EFBIG and
	 * the storage reports it. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	/* In the foreground the log file (or pidfile) first, so that a
	 * failure below is in it. */
	if (!o.daemon && o.log_file != NULL &&
	    log_open_file(o.log_file, 0) != 0) {
		fprintf(stderr, "raftd: %s: %s\n", o.log_file, strerror(errno));
		return 1;
	}
	if (!o.daemon && o.pidfile != NULL) {
		if (write_pidfile(o.pidfile) != 0)
			return 1;
		pidfile_ours = true;
	}
	/* Before the ports, the more telling error: a second --daemon with
	 * the same pidfile (its port is taken too). */
	if (o.daemon && pidfile_check(o.pidfile) != 0) {
		rv = 1;
		goto out;
	}
	/* The ports first: a node whose port is taken fails before it
	 * creates or touches anything in its data dir, and a --daemon says
	 * so on the terminal before it detaches (the listening sockets
	 * survive the forks; no thread runs yet). */
	if (server_create(&cfg, self, &server, err, sizeof(err)) != 0) {
		start_failed(err);
		rv = 1;
		goto out;
	}
	if (o.daemon) {
		if (o.syslog) {
			log_file[0] = '\0';
		} else if (o.log_file == NULL) {
			/* The whole path, as the storage would create it
			 * (a relative data_dir like "data/node-1"). */
			if (mkdir_p(data_dir) != 0) {
				fprintf(stderr, "raftd: %s: %s\n", data_dir,
					strerror(errno));
				rv = 1;
				goto out;
			}
			snprintf(log_file, sizeof(log_file), "%s/raftd.log",
				 data_dir);
		} else {
			snprintf(log_file, sizeof(log_file), "%s", o.log_file);
		}
		if (daemonize(o.pidfile, log_file[0] ? log_file : NULL,
			      &oldmask) != 0) {
			fprintf(stderr, "raftd: cannot daemonize: %s\n",
				strerror(errno));
			rv = 1;
			goto out;
		}
		pidfile_ours = true;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);

	/* The C library's time zone code, initialised before any thread
	 * so that its first use is not a race (seen by ThreadSanitizer). */
	tzset();
	raise_fd_limit();

	/* Process-wide, not thread-safe: once, before any thread. */
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, RAFTD_XML_LIMIT);
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		xmlrpc_env_set_fault(&env, 1, "curl_global_init failed");
	if (env.fault_occurred) {
		snprintf(err, sizeof(err), "xmlrpc-c init: %s",
			 env.fault_string);
		start_failed(err);
		rv = 1;
		goto out;
	}

	log_info("raftd %s starting: node %u at %s, data dir %s",
		 raftd_version_string(), self->id, self->address, data_dir);
	if (cfg.has_secret && strlen(cfg.secret) < 16)
		log_warn("cluster.secret is %zu characters: use at least 16 "
			 "random ones (a short secret can be guessed offline "
			 "from one captured peer message)",
			 strlen(cfg.secret));
	else if (cfg.insecure && cfg.n_nodes > 1)
		log_warn("insecure = true: peer messages are not "
			 "authenticated; anyone who can reach a node's port "
			 "can act as a member");
	if (node_start(&cfg, self->id, data_dir,
		       config_node_by_id(&cfg, self->id) ? NULL : self, &node,
		       err, sizeof(err)) != 0) {
		start_failed(err);
		rv = 1;
		goto out;
	}
	if (server_start(server, node, err, sizeof(err)) != 0) {
		start_failed(err);
		rv = 1;
		goto out;
	}
	snprintf(ready_status, sizeof(ready_status),
		 "node %u serving on %s (peers on %s)", self->id, self->address,
		 self->peer_address);
	sc.node = node;
	sc.server = server;
	sc.cfg = &cfg;
	sc.ready_status = ready_status;
	/* A SIGTERM or SIGINT that came during start-up is still pending
	 * (blocked until the signal thread waits for it): the node never
	 * serves, whichever thread would take the notify lock first. */
	if (sigpending(&pending) == 0 && (sigismember(&pending, SIGTERM) == 1 ||
					  sigismember(&pending, SIGINT) == 1))
		sc.stopping = true;
	if (pthread_create(&sigthread, NULL, signal_main, &sc) != 0) {
		start_failed("cannot start the signal thread");
		rv = 1;
		goto out;
	}
	log_info("serving XML-RPC on http://%s/RPC2 (peers on %s)",
		 self->address, self->peer_address);
	/* The listeners are bound, the node runs and the servers answer:
	 * the service manager may start what depends on raftd (unless a
	 * SIGTERM that came during start-up already said STOPPING=1; then
	 * the parent of --daemon hears that it stopped, not that it serves). */
	pthread_mutex_lock(&sc.notify_lock);
	if (!sc.stopping) {
		notify_or_warn(notify_ready(ready_status), "READY=1");
		sc.ready = true;
	}
	served = sc.ready;
	pthread_mutex_unlock(&sc.notify_lock);
	daemon_tell(served ? DAEMON_READY : DAEMON_STOPPED);
	server_run(server);
	pthread_join(sigthread, NULL);
	rv = 0;
out:
	/* The servers stop first (their threads call into the node), once
	 * the node has answered every parked call (node_begin_stop). */
	if (node != NULL)
		node_begin_stop(node);
	server_free(server);
	node_stop(node);
	curl_global_cleanup();
	xmlrpc_env_clean(&env);
	if (pidfile_ours)
		unlink(o.pidfile);
	if (rv == 0)
		log_info("stopped");
	return rv;
}
