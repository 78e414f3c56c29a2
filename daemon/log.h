/* log.h: raftd's log lines on stderr: time, node id, term, role, message,
 * as text or JSON (--log-format); stderr may be a file (--log-file,
 * --daemon) that SIGHUP reopens, or the lines go to syslog (--syslog). */
#ifndef RAFTD_LOG_H
#define RAFTD_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

enum log_format {
	LOG_FORMAT_TEXT = 0, /* 2026-01-02T03:04:05.678Z node=1 term=2 ... */
	LOG_FORMAT_JSON,     /* {"time":...,"level":...,"message":...} */
};

/* Set once at start-up, before any thread.  When stderr is the systemd
 * journal's stream (JOURNAL_STREAM names fd 2), each line starts with
 * "<N>", its syslog severity, which the journal takes as its priority. */
void log_init(uint32_t node_id, enum log_level level);
/* Parses "error", "warn", "info" or "debug"; -1 if unknown. */
int log_level_parse(const char *s);
/* Parses "text" or "json"; -1 if unknown. */
int log_format_parse(const char *s);
/* JSON: one object a line, with the keys time (UTC, ISO 8601 with ms),
 * level, node, term, role, message and, at level debug, source
 * ("file.c:LINE"); the message escaped (quotes, backslashes, control
 * characters; a byte that is not UTF-8 becomes U+FFFD).  Before any
 * thread. */
void log_set_format(enum log_format format);
/* Sends every line from now on to syslog (ident "raftd", facility daemon,
 * with the pid), at the severity of its level, instead of stderr.  Before
 * any thread. */
void log_use_syslog(void);
bool log_to_syslog(void);
/* Escapes `in` as the inside of a JSON string into out (NUL-terminated,
 * cut at a whole character to fit outlen); returns its length. */
size_t log_json_escape(char *out, size_t outlen, const char *in);
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
