/* test_log.c: unit test of daemon/log.c: the JSON escaping of messages;
 * the log file's log_reopen() (SIGHUP, logrotate) while several threads
 * log, with the file renamed before each reopen: every line lands whole in
 * exactly one of the files, none lost. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "tests/lib/check.h"

#define WRITERS 4
#define LINES 5000
#define ROTATIONS 500

static char dir[] = "/tmp/raftd-test-log-XXXXXX";
static char path[sizeof(dir) + 16];
static atomic_int writers_left = WRITERS;
static int rotations;

static void *writer(void *arg)
{
	int w = (int)(long)arg;

	for (int i = 0; i < LINES; i++)
		log_info("writer %d line %d %s", w, i,
			 "padding so that lines are long enough to be written "
			 "in more than one piece if the lock did not hold");
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

/* Renames the log away and reopens while the writers run (from their
 * first line to their last, at most ROTATIONS times); the files are
 * path.0, path.1, ... and path itself last. */
static void *rotator(void *arg)
{
	char old[sizeof(path) + 16];
	struct stat st;

	/* Bounded: the writers write within seconds. */
	for (long spin = 0; spin < 100000000L; spin++)
		if (stat(path, &st) == 0 && st.st_size > 0)
			break;
	while (rotations < ROTATIONS && atomic_load(&writers_left) > 0) {
		snprintf(old, sizeof(old), "%s.%d", path, rotations);
		if (rename(path, old) != 0)
			CHECK_HARD_ERROR("rename %s: %s", path,
					 strerror(errno));
		if (log_reopen() != 0) {
			check_at(false, __FILE__, __LINE__,
				 "log_reopen() in rotation %d: %s", rotations,
				 strerror(errno));
			exit(check_summary());
		}
		rotations++;
	}
	return NULL;
}

/* Reads one file's lines, marking each writer's line numbers seen. */
static void scan(const char *file, unsigned char seen[WRITERS][LINES],
		 unsigned long *lines, unsigned long *bad, int *used)
{
	char buf[1024];
	FILE *f = fopen(file, "r");
	unsigned long before = *lines;

	if (f == NULL) {
		(*bad)++;
		return;
	}
	while (fgets(buf, sizeof(buf), f) != NULL) {
		const char *p = strstr(buf, " info: writer ");
		int w, i, n = 0;

		(*lines)++;
		if (strncmp(buf, "20", 2) != 0 ||
		    strstr(buf, "node=7 ") == NULL || p == NULL ||
		    sscanf(p, " info: writer %d line %d padding%n", &w, &i,
			   &n) != 2 ||
		    n == 0 || w < 0 || w >= WRITERS || i < 0 || i >= LINES ||
		    buf[strlen(buf) - 1] != '\n') {
			(*bad)++;
			continue;
		}
		seen[w][i]++;
	}
	fclose(f);
	*used += *lines > before;
}

/* log_json_escape(): what JSON needs escaped, UTF-8 kept, bytes that are
 * not UTF-8 (stray, cut, overlong, surrogates) as U+FFFD, and a cut that
 * keeps whole escapes. */
static void check_json_escape(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain", "plain"},
	    {"q\"b\\s/", "q\\\"b\\\\s/"},
	    {"n\nt\tr\r", "n\\nt\\tr\\r"},
	    {"\x01\x1f\x7f", "\\u0001\\u001f\\u007f"},
	    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
	    {"x\xffy", "x\\ufffdy"},
	    {"cut\xe2\x82", "cut\\ufffd\\ufffd"},
	    {"over\xc0\xaf", "over\\ufffd\\ufffd"},
	    {"sur\xed\xa0\x80", "sur\\ufffd\\ufffd\\ufffd"},
	    {"big\xf4\x90\x80\x80", "big\\ufffd\\ufffd\\ufffd\\ufffd"},
	};
	char out[128];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = log_json_escape(out, sizeof(out), cases[i].in);
		CHECK_EQ_STR(out, cases[i].out);
		CHECK(n == strlen(cases[i].out));
	}
	/* Cut to fit: never half an escape or half a character. */
	n = log_json_escape(out, 5, "ab\"cd");
	CHECK(n == 4 && strcmp(out, "ab\\\"") == 0);
	n = log_json_escape(out, 4, "ab\"cd");
	CHECK(n == 2 && strcmp(out, "ab") == 0);
	n = log_json_escape(out, 4,
			    "a\xc3\xa9"
			    "b");
	CHECK(n == 3 && strcmp(out, "a\xc3\xa9") == 0);
	n = log_json_escape(out, 3,
			    "a\xc3\xa9"
			    "b");
	CHECK(n == 1 && strcmp(out, "a") == 0);
	CHECK(log_json_escape(out, 1, "abc") == 0 && out[0] == '\0');
}

int main(void)
{
	static unsigned char seen[WRITERS][LINES];
	pthread_t th[WRITERS], rot;
	char file[sizeof(path) + 16];
	unsigned long lines = 0, bad = 0, missing = 0, twice = 0;
	int used = 0;

	check_start("test_log", 0);
	if (mkdtemp(dir) == NULL)
		CHECK_HARD_ERROR("mkdtemp %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/raftd.log", dir);
	check_json_escape();
	log_init(7, LOG_INFO);
	CHECK(log_file_path() == NULL);
	CHECK(log_reopen() == 1); /* no file yet: nothing to reopen */
	CHECK(log_open_file(path, 0) == 0);
	CHECK(log_file_path() != NULL && strcmp(log_file_path(), path) == 0);

	for (long w = 0; w < WRITERS; w++)
		pthread_create(&th[w], NULL, writer, (void *)w);
	pthread_create(&rot, NULL, rotator, NULL);
	for (int w = 0; w < WRITERS; w++)
		pthread_join(th[w], NULL);
	pthread_join(rot, NULL);
	fflush(stderr);

	for (int r = 0; r <= rotations; r++) {
		if (r < rotations)
			snprintf(file, sizeof(file), "%s.%d", path, r);
		else
			snprintf(file, sizeof(file), "%s", path);
		scan(file, seen, &lines, &bad, &used);
		unlink(file);
	}
	rmdir(dir);
	for (int w = 0; w < WRITERS; w++)
		for (int i = 0; i < LINES; i++) {
			missing += seen[w][i] == 0;
			twice += seen[w][i] > 1;
		}
	CHECK(bad == 0);
	CHECK(missing == 0);
	CHECK(twice == 0);
	CHECK(lines == (unsigned long)WRITERS * LINES);
	/* The rotations happened while the writers wrote. */
	CHECK(rotations > 0 && used >= 2);

	/* A path that cannot be opened leaves logging where it was. */
	CHECK(log_open_file("/nonexistent-dir/raftd.log", 0) == -1);
	CHECK(strcmp(log_file_path(), path) == 0);

	printf("test_log: %lu lines from %d threads across %d reopens (%d "
	       "files got lines): %lu torn, %lu lost, %lu twice\n",
	       lines, WRITERS, rotations, used, bad, missing, twice);
	return check_summary();
}
