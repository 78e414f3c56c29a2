/* log.c: raftd's log lines on stderr: time, node id, term, role, message;
 * stderr may be a file that SIGHUP reopens. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint32_t log_node;
static int log_max = LOG_INFO;
static _Atomic uint64_t log_term;
static _Atomic(const char *) log_role = "follower";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* The log file, set once before any thread; log_reopen_lock keeps two
 * reopens from interleaving. */
static char log_path[PATH_MAX];
static int log_also_stdout;
static pthread_mutex_t log_reopen_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(uint32_t node_id, enum log_level level)
{
	log_node = node_id;
	log_max = level;
}

int log_level_parse(const char *s)
{
	int i;

	for (i = 0; i <= LOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void log_set_state(uint64_t term, const char *role)
{
	atomic_store(&log_term, term);
	atomic_store(&log_role, role);
}

int log_enabled(enum log_level level) { return (int)level <= log_max; }

void log_write(enum log_level level, const char *file, int line,
	       const char *fmt, ...)
{
	char msg[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf per line: stdio locks the stream, so lines from
	 * different threads never interleave. */
	if (log_max >= LOG_DEBUG)
		fprintf(stderr,
			"%s.%03ldZ node=%u term=%llu %s %s: %s (%s:%d)\n",
			stamp, ts.tv_nsec / 1000000, log_node,
			(unsigned long long)atomic_load(&log_term),
			atomic_load(&log_role), level_names[level], msg, file,
			line);
	else
		fprintf(stderr, "%s.%03ldZ node=%u term=%llu %s %s: %s\n",
			stamp, ts.tv_nsec / 1000000, log_node,
			(unsigned long long)atomic_load(&log_term),
			atomic_load(&log_role), level_names[level], msg);
}

bool log_limit_pass(struct log_limit *l, uint64_t *held)
{
	struct timespec ts;
	uint64_t now, last;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
	last = atomic_load(&l->last_ms);
	if ((last != 0 && now < last + 1000) ||
	    !atomic_compare_exchange_strong(&l->last_ms, &last, now)) {
		atomic_fetch_add(&l->held, 1);
		return false;
	}
	*held = atomic_exchange(&l->held, 0);
	return true;
}

/* Points stderr (and stdout) at fd.  Under stderr's own stdio lock, which
 * every log_write() holds for its whole line, and after flushing what is
 * buffered: a line goes wholly to the old file or wholly to the new one.
 * dup2() swaps the descriptor atomically for any other writer of fd 2. */
static int log_switch(int fd)
{
	int rv = 0;

	flockfile(stderr);
	fflush(stderr);
	if (dup2(fd, STDERR_FILENO) < 0)
		rv = -1;
	if (rv == 0 && log_also_stdout) {
		fflush(stdout);
		if (dup2(fd, STDOUT_FILENO) < 0)
			rv = -1;
	}
	funlockfile(stderr);
	return rv;
}

int log_open_file(const char *path, int also_stdout)
{
	int fd, rv = -1, saved;

	if (strlen(path) >= sizeof(log_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	log_also_stdout = also_stdout;
	if (log_switch(fd) != 0)
		goto out;
	snprintf(log_path, sizeof(log_path), "%s", path);
	rv = 0;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return rv;
}

int log_reopen(void)
{
	int fd, rv = -1, saved = 0;

	if (log_path[0] == '\0')
		return 1;
	pthread_mutex_lock(&log_reopen_lock);
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		saved = errno;
		goto out;
	}
	rv = log_switch(fd);
	saved = errno;
	close(fd);
out:
	pthread_mutex_unlock(&log_reopen_lock);
	errno = saved;
	return rv;
}

const char *log_file_path(void) { return log_path[0] ? log_path : NULL; }
