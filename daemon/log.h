/* log.h: raftd's log lines on stderr: time, node id, term, role, message;
 * stderr may be a file (--log-file, --daemon) that SIGHUP reopens. */
#ifndef RAFTD_LOG_H
#define RAFTD_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

/* Set once at start-up, before any thread. */
void log_init(uint32_t node_id, enum log_level level);
/* Parses "error", "warn", "info" or "debug"; -1 if unknown. */
int log_level_parse(const char *s);
/* The term and role printed on every line; updated by the node under its
 * lock, read by any thread (atomics). */
void log_set_state(uint64_t term, const char *role);
int log_enabled(enum log_level level);
/* Sends stderr (and stdout too when also_stdout) to the file at `path`,
 * opened for appending (created 0644), and remembers the path for
 * log_reopen().  Called once at start-up, before any thread.  Returns 0,
 * or -1 with errno set (stderr unchanged). */
int log_open_file(const char *path, int also_stdout);
/* For logrotate (SIGHUP): opens the remembered path again, so that lines
 * go to a new file once the old one was renamed, and switches stderr (and
 * stdout) over without a torn or lost line: a concurrent log_write() goes
 * wholly to the old file or wholly to the new one.  Returns 0; 1 when
 * raftd does not log to a file; -1 with errno set when the file cannot be
 * opened (logging goes on to the old one).  Any thread. */
int log_reopen(void);
/* The file log_open_file() was given, or NULL. */
const char *log_file_path(void);
void log_write(enum log_level level, const char *file, int line,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_error(...) log_write(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_enabled(LOG_DEBUG))                                    \
			log_write(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* A rate limit for lines that input can trigger (refused peer calls, bad
 * replies): at most one line a second per limiter, so that a flood of bad
 * input cannot flood the log.  log_limit_pass() says whether this line may
 * go out and, if so, how many were held back since the last one.  Any
 * thread; a zeroed struct is ready. */
struct log_limit {
	_Atomic uint64_t last_ms;
	_Atomic uint64_t held;
};
bool log_limit_pass(struct log_limit *l, uint64_t *held);

#endif /* RAFTD_LOG_H */
