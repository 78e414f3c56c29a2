/* test_raftctl_calendar.c: unit tests of raftctl's calendar module: date
 * and time parsing, weekdays, month grids of known months (a leap
 * February among them), event keys and ids. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/calendar.h"
#include "tests/lib/check.h"

/* Renders a month into a string (the caller frees it). */
static char *render(int y, int m, const bool *marked)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		CHECK_HARD_ERROR("open_memstream: %s", strerror(errno));
	cal_render_month(fp, y, m, marked);
	fclose(fp);
	return buf;
}

static void check_grid(int y, int m, const bool *marked, const char *want,
		       int line)
{
	char *got = render(y, m, marked);

	check_at(strcmp(got, want) == 0, __FILE__, line,
		 "grid matches\n--- want:\n%s--- got:\n%s---", want, got);
	free(got);
}

static void test_parse(void)
{
	int y = 0, m = 0, d = 0, h = 0, mi = 0;

	CHECK(cal_parse_date("2026-02-03", &y, &m, &d) == 0 && y == 2026 &&
	      m == 2 && d == 3);
	CHECK(cal_parse_date("2024-02-29", &y, &m, &d) == 0 && d == 29);
	CHECK(cal_parse_date("2026-02-29", &y, &m, &d) < 0);  /* not leap */
	CHECK(cal_parse_date("1900-02-29", &y, &m, &d) < 0);  /* century */
	CHECK(cal_parse_date("2000-02-29", &y, &m, &d) == 0); /* 400 */
	CHECK(cal_parse_date("2026-04-31", &y, &m, &d) < 0);
	CHECK(cal_parse_date("2026-12-31", &y, &m, &d) == 0);
	CHECK(cal_parse_date("2026-13-01", &y, &m, &d) < 0);
	CHECK(cal_parse_date("2026-00-01", &y, &m, &d) < 0);
	CHECK(cal_parse_date("2026-01-00", &y, &m, &d) < 0);
	CHECK(cal_parse_date("0000-01-01", &y, &m, &d) < 0);
	CHECK(cal_parse_date("2026-2-3", &y, &m, &d) < 0);
	CHECK(cal_parse_date("2026-02-03x", &y, &m, &d) < 0);
	CHECK(cal_parse_date("2026/02/03", &y, &m, &d) < 0);
	CHECK(cal_parse_date("", &y, &m, &d) < 0);
	CHECK(cal_parse_date("+026-02-03", &y, &m, &d) < 0);

	CHECK(cal_parse_month("2026-02", &y, &m) == 0 && y == 2026 && m == 2);
	CHECK(cal_parse_month("2026-2", &y, &m) < 0);
	CHECK(cal_parse_month("2026-13", &y, &m) < 0);
	CHECK(cal_parse_month("2026-02-01", &y, &m) < 0);

	CHECK(cal_parse_time("09:30", &h, &mi) == 0 && h == 9 && mi == 30);
	CHECK(cal_parse_time("00:00", &h, &mi) == 0 && h == 0 && mi == 0);
	CHECK(cal_parse_time("23:59", &h, &mi) == 0 && h == 23 && mi == 59);
	CHECK(cal_parse_time("24:00", &h, &mi) < 0);
	CHECK(cal_parse_time("12:60", &h, &mi) < 0);
	CHECK(cal_parse_time("9:30", &h, &mi) < 0);
	CHECK(cal_parse_time("09:3", &h, &mi) < 0);
	CHECK(cal_parse_time("09.30", &h, &mi) < 0);
	CHECK(cal_parse_time("09:30:00", &h, &mi) < 0);
}

static void test_weekdays(void)
{
	CHECK(cal_weekday(2026, 2, 1) == 6);   /* Sunday */
	CHECK(cal_weekday(2024, 2, 1) == 3);   /* Thursday */
	CHECK(cal_weekday(2021, 2, 1) == 0);   /* Monday */
	CHECK(cal_weekday(2000, 1, 1) == 5);   /* Saturday */
	CHECK(cal_weekday(1970, 1, 1) == 3);   /* Thursday */
	CHECK(cal_weekday(2024, 12, 31) == 1); /* Tuesday */
	CHECK(cal_days_in_month(2024, 2) == 29);
	CHECK(cal_days_in_month(2026, 2) == 28);
	CHECK(cal_days_in_month(2100, 2) == 28);
	CHECK(cal_days_in_month(2026, 9) == 30);
	CHECK(cal_days_in_month(2026, 13) == 0);
	CHECK(cal_is_leap(2024) && !cal_is_leap(2026) && cal_is_leap(2000) &&
	      !cal_is_leap(1900));
	CHECK(strcmp(cal_month_name(2), "February") == 0);
	CHECK(strcmp(cal_month_name(13), "?") == 0);
}

static void test_grids(void)
{
	bool marked[32] = {false};

	/* February 2026 starts on a Sunday and has 28 days. */
	marked[3] = marked[28] = true;
	check_grid(2026, 2, marked,
		   "      February 2026\n"
		   "Mo  Tu  We  Th  Fr  Sa  Su\n"
		   "                         1\n"
		   " 2   3*  4   5   6   7   8\n"
		   " 9  10  11  12  13  14  15\n"
		   "16  17  18  19  20  21  22\n"
		   "23  24  25  26  27  28*\n",
		   __LINE__);
	/* February 2024: a leap year, starting on a Thursday. */
	memset(marked, 0, sizeof(marked));
	marked[1] = marked[29] = marked[4] = true;
	check_grid(2024, 2, marked,
		   "      February 2024\n"
		   "Mo  Tu  We  Th  Fr  Sa  Su\n"
		   "             1*  2   3   4*\n"
		   " 5   6   7   8   9  10  11\n"
		   "12  13  14  15  16  17  18\n"
		   "19  20  21  22  23  24  25\n"
		   "26  27  28  29*\n",
		   __LINE__);
	/* February 2021 fills exactly four weeks from a Monday; no marks. */
	check_grid(2021, 2, NULL,
		   "      February 2021\n"
		   "Mo  Tu  We  Th  Fr  Sa  Su\n"
		   " 1   2   3   4   5   6   7\n"
		   " 8   9  10  11  12  13  14\n"
		   "15  16  17  18  19  20  21\n"
		   "22  23  24  25  26  27  28\n",
		   __LINE__);
	/* A 31-day month over six rows: August 2026 starts on a Saturday. */
	memset(marked, 0, sizeof(marked));
	marked[31] = true;
	check_grid(2026, 8, marked,
		   "       August 2026\n"
		   "Mo  Tu  We  Th  Fr  Sa  Su\n"
		   "                     1   2\n"
		   " 3   4   5   6   7   8   9\n"
		   "10  11  12  13  14  15  16\n"
		   "17  18  19  20  21  22  23\n"
		   "24  25  26  27  28  29  30\n"
		   "31*\n",
		   __LINE__);
}

static void test_keys(void)
{
	struct cal_event ev = {
	    .year = 2026, .month = 2, .day = 3, .hour = 9, .minute = 5};
	struct cal_event back;
	char key[CAL_KEY_MAX];
	char ids[50][CAL_ID_LEN + 1];

	strcpy(ev.id, "abc123");
	CHECK(cal_event_key(&ev, key, sizeof(key)) == 0);
	CHECK(strcmp(key, "cal/2026-02-03/09:05/abc123") == 0);
	memset(&back, 0, sizeof(back));
	CHECK(cal_parse_key(key, &back) == 0);
	CHECK(back.year == 2026 && back.month == 2 && back.day == 3 &&
	      back.hour == 9 && back.minute == 5 &&
	      strcmp(back.id, "abc123") == 0);
	CHECK(cal_event_key(&ev, key, 10) < 0); /* too small */
	strcpy(ev.id, "a/b");
	CHECK(cal_event_key(&ev, key, sizeof(key)) < 0);
	strcpy(ev.id, "");
	CHECK(cal_event_key(&ev, key, sizeof(key)) < 0);

	CHECK(cal_parse_key("cal/2026-02-03/09:05/", &back) < 0);
	CHECK(cal_parse_key("cal/2026-02-30/09:05/x", &back) < 0);
	CHECK(cal_parse_key("cal/2026-02-03/24:05/x", &back) < 0);
	CHECK(cal_parse_key("cal/2026-02-03/09:05/x/y", &back) < 0);
	CHECK(cal_parse_key("cal/2026-02-03-09:05/x", &back) < 0);
	CHECK(cal_parse_key("xal/2026-02-03/09:05/x", &back) < 0);
	CHECK(cal_parse_key("cal/", &back) < 0);

	CHECK(cal_valid_id("Ab_9-z"));
	CHECK(!cal_valid_id("a b"));
	CHECK(!cal_valid_id("a.b"));
	/* Generated ids: the right length and alphabet, and distinct. */
	for (int i = 0; i < 50; i++) {
		cal_new_id(ids[i], sizeof(ids[i]));
		CHECK(strlen(ids[i]) == CAL_ID_LEN);
		CHECK(strspn(ids[i], "abcdefghijklmnopqrstuvwxyz234567") ==
		      CAL_ID_LEN);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(ids[i], ids[j]) != 0);
	}
}

int main(void)
{
	check_start("test_raftctl_calendar", 0);
	test_parse();
	test_weekdays();
	test_grids();
	test_keys();
	return check_summary();
}
