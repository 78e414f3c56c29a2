/* driver.c: runs the fuzz target without libFuzzer, for `make check`: a
 * deterministic, seeded mutator over the seed corpus.
 *
 *   tests/fuzz/fuzz_peer                 mutate the corpus (below)
 *   tests/fuzz/fuzz_peer FILE...         run these inputs once each (a
 *                                        crash file, or libFuzzer's)
 *
 * Environment:
 *   FUZZ_EXECS=n        executions, corpus files first (default 100000,
 *                       25000 in an AddressSanitizer build: about 4x slower)
 *   FUZZ_SEED=n         the mutator's seed (default 1)
 *   FUZZ_CORPUS=dir     seed corpus (default $top_srcdir/tests/fuzz/corpus)
 *   FUZZ_MAX_SECONDS=n  stop early after n seconds (default 0: never);
 *                       the executions done are a prefix of the full run
 *
 * The mutations are libFuzzer's basic ones plus some that know the frame
 * format (wire.h): bit flips, byte sets, truncation, insertion, deletion,
 * splicing two inputs, interesting integers (0, 2^32, 2^62 - 1, 2^63 - 1,
 * 2^64 - 1, ...) written over a field, small deltas to a field, length
 * fields that lie (entry counts and lengths), header bytes, and frames
 * re-signed with the corpus's key so that mutations get past the MAC.  An
 * input that decodes joins the pool of inputs to mutate (up to 4096), so
 * the run goes deeper than one mutation from the seeds.  Without coverage
 * feedback this finds less than libFuzzer (`make fuzz`), but it needs
 * only gcc and it is the same every time: a failure replays with its
 * FUZZ_SEED, and the input that failed is written to crash-SEED-EXEC.
 *
 * Exit status: 0 (prints crashes=0), 99 on usage errors; a broken
 * invariant aborts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_peer.h"
#include "wire.h"

#define FUZZ_MAX_INPUT 4096u

#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_EXECS 25000
#else
#define DEFAULT_EXECS 100000
#endif
#define POOL_MAX 4096u

struct input {
	uint8_t *data;
	size_t len;
};

/* The inputs to mutate: the seed corpus, then grown ones. */
static struct input pool[POOL_MAX];
static size_t n_pool, n_seeds, n_grown;

/* The input being run, for the crash handler. */
static const uint8_t *cur_data;
static size_t cur_len;
static uint64_t cur_exec, cur_seed;

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "fuzz_peer: out of memory\n");
		abort();
	}
	return p;
}

/* ---- crashes ------------------------------------------------------------ */

static void put_dec(char *p, uint64_t x)
{
	char t[24];
	int n = 0;

	do
		t[n++] = (char)('0' + x % 10);
	while ((x /= 10) != 0);
	while (n > 0)
		*p++ = t[--n];
	*p = '\0';
}

/* Writes the input that failed to crash-SEED-EXEC (async-signal-safe:
 * runs in a signal handler or in the sanitizer's death callback). */
static void save_crash(void)
{
	static volatile sig_atomic_t saved;
	char name[64] = "crash-", *p;
	int fd;

	if (saved || cur_data == NULL)
		return;
	saved = 1;
	p = name + strlen(name);
	put_dec(p, cur_seed);
	p += strlen(p);
	*p++ = '-';
	put_dec(p, cur_exec);
	fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		ssize_t w = write(fd, cur_data, cur_len);
		(void)w;
		close(fd);
		w = write(2, "fuzz_peer: input written to ", 28);
		w = write(2, name, strlen(name));
		w = write(2, "; replay: tests/fuzz/fuzz_peer ", 31);
		w = write(2, name, strlen(name));
		w = write(2, "\n", 1);
	}
}

static void on_signal(int sig)
{
	save_crash();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Present when a sanitizer runtime is linked: ASan and UBSan report and
 * exit without a signal, so they get the callback instead. */
extern void __sanitizer_set_death_callback(void (*cb)(void))
    __attribute__((weak));

static void catch_crashes(void)
{
	static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_signal);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(save_crash);
}

static void run_one(const uint8_t *data, size_t len)
{
	cur_data = data;
	cur_len = len;
	LLVMFuzzerTestOneInput(data, len);
	cur_data = NULL;
}

/* ---- the corpus --------------------------------------------------------- */

static int read_file(const char *path, struct input *in, size_t max)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "fuzz_peer: %s: %s\n", path, strerror(errno));
		return -1;
	}
	in->data = xmalloc(max);
	n = fread(in->data, 1, max, f);
	if (ferror(f)) {
		fprintf(stderr, "fuzz_peer: %s: read error\n", path);
		fclose(f);
		free(in->data);
		return -1;
	}
	fclose(f);
	in->len = n;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every file of dir, in name order (so every run is the same). */
static int load_corpus(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rv = -1;

	if (d == NULL) {
		fprintf(stderr, "fuzz_peer: corpus %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
			if (names == NULL)
				abort();
		}
		names[n] = xmalloc(strlen(dir) + strlen(de->d_name) + 2);
		sprintf(names[n], "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n && n_pool < POOL_MAX; i++) {
		if (read_file(names[i], &pool[n_pool], FUZZ_MAX_INPUT) != 0)
			goto out;
		n_pool++;
	}
	n_seeds = n_pool;
	rv = n_seeds > 0 ? 0 : -1;
	if (rv != 0)
		fprintf(stderr, "fuzz_peer: corpus %s is empty\n", dir);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rv;
}

/* ---- the mutator -------------------------------------------------------- */

static const uint64_t interesting[] = {0,
				       1,
				       2,
				       3,
				       4,
				       5,
				       6,
				       7,
				       8,
				       9,
				       11,
				       12,
				       0x7f,
				       0x80,
				       0xff,
				       0x100,
				       0xffff,
				       0x10000,
				       100000,
				       100001,
				       1u << 20,
				       (1u << 20) + 1,
				       0x7fffffff,
				       0x80000000,
				       0xffffffff,
				       UINT64_C(0x100000000),
				       UINT64_C(0x100000005),
				       UINT64_C(0x100000006),
				       UINT64_C(0x100000007),
				       UINT64_C(0x100000008),
				       RAFT_MAX_TERM - 1,
				       RAFT_MAX_TERM,
				       RAFT_MAX_TERM + 1,
				       UINT64_C(0x7fffffffffffffff),
				       UINT64_C(0x8000000000000000),
				       UINT64_MAX - 1,
				       UINT64_MAX};
#define N_INTERESTING (sizeof(interesting) / sizeof(interesting[0]))

struct field {
	size_t off;
	unsigned width; /* bytes: 1, 4 or 8 */
};

static uint64_t get_le(const uint8_t *p, unsigned w)
{
	uint64_t x = 0;
	unsigned i;

	for (i = w; i-- > 0;)
		x = (x << 8) | p[i];
	return x;
}

static void put_le(uint8_t *p, unsigned w, uint64_t x)
{
	unsigned i;

	for (i = 0; i < w; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

/* The fields of a frame, after its type byte (wire.h); entry records as
 * far as the frame holds them.  Returns how many (at most max). */
static size_t frame_fields(const uint8_t *b, size_t len, struct field *f,
			   size_t max, size_t *n_count_at)
{
	static const struct field hdr[] = {{0, 1}, {1, 1}, {2, 1}, {3, 1},
					   {4, 4}, {8, 4}, {12, 8}};
	size_t n = 0, i, off;

#define ADD(o, w)                                                              \
	do {                                                                   \
		if (n < max && (o) + (w) <= len) {                             \
			f[n].off = (o);                                        \
			f[n].width = (w);                                      \
			n++;                                                   \
		}                                                              \
	} while (0)

	*n_count_at = 0;
	for (i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++)
		ADD(hdr[i].off, hdr[i].width);
	if (len < 2)
		return n;
	switch (b[1]) {
	case RAFT_MSG_VOTE:
		ADD(20, 1);
		ADD(21, 8);
		ADD(29, 8);
		break;
	case RAFT_MSG_VOTE_RESP:
		ADD(20, 1);
		ADD(21, 1);
		break;
	case RAFT_MSG_APPEND:
		for (off = 20; off < 52; off += 8)
			ADD(off, 8);
		ADD(52, 4);
		*n_count_at = 52;
		/* Entry records: u64 term, u8 type, u32 len, bytes. */
		for (off = 56; off + 13 <= len && n + 3 <= max;) {
			uint64_t elen = get_le(b + off + 9, 4);
			ADD(off, 8);
			ADD(off + 8, 1);
			ADD(off + 9, 4);
			if (elen > len - off - 13)
				break;
			off += 13 + (size_t)elen;
		}
		break;
	case RAFT_MSG_APPEND_RESP:
		ADD(20, 1);
		for (off = 21; off < 69; off += 8)
			ADD(off, 8);
		break;
	case RAFT_MSG_SNAPSHOT:
		ADD(20, 8);
		ADD(28, 8);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		ADD(20, 1);
		ADD(21, 8);
		break;
	}
#undef ADD
	return n;
}

static uint64_t pick_interesting(uint64_t old)
{
	switch (below(4)) {
	case 0:
		return old + 1;
	case 1:
		return old - 1;
	case 2:
		return old + UINT64_C(0x100000000) + below(3);
	default:
		return interesting[below(N_INTERESTING)];
	}
}

/* One mutation of b (length *len, room for FUZZ_MAX_INPUT). */
static void mutate_once(uint8_t *b, size_t *len)
{
	struct field f[64];
	size_t nf, count_at, n = *len, i, k;
	const struct input *o;

	switch (below(13)) {
	case 0: /* bit flip */
		if (n > 0) {
			i = below(n * 8);
			b[i / 8] ^= (uint8_t)(1u << (i % 8));
		}
		break;
	case 1: /* byte set */
		if (n > 0)
			b[below(n)] =
			    (uint8_t)(below(2) ? interesting[below(15)]
					       : rnd());
		break;
	case 2: /* truncate */
		if (n > 0)
			*len = below(n);
		break;
	case 3: /* insert 1..8 random bytes */
		k = 1 + below(8);
		if (n + k <= FUZZ_MAX_INPUT) {
			i = below(n + 1);
			memmove(b + i + k, b + i, n - i);
			*len = n + k;
			for (; k > 0; k--)
				b[i + k - 1] = (uint8_t)rnd();
		}
		break;
	case 4: /* delete a range */
		if (n > 0) {
			i = below(n);
			k = 1 + below(n - i < 16 ? n - i : 16);
			memmove(b + i, b + i + k, n - i - k);
			*len = n - k;
		}
		break;
	case 5: /* splice: our prefix, another input's suffix */
		o = &pool[below(n_pool)];
		i = below(n + 1);
		k = below(o->len + 1);
		if (below(2))
			k = i <= o->len ? i : o->len; /* same offset */
		if (i + (o->len - k) <= FUZZ_MAX_INPUT) {
			memcpy(b + i, o->data + k, o->len - k);
			*len = i + (o->len - k);
		}
		break;
	case 6: /* an interesting integer over a field */
	case 7:
		nf = frame_fields(b, n, f, 64, &count_at);
		if (nf > 0) {
			i = below(nf);
			put_le(
			    b + f[i].off, f[i].width,
			    pick_interesting(get_le(b + f[i].off, f[i].width)));
		}
		break;
	case 8: /* a small delta to a field */
		nf = frame_fields(b, n, f, 64, &count_at);
		if (nf > 0) {
			uint64_t d = 1 + below(16);
			i = below(nf);
			put_le(b + f[i].off, f[i].width,
			       get_le(b + f[i].off, f[i].width) +
				   (below(2) ? d : -d));
		}
		break;
	case 9: /* length fields that lie */
		nf = frame_fields(b, n, f, 64, &count_at);
		if (count_at != 0 && below(2)) {
			uint64_t c = get_le(b + count_at, 4);
			static const uint64_t lies[] = {
			    0, 1, 2, 99999, 100000, 100001, 0xffffffff};
			c = below(2) ? c + 1 - 2 * below(2)
				     : lies[below(sizeof(lies) / 8)];
			put_le(b + count_at, 4, c);
		} else if (nf > 0) {
			/* An entry's len: its own record's third field. */
			for (k = 0, i = 0; i < nf; i++)
				if (f[i].off >= 56 && f[i].width == 4)
					k++;
			if (k > 0) {
				size_t want = below(k);
				for (i = 0; i < nf; i++) {
					if (f[i].off < 56 || f[i].width != 4)
						continue;
					if (want-- == 0)
						break;
				}
				put_le(b + f[i].off, 4,
				       below(2)
					   ? get_le(b + f[i].off, 4) + 1 -
						 2 * below(2)
					   : interesting[below(N_INTERESTING)]);
			}
		}
		break;
	case 10: /* header bytes: version, type, flags, reserved */
		if (n >= 4) {
			i = below(4);
			b[i] = (uint8_t)(below(2) ? below(6) : rnd());
		}
		break;
	case 11: /* copy a chunk elsewhere */
		if (n > 1) {
			i = below(n);
			k = below(n);
			size_t m = 1 + below(n - (i > k ? i : k));
			memmove(b + k, b + i, m);
		}
		break;
	default: /* set or clear the trailer flag, adding room for one */
		if (n >= 4) {
			b[2] ^= WIRE_FLAG_AUTH;
			if ((b[2] & WIRE_FLAG_AUTH) &&
			    n + WIRE_AUTH_SIZE <= FUZZ_MAX_INPUT && below(2)) {
				memset(b + n, 0, WIRE_AUTH_SIZE);
				*len = n + WIRE_AUTH_SIZE;
			}
		}
		break;
	}
}

/* 1 to 4 mutations; then, half the time, a valid MAC for frames that
 * announce a trailer. */
static void mutate(uint8_t *b, size_t *len)
{
	uint64_t k = 1 + below(4);

	while (k-- > 0)
		mutate_once(b, len);
	if (*len >= WIRE_HEADER_SIZE + WIRE_AUTH_SIZE &&
	    (b[2] & WIRE_FLAG_AUTH) && below(2))
		fuzz_peer_sign(b, *len);
}

static void grow_pool(const uint8_t *b, size_t len)
{
	struct input *in;

	if (n_pool < POOL_MAX) {
		in = &pool[n_pool++];
	} else {
		in = &pool[n_seeds + below(POOL_MAX - n_seeds)];
		free(in->data);
	}
	in->data = xmalloc(len);
	memcpy(in->data, b, len);
	in->len = len;
	n_grown++;
}

/* ---- main --------------------------------------------------------------- */

static int env_u64(const char *name, uint64_t def, uint64_t *out)
{
	const char *s = getenv(name);
	char *end = NULL;

	*out = def;
	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0') {
		fprintf(stderr, "fuzz_peer: %s=%s is not a number\n", name, s);
		return -1;
	}
	return 0;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("FUZZ_CORPUS"), *top = getenv("top_srcdir");
	char def_dir[4096];
	uint64_t execs, max_s, e;
	uint8_t *buf;
	struct timespec t0;
	double took;
	bool stopped = false;
	int k;

	catch_crashes();
	if (argc > 1) {
		/* Replay: every file once, as it is. */
		for (k = 1; k < argc; k++) {
			struct input in;
			if (read_file(argv[k], &in, WIRE_MAX_FRAME + 1) != 0)
				return 99;
			printf("fuzz_peer: %s (%zu bytes)\n", argv[k], in.len);
			run_one(in.data, in.len);
			free(in.data);
		}
		printf("fuzz_peer: %d inputs, crashes=0\n", argc - 1);
		return 0;
	}
	if (env_u64("FUZZ_EXECS", DEFAULT_EXECS, &execs) != 0 ||
	    env_u64("FUZZ_SEED", 1, &cur_seed) != 0 ||
	    env_u64("FUZZ_MAX_SECONDS", 0, &max_s) != 0)
		return 99;
	if (dir == NULL || *dir == '\0') {
		snprintf(def_dir, sizeof(def_dir), "%s/tests/fuzz/corpus",
			 top && *top ? top : ".");
		dir = def_dir;
	}
	if (load_corpus(dir) != 0)
		return 99;
	rng_state = cur_seed * UINT64_C(0x2545F4914F6CDD1D) + 1;
	buf = xmalloc(FUZZ_MAX_INPUT);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (e = 0; e < execs; e++) {
		size_t len;
		uint64_t decoded = fuzz_peer_decoded;

		cur_exec = e;
		if (e < n_seeds) {
			run_one(pool[e].data, pool[e].len);
			continue;
		}
		/* Mostly the grown inputs, which are deeper. */
		k = (int)below(n_pool);
		len = pool[k].len;
		memcpy(buf, pool[k].data, len);
		mutate(buf, &len);
		run_one(buf, len);
		if (fuzz_peer_decoded != decoded && below(4) == 0)
			grow_pool(buf, len);
		if (max_s && (e & 1023) == 0 && seconds_since(&t0) > max_s) {
			stopped = true;
			e++;
			break;
		}
	}
	took = seconds_since(&t0);
	printf("fuzz_peer: seed %llu: %llu execs in %.1f s (%.0f/s)%s, "
	       "%llu decoded, %llu core events checked; corpus %zu files, "
	       "%zu in the pool (%zu grown); crashes=0\n",
	       (unsigned long long)cur_seed, (unsigned long long)e, took,
	       took > 0 ? (double)e / took : 0.0,
	       stopped ? " (stopped early by FUZZ_MAX_SECONDS)" : "",
	       (unsigned long long)fuzz_peer_decoded,
	       (unsigned long long)fuzz_peer_events, n_seeds, n_pool, n_grown);
	free(buf);
	for (e = 0; e < n_pool; e++)
		free(pool[e].data);
	return 0;
}
