/* check.c: the unit tests' shared checks and exit status (check.h). */
#include "tests/lib/check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *test_name = "test";
static unsigned test_flags;
static atomic_ulong n_checks;
static atomic_ulong n_failed;

void check_start(const char *name, unsigned flags)
{
	test_name = name;
	test_flags = flags;
}

/* The path as the source tree names it: a build outside the tree compiles
 * "../../tests/unit/x.c"; say "tests/unit/x.c". */
static const char *source_path(const char *file)
{
	for (;;) {
		if (strncmp(file, "./", 2) == 0)
			file += 2;
		else if (strncmp(file, "../", 3) == 0)
			file += 3;
		else
			return file;
	}
}

static void stop_if_asked(void)
{
	if (test_flags & CHECK_STOP_AT_FAILURE)
		exit(check_summary());
}

/* Counts a failure and prints its first line's prefix; the caller prints
 * the rest and a newline.  stdout goes first, so that a log that holds
 * both streams keeps them in order. */
static void failure_begin(const char *file, int line)
{
	atomic_fetch_add(&n_failed, 1);
	fflush(stdout);
	fprintf(stderr, "%s:%d: FAILED: ", source_path(file), line);
}

bool check_at(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&n_checks, 1);
	if (ok)
		return true;
	failure_begin(file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	stop_if_asked();
	return false;
}

bool check_eq_int(intmax_t a, intmax_t b, const char *ea, const char *eb,
		  const char *file, int line)
{
	return check_at(a == b, file, line, "%s == %s (%jd != %jd)", ea, eb, a,
			b);
}

bool check_eq_u64(uint64_t a, uint64_t b, const char *ea, const char *eb,
		  const char *file, int line)
{
	return check_at(a == b, file, line,
			"%s == %s (%" PRIu64 " != %" PRIu64 ", 0x%" PRIx64
			" != 0x%" PRIx64 ")",
			ea, eb, a, b, a, b);
}

bool check_eq_str(const char *a, const char *b, const char *ea, const char *eb,
		  const char *file, int line)
{
	bool ok = a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;

	return check_at(ok, file, line, "%s == %s\n  %s: %s%s%s\n  %s: %s%s%s",
			ea, eb, ea, a ? "\"" : "", a ? a : "NULL",
			a ? "\"" : "", eb, b ? "\"" : "", b ? b : "NULL",
			b ? "\"" : "");
}

/* Up to 16 bytes from `from`, in hex. */
static void hex_line(const char *label, const uint8_t *p, size_t from, size_t n)
{
	size_t end = from + 16 < n ? from + 16 : n;

	fprintf(stderr, "  %s @%zu:", label, from);
	for (size_t i = from; i < end; i++)
		fprintf(stderr, " %02x", p[i]);
	fputc('\n', stderr);
}

bool check_eq_mem(const void *a, const void *b, size_t n, const char *ea,
		  const char *eb, const char *file, int line)
{
	const uint8_t *pa = a, *pb = b;
	size_t i = 0, from;

	atomic_fetch_add(&n_checks, 1);
	while (i < n && pa[i] == pb[i])
		i++;
	if (i == n)
		return true;
	failure_begin(file, line);
	fprintf(stderr, "%s == %s (%zu bytes): they differ first at byte %zu\n",
		ea, eb, n, i);
	from = i - i % 16;
	hex_line(ea, pa, from, n);
	hex_line(eb, pb, from, n);
	stop_if_asked();
	return false;
}

void check_require_at(bool ok, const char *file, int line, const char *what)
{
	if (!check_at(ok, file, line, "%s (required: the test stops)", what))
		exit(check_summary());
}

void check_hard_error(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: %s:%d: hard error: ", test_name, source_path(file),
		line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(CHECK_EXIT_HARD_ERROR);
}

void check_skip(const char *fmt, ...)
{
	va_list ap;

	printf("%s: skipped: ", test_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(CHECK_EXIT_SKIP);
}

unsigned long check_count(void) { return atomic_load(&n_checks); }

unsigned long check_failures(void) { return atomic_load(&n_failed); }

int check_summary(void)
{
	unsigned long checks = check_count(), failed = check_failures();

	fflush(stderr);
	if (failed > 0) {
		printf("%s: %lu of %lu checks FAILED\n", test_name, failed,
		       checks);
		fflush(stdout);
		return CHECK_EXIT_FAIL;
	}
	printf("%s: %lu checks passed\n", test_name, checks);
	fflush(stdout);
	return CHECK_EXIT_PASS;
}
