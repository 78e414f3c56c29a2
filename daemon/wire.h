/* wire.h: Raft peer messages as bytes (the frames requestVote,
 * appendEntries and installSnapshot carry as one XML-RPC <base64> value).
 *
 * The codec is pure (no XML-RPC, no clock, no allocation but the entry
 * array) so that it can be fuzzed alone.  A frame is
 *
 *   header   u8 version (WIRE_VERSION), u8 type (enum raft_msg_type),
 *            u8 flags (WIRE_FLAG_AUTH: an authentication trailer follows
 *            the body), u8 0, u32 from, u32 to, u64 term, u64 cluster
 *            (the cluster's identity), u64 incarnation (the sender's data
 *            directory's identity); the last two are written by
 *            wire_set_ident() after encoding, checked by the daemon
 *   body     the fields of the type, in raft.h's order (bools as one byte,
 *            0 or 1; a vote request's first byte holds bit 0 prevote,
 *            bit 1 transfer; TimeoutNow has no body); an AppendEntries ends in
 * u32 n_entries and n records of u64 term, u8 type, u32 len, len bytes; an
 * InstallSnapshot (RAFT_MSG_SNAPSHOT) is u64 index, u64 term, its answer u8
 *            success, u64 index: the snapshot's metadata only, its data
 *            travels apart
 *   trailer  WIRE_AUTH_SIZE bytes when WIRE_FLAG_AUTH is set (peerauth.h)
 *
 * all integers little-endian.  The body must end exactly where the trailer
 * starts (or the frame ends): nothing is skipped or guessed.
 */
#ifndef RAFTD_WIRE_H
#define RAFTD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "core/raft.h"

#define WIRE_VERSION 2
#define WIRE_HEADER_SIZE 36
#define WIRE_OFF_CLUSTER 20
#define WIRE_FLAG_AUTH 0x01
#define WIRE_FLAG_CHUNK 0x02 /* a snapshot chunk (type RAFT_MSG_SNAPSHOT) */
/* u64 epoch, u64 seq, u64 time, 32-byte HMAC-SHA256 (peerauth.h). */
#define WIRE_AUTH_SIZE 56
/* The largest frame a peer may send: a batch holds at most 1 MiB of
 * entry bytes (or one entry of up to RAFT_MAX_ENTRY_BYTES) and 1,000
 * records of 13 bytes; anything bigger is refused before it is decoded. */
#define WIRE_MAX_FRAME (RAFT_MAX_ENTRY_BYTES + 64u * 1024u)

/* The XML-RPC method carrying a message of this type (requests and their
 * answers share it). */
const char *wire_method(enum raft_msg_type type);

/* Bytes the header and body of m take (no trailer). */
size_t wire_body_size(const struct raft_msg *m);

/* Writes m's header and body into buf, which has room for
 * wire_body_size(m) + (auth ? WIRE_AUTH_SIZE : 0) bytes; with `auth` the
 * header announces a trailer, which the caller then writes at
 * buf + wire_body_size(m) (peerauth_sign_*). */
void wire_encode(const struct raft_msg *m, bool auth, uint8_t *buf);

/* The header alone, checked (version, type, flags, length bounds), so that
 * a receiver can refuse a frame by sender and receiver, and check its MAC,
 * before decoding (and allocating for) the rest.  0, or -1 with *why. */
struct wire_header {
	enum raft_msg_type type;
	bool auth;
	bool chunk; /* WIRE_FLAG_CHUNK: decode with wire_chunk_decode() */
	uint32_t from;
	uint32_t to;
	uint64_t term;	      /* the sender's (unchecked until decoded) */
	uint64_t cluster;     /* the sender's cluster identity */
	uint64_t incarnation; /* the sender's data directory's identity */
};

/* Writes the cluster identity and the sender's incarnation into an
 * encoded frame's header (wire_encode leaves them 0), before it is
 * signed. */
void wire_set_ident(uint8_t *buf, uint64_t cluster, uint64_t incarnation);
int wire_peek(const uint8_t *buf, size_t len, struct wire_header *h,
	      const char **why);

/* Decodes the frame buf[0..len) into *m.  The entries of an AppendEntries
 * point INTO buf (borrowed: valid while buf is); the entry array is the
 * heap's, released with wire_msg_release().  On success *auth says whether
 * a trailer follows the body (at buf + len - WIRE_AUTH_SIZE).  Returns 0,
 * or -1 with a static reason in *why and nothing to release.  The frame is
 * untrusted: every length is checked before it is used, and the message is
 * checked with raft_msg_check() (bounds, entry terms). */
int wire_decode(const uint8_t *buf, size_t len, struct raft_msg *m, bool *auth,
		const char **why);

/* Frees what wire_decode() allocated (the entry array).  Accepts a
 * zeroed message. */
void wire_msg_release(struct raft_msg *m);

/* Snapshot data (installSnapshot): a chunk frame has the header above with
 * type RAFT_MSG_SNAPSHOT and WIRE_FLAG_CHUNK (from, to and the sender's
 * term), then u64 snapshot index, u64 snapshot term, u64 file size, u64
 * offset, u32 len, len bytes of the snapshot file, then the trailer.  The
 * receiver writes the chunks to a file and gives its core
 * RAFT_MSG_SNAPSHOT once the file is whole (docs/DESIGN.md, "Snapshots").
 * A chunk carries at most WIRE_CHUNK_MAX bytes, so its frame stays within
 * WIRE_MAX_FRAME. */
#define WIRE_CHUNK_FIXED 36
#define WIRE_CHUNK_MAX (512u * 1024u)

struct wire_chunk {
	uint32_t from, to;
	uint64_t term;	/* the sender's current term */
	uint64_t index; /* the snapshot's last included index... */
	uint64_t sterm; /* ...and its term */
	uint64_t total; /* the file's size */
	uint64_t offset;
	const uint8_t *data; /* borrowed (from the frame, when decoded) */
	size_t len;
};

/* Header and body bytes of a chunk of len data bytes (no trailer). */
size_t wire_chunk_size(size_t len);
/* As wire_encode(), for a chunk. */
void wire_chunk_encode(const struct wire_chunk *k, bool auth, uint8_t *buf);
/* As wire_decode(), for a chunk frame: k->data points into buf. */
int wire_chunk_decode(const uint8_t *buf, size_t len, struct wire_chunk *k,
		      bool *auth, const char **why);

#endif /* RAFTD_WIRE_H */
