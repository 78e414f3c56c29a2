/* peerauth.c: HMAC-SHA256 of peer frames, with replay windows (peerauth.h).
 *
 * The HMAC comes from nettle (Debian nettle-dev, the library GnuTLS is
 * built on): raftd implements no cryptography of its own.  The keyed
 * context is computed once and copied per message, so threads never share
 * a context being updated. */
#include "peerauth.h"

#include "bytes.h"
#include "errtab.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/hmac.h>
#include <nettle/memops.h>

#define WINDOW_WORDS (PEERAUTH_WINDOW / 64)

static const char label_request[] = "raftd-peer-request-v1";
static const char label_response[] = "raftd-peer-response-v1";

/* What a receiver has accepted from one incarnation of a sender: the
 * highest seq and a bitmap of the PEERAUTH_WINDOW below it (bit d is
 * seq top - d). */
struct window {
	bool used;
	uint64_t epoch;
	uint64_t top;
	uint64_t bits[WINDOW_WORDS];
	uint64_t last_ms; /* when it last accepted: the oldest is replaced */
};

struct sender {
	uint32_t id;
	/* The sender time of the first frame accepted from its newest epoch:
	 * a new epoch is admitted only with a later time, so the frames of
	 * an older incarnation (sent before the newest one started) cannot
	 * open a window again, however the windows were evicted. */
	uint64_t newest_first_ms;
	struct window w[PEERAUTH_EPOCHS];
};

struct counter {
	uint32_t id;
	uint64_t next; /* the next seq for requests to `id` */
};

struct peerauth {
	bool enabled;
	struct hmac_sha256_ctx keyed; /* read-only after peerauth_new */
	uint64_t epoch;

	pthread_mutex_t lock; /* guards senders and counters (a leaf lock) */
	struct sender senders[PEERAUTH_MAX_PEERS];
	size_t n_senders;
	struct counter counters[PEERAUTH_MAX_PEERS];
	size_t n_counters;
};

int peerauth_new(const char *secret, size_t secret_len, uint64_t epoch,
		 struct peerauth **out)
{
	struct peerauth *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (a == NULL)
		return PEERAUTH_ENOMEM;
	a->enabled = secret != NULL;
	a->epoch = epoch;
	if (a->enabled)
		hmac_sha256_set_key(&a->keyed, secret_len,
				    (const uint8_t *)secret);
	pthread_mutex_init(&a->lock, NULL);
	*out = a;
	return PEERAUTH_OK;
}

void peerauth_free(struct peerauth *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->lock);
	/* The keyed context is derived from the secret: do not leave it in
	 * freed memory. */
	memset(&a->keyed, 0, sizeof(a->keyed));
	free(a);
}

bool peerauth_enabled(const struct peerauth *a) { return a->enabled; }

size_t peerauth_trailer_size(const struct peerauth *a)
{
	return a->enabled ? PEERAUTH_TRAILER_SIZE : 0;
}

/* The MAC of label and data (everything before the MAC's place). */
static void mac_of(const struct peerauth *a, const char *label,
		   const uint8_t *data, size_t len,
		   uint8_t out[PEERAUTH_MAC_SIZE])
{
	struct hmac_sha256_ctx ctx = a->keyed;

	hmac_sha256_update(&ctx, strlen(label) + 1, (const uint8_t *)label);
	hmac_sha256_update(&ctx, len, data);
	hmac_sha256_digest(&ctx, PEERAUTH_MAC_SIZE, out);
	memset(&ctx, 0, sizeof(ctx));
}

static void sign(const struct peerauth *a, const char *label, uint64_t epoch,
		 uint64_t seq, uint64_t now_ms, uint8_t *frame, size_t body_len)
{
	uint8_t *t = frame + body_len;

	bytes_put_u64(t, epoch);
	bytes_put_u64(t + 8, seq);
	bytes_put_u64(t + 16, now_ms);
	mac_of(a, label, frame, body_len + 24, t + 24);
}

/* Checks the MAC of a whole frame; fills epoch, seq and time. */
static int check_mac(const struct peerauth *a, const char *label,
		     const uint8_t *frame, size_t len, bool has_trailer,
		     uint64_t *epoch, uint64_t *seq, uint64_t *time_ms)
{
	uint8_t mac[PEERAUTH_MAC_SIZE];
	const uint8_t *t;

	if (!has_trailer || len < PEERAUTH_TRAILER_SIZE)
		return PEERAUTH_EMISSING;
	mac_of(a, label, frame, len - PEERAUTH_MAC_SIZE, mac);
	/* Constant time: how long the comparison takes tells nothing of
	 * how many bytes of a forged MAC were right. */
	if (!memeql_sec(mac, frame + len - PEERAUTH_MAC_SIZE,
			PEERAUTH_MAC_SIZE))
		return PEERAUTH_EMAC;
	t = frame + len - PEERAUTH_TRAILER_SIZE;
	*epoch = bytes_get_u64(t);
	*seq = bytes_get_u64(t + 8);
	*time_ms = bytes_get_u64(t + 16);
	return PEERAUTH_OK;
}

void peerauth_sign_request(struct peerauth *a, uint32_t to, uint64_t now_ms,
			   uint8_t *frame, size_t body_len,
			   struct peerauth_tag *tag)
{
	struct counter *c = NULL;
	size_t i;

	memset(tag, 0, sizeof(*tag));
	if (!a->enabled)
		return;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->n_counters; i++)
		if (a->counters[i].id == to)
			c = &a->counters[i];
	if (c == NULL) {
		/* More destinations than slots cannot happen with
		 * RAFT_MAX_NODES members; reuse the last slot rather than
		 * fail (its receiver then sees a jump, which it accepts). */
		if (a->n_counters < PEERAUTH_MAX_PEERS)
			c = &a->counters[a->n_counters++];
		else
			c = &a->counters[PEERAUTH_MAX_PEERS - 1];
		c->id = to;
		if (c->next == 0)
			c->next = 1;
	}
	tag->epoch = a->epoch;
	tag->seq = c->next++;
	pthread_mutex_unlock(&a->lock);
	sign(a, label_request, tag->epoch, tag->seq, now_ms, frame, body_len);
}

/* Shifts the window up so that `seq` becomes its top. */
static void window_advance(struct window *w, uint64_t seq)
{
	uint64_t shift = seq - w->top;
	uint64_t words = shift / 64, bits = shift % 64;
	size_t i;

	if (shift >= PEERAUTH_WINDOW) {
		memset(w->bits, 0, sizeof(w->bits));
	} else {
		/* bits[0] bit 0 is the top; higher bits are older. */
		for (i = WINDOW_WORDS; i-- > 0;) {
			uint64_t v = 0;
			if (i >= words) {
				v = w->bits[i - words] << bits;
				if (bits && i > words)
					v |= w->bits[i - words - 1] >>
					     (64 - bits);
			}
			w->bits[i] = v;
		}
	}
	w->top = seq;
}

/* Accepts (epoch, seq) once; `t` is the frame's own time; a->lock held. */
static int window_accept(struct peerauth *a, uint32_t from, uint64_t epoch,
			 uint64_t seq, uint64_t t, uint64_t now_ms)
{
	struct sender *s = NULL;
	struct window *w = NULL, *oldest;
	uint64_t d;
	size_t i;

	if (seq == 0)
		return PEERAUTH_EREPLAY;
	for (i = 0; i < a->n_senders; i++)
		if (a->senders[i].id == from)
			s = &a->senders[i];
	if (s == NULL) {
		if (a->n_senders == PEERAUTH_MAX_PEERS)
			return PEERAUTH_ENOMEM; /* more senders than members */
		s = &a->senders[a->n_senders++];
		memset(s, 0, sizeof(*s));
		s->id = from;
	}
	oldest = &s->w[0];
	for (i = 0; i < PEERAUTH_EPOCHS; i++) {
		if (s->w[i].used && s->w[i].epoch == epoch)
			w = &s->w[i];
		if (!s->w[i].used ||
		    (oldest->used && s->w[i].last_ms < oldest->last_ms))
			oldest = &s->w[i];
	}
	if (w == NULL) {
		/* A new incarnation of the sender: its time was checked
		 * against ours already, and must follow the newest one's. */
		if (t <= s->newest_first_ms)
			return PEERAUTH_EREPLAY;
		s->newest_first_ms = t;
		w = oldest;
		memset(w, 0, sizeof(*w));
		w->used = true;
		w->epoch = epoch;
		w->top = seq;
		w->bits[0] = 1;
		w->last_ms = now_ms;
		return PEERAUTH_OK;
	}
	if (seq > w->top) {
		window_advance(w, seq);
		w->bits[0] |= 1;
	} else {
		d = w->top - seq;
		if (d >= PEERAUTH_WINDOW)
			return PEERAUTH_EREPLAY;
		if (w->bits[d / 64] & (UINT64_C(1) << (d % 64)))
			return PEERAUTH_EREPLAY;
		w->bits[d / 64] |= UINT64_C(1) << (d % 64);
	}
	w->last_ms = now_ms;
	return PEERAUTH_OK;
}

int peerauth_verify_request(struct peerauth *a, uint32_t from, uint64_t now_ms,
			    const uint8_t *frame, size_t len, bool has_trailer,
			    struct peerauth_tag *tag)
{
	uint64_t epoch = 0, seq = 0, t = 0;
	int rv;

	memset(tag, 0, sizeof(*tag));
	if (!a->enabled)
		return PEERAUTH_OK;
	rv = check_mac(a, label_request, frame, len, has_trailer, &epoch, &seq,
		       &t);
	if (rv != PEERAUTH_OK)
		return rv;
	if (t + PEERAUTH_MAX_SKEW_MS < now_ms ||
	    t > now_ms + PEERAUTH_MAX_SKEW_MS)
		return PEERAUTH_ESKEW;
	/* Only a frame with a valid MAC reaches the windows, so nobody
	 * without the secret can move them. */
	pthread_mutex_lock(&a->lock);
	rv = window_accept(a, from, epoch, seq, t, now_ms);
	pthread_mutex_unlock(&a->lock);
	if (rv != PEERAUTH_OK)
		return rv;
	tag->epoch = epoch;
	tag->seq = seq;
	return PEERAUTH_OK;
}

void peerauth_sign_response(const struct peerauth *a,
			    const struct peerauth_tag *req, uint64_t now_ms,
			    uint8_t *frame, size_t body_len)
{
	if (!a->enabled)
		return;
	sign(a, label_response, req->epoch, req->seq, now_ms, frame, body_len);
}

int peerauth_verify_response(const struct peerauth *a,
			     const struct peerauth_tag *req,
			     const uint8_t *frame, size_t len, bool has_trailer)
{
	uint64_t epoch = 0, seq = 0, t = 0;
	int rv;

	if (!a->enabled)
		return PEERAUTH_OK;
	rv = check_mac(a, label_response, frame, len, has_trailer, &epoch, &seq,
		       &t);
	if (rv != PEERAUTH_OK)
		return rv;
	if (epoch != req->epoch || seq != req->seq)
		return PEERAUTH_EMISMATCH;
	return PEERAUTH_OK;
}

static const struct errtab peerauth_errtab[] = {
    {PEERAUTH_OK, "ok"},
    {PEERAUTH_EMISSING, "not authenticated (the cluster has a secret)"},
    {PEERAUTH_EMAC, "bad MAC (wrong cluster secret, or altered in transit)"},
    {PEERAUTH_ESKEW, "timestamp too far from this node's clock"},
    {PEERAUTH_EREPLAY, "replayed or too old"},
    {PEERAUTH_EMISMATCH, "answer to another request"},
    {PEERAUTH_ENOMEM, "too many senders"},
};

const char *peerauth_strerror(int rv)
{
	return ERRTAB_LOOKUP(peerauth_errtab, rv, "unknown error");
}
