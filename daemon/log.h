/* log.h: raftd's log lines on stderr: time, node id, term, role, message. */
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
