/* util.h: small helpers raftctl's modules share (memory, clock, output). */
#ifndef RAFTCTL_UTIL_H
#define RAFTCTL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xalloc.h" /* xmalloc() and friends: out of memory is fatal */

void *util_xreallocarray(void *p, size_t n, size_t size);
/* asprintf() that cannot fail; the result is the caller's to free(). */
char *util_xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Milliseconds on CLOCK_MONOTONIC (deadlines never jump with the wall
 * clock). */
uint64_t util_now_ms(void);

/* Sleeps `ms` milliseconds (restarting after signals). */
void util_sleep_ms(uint64_t ms);

/* Writes `s` as a JSON string literal (quotes included).  Bytes that are
 * not well-formed UTF-8 become U+FFFD so the output always parses. */
void util_json_string(FILE *out, const char *s);

/* Writes `s` with control characters shown as \n, \t, \r or \xHH, so a
 * value read from the cluster can never break a line-oriented output. */
void util_print_oneline(FILE *out, const char *s);

/* Whether `s` contains a control character (below 0x20, or 0x7f). */
int util_has_control(const char *s);

/* `v` in at most 5 characters: a count as 999, 1.2k, 45k, 3.4M ... (powers
 * of 1000), bytes as 812B, 4.5K, 45K, 3.4M ... (powers of 1024). */
void util_human(uint64_t v, int bytes, char *out, size_t size);

/* Parses a whole decimal unsigned integer (no sign, no spaces) up to
 * `max`.  Returns 0, or -1 when `s` is not such a number. */
int util_parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif /* RAFTCTL_UTIL_H */
