/* calendar.h: the shared calendar's pure parts: dates, event keys and ids,
 * and the month grid (no I/O but the FILE the grid is written to).
 *
 * Every event is its own key in the replicated key-value map,
 *
 *     cal/YYYY-MM-DD/HH:MM/ID  ->  TITLE
 *
 * created with cas(key, "", title) so that two clients adding events at the
 * same moment never overwrite each other (a clash of random ids only makes
 * the cas fail, and the adder draws a new id).  Keys sort by date, then
 * time, then id, so list("cal/2026-02-") returns a month in order. */
#ifndef RAFTCTL_CALENDAR_H
#define RAFTCTL_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CAL_PREFIX "cal/"
#define CAL_ID_LEN 10  /* characters in a generated id */
#define CAL_ID_MAX 64  /* longest id accepted (buffer: CAL_ID_MAX + 1) */
#define CAL_KEY_MAX 96 /* a whole key, NUL included */

enum {
	CAL_OK = 0,
	CAL_EINVAL = -1,
};

struct cal_event {
	int year, month, day; /* month 1..12, day 1..31 */
	int hour, minute;
	char id[CAL_ID_MAX + 1];
};

/* Parses "YYYY-MM-DD" (exactly; year 1..9999, a real day of that month in
 * the proleptic Gregorian calendar). */
int cal_parse_date(const char *s, int *year, int *month, int *day);

/* Parses "YYYY-MM". */
int cal_parse_month(const char *s, int *year, int *month);

/* Parses "HH:MM" (00:00 .. 23:59, two digits each). */
int cal_parse_time(const char *s, int *hour, int *minute);

bool cal_is_leap(int year);

/* Days in the month (28..31), 0 for a month outside 1..12. */
int cal_days_in_month(int year, int month);

/* Day of the week, 0 = Monday .. 6 = Sunday (ISO 8601). */
int cal_weekday(int year, int month, int day);

/* The English name of month 1..12 ("January"), "?" otherwise. */
const char *cal_month_name(int month);

/* Writes the month grid, weeks from Monday to Sunday (ISO 8601), like
 * cal(1) but with one more column per day for the marker: a day whose
 * marked[day] is true is followed by '*'.  marked has 32 slots (index 0
 * unused) and may be NULL.  Lines carry no trailing spaces:
 *
 *          February 2026
 *     Mo  Tu  We  Th  Fr  Sa  Su
 *                              1
 *      2   3*  4   5   6   7   8
 */
void cal_render_month(FILE *out, int year, int month, const bool *marked);

/* Builds the key of `ev` into `out` ("cal/2026-02-03/09:30/ID").
 * CAL_EINVAL when the id is not valid or out is too small. */
int cal_event_key(const struct cal_event *ev, char *out, size_t outlen);

/* Parses a key built by cal_event_key(); CAL_EINVAL for anything else. */
int cal_parse_key(const char *key, struct cal_event *ev);

/* Whether `id` is a valid event id: 1..CAL_ID_MAX characters of
 * [A-Za-z0-9_-]. */
bool cal_valid_id(const char *id);

/* Draws a new random id of CAL_ID_LEN characters of [a-z2-7] (50 bits,
 * from getrandom(2)) into `out` (at least CAL_ID_LEN + 1 bytes). */
void cal_new_id(char *out, size_t outlen);

#endif /* RAFTCTL_CALENDAR_H */
