/* mkcorpus.c: writes the fuzz target's seed corpus: real frames of every
 * message type, unsigned and signed.
 *
 *   tests/fuzz/mkcorpus DIR        (make fuzz-corpus: DIR is tests/fuzz/corpus)
 *
 * The messages are the ones the target's own cores send while their
 * states are built (fuzz_peer_sample), so their terms and indexes are the
 * ones those cores hold; a few more are built here for what the cores do
 * not send (large batches, an entry as big as an entry may be, ...).
 * Each is written as it travels: encoded by wire_encode, and signed by
 * peerauth_sign_request/_response with the key fuzz_peer.h names.  Files
 * are named TYPE-DETAIL-N[-signed]; nothing else in DIR is touched, so
 * regression inputs kept there survive a rewrite. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_peer.h"
#include "peerauth.h"
#include "wire.h"

struct gen {
	const char *dir;
	struct peerauth *auth;
	unsigned n_files;
	size_t bytes;
	/* How many of each kind were written (at most KEEP each). */
	char kinds[64][48];
	unsigned counts[64];
	unsigned n_kinds;
	bool extra; /* extras(): named apart, so KEEP does not hide them */
	int failed;
};

#define KEEP 2

static const char *kind_of(const struct raft_msg *m, char *buf, size_t len)
{
	switch (m->type) {
	case RAFT_MSG_VOTE:
		snprintf(buf, len, "%svote", m->u.vote.prevote ? "pre" : "");
		break;
	case RAFT_MSG_VOTE_RESP:
		snprintf(buf, len, "%svote-resp-%s",
			 m->u.vote_resp.prevote ? "pre" : "",
			 m->u.vote_resp.granted ? "granted" : "refused");
		break;
	case RAFT_MSG_APPEND:
		snprintf(buf, len, "append-%s",
			 m->u.append.n_entries == 0   ? "0"
			 : m->u.append.n_entries == 1 ? "1"
						      : "many");
		break;
	case RAFT_MSG_APPEND_RESP:
		snprintf(buf, len, "append-resp-%s",
			 m->u.append_resp.success ? "ok" : "refused");
		break;
	case RAFT_MSG_SNAPSHOT:
		snprintf(buf, len, "snapshot");
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		snprintf(buf, len, "snapshot-resp-%s",
			 m->u.snapshot_resp.success ? "ok" : "refused");
		break;
	default:
		snprintf(buf, len, "unknown");
		break;
	}
	return buf;
}

static void write_frame(struct gen *g, const char *name, const uint8_t *buf,
			size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g->dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
		g->failed = 1;
		return;
	}
	g->n_files++;
	g->bytes += len;
}

/* Writes m as it travels, unsigned and signed. */
static void emit(const struct raft_msg *m, void *arg)
{
	struct gen *g = arg;
	char kind[48], name[96];
	size_t body = wire_body_size(m);
	uint8_t *buf = malloc(body + WIRE_AUTH_SIZE);
	unsigned i, n;

	if (buf == NULL)
		abort();
	kind_of(m, kind, sizeof(kind));
	if (g->extra)
		strcat(kind, "-x");
	for (i = 0; i < g->n_kinds; i++)
		if (strcmp(g->kinds[i], kind) == 0)
			break;
	if (i == g->n_kinds) {
		if (g->n_kinds == 64)
			goto out;
		snprintf(g->kinds[i], sizeof(g->kinds[i]), "%s", kind);
		g->n_kinds++;
	}
	if (g->counts[i] >= KEEP)
		goto out;
	n = ++g->counts[i];

	wire_encode(m, false, buf);
	snprintf(name, sizeof(name), "%s-%u", kind, n);
	write_frame(g, name, buf, body);

	wire_encode(m, true, buf);
	if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_APPEND ||
	    m->type == RAFT_MSG_SNAPSHOT) {
		struct peerauth_tag tag;
		peerauth_sign_request(g->auth, m->to, FUZZ_PEER_TIME_MS, buf,
				      body, &tag);
	} else {
		/* An answer, bound to the (epoch, seq) of a request. */
		struct peerauth_tag tag = {FUZZ_PEER_EPOCH, n};
		peerauth_sign_response(g->auth, &tag, FUZZ_PEER_TIME_MS, buf,
				       body);
	}
	snprintf(name, sizeof(name), "%s-%u-signed", kind, n);
	write_frame(g, name, buf, body + WIRE_AUTH_SIZE);
out:
	free(buf);
}

/* What the cores do not send: a full batch of entries of two terms, an
 * entry of the largest size, a heartbeat at term 7, refused and
 * granted (pre)votes, answers with a conflict hint and a lost tail. */
static void extras(struct gen *g)
{
	static uint8_t big[RAFT_MAX_ENTRY_BYTES];
	struct raft_entry e[16];
	struct raft_msg m;
	unsigned i;

	memset(big, 'x', sizeof(big));
	memset(&m, 0, sizeof(m));
	for (i = 0; i < 16; i++) {
		e[i].term = i < 6 ? 5 : 6;
		e[i].type = i == 6 ? RAFT_ENTRY_NOOP : RAFT_ENTRY_COMMAND;
		e[i].len = e[i].type == RAFT_ENTRY_NOOP ? 0 : 1 + i % 5;
		e[i].buf = big;
	}
	m.type = RAFT_MSG_APPEND;
	m.from = 2;
	m.to = 1;
	m.term = 6;
	m.u.append.prev_index = 2;
	m.u.append.prev_term = 1;
	m.u.append.leader_commit = 7;
	m.u.append.seq = 4;
	m.u.append.entries = e;
	m.u.append.n_entries = 16;
	emit(&m, g);
	/* One entry of 1 KiB (the committed corpus stays small; the
	 * mutator's length lies reach the limit). */
	e[0].term = 6;
	e[0].len = 1024;
	m.u.append.prev_index = 7;
	m.u.append.prev_term = 5;
	m.u.append.n_entries = 1;
	emit(&m, g);

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND_RESP;
	m.from = 3;
	m.to = 2;
	m.term = 6;
	m.u.append_resp.prev_index = 11;
	m.u.append_resp.conflict_index = 4; /* lost its tail after 3 */
	m.u.append_resp.last_log_index = 3;
	m.u.append_resp.seq = 1;
	emit(&m, g);

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_VOTE_RESP;
	m.from = 3;
	m.to = 4;
	m.term = 6;
	m.u.vote_resp.prevote = true;
	emit(&m, g);
	m.u.vote_resp.granted = true;
	emit(&m, g);
}

int main(int argc, char **argv)
{
	struct gen g;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 99;
	}
	memset(&g, 0, sizeof(g));
	g.dir = argv[1];
	if (peerauth_new(FUZZ_PEER_SECRET, strlen(FUZZ_PEER_SECRET),
			 FUZZ_PEER_EPOCH, &g.auth) != 0)
		return 1;
	fuzz_peer_sample(emit, &g);
	g.extra = true;
	extras(&g);
	peerauth_free(g.auth);
	printf("mkcorpus: %u files, %zu bytes in %s\n", g.n_files, g.bytes,
	       g.dir);
	return g.failed ? 1 : 0;
}
