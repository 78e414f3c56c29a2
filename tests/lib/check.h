/* check.h: the checks, counters and exit status every C unit test shares.
 *
 * A test names itself, checks, and returns the summary's status:
 *
 *   int main(void)
 *   {
 *           check_start("test_wire", 0);
 *           CHECK(wire_body_size(&m) == 37);
 *           CHECK_EQ_U64(m.term, 5);
 *           return check_summary();
 *   }
 *
 * Every failed check prints "FILE:LINE: FAILED: what" (the path as the
 * source tree names it) on stderr and the test goes on, so one run shows
 * every failure; CHECK_REQUIRE, or check_start(..., CHECK_STOP_AT_FAILURE)
 * for every check, stops at the first failure instead, for checks the
 * rest of a test cannot run without.  The exit status follows automake's
 * test protocol (CHECK_EXIT_*).  The counters are atomic, so checks may be
 * made from any thread.
 *
 * raftctl's own check module (client/check.h: check_run, CHECK_OK, ...)
 * shares the word; no name here collides with its names. */
#ifndef RAFTD_TESTS_CHECK_H
#define RAFTD_TESTS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* automake's test protocol. */
#define CHECK_EXIT_PASS 0
#define CHECK_EXIT_FAIL 1
#define CHECK_EXIT_SKIP 77
#define CHECK_EXIT_HARD_ERROR 99

/* check_start() flags. */
#define CHECK_STOP_AT_FAILURE 0x1u /* every check is a CHECK_REQUIRE */

/* Names the test in its messages (a static string: the test's name, e.g.
 * "test_wire") and sets the flags.  Call it first. */
void check_start(const char *name, unsigned flags);

/* One check: `cond`, which must hold.  Evaluates to whether it held, so
 * that a test can skip what depends on it. */
#define CHECK(cond)                                                            \
	check_at((cond) ? true : false, __FILE__, __LINE__, "%s", #cond)

/* Equality with both values printed on failure.  Each argument is
 * evaluated once, converted to the helper's type. */
#define CHECK_EQ_INT(a, b)                                                     \
	check_eq_int((intmax_t)(a), (intmax_t)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_EQ_U64(a, b)                                                     \
	check_eq_u64((uint64_t)(a), (uint64_t)(b), #a, #b, __FILE__, __LINE__)
/* C strings; NULL equals only NULL. */
#define CHECK_EQ_STR(a, b) check_eq_str((a), (b), #a, #b, __FILE__, __LINE__)
/* n bytes; on failure the first differing offset and the bytes there. */
#define CHECK_EQ_MEM(a, b, n)                                                  \
	check_eq_mem((a), (b), (n), #a, #b, __FILE__, __LINE__)

/* A check the rest of the test depends on: on failure, the summary and
 * exit status 1 at once. */
#define CHECK_REQUIRE(cond)                                                    \
	check_require_at((cond) ? true : false, __FILE__, __LINE__, #cond)

/* The test could not run (a temp dir, a file it writes, a thread it
 * starts failed): not a verdict on the code.  Prints the message and
 * exits 99. */
#define CHECK_HARD_ERROR(...) check_hard_error(__FILE__, __LINE__, __VA_ARGS__)

/* The general form, for helpers that check on behalf of a caller's line
 * (`line` is the caller's): counts one check and, if `ok` is false, one
 * failure with the formatted message.  Returns `ok`. */
bool check_at(bool ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

bool check_eq_int(intmax_t a, intmax_t b, const char *ea, const char *eb,
		  const char *file, int line);
bool check_eq_u64(uint64_t a, uint64_t b, const char *ea, const char *eb,
		  const char *file, int line);
bool check_eq_str(const char *a, const char *b, const char *ea, const char *eb,
		  const char *file, int line);
bool check_eq_mem(const void *a, const void *b, size_t n, const char *ea,
		  const char *eb, const char *file, int line);
void check_require_at(bool ok, const char *file, int line, const char *what);

void check_hard_error(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* Exits 77 with the reason: the test cannot apply here (not a failure). */
void check_skip(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Checks made and failed so far. */
unsigned long check_count(void);
unsigned long check_failures(void);

/* Prints "NAME: N checks passed" or "NAME: F of N checks FAILED" and
 * returns the exit status (CHECK_EXIT_PASS or CHECK_EXIT_FAIL). */
int check_summary(void);

#endif /* RAFTD_TESTS_CHECK_H */
