/* peerauth.h: peers prove they hold the cluster secret without sending it.
 *
 * Every peer frame (wire.h) ends in a trailer of 56 bytes:
 *
 *   u64 epoch   the sender's incarnation: random, drawn at start-up
 *   u64 seq     requests: 1, 2, 3, ... per destination within the epoch;
 *               answers: the request's (epoch, seq), echoed
 *   u64 time    the sender's wall clock, ms since 1970
 *   mac[32]     HMAC-SHA256 keyed with cluster.secret over a direction
 *               label ("raftd-peer-request-v1" / "raftd-peer-response-v1")
 *               and every byte of the frame before the MAC
 *
 * A receiver refuses (fault 5, nothing changes) a request without a
 * trailer, with a wrong MAC, whose time is more than PEERAUTH_MAX_SKEW_MS
 * from its own clock, or whose (epoch, seq) it has already accepted or is
 * too old for its window: a sliding window of PEERAUTH_WINDOW sequence
 * numbers per sender and epoch, for the last PEERAUTH_EPOCHS epochs of each
 * sender (a sender restarts with a new epoch).  A new epoch is admitted
 * only if its frame's time is later than the first frame of the newest
 * epoch seen from that sender, so an older incarnation's frames never get
 * a window back.  The windows live in memory: after the RECEIVER restarts,
 * a frame captured within the last PEERAUTH_MAX_SKEW_MS can be delivered
 * to it once more (Raft tolerates a duplicated message).  Only frames
 * addressed to the receiver reach its windows (the caller checks the
 * header first).  An answer is accepted only
 * with a valid MAC over the very (epoch, seq) of the request it answers,
 * so answers cannot be replayed either.  The secret itself never travels.
 *
 * Raft tolerates duplicated and delayed messages, so replay protection is
 * defence in depth; the MAC is what keeps anyone without the secret from
 * speaking for a member.  Anyone WITH the secret can (Raft is not
 * Byzantine fault tolerant): the secret is the cluster's membership.
 *
 * Thread safety: every function may be called from any thread; the
 * replay windows and sequence counters are guarded by an internal mutex
 * (a leaf lock: nothing else is taken while it is held).
 */
#ifndef RAFTD_PEERAUTH_H
#define RAFTD_PEERAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEERAUTH_MAC_SIZE 32
#define PEERAUTH_TRAILER_SIZE (8 + 8 + 8 + PEERAUTH_MAC_SIZE)
#define PEERAUTH_MAX_SKEW_MS 120000u
#define PEERAUTH_WINDOW 1024u
#define PEERAUTH_EPOCHS 4u
#define PEERAUTH_MAX_PEERS 64u

/* Errors (0 on success); peerauth_strerror() names them. */
enum {
	PEERAUTH_OK = 0,
	PEERAUTH_EMISSING = -1,	 /* no trailer, but the cluster has a secret */
	PEERAUTH_EMAC = -2,	 /* the MAC does not match: wrong secret or
				  * altered frame */
	PEERAUTH_ESKEW = -3,	 /* time too far from ours */
	PEERAUTH_EREPLAY = -4,	 /* (epoch, seq) seen before, or too old */
	PEERAUTH_EMISMATCH = -5, /* an answer to another request */
	PEERAUTH_ENOMEM = -6,
};

/* Identifies a request, so its answer can be bound to it. */
struct peerauth_tag {
	uint64_t epoch;
	uint64_t seq;
};

struct peerauth;

/* A context for one node.  With `secret` NULL the cluster runs insecure
 * (config key `insecure = true`): nothing is signed or checked.  `epoch`
 * is this incarnation's random number (the caller draws it; tests pass
 * their own).  Returns 0, or PEERAUTH_ENOMEM. */
int peerauth_new(const char *secret, size_t secret_len, uint64_t epoch,
		 struct peerauth **out);
void peerauth_free(struct peerauth *a);
bool peerauth_enabled(const struct peerauth *a);

/* Bytes of trailer this node appends to its frames (0 when insecure). */
size_t peerauth_trailer_size(const struct peerauth *a);

/* Requests.  sign: writes the trailer at frame + body_len for a request to
 * node `to` (the frame has PEERAUTH_TRAILER_SIZE bytes of room there) and
 * returns its tag in *tag.  verify: `frame` is the whole frame of `len`
 * bytes from node `from`, `has_trailer` what its header says; on success
 * *tag is the request's tag (for the answer).  Insecure: both succeed and
 * do nothing. */
void peerauth_sign_request(struct peerauth *a, uint32_t to, uint64_t now_ms,
			   uint8_t *frame, size_t body_len,
			   struct peerauth_tag *tag);
int peerauth_verify_request(struct peerauth *a, uint32_t from, uint64_t now_ms,
			    const uint8_t *frame, size_t len, bool has_trailer,
			    struct peerauth_tag *tag);

/* Answers, bound to the request's tag. */
void peerauth_sign_response(const struct peerauth *a,
			    const struct peerauth_tag *req, uint64_t now_ms,
			    uint8_t *frame, size_t body_len);
int peerauth_verify_response(const struct peerauth *a,
			     const struct peerauth_tag *req,
			     const uint8_t *frame, size_t len,
			     bool has_trailer);

const char *peerauth_strerror(int rv);

#endif /* RAFTD_PEERAUTH_H */
