/* log.c: raftd's log lines on stderr: time, node id, term, role, message,
 * as text or JSON; stderr may be a file that SIGHUP reopens, or the lines
 * go to syslog. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logsys.h"

static uint32_t log_node;
static int log_max = LOG_INFO;
static _Atomic uint64_t log_term;
static _Atomic(const char *) log_role = "follower";

static const char *const level_names[] = {"error", "warn", "info", "debug"};
/* The syslog severities (RFC 5424) of the levels: err, warning, info,
 * debug. */
static const int level_severity[] = {3, 4, 6, 7};

/* Where and how lines go; set before any thread (log_init,
 * log_set_format, log_use_syslog, log_open_file). */
static enum log_format log_format = LOG_FORMAT_TEXT;
static bool log_syslog;
/* stderr is the systemd journal's stream: each line starts with <N>, its
 * severity, which the journal takes as the line's priority. */
static bool log_journal;

/* A line as it is written: the message (at most 1023 bytes) escaped for
 * JSON (6 bytes at worst per byte) and the fields around it. */
#define LOG_LINE_MAX (1024 * 6 + 512)

/* The log file, set once before any thread; log_reopen_lock keeps two
 * reopens from interleaving. */
static char log_path[PATH_MAX];
static int log_also_stdout;
static pthread_mutex_t log_reopen_lock = PTHREAD_MUTEX_INITIALIZER;

/* systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it gave a
 * service as stdout/stderr; it is ours only if fd 2 is still that one. */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_init(uint32_t node_id, enum log_level level)
{
	log_node = node_id;
	log_max = level;
	log_journal = stderr_is_journal();
}

int log_format_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return LOG_FORMAT_TEXT;
	if (strcmp(s, "json") == 0)
		return LOG_FORMAT_JSON;
	return -1;
}

void log_set_format(enum log_format format) { log_format = format; }

void log_use_syslog(void)
{
	logsys_open();
	log_syslog = true;
	log_journal = false;
}

bool log_to_syslog(void) { return log_syslog; }

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

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0
 * if s does not start one (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

size_t log_json_escape(char *out, size_t outlen, const char *in)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, n = strlen(in), k;
	char esc[8];
	const char *piece;
	size_t plen;

	if (outlen == 0)
		return 0;
	while (n > 0) {
		k = 1;
		piece = esc;
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*s;
			plen = 2;
		} else if (*s == '\n' || *s == '\t' || *s == '\r') {
			esc[0] = '\\';
			esc[1] = *s == '\n' ? 'n' : *s == '\t' ? 't' : 'r';
			plen = 2;
		} else if (*s < 0x20 || *s == 0x7f) {
			plen = (size_t)snprintf(esc, sizeof(esc), "\\u%04x",
						(unsigned)*s);
		} else if ((k = utf8_len(s, n)) == 0) {
			/* Not UTF-8 (a byte from a peer, a cut sequence):
			 * the replacement character, so that the line stays
			 * valid JSON. */
			memcpy(esc, "\\ufffd", 6);
			plen = 6;
			k = 1;
		} else {
			piece = (const char *)s;
			plen = k;
		}
		if (o + plen >= outlen)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		s += k;
		n -= k;
	}
	out[o] = '\0';
	return o;
}

void log_write(enum log_level level, const char *file, int line,
	       const char *fmt, ...)
{
	char msg[1024], stamp[32], text[LOG_LINE_MAX], esc[sizeof(msg) * 6];
	char prefix[8] = "";
	unsigned long long term;
	const char *role;
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	term = (unsigned long long)atomic_load(&log_term);
	role = atomic_load(&log_role);
	if (log_journal)
		snprintf(prefix, sizeof(prefix), "<%d>", level_severity[level]);
	if (log_format == LOG_FORMAT_JSON) {
		log_json_escape(esc, sizeof(esc), msg);
		n = snprintf(text, sizeof(text),
			     "%s{\"time\":\"%s.%03ldZ\",\"level\":\"%s\","
			     "\"node\":%u,\"term\":%llu,\"role\":\"%s\","
			     "\"message\":\"%s\"",
			     prefix, stamp, ts.tv_nsec / 1000000,
			     level_names[level], log_node, term, role, esc);
		/* file is a source path (no character to escape). */
		if (n > 0 && (size_t)n < sizeof(text) && log_max >= LOG_DEBUG)
			snprintf(text + n, sizeof(text) - (size_t)n,
				 ",\"source\":\"%s:%d\"}", file, line);
		else if (n > 0 && (size_t)n < sizeof(text))
			snprintf(text + n, sizeof(text) - (size_t)n, "}");
	} else if (log_syslog) {
		/* syslog stamps the time itself. */
		n = snprintf(text, sizeof(text), "node=%u term=%llu %s %s: %s",
			     log_node, term, role, level_names[level], msg);
		if (n > 0 && (size_t)n < sizeof(text) && log_max >= LOG_DEBUG)
			snprintf(text + n, sizeof(text) - (size_t)n, " (%s:%d)",
				 file, line);
	} else {
		n = snprintf(text, sizeof(text),
			     "%s%s.%03ldZ node=%u term=%llu %s %s: %s", prefix,
			     stamp, ts.tv_nsec / 1000000, log_node, term, role,
			     level_names[level], msg);
		if (n > 0 && (size_t)n < sizeof(text) && log_max >= LOG_DEBUG)
			snprintf(text + n, sizeof(text) - (size_t)n, " (%s:%d)",
				 file, line);
	}
	if (log_syslog) {
		logsys_send(level_severity[level], text);
		return;
	}
	/* One fprintf per line: stdio locks the stream, so lines from
	 * different threads never interleave. */
	fprintf(stderr, "%s\n", text);
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
	/* stderr is no longer the journal's stream: no <N> prefixes. */
	log_journal = false;
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
