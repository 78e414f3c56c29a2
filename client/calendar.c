/* calendar.c: the shared calendar's pure parts: dates, event keys and ids,
 * and the month grid. */
#include "calendar.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char *const month_names[] = {
    "January", "February", "March",	"April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};

/* Reads exactly `n` digits at s into *out. */
static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return CAL_EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return CAL_OK;
}

bool cal_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int cal_days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};

	if (month < 1 || month > 12)
		return 0;
	if (month == 2 && cal_is_leap(year))
		return 29;
	return days[month - 1];
}

int cal_weekday(int year, int month, int day)
{
	/* Sakamoto's method gives 0 = Sunday; shift to 0 = Monday. */
	static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
	int y = month < 3 ? year - 1 : year;
	int sun0 = (y + y / 4 - y / 100 + y / 400 + t[month - 1] + day) % 7;

	return (sun0 + 6) % 7;
}

const char *cal_month_name(int month)
{
	if (month < 1 || month > 12)
		return "?";
	return month_names[month - 1];
}

int cal_parse_month(const char *s, int *year, int *month)
{
	int y, m;

	if (strlen(s) != 7 || s[4] != '-' || digits(s, 4, &y) < 0 ||
	    digits(s + 5, 2, &m) < 0 || y < 1 || m < 1 || m > 12)
		return CAL_EINVAL;
	*year = y;
	*month = m;
	return CAL_OK;
}

int cal_parse_date(const char *s, int *year, int *month, int *day)
{
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    digits(s, 4, &y) < 0 || digits(s + 5, 2, &m) < 0 ||
	    digits(s + 8, 2, &d) < 0 || y < 1 || m < 1 || m > 12 || d < 1 ||
	    d > cal_days_in_month(y, m))
		return CAL_EINVAL;
	*year = y;
	*month = m;
	*day = d;
	return CAL_OK;
}

int cal_parse_time(const char *s, int *hour, int *minute)
{
	int h, m;

	if (strlen(s) != 5 || s[2] != ':' || digits(s, 2, &h) < 0 ||
	    digits(s + 3, 2, &m) < 0 || h > 23 || m > 59)
		return CAL_EINVAL;
	*hour = h;
	*minute = m;
	return CAL_OK;
}

/* Writes `len` bytes of `line` without its trailing spaces, then '\n'. */
static void put_trimmed(FILE *out, const char *line, size_t len)
{
	while (len > 0 && line[len - 1] == ' ')
		len--;
	fwrite(line, 1, len, out);
	fputc('\n', out);
}

void cal_render_month(FILE *out, int year, int month, const bool *marked)
{
	/* Each day takes 4 columns: two digits, the marker, a space. */
	enum { WIDTH = 7 * 4 - 2 };
	char line[64], title[48];
	int first = cal_weekday(year, month, 1);
	int ndays = cal_days_in_month(year, month);
	int tlen, pad, col = 0;
	size_t len = 0;

	tlen = snprintf(title, sizeof(title), "%s %d", cal_month_name(month),
			year);
	pad = tlen < WIDTH ? (WIDTH - tlen) / 2 : 0;
	fprintf(out, "%*s%s\n", pad, "", title);
	fputs("Mo  Tu  We  Th  Fr  Sa  Su\n", out);
	memset(line, ' ', sizeof(line));
	for (col = 0; col < first; col++)
		len += 4;
	for (int d = 1; d <= ndays; d++) {
		char cell[16];

		snprintf(cell, sizeof(cell), "%2d%c ", d,
			 marked && marked[d] ? '*' : ' ');
		memcpy(line + len, cell, 4);
		len += 4;
		if (++col == 7) {
			put_trimmed(out, line, len);
			memset(line, ' ', sizeof(line));
			len = 0;
			col = 0;
		}
	}
	if (col > 0)
		put_trimmed(out, line, len);
}

bool cal_valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > CAL_ID_MAX)
		return false;
	for (const char *p = id; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	}
	return true;
}

int cal_event_key(const struct cal_event *ev, char *out, size_t outlen)
{
	int n;

	if (!cal_valid_id(ev->id))
		return CAL_EINVAL;
	n = snprintf(out, outlen, CAL_PREFIX "%04d-%02d-%02d/%02d:%02d/%s",
		     ev->year, ev->month, ev->day, ev->hour, ev->minute,
		     ev->id);
	if (n < 0 || (size_t)n >= outlen)
		return CAL_EINVAL;
	return CAL_OK;
}

int cal_parse_key(const char *key, struct cal_event *ev)
{
	size_t plen = strlen(CAL_PREFIX);
	char date[11], tm[6];
	const char *p;

	if (strncmp(key, CAL_PREFIX, plen) != 0)
		return CAL_EINVAL;
	p = key + plen;
	/* "YYYY-MM-DD/HH:MM/ID" */
	if (strlen(p) < 18 || p[10] != '/' || p[16] != '/')
		return CAL_EINVAL;
	memcpy(date, p, 10);
	date[10] = '\0';
	memcpy(tm, p + 11, 5);
	tm[5] = '\0';
	if (cal_parse_date(date, &ev->year, &ev->month, &ev->day) < 0 ||
	    cal_parse_time(tm, &ev->hour, &ev->minute) < 0 ||
	    !cal_valid_id(p + 17))
		return CAL_EINVAL;
	snprintf(ev->id, sizeof(ev->id), "%s", p + 17);
	return CAL_OK;
}

void cal_new_id(char *out, size_t outlen)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t rnd[CAL_ID_LEN];
	size_t i, got = 0;

	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(rnd)) {
		/* No getrandom (an old kernel): a weaker mix still makes
		 * clashes unlikely, and a clash only costs a retry. */
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
		    ((uint64_t)getpid() << 40);
		for (i = 0; i < sizeof(rnd); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			rnd[i] = (uint8_t)x;
		}
	}
	for (i = 0; i < CAL_ID_LEN && i + 1 < outlen; i++)
		out[i] = alphabet[rnd[i] & 31];
	if (outlen > 0)
		out[i] = '\0';
}
